#!/bin/sh
# Many hosts, one store (issue 18): three mounts of one remote store in a
# PostgreSQL cluster of the test's own, each with its own replica, stand
# for three hosts.  What one host changes (a namespace, a value written
# over one another host has read and cached, metadata, an expiration, a
# rename, a deletion, directories) is seen by the others within 1 s; an
# expired key is gone on all; the store's limits win over a host's; the
# password never shows in ps.  With the server stopped a write fails with
# EIO within remote_timeout and keeps the old value while reads go on,
# and once it is back the hosts catch up, also after the listener's
# connection is cut.  A bad connection string, a wrong password and an
# unreachable server stop the mount with one line and status 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"

hosts_store

# the first host makes the store, with its limits
host_mount 1 "$CI" -o min_expiration_ttl=1,remote_timeout=2 &&
	pass "host 1 mounts the new remote store" ||
	fail "host 1 mounts the new remote store"
host_mount 2 "$CI" -o min_expiration_ttl=1,max_value_size=1M &&
	pass "host 2 mounts it" || fail "host 2 mounts it"
host_mount 3 "$CI" -o remote_timeout=2 && pass "host 3 mounts it" ||
	fail "host 3 mounts it"
is "$(cat "$TEST_DIR/h2.err")" "kvfs: the remote store's max_value_size is \
26214400, not 1048576: using 26214400" "host 2 is told the store's limit"
is "$(cat "$TEST_DIR/h3.err")" "kvfs: the remote store's min_expiration_ttl \
is 1, not 60: using 1" "host 3 too"
is "$(cat "$TEST_DIR/h1.err")" "" "host 1, which made it, is told nothing"
if tr '\0' ' ' < "/proc/$(host_pid 1)/cmdline" | grep -q "$PG_PASSWORD"
then
	fail "the password is not in the daemon's arguments (ps)"
else
	pass "the password is not in the daemon's arguments (ps)"
fi
status=$(kv status "$H2")
case $status in
'{"mode":"remote",'*'"connected":true,"listening":true,'*)
	pass "kvctl status of host 2: remote, connected, listening" ;;
*)	fail "kvctl status of host 2: remote, connected, listening"
	echo "# $status" ;;
esac
lag=$(echo "$status" | sed -n 's/.*"lag_seconds":\([0-9.]*\).*/\1/p')
ok "its lag is under 2 s ($lag)" awk -v l="$lag" 'BEGIN { exit !(l != "" && l < 2) }'
is "$(getfattr --only-values -n user.kv.status "$H2" 2>/dev/null | head -c 17)" \
	'{"mode":"remote",' "user.kv.status of the root says the same"
is "$(getfattr -d -m - "$H2" 2>/dev/null)" "" "and no listing shows it (cp -a, \
rsync -X leave it)"

# a namespace
mkdir "$H1/shared"
within 1000 test -d "$H2/shared" && within 1000 test -d "$H3/shared"
is "$?" 0 "a namespace made on host 1 is on hosts 2 and 3 within 1 s \
(${WITHIN_MS} ms)"

# a value, then a value over it that hosts 2 and 3 have cached
is "$("$FSOP" put "$H1/shared/k" "v1")" OK "host 1 writes k"
within 1000 sh -c "[ \"\$(cat '$H2/shared/k')\" = v1 ]"
is "$?" 0 "host 2 reads it within 1 s (${WITHIN_MS} ms)"
is "$(cat "$H3/shared/k")" "v1" "host 3 reads it"
is "$(stat -c %s "$H3/shared/k")" 2 "host 3's stat has its size"
is "$("$FSOP" put "$H1/shared/k" "second value")" OK "host 1 writes over it"
within 1000 sh -c "[ \"\$(cat '$H2/shared/k')\" = 'second value' ]"
is "$?" 0 "host 2, which had the old value cached, reads the new within 1 s \
(${WITHIN_MS} ms)"
within 1000 sh -c "[ \"\$(stat -c %s '$H3/shared/k')\" = 12 ]"
is "$?" 0 "host 3's stat has the new size within 1 s (${WITHIN_MS} ms)"
is "$(cat "$H3/shared/k")" "second value" "host 3 reads the new value"

