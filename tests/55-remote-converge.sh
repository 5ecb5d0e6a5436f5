#!/bin/sh
# Many hosts under concurrent writers (issue 18): three mounted hosts of
# one remote store, 4 writers on each (tests/hostload), random puts
# (some of 1.5 MiB, chunked), deletes, metadata and renames on the same
# keys for KVFS_CONVERGE_SECS (60) seconds, with two CPU-bound loops
# beside them.  Afterwards kvctl export of the namespace is byte for byte
# the same on the three hosts, their keys, values and metadata are
# PostgreSQL's, every call returned success, and each key holds what a
# model of the commit order allows: the value of a put that no
# acknowledged put or delete of the key began after, or nothing if a
# delete of it ended after the last put began.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"
: "${HOSTLOAD:=$top_builddir/tests/hostload}"
[ -x "$HOSTLOAD" ] || skip_all "hostload not built"
SECS=${KVFS_CONVERGE_SECS:-60}
NKEYS=24

hosts_store
for n in 1 2 3; do
	host_mount "$n" "$CI" || fail "host $n mounts"
done
mkdir "$(hmnt 1)/conv"
within 2000 sh -c "[ -d '$(hmnt 2)/conv' ] && [ -d '$(hmnt 3)/conv' ]" ||
	fail "the namespace reaches hosts 2 and 3"

start_load
pids=
for n in 1 2 3; do
	for w in 1 2 3 4; do
		"$HOSTLOAD" "$(hmnt "$n")/conv" "h$n.$w" "$SECS" "$NKEYS" \
			"$TEST_DIR/log.$n.$w" &
		pids="$pids $!"
	done
done
for p in $pids; do
	wait "$p" || fail "a writer ran to its end"
done
stop_load
ops=$(cat "$TEST_DIR"/log.* | wc -l)
pass "12 writers ran $SECS s: $ops operations"
bad=$(cat "$TEST_DIR"/log.* | awk '$6 != "OK" && $6 != "ENOENT"' | head -5)
is "$bad" "" "every call succeeded (or found no key: ENOENT)"

# the three exports become the same
export_of() {
	kv export "$(hmnt "$1")/conv" > "$TEST_DIR/export.$1"
}
same_exports() {
	export_of 1 && export_of 2 && export_of 3 &&
	cmp -s "$TEST_DIR/export.1" "$TEST_DIR/export.2" &&
	cmp -s "$TEST_DIR/export.1" "$TEST_DIR/export.3"
}
within 10000 same_exports
is "$?" 0 "kvctl export is byte for byte the same on the three hosts \
(${WITHIN_MS} ms after the writers)"
keys=$(grep -c '"key"' "$TEST_DIR/export.1")
ok "it holds keys ($keys)" test "$keys" -gt 0

# ... and PostgreSQL's
pg_psql a -c "SELECT convert_from(k.key, 'UTF8') || ' ' ||
	md5(substring(CASE WHEN k.chunked THEN (SELECT string_agg(c.data,
	''::bytea ORDER BY c.idx) FROM kvfs.chunks c WHERE c.gen = k.gen)
	ELSE coalesce(k.value, ''::bytea) END FROM 1 FOR k.size::int)) ||
	' ' || coalesce(k.metadata, '-') FROM kvfs.keys k JOIN
	kvfs.namespaces n ON n.id = k.ns AND NOT n.deleted
	WHERE n.name = 'conv' AND k.type = 1" | LC_ALL=C sort \
	> "$TEST_DIR/pg.sum"
for n in 1 2 3; do
	(cd "$(hmnt "$n")/conv" && for k in *; do
		[ -f "$k" ] || continue
		m=$(getfattr --only-values -n user.kv.metadata "$k" \
			2>/dev/null) || m=-
		echo "$k $(md5sum < "$k" | cut -d' ' -f1) $m"
	done) | LC_ALL=C sort > "$TEST_DIR/host.sum.$n"
	is "$(diff "$TEST_DIR/pg.sum" "$TEST_DIR/host.sum.$n" | head -5)" "" \
		"host $n's keys, values and metadata are PostgreSQL's"
done

# the model of the commit order, on the keys k*
for i in $(seq 0 $((NKEYS - 1))); do
	f=$(hmnt 1)/conv/k$i
	if [ -e "$f" ]; then
		echo "k$i $(head -n 1 "$f")"
	else
		echo "k$i -"
	fi
done > "$TEST_DIR/final"
wrong=$(cat "$TEST_DIR"/log.* | awk '
	NR == FNR { final[$1] = $2; next }
	$6 != "OK" { next }
	$1 == "P" { pid[$3] = 1; pkey[$3] = $2; pend[$3] = $5
		    if ($4 > lastput[$2]) lastput[$2] = $4 }
	$1 == "P" || $1 == "D" { n[$2]++; key[$2, n[$2]] = $3
		    start[$2, n[$2]] = $4 }
	$1 == "D" { if ($5 > lastdel[$2]) lastdel[$2] = $5 }
	END {
		for (k in final) {
			v = final[k]
			if (v == "-") {
				if (lastput[k] && lastdel[k] < lastput[k])
					print k ": absent, but a put began after " \
					      "the last delete ended"
				continue
			}
			if (!(v in pid) || pkey[v] != k) {
				print k ": " v " was never put there"
				continue
			}
			for (i = 1; i <= n[k]; i++)
				if (start[k, i] > pend[v] && key[k, i] != v) {
					print k ": holds " v ", but an operation" \
					      " began after it was acknowledged"
					break
				}
		}
	}' "$TEST_DIR/final" - | head -5)
is "$wrong" "" "each key holds what the commit order allows"
checked=$(grep -vc ' -$' "$TEST_DIR/final")
pass "($checked of $NKEYS keys k* hold a value)"

hosts_done 1 2 3
done_testing
