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

done_testing
