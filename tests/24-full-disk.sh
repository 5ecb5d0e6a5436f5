#!/bin/sh
# A full disk loses nothing: with the store on a 64 MiB filesystem of its
# own, writes past the space fail with ENOSPC (on the write or the close),
# every key acknowledged before reads back whole, the daemon goes on
# serving, and once keys are deleted, writes succeed again in the pages
# they freed, 1 MiB ones too (staged in the store's own pages); all of it
# still there after a remount.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "mounting a small tmpfs needs root"
SMALL=$(mktemp -d "${TMPDIR:-/tmp}/kvfs-small.XXXXXX")
mount -t tmpfs -o size=64m tmpfs "$SMALL" || skip_all "cannot mount a tmpfs"
trap 'cleanup; umount "$SMALL" 2>/dev/null; rmdir "$SMALL"' EXIT
STORE=$SMALL/store
MiB=1048576

# fill_until PREFIX MAX: write 1 MiB values PREFIX1... until one fails;
# acked: how many were acknowledged, err: how the next failed
fill_until() {
	acked=0
	err=
	for i in $(seq 1 "$2"); do
		out=$("$FSOP" fill "$D/$1$i" A $MiB)
		[ "$out" = OK ] || { err=$out; return; }
		acked=$i
	done
}

mount_kvfs
D=$MNT/default
fill_until k 100
is "$err" ENOSPC "writes past the space fail with ENOSPC (after $acked MiB)"
[ "$acked" -ge 20 ] && pass "the disk held $acked values of 1 MiB first" ||
	fail "the disk held only $acked values of 1 MiB"
bad=0
for j in $(seq 1 "$acked"); do
	[ "$("$FSOP" uniform "$D/k$j" $MiB)" = OK ] || bad=$((bad + 1))
done
is "$bad" 0 "all $acked acknowledged values read back whole"
size=$(stat -c %s "$D/k$((acked + 1))" 2>/dev/null || echo none)
case $size in
0|none) pass "the key that failed holds nothing of its write ($size)" ;;
*) fail "the key that failed holds $size bytes" ;;
esac
is "$("$FSOP" fill "$D/k1" B $MiB)" ENOSPC "overwriting a key on a full disk: ENOSPC"
is "$("$FSOP" uniform "$D/k1" $MiB)" OK "and the key keeps its old value"
is "$(ls "$D" | grep -c '^k')" "$(ls "$D" | grep -c '^k')" "ls still works"

n=0
for j in $(seq 1 2 "$acked"); do
	rm "$D/k$j" && n=$((n + 1))
done
is "$n" "$(( (acked + 1) / 2 ))" "deleting keys on a full disk works"
ok=0
for j in $(seq 1 50); do
	[ "$("$FSOP" fill "$D/new$j" C 100000)" = OK ] && ok=$((ok + 1))
done
is "$ok" 50 "after deleting, 50 writes of 100 KB succeed in the freed pages"
ok=0
for j in 1 2 3; do
	[ "$("$FSOP" fill "$D/mib$j" D $MiB)" = OK ] && ok=$((ok + 1))
done
is "$ok" 3 "and 3 writes of 1 MiB too (staged in the store's own pages)"
bad=0
for j in $(seq 2 2 "$acked"); do
	[ "$("$FSOP" uniform "$D/k$j" $MiB)" = OK ] || bad=$((bad + 1))
done
is "$bad" 0 "the values kept are whole"
umount_kvfs
mount_kvfs
bad=0
for j in $(seq 2 2 "$acked"); do
	[ "$("$FSOP" uniform "$D/k$j" $MiB)" = OK ] || bad=$((bad + 1))
done
for j in $(seq 1 50); do
	[ "$("$FSOP" uniform "$D/new$j" 100000)" = OK ] || bad=$((bad + 1))
done
for j in 1 2 3; do
	[ "$("$FSOP" uniform "$D/mib$j" $MiB)$(head -c1 "$D/mib$j")" = OKD ] ||
		bad=$((bad + 1))
done
is "$bad" 0 "after a remount every kept and new value is whole"
umount_kvfs

# the same with max_storage on a store with room to spare
STORE=$TEST_DIR/store
mount_kvfs -o max_storage=8M
fill_until m 20
is "$err:$acked" "ENOSPC:8" "max_storage=8M: the ninth 1 MiB value is ENOSPC"
is "$("$FSOP" fill "$D/m1" B $((MiB + 1)))" ENOSPC \
	"growing a value past it: ENOSPC"
bad=0
for j in $(seq 1 8); do
	[ "$("$FSOP" uniform "$D/m$j" $MiB)" = OK ] || bad=$((bad + 1))
done
is "$bad" 0 "the 8 values stored before read back whole"
rm "$D/m1" "$D/m2"
is "$("$FSOP" fill "$D/m9" C $MiB)$("$FSOP" fill "$D/m10" C $MiB)" OKOK \
	"after deleting two, two fit again"
is "$("$FSOP" fill "$D/m11" C $MiB)" ENOSPC "and no more"
umount_kvfs

done_testing
