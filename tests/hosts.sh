# hosts.sh - for the tests of many hosts: kvfs mounts of one remote store,
# each with a replica of its own, standing for hosts.  Sourced after
# lib.sh and pg.sh:
#
#   hosts_store         start the cluster a (else the test ends, failed)
#                       and set CI, the connection string of its store;
#                       H1, H2, H3 are hosts 1 to 3's mountpoints
#   host_mount N CONNINFO [kvfs options...]
#                       mount host N: store $TEST_DIR/hN/store at
#                       $TEST_DIR/hN/mnt, in the foreground, with
#                       $HOST_BIN if set, else $KVFS_BIN
#   hmnt N              host N's mountpoint
#   host_umount N       unmount it and wait for its daemon
#   hosts_done N...     unmount hosts N... , each checked to exit 0, and
#                       check no daemon's stderr has a sanitizer report
#   host_kill N         SIGKILL its daemon and clear the dead mount
#   within MS CMD...    run CMD every 20 ms until it succeeds: status 0,
#                       or 1 after MS milliseconds; the time taken, in
#                       ms, in $WITHIN_MS
#
# Each daemon's stderr goes to $TEST_DIR/hN.err; done_testing's check of
# the sanitizers reads them too (hosts_errs).

hmnt() {
	echo "$TEST_DIR/h$1/mnt"
}
H1=$(hmnt 1)
H2=$(hmnt 2)
H3=$(hmnt 3)

hosts_store() {
	pg_start a || { fail "the cluster starts"; done_testing; }
	CI=$(pg_conninfo a)
}

host_pid() {
	eval "echo \${HOST_PID_$1:-}"
}

host_mount() {
	hm_n=$1
	hm_ci=$2
	shift 2
	mkdir -p "$TEST_DIR/h$hm_n/mnt"
	"${HOST_BIN:-$KVFS_BIN}" -f -o "remote=$hm_ci" "$@" \
		"$TEST_DIR/h$hm_n/store" \
		"$TEST_DIR/h$hm_n/mnt" 2>>"$TEST_DIR/h$hm_n.err" &
	eval "HOST_PID_$hm_n=$!"
	for _ in $(seq 1 200); do
		grep -q " $TEST_DIR/h$hm_n/mnt fuse" /proc/mounts && return 0
		if ! kill -0 "$(host_pid "$hm_n")" 2>/dev/null; then
			echo "# host $hm_n exited: $(cat "$TEST_DIR/h$hm_n.err")"
			eval "HOST_PID_$hm_n="
			return 1
		fi
		sleep 0.05
	done
	echo "# host $hm_n did not mount"
	return 1
}

host_umount() {
	hu_pid=$(host_pid "$1")
	grep -q " $(hmnt "$1") fuse" /proc/mounts &&
		{ fusermount3 -u "$(hmnt "$1")" ||
		  fusermount3 -uz "$(hmnt "$1")"; }
	hu_status=0
	[ -n "$hu_pid" ] && { wait "$hu_pid" || hu_status=$?; }
	eval "HOST_PID_$1="
	return $hu_status
}

host_kill() {
	hk_mnt=$(hmnt "$1")
	hk_dev=$(awk -v m="$hk_mnt" '$5 == m { split($3, d, ":"); print d[2] }' \
		/proc/self/mountinfo)
	kill -9 "$(host_pid "$1")" 2>/dev/null
	abort_fuse "$hk_dev"
	wait "$(host_pid "$1")" 2>/dev/null
	eval "HOST_PID_$1="
	fusermount3 -uz "$hk_mnt" 2>/dev/null
}

hosts_cleanup() {
	for hc_d in "$TEST_DIR"/h*/mnt; do
		[ -d "$hc_d" ] || continue
		hc_n=${hc_d%/mnt}
		hc_n=${hc_n##*/h}
		[ -n "$(host_pid "$hc_n")" ] && host_kill "$hc_n"
		fusermount3 -uz "$hc_d" 2>/dev/null
	done
	return 0
}
# before pg.sh's: the hosts go before their server
CLEANUP_HOOKS="hosts_cleanup $CLEANUP_HOOKS"

# within MS CMD...
within() {
	w_ms=$1
	shift
	w_start=$(date +%s%N)
	w_end=$((w_start + w_ms * 1000000))
	while :; do
		if "$@" >/dev/null 2>&1; then
			WITHIN_MS=$((($(date +%s%N) - w_start) / 1000000))
			return 0
		fi
		[ "$(date +%s%N)" -lt "$w_end" ] || break
		sleep 0.02
	done
	WITHIN_MS=$((($(date +%s%N) - w_start) / 1000000))
	return 1
}

# hosts_errs: whether a daemon's stderr holds a sanitizer's report
hosts_errs() {
	for he_f in "$TEST_DIR"/h*.err; do
		[ -f "$he_f" ] || continue
		if grep -q -e 'Sanitizer' -e 'runtime error' "$he_f"; then
			sed 's/^/# /' "$he_f" | head -40
			return 0
		fi
	done
	return 1
}

# hosts_done N...: the end of a test of hosts
hosts_done() {
	for hd_n in "$@"; do
		host_umount "$hd_n"
		is "$?" 0 "host $hd_n unmounts cleanly"
	done
	hosts_errs && fail "the daemons ran clean under the sanitizers"
}
