#!/bin/sh
# A failing disk and a damaged store, with the fault-injection shim
# (tests/faultshim.c, LD_PRELOAD) and the test build's hooks:
#   - a checkpoint that fails while the map grows keeps the last one
#     pinned, and the write that needed the room fails with EIO, not ENOSPC;
#   - a failed flush is sticky: every later fsync fails with EIO until the
#     store is mounted again, and the unmount is not marked clean;
#   - a write to data.mdb failing with ENOSPC keeps the old value;
#   - an unreadable boot id counts as a reboot; a missing kvfs.sync is
#     said, a damaged one refused; meta pages that cannot be read are
#     rewritten from the checkpoint; the boot id hook does nothing in the
#     daemon that is installed; an LMDB other than 0.9 is refused.
PROD_BIN=${KVFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/kvfs}
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

D=$MNT/default
ARM=$TEST_DIR/arm
export KVFS_CKPT_SECONDS=3600 KVFS_FAULT_ARM="$ARM"
export KVFS_FAULT_LOG=$TEST_DIR/faults
with_faultshim

# 11: map growth with every flush of data.mdb failing
STORE=$TEST_DIR/store-11
export KVFS_BOOT_ID=b11-one KVFS_INITIAL_MAP=1048576
export KVFS_FAULT_CALL=fsync KVFS_FAULT_FILE=data.mdb KVFS_FAULT_TIMES=0
mount_kvfs
mkdir "$D/d"
"$FSOP" populate "$D/d" 200 1000 >/dev/null
is "$("$FSOP" fsync "$D/d/k1")" OK "fsync: the checkpoint a crash goes back to"
sum=$(cat "$D"/d/k* | md5sum)
touch "$ARM"
for i in $(seq 0 199); do "$FSOP" put "$D/d/k$i" "new $i" >/dev/null; done
is "$("$FSOP" fill "$D/big" A 2097152)" EIO \
	"a value that needs the map to grow, its checkpoint failing: EIO"
grep -q "fdatasync data.mdb" "$TEST_DIR/faults" &&
	pass "the shim failed the flushes" || fail "the shim failed the flushes"
for r in 1 2 3; do
	for i in $(seq 0 199); do
		"$FSOP" put "$D/d/k$i" "again $r $i" >/dev/null
	done
done
rm -f "$ARM"
kill_kvfs
export KVFS_BOOT_ID=b11-two
mount_kvfs
ok "after a crash of the machine the environment is whole (mdb_stat)" \
	mdb_stat -a "$STORE"
is "$(cat "$D"/d/k* 2>&1 | md5sum)" "$sum" \
	"the checkpoint's 200 keys read back byte for byte: it stayed pinned"
umount_kvfs
unset KVFS_INITIAL_MAP

# 13: one failed flush, then a disk that flushes again
STORE=$TEST_DIR/store-13
export KVFS_BOOT_ID=b13 KVFS_FAULT_TIMES=1
: > "$TEST_DIR/faults"
mount_kvfs
"$FSOP" put "$D/a" "value a" >/dev/null
is "$("$FSOP" fsync "$D/a")" OK "fsync before the fault"
touch "$ARM"
"$FSOP" put "$D/b" "value b" >/dev/null
is "$("$FSOP" fsync "$D/b")" EIO "fsync whose flush fails: EIO"
rm -f "$ARM"
is "$("$FSOP" fsync "$D/b")" EIO "the next fsync too, the disk flushing again"
"$FSOP" put "$D/c" "value c" >/dev/null
is "$("$FSOP" fsync "$D/c")" EIO "and an fsync after a new write"
is "$(cat "$D/c")" "value c" "writes go on"
grep -q "a flush of the store failed" "$TEST_DIR/kvfs.err" &&
	pass "the daemon says so" || fail "the daemon says so"
umount_kvfs
grep -q "not marked as closed cleanly" "$TEST_DIR/kvfs.err" &&
	pass "the unmount is not marked clean" ||
	fail "the unmount is not marked clean"
mount_kvfs
is "$("$FSOP" fsync "$D/c")" OK "after a remount fsync works again"
is "$(cat "$D/a")$(cat "$D/b")$(cat "$D/c")" "value avalue bvalue c" \
	"every value is there"
# the same with the failing flush a checkpoint of the thread's, every
# second, with no fsync waiting for it
unset KVFS_CKPT_SECONDS
umount_kvfs
mount_kvfs
touch "$ARM"
"$FSOP" put "$D/e" "value e" >/dev/null
sleep 2.5
rm -f "$ARM"
is "$("$FSOP" fsync "$D/e")" EIO \
	"a background checkpoint failed: the next fsync says EIO"
umount_kvfs
export KVFS_CKPT_SECONDS=3600

# the record of a checkpoint written short, then a write of data.mdb
# failing with ENOSPC
STORE=$TEST_DIR/store-short
export KVFS_FAULT_CALL=write KVFS_FAULT_FILE=kvfs.sync KVFS_FAULT_DO=short
mount_kvfs
"$FSOP" put "$D/k" "old" >/dev/null
touch "$ARM"
is "$("$FSOP" fsync "$D/k")" EIO "a short write of kvfs.sync: fsync says EIO"
rm -f "$ARM"
is "$("$FSOP" fsync "$D/k")" EIO "and the next one too"
umount_kvfs
export KVFS_FAULT_FILE=data.mdb KVFS_FAULT_DO=enospc KVFS_FAULT_TIMES=0
mount_kvfs
touch "$ARM"
is "$("$FSOP" put "$D/k" "new")" ENOSPC \
	"a write of data.mdb failing with ENOSPC: the close says ENOSPC"
