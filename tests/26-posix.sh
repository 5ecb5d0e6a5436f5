#!/bin/sh
# The POSIX rules kvfs keeps for the operations it supports, each with the
# errno, bytes or times a local filesystem gives.  The list is written once
# (posix_rules) and run twice: on a plain directory of the local filesystem
# holding $TEST_DIR (ext4 or tmpfs), and in a namespace of kvfs mounted with
# allow_other,default_permissions (so that an unprivileged user reaches it
# and the kernel checks modes and owners, as it does on the local one).
# Every assertion names the expected value, so both sides must give it: the
# local run shows the expectation is what a local filesystem does, the kvfs
# run that kvfs does the same.  Where kvfs differs on purpose (README, SPEC),
# the rule is not in the list and kvfs's own answer is asserted after it.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "chown and the unprivileged user need root"
command -v setpriv >/dev/null || skip_all "no setpriv (util-linux)"

umask 022
# the unprivileged user must reach both roots through $TEST_DIR (0700)
chmod 755 "$TEST_DIR"
NOBODY=65534

# as_nobody CMD...: CMD as uid and gid 65534, no supplementary groups
as_nobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}

# op ARGS...: fsop's answer (errno name, "OK ..."), stderr included
op() {
	"$FSOP" "$@" 2>&1
}

# nobody_op ARGS...: the same as the unprivileged user
nobody_op() {
	as_nobody "$FSOP" "$@" 2>&1
}

# mtime, ctime, atime FILE: that time to the nanosecond, SEC.NSEC
mtime() { stat -c %.9Y "$1"; }
ctime() { stat -c %.9Z "$1"; }
atime() { stat -c %.9X "$1"; }

# since T0 T1: "later", "same" or "earlier" (T as SEC.NSEC)
since() {
	a=$(echo "$1" | tr -d .)
	b=$(echo "$2" | tr -d .)
	if [ "$b" -gt "$a" ]; then echo later
	elif [ "$b" -eq "$a" ]; then echo same
	else echo earlier
	fi
}

# A time far in the past, set explicitly before an operation that should
# move mtime to now; ctime cannot be set, so its checks sleep a tick (ext4
# takes ctime from a clock of a few milliseconds' resolution).
PAST=1000000000
tick() { sleep 0.02; }

# put FILE TEXT: FILE holds exactly TEXT
put() {
	printf %s "$2" > "$1"
}

