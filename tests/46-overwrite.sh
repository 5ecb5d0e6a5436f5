#!/bin/sh
# Overwrites and the kernel's caches (issue 17): a stat, cat or mmap
# after close(2) sees the new value, whatever size it has, and the page
# cache holds no bytes of the old one, also the pages an O_RDWR writer
# read of its own content while another writer committed; a reader open
# across an overwrite keeps the old value (bytes and size) and the name
# leads to the new one.
. "$(dirname "$0")/lib.sh"

D=$MNT/default

mount_kvfs

# --- overwrite with no reader ------------------------------------------------
printf 'value 0' > "$D/k"
ino=$(stat -c %i "$D/k")
i=1
while [ $i -le 5 ]; do
	printf 'the value number %d' $i > "$D/k"
	sz=$(stat -c %s "$D/k")
	got=$(cat "$D/k")
	[ "$sz" = ${#got} ] && [ "$got" = "the value number $i" ] || break
	i=$((i + 1))
done
is $i 6 "5 overwrites: stat and cat after each give the new value"
is "$(stat -c %i "$D/k")" "$ino" "the inode number stays"
sh -c 'printf "%s" "from another process" > "$1"' sh "$D/k"
is "$(sh -c 'stat -c %s "$1"; cat "$1"' sh "$D/k")" "20
from another process" "a stat and cat from another process after its close"
printf 'short' > "$D/k"
is "$(stat -c %s "$D/k"):$(cat "$D/k")" "5:short" "a shorter value: its size and bytes"
"$FSOP" fill "$D/k" x 300000 > /dev/null
is "$(stat -c %s "$D/k"):$("$FSOP" uniform "$D/k" 300000)" "300000:OK" \
	"a chunked value (300,000 bytes): its size and bytes"
printf 'short again' > "$D/k"
is "$(stat -c %s "$D/k"):$(cat "$D/k")" "11:short again" "then a short one again"

# --- the page cache: no bytes of the old value --------------------------------
printf 'AAAAAAAA' > "$D/m"
is "$("$FSOP" mmap-read "$D/m")" AAAAAAAA "mmap reads the value"
is "$(cat "$D/m")" AAAAAAAA "a cached read too (the pages stay)"
printf 'BBBBBBBB' > "$D/m"
is "$("$FSOP" mmap-read "$D/m")" BBBBBBBB \
	"an overwrite of the same size, then mmap: the new bytes, not the cached ones"
is "$(cat "$D/m")" BBBBBBBB "and read(2)"
printf 'CCCCCCCC' > "$D/m"
is "$(cat "$D/m")" CCCCCCCC "again, read(2) first"
is "$("$FSOP" mmap-read "$D/m")" CCCCCCCC "then mmap"
# an O_RDWR writer reads its own content through the page cache, after
# another writer's open: its pages hold the old value when the other
# commits
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
