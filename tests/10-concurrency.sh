#!/bin/sh
# SPEC 3 atomicity: concurrent readers see the old value or the new one,
# never a mix, for values held in a record and values in chunks.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default

race() {
	key=$1 size=$2 secs=$3
	"$FSOP" fill "$D/$key" A "$size" >/dev/null
	: > "$TEST_DIR/bad.$key"
	end=$(( $(date +%s) + secs ))
	pids=
	for ch in A B; do
		( while [ "$(date +%s)" -lt $end ]; do
			"$FSOP" fill "$D/$key" $ch "$size" >/dev/null
		  done ) &
		pids="$pids $!"
	done
	for r in 1 2; do
		( n=0
		  while [ "$(date +%s)" -lt $end ]; do
			out=$("$FSOP" uniform "$D/$key" "$size")
			[ "$out" = OK ] || echo "$out" >> "$TEST_DIR/bad.$key"
			n=$((n + 1))
		  done
		  echo "$n" > "$TEST_DIR/reads.$key.$r" ) &
		pids="$pids $!"
	done
	wait $pids
	reads=$(( $(cat "$TEST_DIR/reads.$key.1") + $(cat "$TEST_DIR/reads.$key.2") ))
	is "$(sort -u "$TEST_DIR/bad.$key" | head -3)" "" \
		"$size-byte values: $reads reads during rewrites, none mixed"
}

race small 100 3
race mid 200000 3
race large 3000000 4

# finish SECS DESC PID...: wait for the processes, at most SECS seconds; a
# hang fails DESC and ends the script (the mount aborted)
finish() {
	secs=$1 desc=$2
	shift 2
	for _ in $(seq 1 $((secs * 10))); do
		alive=
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && { wait "$@"; return 0; }
		sleep 0.1
	done
	fail "$desc: still running after $secs s"
	kill_kvfs
	wait "$@"
	done_testing
}

# An expiration set while its key is renamed to and fro in its directory.
# The kernel holds the key's file locked through the setxattr, and the
# rename holds the directory while it waits for that lock: the daemon
# must not wait for the directory (dropping a dentry) before its reply.
echo flipped > "$D/flip"
"$FSOP" flip "$D/flip" "$D/flop" 4 > "$TEST_DIR/flip.out" &
flip=$!
"$FSOP" ttl-loop "$D/flip" "$D/flop" 4 > "$TEST_DIR/ttl.out" &
ttl=$!
finish 30 "expirations set during renames" $flip $ttl
is "$(cut -d' ' -f1 "$TEST_DIR/flip.out") $(cut -d' ' -f1 "$TEST_DIR/ttl.out")" \
	"OK OK" "expirations set during renames: both ran to the end"
n=$(cut -d' ' -f2 "$TEST_DIR/ttl.out")
[ "${n:-0}" -gt 0 ] && pass "$n expirations set" ||
	fail "no expiration set: $(cat "$TEST_DIR/ttl.out")"
is "$(cat "$D/flip" 2>/dev/null || cat "$D/flop")" flipped \
	"the key they raced on keeps its value"

# 40 writers creating keys in one directory.  Each close drops a dentry,
# for which the daemon's thread waits for the directory, which a create
# holds while it waits for a thread of the daemon to answer it: the
# daemon must keep threads to spare (libfuse's default of 10 hung).
mkdir "$D/busy"
pids=
for w in $(seq 1 40); do
	"$FSOP" churn "$D/busy" w$w 4 > "$TEST_DIR/churn.$w" &
	pids="$pids $!"
done
# shellcheck disable=SC2086
finish 30 "40 writers creating keys in one directory" $pids
made=0
for w in $(seq 1 40); do
	set -- $(cat "$TEST_DIR/churn.$w")
	[ "${1:-}" = OK ] && made=$((made + $2))
done
is "$(cat "$TEST_DIR"/churn.* | cut -d' ' -f1 | sort -u) $(ls "$D/busy" | wc -l)" \
	"OK $made" "40 writers creating keys in one directory: all $made made"

done_testing
