#!/bin/sh
# Concurrency, beside two CPU-bound loops: 8 processes for
# KVFS_STRESS_SECS (60) seconds doing random operations on one set of keys
# (tests/stressload.c: writes, some as dd and a shell's > make them, by
# dup and close of the original, appends, reads by read(2) and by mmap,
# deletes, renames, stats, listings, metadata, directories), every read
# checked against the record of what was written and when: no wrong byte,
# no stale or empty value, fstat and the reads of one descriptor the same
# value, no SIGBUS, no unexpected error, no hang, no daemon crash.  Beside
# them (tests/stresstree.c) directories are renamed back and forth while
# files and directories are made, looked up, listed and deleted in them
# through descriptors opened before the renames and through paths, with
# the kernel's dentries dropped now and then: every entry where the model
# says, and nowhere else.  Then what they left survives a clean unmount
# and remount exactly.
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
start_load
out=$("$STRESSLOAD" "$D" "$KVFS_STRESS_SECS" 8 "$$" "$TEST_DIR/model")
status=$?
stop_load
echo "$out" | sed 's/^/# /'
is "$status $(echo "$out" | tail -1)" "0 OK" \
	"8 processes and directory renames, ${KVFS_STRESS_SECS} s, under load: every read as written, every entry in place, no error, no hang"
ops=$(echo "$out" | sed -n 's/^\([0-9]*\) operations:.*/\1/p')
[ "${ops:-0}" -gt 10000 ] && pass "$ops operations done" ||
	fail "only ${ops:-0} operations done"
renames=$(echo "$out" | sed -n 's/^ \([0-9]*\) directory renames.*/\1/p')
[ "${renames:-0}" -gt 100 ] && pass "$renames directory renames done" ||
	fail "only ${renames:-0} directory renames done"
kill -0 "$KVFS_PID" 2>/dev/null && pass "the daemon is up" ||
	fail "the daemon died"
snapshot > "$TEST_DIR/before"
[ "$(wc -l < "$TEST_DIR/before")" -gt 10 ] && pass "keys are left" ||
	fail "keys are left: $(wc -l < "$TEST_DIR/before")"
umount_kvfs
is "$?" 0 "the daemon exits 0 on unmount"
mount_kvfs
snapshot > "$TEST_DIR/after"
if cmp -s "$TEST_DIR/before" "$TEST_DIR/after"; then
	pass "every key and its metadata the same after a remount"
else
	fail "the store changed across a remount"
	diff "$TEST_DIR/before" "$TEST_DIR/after" | head -5 | sed 's/^/# /'
	ls "$MNT" 2>&1 | head -5 | sed 's/^/# ls: /'
	tail -5 "$TEST_DIR/kvfs.err" | sed 's/^/# kvfs: /'
fi
if [ -s "$TEST_DIR/model" ]; then
	out=$("$STRESSLOAD" check "$D" "$TEST_DIR/model")
	echo "$out" | sed 's/^/# /'
	is "$(echo "$out" | tail -1)" OK \
		"after the remount every entry of the renamed directories where the model says, and nowhere else"
else
	fail "the directories' model was written (a worker hung?)"
fi

done_testing
