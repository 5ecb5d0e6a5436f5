#!/bin/sh
# Many hosts, memory (issue 18): values stream through a replica as they
# do in local mode.  Four concurrent 25 MiB writers on host 1 keep its
# peak RSS under 64 MiB; host 2, which follows them, and host 3, a new
# host copying the 100 MiB store when it mounts, stay under 64 MiB too
# (the feed reads a round's keys and chunks a batch at a time), and both
# have every value whole.  A new host mounted from a terminal shows the
# copy's progress there; one mounted from elsewhere says nothing of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"

hosts_store
host_mount 1 "$CI" || fail "host 1 mounts"
host_mount 2 "$CI" || fail "host 2 mounts"
mkdir "$(hmnt 1)/big"
within 2000 test -d "$(hmnt 2)/big"

peak_ok() {
	rss_peak_ok "$(host_pid "$1")" "$2"
}
whole() {
	for ch in A B C D; do
		[ "$("$FSOP" uniform "$(hmnt "$1")/big/$ch" 26214400)" = OK ] &&
			[ "$(head -c1 "$(hmnt "$1")/big/$ch")" = "$ch" ] ||
			return 1
	done
}

pids=
for ch in A B C D; do
	"$FSOP" fill "$(hmnt 1)/big/$ch" $ch 26214400 > "$TEST_DIR/out.$ch" &
	pids="$pids $!"
done
wait $pids
is "$(cat "$TEST_DIR"/out.*)" "OK
OK
OK
OK" "four 25 MiB writers on host 1"
peak_ok 1 "host 1, which wrote them"
# the peaks before any read: pages read through the store's map count in
# the RSS too (RssFile), shared with the page cache
rev() {
	kv status "$(hmnt "$1")" | sed 's/.*"revision":\([0-9]*\).*/\1/'
}
caught_up() {
	[ "$(rev 2)" = "$(rev 1)" ]
}
within 30000 caught_up
is "$?" 0 "host 2 follows them to host 1's revision $(rev 1) \
(${WITHIN_MS} ms)"
peak_ok 2 "host 2, which followed them"
host_mount 3 "$CI" || fail "host 3 mounts"
peak_ok 3 "host 3, new, which copied them when it mounted"
whole 2
is "$?" 0 "host 2 has the four values whole"
whole 3
is "$?" 0 "host 3 too"

ok "host 3, whose stderr is no terminal, showed no progress" \
	sh -c "! grep -q 'the remote store' '$TEST_DIR/h3.err'"
mkdir -p "$TEST_DIR/h4/mnt"
timeout 60 script -qec "'$KVFS_BIN' -o 'remote=$CI' '$TEST_DIR/h4/store' \
	'$TEST_DIR/h4/mnt'" /dev/null > "$TEST_DIR/h4.err" 2>&1
is "$?" 0 "host 4 mounts from a terminal (script)"
tr '\r' '\n' < "$TEST_DIR/h4.err" | sed 's/^/# /'
tr '\r' '\n' < "$TEST_DIR/h4.err" |
	grep -q '^kvfs: copying the remote store: [0-9]* keys, [0-9.]* MiB'
is "$?" 0 "it showed the copy's progress"
tr '\r' '\n' < "$TEST_DIR/h4.err" |
	grep -q '^kvfs: copied the remote store: 4 keys, 100.0 MiB in [0-9.]* s'
is "$?" 0 "and what it copied, once done"
whole 4
is "$?" 0 "host 4 has the four values whole"
fusermount3 -u "$TEST_DIR/h4/mnt"
is "$?" 0 "host 4 unmounts"

hosts_done 1 2 3
done_testing
