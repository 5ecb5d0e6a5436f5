#!/bin/sh
# A local store pushed into an empty shared store becomes its first host
# (issue 18, -o remote_push): mounted with remote= alone it is refused
# (one line, status 1, nothing made in the database); with remote_push
# every namespace, key, value (a 3 MiB one too), directory, symbolic
# link, metadata and expiration goes to PostgreSQL in one transaction,
# and the store is a replica from then on: a new host copies exactly
# what the local mount held, its new keys take inode numbers no pushed
# key has, writes flow both ways, and remounting with remote_push again
# pushes nothing twice.  A second local store is refused by the shared
# store, now not empty, and neither store changes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"

hosts_store

# a local store of its own, at host 1's store
LOCAL=$TEST_DIR/h1/store
LMNT=$TEST_DIR/local
mkdir -p "$LMNT" "$H1"
"$KVFS_BIN" "$LOCAL" "$LMNT" || fail "the local store mounts"
mkdir "$LMNT/ns1" "$LMNT/ns2"
for i in $(seq 1 30); do echo "value $i" > "$LMNT/ns1/k$i"; done
mkdir -p "$LMNT/ns1/dir/sub"
echo deep > "$LMNT/ns1/dir/sub/x"
ln -s k1 "$LMNT/ns1/link"
head -c 3145728 /dev/urandom > "$TEST_DIR/big"
cp "$TEST_DIR/big" "$LMNT/ns2/big"
setfattr -n user.kv.metadata -v '{"a":1}' "$LMNT/ns1/k2"
setfattr -n user.kv.expiration_ttl -v 86400 "$LMNT/ns1/k3"
for ns in ns1 ns2; do kv export "$LMNT/$ns" > "$TEST_DIR/before.$ns"; done
(cd "$LMNT" && find . | sort) > "$TEST_DIR/tree.before"
fusermount3 -u "$LMNT"

# remote= alone: refused, nothing made
err=$("$KVFS_BIN" -f -o "remote=$CI" "$LOCAL" "$H1" 2>&1)
is "$?" 1 "a local store mounted with remote= alone is refused"
is "$(echo "$err" | wc -l)" 1 "with one line"
case $err in
*"remote_push"*) pass "which names remote_push" ;;
*) fail "which names remote_push"; echo "# $err" ;;
esac
is "$(pg_psql a -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'kvfs'")" \
	0 "and nothing was made in the database"

host_mount 1 "$CI" -o remote_push
is "$?" 0 "with remote_push, it mounts as the first host"
for ns in ns1 ns2; do
	kv export "$H1/$ns" > "$TEST_DIR/h1.$ns"
	ok "host 1's $ns is what the local mount held" \
		cmp "$TEST_DIR/before.$ns" "$TEST_DIR/h1.$ns"
done
is "$(pg_psql a -c "SELECT count(*) FROM kvfs.keys WHERE type = 1")" 32 \
	"PostgreSQL holds its 32 values"
is "$(pg_psql a -c "SELECT count(DISTINCT rev) FROM kvfs.keys")" 1 \
	"written in one transaction"

host_mount 2 "$CI"
is "$?" 0 "a new host mounts"
(cd "$H2" && find . | sort) > "$TEST_DIR/tree.h2"
ok "it holds the same names" cmp "$TEST_DIR/tree.before" "$TEST_DIR/tree.h2"
for ns in ns1 ns2; do
	kv export "$H2/$ns" > "$TEST_DIR/h2.$ns"
	ok "its $ns is the local mount's" \
		cmp "$TEST_DIR/before.$ns" "$TEST_DIR/h2.$ns"
done
ok "the 3 MiB value is whole" cmp "$TEST_DIR/big" "$H2/ns2/big"
is "$(readlink "$H2/ns1/link")" k1 "the symbolic link too"
is "$(getfattr --only-values -n user.kv.metadata "$H2/ns1/k2")" '{"a":1}' \
	"and the metadata"
ok "and the expiration" sh -c "[ \"\$(getfattr --only-values -n \
user.kv.expiration '$H2/ns1/k3')\" -gt $(($(date +%s) + 86000)) ]"

for i in $(seq 1 20); do echo "new $i" > "$H2/ns1/n$i"; done
dups=$(find "$H2" -printf '%i\n' | sort | uniq -d | wc -l)
is "$dups" 0 "keys made on host 2 take inode numbers no pushed key has"
within 1000 test -f "$H1/ns1/n20"
is "$?" 0 "and reach host 1 (${WITHIN_MS} ms)"
echo changed > "$H1/ns1/k5"
within 1000 grep -qx changed "$H2/ns1/k5"
is "$?" 0 "a write on host 1 reaches host 2 (${WITHIN_MS} ms)"

host_umount 1
host_mount 1 "$CI" -o remote_push
is "$?" 0 "host 1 mounts again with remote_push: a replica now"
is "$(pg_psql a -c "SELECT count(*) FROM kvfs.keys WHERE type = 1")" 52 \
	"nothing was pushed twice"

# a second local store: the shared store is no longer empty
"$KVFS_BIN" "$TEST_DIR/other" "$LMNT" || fail "another local store mounts"
mkdir "$LMNT/mine"
echo mine > "$LMNT/mine/k"
fusermount3 -u "$LMNT"
sleep 1
mkdir -p "$TEST_DIR/othermnt"
err=$("$KVFS_BIN" -f -o "remote=$CI,remote_push" "$TEST_DIR/other" \
	"$TEST_DIR/othermnt" 2>&1)
is "$?" 1 "another local store pushed into it is refused"
case $err in
*"not empty"*) pass "the shared store is not empty, it says" ;;
*) fail "the shared store is not empty, it says"; echo "# $err" ;;
esac
ok "the shared store has no namespace 'mine'" \
	test "$(pg_psql a -c "SELECT count(*) FROM kvfs.namespaces WHERE name = 'mine'")" = 0
"$KVFS_BIN" "$TEST_DIR/other" "$LMNT" || fail "it mounts locally again"
is "$(cat "$LMNT/mine/k")" mine "and the local store is as it was"
fusermount3 -u "$LMNT"

hosts_done 1 2
done_testing
