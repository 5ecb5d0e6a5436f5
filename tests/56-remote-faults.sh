#!/bin/sh
# Many hosts, faults (issue 18): nothing acknowledged is lost.  Three
# hosts of one remote store whose primary has a synchronous streaming
# standby, named together in a multi-host connection string with
# target_session_attrs=read-write.
# - A host killed (SIGKILL) after PostgreSQL committed its write and
#   before its replica did: the others have the write, and so has the
#   host once mounted again (the feed brings it).
# - A host killed while a writer has a key open: the old value stays on
#   every host, and the chunks its unfinished value left in PostgreSQL
#   are collected once it is back.
# - A host killed while a writer writes key after key: every key whose
#   close returned is on every host after it is back.
# - The primary killed and the standby promoted: the hosts follow it
#   through the connection string, every acknowledged write is there,
#   and writes go on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"
: "${KVFS_HOOKS:=$top_builddir/tests/kvfs-hooks}"
[ -x "$KVFS_HOOKS" ] || skip_all "kvfs-hooks not built"

pg_start a || { fail "the primary starts"; done_testing; }
pg_standby b a || { fail "the standby starts"; done_testing; }
PA=$(cat "$PG_ROOT/a/port")
PB=$(cat "$PG_ROOT/b/port")
# inside -o, a comma of the value is written \,
CI="host=127.0.0.1\\,127.0.0.1 port=$PA\\,$PB user=kvfs \
password=$PG_PASSWORD dbname=kvfs target_session_attrs=read-write"

# host 1 runs the test build, which can hold a write after PostgreSQL's
# commit (REMOTE_COMMITTED)
export KVFS_HOOK_REMOTE_COMMITTED=commit
export KVFS_HOOK_REMOTE_COMMITTED_ARM="$TEST_DIR/arm"
HOST_BIN=$KVFS_HOOKS host_mount 1 "$CI" -o remote_timeout=3 ||
	fail "host 1 mounts"
unset KVFS_HOOK_REMOTE_COMMITTED KVFS_HOOK_REMOTE_COMMITTED_ARM HOST_BIN
host_mount 2 "$CI" -o remote_timeout=3 || fail "host 2 mounts"
host_mount 3 "$CI" -o remote_timeout=3 || fail "host 3 mounts"
mkdir "$H2/faults"
is "$("$FSOP" put "$H2/faults/k" "old")" OK "a key written on host 2"
within 2000 sh -c "[ \"\$(cat '$H1/faults/k')\" = old ]" ||
	fail "host 1 has it"

# killed between the two commits
touch "$TEST_DIR/arm"
"$FSOP" put "$H1/faults/k" "committed there" > "$TEST_DIR/put.out" 2>&1 &
putpid=$!
wait_for "$TEST_DIR/arm.held"
is "$?" 0 "host 1's write is held after PostgreSQL's commit"
host_kill 1
wait "$putpid"
within 2000 sh -c "[ \"\$(cat '$H2/faults/k')\" = 'committed there' ]"
is "$?" 0 "host 2 has the write PostgreSQL committed (${WITHIN_MS} ms)"
host_mount 1 "$CI" -o remote_timeout=3
is "$?" 0 "host 1 mounts again"
is "$(cat "$H1/faults/k")" "committed there" "and has the write its \
replica missed"

# killed while a writer holds a key open: 6 MiB written, not closed
"$FSOP" put "$H1/faults/k2" "v0" >/dev/null
within 2000 sh -c "[ \"\$(cat '$H3/faults/k2')\" = v0 ]"
# (dd alone holds it open: each process of a pipeline writing into a
# redirection would commit the value as it closes its copy)
(head -c 6291456 /dev/zero | tr '\0' 'x'; sleep 30) |
	dd of="$H1/faults/k2" bs=1M iflag=fullblock status=none \
	2>/dev/null &
