#!/bin/sh
# Renames of a directory racing what is done below it, with two CPU-bound
# loops slowing the daemon's threads down (tests/renamerace.c): keys,
# directories and links made, and keys renamed, through a descriptor of
# A/sub while A is renamed to B and back land where the directory is,
# also after a remount; first lookups of 2,000 keys racing such renames
# find every key, and leave no key that ls lists but stat and open
# cannot find.
# Then 20 unmounts, each followed at once by a mount of the same store,
# with 1,000 keys of 10 KiB written before each: the new kvfs waits for
# the old one to let the store go, for up to 10 s.
. "$(dirname "$0")/lib.sh"

: "${RENAMERACE:=$top_builddir/tests/renamerace}"
[ -x "$RENAMERACE" ] || skip_all "renamerace not built at $RENAMERACE"

mount_kvfs
D=$MNT/default

start_load
for r in 1 2 3; do
	mkdir -p "$D/c$r/A/sub"
	is "$("$RENAMERACE" create "$D/c$r" 300)" OK \
		"round $r: 300 keys, 100 directories, 100 links and 100 keys renamed made in A/sub while A is renamed to B and back: all where A/sub is now"
done

# first lookups: the keys written, then a new mount that knows none
for r in 1 2; do
	mkdir -p "$D/l$r/A/sub"
	"$RENAMERACE" fill "$D/l$r/A/sub" 2000 8 >/dev/null || fail "fill l$r"
done
stop_load
ok "remount" remount
start_load
for r in 1 2; do
	is "$("$RENAMERACE" lookup "$D/l$r" 2000)" OK \
		"round $r: 2,000 first lookups racing renames of A: every key found, every listed key stats and opens"
done

# listings through a descriptor of a directory while a directory above
# it is renamed: every key each time
mkdir -p "$D/ls/A/sub"
"$RENAMERACE" fill "$D/ls/A/sub" 50 1 >/dev/null || fail "fill ls"
is "$("$RENAMERACE" list "$D/ls" 50 2000)" OK \
	"2,000 listings of A/sub through one descriptor while A is renamed to B and back: all 50 keys each time"
stop_load

ok "remount" remount
for r in 1 2 3; do
	is "$("$RENAMERACE" check "$D/c$r" 300)" OK \
		"round $r: after a remount, all still where A/sub is, and only there"
done

# unmount, and mount again at once
start_load
mkdir "$D/m"
bad=0
for i in $(seq 1 20); do
	"$RENAMERACE" fill "$D/m" 1000 10240 >/dev/null || fail "fill, cycle $i"
	old=$KVFS_PID
	fusermount3 -u "$MNT"
	# longer than kvfs waits: a failure is kvfs giving up
	KVFS_MOUNT_WAIT=300 mount_kvfs || bad=$((bad + 1))
	wait "$old"
	[ -n "$KVFS_PID" ] || mount_kvfs || break
done
stop_load
is "$bad" 0 "20 unmounts each followed at once by a mount: every mount works"
is "$(cat "$D/m/k999" | wc -c)" 10240 "the last key written is whole"
is "$(ls "$D/m" | wc -l)" 1000 "1,000 keys"

# a kvfs that holds the store without a mount (one still exiting): waited
# for, with a message, for up to 10 s
held() {
	! flock -n "$STORE/kvfs.lock" true
}
umount_kvfs
flock "$STORE/kvfs.lock" sleep 2 &
holder=$!
until held; do sleep 0.05; done
is "$(said "$KVFS_BIN" "$STORE" "$MNT")" \
	"kvfs: waiting for the kvfs still using '$STORE' to exit 0" \
	"the store held for 2 s: kvfs says it waits, then mounts"
wait "$holder"
is "$(cat "$D/m/k0" | wc -c)" 10240 "the store is there"
fusermount3 -u "$MNT"
flock "$STORE/kvfs.lock" true	# that kvfs has exited
# held well past the 10 s (a loaded machine may start kvfs late), then let go
flock "$STORE/kvfs.lock" sleep 60 &
holder=$!
until held; do sleep 0.05; done
is "$(said "$KVFS_BIN" "$STORE" "$MNT")" \
	"kvfs: waiting for the kvfs still using '$STORE' to exit
kvfs: store '$STORE' is in use by another kvfs 1" \
	"held for longer than 10 s: kvfs gives up, as it did at once before"
is_mounted && fail "nothing mounted" || pass "nothing mounted"
pkill -P "$holder" sleep
wait "$holder"

done_testing
