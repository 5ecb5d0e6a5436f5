#!/bin/sh
# SPEC 1: invocation, options, locking, signals.
. "$(dirname "$0")/lib.sh"

out=$("$KVFS_BIN" --help 2>&1)
is "$?" 0 "--help exits 0"
case $out in *max_value_size*default_namespace*) pass "--help lists the options" ;;
	*) fail "--help lists the options" ;; esac
case $out in *"max_threads=N "*"(default 10)"*"max_idle_threads=N "*"(default 10)"*)
	pass "--help gives kvfs' thread defaults" ;;
	*) fail "--help gives kvfs' thread defaults" ;; esac
case $out in *"default: 10"*|*"default: -1"*)
	fail "--help prints no libfuse thread default that kvfs overrides" ;;
	*) pass "--help prints no libfuse thread default that kvfs overrides" ;;
esac
case $out in *"K, M, G and T suffixes"*) pass "--help names the T suffix" ;;
	*) fail "--help names the T suffix" ;; esac
is "$("$KVFS_BIN" --version | head -1)" "kvfs 0.1.0" "--version"

# every bad value: status 1, one line, nothing created or mounted
for opt in max_key_size=abc max_key_size=0 max_key_size=5000 \
	max_value_size=10X max_value_size=-1 max_value_size=1.5M \
	max_value_size= max_metadata_size=100K max_metadata_size=1 \
	min_expiration_ttl=1m min_expiration_ttl=-5 max_namespaces=0 \
	max_namespaces=1k max_storage=1Q max_storage=99999999999999999999 \
	write_rate_limit=maybe default_namespace=ab 'default_namespace=a b' \
	node_cache=99 node_cache=100000001 node_cache=1e5 max_value_size=2T \
	max_storage=16777216T nosuchopt max_threads=abc remote_timeout=0 \
	remote_timeout=5 tombstones=0 tombstones=315360001 tombstones=60 \
	remote_push; do
	err=$("$KVFS_BIN" -o "$opt" "$STORE" "$MNT" 2>&1)
	st=$?
	lines=$(printf '%s\n' "$err" | wc -l)
	if [ "$st" -eq 1 ] && [ "$lines" -eq 1 ] && ! is_mounted &&
	   [ ! -e "$STORE" ]; then
		pass "bad option '$opt' refused: $err"
	else
		fail "bad option '$opt' refused (status $st, $lines lines: $err)"
	fi
done
case $("$KVFS_BIN" -o max_value_size=10X "$STORE" "$MNT" 2>&1) in
	"kvfs: invalid value '10X' for option 'max_value_size': "*) pass "message names value and option" ;;
	*) fail "message names value and option" ;; esac

"$KVFS_BIN" "$STORE" 2>/dev/null
is "$?" 1 "missing mountpoint: status 1"

# the same for a bad FUSE option in the foreground, an extra argument, and
# a MOUNTPOINT that is not a directory: status 1, one line, nothing made
touch "$TEST_DIR/afile"
refused() {
	desc=$1
	shift
	err=$(timeout 20 "$KVFS_BIN" "$@" 2>&1)
	st=$?
	lines=$(printf '%s\n' "$err" | wc -l)
	if [ "$st" -eq 1 ] && [ "$lines" -eq 1 ] && [ ! -e "$STORE" ] &&
	   ! grep -q -e " $MNT " -e " $TEST_DIR/afile " /proc/mounts; then
		pass "$desc refused: $err"
	else
		fail "$desc refused (status $st, $lines lines: $err)"
	fi
}
refused "an unknown FUSE option, -f" -f -o nosuchopt "$STORE" "$MNT"
refused "an extra argument" "$STORE" "$MNT" extra
refused "a file as MOUNTPOINT" "$STORE" "$TEST_DIR/afile"
refused "a file as MOUNTPOINT, -f" -f "$STORE" "$TEST_DIR/afile"
refused "a missing MOUNTPOINT" "$STORE" "$TEST_DIR/missing"
is "$("$KVFS_BIN" "$STORE" "$TEST_DIR/afile" 2>&1)" \
	"kvfs: mountpoint '$TEST_DIR/afile' is not a directory" \
	"a file as MOUNTPOINT: the message says so"
is "$("$KVFS_BIN" "$STORE" "$TEST_DIR/missing" 2>&1)" \
	"kvfs: cannot use mountpoint '$TEST_DIR/missing': No such file or directory" \
	"a missing MOUNTPOINT: the message says so"

# sizes take K, M, G, T
mount_kvfs -o max_value_size=1K,max_key_size=1k
errno_is OK "1K value fits" fill "$MNT/default/k" x 1024
errno_is EFBIG "1K+1 does not" fill "$MNT/default/k2" x 1025
umount_kvfs
mount_kvfs -o max_value_size=1T,max_storage=3t
is "$(stat -f -c '%b %S' "$MNT" | { read -r b s; echo $((b * s)); })" \
	$((3 << 40)) "max_storage=3t: statfs gives 3 TiB"
