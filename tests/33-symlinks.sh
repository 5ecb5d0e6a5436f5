#!/bin/sh
# SPEC 3: a symbolic link is a key whose value is its target, its type
# kept.  A tree with relative, absolute, dangling and directory links goes
# into the mount and out again with cp -a, rsync -a and tar, unchanged;
# readlink, lstat, following, rename, unlink, lchown and times of a link
# itself work as on ext4; the target's limits (4095 bytes, max_value_size)
# and the name's (max_key_size); links survive a remount and a crash; and
# kvctl shows a link as a key whose value is its target.
. "$(dirname "$0")/lib.sh"

command -v rsync >/dev/null || skip_all "no rsync"

mount_kvfs
D=$MNT/default
S=$TEST_DIR/src

# links: what find says of each, sorted: path, target, owner, mtime
links() {
	(cd "$1" && find . -type l -printf '%p %l %u %TY-%Tm-%Td %TT\n' |
		sort)
}

# the same tree?  no dereferencing: links compare as links
same_tree() {
	diff -r --no-dereference "$1" "$2" >"$TEST_DIR/diff" 2>&1 &&
		[ "$(links "$1")" = "$(links "$2")" ]
}

# --- a tree with links of every kind ---------------------------------------
mkdir -p "$S/a/b" "$S/empty"
echo one > "$S/a/one"
echo two > "$S/a/b/two"
echo top > "$S/top"
ln -s a/one "$S/rel"			# relative, to a file
ln -s ../one "$S/a/b/up"		# relative, up a directory
ln -s a/b "$S/dirlink"			# to a directory
ln -s . "$S/a/self"			# to its own directory
ln -s /nonexistent/abs/target "$S/abs"	# absolute, dangling
ln -s / "$S/a/root"			# absolute, to a directory
ln -s "nowhere/at all" "$S/dangling"	# relative, dangling, a space
ln -s "ça/été ☃" "$S/utf8"		# UTF-8 target
ln -s "$(printf 'x/%.0s' $(seq 1 300))end" "$S/a/b/long"	# 603 bytes
for l in rel a/b/up dirlink a/self abs a/root dangling utf8 a/b/long; do
	touch -h -d '2001-02-03 04:05:06' "$S/$l"
done
chown -h nobody "$S/rel" 2>/dev/null
nlinks=$(links "$S" | wc -l)
is "$nlinks" 9 "the source tree has 9 links"

# --- in and out with cp -a, rsync -a and tar --------------------------------
cp -a "$S" "$D/cp" && pass "cp -a into kvfs" || fail "cp -a into kvfs"
same_tree "$S" "$D/cp" && pass "cp -a: the same tree in kvfs" ||
	{ fail "cp -a: the same tree in kvfs"; sed 's/^/# /' "$TEST_DIR/diff"; }
is "$(links "$D/cp")" "$(links "$S")" "cp -a: each link, its target, owner and time"
cp -a "$D/cp" "$TEST_DIR/out-cp" && same_tree "$S" "$TEST_DIR/out-cp" &&
	pass "cp -a out of kvfs: the same tree" ||
	fail "cp -a out of kvfs: the same tree"

rsync -a "$S/" "$D/rs/" && pass "rsync -a into kvfs" ||
	fail "rsync -a into kvfs"
same_tree "$S" "$D/rs" && pass "rsync -a: the same tree in kvfs" ||
	{ fail "rsync -a: the same tree in kvfs"; sed 's/^/# /' "$TEST_DIR/diff"; }
rsync -a "$D/rs/" "$TEST_DIR/out-rs/" && same_tree "$S" "$TEST_DIR/out-rs" &&
	pass "rsync -a out of kvfs: the same tree" ||
	fail "rsync -a out of kvfs: the same tree"
is "$(rsync -ai --dry-run "$S/" "$D/rs/" | wc -l)" 0 \
	"a second rsync -a finds nothing to do"

mkdir "$D/tar" "$TEST_DIR/out-tar"
(cd "$S" && tar cf - .) | (cd "$D/tar" && tar xpf -) &&
	pass "tar into kvfs" || fail "tar into kvfs"
