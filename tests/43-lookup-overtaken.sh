#!/bin/sh
# A lookup overtaken by a commit (issue 19, item 8: stat stuck at an old
# size): a lookup has read the key's attributes, and before the kernel has
# its reply a writer's close commits a new value at the name.  The kernel
# must not keep the size the lookup read: a stat after the close gives the
# committed value's size, now and 2 s later, and cat reads that value.
# The test build (tests/kvfs-hooks) holds the stat's request between its
# answer and its reply (KVFS_HOOK_LOOKUP and KVFS_HOOK_GETATTR, armed by
# one file: the first of them takes it) until the writer has closed, so
# that the close falls into that window every time.  Which request it is
# depends on the commit: one that supersedes the node drops the key's
# entry, and the stat looks the name up; the close's reply waits for the
# kernel to drop it (fs/tell.c), which it does only once the lookup in
# flight is done (it holds the directory's lock), so the entry the lookup
# made goes too.  One that rebinds the node in place (no reader holds it)
# keeps the entry and drops the inode's attributes, and the stat asks for
# them (GETATTR); the kernel keeps none from a reply to a request sent
# before that drop (its attr_version).
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

D=$MNT/default
ARM=$TEST_DIR/arm
export KVFS_HOOK_LOOKUP=k KVFS_HOOK_LOOKUP_ARM="$ARM"
export KVFS_HOOK_GETATTR=k KVFS_HOOK_GETATTR_ARM="$ARM"

# overtake FIRST LAST: a writer commits FIRST by fsync (which drops the
# kernel's entry of k, or its attributes), then writes LAST; a stat asks
# for k again, held in the daemon (the hook takes ARM as ARM.held);
# meanwhile, 1 s after its fsync, the writer's close commits LAST; then
# the stat goes on.
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
	ok "${#2} bytes: the daemon holds the stat's request" \
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
