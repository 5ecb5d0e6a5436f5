#!/bin/sh
# SPEC 4, reclaiming space: the sweep deletes expired keys through the
# expiry index, so the store's pages come back, and it touches only the
# keys that expired however many others the store holds.
. "$(dirname "$0")/lib.sh"

# live_pages: pages of the LMDB environment in use (used minus free)
live_pages() {
	mdb_stat -ef "$STORE" | awk '/Number of pages used:/ { used = $5 }
		/Free pages:/ { free = $3 } END { print used - free }'
}

mount_kvfs -o min_expiration_ttl=1
D=$MNT/default
mkdir "$D/exp"
p0=$(live_pages)
is "$("$FSOP" populate "$D/exp" 10000 1000)" OK "10,000 keys of 1000 bytes"
p1=$(live_pages)
[ $((p1 - p0)) -gt 2000 ] && pass "they take $((p1 - p0)) pages" ||
	fail "they take only $((p1 - p0)) pages"
is "$("$FSOP" expire "$D/exp" 10000 1 1)" OK "each given a ttl of 1 s"
for _ in $(seq 1 100); do
	[ -z "$(ls "$D/exp")" ] && break
	sleep 0.1
done
is "$(ls "$D/exp" | wc -l)" 0 "all expired"
for _ in $(seq 1 50); do
	entries=$(mdb_stat -s expiry "$STORE" | awk '/Entries:/ { print $2 }')
	[ "$entries" = 0 ] && break
	sleep 0.1
done
is "$entries" 0 "all swept from the expiry index"
# LMDB frees a transaction's pages once no reader can see them: one more
# commit puts the last sweep's pages on the free list
echo x > "$D/commit"
p2=$(live_pages)
[ $((p2 - p0)) -lt $(((p1 - p0) / 20)) ] &&
	pass "the pages came back ($p0 -> $p1 -> $p2)" ||
	fail "the pages did not come back ($p0 -> $p1 -> $p2)"

# 100,000 keys, of which 100 expire: the sweep visits those 100 only
mkdir "$D/big"
is "$("$FSOP" populate "$D/big" 100000 10)" OK "100,000 keys"
umount_kvfs
mount_kvfs -d -o min_expiration_ttl=1
is "$("$FSOP" expire "$D/big" 100000 1000 1)" OK "100 of them given a ttl of 1 s"
for _ in $(seq 1 50); do
	n=$(ls "$D/big" | wc -l)
	[ "$n" = 99900 ] && break
	sleep 0.1
done
is "$n" 99900 "the 100 expired"
for _ in $(seq 1 50); do
	last=$(grep 'sweep: deleted' "$TEST_DIR/kvfs.err" | tail -1)
	case $last in *"(100 and 100 in all)"*) break ;; esac
	sleep 0.1
done
case $last in
*"(100 and 100 in all)"*) pass "the sweep deleted 100 keys, visiting 100 index entries" ;;
*) fail "the sweep's count: $last" ;;
esac
is "$(ls "$D/big/k1" "$D/big/k999" "$D/big/k99999" 2>&1)" "$D/big/k1
$D/big/k999
$D/big/k99999" "the others are all there"
errno_is ENOENT "an expired one is not" stat "$D/big/k1000"

done_testing