same_tree "$S" "$D/tar" && pass "tar: the same tree in kvfs" ||
	{ fail "tar: the same tree in kvfs"; sed 's/^/# /' "$TEST_DIR/diff"; }
(cd "$D/tar" && tar cf - .) | (cd "$TEST_DIR/out-tar" && tar xpf -) &&
	same_tree "$S" "$TEST_DIR/out-tar" &&
	pass "tar out of kvfs: the same tree" ||
	fail "tar out of kvfs: the same tree"

# --- a link itself: readlink, lstat, readdir ---------------------------------
L=$D/cp
is "$(readlink "$L/rel")" a/one "readlink gives the target"
is "$(readlink "$L/utf8")" "ça/été ☃" "byte for byte"
is "$(readlink "$L/a/b/long") $(stat -c %s "$L/a/b/long")" "$(readlink "$S/a/b/long") 603" "a 603-byte target"
is "$(stat -c '%F %s %a %U' "$L/rel")" "symbolic link 5 777 nobody" \
	"lstat: S_IFLNK, size the target's length, mode 0777, owner kept"
is "$(stat -c %s "$L/utf8")" "$(printf 'ça/été ☃' | wc -c)" \
	"the size counts bytes"
is "$(stat -c %Y "$L/abs")" "$(date -d '2001-02-03 04:05:06' +%s)" \
	"its own mtime, kept by cp -a"
is "$("$FSOP" readdir "$L" | grep -E '^(rel|dirlink|top|a) ' | sort | tr '\n' ' ')" \
	"a dir dirlink lnk rel lnk top reg " "readdir gives DT_LNK"
is "$(cd "$L" && ls -l rel | sed 's/.* rel/rel/')" "rel -> a/one" "ls -l shows it"

# --- following it ----------------------------------------------------------------
is "$(cat "$L/rel")" one "open follows a link"
is "$(cat "$L/a/b/up")" one "a link up a directory"
is "$(stat -L -c %F "$L/dirlink")" directory "stat follows it"
is "$(stat -L -c %s "$L/rel")" 4 "stat -L gives its target's size"
is "$(cd "$L/dirlink" && cat two up)" "two
one" "cd through a link to a directory"
is "$(ls "$L/dirlink/" | tr '\n' ' ')" "long two up " "ls through it"
is "$(ls "$L/a/self/b/" | tr '\n' ' ')" "long two up " "a link to its own directory"
errno_is ELOOP "open(O_NOFOLLOW) of a link: ELOOP" openf "$L/rel" rdonly,nofollow
errno_is ENOENT "a dangling link: ENOENT" open "$L/dangling"
ln -s created "$D/newt"
echo made > "$D/newt"
is "$(cat "$D/created") $(readlink "$D/newt")" "made created" \
	"writing through a dangling link creates its target"
echo again >> "$L/rel"
is "$(cat "$L/a/one")" "one
again" "writing through a link writes its target"
is "$(readlink "$L/rel")" a/one "and leaves the link as it was"

# --- lchown, times, chown through it ----------------------------------------
chown -h daemon "$L/dirlink"
is "$(stat -c %U "$L/dirlink") $(stat -L -c %U "$L/dirlink")" "daemon root" \
	"chown -h changes the link, not its target"
chown nobody "$L/dirlink"
is "$(stat -c %U "$L/dirlink") $(stat -L -c %U "$L/dirlink")" "daemon nobody" \
	"chown without -h changes the target"
touch -h -d '1999-12-31 23:59:59' "$L/dirlink"
is "$(stat -c %Y "$L/dirlink")" "$(date -d '1999-12-31 23:59:59' +%s)" \
	"utimensat(AT_SYMLINK_NOFOLLOW) sets the link's times"
is "$(stat -L -c %Y "$L/dirlink")" "$(stat -c %Y "$S/a/b")" \
	"and not its target's"

# --- extended attributes: as ext4, the kernel refuses user.* on a link -------
errno_is EPERM "lsetxattr user.kv.metadata of a link: EPERM" \
	lsetxattr "$L/rel" user.kv.metadata '{}'
errno_is EPERM "lsetxattr user.kv.expiration_ttl of a link: EPERM" \
	lsetxattr "$L/rel" user.kv.expiration_ttl 3600
