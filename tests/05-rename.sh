#!/bin/sh
# SPEC 3: rename of keys and directories, atomic, across namespaces.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default
mkdir "$MNT/other"

echo k > "$D/k"
ino=$(stat -c %i "$D/k")
mv "$D/k" "$D/k2"
is "$(cat "$D/k2")" k "rename a key"
is "$(stat -c %i "$D/k2")" "$ino" "the key keeps its inode number"
errno_is ENOENT "old name gone" stat "$D/k"

mkdir -p "$D/dir/sub"
echo 1 > "$D/dir/one"; echo 2 > "$D/dir/sub/two"
chmod 700 "$D/dir/sub"
mv "$D/dir" "$D/moved"
is "$(cat "$D/moved/one") $(cat "$D/moved/sub/two")" "1 2" "rename a directory moves its keys"
is "$(stat -c %a "$D/moved/sub")" 700 "and its subdirectories' modes"
errno_is ENOENT "old directory gone" stat "$D/dir"
mv "$D/moved" "$MNT/other/moved"
is "$(cat "$MNT/other/moved/sub/two")" 2 "rename a directory across namespaces"
mv "$D/k2" "$MNT/other/k"
is "$(cat "$MNT/other/k")" k "rename a key across namespaces"

# what rename(2) refuses
echo a > "$D/a"; echo b > "$D/b"
errno_is EEXIST "RENAME_NOREPLACE onto a key: EEXIST" rename-noreplace "$D/a" "$D/b"
is "$(cat "$D/a") $(cat "$D/b")" "a b" "both keys intact"
errno_is OK "RENAME_NOREPLACE to a free name" rename-noreplace "$D/a" "$D/c"
errno_is EINVAL "RENAME_EXCHANGE: EINVAL" rename-exchange "$D/c" "$D/b"
errno_is OK "rename over a key replaces it" rename "$D/c" "$D/b"
is "$(cat "$D/b")" a "replaced value"
mkdir -p "$D/full/x" "$D/emptyd" "$D/src/in"
errno_is ENOTEMPTY "directory over a non-empty one: ENOTEMPTY" rename "$D/src" "$D/full"
errno_is OK "directory over an empty one" rename "$D/src" "$D/emptyd"
is "$(stat -c %F "$D/emptyd/in")" directory "its content moved"
errno_is EISDIR "key over a directory: EISDIR" rename "$D/b" "$D/full"
errno_is ENOTDIR "directory over a key: ENOTDIR" rename "$D/full" "$D/b"
errno_is EINVAL "directory into itself: EINVAL" rename "$D/full" "$D/full/x/y"
errno_is EXDEV "namespace into a directory: EXDEV" rename "$MNT/other" "$D/full/o"
errno_is EXDEV "directory to the root: EXDEV" rename "$D/full" "$MNT/fullns"
k512=$(printf 'k%.0s' $(seq 1 510))
mkdir "$D/d"; echo x > "$D/d/$k512"
errno_is ENAMETOOLONG "a rename that makes a key too long: ENAMETOOLONG" \
	rename "$D/d" "$D/longer"
is "$(cat "$D/d/$k512")" x "and leaves it where it was"

# mv between kvfs and elsewhere copies
echo out > "$TEST_DIR/outside"
mv "$TEST_DIR/outside" "$D/inside"
is "$(cat "$D/inside")" out "mv from another filesystem"
mv "$MNT/other" "$D/nsmoved" && pass "mv of a namespace into a namespace copies (EXDEV fallback)" ||
	fail "mv of a namespace into a namespace copies"
is "$(cat "$D/nsmoved/moved/sub/two")" 2 "copied content"

# a renamed key open for writing commits under its new name
exec 3>"$D/w"
printf written >&3
mv "$D/w" "$D/w2"
exec 3>&-
is "$(cat "$D/w2")" written "an open writer follows the rename"
errno_is ENOENT "and does not resurrect the old name" stat "$D/w"
# a key deleted while open for writing stays deleted
exec 3>"$D/gone"
rm "$D/gone"
printf data >&3
exec 3>&-
errno_is ENOENT "writing to a deleted key does not bring it back" stat "$D/gone"

remount
is "$(cat "$MNT/other/moved/one" 2>/dev/null || cat "$D/nsmoved/moved/one")" 1 "renames persist"

done_testing