errno_is OK "max_value_size=1T: a value fits" put "$MNT/default/t1" x
umount_kvfs

is "$(stat -c %a "$STORE")" 700 "store directory created 0700"

# the store is locked
mount_kvfs
mkdir -p "$TEST_DIR/mnt2"
err=$("$KVFS_BIN" "$STORE" "$TEST_DIR/mnt2" 2>&1)
is "$?" 1 "second kvfs on the same store: status 1"
is "$err" "kvfs: store '$STORE' is in use by another kvfs" "clear message"
grep -q " $TEST_DIR/mnt2 " /proc/mounts && fail "second mount absent" ||
	pass "second mount absent"

# clean unmount on SIGTERM and SIGINT, data kept
errno_is OK "write before SIGTERM" put "$MNT/default/t" term
kill -TERM "$KVFS_PID"
wait "$KVFS_PID"
is "$?" 0 "SIGTERM: daemon exits 0"
KVFS_PID=
is_mounted && fail "SIGTERM unmounts" || pass "SIGTERM unmounts"
mount_kvfs
is "$(cat "$MNT/default/t")" term "data kept across SIGTERM"
kill -INT "$KVFS_PID"
wait "$KVFS_PID"
is "$?" 0 "SIGINT: daemon exits 0"
KVFS_PID=
is_mounted && fail "SIGINT unmounts" || pass "SIGINT unmounts"

# FUSE options pass through: ro, allow_other, default_permissions
mount_kvfs -o ro,allow_other,default_permissions
is "$(cat "$MNT/default/t")" term "ro: reads work"
errno_is EROFS "ro: writes are EROFS" put "$MNT/default/t" x
errno_is EROFS "ro: mkdir is EROFS" mkdir "$MNT/default/d"
umount_kvfs

# background mode: the command returns once mounted
"$KVFS_BIN" "$STORE" "$MNT"
is "$?" 0 "background start exits 0"
is_mounted && pass "mounted in the background" || fail "mounted in the background"
is "$(cat "$MNT/default/t")" term "background daemon serves"
fusermount3 -u "$MNT"
for _ in $(seq 1 50); do [ -e "$STORE/kvfs.lock" ] && flock -n "$STORE/kvfs.lock" true && break; sleep 0.1; done
mount_kvfs
is "$(cat "$MNT/default/t")" term "store free again after unmount"
umount_kvfs

# A stop does not hang on a notification.  A notification that drops a
# dentry waits for its directory's lock (fs/tell.h); a request holding that
# lock when SIGTERM stops the loop is never read, so the thread sending
# the notification would wait for ever, and the daemon with it.  lmdbhold
# keeps the notifying request waiting for LMDB until the stop has begun
# and a stat in the directory, which the stopped loop will not answer,
# holds its lock; then lets it go on.
: "${LMDBHOLD:=$top_builddir/tests/lmdbhold}"
hold_lmdb() {
	rm -f "$TEST_DIR/hold"
	mkfifo "$TEST_DIR/hold"
	"$LMDBHOLD" "$STORE" <"$TEST_DIR/hold" >"$TEST_DIR/hold.out" &
	hold_pid=$!
	exec 7>"$TEST_DIR/hold"
	for _ in $(seq 1 100); do
		grep -q held "$TEST_DIR/hold.out" && return 0
		sleep 0.05
	done
	echo "# lmdbhold: $(cat "$TEST_DIR/hold.out")"
}
release_lmdb() {
	exec 7>&-
	wait "$hold_pid"
}
# stop_blocked DESC CMD...: the request is waiting for LMDB; stop the
# daemon with CMD
stop_blocked() {
	desc=$1
	shift
	"$@"
	sleep 0.5	# the loop's idle threads end
	stat "$MNT/default/d/new" >/dev/null 2>&1 7>&- &
	stat_pid=$!
	sleep 0.5
	release_lmdb
	for _ in $(seq 1 100); do
		kill -0 "$KVFS_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KVFS_PID" 2>/dev/null; then
		fail "$desc: the daemon exits within 10 s"
		kill_kvfs
	else
		pass "$desc: the daemon exits within 10 s"
		wait "$KVFS_PID"
		is "$?" 0 "$desc: status 0"
		KVFS_PID=
	fi
	wait "$stat_pid"
	is_mounted && fail "$desc: unmounted" || pass "$desc: unmounted"
}