errno_is ENODATA "lgetxattr of a link: ENODATA" lgetxattr "$L/rel" user.kv.metadata
is "$("$FSOP" llistxattr "$L/rel")" "OK 0" "llistxattr of a link: none"
"$FSOP" setxattr "$L/rel" user.kv.metadata '{"via":"link"}' >/dev/null
is "$(getfattr --only-values -n user.kv.metadata "$L/a/one" 2>/dev/null)" \
	'{"via":"link"}' "setxattr through a link sets its target's"

# --- rename and unlink ---------------------------------------------------------------
mkdir "$D/mv"
ln -s a/one "$D/mv/l1"
mv "$D/mv/l1" "$D/mv/l2"
is "$(readlink "$D/mv/l2")" a/one "rename of a link"
errno_is ENOENT "the old name is gone" stat "$D/mv/l1"
mkdir "$D/mv/sub"
mv "$D/mv/l2" "$D/mv/sub/l3"
is "$(readlink "$D/mv/sub/l3")" a/one "into another directory"
mkdir "$MNT/other"
mv "$D/mv/sub/l3" "$MNT/other/l4"
is "$(readlink "$MNT/other/l4")" a/one "into another namespace"
echo plain > "$D/mv/plain"
ln -s x "$D/mv/lx"
mv "$D/mv/lx" "$D/mv/plain"
is "$(stat -c %F "$D/mv/plain") $(readlink "$D/mv/plain")" "symbolic link x" \
	"a link renamed over a key replaces it"
echo back > "$D/mv/k"
mv "$D/mv/k" "$D/mv/plain"
is "$(stat -c %F "$D/mv/plain") $(cat "$D/mv/plain")" "regular file back" \
	"a key renamed over a link replaces it"
ln -s x "$D/mv/ly"
errno_is EISDIR "a link onto a directory: EISDIR" rename "$D/mv/ly" "$D/mv/sub"
errno_is ENOTDIR "a directory onto a link: ENOTDIR" rename "$D/mv/sub" "$D/mv/ly"
errno_is EEXIST "RENAME_NOREPLACE onto a link: EEXIST" \
	rename-noreplace "$D/mv/plain" "$D/mv/ly"
errno_is EEXIST "symlink onto an existing name: EEXIST" symlink y "$D/mv/ly"
errno_is ENOTDIR "rmdir of a link: ENOTDIR" rmdir "$D/mv/ly"
errno_is ENOTDIR "rmdir of a link to a directory: ENOTDIR" rmdir "$L/dirlink"
errno_is OK "unlink of a link" unlink "$L/dirlink"
errno_is ENOENT "it is gone" stat "$L/dirlink"
is "$(cat "$L/a/b/two")" two "its target is not"
mv "$D/mv" "$D/mv2"
is "$(readlink "$D/mv2/ly")" x "a directory renamed with a link in it"
errno_is EPERM "a hard link to a link: EPERM" link "$D/mv2/ly" "$D/mv2/hl"
errno_is EPERM "a link at the root: EPERM" symlink default "$MNT/sl"

# --- limits: the target (PATH_MAX - 1) and the name (max_key_size) -----------
t4095=$(printf 't%.0s' $(seq 1 4095))
errno_is OK "a 4095-byte target" symlink "$t4095" "$D/big"
is "$(readlink "$D/big")" "$t4095" "reads back whole"
is "$(stat -c %s "$D/big")" 4095 "lstat: 4095 bytes"
errno_is ENAMETOOLONG "a 4096-byte target: ENAMETOOLONG" \
	symlink "${t4095}t" "$D/big2"
errno_is ENOENT "and nothing is made" stat "$D/big2"
ln -sfn "${t4095}t" "$D/big" 2>/dev/null
is "$(readlink "$D/big")" "$t4095" "ln -sf of a 4096-byte target leaves the old link"
k512=$(printf 'k%.0s' $(seq 1 512))
errno_is OK "a link named by a 512-byte key" symlink x "$D/$k512"
errno_is ENAMETOOLONG "a 513-byte key: ENAMETOOLONG" symlink x "$D/${k512}k"

