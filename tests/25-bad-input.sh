#!/bin/sh
# Bad input through the mount: every line of tests/bad-input.list is one
# system call that must fail with the errno SPEC.md or the README gives it
# (or a local filesystem would, where they are silent).  After each group
# of lines the daemon must still be up and answering, and a set of
# sentinel keys written first must be byte for byte as they were, values
# and extended attributes: bad input is refused and loses nothing.  At the
# end the daemon must exit 0 on unmount and a remount must show the
# sentinels whole.
#
# The list, one input a line, fields separated by a TAB:
#
#   EXPECT  OP  ARG...  [# why it is bad, and where its errno is written]
#
# EXPECT is the errno name the op prints (fsop's "OK" for the few control
# lines that set up the next ones), or its whole output with newlines as
# spaces.  OP is an fsop operation or one of the helpers below.  In ARG:
# @M, @D and @S at the start stand for the mount, its namespace "default"
# and the namespace "sentinel"; @REP(TEXT,N) is TEXT N times; @NOW(+N)
# and @NOW(-N) the clock in Unix seconds plus or minus N; @EMPTY, the
# whole argument, the empty string.  Then backslash escapes are expanded
# as printf %b does (\xNN, \t, \n, \\), after @REP, so @REP(\xc3\xa9,257)
# is 257 two-byte characters.  A NUL cannot go through argv: an xattr
# value holding one is given in hex to setfattr-hex.
#
# A line "[group]" starts a group; "[group]<TAB>OPTIONS" remounts the
# same store with those kvfs options first (the daemon must exit 0).
#
# Helpers:
#   setfattr-hex PATH NAME HEX   setfattr -v 0xHEX: the errno of its message
#   same-inode A B               OK if A and B are the same inode
#   same-list A B                OK if ls -a lists the same names in both
. "$(dirname "$0")/lib.sh"

LIST=$(cd "$(dirname "$0")" && pwd)/bad-input.list
[ -r "$LIST" ] || skip_all "no $LIST"
command -v setfattr >/dev/null || skip_all "no setfattr (package attr)"

tab=$(printf '\t')
nl='
'
# does echo (lib.sh prints with it) expand backslashes, as dash's does?
case $(echo 'a\\b') in
'a\b') echo_expands=yes ;;
*) echo_expands=no ;;
esac

# --- helpers -----------------------------------------------------------------
# Each line costs a few processes at most: the shell does the rest, since
# on a loaded machine every exec counts.

# errno_of MESSAGE: the errno name of a strerror() text at its end
errno_of() {
	case $1 in
	*"Invalid argument") echo EINVAL ;;
	*"Numerical result out of range") echo ERANGE ;;
	*"Operation not supported") echo EOPNOTSUPP ;;
	*"No data available") echo ENODATA ;;
	*"File exists") echo EEXIST ;;
	*"Argument list too long") echo E2BIG ;;
	*"No such file or directory") echo ENOENT ;;
	*"Permission denied") echo EACCES ;;
	*"Operation not permitted") echo EPERM ;;
	*"Read-only file system") echo EROFS ;;
	*) echo "UNKNOWN($1)" ;;
	esac
}

setfattr_hex() {
	msg=$(setfattr -n "$2" -v "0x$3" "$1" 2>&1) && echo OK && return
	errno_of "$msg"
}

same_inode() {
	a=$(stat -c %d:%i "$1" 2>&1)
	b=$(stat -c %d:%i "$2" 2>&1)
	if [ "$a" = "$b" ]; then echo OK; else echo "DIFFERENT $a $b"; fi
}

same_list() {
	if [ "$(ls -a "$1" 2>&1)" = "$(ls -a "$2" 2>&1)" ]; then
		echo OK
	else
		echo DIFFERENT
	fi
}

# subst TEXT FROM TO: TEXT with every FROM as TO, in $R
subst() {
	R=
	s_t=$1
	while :; do
		case $s_t in
		*"$2"*)
			R=$R${s_t%%"$2"*}$3
			s_t=${s_t#*"$2"}
			;;
		*)
			R=$R$s_t
			return
			;;
		esac
	done
}

# rep TEXT N: TEXT N times, by doubling, in $R
rep() {
	r_s=$1
	r_n=$2
	R=
	while [ "$r_n" -gt 0 ]; do
		[ $((r_n % 2)) -eq 1 ] && R=$R$r_s
		r_s=$r_s$r_s
		r_n=$((r_n / 2))
	done
}

