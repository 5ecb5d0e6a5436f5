#!/bin/sh
# SPEC 3 atomicity: concurrent readers see the old value or the new one,
# never a mix, for values held in a record and values in chunks.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default

race() {
	key=$1 size=$2 secs=$3
	"$FSOP" fill "$D/$key" A "$size" >/dev/null
	: > "$TEST_DIR/bad.$key"
	end=$(( $(date +%s) + secs ))
	pids=
	for ch in A B; do
		( while [ "$(date +%s)" -lt $end ]; do
			"$FSOP" fill "$D/$key" $ch "$size" >/dev/null
		  done ) &
		pids="$pids $!"
	done
	for r in 1 2; do
		( n=0
		  while [ "$(date +%s)" -lt $end ]; do
			out=$("$FSOP" uniform "$D/$key" "$size")
			[ "$out" = OK ] || echo "$out" >> "$TEST_DIR/bad.$key"
			n=$((n + 1))
		  done
		  echo "$n" > "$TEST_DIR/reads.$key.$r" ) &
		pids="$pids $!"
	done
	wait $pids
	reads=$(( $(cat "$TEST_DIR/reads.$key.1") + $(cat "$TEST_DIR/reads.$key.2") ))
	is "$(sort -u "$TEST_DIR/bad.$key" | head -3)" "" \
		"$size-byte values: $reads reads during rewrites, none mixed"
}

race small 100 3
race mid 200000 3
race large 3000000 4

done_testing
