#!/bin/sh
# SPEC 3 durability across a power cut, simulated as CrashMonkey and ALICE
# do (tests/powerloss.sh): every write and flush kvfs makes to its store is
# recorded, and crash images are built from the record: what the flushes
# covered, plus any part of the writes after them, torn at 4 KiB and
# 512 B.  Each image must mount without repair (a new boot id: after a
# reboot), pass mdb_stat and mdb_dump, hold every value an fsync or a
# clean unmount made durable, byte for byte, and only values its keys had,
# and take writes.  An image of every write with the recording's boot id
# is a kill -9 at that moment, which keeps every acknowledged operation;
# with a new one, a kill -9 then a clean reboot before kvfs mounts again,
# which keeps what a power cut keeps (kvfs cannot tell the two apart).
#
# The recording: kill -9s and remounts in the same boot (a crash while
# the store opens must not reach the last checkpoint's pages), a
# checkpoint failing during map growth, clean unmounts, and an unmount
# after a failed flush followed by a new boot (kvfs goes back to its last
# checkpoint, and the next mount builds on that); with creates,
# overwrites, values up to 5 MiB, renames, deletes, fsyncs and
# expirations of 1 s that the sweep deletes.
# scripts/power-loss runs thousands of images.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/powerloss.sh"

images=${PL_SAMPLE:-40}
seed=${PL_SEED:-41}

pl_record "$seed" \
	"boot-a 60 mixed+nosync kill fdatasync:kvfs.sync:2:EIO" \
	"boot-a 40 mixed+nosync kill" \
	"boot-a 50 mixed umount" \
	"boot-b 30 small umount fdatasync:data.mdb:2:EIO" \
	"boot-c 30 small kill" ||
	fail "the workload was recorded"
is "$PL_REC_BAD" 0 "each mount of the recording finds every acknowledged operation"
sed 's/^/# /' "$TEST_DIR/failures-recording"
ok "the log holds only writes it could record" "$CRASHIMG" info "$PL_LOG"
is "$("$CRASHIMG" verify "$PL_LOG" "$PL_INIT")" "OK 5 snapshots" \
	"the files rebuilt from the log are the store's, at each stop"

# A kill -9 can land after a write to the store returned and before the
# recorder logged it, or halfway through it: after each kill the harness
# appends what the files hold beyond the log (crashimg settle).  Here an
# in-flight write is made by hand on a copy of the last stop.
s=$TEST_DIR/settle
mkdir -p "$s"
cp -r "$TEST_DIR/snap5" "$s/store"
cp "$PL_LOG" "$s/plain.log"
is "$("$CRASHIMG" settle "$s/plain.log" "$PL_INIT" "$s/store")" \
	"settled: 0 writes, 0 bytes in flight at the kill" \
	"settle adds nothing when the log holds every write"
size=$(stat -c %s "$s/store/data.mdb")
head -c 5000 /dev/zero | tr '\0' '\253' |
	dd of="$s/store/data.mdb" bs=1 seek=8292 conv=notrunc 2>/dev/null
head -c 4096 /dev/zero | tr '\0' '\254' >> "$s/store/data.mdb"
cp "$s/plain.log" "$s/settled.log"
"$POWERLOAD" mark "$s/plain.log" "SNAP $s/store"
is "$("$CRASHIMG" verify "$s/plain.log" "$PL_INIT" | sed 's/^record [0-9]*: //')" \
	"data.mdb rebuilt ($size bytes) is not $s/store/data.mdb" \
	"verify sees the writes the log missed"
is "$("$CRASHIMG" settle "$s/settled.log" "$PL_INIT" "$s/store")" \
	"settled: 2 writes, 12288 bytes in flight at the kill" \
	"settle logs the two pages it changed and the page it added"
"$POWERLOAD" mark "$s/settled.log" "SNAP $s/store"
is "$("$CRASHIMG" verify "$s/settled.log" "$PL_INIT")" "OK 6 snapshots" \
	"with them the log rebuilds the store again"

pl_images "$images" "$seed"
is "$PL_BAD" 0 "$PL_IMAGES crash images: each opens, is whole and keeps what was promised"
sed 's/^/# /' "$TEST_DIR/failures" | head -20

done_testing