# expand ARG: the argument as the op gets it, in $X
expand() {
	x=$1
	case $x in
	@EMPTY) X=; return ;;
	@M | @M/*) x=$MNT${x#@M} ;;
	@D | @D/*) x=$MNT/default${x#@D} ;;
	@S | @S/*) x=$MNT/sentinel${x#@S} ;;
	esac
	while :; do
		case $x in
		*'@REP('*')'*)
			e_pre=${x%%"@REP("*}
			e_rest=${x#*"@REP("}
			e_inner=${e_rest%%)*}
			rep "${e_inner%,*}" "${e_inner##*,}"
			x=$e_pre$R${e_rest#*)}
			;;
		*'@NOW('*')'*)
			e_pre=${x%%"@NOW("*}
			e_rest=${x#*"@NOW("}
			e_inner=${e_rest%%)*}
			x=$e_pre$(($(date +%s) $e_inner))${e_rest#*)}
			;;
		*@NOW*)
			x=${x%%@NOW*}$(date +%s)${x#*@NOW}
			;;
		*) break ;;
		esac
	done
	case $x in
	*\\*)
		# coreutils printf: dash's own knows no \xNN; the X keeps a
		# trailing newline from the command substitution
		X=$(env printf '%bX' "$x")
		X=${X%X}
		;;
	*) X=$x ;;
	esac
}

# run OP ARGS...: what the op prints
run() {
	r_op=$1
	shift
	case $r_op in
	setfattr-hex) setfattr_hex "$@" ;;
	same-inode) same_inode "$@" ;;
	same-list) same_list "$@" ;;
	*) "$FSOP" "$r_op" "$@" 2>&1 </dev/null ;;
	esac
}

# --- sentinels ---------------------------------------------------------------

# keys (below the mount) with known values and xattrs; ORIG holds the
# values as written, under the keys' last names
SENTINELS="sentinel/plain sentinel/meta sentinel/dir/nested sentinel/big
	sentinel/k1000 default/keep"
ORIG=$TEST_DIR/orig
mkdir -p "$ORIG"

make_sentinels() {
	mkdir "$MNT/sentinel" "$MNT/sentinel/dir"
	printf 'plain value\n' > "$ORIG/plain"
	# every byte value once, NUL included
	env printf "$(seq 0 255 | awk '{ printf "\\x%02x", $1 }')" \
		> "$ORIG/meta"
	printf 'nested\n' > "$ORIG/nested"
	head -c 100000 /dev/urandom > "$ORIG/big"
	head -c 1000 /dev/zero | tr '\0' a > "$ORIG/k1000"
	printf 'keep\n' > "$ORIG/keep"
	for p in $SENTINELS; do
		cp "$ORIG/${p##*/}" "$MNT/$p"
	done
	S=$MNT/sentinel
	# fsop, not setfattr, which would take '"big"' for the quoted text big
	sx "$S/meta" user.kv.metadata '{"sentinel":true,"u":"\u00fc ü"}'
	sx "$S/meta" user.kv.expiration $(($(date +%s) + 86400))
	sx "$S/dir/nested" user.kv.metadata '[1,2,3]'
	sx "$S/big" user.kv.metadata '"big"'
	sx "$MNT/default/keep" user.kv.metadata '{"keep":1}'
	sx "$MNT/default/keep" user.kv.expiration_ttl 7200
}

# sx PATH NAME VALUE: set an xattr of a sentinel
sx() {
	[ "$("$FSOP" setxattr "$@")" = OK ] || echo "# cannot set $2 of $1"
}

# snapshot DIR: the sentinels' sizes, values, xattrs (hex) and the tree of
# their namespace
snapshot() {
	rm -rf "$1"
	mkdir -p "$1"
	# shellcheck disable=SC2086
	(
		cd "$MNT" || exit 1
		wc -c $SENTINELS > "$1/sizes" 2>&1
		cat $SENTINELS > "$1/values" 2>&1
		getfattr -d -m - -e hex $SENTINELS > "$1/xattrs" 2>&1
		cd sentinel && { find . | sort; } > "$1/tree" 2>&1
	)
}

