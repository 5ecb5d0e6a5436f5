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
rss_peak_ok "$KVFS_PID" "four 25 MiB writers"
for ch in A B C D; do
	is "$(cat "$TEST_DIR/out.$ch") $("$FSOP" uniform "$D/$ch" 26214400) $(head -c1 "$D/$ch")" \
		"OK OK $ch" "25 MiB writer $ch stored whole"
done

done_testing
