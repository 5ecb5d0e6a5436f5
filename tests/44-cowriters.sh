#!/bin/sh
# Two writers of one key, in processes of their own, with every order of
# their closes (tests/cowriters.c): the last to close wins, byte for
# byte, with stat giving its size, for O_WRONLY and O_RDWR, with and
# without O_TRUNC (without, a writer's bytes go over the value it opened).
# A writer whose key is unlinked, or renamed over, before it closes
# writes nowhere, as into an unlinked file: its close succeeds and the
# key keeps what it holds.  A child process forked with a writer's
# descriptor closes a copy of it (at its exit, or at exec for a
# close-on-exec descriptor): that close commits, as the close of a dup
# does in the writer's own process, and a later close with nothing
# written since commits nothing again.
. "$(dirname "$0")/lib.sh"

: "${COWRITERS:=$top_builddir/tests/cowriters}"
[ -x "$COWRITERS" ] || skip_all "cowriters not built at $COWRITERS"

OLD=0123456789abcdefghijklmnopqrstuvwxyz
AT='the value written last'
BT='other value'

# run STEP...: cowriters on $K, each step's result a word
run() {
	echo $("$COWRITERS" "$K" "$@" 2>&1)
}

# value FLAGS TEXT: what a writer opened with FLAGS over $OLD leaves
value() {
	case $1 in
	*trunc*) printf '%s' "$2" ;;
	*) printf '%s%s' "$2" "$(printf '%s' "$OLD" | cut -c$((${#2} + 1))-)" ;;
	esac
}

# key: its bytes and its size by stat
key() {
	printf '%s|%s' "$(cat "$K")" "$(stat -c %s "$K")"
}

mount_kvfs
D=$MNT/default
K=$D/k

# --- two writers, every order of close ------------------------------------
for af in wronly wronly,trunc rdwr rdwr,trunc; do
	for bf in wronly wronly,trunc rdwr rdwr,trunc; do
		for order in seq both; do
			for last in A B; do
				printf '%s' "$OLD" > "$K"
				if [ $order = seq ]; then
					set -- A=open:$af A=write:"$AT" \
						B=open:$bf B=write:"$BT"
				else
					set -- A=open:$af B=open:$bf \
						A=write:"$AT" B=write:"$BT"
				fi
				if [ $last = A ]; then
					want=$(value $af "$AT")
					set -- "$@" B=close A=fstat A=close
				else
					want=$(value $bf "$BT")
					set -- "$@" A=close B=fstat B=close
				fi
				out=$(run "$@")
				is "$(key) $out" \
				   "$want|${#want} OK OK OK OK OK ${#want} OK" \
				   "A $af, B $bf, $order, $last closes last: its value, its size"
			done
		done
	done
done

# --- the key goes between a writer's open and its close ---------------------
for af in wronly wronly,trunc rdwr rdwr,trunc; do
	printf '%s' "$OLD" > "$K"
	out=$(run A=open:$af A=write:"$AT" M=unlink A=close)
	is "$out $("$FSOP" stat "$K")" "OK OK OK OK ENOENT" \
		"A $af, key unlinked before its close: the close succeeds, no key"

	printf '%s' "$OLD" > "$K"
	out=$(run A=open:$af A=write:"$AT" M=unlink M=put:"$BT" A=close)
	is "$(key) $out" "$BT|${#BT} OK OK OK OK OK" \
		"A $af, key unlinked and made again: the new key's value stays"

	printf '%s' "$OLD" > "$K"
	printf '%s' "renamed over" > "$D/k2"
	out=$(run A=open:$af A=write:"$AT" M=rename:"$D/k2" A=close)
	is "$(key) $out" "renamed over|12 OK OK OK OK" \
		"A $af, key renamed over: the value renamed there stays"
done

# --- a copy of the descriptor closed, by a child or by A itself ------------
for copy in fork-close dup-close; do
	for bf in wronly wronly,trunc; do
		printf '%s' "$OLD" > "$K"
		out=$(run A=open:wronly,trunc A=write:"$AT" A=$copy \
			B=open:$bf B=write:"$BT" B=close A=close)
		case $bf in
		*trunc*) want=$BT ;;
		*) want="other valueritten last" ;;  # B opened A's value
		esac
		is "$(key) $out" "$want|${#want} OK OK OK OK OK OK OK" \
			"$copy commits A's value; B $bf after it; A's close adds nothing"

		printf '%s' "$OLD" > "$K"
		out=$(run A=open:wronly,trunc A=write:"$AT" A=$copy \
			B=open:$bf B=write:"$BT" B=close A=write:! A=close)
		is "$(key) $out" "$AT!|23 OK OK OK OK OK OK OK OK" \
			"written after $copy: A's close commits all A's content"
	done
done

done_testing