# metadata and expiration
setfattr -n user.kv.metadata -v '{"owner":"h3"}' "$H3/shared/k"
within 1000 sh -c "[ \"\$(getfattr --only-values -n user.kv.metadata \
'$H1/shared/k')\" = '{\"owner\":\"h3\"}' ]"
is "$?" 0 "metadata set on host 3 is on host 1 within 1 s (${WITHIN_MS} ms)"
exp=$(($(date +%s) + 3600))
setfattr -n user.kv.expiration -v "$exp" "$H2/shared/k"
within 1000 sh -c "[ \"\$(getfattr --only-values -n user.kv.expiration \
'$H1/shared/k')\" = $exp ]"
is "$?" 0 "an expiration set on host 2 is on host 1 within 1 s \
(${WITHIN_MS} ms)"
is "$(cat "$H1/shared/k")" "second value" "the value stays"

# rename and delete
mv "$H1/shared/k" "$H1/shared/k2"
within 1000 sh -c "[ \"\$(cat '$H2/shared/k2')\" = 'second value' ] &&
	! [ -e '$H2/shared/k' ]"
is "$?" 0 "a rename on host 1 is on host 2 within 1 s (${WITHIN_MS} ms)"
is "$(getfattr --only-values -n user.kv.metadata "$H2/shared/k2")" \
	'{"owner":"h3"}' "with its metadata"
rm "$H3/shared/k2"
within 1000 sh -c "! [ -e '$H1/shared/k2' ] && ! [ -e '$H2/shared/k2' ]"
is "$?" 0 "a delete on host 3 is on hosts 1 and 2 within 1 s \
(${WITHIN_MS} ms)"
errno_is ENOENT "host 1 stats it ENOENT" stat "$H1/shared/k2"

# directories: path-like keys
mkdir -p "$H3/shared/users/123"
"$FSOP" put "$H3/shared/users/123/profile" "p" >/dev/null
within 1000 sh -c "[ \"\$(cat '$H1/shared/users/123/profile')\" = p ]"
is "$?" 0 "a key under new directories on host 3 is on host 1 within 1 s \
(${WITHIN_MS} ms)"
is "$(ls "$H2/shared/users")" "123" "host 2 lists the directory"
rm -r "$H1/shared/users"
within 1000 sh -c "! [ -e '$H2/shared/users' ] && ! [ -e '$H3/shared/users' ]"
is "$?" 0 "a directory removed on host 1 is gone on 2 and 3 within 1 s \
(${WITHIN_MS} ms)"