rm -f "$ARM"
is "$(cat "$D/k")" old "the key keeps its old value"
is "$("$FSOP" put "$D/k" "newer")$(cat "$D/k")" OKnewer "and takes the next"
umount_kvfs
# one write failing with ENOSPC: the commit is tried again after a
# checkpoint (store_write), and succeeds
export KVFS_FAULT_TIMES=1
mount_kvfs
faults=$(grep -c enospc "$KVFS_FAULT_LOG")
touch "$ARM"
is "$("$FSOP" put "$D/k" "newest")$(cat "$D/k")" OKnewest \
	"one write of data.mdb failing with ENOSPC: tried again, committed"
rm -f "$ARM"
is "$(grep -c enospc "$KVFS_FAULT_LOG")" $((faults + 1)) \
	"the fault was injected once"
umount_kvfs
unset KVFS_FAULT_CALL KVFS_FAULT_DO KVFS_FAULT_FILE KVFS_FAULT_TIMES

# 15: the boot id cannot be read: a kill -9 counts as a crash of the
# machine (back to the last checkpoint), never as the same boot
STORE=$TEST_DIR/store-boot
unset KVFS_BOOT_ID
export KVFS_BOOT_ID_FILE=$TEST_DIR/no-such-boot-id
mount_kvfs
"$FSOP" put "$D/synced" "synced" >/dev/null
"$FSOP" fsync "$D/synced" >/dev/null
"$FSOP" put "$D/late" "late" >/dev/null
kill_kvfs
mount_kvfs
grep -q "cannot read the machine's boot id" "$TEST_DIR/kvfs.err" &&
	pass "an unreadable boot id is said" ||
	fail "an unreadable boot id is said"
is "$(cat "$D/synced")" synced "the synced key is there"
errno_is ENOENT "the one after the checkpoint is not: a reboot is assumed" \
	stat "$D/late"
umount_kvfs
unset KVFS_BOOT_ID_FILE

# 15: kvfs.sync missing, or damaged, beside data.mdb
STORE=$TEST_DIR/store-sync
export KVFS_BOOT_ID=b15
mount_kvfs
"$FSOP" put "$D/k" "kept" >/dev/null
umount_kvfs
rm "$STORE/kvfs.sync"
mount_kvfs
grep -q "no checkpoint recorded (kvfs.sync missing)" "$TEST_DIR/kvfs.err" &&
	pass "a missing kvfs.sync is said" || fail "a missing kvfs.sync is said"
is "$(cat "$D/k")" kept "and the store opens as it is"
umount_kvfs
head -c 1024 /dev/zero | tr '\0' x > "$STORE/kvfs.sync"
mount_kvfs >/dev/null 2>&1
is "$(is_mounted && echo mounted)" "" "a damaged kvfs.sync: the mount is refused"
grep -q "move kvfs.sync away" "$TEST_DIR/kvfs.err" &&
	pass "with a message saying what to do" ||
	fail "with a message saying what to do"
umount_kvfs
mv "$STORE/kvfs.sync" "$TEST_DIR/kvfs.sync.bad"
mount_kvfs
is "$(cat "$D/k")" kept "moved away, the store opens with its key"
umount_kvfs

# 15: both meta pages of data.mdb damaged (their magic number): rewritten
# from the checkpoint
for page in 0 1; do
	printf '\0\0\0\0' | dd of="$STORE/data.mdb" bs=1 \
		seek=$((page * 4096 + 16)) conv=notrunc 2>/dev/null
done
mount_kvfs
grep -q "meta page 1 of data.mdb cannot be read" "$TEST_DIR/kvfs.err" &&
	pass "unreadable meta pages are said" ||
	fail "unreadable meta pages are said"
is "$(cat "$D/k" 2>&1)" kept "and rewritten from the checkpoint: the store opens"
ok "the environment is whole (mdb_stat)" mdb_stat -a "$STORE"
umount_kvfs

# 15: an LMDB whose meta page kvfs does not know is refused (the test
# build's KVFS_LMDB_VERSION stands for it), the store untouched
KVFS_LMDB_VERSION=1.0.0 mount_kvfs >/dev/null 2>&1
is "$(is_mounted && echo mounted)" "" "LMDB 1.0: the mount is refused"
grep -q "is not LMDB 0.9" "$TEST_DIR/kvfs.err" &&
	pass "with a message naming the version" ||
	fail "with a message naming the version"
umount_kvfs
mount_kvfs
is "$(cat "$D/k")" kept "with LMDB 0.9 the store opens, untouched"
umount_kvfs

# 15: the installed daemon has no boot id hook: a "reboot" set by it is
# the same boot, so a kill -9 loses nothing
STORE=$TEST_DIR/store-prod
KVFS_BIN=$PROD_BIN
export KVFS_BOOT_ID=prod-one
mount_kvfs
"$FSOP" put "$D/synced" "synced" >/dev/null
"$FSOP" fsync "$D/synced" >/dev/null
"$FSOP" put "$D/late" "late" >/dev/null
kill_kvfs
export KVFS_BOOT_ID=prod-two
mount_kvfs
is "$(cat "$D/late" 2>&1)" late "kvfs ignores KVFS_BOOT_ID: nothing rolled back"
umount_kvfs

done_testing
