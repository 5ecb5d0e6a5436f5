#!/bin/sh
# The daemon's memory does not grow with value size: four concurrent
# 25 MiB writers keep its peak RSS under 64 MiB.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default
pids=
for ch in A B C D; do
	"$FSOP" fill "$D/$ch" $ch 26214400 > "$TEST_DIR/out.$ch" &
	pids="$pids $!"
done
wait $pids
peak=$(daemon_rss_peak)
if [ "${KVFS_SANITIZERS:-no}" = yes ]; then
	pass "peak RSS ${peak} KiB # SKIP sanitizer shadow memory counts too"
elif [ "$peak" -lt 65536 ]; then
	pass "peak RSS ${peak} KiB < 64 MiB"
else
	fail "peak RSS ${peak} KiB >= 64 MiB"
fi
for ch in A B C D; do
	is "$(cat "$TEST_DIR/out.$ch") $("$FSOP" uniform "$D/$ch" 26214400) $(head -c1 "$D/$ch")" \
		"OK OK $ch" "25 MiB writer $ch stored whole"
done

done_testing