# check_alive WHAT: the daemon runs and the mount answers
check_alive() {
	probe=$MNT/default/probe
	if kill -0 "$KVFS_PID" 2>/dev/null && is_mounted &&
	   [ "$("$FSOP" put "$probe" "$1")" = OK ] &&
	   [ "$(cat "$probe")" = "$1" ] && [ "$("$FSOP" unlink "$probe")" = OK ]
	then
		pass "$1: the daemon is up and the mount answers"
	else
		fail "$1: the daemon is up and the mount answers"
		echo "# kvfs stderr: $(tail -5 "$TEST_DIR/kvfs.err")"
	fi
}

# check_sentinels WHAT: byte for byte as first written
check_sentinels() {
	snapshot "$TEST_DIR/now"
	if d=$(diff -r "$TEST_DIR/snap0" "$TEST_DIR/now" 2>&1); then
		pass "$1: sentinel values and xattrs intact"
	else
		fail "$1: sentinel values and xattrs intact"
		echo "$d" | head -20 | sed 's/^/#   /'
	fi
}

# --- the run -----------------------------------------------------------------

mount_kvfs || { fail "mount"; done_testing; }
make_sentinels
snapshot "$TEST_DIR/snap0"
# the first snapshot is what was written
names=
for p in $SENTINELS; do
	names="$names ${p##*/}"
done
# shellcheck disable=SC2086
(cd "$ORIG" && cat $names) | cmp -s - "$TEST_DIR/snap0/values" &&
	[ "$(wc -c < "$ORIG/meta")" -eq 256 ] &&
	grep -q '^user.kv.metadata=0x7b2273656e74696e656c223a747275652c2275223a225c7530306663' \
		"$TEST_DIR/snap0/xattrs" &&
	[ "$(grep -c '^user.kv.metadata=' "$TEST_DIR/snap0/xattrs")" = 4 ] &&
	[ "$(grep -c '^user.kv.expiration=' "$TEST_DIR/snap0/xattrs")" = 2 ] &&
	pass "sentinels written and read back" ||
	fail "sentinels written and read back"

group=
ninputs=0
end_group() {
	[ -n "$group" ] || return 0
	check_alive "after [$group]"
	check_sentinels "after [$group]"
}

while IFS= read -r line <&3; do
	case $line in
	'' | '#'*) continue ;;
	'['*)
		end_group
		group=${line%%]*}
		group=${group#[}
		case $line in
		*"$tab"*)
			opts=${line#*"$tab"}
			umount_kvfs
			is "$?" 0 "[$group]: the daemon exits 0 on unmount"
			# shellcheck disable=SC2086
			mount_kvfs $opts ||
				fail "[$group]: mount with $opts"
			;;
		esac
		continue
		;;
	esac
	# the fields, up to a comment
	want=${line%%"$tab"*}
	rest=${line#*"$tab"}
	op=${rest%%"$tab"*}
	rest=${rest#"$op"}
	raw=
	why=
	n=0
	a1= a2= a3= a4= a5=
	while [ -n "$rest" ]; do
		rest=${rest#"$tab"}
		f=${rest%%"$tab"*}
		rest=${rest#"$f"}
		case $f in
		'#'*)
			why=${f#\#}
			break
			;;
		esac
		n=$((n + 1))
		raw="$raw $f"
		expand "$f"
		eval "a$n=\$X"
	done
	case $n in
	0) got=$(run "$op") ;;
	1) got=$(run "$op" "$a1") ;;
	2) got=$(run "$op" "$a1" "$a2") ;;
	3) got=$(run "$op" "$a1" "$a2" "$a3") ;;
	4) got=$(run "$op" "$a1" "$a2" "$a3" "$a4") ;;
	*) got=$(run "$op" "$a1" "$a2" "$a3" "$a4" "$a5") ;;
	esac
	subst "$got" "$nl" " "
	got=$R
	[ "$want" = OK ] || ninputs=$((ninputs + 1))
	# the description shows the line as written, not the expanded bytes;
	# TAP would read "# ..." as a directive
	subst "[$group] $want: $op$raw -$why" '#' _
	[ "$echo_expands" = yes ] && subst "$R" '\' '\\'
	is "$got" "$want" "$R"
done 3< "$LIST"
end_group

[ "$ninputs" -ge 100 ] && pass "$ninputs bad inputs in the list" ||
	fail "only $ninputs bad inputs in the list"

umount_kvfs
is "$?" 0 "the daemon exits 0 on unmount after all the bad input"
mount_kvfs
check_sentinels "after a remount"
umount_kvfs
is "$?" 0 "and again after the remount"

done_testing
