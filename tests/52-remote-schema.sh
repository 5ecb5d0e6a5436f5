#!/bin/sh
# The remote store's schema and connection (src/remote, issue 18), against
# a PostgreSQL cluster of the test's own: an empty database gets the
# schema and the limits it is made with, which a later open gets back
# whatever it asks; two first opens at once make one schema; a database
# of another kind, a foreign "kvfs" schema and a newer schema are refused
# and left as they were; a bad connection string, a wrong password and a
# server that is down or unreachable give one line, never the password,
# within the timeout; several hosts are tried in turn.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
: "${REMOTECHECK:=$top_builddir/tests/remotecheck}"
[ -x "$REMOTECHECK" ] || skip_all "remotecheck not built"

rc() { "$REMOTECHECK" "$@" 2>&1; echo "exit $?"; }
q() { pg_psql a "$@"; }

pg_start a || { fail "the cluster starts"; done_testing; }
A=$(pg_conninfo a)

is "$(rc "$A" 5 '{"max_namespaces": 100}')" \
	"$(printf 'ok {"max_namespaces": 100}\nexit 0')" \
	"an empty database gets the schema, with the limits given"
is "$(q -c "SELECT string_agg(tablename, ',' ORDER BY tablename)
	    FROM pg_tables WHERE schemaname = 'kvfs'")" \
	"chunks,keys,namespaces,store" "its tables"
is "$(q -c "SELECT kind, version FROM kvfs.store")" "kvfs|3" \
	"its kind and version"
is "$(q -c "SELECT string_agg(sequencename, ',' ORDER BY sequencename)
	    FROM pg_sequences WHERE schemaname = 'kvfs'")" "rev" \
	"its sequence"
is "$(rc "$A" 5 '{"max_namespaces": 7}')" \
	"$(printf 'ok {"max_namespaces": 100}\nexit 0')" \
	"a later open gets the store's limits, not its own"
is "$(q -c "SELECT count(*) FROM kvfs.store")" 1 "still one store row"

# two first opens at once
q -d postgres -c "CREATE DATABASE race" >/dev/null
for i in 1 2 3 4; do
	"$REMOTECHECK" "$(pg_conninfo a race)" 5 "{\"n\": $i}" \
		> "$TEST_DIR/race.$i" 2>&1 &
done
wait
first=$(cat "$TEST_DIR/race.1")
case $first in 'ok {"n": '[1-4]'}') pass "a first open at once: ok" ;;
	*) fail "a first open at once: ok (got '$first')" ;; esac
same=0
for i in 2 3 4; do
	[ "$(cat "$TEST_DIR/race.$i")" = "$first" ] && same=$((same + 1))
done
is "$same" 3 "the four opens at once got the same limits"
is "$(pg_psql a race -c "SELECT count(*) FROM kvfs.store")" 1 \
	"and made one store"

# a newer schema: refused, untouched
q -d postgres -c "CREATE DATABASE newer" >/dev/null
"$REMOTECHECK" "$(pg_conninfo a newer)" >/dev/null 2>&1
pg_psql a newer -c "UPDATE kvfs.store SET version = 4" >/dev/null
is "$(rc "$(pg_conninfo a newer)")" \
	"$(printf '%s\nexit 1' "EPROTO: the remote store's schema is version 4, newer than this kvfs knows (3): upgrade kvfs")" \
	"a newer schema is refused"
is "$(pg_psql a newer -c "SELECT version FROM kvfs.store")" 4 \
	"and left as it was"
# an older one (1, which had no kvfs.store.last_xid): refused too
pg_psql a newer -c "UPDATE kvfs.store SET version = 1" >/dev/null
is "$(rc "$(pg_conninfo a newer)")" \
	"$(printf '%s\nexit 1' "EPROTO: the remote store's schema is version 1, older than this kvfs's (3), and kvfs has no upgrade for it")" \
	"an older schema is refused"
# version 2, whose hosts do not lock what they stage: refused, untouched
pg_psql a newer -c "UPDATE kvfs.store SET version = 2" >/dev/null
is "$(rc "$(pg_conninfo a newer)")" \
	"$(printf '%s\nexit 1' "EPROTO: the remote store's schema is version 2, older than this kvfs's (3), and kvfs has no upgrade for it")" \
	"a version 2 schema is refused"
is "$(pg_psql a newer -c "SELECT version FROM kvfs.store")" 2 \
	"and left as it was"

# another kind of database: refused, untouched, nothing made
q -d postgres -c "CREATE DATABASE other" >/dev/null
pg_psql a other -c "CREATE TABLE users (id int); INSERT INTO users VALUES (7)"
is "$(rc "$(pg_conninfo a other)")" \
	"$(printf '%s\nexit 1' 'EPROTO: the database "other" is neither empty nor a kvfs store: give kvfs a database of its own')" \
	"a database of another kind is refused"
