#!/bin/sh
# SPEC 3 durability across a crash of the machine.  Commits reach the
# page cache only; checkpoints flush them.  A crash of the machine (seen at
# the next mount as a new boot id, here set with the KVFS_BOOT_ID test
# hook, checkpoints a second apart made rare with KVFS_CKPT_SECONDS) sets
# the store back to its last checkpoint: what fsync acknowledged is there,
# the store opens whole, and it takes new writes.  The same kill -9 without
# a reboot loses nothing.
. "$(dirname "$0")/lib.sh"

D=$MNT/default
export KVFS_CKPT_SECONDS=3600
export KVFS_BOOT_ID=boot-one

mount_kvfs
for i in $(seq 1 40); do "$FSOP" put "$D/synced-$i" "synced value $i" >/dev/null; done
is "$("$FSOP" fsync "$D/synced-40")" OK "fsync"
for i in $(seq 1 20); do "$FSOP" put "$D/late-$i" "late value $i" >/dev/null; done
echo "rewritten after the sync" > "$D/synced-1"
rm "$D/synced-2"
kill_kvfs

# the same boot: the page cache kept every commit
mount_kvfs
is "$(cat "$D/late-20")" "late value 20" "kill -9, same boot: commits after the sync are there"
is "$(cat "$D/synced-1")" "rewritten after the sync" "with the rewrite"
errno_is ENOENT "and the delete" stat "$D/synced-2"
is "$("$FSOP" fsync "$D/late-20")" OK "fsync again"
for i in $(seq 1 20); do "$FSOP" put "$D/lost-$i" "lost value $i" >/dev/null; done
echo "rewritten, not synced" > "$D/synced-3"
rm "$D/synced-4"
kill_kvfs

# a new boot: back to the last checkpoint
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
is "$(cat "$D/late-20")" "late value 20" "what the second fsync covered too"
is "$(cat "$D/synced-1")" "rewritten after the sync" "with its rewrite"
errno_is ENOENT "and its delete" stat "$D/synced-2"
errno_is ENOENT "commits after the last sync are gone" stat "$D/lost-1"
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

done_testing
