# lib.sh - shared by the shell tests: a fresh store and a real mount per
# script, TAP output, and assertions on exact bytes and errno names.
#
#   . "$(dirname "$0")/lib.sh"
#   mount_kvfs [-o opts]        mount a fresh store at $MNT ($STORE on disk)
#   is GOT WANT DESC            pass if GOT equals WANT
#   errno_is WANT DESC OP ARGS  run "fsop OP ARGS" and compare its errno name
#   said CMD...                 what CMD printed and its exit status
#   kv ARGS...                  run kvctl
#   done_testing                print the plan; exit non-zero on a failure
#   TODO=REASON                 the next assertions are known gaps
#
# A script that cannot run here (no /dev/fuse, not root for mount -t)
# prints "1..0 # SKIP why" and exits 0.

set -u

top_builddir=$(cd "$(dirname "$0")/.." && pwd)
: "${KVFS_BIN:=$top_builddir/kvfs}"
: "${FSOP:=$top_builddir/tests/fsop}"
: "${KVCTL:=$top_builddir/kvctl}"

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kvfs-test.XXXXXX")
STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt
KVFS_PID=
mkdir -p "$MNT"

tap_n=0
tap_failed=0

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ -c /dev/fuse ] || skip_all "no /dev/fuse"
command -v fusermount3 >/dev/null || skip_all "no fusermount3"
[ -x "$KVFS_BIN" ] || skip_all "kvfs not built at $KVFS_BIN"
[ -x "$FSOP" ] || skip_all "fsop not built at $FSOP"

# TODO=REASON: the assertions that follow check a rule kvfs is known
# not to keep yet (TAP's TODO: a failure is expected, a pass is reported
# as unexpected, so the mark must go when the gap is fixed).
TODO=

pass() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*${TODO:+ # TODO $TODO}"
}

