#!/bin/sh
# What an open descriptor reads and what its fstat says while its key is
# rewritten beside it: every reader reads one whole value, the one it
# opened, by read and by an mmap sized by fstat, and fstat describes it
# (tests/tornread.c); writers of every kind (open(O_TRUNC)/write/close,
# kvctl put, `cmd > key`, dd) with two CPU-bound loops slowing the
# daemon's threads down.  Then: a descriptor keeps its own file after its
# key is renamed over or unlinked; a failed `cmd > key` keeps the old
# value; a stat right after a close sees the value, with setfattr and
# processes stat'ing beside; truncate(2) right after a close truncates.
. "$(dirname "$0")/lib.sh"

: "${TORNREAD:=$top_builddir/tests/tornread}"
[ -x "$TORNREAD" ] || skip_all "tests/tornread not built"
: "${SIZERACE:=$top_builddir/tests/sizerace}"
[ -x "$SIZERACE" ] || skip_all "sizerace not built at $SIZERACE"

STOP=$TEST_DIR/stop

# readers KEY N: start N readers of KEY (stopped by stop_readers)
readers() {
	rm -f "$STOP"
	"$TORNREAD" read "$1" "$STOP" "$2" > "$TEST_DIR/read.out" &
	READERS=$!
}
stop_readers() {
	touch "$STOP"
	wait "$READERS"
}

mount_kvfs
D=$MNT/default
start_load

# --- a writer: open(O_TRUNC), one write, close ---------------------------
"$TORNREAD" write "$D/k" 1
readers "$D/k" 4
"$TORNREAD" write "$D/k" 3000
stop_readers
is "$(cat "$TEST_DIR/read.out")" "reads some bad 0" \
	"3,000 rewrites, 4 readers: each reads, maps (by fstat) and fstats one value"

# --- kvctl put: a temporary key renamed over the key ---------------------
"$TORNREAD" gen 1 | kv put "$D" p -
readers "$D/p" 4
i=2
while [ $i -le 150 ]; do
	"$TORNREAD" gen $i | kv put "$D" p - || break
	i=$((i + 1))
done
stop_readers
is "$(cat "$TEST_DIR/read.out")" "reads some bad 0" \
	"150 kvctl puts, 4 readers: each reads one value, as fstat says"

# --- cmd > key and dd: O_TRUNC, dup, close, write -------------------------
"$TORNREAD" gen 1 > "$D/d"
readers "$D/d" 3
i=2
while [ $i -le 200 ]; do
	"$TORNREAD" gen $i > "$D/d"
	"$TORNREAD" gen $((i + 1)) | dd of="$D/d" bs=64k status=none
	i=$((i + 2))
done
stop_readers
is "$(cat "$TEST_DIR/read.out")" "reads some bad 0" \
	"100 \`cmd > key\` and 100 dd of=key, 3 readers: never an empty value"
is "$("$TORNREAD" gen 201 | cmp - "$D/d" && echo same)" same \
	"the last dd's value is the key's"
: > "$D/d"
is "$(stat -c %s "$D/d")" 0 "\`: > key\` empties it, seen at once"
printf 'then' > "$D/d"
sh -c 'exec 3>"$1"; exec 4>&3; exec 3>&-; printf more >&4' sh "$D/d"
is "$(cat "$D/d")" more "a truncation then a write through a duplicate"

# --- item: a descriptor keeps its own file ---------------------------------
is "$("$TORNREAD" desc "$D")" \
"renamed over: own inode yes, size 5, nlink 0, reads first; the name: size 13
unlinked: own inode yes, size 13, nlink 0, ftruncate ok, fchmod ok, then size 4 mode 600 reads the " \
	"fstat, read, ftruncate, fchmod through a descriptor of a key renamed over, then unlinked"
printf 'kept' > "$D/gone"
is "$(sh -c 'exec 3<"$1"; rm "$1"; cat <&3' sh "$D/gone")" kept \
	"exec 3<k; rm k; cat <&3 prints the value"

# --- a stat after close, with setfattr and stat'ers beside -----------------
mkdir "$D/meta"
is "$("$SIZERACE" meta "$D/meta" 2000 4)" "OK 0" \
	"2,000 printf > key; setfattr metadata, 4 stat'ers: stat as read"
is "$("$TORNREAD" stat "$D/s" 1000 4)" "wrong 0" \
	"1,000 rewrites, 4 stat'ers: the writer's stat after close gives its size"

# --- truncate(2) right after a close ----------------------------------------
pids=
for j in 1 2 3 4; do
	"$TORNREAD" trunc "$D/t$j" 2000 > "$TEST_DIR/trunc$j.out" &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
is "$(cat "$TEST_DIR"/trunc?.out | sort -u)" "left 0" \
	"4 x 2,000 truncate(key, 0) right after a writer's close: all empty"

# --- a reader's descriptor does not hold back a writer's close --------------
# (only a descriptor open for writing is the same file as the writer's)
printf old > "$D/ro"
exec 4<"$D/ro"
bad=0
for _ in $(seq 300); do
	printf old > "$D/ro"
	: > "$D/ro"
	[ -s "$D/ro" ] && bad=$((bad + 1))
done
exec 4<&-
is "$bad" 0 \
	"300 times : > key while the shell holds it open to read: empty at once"
stop_load

# --- an open of /dev/fd/N, which the kernel retries with no lookup ---------
printf 'by fd' > "$D/fd"
is "$(bash -c 'exec 3<>"$1"; cat /dev/fd/3' sh "$D/fd" 2>&1)" "by fd" \
	"exec 3<>key; cat /dev/fd/3 reads the value (no ESTALE)"
is "$(bash -c 'exec 3>>"$1"; cat "$1"; cat /proc/self/fd/0 <"$1"' sh \
	"$D/fd" 2>&1)" "by fdby fd" \
	"a reader opens the key while its process appends to it"

# --- a failed cmd > key keeps the old value --------------------------------
umount_kvfs
mount_kvfs -o max_value_size=1000
printf 'old value' > "$D/big"
( head -c 2000 /dev/zero > "$D/big" ) 2>/dev/null
is "$?" 1 "a cmd > key past max_value_size fails"
is "$(cat "$D/big")" "old value" "and the key keeps its old value"

done_testing
