#!/bin/sh
# The chunks a host staged and never published (issue 18): a value being
# written streams its chunks into PostgreSQL before its key is written;
# if its host never comes back, the host that sweeps deletes them, but
# never those of a host still writing, which holds an advisory lock per
# value it stages.  A host whose connection broke while staging lost that
# lock: its chunks may go, so its publishing write checks that every
# byte is there and fails with EIO rather than publish a value with
# holes; the old value stays everywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"

# generations with chunks and no live key
orphans() {
	pg_psql a -c "SELECT count(DISTINCT gen) FROM kvfs.chunks c WHERE NOT
		EXISTS (SELECT 1 FROM kvfs.keys k WHERE k.gen = c.gen AND
		k.chunked AND k.type = 1)"
}
no_orphans() {
	[ "$(orphans)" = 0 ]
}
staged_chunks() {
	pg_psql a -c "SELECT count(*) FROM kvfs.chunks c WHERE NOT EXISTS
		(SELECT 1 FROM kvfs.keys k WHERE k.gen = c.gen AND k.chunked
		AND k.type = 1)"
}
staging() {
	[ "$(staged_chunks)" -ge 4 ]
}
# the server processes holding a stage's advisory lock (staging.c)
stage_lockers() {
	pg_psql a -c "SELECT DISTINCT pid FROM pg_locks WHERE
		locktype = 'advisory' AND classid = 1937006951"
}
# a writer of 6 MiB that waits for $TEST_DIR/go before it ends, with
# fsync: its status in $TEST_DIR/$2.rc, its stderr in $TEST_DIR/$2.err.
# dd alone holds the key open (a shell redirection would let each
# process of a pipeline commit the value as it closes its copy)
slow_write() {
	rm -f "$TEST_DIR/go"
	( (head -c 6291456 /dev/zero | tr '\0' 'x'
	   while [ ! -e "$TEST_DIR/go" ]; do sleep 0.05; done) |
	  dd of="$1" bs=1M iflag=fullblock conv=fsync status=none \
		2>"$TEST_DIR/$2.err"
	  echo $? > "$TEST_DIR/$2.rc") &
}
whole_on() {
	[ "$("$FSOP" uniform "$1" 6291456)" = OK ]
}

hosts_store
for n in 1 2 3; do
	host_mount "$n" "$CI" -o tombstones=4,remote_timeout=3 ||
		fail "host $n mounts"
done
mkdir "$H1/orph"
for h in 1 2 3; do echo old > "$H1/orph/k$h"; done
within 2000 sh -c "[ \"\$(cat '$H3/orph/k3')\" = old ]"

# a host still writing: its chunks stay through the sweeps
slow_write "$H2/orph/k2" live
within 10000 staging
is "$?" 0 "host 2's chunks reach PostgreSQL as it writes"
# until it has sent what it will before its close
n0=$(staged_chunks)
while sleep 0.5; n1=$(staged_chunks); [ "$n1" != "$n0" ]; do n0=$n1; done
sleep 3
is "$(staged_chunks)" "$n0" "three seconds of sweeps (one a second) \
leave them"
touch "$TEST_DIR/go"
within 10000 test -s "$TEST_DIR/live.rc"
is "$(cat "$TEST_DIR/live.rc")" 0 "host 2's write then succeeds"
within 2000 whole_on "$H1/orph/k2"
is "$?" 0 "and host 1 reads its 6 MiB whole (${WITHIN_MS} ms)"
ok "host 3 too" whole_on "$H3/orph/k2"

# a host killed while writing, never back: its chunks go
slow_write "$H1/orph/k1" killed
within 10000 staging
is "$?" 0 "host 1's chunks reach PostgreSQL as it writes"
host_kill 1
touch "$TEST_DIR/go"
within 10000 test -s "$TEST_DIR/killed.rc"
within 5000 no_orphans
is "$?" 0 "host 1 killed and not back: its chunks are collected by the \
sweeping host (${WITHIN_MS} ms)"
is "$(cat "$H2/orph/k1"):$(cat "$H3/orph/k1")" old:old \
	"the old value stays on hosts 2 and 3"

# a connection broken while staging: the lock went, so may the chunks;
# the write that would publish them fails and publishes nothing
slow_write "$H3/orph/k3" broken
within 10000 staging
is "$?" 0 "host 3's chunks reach PostgreSQL as it writes"
lockers=$(stage_lockers)
is "$(echo "$lockers" | grep -c .)" 1 "one session holds the stage's lock"
pg_psql a -c "SELECT pg_terminate_backend($lockers)" >/dev/null
within 5000 no_orphans
is "$?" 0 "its connection broken, the sweeper takes its chunks \
(${WITHIN_MS} ms)"
touch "$TEST_DIR/go"
within 10000 test -s "$TEST_DIR/broken.rc"
ok "the write then fails ($(head -n 1 "$TEST_DIR/broken.err"))" \
	test "$(cat "$TEST_DIR/broken.rc")" != 0
case $(cat "$TEST_DIR/broken.err") in
*"Input/output error"*) pass "with EIO" ;;
*) fail "with EIO" ;;
esac
is "$(cat "$H3/orph/k3"):$(cat "$H2/orph/k3")" old:old \
	"the old value stays on host 3 and host 2"
is "$(pg_psql a -c "SELECT count(*) FROM kvfs.keys k WHERE chunked AND
	type = 1 AND size <> (SELECT coalesce(sum(octet_length(data)), 0)
	FROM kvfs.chunks WHERE gen = k.gen)")" 0 \
	"no key in PostgreSQL holds a value with missing bytes"
within 5000 no_orphans
is "$?" 0 "and nothing of it is left (${WITHIN_MS} ms)"

# host 1 back: it has the others' writes, and nothing lost
host_mount 1 "$CI" -o tombstones=4 || fail "host 1 mounts again"
ok "host 1 reads host 2's value whole" whole_on "$H1/orph/k2"
for ns in orph; do
	kv export "$H1/$ns" > "$TEST_DIR/e1"
	kv export "$H2/$ns" > "$TEST_DIR/e2"
	kv export "$H3/$ns" > "$TEST_DIR/e3"
done
ok "the three hosts export the same" sh -c "cmp -s '$TEST_DIR/e1' \
'$TEST_DIR/e2' && cmp -s '$TEST_DIR/e2' '$TEST_DIR/e3'"

hosts_done 1 2 3
done_testing
