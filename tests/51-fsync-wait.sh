#!/bin/sh
# An fsync waits for the disk in the syncer (src/fs/syncer.c), not in a
# request thread: with the checkpoint held (KVFS_HOOK_SYNC, test build
# only), 30 fsyncs wait, three times the daemon's 10 threads, and the
# mount still answers a read, a stat, a listing and a write; once the
# disk has flushed, every fsync returns 0 and every value is there.
# Without the syncer the 10 threads would all wait for the checkpoint
# and the read would not be answered.
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

ARM=$TEST_DIR/arm
export KVFS_HOOK_SYNC=checkpoint KVFS_HOOK_SYNC_ARM="$ARM"

mount_kvfs
D=$MNT/default
printf hello > "$D/r"
for i in $(seq 1 30); do
	printf "v$i" > "$D/w$i"
done

touch "$ARM"
pids=
for i in $(seq 1 30); do
	"$FSOP" fsync "$D/w$i" > "$TEST_DIR/fsync.$i" 2>&1 &
	pids="$pids $!"
done
ok "the checkpoint is held" wait_for "$ARM.held"
sleep 1
done=0
for i in $(seq 1 30); do
	[ -s "$TEST_DIR/fsync.$i" ] && done=$((done + 1))
done
is "$done" 0 "30 fsyncs wait while the disk flushes"

is "$(timeout 10 cat "$D/r")" hello "a read is answered while they wait"
is "$(timeout 10 stat -c %s "$D/w30")" 3 "so is a stat"
is "$(timeout 10 ls "$D" | wc -l)" 31 "and a listing"
is "$(timeout 10 "$FSOP" put "$D/new" fresh)" OK "and a write"
is "$(cat "$D/new")" fresh "which holds its value"
done=0
for i in $(seq 1 30); do
	[ -s "$TEST_DIR/fsync.$i" ] && done=$((done + 1))
done
is "$done" 0 "the 30 fsyncs still wait meanwhile"

rm -f "$ARM.held"
# shellcheck disable=SC2086
wait $pids
bad=
for i in $(seq 1 30); do
	[ "$(cat "$TEST_DIR/fsync.$i")" = OK ] || bad="$bad w$i"
done
is "${bad:-none}" none "once the disk has flushed, every fsync returns 0"
bad=
for i in $(seq 1 30); do
	[ "$(cat "$D/w$i")" = "v$i" ] || bad="$bad w$i"
done
is "${bad:-none}" none "and every value is there"

done_testing
