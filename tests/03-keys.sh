#!/bin/sh
# SPEC 3: keys as files, path-like keys as directories, names and limits.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default

mkdir -p "$D/users/123"
echo v1 > "$D/users/123/profile"
is "$(cat "$D/users/123/profile")" v1 "path-like key users/123/profile"
is "$(ls "$D")" users "prefix is a directory"
is "$(stat -c %F "$D/users/123")" directory "nested prefix is a directory"

# key length counts bytes of the whole key
k512=$(printf 'k%.0s' $(seq 1 512))
errno_is OK "512-byte key" put "$D/$k512" x
errno_is ENAMETOOLONG "513-byte key: ENAMETOOLONG" put "$D/${k512}k" x
is "$(cat "$D/$k512")" x "512-byte key reads back"
k506=$(printf 'p%.0s' $(seq 1 506))
errno_is OK "512 bytes across segments (users/ + 506)" put "$D/users/$k506" y
errno_is ENAMETOOLONG "513 bytes across segments: ENAMETOOLONG" \
	put "$D/users/${k506}p" y
e256=$(printf 'é%.0s' $(seq 1 256))
errno_is OK "256 two-byte characters (512 bytes)" put "$D/$e256" z
errno_is ENAMETOOLONG "257 two-byte characters (514 bytes)" \
	put "$D/${e256}é" z
errno_is ENAMETOOLONG "mkdir past the limit: ENAMETOOLONG" \
	mkdir "$D/${k512}k"
# keys sharing a 507-byte prefix (LMDB keys stop at 511 bytes)
p507=$(printf 'q%.0s' $(seq 1 507))
errno_is OK "key of 510 bytes" put "$D/${p507}abc" 510
errno_is OK "key of 511 bytes, same prefix" put "$D/${p507}abcd" 511
errno_is OK "key of 507 bytes, same prefix" put "$D/${p507}" 507
is "$(cat "$D/${p507}abc") $(cat "$D/${p507}abcd") $(cat "$D/$p507")" \
	"510 511 507" "each long key holds its own value"
is "$(ls "$D" | grep -c '^q')" 3 "and each is listed once"
rm "$D/${p507}abc"
is "$(cat "$D/${p507}abcd")" 511 "deleting one leaves the others"

# UTF-8
errno_is EILSEQ "invalid UTF-8: EILSEQ" put "$(printf "$D/bad\\377")" x
errno_is EILSEQ "overlong UTF-8: EILSEQ" mkdir "$(printf "$D/\\300\\257")"
errno_is EILSEQ "surrogate: EILSEQ" put "$(printf "$D/\\355\\240\\200")" x
errno_is OK "Unicode key" put "$D/我的钥匙" "🌍 Hello 你好"
is "$(cat "$D/我的钥匙")" "🌍 Hello 你好" "Unicode key and value"

# a key a and a key a/b cannot both exist
echo a > "$D/a"
errno_is EEXIST "mkdir over a key: EEXIST" mkdir "$D/a"
errno_is ENOTDIR "key below a key: ENOTDIR" put "$D/a/b" x
mkdir "$D/dir"
errno_is EISDIR "write to a directory: EISDIR" put "$D/dir" x
errno_is EEXIST "O_EXCL on an existing key: EEXIST" creat-excl "$D/a"
is "$(cat "$D/a")" a "refusals keep the key"

# delete
rm "$D/a"
errno_is ENOENT "rm deletes the key" stat "$D/a"
errno_is ENOENT "open of a missing key: ENOENT" open "$D/a"

# every file is a key with a value
echo t > "$D/target"
errno_is EPERM "hard link: EPERM" link "$D/target" "$D/hl"
errno_is EPERM "mkfifo: EPERM" mkfifo "$D/fifo"
errno_is EPERM "mknod of a device: EPERM" mknod-chr "$D/dev"
errno_is EPERM "mknod of a socket: EPERM" mknod-sock "$D/sock"
errno_is OK "mknod of a regular file makes a key" mknod-reg "$D/reg"
is "$(stat -c %s "$D/reg")" 0 "an empty one"

# empty directories persist until removed
mkdir "$D/empty"
rmdir "$D/dir"
errno_is ENOENT "rmdir removes" stat "$D/dir"
errno_is ENOTEMPTY "rmdir of a non-empty directory: ENOTEMPTY" \
	rmdir "$D/users"
errno_is ENOTDIR "rmdir of a key: ENOTDIR" rmdir "$D/target"
rm "$D/users/123/profile"
is "$(stat -c %F "$D/users/123")" directory \
	"a directory outlives its last key"
remount
is "$(stat -c %F "$D/empty")" directory "an empty directory persists"
is "$(stat -c %F "$D/users/123")" directory "so does an emptied one"