# kvfs aborts through fusectl (the mount's owner may), or as root by a
# forced unmount
if [ "$(id -u)" = 0 ] ||
   awk '$3 == "fusectl" { f = 1 } END { exit !f }' /proc/mounts; then
	# a flush, in a request thread, drops the key's dentry.  The
	# writer's handle never gets its RELEASE once the connection is
	# aborted: kvfs frees it at exit (LeakSanitizer checks, in CI)
	mount_kvfs
	mkdir "$MNT/default/d"
	errno_is OK "acknowledged before the stop" put "$MNT/default/d/kept" acked
	errno_is OK "a key to flush" put "$MNT/default/d/k" old
	"$FSOP" put "$MNT/default/d/k" new 1 >/dev/null &
	writer=$!
	sleep 0.3
	hold_lmdb
	sleep 1.2	# the flush waits for LMDB
	stop_blocked "SIGTERM, a flush's notification blocked" \
		kill -TERM "$KVFS_PID"
	wait "$writer"
	mount_kvfs
	is "$(cat "$MNT/default/d/kept")" acked "the acknowledged value is kept"
	case $(cat "$MNT/default/d/k") in
		old|new) pass "the flush in flight is whole" ;;
		*) fail "the flush in flight is whole" ;; esac

	# the sweeper (a worker thread) drops an expired key's dentry
	umount_kvfs
	mount_kvfs -o min_expiration_ttl=1
	errno_is OK "a key to expire" put "$MNT/default/d/e" soon
	errno_is OK "it expires in 2 s" setxattr "$MNT/default/d/e" \
		user.kv.expiration_ttl 2
	sleep 0.2
	stat "$MNT/default/d/e" >/dev/null	# the daemon knows its name
	hold_lmdb
	sleep 2.5	# the sweep of its expiry waits for LMDB
	stop_blocked "SIGTERM, the sweeper's notification blocked" \
		kill -TERM "$KVFS_PID"
	mount_kvfs -o min_expiration_ttl=1
	is "$(cat "$MNT/default/d/kept")" acked "the acknowledged value is kept"
	errno_is ENOENT "the expired key is gone" stat "$MNT/default/d/e"

	# fusermount3 -u, the sweeper's notification on its way
	errno_is OK "another key to expire" put "$MNT/default/d/e2" soon
	errno_is OK "it expires in 2 s" setxattr "$MNT/default/d/e2" \
		user.kv.expiration_ttl 2
	sleep 0.2
	stat "$MNT/default/d/e2" >/dev/null
	hold_lmdb
	sleep 2.5
	stop_blocked "fusermount3 -u, the sweeper's notification on its way" \
		fusermount3 -u "$MNT"
	mount_kvfs
	is "$(cat "$MNT/default/d/kept")" acked "the acknowledged value is kept"
	errno_is ENOENT "the expired key is gone" stat "$MNT/default/d/e2"
	umount_kvfs
fi

# A mountpoint left by a kvfs that died (kill -9): every access gives
# ENOTCONN.  kvfs clears its own dead mount (fuse.kvfs, the same STORE)
# and mounts; on any other it says what to run.
mount_kvfs
errno_is OK "a value before the crash" put "$MNT/default/crash" kept
kill -9 "$KVFS_PID"
wait "$KVFS_PID" 2>/dev/null
KVFS_PID=
errno_is ENOTCONN "kill -9 leaves a dead mount" stat "$MNT"
err=$("$KVFS_BIN" "$TEST_DIR/other" "$MNT" 2>&1)
is "$?" 1 "another store on that dead mount: status 1"
is "$err" "kvfs: mountpoint '$MNT' is a dead FUSE mount (Transport endpoint is not connected): run 'fusermount3 -u $MNT'" \
	"another store on that dead mount: the message says what to run"
[ -e "$TEST_DIR/other" ] && fail "another store: nothing created" ||
	pass "another store: nothing created"
err=$("$KVFS_BIN" "$STORE" "$MNT" 2>&1)
is "$?" 0 "the same store: kvfs clears its dead mount and mounts"
is "$err" "kvfs: unmounted '$MNT', left by a kvfs of '$STORE' that died" \
	"the same store: it says so"
is "$(cat "$MNT/default/crash")" kept "the same store: the value is there"
is "$(grep -c " $MNT " /proc/mounts)" 1 "one mount there"
fusermount3 -u "$MNT"
for _ in $(seq 1 50); do flock -n "$STORE/kvfs.lock" true && break; sleep 0.1; done
mount_kvfs
kill -9 "$KVFS_PID"
wait "$KVFS_PID" 2>/dev/null
KVFS_PID=
errno_is ENOTCONN "kill -9 again" stat "$MNT"
fusermount3 -u "$MNT"
is "$?" 0 "fusermount3 -u MOUNTPOINT clears it, as the message says"
errno_is OK "a directory again" stat "$MNT"
mount_kvfs
is "$(cat "$MNT/default/crash")" kept "mounted again: the value is there"

done_testing
