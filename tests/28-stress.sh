#!/bin/sh
# Concurrency: 8 processes for 60 s doing random operations on one set of
# keys (tests/stressload.c: writes, appends, reads, deletes, renames,
# stats, listings, metadata, directories), every read checked against
# the record of what was written and when: no wrong byte, no stale
# value, no unexpected error, no hang, no daemon crash.  Then what they
# left survives a clean unmount and remount exactly.
. "$(dirname "$0")/lib.sh"

: "${STRESSLOAD:=$top_builddir/tests/stressload}"
[ -x "$STRESSLOAD" ] || skip_all "stressload not built at $STRESSLOAD"
: "${KVFS_STRESS_SECS:=60}"

D=$MNT/default
# the state of every key: its bytes and metadata
snapshot() {
	(cd "$D" && find . -type f | sort | xargs -r md5sum &&
	 getfattr -R -d -m user.kv.metadata --absolute-names . 2>/dev/null |
	 grep -v '^$')
}

mount_kvfs
out=$("$STRESSLOAD" "$D" "$KVFS_STRESS_SECS" 8 "$$")
status=$?
echo "$out" | sed 's/^/# /'
is "$status $(echo "$out" | tail -1)" "0 OK" \
	"8 processes, ${KVFS_STRESS_SECS} s: every read as written, no error, no hang"
ops=$(echo "$out" | sed -n 's/^\([0-9]*\) operations:.*/\1/p')
[ "${ops:-0}" -gt 10000 ] && pass "$ops operations done" ||
	fail "only ${ops:-0} operations done"
kill -0 "$KVFS_PID" 2>/dev/null && pass "the daemon is up" ||
	fail "the daemon died"
snapshot > "$TEST_DIR/before"
[ "$(wc -l < "$TEST_DIR/before")" -gt 10 ] && pass "keys are left" ||
	fail "keys are left: $(wc -l < "$TEST_DIR/before")"
umount_kvfs
is "$?" 0 "the daemon exits 0 on unmount"
mount_kvfs
snapshot > "$TEST_DIR/after"
cmp -s "$TEST_DIR/before" "$TEST_DIR/after" &&
	pass "every key and its metadata the same after a remount" ||
	fail "the store changed across a remount: $(diff "$TEST_DIR/before" "$TEST_DIR/after" | head -5)"

done_testing
