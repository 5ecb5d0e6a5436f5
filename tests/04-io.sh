#!/bin/sh
# SPEC 3: ordinary file I/O on keys.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default

echo hello > "$D/f"
is "$(cat "$D/f")" hello "create and read"
echo world > "$D/f"
is "$(cat "$D/f")" world "overwrite"
echo again >> "$D/f"
is "$(cat "$D/f" | tr '\n' ' ')" "world again " "append"
printf 'XY' | dd of="$D/f" bs=1 seek=2 conv=notrunc status=none
is "$(head -1 "$D/f")" woXYd "write at an offset"
is "$(dd if="$D/f" bs=1 skip=6 count=5 status=none)" again "read at an offset"
truncate -s 3 "$D/f"
is "$(cat "$D/f")" woX "truncate shorter"
truncate -s 6 "$D/f"
is "$(od -An -c "$D/f" | tr -s ' ')" " w o X \\0 \\0 \\0" "truncate longer: zeros"
errno_is OK "write past the end" write "$D/sparse" 100 ab
is "$(stat -c %s "$D/sparse")" 102 "size after a write past the end"
is "$(od -An -tx1 -N4 "$D/sparse" | tr -d ' ')" 00000000 "the gap reads as zeros"

# several writes in one open, O_APPEND
{ printf a; printf b; printf c; } > "$D/multi"
is "$(cat "$D/multi")" abc "several writes in one open"
{ printf 1; printf 2; } >> "$D/multi"
is "$(cat "$D/multi")" abc12 "O_APPEND writes append"

# mmap
errno_is OK "write through a shared mmap" mmap-write "$D/mapped" "mapped!"
is "$(cat "$D/mapped")" "mapped!" "mmap writes reach the value"
is "$("$FSOP" mmap-read "$D/mapped")" "mapped!" "read through mmap"

# values of every size stream through
for size in 0 1 4095 4096 4097 131072 131073 300000 5242880 26214400; do
	head -c "$size" /dev/urandom > "$TEST_DIR/v"
	cp "$TEST_DIR/v" "$D/v$size"
	cmp -s "$TEST_DIR/v" "$D/v$size" && pass "value of $size bytes" ||
		fail "value of $size bytes"
	is "$(stat -c %s "$D/v$size")" "$size" "stat size of $size"
done
# random reads in a chunked value
head -c 5242880 /dev/urandom > "$TEST_DIR/big"
cp "$TEST_DIR/big" "$D/big"
for off in 0 262127 262128 262129 1000000 5242879; do
	a=$(dd if="$TEST_DIR/big" bs=1 skip=$off count=3 status=none | od -An -tx1)
	b=$(dd if="$D/big" bs=1 skip=$off count=3 status=none | od -An -tx1)
	is "$b" "$a" "read at $off"
done
printf 'ZZZZ' | dd of="$D/big" bs=1 seek=262126 conv=notrunc status=none
printf 'ZZZZ' | dd of="$TEST_DIR/big" bs=1 seek=262126 conv=notrunc status=none
cmp -s "$TEST_DIR/big" "$D/big" && pass "write across a chunk boundary" ||
	fail "write across a chunk boundary"

# a value becomes visible when its writer closes
echo old > "$D/vis"
"$FSOP" put "$D/vis" new 1 >/dev/null &
bg=$!
sleep 0.5
is "$(cat "$D/vis")" old "readers see the old value while it is written"
wait $bg
is "$(cat "$D/vis")" new "and the new one after close"
"$FSOP" append "$D/vis" + 1 >/dev/null &
bg=$!
sleep 0.5
is "$(cat "$D/vis")" new "an append is not visible before close"
wait $bg
is "$(cat "$D/vis")" new+ "and is after"

# the last writer to close wins
"$FSOP" put "$D/race" first 1 >/dev/null &
bg=$!
sleep 0.3
"$FSOP" put "$D/race" second >/dev/null
is "$(cat "$D/race")" second "the first writer to close is visible"
wait $bg
is "$(cat "$D/race")" first "and the last to close wins"

# a shell redirection opens with O_TRUNC, duplicates the descriptor and
# closes the original before the command writes: that truncation alone,
# with the file still open, is no new value (issue 19)
echo v1 > "$D/sh"
{ printf v2; sleep 1; } > "$D/sh" &
bg=$!
sleep 0.5
is "$(cat "$D/sh")" v1 "after the shell's first close: still the old value"
wait $bg
is "$(cat "$D/sh")" v2 "after its last: the value"

# an open reader keeps reading the value it opened, all of it, though its
# fstat and reads come after the rewrite
head -c 1048576 /dev/zero | tr '\0' A > "$D/pin"
exec 5<"$D/pin"
"$FSOP" fill "$D/pin" B 1000 >/dev/null
cat <&5 > "$TEST_DIR/pinned"
exec 5<&-
is "$(wc -c < "$TEST_DIR/pinned") $(tr -d A < "$TEST_DIR/pinned" | wc -c)" \
	"1048576 0" "a reader open across a rewrite reads the whole old value"
is "$(cat "$D/pin" | tr -d B | wc -c) $(stat -c %s "$D/pin")" "0 1000" \
	"new readers see the new value"
exec 5<"$D/pin"
head -c 3000 /dev/zero | tr '\0' C > "$D/pin"
is "$(cat <&5)" "$(head -c 1000 /dev/zero | tr '\0' B)" \
	"also when the new value is longer"
exec 5<&-

# close-to-open: right after a writer's close, stat, a new open's fstat
# and an mmap show the new value, not the old size or bytes
is "$("$FSOP" close-to-open "$D/cto" 2000)" OK \
	"2000 new values, each seen whole by stat, fstat and mmap after close"

done_testing