wpid=$!
staged() {
	[ "$(pg_psql a -c 'SELECT count(*) FROM kvfs.chunks')" -ge 4 ]
}
within 10000 staged
is "$?" 0 "its first chunks reach PostgreSQL as they are staged"
host_kill 1
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
is "$(cat "$H2/faults/k2")" "v0" "host 1 killed mid-write: the old value \
stays on host 2"
host_mount 1 "$CI" -o remote_timeout=3 || fail "host 1 mounts again"
is "$(cat "$H1/faults/k2")" "v0" "and on host 1"
orphans() {
	pg_psql a -c "SELECT count(*) FROM kvfs.chunks c WHERE NOT EXISTS
		(SELECT 1 FROM kvfs.keys k WHERE k.gen = c.gen AND k.chunked)"
}
no_orphans() {
	[ "$(orphans)" = 0 ]
}
within 5000 no_orphans
is "$(orphans)" 0 "the chunks of the unfinished value are collected in \
PostgreSQL (${WITHIN_MS} ms)"

# killed while writing key after key: each acknowledged one survives
(i=0; while :; do
	i=$((i + 1))
	r=$("$FSOP" put "$H3/faults/a$i" "value $i")
	[ "$r" = OK ] || break
	echo "$i" >> "$TEST_DIR/acked"
done) &
lpid=$!
within 10000 sh -c "[ \$(wc -l < '$TEST_DIR/acked' 2>/dev/null || echo 0) -ge 20 ]"
host_kill 3
wait "$lpid" 2>/dev/null
acked=$(wc -l < "$TEST_DIR/acked")
ok "host 3 acknowledged writes before it was killed ($acked)" \
	test "$acked" -ge 20
host_mount 3 "$CI" -o remote_timeout=3 || fail "host 3 mounts again"
missing=
for i in $(cat "$TEST_DIR/acked"); do
	for h in "$H1" "$H2" "$H3"; do
		[ "$(cat "$h/faults/a$i" 2>/dev/null)" = "value $i" ] ||
			missing="$missing $h/a$i"
	done
done
within 2000 true
is "$missing" "" "every acknowledged key is on the three hosts"

# failover: the primary killed, the standby promoted
for i in $(seq 1 20); do
	"$FSOP" put "$H1/faults/f$i" "before $i" >/dev/null
done
f20_on_3() {
	[ "$(cat "$H3/faults/f20" 2>/dev/null)" = "before 20" ]
}
within 2000 f20_on_3 || fail "host 3 follows host 1 before the failover"
pg_kill a
errno_is EIO "with the primary gone, a write fails with EIO" \
	put "$H2/faults/f1" "lost"
is "$(cat "$H3/faults/f20")" "before 20" "reads go on"
pg_promote b
within 30000 sh -c "[ \"\$('$FSOP' put '$H2/faults/after' 'failed over')\" = OK ]"
is "$?" 0 "once the standby is promoted, host 2 writes through it \
(${WITHIN_MS} ms)"
within 5000 sh -c "[ \"\$(cat '$H1/faults/after')\" = 'failed over' ] &&
	[ \"\$(cat '$H3/faults/after')\" = 'failed over' ]"
is "$?" 0 "hosts 1 and 3 follow the new primary (${WITHIN_MS} ms)"
missing=
for i in $(seq 1 20); do
	for h in "$H1" "$H2" "$H3"; do
		[ "$(cat "$h/faults/f$i")" = "before $i" ] ||
			missing="$missing $h/f$i"
	done
done
is "$missing" "" "every write acknowledged before the failover is there"
is "$(pg_psql b -c "SELECT count(*) FROM kvfs.keys WHERE key LIKE 'f%'
	AND type = 1" 2>&1)" 20 "and in the new primary"
for n in 1 2 3; do
	kv export "$(hmnt "$n")/faults" > "$TEST_DIR/export.$n"
done
cmp -s "$TEST_DIR/export.1" "$TEST_DIR/export.2" &&
	cmp -s "$TEST_DIR/export.1" "$TEST_DIR/export.3"
is "$?" 0 "the three hosts export the same"

hosts_done 1 2 3
done_testing