fail() {
	tap_n=$((tap_n + 1))
	[ -n "$TODO" ] || tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*${TODO:+ # TODO $TODO}"
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		printf '#   got:  %.200s\n#   want: %.200s\n' "$1" "$2"
	fi
}

# ok DESC CMD...: the command succeeds
ok() {
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass "$desc"
	else
		fail "$desc (exit $?: $*)"
	fi
}

# said CMD...: what it printed (stdout and stderr) and its exit status
said() {
	out=$("$@" 2>&1)
	echo "$out $?"
}

# kv ARGS...: kvctl
kv() {
	"$KVCTL" "$@"
}

# wait_for FILE: until it exists (10 s at most); fails if it never does
wait_for() {
	wf_i=0
	while [ ! -e "$1" ] && [ $wf_i -lt 100 ]; do
		sleep 0.1
		wf_i=$((wf_i + 1))
	done
	[ -e "$1" ]
}

# errno_is WANT DESC OP ARGS...
errno_is() {
	want=$1
	desc=$2
	shift 2
	is "$("$FSOP" "$@" 2>&1)" "$want" "$desc"
}

done_testing() {
	# the daemon's stderr: a sanitizer report there fails the script
	umount_kvfs >/dev/null 2>&1
	if grep -q -e 'Sanitizer' -e 'runtime error' "$TEST_DIR/kvfs.err" \
	   2>/dev/null; then
		fail "the daemon ran clean under the sanitizers"
		sed 's/^/# /' "$TEST_DIR/kvfs.err" | head -40
	fi
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}

is_mounted() {
	grep -q " $MNT fuse" /proc/mounts
}

# mount_kvfs [kvfs options...]: mount $STORE at $MNT in the foreground
# (the daemon's pid in $KVFS_PID) and wait until the mount answers, at
# most KVFS_MOUNT_WAIT twentieths of a second.
mount_kvfs() {
	"$KVFS_BIN" -f "$@" "$STORE" "$MNT" 2>>"$TEST_DIR/kvfs.err" &
	KVFS_PID=$!
	for _ in $(seq 1 "${KVFS_MOUNT_WAIT:-100}"); do
		if is_mounted; then
			return 0
		fi
		if ! kill -0 "$KVFS_PID" 2>/dev/null; then
			echo "# kvfs exited: $(cat "$TEST_DIR/kvfs.err")"
			KVFS_PID=
			return 1
		fi
		sleep 0.05
	done
	echo "# kvfs did not mount"
	return 1
}

# umount_kvfs: unmount and wait for the daemon to exit; its status is
# returned.
umount_kvfs() {
	status=0
	if is_mounted; then
		fusermount3 -u "$MNT" || fusermount3 -uz "$MNT"
	fi
	if [ -n "$KVFS_PID" ]; then
		wait "$KVFS_PID" || status=$?
		KVFS_PID=
	fi
	return $status
}

# abort_fuse DEV: abort the FUSE connection of device DEV (fusectl), as an
# administrator does when its daemon is gone: a daemon thread killed while
# the kernel had it wait for a directory lock, held by a request that now
# gets no answer, would otherwise never let the process end.
abort_fuse() {
	[ -n "$1" ] && [ "$(id -u)" = 0 ] || return 0
	[ -d /sys/fs/fuse/connections ] || return 0
	[ -e "/sys/fs/fuse/connections/$1" ] ||
		mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
	[ -e "/sys/fs/fuse/connections/$1/abort" ] &&
		echo 1 > "/sys/fs/fuse/connections/$1/abort"
	return 0
}

# kill_kvfs: SIGKILL the daemon and clear the dead mount (its connection
# number from mountinfo: a stat of a hung mount would hang too).
kill_kvfs() {
	dev=$(awk -v m="$MNT" '$5 == m { split($3, d, ":"); print d[2] }' \
		/proc/self/mountinfo)
	kill -9 "$KVFS_PID" 2>/dev/null
	abort_fuse "$dev"
	wait "$KVFS_PID" 2>/dev/null
	KVFS_PID=
	fusermount3 -uz "$MNT" 2>/dev/null
	for _ in $(seq 1 100); do
		is_mounted || return 0
		sleep 0.05
	done
}

# remount [opts]: unmount cleanly and mount the same store again.
remount() {
	umount_kvfs && mount_kvfs "$@"
}

# daemon_rss_peak [PID]: the daemon's peak resident set, in KiB.
daemon_rss_peak() {
	awk '/^VmHWM:/ { print $2 }' "/proc/${1:-$KVFS_PID}/status"
}

# rss_peak_ok PID DESC: the peak resident set of PID is under 64 MiB
# (skipped under the sanitizers, whose shadow memory counts too)
rss_peak_ok() {
	peak=$(daemon_rss_peak "$1")
	if [ "${KVFS_SANITIZERS:-no}" = yes ]; then
		pass "$2: peak RSS ${peak} KiB # SKIP sanitizer shadow memory counts too"
	elif [ "$peak" -lt 65536 ]; then
		pass "$2: peak RSS ${peak} KiB < 64 MiB"
	else
		fail "$2: peak RSS ${peak} KiB >= 64 MiB"
	fi
}

# start_load: two CPU-bound loops beside the test, as a busy machine
# would run them (races hide on an idle one); stop_load, or the cleanup at
# exit, stops them.
LOAD=
start_load() {
	for _ in 1 2; do
		sh -c 'while :; do :; done' &
		LOAD="$LOAD $!"
	done
}
stop_load() {
	for pid in $LOAD; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LOAD=
}

# CLEANUP_HOOKS: more commands the cleanup runs first (pg.sh's)
CLEANUP_HOOKS=
cleanup() {
	for hook in $CLEANUP_HOOKS; do
		"$hook"
	done
	stop_load
	if [ -n "$KVFS_PID" ]; then
		kill "$KVFS_PID" 2>/dev/null
		wait "$KVFS_PID" 2>/dev/null
	fi
	fusermount3 -uz "$MNT" 2>/dev/null
	rm -rf "$TEST_DIR"
}
trap cleanup EXIT

# with_faultshim: mount_kvfs runs the daemon ($KVFS_BIN) with the
# fault-injection shim (tests/faultshim.c, configured by KVFS_FAULT_* in
# the environment) loaded, after the sanitizers' runtime if the daemon
# loads one.
with_faultshim() {
	: "${FAULTSHIM:=$top_builddir/tests/faultshim.so}"
	[ -r "$FAULTSHIM" ] || skip_all "no fault shim at $FAULTSHIM"
	preload=$(ldd "$KVFS_BIN" 2>/dev/null |
		awk '/lib(asan|ubsan)/ { printf "%s ", $3 }')
	cat > "$TEST_DIR/kvfs-faulty" <<WRAP
#!/bin/sh
LD_PRELOAD="$preload$FAULTSHIM" exec "$KVFS_BIN" "\$@"
WRAP
	chmod +x "$TEST_DIR/kvfs-faulty"
	KVFS_BIN=$TEST_DIR/kvfs-faulty
}
