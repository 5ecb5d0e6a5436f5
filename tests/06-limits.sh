#!/bin/sh
# SPEC 1 and 3: every limit crossed, each with its errno, and what was
# there before still intact.
. "$(dirname "$0")/lib.sh"

aaa() { head -c "$1" /dev/zero | tr '\0' a; }

mount_kvfs -o max_value_size=1K
D=$MNT/default
aaa 1000 > "$D/k"
errno_is OK "1024 bytes: the limit" fill "$D/edge" x 1024
is "$("$FSOP" write-close "$D/k" 1025 | tr '\n' ' ')" "write EFBIG EFBIG " \
	"1025 bytes: EFBIG on the write and again on close"
is "$(cat "$D/k")" "$(aaa 1000)" "the key keeps its previous value"
# and so does a failed `cmd > key`: the shell's close of the O_TRUNC
# descriptor it duplicated commits nothing (README, Failed writes)
aaa 1000 > "$D/shell"
sh -c 'aaa() { head -c "$1" /dev/zero | tr "\0" a; }; aaa 1025 > "$1"' sh \
	"$D/shell" 2>/dev/null
is "$(stat -c %s "$D/shell")" 1000 "a failed cmd > key keeps the old value"
is "$("$FSOP" append "$D/k" "$(aaa 25)")" EFBIG "an append that crosses it: EFBIG"
is "$(cat "$D/k")" "$(aaa 1000)" "previous value intact"
errno_is EFBIG "truncate past it: EFBIG" truncate "$D/k" 1025
errno_is EFBIG "ftruncate past it: EFBIG" ftruncate "$D/k" 1025
is "$(stat -c %s "$D/k") $(cat "$D/k")" "1000 $(aaa 1000)" "previous value intact"
errno_is EFBIG "a write at an offset past it: EFBIG" write "$D/k" 1024 x
is "$(cat "$D/k")" "$(aaa 1000)" "previous value intact"
errno_is EFBIG "a write near 2^63: EFBIG" write "$D/k" 9223372036854775800 x
umount_kvfs

# the default: 25M = 26,214,400 bytes
mount_kvfs
head -c 1000 /dev/urandom > "$TEST_DIR/old"
cp "$TEST_DIR/old" "$D/big"
errno_is OK "26,214,400 bytes: the default limit" fill "$D/max" m 26214400
is "$(stat -c %s "$D/max")" 26214400 "stored whole"
is "$("$FSOP" write-close "$D/big" 26214401 | tr '\n' ' ')" "write EFBIG EFBIG " \
	"26,214,401 bytes: EFBIG"
cmp -s "$TEST_DIR/old" "$D/big" && pass "previous value intact" ||
	fail "previous value intact"
rm "$D/max"

# max_namespaces (02-namespaces.sh), key size (03-keys.sh): here the
# names that fail keep what they would have replaced
echo keep > "$D/src"
k513=$(printf 'k%.0s' $(seq 1 513))
errno_is ENAMETOOLONG "rename to a key too long: ENAMETOOLONG" rename "$D/src" "$D/$k513"
errno_is EILSEQ "rename to invalid UTF-8: EILSEQ" rename "$D/src" "$(printf "$D/\\377")"
is "$(cat "$D/src")" keep "the source is intact"
umount_kvfs

# max_storage: bytes of values in the store
rm -rf "$STORE"
mount_kvfs -o max_storage=10K
errno_is OK "8K of values" fill "$D/a" a 8192
is "$("$FSOP" write-close "$D/b" 4096 | tr '\n' ' ')" "write ENOSPC ENOSPC " \
	"4K more: ENOSPC on the write and on close"
is "$(stat -c %s "$D/b" 2>/dev/null || echo absent)" 0 "the new key stays empty"
is "$(cat "$D/a" | tr -d a | wc -c) $(stat -c %s "$D/a")" "0 8192" \
	"the old value is intact"
errno_is OK "replacing a value counts only the difference" fill "$D/a" c 10240
errno_is ENOSPC "a truncate that would pass it: ENOSPC" truncate "$D/b" 100
errno_is OK "after a delete" unlink "$D/a"
errno_is OK "there is room again" fill "$D/b" b 4096
avail=$(df -B1 --output=size "$MNT" | tail -1 | tr -d ' ')
[ "$avail" -le 16384 ] && pass "statfs reports max_storage ($avail)" ||
	fail "statfs reports max_storage ($avail)"
umount_kvfs

# write_rate_limit: one write per key per second
mount_kvfs -o write_rate_limit=on
errno_is OK "first write" put "$D/r" v1
errno_is EAGAIN "second write within 1 s: EAGAIN" put "$D/r" v2
is "$(cat "$D/r")" v1 "the first value stays"
errno_is OK "another key is not limited" put "$D/other" x
sleep 1.1
errno_is OK "a write a second later" put "$D/r" v3
is "$(cat "$D/r")" v3 "takes effect"
umount_kvfs
mount_kvfs
errno_is OK "without the option, writes are not limited" put "$D/r" v4
errno_is OK "at all" put "$D/r" v5

done_testing
