# pg.sh - for the tests of the remote store: PostgreSQL clusters of the
# test's own, each made with initdb in a temporary directory and run as
# the unprivileged user postgres (Debian's package makes it) on a free
# port of 127.0.0.1, with password logins (scram-sha-256) for the role
# kvfs, password "$PG_PASSWORD".  Sourced after lib.sh:
#
#   . "$(dirname "$0")/pg.sh"
#   pg_start NAME        make and start cluster NAME; its port in $PG_PORT
#   pg_conninfo NAME [DB]   a connection string for it (database kvfs)
#   pg_psql NAME [DB] -c SQL...   psql on it, as kvfs, quiet, unaligned
#   pg_stop NAME         stop it (fast), pg_restart NAME start it again
#   pg_cmd NAME start|stop   the command line that does it, for a program
#   pg_standby NAME PRIMARY   a streaming, synchronous standby of PRIMARY
#   pg_kill NAME, pg_promote NAME   crash a primary, promote a standby
#
# A script on a machine without PostgreSQL's server prints "1..0 # SKIP".

PG_PASSWORD=kvfs-test-secret
PG_ROOT=
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
	skip_all "no PostgreSQL server (Debian's postgresql)"
id postgres >/dev/null 2>&1 || skip_all "no user postgres"

pg_cleanup() {
	[ -n "$PG_ROOT" ] || return 0
	for d in "$PG_ROOT"/*/data; do
		[ -f "$d/postmaster.pid" ] &&
			runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d" \
				-m immediate stop >/dev/null 2>&1
	done
	rm -rf "$PG_ROOT"
}
CLEANUP_HOOKS="$CLEANUP_HOOKS pg_cleanup"

# a random port, likely free (pg_start tries another if it is not)
pg_free_port() {
	echo $(( $(od -An -N2 -tu2 /dev/urandom) % 30000 + 20000 ))
}

# pg_listen NAME: start cluster NAME on a free port (another if taken)
pg_listen() {
	for _ in 1 2 3 4 5; do
		PG_PORT=$(pg_free_port)
		echo "$PG_PORT" > "$PG_ROOT/$1/port"
		pg_restart "$1" && return 0
	done
	return 1
}

pg_start() {
	if [ -z "$PG_ROOT" ]; then
		PG_ROOT=$(mktemp -d /tmp/kvfs-pg.XXXXXX)
		chmod 755 "$PG_ROOT"
	fi
	d=$PG_ROOT/$1
	mkdir -p "$d"
	printf '%s\n' "$PG_PASSWORD" > "$d/pw"
	chown -R postgres "$d"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$d/data" -U kvfs \
		--pwfile="$d/pw" --auth-local=trust --auth-host=scram-sha-256 \
		-E UTF8 --no-sync >"$d/initdb.log" 2>&1 ||
		{ sed 's/^/# /' "$d/initdb.log"; return 1; }
	pg_listen "$1"
	PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" \
		-U kvfs -d postgres -qAt -c "CREATE DATABASE kvfs" >/dev/null
}

pg_cmd() {
	d=$PG_ROOT/$1
	case $2 in
	start)	echo "runuser -u postgres -- $PG_BIN/pg_ctl -D $d/data" \
			"-l $d/log -w -o '-p $(cat "$d/port") -k $d" \
			"-c listen_addresses=127.0.0.1 -c fsync=off' start" \
			">/dev/null 2>&1" ;;
	stop)	echo "runuser -u postgres -- $PG_BIN/pg_ctl -D $d/data" \
			"-m fast -w stop >/dev/null 2>&1" ;;
	esac
}

pg_restart() {
	eval "$(pg_cmd "$1" start)"
}

pg_stop() {
	eval "$(pg_cmd "$1" stop)"
}

pg_conninfo() {
	echo "host=127.0.0.1 port=$(cat "$PG_ROOT/$1/port") user=kvfs" \
		"password=$PG_PASSWORD dbname=${2:-kvfs}"
}

pg_psql() {
	n=$1
	db=kvfs
	shift
	case ${1:-} in -*) ;; *) db=$1; shift ;; esac
	PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 \
		-p "$(cat "$PG_ROOT/$n/port")" -U kvfs -d "$db" -qAtX \
		-v ON_ERROR_STOP=1 "$@"
}

# pg_standby NAME PRIMARY: make cluster NAME a streaming standby of
# PRIMARY (pg_basebackup -R) and start it; the primary waits for it to
# confirm each commit (synchronous_standby_names '*', reloaded), so that
# what the primary acknowledged is on the standby when it is promoted.
pg_standby() {
	d=$PG_ROOT/$1
	mkdir -p "$d"
	chown postgres "$d"
	runuser -u postgres -- env PGPASSWORD="$PG_PASSWORD" \
		"$PG_BIN/pg_basebackup" -d "$(pg_conninfo "$2" postgres)" \
		-D "$d/data" -R -X stream -c fast >"$d/basebackup.log" 2>&1 ||
		{ sed 's/^/# /' "$d/basebackup.log"; return 1; }
	pg_listen "$1"
	pg_psql "$2" postgres -c "ALTER SYSTEM SET synchronous_standby_names = '*'" \
		-c "SELECT pg_reload_conf()" >/dev/null
}

# pg_kill NAME: stop it as a crash would (immediate: no checkpoint)
pg_kill() {
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_ROOT/$1/data" \
		-m immediate -w stop >/dev/null 2>&1
}

# pg_promote NAME: the standby becomes a primary
pg_promote() {
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_ROOT/$1/data" \
		-w promote >/dev/null 2>&1
}