# --- kvctl: a link is a key whose value is its target ----------------------
is "$(kv get "$D" cp/rel)" a/one "kvctl get: the target"
is "$(kv get "$D" cp/rel cp/top --with-metadata)" \
	'{"cp/rel":{"value":"a/one","metadata":null},"cp/top":{"value":"top\n","metadata":null}}' \
	"kvctl get --with-metadata: the target, no metadata"
is "$(kv list "$D" --prefix cp/a/ | tr -d ' ')" \
	'{"keys":[{"name":"cp/a/b/long"},{"name":"cp/a/b/two"},{"name":"cp/a/b/up"},{"name":"cp/a/one","metadata":{"via":"link"}},{"name":"cp/a/root"},{"name":"cp/a/self"}],"list_complete":true}' \
	"kvctl list: links are keys"
is "$(kv export "$D" --prefix cp/a/b/u)" '[
{"key":"cp/a/b/up","value":"../one"}
]' "kvctl export: the target as the value"
is "$(said kv get "$D" cp/a/root/etc/passwd)" \
	"kvctl: cp/a/root/etc/passwd: no such key 1" \
	"kvctl get does not follow a link on the way"
is "$(said kv put "$D" cp/a/root/tmp/kvctl-escape x)" \
	"kvctl: cp/a/root/tmp/kvctl-escape: a prefix of the key is itself a key 1" \
	"kvctl put refuses a key below a link"
errno_is ENOENT "and wrote nothing through it" stat /tmp/kvctl-escape
is "$(kv list "$D" --prefix cp/a/root/etc/)" \
	'{"keys":[],"list_complete":true}' \
	"kvctl list does not list through a link"
is "$(kv export "$D" --prefix cp/a/root/etc/)" '[]' "nor does export"
is "$(said kv delete "$D" cp/a/self/one)" " 0" \
	"kvctl delete of a key below a link: none there"
is "$(cat "$D/cp/a/one")" "one
again" "and deleted nothing through it"
kv export "$D" --prefix cp/ > "$TEST_DIR/exp.json"
mkdir "$MNT/imported"
kv import "$MNT/imported" "$TEST_DIR/exp.json" >/dev/null
is "$(stat -c %F "$MNT/imported/cp/rel") $(cat "$MNT/imported/cp/rel")" \
	"regular file a/one" "kvctl import writes a link's target as a regular key"
kv put "$D" cp/utf8 plain
is "$(stat -c %F "$D/cp/utf8") $(cat "$D/cp/utf8")" "regular file plain" \
	"kvctl put over a link writes a regular key"

# --- remount and crash ------------------------------------------------------------
before=$(links "$D")
remount
is "$(links "$D")" "$before" "every link survives a remount"
same_tree "$S" "$D/rs" && pass "and the rsync copy is still the same tree" ||
	fail "and the rsync copy is still the same tree"
ln -s after/crash "$D/crashlink"
kill_kvfs
mount_kvfs
is "$(readlink "$D/crashlink")" after/crash "a link survives a crash of the daemon"
is "$(links "$D/tar")" "$(links "$S")" "and so do the others"

# --- max_value_size and max_storage count the target (a fresh store) -------
umount_kvfs
STORE=$TEST_DIR/store2
mount_kvfs -o max_value_size=100,max_storage=1K
v100=$(printf 'v%.0s' $(seq 1 100))
errno_is OK "a 100-byte target with max_value_size=100" symlink "$v100" "$D/v100"
errno_is ENAMETOOLONG "a 101-byte target: ENAMETOOLONG" \
	symlink "${v100}v" "$D/v101"
for i in 1 2 3 4 5 6 7 8 9; do "$FSOP" fill "$D/k$i" x 100 >/dev/null; done
errno_is ENOSPC "past max_storage=1K with the targets' bytes: ENOSPC" \
	symlink "$(printf 'w%.0s' $(seq 1 25))" "$D/w25"
errno_is OK "up to it exactly" symlink "$(printf 'w%.0s' $(seq 1 24))" "$D/w24"
rm "$D/v100"
errno_is OK "deleting a link gives its bytes back" symlink "$v100" "$D/v100b"

done_testing
