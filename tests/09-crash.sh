#!/bin/sh
# SPEC 3 durability: what close() acknowledged survives kill -9 of the
# daemon, no value is torn, and the store opens without repair.
. "$(dirname "$0")/lib.sh"

D=$MNT/default
val() { printf 'value %s %s' "$1" "$(printf '=%.0s' $(seq 1 $(( $1 % 97 ))))"; }

# writers of small keys, killed at a random moment
round=0
while [ $round -lt 3 ]; do
	round=$((round + 1))
	mount_kvfs || { fail "mount in round $round"; break; }
	: > "$TEST_DIR/acked"
	(
		i=0
		while :; do
			i=$((i + 1))
			[ "$("$FSOP" put "$D/r$round-$i" "$(val $i)" 2>/dev/null)" = OK ] ||
				break
			echo "$i" >> "$TEST_DIR/acked"
		done
	) &
	writer=$!
	sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom) % 9 + 3 ))"
	kill_kvfs
	wait "$writer"
	mount_kvfs || { fail "remount after kill in round $round"; break; }
	n=0; bad=0
	for i in $(cat "$TEST_DIR/acked"); do
		n=$((n + 1))
		[ "$(cat "$D/r$round-$i")" = "$(val $i)" ] || bad=$((bad + 1))
	done
	last=$(tail -1 "$TEST_DIR/acked")
	next=$((${last:-0} + 1))
	got=$(cat "$D/r$round-$next" 2>/dev/null)
	if [ -z "$got" ] || [ "$got" = "$(val $next)" ]; then
		pass "round $round: the key in flight is absent, empty or whole"
	else
		fail "round $round: the key in flight is torn: $got"
	fi
	is "$bad" 0 "round $round: all $n acknowledged keys intact after kill -9"
	umount_kvfs
done

# a 25 MiB write killed before its close: the old value stays
mount_kvfs
"$FSOP" fill "$D/big" A 1048576 >/dev/null
"$FSOP" put "$D/big" "$(head -c 100000 /dev/zero | tr '\0' B)" 30 >/dev/null &
bg=$!
"$FSOP" fill "$D/big2" A 26214400 >/dev/null
"$FSOP" fill "$D/big2" B 26214400 > "$TEST_DIR/big2.out" &
bg2=$!
sleep 0.3
kill_kvfs
wait $bg $bg2 2>/dev/null
mount_kvfs
is "$("$FSOP" uniform "$D/big" 1048576)" OK "a write not yet closed at the kill: old value"
r=$("$FSOP" uniform "$D/big2" 26214400)
is "$r" OK "a 25 MiB value killed mid-write is one value or the other, whole"
want=A
[ "$(cat "$TEST_DIR/big2.out")" = OK ] && want=B
is "$(head -c 1 "$D/big2")" $want "and the new one only if its close returned"

# large values committed in several transactions, killed at random
for round in 1 2; do
	: > "$TEST_DIR/acked"
	(
		c=0
		while :; do
			c=$((c + 1))
			ch=$(printf "\\$(printf %o $((65 + c % 26)))")
			[ "$("$FSOP" fill "$D/multi" "$ch" 9437184 2>/dev/null)" = OK ] || break
			echo "$ch" >> "$TEST_DIR/acked"
		done
	) &
	writer=$!
	sleep "1.$(( $(od -An -N1 -tu1 /dev/urandom) % 9 ))"
	kill_kvfs
	wait "$writer"
	mount_kvfs
	last=$(tail -1 "$TEST_DIR/acked")
	got=$(head -c 1 "$D/multi")
	is "$("$FSOP" uniform "$D/multi" 9437184)" OK "round $round: a 9 MiB value is whole after kill -9"
	case $got in
		"$last") pass "round $round: it is the last acknowledged one" ;;
		*) next=$(printf "\\$(printf %o $(( $(printf %d "'$last") + 1 )))")
		   if [ "$got" = "$next" ] || { [ "$last" = Z ] && [ "$got" = A ]; }; then
			pass "round $round: it is the one in flight"
		   else
			fail "round $round: $got, last acknowledged $last"
		   fi ;;
	esac
done
umount_kvfs
is "$?" 0 "the store unmounts cleanly after all that"
[ -z "$(ls "$STORE" | grep -v -e '^data.mdb$' -e '^lock.mdb$' -e '^kvfs.lock$' -e '^kvfs.sync$')" ] &&
	pass "no leftover files in the store" || fail "leftover files: $(ls "$STORE")"

done_testing
