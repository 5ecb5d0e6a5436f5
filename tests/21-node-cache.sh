#!/bin/sh
# The daemon's memory is bounded by node_cache, not by the number of keys
# the kernel has looked up: past it, kvfs asks the kernel to forget the
# least recently used names, and those keys stay one lookup away.
. "$(dirname "$0")/lib.sh"

# peak_nodes: the most nodes the trim saw in the daemon's log (0: none)
peak_nodes() {
	grep -o 'node cache: [0-9]* nodes' "$TEST_DIR/kvfs.err" |
		awk '{ if ($3 > max) max = $3 } END { print max + 0 }'
}

mount_kvfs -d -o node_cache=100
D=$MNT/default
mkdir "$D/walk"
is "$("$FSOP" populate "$D/walk" 3000 10)" OK "3,000 keys created"
n=$(ls -l "$D/walk" | grep -c '^-')
is "$n" 3000 "ls -l looks up all 3,000"
is "$(find "$D/walk" -type f | wc -l)" 3000 "and find again"
ok "past node_cache=100 the kernel is asked to forget" \
	grep -q 'node cache: .*asked the kernel to forget [1-9]' "$TEST_DIR/kvfs.err"
peak=$(peak_nodes)
[ "$peak" -gt 100 ] && [ "$peak" -le 1000 ] &&
	pass "the daemon never held more than $peak nodes (of 3,000 keys)" ||
	fail "the daemon held up to $peak nodes"
is "$(cat "$D/walk/k0" "$D/walk/k1499" "$D/walk/k2999" | wc -c)" 30 \
	"keys whose names were forgotten read whole again"
is "$(stat -c %s "$D/walk/k7")" 10 "and stat again"
echo new > "$D/walk/k7"
is "$(cat "$D/walk/k7")" new "and take new values"
umount_kvfs

# the control: with the default (100,000) nothing is trimmed
: > "$TEST_DIR/kvfs.err"
mount_kvfs -d
is "$(ls -l "$D/walk" | grep -c '^-')" 3000 "the default keeps 3,000 names"
is "$(peak_nodes)" 0 "without asking the kernel to forget any"
umount_kvfs

done_testing
