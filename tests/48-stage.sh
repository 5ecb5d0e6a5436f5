#!/bin/sh
# Values written once: a value over 128 KiB goes into the store's chunks
# as it is written (a stage), the close switches to them; the writer reads
# its own content, readers keep the old value, a mid-file rewrite keeps
# the old bytes around the new ones, and a writer killed or failing
# leaves the old value and no chunks behind.
. "$(dirname "$0")/lib.sh"

D=$MNT/default
MiB=1048576
# chunks in the data table (after an unmount), if mdb_stat is there
chunks() {
	if command -v mdb_stat >/dev/null; then
		mdb_stat -s data "$STORE" | awk '/Entries:/ { print $2 }'
	else
		echo none
	fi
}

# slow_write FILE CHAR SIZE: dd writes SIZE bytes of CHAR to FILE and
# keeps it open until end_write (dd's pid in $writer); returns once the
# bytes were given to dd and a moment passed
slow_write() {
	rm -f "$TEST_DIR/fifo" "$TEST_DIR/written" "$TEST_DIR/end"
	mkfifo "$TEST_DIR/fifo"
	{ head -c "$3" /dev/zero | tr '\0' "$2"; : > "$TEST_DIR/written"
	  while [ ! -e "$TEST_DIR/end" ]; do sleep 0.1; done
	} > "$TEST_DIR/fifo" &
	feeder=$!
	dd if="$TEST_DIR/fifo" of="$1" bs=128k 2>/dev/null &
	writer=$!
	wait_for "$TEST_DIR/written"
	sleep 0.5
}
# end_write: let the dd of slow_write close its file
end_write() {
	: > "$TEST_DIR/end"
	wait $feeder 2>/dev/null
	wait $writer 2>/dev/null
}

mount_kvfs
head -c $((25 * MiB)) /dev/urandom > "$TEST_DIR/src"
ok "a 25 MiB value is written" cp "$TEST_DIR/src" "$D/big"
ok "and reads back byte for byte" cmp "$TEST_DIR/src" "$D/big"
is "$(stat -c %s "$D/big")" $((25 * MiB)) "its size"

# the writer sees its own writes (random writes, reads, truncations,
# fsync and reopen, up to 12 MiB)
if "$top_builddir/tests/fsx" -n 1500 -S 48 -l $((12 * MiB)) -o $MiB \
	"$D/fsx" > "$TEST_DIR/fsx.out" 2>&1; then
	pass "fsx: 1500 operations on one file up to 12 MiB match its model"
else
	fail "fsx found a difference"
	tail -20 "$TEST_DIR/fsx.out" | sed 's/^/# /'
fi

# a rewrite in the middle of an existing value keeps the bytes around it
printf 'MIDDLE' > "$TEST_DIR/mid"
dd if="$TEST_DIR/mid" of="$D/big" bs=1 seek=13000000 conv=notrunc \
	2>/dev/null
dd if="$TEST_DIR/mid" of="$TEST_DIR/src" bs=1 seek=13000000 conv=notrunc \
	2>/dev/null
ok "a mid-file rewrite: old bytes around the new ones" \
	cmp "$TEST_DIR/src" "$D/big"
is "$(stat -c %s "$D/big")" $((25 * MiB)) "and the size unchanged"

# readers of the old value keep it while a new one is written
exec 4< "$D/big"
slow_write "$D/big" N $((20 * MiB))
ok "while a new value is written, a new reader reads the old one" \
	cmp "$TEST_DIR/src" "$D/big"
ok "and a reader from before it too" cmp "$TEST_DIR/src" /dev/fd/4
end_write
exec 4<&-
is "$("$FSOP" uniform "$D/big" $((20 * MiB)))" OK "after the close, the new value"

# a write past max_value_size fails, the old value stays
is "$("$FSOP" fill "$D/big" Q $((26 * MiB)))" EFBIG \
	"a write past max_value_size: EFBIG"
is "$("$FSOP" uniform "$D/big" $((20 * MiB)))" OK "the old value stays"
umount_kvfs
before=$(chunks)

# a writer killed mid-write leaves no chunks behind
mount_kvfs
slow_write "$D/big" K $((21 * MiB))
kill_kvfs
end_write
mount_kvfs
is "$("$FSOP" uniform "$D/big" $((20 * MiB)))$(head -c1 "$D/big")" OKN \
	"after a kill mid-write, the old value"
umount_kvfs
is "$(chunks)" "$before" "no chunk of the killed write is left (mdb_stat)"

# on a disk of its own: killed writes give their space back
if [ "$(id -u)" = 0 ]; then
	SMALL=$(mktemp -d "${TMPDIR:-/tmp}/kvfs-small.XXXXXX")
	if mount -t tmpfs -o size=64m tmpfs "$SMALL"; then
		trap 'cleanup; umount "$SMALL" 2>/dev/null; rmdir "$SMALL" 2>/dev/null' EXIT
		STORE=$SMALL/store
		mount_kvfs
		"$FSOP" fill "$D/keep" A $((20 * MiB)) >/dev/null
		for round in 1 2 3 4; do
			slow_write "$D/k$round" K $((20 * MiB))
			kill_kvfs
			end_write
			mount_kvfs
		done
		is "$("$FSOP" fill "$D/after" B $((20 * MiB)))" OK \
			"after 4 writes of 20 MiB killed on 64 MiB, 20 MiB fit"
		is "$("$FSOP" uniform "$D/keep" $((20 * MiB)))" OK \
			"and the value written before is whole"
		umount_kvfs
		umount "$SMALL"
	else
		pass "# SKIP cannot mount a tmpfs"
		pass "# SKIP cannot mount a tmpfs"
	fi
	rmdir "$SMALL"
else
	pass "# SKIP a small tmpfs needs root"
	pass "# SKIP a small tmpfs needs root"
fi

done_testing
