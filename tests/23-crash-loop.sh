#!/bin/sh
# SPEC 3 durability under load: 20 rounds, each killing the daemon with
# SIGKILL at a random moment while 4 writers create, overwrite, append
# to, rename, delete and set the metadata of keys, then remounting.
# Every operation acknowledged before the kill must be there, exactly;
# the one each writer had in flight may have happened whole or not at
# all; and the store opens without repair (mdb_stat reads it whole).
. "$(dirname "$0")/lib.sh"

: "${CRASHLOAD:=$top_builddir/tests/crashload}"
[ -x "$CRASHLOAD" ] || skip_all "crashload not built at $CRASHLOAD"
command -v mdb_stat >/dev/null || skip_all "no mdb_stat (lmdb-utils)"

D=$MNT/default
rounds=20
total=0
for round in $(seq 1 $rounds); do
	mount_kvfs || { fail "mount in round $round"; break; }
	rm -rf "$D"/w* 2>/dev/null
	pids=
	for w in 0 1 2 3; do
		"$CRASHLOAD" run "$D" "$w" "$round$w$$" "$TEST_DIR/w$w.log" \
			> "$TEST_DIR/w$w.count" 2>&1 &
		pids="$pids $!"
	done
	# 0.2 to 1.4 s of load
	sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" \
		'BEGIN { printf "%.2f", 0.2 + (r % 120) / 100 }')"
	kill_kvfs
	wait $pids
	mdb_stat -a "$STORE" > "$TEST_DIR/mdb_stat.out" 2>&1 ||
		fail "round $round: mdb_stat cannot read the store: $(tail -1 "$TEST_DIR/mdb_stat.out")"
	mount_kvfs || { fail "remount after the kill in round $round"; break; }
	out=$("$CRASHLOAD" check "$D" "$TEST_DIR"/w[0-3].log)
	case $out in
	"OK "*) total=$((total + ${out#OK }))
		pass "round $round: ${out#OK } acknowledged operations there" ;;
	*) fail "round $round: $out" ;;
	esac
	umount_kvfs
done
[ "$total" -gt 1000 ] &&
	pass "$rounds rounds: all $total acknowledged operations found exactly" ||
	fail "$rounds rounds: only $total operations checked"

done_testing