# posix_rules ROOT LABEL: the list, in ROOT (an empty directory, 0755,
# owned by root), each assertion's description prefixed with LABEL.
posix_rules() {
	R=$1
	L=$2

	# --- open(2) flags
	put "$R/f" abc
	is "$(op creat-excl "$R/f")" EEXIST "$L: O_CREAT|O_EXCL on an existing file: EEXIST"
	is "$(cat "$R/f")" abc "$L: and the file is untouched"
	is "$(op openf "$R/new" wronly,creat,excl)" OK "$L: O_CREAT|O_EXCL on a new name: created"
	is "$(stat -c '%F %s %a' "$R/new")" "regular empty file 0 644" \
		"$L: empty, mode 0644 & ~umask"
	mkdir "$R/d"
	is "$(op openf "$R/d" wronly,creat,excl)" EEXIST "$L: O_CREAT|O_EXCL on a directory: EEXIST"
	is "$(op openf "$R/d" wronly,creat)" EISDIR "$L: O_CREAT on a directory: EISDIR"
	is "$(op openf "$R/missing" rdonly)" ENOENT "$L: open of a missing name without O_CREAT: ENOENT"
	is "$(op openf "$R/nodir/x" wronly,creat)" ENOENT "$L: O_CREAT in a missing directory: ENOENT"
	is "$(op openf "$R/f/x" wronly,creat)" ENOTDIR "$L: O_CREAT below a file: ENOTDIR"
	is "$(op openf "$R/d" wronly)" EISDIR "$L: a directory opened O_WRONLY: EISDIR"
	is "$(op openf "$R/d" rdwr)" EISDIR "$L: a directory opened O_RDWR: EISDIR"
	is "$(op openf "$R/d" rdonly)" OK "$L: a directory opened O_RDONLY"
	is "$(op openf "$R/f" rdonly,directory)" ENOTDIR "$L: O_DIRECTORY on a file: ENOTDIR"
	is "$(op stat "$R/f/")" ENOTDIR "$L: a file named with a trailing slash: ENOTDIR"

	put "$R/tr" abcdef
	is "$(op openf "$R/tr" wronly,trunc)" OK "$L: O_TRUNC"
	is "$(stat -c %s "$R/tr")$(cat "$R/tr")" 0 "$L: O_TRUNC empties the file"
	put "$R/tr" abcdef
	is "$(op openf "$R/tr" rdonly)" OK "$L: O_RDONLY without O_TRUNC"
	is "$(cat "$R/tr")" abcdef "$L: leaves the content"

	put "$R/a" abc
	is "$(op seek-write "$R/a" wronly,append 0 XY)" "OK 5" \
		"$L: O_APPEND: a write after lseek(0) lands at the end, offset 5"
	is "$(cat "$R/a")" abcXY "$L: content after the O_APPEND write"
	is "$(op pwrite "$R/a" wronly,append 1 Z)" OK "$L: pwrite at 1 with O_APPEND"
	is "$(cat "$R/a")" abcXYZ "$L: lands at the end too (Linux pwrite with O_APPEND)"
	is "$(op seek-write "$R/a" rdwr,append 2 W)" "OK 7" "$L: O_RDWR|O_APPEND appends too"
	is "$(cat "$R/a")" abcXYZW "$L: content after the O_RDWR|O_APPEND write"
	is "$(op seek-write "$R/a" rdwr 2 W)" "OK 3" "$L: without O_APPEND, at the offset"
	is "$(cat "$R/a")" abWXYZW "$L: content after the positioned write"

	put "$R/r" abc
	is "$(op pwrite "$R/r" rdonly 0 X)" EBADF "$L: write on an O_RDONLY descriptor: EBADF"
	is "$(op pread "$R/r" wronly 0 3)" EBADF "$L: read on an O_WRONLY descriptor: EBADF"
	is "$(cat "$R/r")" abc "$L: the file is unchanged"

	# --- reads at and past the end
	is "$(op pread "$R/r" rdonly 1 10)" "OK 2 bc" "$L: a read across the end is short"
	is "$(op pread "$R/r" rdonly 3 10)" "OK 0 " "$L: a read at the end: 0 bytes"
	is "$(op pread "$R/r" rdonly 100 10)" "OK 0 " "$L: a read past the end: 0 bytes"

	# --- ftruncate, truncate
	put "$R/s" abcdef
	is "$(op ftrunc "$R/s" wronly 3)" OK "$L: ftruncate shorter"
	is "$(cat "$R/s")" abc "$L: ftruncate keeps the head"
	is "$(op ftrunc "$R/s" rdwr 6)" OK "$L: ftruncate longer"
	is "$(od -An -c "$R/s" | tr -s ' ')" " a b c \\0 \\0 \\0" "$L: grown with zeros"
	is "$(op ftrunc "$R/s" rdonly 1)" EINVAL "$L: ftruncate of an O_RDONLY descriptor: EINVAL"
	is "$(op truncate "$R/s" 2)" OK "$L: truncate shorter"
	is "$(od -An -c "$R/s" | tr -s ' ')" " a b" "$L: truncate keeps the head"
	is "$(op truncate "$R/s" 4)" OK "$L: truncate longer"
	is "$(od -An -c "$R/s" | tr -s ' ')" " a b \\0 \\0" "$L: grown with zeros"
	is "$(op truncate "$R/s" -1)" EINVAL "$L: truncate to a negative size: EINVAL"
	is "$(op truncate "$R/d" 0)" EISDIR "$L: truncate of a directory: EISDIR"
	is "$(op ftrunc "$R/s" wronly 0)$(stat -c %s "$R/s")" OK0 "$L: ftruncate to 0"

	# --- rename
	put "$R/src" new
	put "$R/dst" old
	ino=$(stat -c %i "$R/src")
	is "$(op rename-held "$R/src" "$R/dst")" "OK old" \
		"$L: rename over a file; a reader of the old target reads it whole"
	is "$(cat "$R/dst") $(stat -c %i "$R/dst")" "new $ino" \
		"$L: the target is the source, same inode"
	is "$(op stat "$R/src")" ENOENT "$L: the source name is gone"
	is "$(op rename "$R/dst" "$R/dst")" OK "$L: rename of a file to itself: no-op"
	is "$(cat "$R/dst")" new "$L: the file is intact"
	mkdir "$R/empty" "$R/full" "$R/full/in" "$R/dir" "$R/dir/sub"
	put "$R/dir/sub/k" k
	is "$(op rename "$R/dst" "$R/empty")" EISDIR "$L: file over an empty directory: EISDIR"
	is "$(op rename "$R/dir" "$R/dst")" ENOTDIR "$L: directory over a file: ENOTDIR"
	is "$(op rename "$R/dir" "$R/full")" ENOTEMPTY \
		"$L: directory over a non-empty directory: ENOTEMPTY"
	is "$(op rename "$R/dir" "$R/dir")" OK "$L: rename of a directory to itself: no-op"
	is "$(op rename "$R/dir" "$R/dir/sub/into")" EINVAL \
		"$L: directory into its own subdirectory: EINVAL"
	is "$(op rename "$R/dir" "$R/empty")" OK "$L: directory over an empty directory"
	is "$(cat "$R/empty/sub/k")" k "$L: its content moved with it"
	is "$(op stat "$R/dir")" ENOENT "$L: the old directory name is gone"
	put "$R/x" x
	is "$(op rename-noreplace "$R/x" "$R/dst")" EEXIST "$L: RENAME_NOREPLACE onto a file: EEXIST"
	is "$(cat "$R/x") $(cat "$R/dst")" "x new" "$L: both files intact"
	is "$(op rename-noreplace "$R/x" "$R/full")" EEXIST \
		"$L: RENAME_NOREPLACE onto a directory: EEXIST"
	is "$(op rename "$R/nothing" "$R/y")" ENOENT "$L: rename of a missing name: ENOENT"
	is "$(op rename "$R/x" "$R/nodir/y")" ENOENT "$L: rename into a missing directory: ENOENT"
	is "$(op rename "$R/x" "$R/dst/y")" ENOTDIR "$L: rename below a file: ENOTDIR"

	# --- rmdir, unlink, mkdir
	is "$(op rmdir "$R/full")" ENOTEMPTY "$L: rmdir of a non-empty directory: ENOTEMPTY"
	is "$(op rmdir "$R/x")" ENOTDIR "$L: rmdir of a file: ENOTDIR"
	is "$(op rmdir "$R/nothing")" ENOENT "$L: rmdir of a missing name: ENOENT"
	is "$(op rmdir "$R/full/in/.")" EINVAL "$L: rmdir of .: EINVAL"
	is "$(op unlink "$R/full")" EISDIR "$L: unlink of a directory: EISDIR"
	is "$(op unlink "$R/nothing")" ENOENT "$L: unlink of a missing name: ENOENT"
	is "$(op mkdir "$R/full")" EEXIST "$L: mkdir of an existing directory: EEXIST"
	is "$(op mkdir "$R/x")" EEXIST "$L: mkdir over a file: EEXIST"
	is "$(op mkdir "$R/x/y")" ENOTDIR "$L: mkdir below a file: ENOTDIR"
	is "$(op rmdir "$R/full/in")$(op rmdir "$R/full")" OKOK "$L: rmdir once emptied"

	# --- utimensat
	put "$R/u" u
	is "$(op utimens "$R/u" 1000000000.123456789 1100000000.987654321)" OK \
		"$L: utimensat with explicit times"
	is "$(atime "$R/u") $(mtime "$R/u")" "1000000000.123456789 1100000000.987654321" \
		"$L: both kept to the nanosecond"
	is "$(op utimens "$R/u" omit 1200000000.5)" OK "$L: UTIME_OMIT for atime"
	is "$(atime "$R/u") $(mtime "$R/u")" "1000000000.123456789 1200000000.000000005" \
		"$L: atime kept, mtime set"
	is "$(op utimens "$R/u" 1300000000 omit)" OK "$L: UTIME_OMIT for mtime"
	is "$(atime "$R/u") $(mtime "$R/u")" "1300000000.000000000 1200000000.000000005" \
		"$L: mtime kept, atime set"
	c0=$(ctime "$R/u")
	tick
	is "$(op utimens "$R/u" omit omit)" OK "$L: UTIME_OMIT for both"
	is "$(atime "$R/u") $(mtime "$R/u") $(since "$c0" "$(ctime "$R/u")")" \
		"1300000000.000000000 1200000000.000000005 same" "$L: changes nothing, not even ctime"
	before=$(date +%s)
	tick
	is "$(op utimens "$R/u" now now)" OK "$L: UTIME_NOW for both"
	a=$(stat -c %X "$R/u")
	m=$(stat -c %Y "$R/u")
	after=$(date +%s)
	[ "$a" -ge "$before" ] && [ "$a" -le "$after" ] &&
		[ "$m" -ge "$before" ] && [ "$m" -le "$after" ] && got=now ||
		got="$a $m not in [$before, $after]"
	is "$got" now "$L: both set to now"
	is "$(since "$c0" "$(ctime "$R/u")")" later "$L: setting times moves ctime"
	op utimens "$R/u" $PAST $PAST >/dev/null
	is "$(op utimens "$R/u" null)" OK "$L: utimensat with NULL times"
	[ "$(stat -c %Y "$R/u")" -ge "$before" ] && got=now || got=$(stat -c %Y "$R/u")
	is "$got" now "$L: sets mtime to now"

	# --- chmod, chown: root may, others only on what they own
	put "$R/p" p
	chmod 644 "$R/p"
	is "$(nobody_op chmod "$R/p" 666)" EPERM "$L: chmod by a user who does not own the file: EPERM"
	is "$(nobody_op chown "$R/p" $NOBODY $NOBODY)" EPERM \
		"$L: chown by a user who does not own the file: EPERM"
	is "$(nobody_op chown "$R/p" -1 $NOBODY)" EPERM "$L: chgrp by a non-owner: EPERM"
	is "$(stat -c '%a %u:%g' "$R/p")" "644 0:0" "$L: mode and owner unchanged"
	is "$(nobody_op utimens "$R/p" 5 5)" EPERM "$L: explicit times by a non-owner: EPERM"
	is "$(nobody_op utimens "$R/p" null)" EACCES \
		"$L: times to now by a non-owner without write permission: EACCES"
	chmod 666 "$R/p"
	is "$(nobody_op utimens "$R/p" 5 5)" EPERM \
		"$L: explicit times by a non-owner with write permission: EPERM"
	is "$(nobody_op utimens "$R/p" null)" OK \
		"$L: times to now by a non-owner with write permission"
	is "$(op chown "$R/p" $NOBODY $NOBODY)" OK "$L: chown by root"
	is "$(stat -c '%u:%g' "$R/p")" "$NOBODY:$NOBODY" "$L: owner and group changed"
	is "$(op chmod "$R/p" 640)" OK "$L: chmod by root of a file it does not own"
	is "$(nobody_op chmod "$R/p" 604)" OK "$L: chmod by the owner"
	is "$(stat -c %a "$R/p")" 604 "$L: mode changed"
	is "$(nobody_op utimens "$R/p" 7 8)" OK "$L: explicit times by the owner"
	is "$(stat -c '%X %Y' "$R/p")" "7 8" "$L: times set"
	is "$(nobody_op chown "$R/p" 0 -1)" EPERM "$L: the owner cannot give a file away: EPERM"
	is "$(nobody_op chown "$R/p" -1 0)" EPERM \
		"$L: nor give it a group it is not in: EPERM"
	is "$(nobody_op chown "$R/p" $NOBODY $NOBODY)" OK \
		"$L: chown by the owner to its own uid and gid"
	is "$(stat -c '%a %u:%g' "$R/p")" "604 $NOBODY:$NOBODY" "$L: mode and owner"
	put "$R/suid" s
	chmod 4755 "$R/suid"
	is "$(op chown "$R/suid" $NOBODY -1)$(stat -c %a "$R/suid")" OK755 \
		"$L: chown clears the set-user-ID bit"
	# (the kernel clears it itself on a write through the page cache, as
	# O_RDWR is in kvfs; an O_WRONLY write, which kvfs serves with
	# direct_io, carries FUSE_WRITE_KILL_SUIDGID for the daemon to do it)
	put "$R/suid2" s
	chmod 4777 "$R/suid2"
	is "$(nobody_op pwrite "$R/suid2" rdwr 1 t)$(stat -c %a "$R/suid2")" OK777 \
		"$L: an O_RDWR write by an unprivileged user clears the set-user-ID bit"
	put "$R/suid3" s
	chmod 4777 "$R/suid3"
	is "$(nobody_op pwrite "$R/suid3" wronly 1 t)$(stat -c %a "$R/suid3")" OK777 \
		"$L: an O_WRONLY write by an unprivileged user clears the set-user-ID bit"
	put "$R/suid4" s
	chmod 4777 "$R/suid4"
	is "$(nobody_op openf "$R/suid4" wronly,trunc)$(stat -c %a "$R/suid4")" OK777 \
		"$L: an O_TRUNC open by an unprivileged user clears the set-user-ID bit"
	mkdir "$R/open"
	chmod 777 "$R/open"
	is "$(nobody_op openf "$R/open/mine" wronly,creat,excl)" OK \
		"$L: an unprivileged user creates a file"
	is "$(stat -c '%u:%g %a' "$R/open/mine")" "$NOBODY:$NOBODY 644" \
		"$L: owned by its creator's uid and gid"
	mkdir "$R/sg"
	chown 0:$NOBODY "$R/sg"
	chmod 2775 "$R/sg"
	put "$R/sg/f" f
	mkdir "$R/sg/sub"
	is "$(stat -c %g "$R/sg/f")" $NOBODY \
		"$L: a file made in a set-group-ID directory takes its group"
	is "$(stat -c '%g %a' "$R/sg/sub")" "$NOBODY 2755" \
		"$L: a directory made in it takes its group and the set-group-ID bit"

	# --- times: what moves mtime and ctime, and what does not
	put "$R/w" w
	op utimens "$R/w" $PAST $PAST >/dev/null
	c0=$(ctime "$R/w")
	tick
	printf more >> "$R/w"
	is "$(since $PAST.000000000 "$(mtime "$R/w")") $(since "$c0" "$(ctime "$R/w")")" \
		"later later" "$L: a write moves mtime and ctime"
	op utimens "$R/w" $PAST $PAST >/dev/null
	c0=$(ctime "$R/w")
	tick
	op truncate "$R/w" 2 >/dev/null
	is "$(since $PAST.000000000 "$(mtime "$R/w")") $(since "$c0" "$(ctime "$R/w")")" \
		"later later" "$L: truncate moves mtime and ctime"
	op utimens "$R/w" $PAST $PAST >/dev/null
	c0=$(ctime "$R/w")
	tick
	op ftrunc "$R/w" wronly 5 >/dev/null
	is "$(since $PAST.000000000 "$(mtime "$R/w")") $(since "$c0" "$(ctime "$R/w")")" \
		"later later" "$L: ftruncate moves mtime and ctime"
	op utimens "$R/w" $PAST $PAST >/dev/null
	c0=$(ctime "$R/w")
	tick
	op openf "$R/w" wronly,trunc >/dev/null
	is "$(since $PAST.000000000 "$(mtime "$R/w")") $(since "$c0" "$(ctime "$R/w")")" \
		"later later" "$L: open with O_TRUNC moves mtime and ctime"
	put "$R/w" w
	op utimens "$R/w" $PAST $PAST >/dev/null
	c0=$(ctime "$R/w")
	tick
	op openf "$R/w" wronly >/dev/null
	op openf "$R/w" rdwr >/dev/null
	is "$(mtime "$R/w") $(since "$c0" "$(ctime "$R/w")")" "$PAST.000000000 same" \
		"$L: opening for writing without writing moves neither"
	cat "$R/w" >/dev/null
	op pread "$R/w" rdwr 0 1 >/dev/null
	is "$(mtime "$R/w") $(since "$c0" "$(ctime "$R/w")")" "$PAST.000000000 same" \
		"$L: reads move neither"
	tick
	chmod 600 "$R/w"
	is "$(mtime "$R/w") $(since "$c0" "$(ctime "$R/w")")" "$PAST.000000000 later" \
		"$L: chmod moves ctime, not mtime"
	c0=$(ctime "$R/w")
	tick
	chown $NOBODY "$R/w"
	is "$(mtime "$R/w") $(since "$c0" "$(ctime "$R/w")")" "$PAST.000000000 later" \
		"$L: chown moves ctime, not mtime"
	c0=$(ctime "$R/w")
	tick
	mv "$R/w" "$R/w2"
	is "$(mtime "$R/w2") $(since "$c0" "$(ctime "$R/w2")")" "$PAST.000000000 later" \
		"$L: rename moves the file's ctime, not its mtime"
	c0=$(ctime "$R/w2")
	tick
	is "$(op setxattr "$R/w2" user.kv.metadata '{"a":1}')" OK "$L: setxattr"
	is "$(mtime "$R/w2") $(since "$c0" "$(ctime "$R/w2")")" "$PAST.000000000 later" \
		"$L: setxattr moves ctime, not mtime"
	c0=$(ctime "$R/w2")
	tick
	is "$(op removexattr "$R/w2" user.kv.metadata)" OK "$L: removexattr"
	is "$(mtime "$R/w2") $(since "$c0" "$(ctime "$R/w2")")" "$PAST.000000000 later" \
		"$L: removexattr moves ctime, not mtime"

	# a directory's mtime and ctime move when a name in it is made or
	# removed, not when a file in it is rewritten
	mkdir "$R/td" "$R/td2"
	dir_times "$R/td" "later later" "$L: creating a file in a directory moves its mtime and ctime" \
		put "$R/td/k" x
	dir_times "$R/td" "same same" "$L: rewriting a file in it moves neither" \
		put "$R/td/k" y
	dir_times "$R/td" "later later" "$L: unlinking a file in it moves both" \
		rm "$R/td/k"
	dir_times "$R/td" "later later" "$L: mkdir in it moves both" \
		mkdir "$R/td/sub"
	dir_times "$R/td" "later later" "$L: rmdir in it moves both" \
		rmdir "$R/td/sub"
	dir_times "$R/td" "later later" "$L: renaming a file into it moves both" \
		mv "$R/x" "$R/td/x"
	dir_times "$R/td" "later later" "$L: renaming a file within it moves both" \
		mv "$R/td/x" "$R/td/y"
	dir_times "$R/td" "later later" "$L: renaming a file out of it moves both" \
		mv "$R/td/y" "$R/td2/y"
	dir_times "$R/td2" "later later" "$L: renaming over a file in it moves both" \
		mv "$R/dst" "$R/td2/y"
}

