#!/bin/sh
# The LMDB map grows by itself: a store started with a 1 MiB map takes
# 40 MiB of values and thousands of keys without an error, and keeps them.
. "$(dirname "$0")/lib.sh"

KVFS_INITIAL_MAP=1048576 mount_kvfs
D=$MNT/default
bad=0
for i in $(seq 1 40); do
	[ "$("$FSOP" fill "$D/v$i" "$(printf "\\$(printf %o $((65 + i % 26)))")" 1048576)" = OK ] ||
		bad=$((bad + 1))
done
is "$bad" 0 "40 values of 1 MiB written through map growth"
mkdir "$D/small"
for i in $(seq 1 2000); do echo "k$i" > "$D/small/k$i" || bad=$((bad + 1)); done
is "$bad" 0 "2000 small keys written"
[ "$(stat -c %s "$STORE/data.mdb")" -gt 40000000 ] && pass "the store grew past 40 MB" ||
	fail "the store grew past 40 MB"
KVFS_INITIAL_MAP=1048576 remount
bad=0
for i in $(seq 1 40); do
	c=$(printf "\\$(printf %o $((65 + i % 26)))")
	[ "$("$FSOP" uniform "$D/v$i" 1048576) $(head -c1 "$D/v$i")" = "OK $c" ] || bad=$((bad + 1))
done
is "$bad" 0 "every value intact after remount"
is "$(cat "$D/small/k1999")" k1999 "small keys intact"

done_testing
