#!/bin/sh
# Hundreds of processes each rewriting its own key in one directory, and
# one creating keys there, beside two CPU-bound loops (tests/closers.c):
# the mount goes on answering (a flush once waited, before its reply, for
# the directory's lock that a create held while it waited for a daemon
# thread: with every thread in a flush the mount hung), every close
# succeeds, and every key then holds the last value its writer closed, as
# a remount shows too.  Also close-to-open: a stat and a read right after
# another process's close give the new size and bytes; and a stop while
# closes wait for their replies answers every one.
. "$(dirname "$0")/lib.sh"

: "${CLOSERS:=$top_builddir/tests/closers}"
[ -x "$CLOSERS" ] || skip_all "closers not built at $CLOSERS"

# watch SECS DESC PID: wait for PID, at most SECS seconds; a hang fails
# DESC and ends the script, the daemon killed and its mount aborted.
watch() {
	secs=$1 desc=$2 pid=$3
	for _ in $(seq 1 $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return
		fi
		sleep 0.1
	done
	fail "$desc: still running after $secs s: the mount hung"
	kill_kvfs
	wait "$pid"
	stop_load
	done_testing
}

# closers N SECS DESC [MOUNT OPTIONS]: N processes rewriting keys and one
# creating keys, in a new directory, for SECS seconds; then their keys,
# before and after a remount (with the options).
closers() {
	n=$1 secs=$2 desc=$3
	shift 3
	dir=$MNT/default/d$n.$tap_n
	mkdir "$dir"
	"$CLOSERS" run "$dir" "$n" "$secs" "$TEST_DIR/state" \
		> "$TEST_DIR/run.out" 2>&1 &
	watch $((secs + 120)) "$desc" $!
	out=$(cat "$TEST_DIR/run.out")
	is "${out%% *}" OK "$desc: every close succeeded (${out#* })"
	is "$("$CLOSERS" check "$dir" "$TEST_DIR/state")" \
		"OK $(wc -l < "$TEST_DIR/state") keys" \
		"$desc: every key holds the last value its writer closed"
	stop_load
	remount "$@"
	is "$("$CLOSERS" check "$dir" "$TEST_DIR/state")" \
		"OK $(wc -l < "$TEST_DIR/state") keys" \
		"$desc: so does a remount"
	start_load
}

mount_kvfs
start_load

"$CLOSERS" c2o "$MNT/default" 2000 > "$TEST_DIR/c2o.out" 2>&1 &
watch 120 "close-to-open" $!
is "$(cat "$TEST_DIR/c2o.out")" "OK 2000 rounds" \
	"close-to-open: a stat and a read after each close get its value"

closers 300 8 "300 closers"
closers 1000 8 "1,000 closers"
remount -o max_threads=10
closers 300 8 "300 closers, max_threads=10" -o max_threads=10

# A stop (SIGTERM) while closes wait for their replies behind dentries
# still to drop: each gets its answer, the daemon ends (a sanitizer build
# would report a request left unanswered), and what was committed stays.
dir=$MNT/default/stopped
mkdir "$dir"
"$CLOSERS" run "$dir" 300 30 "$TEST_DIR/state" > "$TEST_DIR/run.out" 2>&1 &
cpid=$!
for _ in $(seq 1 300); do
	[ "$(ls "$dir" | wc -l)" -ge 300 ] && break
	sleep 0.1
done
sleep 1
kill -TERM "$KVFS_PID"
watch 60 "a stop during 300 closes" $cpid
pass "a stop during 300 closes: every process got its answers and ended"
status=0
wait "$KVFS_PID" || status=$?
KVFS_PID=
is "$status" 0 "a stop during 300 closes: the daemon exits 0"
stop_load
mount_kvfs
out=$("$CLOSERS" any "$dir")
keys=$(echo "$out" | awk '$1 == "OK" && $2 >= 300 { print "OK" }')
is "${keys:-$out}" OK \
	"a stop during 300 closes: every key holds a value its writer wrote"

done_testing