# dir_times DIR WANT DESC CMD...: with DIR's times set in the past, run CMD;
# WANT is how DIR's mtime and ctime moved ("later later", "same same")
dir_times() {
	dt_dir=$1
	dt_want=$2
	dt_desc=$3
	shift 3
	"$FSOP" utimens "$dt_dir" $PAST $PAST >/dev/null
	dt_c0=$(ctime "$dt_dir")
	tick
	"$@"
	is "$(since $PAST.000000000 "$(mtime "$dt_dir")") $(since "$dt_c0" "$(ctime "$dt_dir")")" \
		"$dt_want" "$dt_desc"
}

mount_kvfs -o allow_other,default_permissions
mkdir "$MNT/posixns"
mkdir -p "$TEST_DIR/local/posixns"
is "$(stat -c %a "$MNT" "$MNT/posixns" | tr '\n' ' ')" "755 755 " \
	"kvfs root and namespace reachable by every user"

posix_rules "$TEST_DIR/local/posixns" local
posix_rules "$MNT/posixns" kvfs

# Where kvfs differs from a local filesystem on purpose (README): reads do
# not update atime (as with noatime), every file is a key (no hard links).
D=$MNT/posixns
put "$D/at" at
"$FSOP" utimens "$D/at" $PAST omit >/dev/null
cat "$D/at" >/dev/null
is "$(atime "$D/at")" $PAST.000000000 "kvfs: a read leaves atime (noatime)"
is "$(op link "$D/at" "$D/hl")" EPERM "kvfs: link: EPERM"