# a directory of 200 values (chunked: over 4 KiB) renamed: 400 rows of
# one transaction, more than a batch of the feed, whose puts hold the
# values its deletions drop
mkdir -p "$H1/shared/many"
"$FSOP" populate "$H1/shared/many" 200 5000 >/dev/null
within 3000 sh -c "[ \"\$(ls '$H2/shared/many' | wc -l)\" = 200 ]"
mv "$H1/shared/many" "$H1/shared/moved"
whole_moved() {
	[ "$(ls "$H2/shared/moved" 2>/dev/null | wc -l)" = 200 ] || return 1
	for f in "$H2"/shared/moved/*; do
		[ "$(stat -c %s "$f")" = 5000 ] &&
			[ "$(wc -c < "$f")" = 5000 ] || return 1
	done
}
within 5000 whole_moved
is "$?" 0 "a directory of 200 values renamed on host 1: host 2 reads all \
of them whole (${WITHIN_MS} ms)"
rm -r "$H1/shared/moved"

# an expired key is gone on all hosts
"$FSOP" put "$H1/shared/brief" "b" >/dev/null
within 1000 sh -c "[ \"\$(cat '$H2/shared/brief')\" = b ]"
setfattr -n user.kv.expiration_ttl -v 1 "$H1/shared/brief"
within 3000 sh -c "! [ -e '$H1/shared/brief' ] && ! [ -e '$H2/shared/brief' ] \
	&& ! [ -e '$H3/shared/brief' ]"
is "$?" 0 "a key expiring in 1 s is gone on all three within 3 s \
(${WITHIN_MS} ms)"
sweepers() {
	for n in 1 2 3; do
		kv status "$(hmnt "$n")" | grep -q '"sweeper":true' &&
			printf '%s ' "$n"
	done
}
is "$(sweepers)" "1 " "one host sweeps expired keys: host 1, mounted first"
tombstone() {
	[ "$(pg_psql a -c "SELECT type FROM kvfs.keys WHERE key = 'brief'")" = 0 ]
}
within 3000 tombstone
is "$?" 0 "it deleted the key in PostgreSQL (${WITHIN_MS} ms)"

# namespaces renamed and deleted
"$FSOP" put "$H2/shared/n" "in ns" >/dev/null
mv "$H2/shared" "$H2/other"
within 1000 sh -c "[ \"\$(cat '$H1/other/n')\" = 'in ns' ] &&
	! [ -e '$H1/shared' ] && [ \"\$(cat '$H3/other/n')\" = 'in ns' ]"
is "$?" 0 "a namespace renamed on host 2 is renamed on 1 and 3 within 1 s \
(${WITHIN_MS} ms)"
rm "$H3/other/n"
within 1000 sh -c "! [ -e '$H1/other/n' ]"
rmdir "$H1/other"
within 1000 sh -c "! [ -e '$H2/other' ] && ! [ -e '$H3/other' ]"
is "$?" 0 "a namespace deleted on host 1 is gone on 2 and 3 within 1 s \
(${WITHIN_MS} ms)"

# mount.fuse3 (mount -t fuse.kvfs, fstab) with a service name and the
# password in a pgpass file, and a string of two hosts, the first dead
P=$(cat "$PG_ROOT/a/port")
printf '[kvt]\nhost=127.0.0.1\nport=%s\nuser=kvfs\ndbname=kvfs\n' "$P" \
	> "$TEST_DIR/pg_service.conf"
echo "127.0.0.1:$P:kvfs:kvfs:$PG_PASSWORD" > "$TEST_DIR/pgpass"
chmod 600 "$TEST_DIR/pgpass"
mkdir -p "$(hmnt 4)" "$(hmnt 5)"
PGSERVICEFILE=$TEST_DIR/pg_service.conf PGPASSFILE=$TEST_DIR/pgpass \
	PATH=$top_builddir:$PATH mount.fuse3 "$TEST_DIR/h4/store" "$(hmnt 4)" \
	-t fuse.kvfs -o remote=service=kvt 2>"$TEST_DIR/h4.err"
is "$?" 0 "mount.fuse3 -t fuse.kvfs -o remote=service=NAME, the password \
from PGPASSFILE"
mkdir "$H1/four"
"$FSOP" put "$H1/four/from1" "to all" >/dev/null
within 1000 sh -c "[ \"\$(cat '$(hmnt 4)/four/from1')\" = 'to all' ]"
is "$?" 0 "that host follows too (${WITHIN_MS} ms)"
grep " $(hmnt 4) " /proc/mounts | grep -q "remote" &&
	fail "the connection string is not among the mount's options" ||
	pass "the connection string is not among the mount's options"
"$KVFS_BIN" -o "remote=host=127.0.0.1\\,127.0.0.1 port=1\\,$P user=kvfs \
password=$PG_PASSWORD dbname=kvfs" "$TEST_DIR/h5/store" "$(hmnt 5)"
is "$?" 0 "a string of two hosts, the first refusing (commas as \\,)"
is "$(cat "$(hmnt 5)/four/from1")" "to all" "the second serves it"
fusermount3 -u "$(hmnt 4)"
fusermount3 -u "$(hmnt 5)"

# the store's max_value_size (25 MiB), not host 2's 1M
mkdir "$H2/big"
head -c 2097152 /dev/zero | tr '\0' 'b' > "$H2/big/two"
is "$(stat -c %s "$H2/big/two")" 2097152 "host 2 writes 2 MiB: the store's \
limit holds, not its own 1M"
within 2000 sh -c "[ \"\$(stat -c %s '$H1/big/two')\" = 2097152 ]"
is "$?" 0 "host 1 has the 2 MiB value (${WITHIN_MS} ms)"
is "$("$FSOP" uniform "$H1/big/two" 2097152)" OK "whole"

# the server stopped: writes fail with EIO and change nothing, reads go on
"$FSOP" put "$H1/big/k" "old" >/dev/null
within 1000 sh -c "[ \"\$(cat '$H2/big/k')\" = old ]"
pg_stop a
t0=$(date +%s%N)
is "$("$FSOP" put "$H1/big/k" "new")" EIO "with the server stopped, a write \
fails with EIO"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "within about remote_timeout (2 s: ${ms} ms)" test "$ms" -lt 8000
is "$(cat "$H1/big/k")" "old" "the old value stays on host 1"
is "$(cat "$H2/big/k")" "old" "host 2 reads on"
errno_is EIO "a mkdir fails with EIO" mkdir "$H3/big/d"
errno_is ENOENT "and made nothing" stat "$H3/big/d"
status=$(kv status "$H1")
case $status in
*'"connected":false'*) pass "kvctl status: not connected" ;;
*)	fail "kvctl status: not connected"; echo "# $status" ;;
esac
pg_restart a
within 10000 sh -c "[ \"\$('$FSOP' put '$H1/big/k' 'new')\" = OK ]"
is "$?" 0 "once the server is back, host 1 writes (${WITHIN_MS} ms)"
within 3000 sh -c "[ \"\$(cat '$H2/big/k')\" = new ] &&
	[ \"\$(cat '$H3/big/k')\" = new ]"
is "$?" 0 "and hosts 2 and 3 catch up (${WITHIN_MS} ms)"

# the listener's connection cut: the poll still brings the writes
pg_psql a -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE pid <> pg_backend_pid() AND (query = 'LISTEN kvfs' OR
	query LIKE '%pg_try_advisory_lock%')" >/dev/null
"$FSOP" put "$H3/big/k" "after the cut" >/dev/null
within 2000 sh -c "[ \"\$(cat '$H1/big/k')\" = 'after the cut' ] &&
	[ \"\$(cat '$H2/big/k')\" = 'after the cut' ]"
is "$?" 0 "with the listeners cut off, hosts 1 and 2 catch up within 2 s \
(${WITHIN_MS} ms)"

# the mount refused, with one line and status 1
mkdir -p "$TEST_DIR/bad/mnt"
bad_mount() {
	"$KVFS_BIN" -o "remote=$1" "$TEST_DIR/bad/store$2" \
		"$TEST_DIR/bad/mnt" 2>"$TEST_DIR/bad/err"
	echo "status $? lines $(wc -l < "$TEST_DIR/bad/err")"
}
is "$(bad_mount "host=127.0.0.1 port=notaport" 1)" "status 1 lines 1" \
	"a bad connection string: status 1, one line"
sed 's/^/# /' "$TEST_DIR/bad/err"
is "$(bad_mount "$(echo "$CI" | sed 's/password=[^ ]*/password=WrongPw7/')" 2)" \
	"status 1 lines 1" "a wrong password: status 1, one line"
sed 's/^/# /' "$TEST_DIR/bad/err"
grep -q "WrongPw7" "$TEST_DIR/bad/err" &&
	fail "the wrong password is not in the message" ||
	pass "the wrong password is not in the message"
is "$(bad_mount "host=127.0.0.1 port=1 user=kvfs dbname=kvfs" 3)" \
	"status 1 lines 1" "an unreachable server: status 1, one line"
sed 's/^/# /' "$TEST_DIR/bad/err"
grep -q " $TEST_DIR/bad/mnt " /proc/mounts && fail "nothing was mounted" ||
	pass "nothing was mounted"

host_umount 1
is "$?" 0 "host 1 unmounts cleanly"
one_sweeper() {
	s=$(for n in 2 3; do kv status "$(hmnt "$n")" |
		grep -q '"sweeper":true' && echo "$n"; done)
	[ "$(echo $s | wc -w)" = 1 ]
}
within 3000 one_sweeper
is "$?" 0 "with the sweeper gone, another host sweeps (${WITHIN_MS} ms)"
is "$("$FSOP" put "$H2/big/brief2" "b")" OK "host 2 writes a key"
setfattr -n user.kv.expiration_ttl -v 1 "$H2/big/brief2"
tombstone2() {
	[ "$(pg_psql a -c "SELECT type FROM kvfs.keys WHERE key = 'brief2'")" = 0 ]
}
within 4000 tombstone2
is "$?" 0 "and deletes what expires (${WITHIN_MS} ms)"
hosts_done 2 3
done_testing
