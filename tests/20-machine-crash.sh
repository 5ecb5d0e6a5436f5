#!/bin/sh
# SPEC 3 durability across a crash of the machine.  Commits reach the
# page cache only; checkpoints flush them.  A crash of the machine (seen at
# the next mount as a new boot id, here set with the KVFS_BOOT_ID hook of
# the test build, checkpoints a second apart made rare with
# KVFS_CKPT_SECONDS) sets the store back to its last checkpoint: what
# fsync acknowledged is there, the store opens whole, and it takes new
# writes.  The same kill -9 without a reboot loses nothing, and the mount
# after it records what the dead daemon left before it writes anything:
# a reboot after that mount keeps it (README, Durability), even if the
# machine stops while that mount opens the store.
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

D=$MNT/default
export KVFS_CKPT_SECONDS=3600
export KVFS_BOOT_ID=boot-one
with_faultshim		# does nothing until KVFS_FAULT_CALL is set

mount_kvfs
for i in $(seq 1 40); do "$FSOP" put "$D/synced-$i" "synced value $i" >/dev/null; done
is "$("$FSOP" fsync "$D/synced-40")" OK "fsync"
for i in $(seq 1 20); do "$FSOP" put "$D/late-$i" "late value $i" >/dev/null; done
echo "rewritten after the sync" > "$D/synced-1"
rm "$D/synced-2"
kill_kvfs

# the same boot: the page cache kept every commit, and this mount records
# them as its first checkpoint (no fsync here)
mount_kvfs
is "$(cat "$D/late-20")" "late value 20" "kill -9, same boot: commits after the sync are there"
is "$(cat "$D/synced-1")" "rewritten after the sync" "with the rewrite"
errno_is ENOENT "and the delete" stat "$D/synced-2"
for i in $(seq 1 20); do "$FSOP" put "$D/lost-$i" "lost value $i" >/dev/null; done
echo "rewritten, not synced" > "$D/synced-3"
rm "$D/synced-4"
kill_kvfs

# a new boot: back to the last checkpoint, the one the mount took
export KVFS_BOOT_ID=boot-two
mount_kvfs
grep -q "back to the last synced state" "$TEST_DIR/kvfs.err" &&
	pass "the daemon says it went back to the last synced state" ||
	fail "the daemon says it went back to the last synced state"
bad=0
for i in $(seq 5 40); do
	[ "$(cat "$D/synced-$i")" = "synced value $i" ] || bad=$((bad + 1))
done
is "$bad" 0 "every key synced is there, whole"
is "$(cat "$D/late-20")" "late value 20" \
	"what the dead daemon left is kept: the mount after the kill -9 recorded it"
is "$(cat "$D/synced-1")" "rewritten after the sync" "with its rewrite"
errno_is ENOENT "and its delete" stat "$D/synced-2"
errno_is ENOENT "commits after that mount's checkpoint are gone" stat "$D/lost-1"
is "$(cat "$D/synced-3")" "synced value 3" "a rewrite after it too"
is "$(cat "$D/synced-4")" "synced value 4" "and a delete after it"
is "$(ls "$D" | wc -l)" 59 "the listing agrees"
ok "the LMDB environment is whole (mdb_stat)" mdb_stat -a "$STORE"
for i in $(seq 1 300); do "$FSOP" put "$D/new-$i" "new value $i" >/dev/null; done
is "$(cat "$D/new-300")" "new value 300" "new writes after the recovery"
umount_kvfs

# after a clean unmount, a new boot finds nothing to undo
export KVFS_BOOT_ID=boot-three
mount_kvfs
is "$(cat "$D/new-300")" "new value 300" "a clean unmount is kept across a reboot"
is "$(grep -c "back to the last synced state" "$TEST_DIR/kvfs.err")" 1 \
	"and no second recovery"
umount_kvfs