# all of it is stored: the same modes, owners and times after a remount
# snap DIR [times]: each name below DIR with its type, mode, owner, the size
# of files, and with "times" atime and mtime
snap() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r f; do
		if [ -f "$f" ]; then
			stat -c "%n %F %a %u:%g %s" "$f"
		else
			stat -c "%n %F %a %u:%g" "$f"
		fi | tr '\n' ' '
		[ "${2:-}" = times ] && stat -c "%.9X %.9Y" "$f" | tr '\n' ' '
		echo
	done)
}
snap "$MNT/posixns" times > "$TEST_DIR/before"
remount -o allow_other,default_permissions
snap "$MNT/posixns" times > "$TEST_DIR/after"
is "$(diff "$TEST_DIR/before" "$TEST_DIR/after" | head -5)$(wc -l < "$TEST_DIR/after")" \
	"$(wc -l < "$TEST_DIR/before")" "kvfs: the tree, modes, owners, sizes and times persist"
rm "$D/at"
snap "$TEST_DIR/local/posixns" > "$TEST_DIR/local.tree"
snap "$MNT/posixns" > "$TEST_DIR/kvfs.tree"
is "$(diff "$TEST_DIR/local.tree" "$TEST_DIR/kvfs.tree")" "" \
	"kvfs ends with the same tree, modes, owners and sizes as the local directory"

done_testing