is "$(pg_psql a other -c "SELECT id FROM users;
	SELECT count(*) FROM pg_namespace WHERE nspname = 'kvfs'")" \
	"$(printf '7\n0')" "and left as it was, without a kvfs schema"

# a schema called kvfs that is not ours
q -d postgres -c "CREATE DATABASE odd" >/dev/null
pg_psql a odd -c "CREATE SCHEMA kvfs; CREATE TABLE kvfs.store (x int)"
is "$(rc "$(pg_conninfo a odd)")" \
	"$(printf '%s\nexit 1' 'EPROTO: the database holds a schema "kvfs" that is not a kvfs store')" \
	"a foreign schema kvfs is refused"

# bad connection strings: one line, no password
out=$(rc "host=127.0.0.1 password=Sekrit-9 bogus")
case $out in "EINVAL: bad connection string: "*"exit 1") pass "a bad string: EINVAL" ;;
	*) fail "a bad string: EINVAL (got '$out')" ;; esac
case $out in *Sekrit-9*) fail "its message holds the password" ;;
	*) pass "its message does not hold the password" ;; esac
is "$(echo "$out" | wc -l)" 2 "and is one line"
out=$(rc "postgresql://kvfs:Sekrit-9@127.0.0.1:%zz/kvfs")
case $out in "EINVAL: bad connection string: "*"exit 1") pass "a bad URI: EINVAL" ;;
	*) fail "a bad URI: EINVAL (got '$out')" ;; esac
case $out in *Sekrit-9*) fail "its message holds the password" ;;
	*) pass "its message does not hold the password" ;; esac

out=$(rc "postgresql://kvfs:Sek%zz-9@127.0.0.1/kvfs")
is "$out" "$(printf '%s\nexit 1' 'EINVAL: bad connection string: invalid percent-encoded token: "***"')" \
	"where libpq quotes the password, it is masked"

# a wrong password
out=$(rc "host=127.0.0.1 port=$(cat "$PG_ROOT/a/port") user=kvfs password=Not-The-One-42 dbname=kvfs")
case $out in "EIO: "*'password authentication failed for user "kvfs"'*"exit 1")
	pass "a wrong password: EIO, said so" ;;
	*) fail "a wrong password: EIO, said so (got '$out')" ;; esac
case $out in *Not-The-One-42*) fail "its message holds the password" ;;
	*) pass "its message does not hold the password" ;; esac
is "$(echo "$out" | wc -l)" 2 "and is one line"

# the password from PGPASSFILE, not the string
printf '127.0.0.1:%s:kvfs:kvfs:%s\n' "$(cat "$PG_ROOT/a/port")" \
	"$PG_PASSWORD" > "$TEST_DIR/pgpass"
chmod 600 "$TEST_DIR/pgpass"
is "$(PGPASSFILE=$TEST_DIR/pgpass rc "host=127.0.0.1 port=$(cat "$PG_ROOT/a/port") user=kvfs dbname=kvfs")" \
	"$(printf 'ok {"max_namespaces": 100}\nexit 0')" \
	"the password comes from PGPASSFILE"

# several hosts: the first down, the second up
dead=$(pg_free_port)
is "$(rc "host=127.0.0.1,127.0.0.1 port=$dead,$(cat "$PG_ROOT/a/port") user=kvfs password=$PG_PASSWORD dbname=kvfs target_session_attrs=read-write")" \
	"$(printf 'ok {"max_namespaces": 100}\nexit 0')" \
	"several hosts: the one that answers is used"

# the server down: refused at once; unreachable: within the timeout
pg_stop a
out=$(rc "$A" 3)
case $out in "EIO: "*"exit 1") pass "the server down: EIO" ;;
	*) fail "the server down: EIO (got '$out')" ;; esac
is "$(echo "$out" | wc -l)" 2 "in one line"
# a server that takes the connection and never answers
silent=$(pg_free_port)
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(Listen => 5,
	LocalAddr => "127.0.0.1:'"$silent"'", ReuseAddr => 1) or exit 1;
	sleep 60' &
SILENT=$!
sleep 0.5
t0=$(date +%s)
out=$(rc "host=127.0.0.1 port=$silent user=kvfs password=x dbname=kvfs" 2)
t1=$(date +%s)
kill $SILENT 2>/dev/null
case $out in "EIO: "*"timeout"*"exit 1") pass "a silent server: EIO, a timeout" ;;
	*) fail "a silent server: EIO, a timeout (got '$out')" ;; esac
ok "after the timeout (2 s, took $((t1 - t0)))" \
	[ $((t1 - t0)) -ge 1 ] && [ $((t1 - t0)) -le 4 ]

done_testing
