#!/bin/sh
# The collection of stale chunks against a stage's switch: the collector
# lists the queue of stale generations (gc) in a snapshot, then deletes
# each that no reader pins.  A large value being written is in that queue
# until its close makes it the key's value (store/stage.c), and its pin
# goes with the stage: a collector that listed it before the switch and
# deletes it after must find it no longer queued, or the key's value
# loses its chunks.  The test build (tests/kvfs-hooks) holds the
# collector between its listing and its deletes (KVFS_HOOK_COLLECT)
# while the writer closes.
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

D=$MNT/default
ARM=$TEST_DIR/arm
export KVFS_HOOK_COLLECT=gc KVFS_HOOK_COLLECT_ARM="$ARM"

mount_kvfs
head -c 6000000 /dev/urandom > "$TEST_DIR/big"
head -c 9000 /dev/urandom > "$TEST_DIR/c1"
head -c 9000 /dev/urandom > "$TEST_DIR/c2"
cp "$TEST_DIR/c1" "$D/c"

# a writer of 6 MB keeps big open: past 4 MiB its stage has written
# chunks, under a generation queued in gc
mkfifo "$TEST_DIR/fifo"
{ cat "$TEST_DIR/big"; : > "$TEST_DIR/written"
  while [ ! -e "$TEST_DIR/end" ]; do sleep 0.1; done
} > "$TEST_DIR/fifo" &
feeder=$!
dd if="$TEST_DIR/fifo" of="$D/big" bs=128k 2>/dev/null &
writer=$!
wait_for "$TEST_DIR/written"
sleep 0.5

# replacing c queues its old chunks: the collection that follows lists
# big's stage too, and is held
touch "$ARM"
cp "$TEST_DIR/c2" "$D/c" &
churn=$!
ok "the collector is held after listing the queue" wait_for "$ARM.held"

# big's close switches to its stage, whose pin goes; then the collector
# goes on
: > "$TEST_DIR/end"
wait $feeder
wait $writer
is "$?" 0 "the writer's close succeeds"
rm -f "$ARM.held"
wait $churn
is "$?" 0 "the write that queued chunks succeeds"

ok "big reads back whole" cmp "$D/big" "$TEST_DIR/big"
ok "c reads back whole" cmp "$D/c" "$TEST_DIR/c2"
remount
ok "big reads back whole after a remount" cmp "$D/big" "$TEST_DIR/big"
ok "c too" cmp "$D/c" "$TEST_DIR/c2"
done_testing