# cp, rsync-like tools
seq 1 1000 > "$TEST_DIR/src"
cp "$TEST_DIR/src" "$D/copied"
cmp -s "$TEST_DIR/src" "$D/copied" && pass "cp into kvfs" || fail "cp into kvfs"
mkdir -p "$TEST_DIR/tree/a/b"
echo 1 > "$TEST_DIR/tree/a/one"; echo 2 > "$TEST_DIR/tree/a/b/two"
cp -r "$TEST_DIR/tree" "$D/tree"
is "$(cat "$D/tree/a/one" "$D/tree/a/b/two" | tr '\n' ' ')" "1 2 " "cp -r of a tree"
(cd "$D" && tar cf "$TEST_DIR/t.tar" tree) && mkdir "$TEST_DIR/x" &&
	tar xf "$TEST_DIR/t.tar" -C "$TEST_DIR/x"
is "$(cat "$TEST_DIR/x/tree/a/b/two")" 2 "tar out of kvfs"

# A listing longer than one readdir reply resumes where the last stopped.
# 1296 names of 3 bytes fill the first reply; in the second, "c0x" after
# "b0x" and "c" once went unlisted: the resume position was compared with
# a buffer the listing itself overwrote ("c" over "b0x" reads "c0x").
mkdir "$D/many"
for a in 0 1 2 3 4 5 6 7 8 9 a b c d e f g h i j k l m n o p q r s t u v w x y z; do
	for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f g h i j k l m n o p q r s t u v w x y z; do
		: > "$D/many/a$a$b"
	done
done
for k in b0x c c0x d; do : > "$D/many/$k"; done
is "$(ls "$D/many" | wc -l) $(ls "$D/many" | tail -4 | tr '\n' ' ')" \
	"1300 b0x c c0x d " "1300 keys in a directory, each listed"
is "$(find "$D/many" -type f | wc -l)" 1300 "also by find"

# A name longer than any key can be is ENAMETOOLONG on every operation,
# lookups included, as ext4 answers past NAME_MAX; so is one whose key
# would pass max_key_size, deep in a tree.  statfs reports the limit.
is "$(stat -f -c %l "$D") $(getconf NAME_MAX "$D")" "512 512" \
	"f_namelen and pathconf NAME_MAX in a namespace: max_key_size"
L=$D/${k512}k
for op in stat open open-w unlink rmdir; do
	errno_is ENAMETOOLONG "$op of a 513-byte name: ENAMETOOLONG" $op "$L"
done
errno_is ENAMETOOLONG "open(O_CREAT) of it: ENAMETOOLONG" openf "$L" wronly,creat
errno_is ENAMETOOLONG "mkdir of it: ENAMETOOLONG" mkdir "$L"
errno_is ENAMETOOLONG "rename from it: ENAMETOOLONG" rename "$L" "$D/x"
errno_is ENAMETOOLONG "rename to it: ENAMETOOLONG" rename "$D/$k512" "$L"
errno_is ENAMETOOLONG "getxattr of it: ENAMETOOLONG" \
	getxattr "$L" user.kv.metadata 0
errno_is ENAMETOOLONG "setxattr of it: ENAMETOOLONG" \
	setxattr "$L" user.kv.metadata '{}'
errno_is ENAMETOOLONG "truncate of it: ENAMETOOLONG" truncate "$L" 0
errno_is ENAMETOOLONG "lookup of users/ + 507 bytes: ENAMETOOLONG" \
	stat "$D/users/${k506}pp"
errno_is ENOENT "users/ + 506 bytes, a key that could be: ENOENT" \
	stat "$D/users/$(printf 'q%.0s' $(seq 1 506))"
is "$(cat "$D/$k512")" x "the 512-byte key is still there"

# max_key_size=4096: a name stops at 1024 bytes (statfs says so), the
# most older kernels pass to FUSE; a deep key at max_key_size
remount -o max_key_size=4096
n1024=$(printf 'n%.0s' $(seq 1 1024))
is "$(stat -f -c %l "$D") $(getconf NAME_MAX "$D")" "1024 1024" \
	"max_key_size=4096: f_namelen 1024"
errno_is OK "a 1024-byte name" mkdir "$D/$n1024"
errno_is ENAMETOOLONG "mkdir of a 1025-byte name: ENAMETOOLONG" mkdir "$D/${n1024}n"
errno_is ENAMETOOLONG "put of it: ENAMETOOLONG" put "$D/${n1024}n" x
errno_is ENAMETOOLONG "rename to it: ENAMETOOLONG" rename "$D/$n1024" "$D/${n1024}n"
errno_is ENAMETOOLONG "its lookup: ENAMETOOLONG" stat "$D/${n1024}n"
mkdir "$D/$n1024/$n1024" "$D/$n1024/$n1024/$n1024"
is "$(cd "$D/$n1024/$n1024/$n1024" && "$FSOP" put "$(printf 'm%.0s' $(seq 1 1021))" x;
	"$FSOP" put "$(printf 'm%.0s' $(seq 1 1022))" x;
	"$FSOP" stat "$(printf 'm%.0s' $(seq 1 1022))")" "OK
ENAMETOOLONG
ENAMETOOLONG" "a key of 4096 bytes in three directories; 4097: ENAMETOOLONG"

done_testing
