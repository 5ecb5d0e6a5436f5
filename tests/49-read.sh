#!/bin/sh
# Reads of large values, which kvfs splices from the store's file: every
# byte exact at offsets and sizes across chunk edges and the last chunk,
# through the page cache, O_DIRECT and mmap, cold and warm; a reader
# keeps the value it opened while the key is replaced and the freed pages
# are written again, and while the map grows.
. "$(dirname "$0")/lib.sh"

: "${BIGREAD:=$top_builddir/tests/bigread}"
[ -x "$BIGREAD" ] || skip_all "bigread not built at $BIGREAD"

KVFS_INITIAL_MAP=1048576 mount_kvfs
D=$MNT/default

# wait_file FILE: until it exists (at most 20 s)
wait_file() {
	for _ in $(seq 1 400); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# a reader holds a value while the map grows under it
is "$("$BIGREAD" write "$D/grow" 5242881 1)" ok "a value of 5 MiB + 1"
"$BIGREAD" hold "$D/grow" 5242881 1 "$TEST_DIR/ready1" "$TEST_DIR/go1" \
	> "$TEST_DIR/hold1" 2>&1 &
holder=$!
wait_file "$TEST_DIR/ready1"
bad=0
for i in 1 2 3 4 5 6; do
	[ "$("$BIGREAD" write "$D/fill$i" 6291456 $((10 + i)))" = ok ] ||
		bad=$((bad + 1))
done
is "$bad" 0 "36 MiB more, the map growing"
touch "$TEST_DIR/go1"
wait "$holder"
is "$(cat "$TEST_DIR/hold1")" ok "the reader's value, read after the growth"
is "$("$BIGREAD" check "$D/grow" 5242881 1 2>&1)" ok "and a new reader's"
rm -f "$D"/fill*

# sizes: one chunk (262128 bytes) and around it, two, a last chunk small
# enough for an index page (1600 bytes) and one in pages of its own
sizes="4097 262127 262128 262129 524256 524257 5244160 5245560 26214400"
for size in $sizes; do
	is "$("$BIGREAD" write "$D/v$size" "$size" $((size % 1000)))" ok \
		"write $size bytes"
done
for size in $sizes; do
	is "$("$BIGREAD" check "$D/v$size" "$size" $((size % 1000)) 2>&1)" ok \
		"every read of $size bytes exact"
done
remount
for size in 262129 5244160 26214400; do
	is "$("$BIGREAD" check "$D/v$size" "$size" $((size % 1000)) 2>&1)" ok \
		"after a remount: $size bytes"
done
if [ "$(id -u)" = 0 ]; then
	sync
	echo 3 > /proc/sys/vm/drop_caches
	is "$("$BIGREAD" check "$D/v26214400" 26214400 400 2>&1)" ok \
		"with the store's file out of the page cache"
fi

# a reader keeps the old value while the key is replaced, its chunks
# dropped after it closes and their pages given to other values meanwhile
"$BIGREAD" hold "$D/v5245560" 5245560 560 "$TEST_DIR/ready2" \
	"$TEST_DIR/go2" > "$TEST_DIR/hold2" 2>&1 &
holder=$!
wait_file "$TEST_DIR/ready2"
is "$("$BIGREAD" write "$D/v5245560" 5245560 77)" ok "the key replaced"
bad=0
for i in 1 2 3; do
	rm -f "$D/v524256" "$D/churn"
	[ "$("$BIGREAD" write "$D/churn" 5245560 $((20 + i)))" = ok ] ||
		bad=$((bad + 1))
	[ "$("$BIGREAD" write "$D/v524256" 524256 $((30 + i)))" = ok ] ||
		bad=$((bad + 1))
done
is "$bad" 0 "other values written and deleted meanwhile"
touch "$TEST_DIR/go2"
wait "$holder"
is "$(cat "$TEST_DIR/hold2")" ok "the reader got the old bytes, all of them"
is "$("$BIGREAD" check "$D/v5245560" 5245560 77 2>&1)" ok \
	"a new reader gets the new value"

# a writer's own content is read from it, not from the store
is "$("$BIGREAD" rw "$D/v5244160" 5244160 160 2>&1)" ok \
	"a writer reads its own bytes, then everyone does"
done_testing
