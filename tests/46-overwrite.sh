#!/bin/sh
# A node survives its key's commits (issue 17): an overwrite that no
# reader holds the old value of rebinds the key's node in place, so that
# the kernel keeps its entry and inode, and a stat or open after it needs
# no lookup; with a reader open, the reader keeps the old value (bytes and
# size) and the name leads to the new one.  Either way a stat, cat or mmap
# after close(2) sees the new value, and the page cache holds no bytes of
# the old one.  The test build (tests/kvfs-hooks) logs every LOOKUP by
# name (KVFS_HOOK_LOOKUP_LOG), which is how the rebind is seen.
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"

LOG=$TEST_DIR/lookups
export KVFS_HOOK_LOOKUP_LOG="$LOG"
D=$MNT/default

# lookups NAME: how many LOOKUPs of NAME the daemon got since the last
# "forget_lookups"
lookups() {
	grep -cx "$1" "$LOG" 2>/dev/null || true
}
forget_lookups() {
	: > "$LOG"
}

mount_kvfs

# --- overwrite with no reader: same node, no lookup ------------------------
printf 'value 0' > "$D/k"
ino=$(stat -c %i "$D/k")
forget_lookups
i=1
while [ $i -le 5 ]; do
	printf 'the value number %d' $i > "$D/k"
	sz=$(stat -c %s "$D/k")
	got=$(cat "$D/k")
	[ "$sz" = ${#got} ] && [ "$got" = "the value number $i" ] || break
	i=$((i + 1))
done
is $i 6 "5 overwrites: stat and cat after each give the new value"
is "$(lookups k)" 0 "5 overwrites with no reader, each then stat and cat: no LOOKUP of the key"
is "$(stat -c %i "$D/k")" "$ino" "the inode number stays"
sh -c 'printf "%s" "from another process" > "$1"' sh "$D/k"
is "$(sh -c 'stat -c %s "$1"; cat "$1"' sh "$D/k")" "20
from another process" "a stat and cat from another process after its close"
is "$(lookups k)" 0 "still no LOOKUP"
forget_lookups
printf 'short' > "$D/k"
is "$(stat -c %s "$D/k"):$(cat "$D/k")" "5:short" "a shorter value: its size and bytes"
is "$(lookups k)" 1 \
	"the kernel's inode kept the longer size through the write: a new inode (one LOOKUP)"
"$FSOP" fill "$D/k" x 300000 > /dev/null
is "$(stat -c %s "$D/k"):$("$FSOP" uniform "$D/k" 300000)" "300000:OK" \
	"a chunked value (300,000 bytes): its size and bytes"
printf 'short again' > "$D/k"
is "$(stat -c %s "$D/k"):$(cat "$D/k")" "11:short again" "then a short one again"

# --- the page cache: no bytes of the old value --------------------------------
printf 'AAAAAAAA' > "$D/m"
is "$("$FSOP" mmap-read "$D/m")" AAAAAAAA "mmap reads the value"
is "$(cat "$D/m")" AAAAAAAA "a cached read too (the pages stay)"
forget_lookups
printf 'BBBBBBBB' > "$D/m"
is "$("$FSOP" mmap-read "$D/m")" BBBBBBBB \
	"an overwrite of the same size, then mmap: the new bytes, not the cached ones"
is "$(cat "$D/m")" BBBBBBBB "and read(2)"
printf 'CCCCCCCC' > "$D/m"
is "$(cat "$D/m")" CCCCCCCC "again, read(2) first"
is "$("$FSOP" mmap-read "$D/m")" CCCCCCCC "then mmap"
is "$(lookups m)" 0 "no LOOKUP of that key either"
# an O_RDWR writer reads its own content through the page cache, after
# another writer's open: its pages hold the old value when the other's
# commit rebinds the node
printf 'OLD_' > "$D/w"
exec 4<> "$D/w"
rm -f "$TEST_DIR/ready"
"$FSOP" resave "$D/w" first NEW_ 1 "$TEST_DIR/ready" > "$TEST_DIR/resave" &
writer=$!
wait_for "$TEST_DIR/ready"
read -r own <&4
wait "$writer"
exec 4<&-
is "$own:$(cat "$TEST_DIR/resave")" "OLD_:OK" \
	"an O_RDWR writer open before reads its own content, the other writer's calls succeed"
is "$(cat "$D/w")" NEW_ "a read after: the committed bytes, not the writer's pages"
is "$("$FSOP" mmap-read "$D/w")" NEW_ "and mmap"
is "$("$FSOP" close-to-open "$D/m" 200)" OK \
	"200 new values, each seen by stat, fstat and mmap right after its close"

# --- a stat from another process while a writer is open ------------------------
# The kernel takes the committed size that stat is given while the
# writer's own is another: at the close the name gets a new inode, as no
# reply may leave an old size in one that moves on (nodes_rebind_current)
printf 'old' > "$D/s"
rm -f "$TEST_DIR/ready"
"$FSOP" resave "$D/s" first LAST_VALUE 1 "$TEST_DIR/ready" \
	> "$TEST_DIR/resave" &
writer=$!
wait_for "$TEST_DIR/ready"
is "$(sh -c 'stat -c %s "$1"' sh "$D/s")" 5 \
	"another process's stat while the writer is open: the size of its fsync"
wait "$writer"
forget_lookups
is "$(cat "$TEST_DIR/resave"):$(stat -c %s "$D/s"):$(cat "$D/s")" \
	"OK:10:LAST_VALUE" "after the close: the new size and bytes"
is "$(lookups s)" 1 "the name got a new inode at the close (one LOOKUP)"

# --- overwrite with a reader open: it keeps the old value ---------------------
printf 'old bytes' > "$D/r"
exec 3< "$D/r"
printf 'the new, longer value' > "$D/r"
is "$(stat -L -c %s /proc/$$/fd/3)" 9 "a reader open before: fstat gives the old size"
is "$(cat <&3)" "old bytes" "and it reads the old bytes"
exec 3<&-
is "$(sh -c 'stat -c %s "$1"; cat "$1"' sh "$D/r")" "21
the new, longer value" "another process sees the new value"
exec 3< "$D/r"
"$FSOP" mmap-read "$D/r" > /dev/null
printf 'XXXXXXXXXXXXXXXXXXXXX' > "$D/r"
is "$("$FSOP" mmap-read "$D/r")" XXXXXXXXXXXXXXXXXXXXX \
	"a reader holds the pages' value: mmap after an overwrite of the same size reads the new bytes"
is "$(cat <&3)" "the new, longer value" "the reader still reads its own"
exec 3<&-

umount_kvfs
ok "unmounts" true
done_testing
