#!/bin/sh
# SPEC 2: namespaces are the directories of the root.
. "$(dirname "$0")/lib.sh"

mount_kvfs -o max_namespaces=4
is "$(ls "$MNT")" default "first mount creates the default namespace"

errno_is OK "mkdir abc" mkdir "$MNT/abc"
errno_is EEXIST "mkdir existing: EEXIST" mkdir "$MNT/abc"
errno_is EINVAL "2 characters: EINVAL" mkdir "$MNT/ab"
n63=$(printf 'n%.0s' $(seq 1 63))
errno_is OK "63 characters" mkdir "$MNT/$n63"
errno_is EINVAL "64 characters: EINVAL (SPEC 2)" mkdir "$MNT/${n63}x"
errno_is ENOENT "its lookup: no namespace has it, ENOENT" stat "$MNT/${n63}x"
errno_is ENOENT "a name of a bad class: ENOENT on lookup" stat "$MNT/a.b"
is "$(stat -f -c %l "$MNT") $(getconf NAME_MAX "$MNT")" "63 63" \
	"statfs f_namelen and pathconf NAME_MAX at the root: 63"
errno_is EINVAL "dot: EINVAL" mkdir "$MNT/a.b"
errno_is EINVAL "space: EINVAL" mkdir "$MNT/a b"
errno_is EINVAL "non-ASCII: EINVAL" mkdir "$MNT/café"
errno_is OK "all classes: A-Z a-z 0-9 _ -" mkdir "$MNT/Az0_-9"
errno_is EDQUOT "past max_namespaces: EDQUOT" mkdir "$MNT/fifth"
is "$(ls "$MNT" | tr '\n' ' ')" "Az0_-9 abc default $n63 " "ls lists the namespaces"

# root holds nothing else
errno_is EPERM "regular file at the root: EPERM" creat-excl "$MNT/file"
errno_is EPERM "mknod of a file at the root: EPERM" mknod-reg "$MNT/file"
errno_is EPERM "symlink at the root: EPERM" symlink default "$MNT/sl"
errno_is EPERM "fifo at the root: EPERM" mkfifo "$MNT/fifo"
errno_is EPERM "device at the root: EPERM" mknod-chr "$MNT/dev"

# stat: directory; mtime follows the keys, ctime stays
is "$(stat -c %F "$MNT/abc")" directory "a namespace is a directory"
m0=$(stat -c %Y "$MNT/abc")
c0=$(stat -c %Z "$MNT/abc")
sleep 1.2
echo v > "$MNT/abc/k"
sleep 1.1
m1=$(stat -c %Y "$MNT/abc")
[ "$m1" -gt "$m0" ] && pass "mtime follows a key change" ||
	fail "mtime follows a key change ($m0 -> $m1)"
is "$(stat -c %Z "$MNT/abc")" "$c0" "ctime stays the creation time"

# rmdir, rename
errno_is ENOTEMPTY "rmdir non-empty: ENOTEMPTY" rmdir "$MNT/abc"
is "$(cat "$MNT/abc/k")" v "refused rmdir keeps the keys"
errno_is OK "mv abc to xyz" rename "$MNT/abc" "$MNT/xyz"
is "$(cat "$MNT/xyz/k")" v "keys follow the namespace"
is "$(stat -c %Z "$MNT/xyz")" "$c0" "the creation time (ctime) too"
errno_is ENOENT "old name gone" stat "$MNT/abc"
errno_is EINVAL "rename to a bad name: EINVAL" rename "$MNT/xyz" "$MNT/x"
errno_is EEXIST "RENAME_NOREPLACE onto a namespace: EEXIST" \
	rename-noreplace "$MNT/xyz" "$MNT/default"
echo d > "$MNT/default/d"
errno_is ENOTEMPTY "rename onto a non-empty namespace: ENOTEMPTY" \
	rename "$MNT/xyz" "$MNT/default"
is "$(cat "$MNT/default/d") $(cat "$MNT/xyz/k")" "d v" "both intact"
errno_is OK "rename onto an empty namespace replaces it" \
	rename "$MNT/xyz" "$MNT/Az0_-9"
is "$(cat "$MNT/Az0_-9/k")" v "replacement holds the keys"
errno_is EXDEV "a namespace into a namespace: EXDEV (mv copies)" \
	rename "$MNT/Az0_-9" "$MNT/default/sub"
rm -r "$MNT/Az0_-9"
errno_is ENOENT "rm -r deletes keys then the namespace" stat "$MNT/Az0_-9"
errno_is OK "rmdir empty" rmdir "$MNT/$n63"
errno_is OK "room for a namespace again" mkdir "$MNT/again"

remount -o max_namespaces=4
is "$(ls "$MNT" | tr '\n' ' ')" "again default " "namespaces persist"
rmdir "$MNT/default" 2>/dev/null; rm -r "$MNT/default" "$MNT/again"
remount
is "$(ls "$MNT")" "" "default is not re-created once deleted"

done_testing