# kill -9, then the next mount dies (a machine that stops) at its first
# write to data.mdb: it had recorded what the dead daemon left first, so
# the reboot keeps it.  The mount has writes to make: chunks of values
# replaced while a reader held them, collected when the store opens.
STORE=$TEST_DIR/store-12
export KVFS_BOOT_ID=boot-four
mount_kvfs
"$FSOP" fill "$D/big" A 300000 >/dev/null
"$FSOP" fsync "$D/big" >/dev/null
sleep 600 < "$D/big" &
holder=$!
"$FSOP" fill "$D/big" B 300000 >/dev/null
for i in $(seq 1 20); do "$FSOP" put "$D/after-$i" "after $i" >/dev/null; done
kill_kvfs
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
export KVFS_FAULT_CALL=write KVFS_FAULT_FILE=data.mdb KVFS_FAULT_DO=kill
export KVFS_FAULT_LOG=$TEST_DIR/faults
mount_kvfs >/dev/null 2>&1
grep -q "data.mdb #1: kill" "$TEST_DIR/faults" &&
	pass "the next mount died at its first write to data.mdb" ||
	fail "the next mount died at its first write to data.mdb"
unset KVFS_FAULT_CALL
export KVFS_BOOT_ID=boot-five
mount_kvfs
is "$(cat "$D/after-20" 2>&1)" "after 20" \
	"after the reboot, what the daemon killed left is there"
is "$("$FSOP" uniform "$D/big" 300000)$(head -c 1 "$D/big")" OKB \
	"with the value replaced after the fsync"
ok "the LMDB environment is whole (mdb_stat)" mdb_stat -a "$STORE"
umount_kvfs

# kill -9 after replacing values a reader held and moving a directory
# back and forth (which frees pages of the last checkpoint and uses up the
# pages that were free before it); the next mount dies at its first flush
# of data.mdb.  The reboot goes back to that checkpoint, which must be
# whole: no commit of that mount may have reused its pages.
STORE=$TEST_DIR/store-10
export KVFS_BOOT_ID=boot-six
# the sequence numbers of kvfs.sync's two slots
seqs() {
	od -A n -j 8 -N 8 -t u8 "$STORE/kvfs.sync"
	od -A n -j 520 -N 8 -t u8 "$STORE/kvfs.sync"
}
mount_kvfs
mkdir "$D/d"
"$FSOP" populate "$D/d" 300 1000 >/dev/null
for i in $(seq 1 10); do "$FSOP" fill "$D/big$i" A 200000 >/dev/null; done
# commits until one takes a checkpoint (one every 64): the rest of the
# test then stays clear of the next
before=$(seqs)
n=0
while [ "$(seqs)" = "$before" ] && [ $n -lt 100 ]; do
	"$FSOP" put "$D/pad-$n" x >/dev/null
	n=$((n + 1))
done
is "$("$FSOP" fsync "$D/big1")" OK "the last checkpoint before the crash"
synced=$(seqs)
sum=$(cat "$D"/d/k* | md5sum)
holders=
for i in $(seq 1 10); do
	sleep 600 < "$D/big$i" &
	holders="$holders $!"
done
for i in $(seq 1 10); do "$FSOP" fill "$D/big$i" B 200000 >/dev/null; done
for i in 1 2 3 4; do mv "$D/d" "$D/e"; mv "$D/e" "$D/d"; done
mv "$D/d" "$D/e"
kill_kvfs
# shellcheck disable=SC2086
kill $holders 2>/dev/null
wait 2>/dev/null
is "$(seqs)" "$synced" "no checkpoint after the fsync (what this test needs)"
: > "$TEST_DIR/faults"
export KVFS_FAULT_CALL=fsync KVFS_FAULT_FILE=data.mdb KVFS_FAULT_DO=kill
mount_kvfs >/dev/null 2>&1
grep -q "data.mdb #1: kill" "$TEST_DIR/faults" &&
	pass "the next mount died at its first flush of data.mdb" ||
	fail "the next mount died at its first flush of data.mdb"
unset KVFS_FAULT_CALL
export KVFS_BOOT_ID=boot-seven
mount_kvfs
ok "after the reboot the LMDB environment is whole (mdb_stat)" \
	mdb_stat -a "$STORE"
is "$(cat "$D"/d/k* 2>&1 | md5sum)" "$sum" \
	"the 300 keys of the checkpoint read back byte for byte"
bad=0
for i in $(seq 1 10); do
	[ "$("$FSOP" uniform "$D/big$i" 200000 2>&1)$(head -c 1 "$D/big$i" 2>&1)" = OKA ] ||
		bad=$((bad + 1))
done
is "$bad" 0 "the 10 values of the checkpoint read back whole"
errno_is ENOENT "the directory moved after it is back" stat "$D/e"
umount_kvfs

done_testing
