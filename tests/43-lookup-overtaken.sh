#!/bin/sh
# A lookup overtaken by a commit (issue 19, item 8: stat stuck at an old
# size): a lookup has read the key's attributes, and before the kernel has
# its reply a writer's close commits a new value at the name.  The kernel
# must not keep the size the lookup read: a stat after the close gives the
# committed value's size, now and 2 s later, and cat reads that value.
# The test build (tests/kvfs-hooks) holds the lookup between its answer
# and its reply (KVFS_HOOK_LOOKUP, armed by a file) until the writer has
# closed, so that the close falls into that window every time.  What keeps it right: the
# close's reply waits for the kernel to drop the key's entry (fs/tell.c),
# and the kernel drops it only once the lookup in flight is done (it holds
# the directory's lock), so the entry the lookup made goes too.
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

D=$MNT/default
ARM=$TEST_DIR/arm
export KVFS_HOOK_LOOKUP=k KVFS_HOOK_LOOKUP_ARM="$ARM"

# overtake FIRST LAST: a writer commits FIRST by fsync (which drops the
# kernel's entry of k), then writes LAST; a stat looks k up again, held
# in the daemon (the hook takes ARM as ARM.held); meanwhile, 1 s after
# its fsync, the writer's close commits LAST; then the stat goes on.
overtake() {
	rm -f "$ARM" "$ARM.held" "$TEST_DIR/ready"
	printf old > "$D/k"
	"$FSOP" resave "$D/k" "$1" "$2" 1 "$TEST_DIR/ready" \
		> "$TEST_DIR/resave" &
	writer=$!
	wait_for "$TEST_DIR/ready"
	touch "$ARM"
	stat -c %s "$D/k" > "$TEST_DIR/first" &
	stat=$!
	ok "${#2} bytes: the daemon holds the stat's lookup" \
		wait_for "$ARM.held"
	wait "$writer"
	rm -f "$ARM.held"
	wait "$stat"
}

mount_kvfs
for last in 'the value written last' 'last'; do
	first='first value'
	overtake "$first" "$last"
	n=${#last}
	is "$(cat "$TEST_DIR/resave")" OK "$n bytes: the writer's calls succeed"
	is "$(cat "$TEST_DIR/first")" ${#first} \
		"$n bytes: the stat that began before the close gives the old size"
	is "$(stat -c %s "$D/k")" $n \
		"$n bytes: a stat after the close gives the new value's size"
	is "$(cat "$D/k")" "$last" "$n bytes: cat reads that value"
	sleep 2
	is "$(stat -c %s "$D/k")" $n "$n bytes: so does a stat 2 s later"
done
done_testing
