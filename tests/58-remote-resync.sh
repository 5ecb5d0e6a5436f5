#!/bin/sh
# Deletions kept for a while, and a host away for longer (issue 18): the
# sweeper host purges the tombstones older than -o tombstones (here 2 s);
# a host that was unmounted while keys, a directory, a large value and
# namespaces were deleted, renamed and written, and their tombstones
# purged, copies the store anew when it mounts again: it holds exactly
# what the others hold, none of what was deleted, and the chunks of the
# value deleted are gone from its replica; the hosts that stayed do not
# copy anew; a write on the host come back reaches the others.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"

hosts_store

for n in 1 2 3; do
	host_mount "$n" "$CI" -o tombstones=2 || fail "host $n mounts"
done
status_of() {
	kv status "$(hmnt "$1")" | sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p"
}
sweeps() {
	[ "$(status_of "$1" sweeper)" = true ]
}
within 3000 sweeps 1
is "$?" 0 "host 1, the first, sweeps"

mkdir "$H1/keep" "$H1/gone" "$H1/moved"
for i in $(seq 1 40); do echo "value $i" > "$H1/keep/k$i"; done
mkdir -p "$H1/keep/dir/sub"
echo deep > "$H1/keep/dir/sub/x"
echo g > "$H1/gone/g1"
echo m > "$H1/moved/m1"
head -c 3145728 /dev/urandom > "$TEST_DIR/big"
cp "$TEST_DIR/big" "$H1/keep/big"
setfattr -n user.kv.metadata -v '{"v":1}' "$H1/keep/k40"
within 2000 sh -c "cmp -s '$TEST_DIR/big' '$H3/keep/big' &&
	[ -f '$H3/moved/m1' ] && [ -f '$H3/keep/dir/sub/x' ]"
is "$?" 0 "host 3 has the store (${WITHIN_MS} ms)"
bytes3=$(status_of 3 value_bytes)
host_umount 3
is "$?" 0 "host 3 goes away"

# while it is away
for i in $(seq 1 20); do rm "$H1/keep/k$i"; done
rm "$H1/keep/big" "$H1/keep/dir/sub/x"
rmdir "$H1/keep/dir/sub" "$H1/keep/dir"
rm "$H1/gone/g1"
rmdir "$H1/gone"
mv "$H1/moved" "$H1/renamed"
echo new > "$H1/keep/new1"
echo changed > "$H1/keep/k30"
setfattr -n user.kv.metadata -v '{"v":2}' "$H1/keep/k40"
tombstones() {
	pg_psql a -c "SELECT (SELECT count(*) FROM kvfs.keys WHERE type = 0)
		+ (SELECT count(*) FROM kvfs.namespaces WHERE deleted)"
}
ok "the deletions are tombstones in PostgreSQL ($(tombstones))" \
	test "$(tombstones)" -gt 20
no_tombstones() {
	[ "$(tombstones)" = 0 ]
}
within 8000 no_tombstones
is "$?" 0 "the sweeper purges them once 2 s old (${WITHIN_MS} ms)"
[ "$(tombstones)" = 0 ] || {
	pg_psql a -c "SELECT ns, encode(key, 'escape'), changed, now()
		FROM kvfs.keys WHERE type = 0" 2>&1
	pg_psql a -c "SELECT name, changed FROM kvfs.namespaces
		WHERE deleted" 2>&1
} | sed 's/^/# /'
is "$(pg_psql a -c "SELECT purged <> '0' FROM kvfs.store")" t \
	"and records the newest transaction it purged"

host_mount 3 "$CI" -o tombstones=2
is "$?" 0 "host 3 mounts again"
is "$(status_of 3 resyncs)" 1 "it copied the store anew"
grep -q "away longer than the remote store keeps deletions" \
	"$TEST_DIR/h3.err"
is "$?" 0 "and said so"
is "$(ls "$H3")" "$(printf 'keep\nrenamed')" "its namespaces are the store's"
is "$(ls "$H3/keep" | sort | tr '\n' ' ')" \
	"$(ls "$H1/keep" | sort | tr '\n' ' ')" "its keys too"
ok "none deleted is left (k1..k20, big, dir, gone, moved)" \
	sh -c "! ls -d '$H3/keep/k1' '$H3/keep/k20' '$H3/keep/big' \
		'$H3/keep/dir' '$H3/gone' '$H3/moved' 2>/dev/null | grep -q ."
is "$(cat "$H3/keep/new1" "$H3/keep/k30" "$H3/keep/k21" \
	"$H3/renamed/m1")" "$(printf 'new\nchanged\nvalue 21\nm')" \
	"what was written meanwhile is there"
is "$(getfattr --only-values -n user.kv.metadata "$H3/keep/k40")" \
	'{"v":2}' "metadata too"
for ns in keep renamed; do
	kv export "$H1/$ns" > "$TEST_DIR/e1.$ns"
	kv export "$H3/$ns" > "$TEST_DIR/e3.$ns"
	ok "kvctl export of $ns is the same on hosts 1 and 3" \
		cmp "$TEST_DIR/e1.$ns" "$TEST_DIR/e3.$ns"
done
bytes1=$(status_of 1 value_bytes)
is "$(status_of 3 value_bytes)" "$bytes1" \
	"its replica holds the bytes host 1's does ($bytes1, was $bytes3)"
is "$(status_of 2 resyncs)" 0 "host 2, which followed all along, did not \
copy anew"
is "$(status_of 1 resyncs)" 0 "nor did host 1"

echo back > "$H3/keep/from3"
from3() {
	[ "$(cat "$H1/keep/from3" 2>/dev/null)" = back ]
}
within 1000 from3
is "$?" 0 "a write on host 3 reaches host 1 (${WITHIN_MS} ms)"
rm "$H3/keep/k21"
within 1000 test ! -e "$H2/keep/k21"
is "$?" 0 "and a deletion host 2 (${WITHIN_MS} ms)"

hosts_done 1 2 3
# host 3's store holds no chunk: the only large value was deleted
chunks=$(mdb_stat -s data "$TEST_DIR/h3/store" | awk '/Entries:/ { print $2 }')
is "$chunks" 0 "host 3's replica holds no chunk of the value deleted"
done_testing
