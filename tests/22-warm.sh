#!/bin/sh
# After a mount, the pages of the store that the page cache holds are
# mapped by a thread of the daemon before readers need them, so that the
# first lookups of a large store do not each pay a page fault.
. "$(dirname "$0")/lib.sh"

mount_kvfs
is "$("$FSOP" populate "$MNT/default" 3000 1000)" OK "3,000 keys of 1000 bytes"
umount_kvfs
cat "$STORE/data.mdb" > /dev/null	# in the page cache now
pages=$(( $(stat -c %s "$STORE/data.mdb") / 4096 ))
mount_kvfs -d
for _ in $(seq 1 100); do
	line=$(grep 'cached pages mapped ahead' "$TEST_DIR/kvfs.err")
	[ -n "$line" ] && break
	sleep 0.05
done
mapped=$(echo "$line" | awk '{ print $3 }')
[ "${mapped:-0}" -ge $((pages * 9 / 10)) ] &&
	pass "mapped $mapped of the store's $pages pages at mount" ||
	fail "mapped ${mapped:-none} of the store's $pages pages ($line)"
rss=$(awk '/^RssFile:/ { print $2 }' "/proc/$KVFS_PID/status")
[ "$rss" -ge $((pages * 4 * 9 / 10)) ] &&
	pass "the daemon maps them ($rss KiB)" ||
	fail "the daemon maps only $rss KiB of $((pages * 4))"
is "$(cat "$MNT/default/k0" "$MNT/default/k2999" | wc -c)" 2000 \
	"and reads the keys whole"
umount_kvfs

done_testing
