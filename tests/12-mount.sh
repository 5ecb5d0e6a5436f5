#!/bin/sh
# SPEC 1: mount -t fuse.kvfs STORE MNT -o OPTS (mount.fuse3 runs kvfs from
# PATH), and so /etc/fstab.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "mount(8) of a FUSE type needs root"
command -v mount.fuse3 >/dev/null || skip_all "no mount.fuse3"

# mount(8) runs mount.fuse3 with a PATH of its own, where an installed kvfs
# is; a kvfs not yet installed is given to mount.fuse3 the same way.
bindir=$TEST_DIR/bin
mkdir -p "$bindir"
ln -s "$KVFS_BIN" "$bindir/kvfs"
kvfs_mount() {
	if [ "$(command -v kvfs)" -ef "$KVFS_BIN" ]; then
		mount -t fuse.kvfs "$@"
	else
		PATH=$bindir:$PATH mount.fuse3 "$1" "$2" -t fuse.kvfs "$3" "$4"
	fi
}
kvfs_mount "$STORE" "$MNT" -o max_value_size=1K,default_namespace=fromfstab
is "$?" 0 "mount -t fuse.kvfs"
grep -q " $MNT fuse.kvfs " /proc/mounts && pass "mounted as fuse.kvfs" ||
	fail "mounted as fuse.kvfs"
is "$(ls "$MNT")" fromfstab "options reach kvfs"
errno_is EFBIG "max_value_size=1K applies" fill "$MNT/fromfstab/k" x 1025
umount "$MNT"
is "$?" 0 "umount"
is_mounted && fail "unmounted" || pass "unmounted"
kvfs_mount "$STORE" "$MNT" -o max_value_size=10X 2>/dev/null
[ $? -ne 0 ] && pass "a bad option fails the mount" || fail "a bad option fails the mount"
is_mounted && fail "nothing mounted" || pass "nothing mounted"

# nothing is created for a bad option, kvfs's or FUSE's, or a MOUNTPOINT
# that is not a directory
new=$TEST_DIR/new-store
touch "$TEST_DIR/afile"
for opt in max_value_size=10X nosuchopt; do
	kvfs_mount "$new" "$MNT" -o "$opt" 2>/dev/null
	[ $? -ne 0 ] && [ ! -e "$new" ] && ! is_mounted &&
		pass "-o $opt: nothing created" ||
		fail "-o $opt: nothing created"
done
err=$(kvfs_mount "$new" "$TEST_DIR/afile" -o ro 2>&1)
[ $? -ne 0 ] && [ ! -e "$new" ] &&
	! grep -q " $TEST_DIR/afile " /proc/mounts &&
	pass "a file as MOUNTPOINT: nothing created" ||
	fail "a file as MOUNTPOINT: nothing created ($err)"
case $err in *"kvfs: mountpoint '$TEST_DIR/afile' is not a directory"*)
	pass "a file as MOUNTPOINT: the message says so" ;;
	*) fail "a file as MOUNTPOINT: the message says so ($err)" ;; esac
grep -q " $TEST_DIR/afile " /proc/mounts && umount -l "$TEST_DIR/afile"

# after a crash of the daemon, mount -t clears the dead mount kvfs left,
# and mounts the store again
kvfs_mount "$STORE" "$MNT" -o default_namespace=fromfstab
errno_is OK "a value before the crash" put "$MNT/fromfstab/k" kept
for p in /proc/[0-9]*; do
	case $( (tr '\0' ' ' <"$p/cmdline") 2>/dev/null) in
	*kvfs*" $STORE $MNT"*) kill -9 "${p#/proc/}" ;; esac
done
for _ in $(seq 1 50); do
	[ "$("$FSOP" stat "$MNT")" = ENOTCONN ] && break
	sleep 0.1
done
errno_is ENOTCONN "kill -9 leaves a dead mount" stat "$MNT"
kvfs_mount "$STORE" "$MNT" -o default_namespace=fromfstab 2>/dev/null
is "$?" 0 "mount -t on its own dead mount"
is "$(cat "$MNT/fromfstab/k")" kept "the value is there"
is "$(grep -c " $MNT " /proc/mounts)" 1 "one mount there"
umount "$MNT"

done_testing
