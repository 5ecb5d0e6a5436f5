#!/bin/sh
# SPEC 4: user.kv.metadata, user.kv.expiration and user.kv.expiration_ttl
# through the xattr syscalls, setfattr and getfattr; every errno, at each
# limit and one past it, with the old value intact after a refusal.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default
MD=user.kv.metadata
EX=user.kv.expiration
TTL=user.kv.expiration_ttl

# (ENOTSUP and EOPNOTSUPP are one errno on Linux; fsop prints the latter.)

# meta PATH: the metadata's exact bytes
meta() {
	getfattr --absolute-names --only-values -n $MD "$1" 2>/dev/null
}

echo v > "$D/k"

# --- metadata: any JSON, byte for byte -------------------------------------
for j in '{"a":1}' '{ "spaced" : [ 1, 2.5e3, "x" ] }' '"just a string"' \
	 '42' 'null' 'true' '[]' '{"ü":"日本","e":"\u00e9\u0000"}' \
	 '{"a":1}  '; do
	errno_is OK "set $j" setxattr "$D/k" $MD "$j"
	is "$(meta "$D/k")" "$j" "read back byte for byte: $j"
done
setfattr -n $MD -v '{"keep":true}' "$D/k"
for j in '' '{bad' '{"a":1}x' "{'a':1}" '{"a":1,}' 'nul' '[1,2' \
	 '{"a":1}{"b":2}' '01'; do
	errno_is EINVAL "invalid JSON refused: '$j'" setxattr "$D/k" $MD "$j"
done
is "$(meta "$D/k")" '{"keep":true}' "the old metadata is intact"

# at max_metadata_size (1024 by default) and one past it
pad=$(printf '%01016d' 0)
j1024="{\"p\":\"$pad\"}"
is "${#j1024}" 1024 "a 1024-byte JSON value"
errno_is OK "1024 bytes of metadata accepted" setxattr "$D/k" $MD "$j1024"
is "$(meta "$D/k")" "$j1024" "and kept whole"
j1025="{\"p\":\"${pad}0\"}"
errno_is ERANGE "1025 bytes: ERANGE" setxattr "$D/k" $MD "$j1025"
is "$(meta "$D/k")" "$j1024" "the old metadata is intact"
errno_is ERANGE "too large and invalid: ERANGE first" setxattr "$D/k" $MD \
	"{$pad$pad"

# the size query and a buffer too small, as on ext4
is "$("$FSOP" getxattr "$D/k" $MD 0)" "OK 1024" "getxattr size 0 gives the size"
is "$("$FSOP" getxattr "$D/k" $MD 1023)" ERANGE "a buffer one short: ERANGE"
is "$("$FSOP" getxattr "$D/k" $MD 1024)" "OK 1024" "an exact buffer"
is "$("$FSOP" getxattr "$D/k" $MD 65536)" "OK 1024" "a larger buffer"

# create / replace flags
echo w > "$D/fresh"
errno_is ENODATA "XATTR_REPLACE of no metadata" setxattr "$D/fresh" $MD '{}' replace
errno_is OK "XATTR_CREATE of new metadata" setxattr "$D/fresh" $MD '{}' create
errno_is EEXIST "XATTR_CREATE of existing metadata" setxattr "$D/fresh" $MD '[]' create
errno_is OK "XATTR_REPLACE of existing metadata" setxattr "$D/fresh" $MD '[]' replace
is "$(meta "$D/fresh")" '[]' "replaced"

# remove
errno_is OK "removexattr metadata" removexattr "$D/fresh" $MD
errno_is ENODATA "then it is gone" getxattr "$D/fresh" $MD 100
errno_is ENODATA "removing it again: ENODATA" removexattr "$D/fresh" $MD

# --- expiration ------------------------------------------------------------
now=$(date +%s)
errno_is OK "expiration 1000 s ahead" setxattr "$D/k" $EX $((now + 1000))
is "$(getfattr --absolute-names --only-values -n $EX "$D/k")" "$((now + 1000))" "read back exactly"
left=$(getfattr --absolute-names --only-values -n $TTL "$D/k")
[ "$left" -le 1000 ] && [ "$left" -ge 995 ] && pass "ttl reads the seconds left ($left)" ||
	fail "ttl reads the seconds left ($left)"
errno_is EINVAL "expiration 59 s ahead: EINVAL" setxattr "$D/k" $EX $((now + 59))
errno_is EINVAL "expiration in the past: EINVAL" setxattr "$D/k" $EX $((now - 10))
errno_is EINVAL "expiration 0: EINVAL" setxattr "$D/k" $EX 0
errno_is OK "expiration_ttl 60 (the minimum)" setxattr "$D/k" $TTL 60
left=$(getfattr --absolute-names --only-values -n $TTL "$D/k")
[ "$left" -le 60 ] && [ "$left" -ge 58 ] && pass "ttl reads back $left" ||
	fail "ttl reads back $left"
errno_is EINVAL "expiration_ttl 59: EINVAL" setxattr "$D/k" $TTL 59
errno_is EINVAL "expiration_ttl 0: EINVAL" setxattr "$D/k" $TTL 0
setfattr -n $EX -v $((now + 5000)) "$D/k"
for bad in '' abc -100 +100 ' 100' '100 ' 1e5 12.5 0x100 \
	   99999999999999999999 9223372036854775808; do
	errno_is EINVAL "expiration '$bad': EINVAL" setxattr "$D/k" $EX "$bad"
	errno_is EINVAL "expiration_ttl '$bad': EINVAL" setxattr "$D/k" $TTL "$bad"
done
errno_is EINVAL "a trailing newline: EINVAL" setxattr "$D/k" $EX "$((now + 5000))
"
errno_is EINVAL "a ttl overflowing the clock: EINVAL" setxattr "$D/k" $TTL \
	9223372036854775807
is "$(getfattr --absolute-names --only-values -n $EX "$D/k")" "$((now + 5000))" \
	"the old expiration is intact"
errno_is EEXIST "XATTR_CREATE of a set expiration" setxattr "$D/k" $EX $((now + 900)) create
errno_is ENODATA "XATTR_REPLACE of no expiration" setxattr "$D/fresh" $TTL 900 replace
errno_is ENODATA "no expiration: ENODATA" getxattr "$D/fresh" $EX 100
errno_is ENODATA "no expiration: no ttl either" getxattr "$D/fresh" $TTL 100

# listing: the set ones; the ttl is a view of the expiration, not listed
is "$(getfattr --absolute-names -d -m - "$D/k" | sed -n '2,$p')" "$EX=\"$((now + 5000))\"
$MD=\"$(printf %s "$j1024" | sed 's/"/\\"/g')\"" "getfattr -d lists metadata and expiration"
is "$("$FSOP" listxattr "$D/k" 0)" "OK 36" "listxattr size query"
is "$("$FSOP" listxattr "$D/k" 35)" ERANGE "listxattr buffer too small"
is "$(getfattr --absolute-names -d -m - "$D/fresh" 2>&1)" "" "a key without any lists nothing"

errno_is OK "removexattr expiration" removexattr "$D/k" $EX
errno_is ENODATA "the expiration is cleared" getxattr "$D/k" $EX 100
errno_is ENODATA "removing it again: ENODATA" removexattr "$D/k" $TTL
setfattr -n $TTL -v 3600 "$D/k"
errno_is OK "removexattr expiration_ttl clears it too" removexattr "$D/k" $TTL
errno_is ENODATA "cleared" getxattr "$D/k" $EX 100

# --- other names -----------------------------------------------------------
errno_is EOPNOTSUPP "another user.* name: ENOTSUP" setxattr "$D/k" user.foo 1
errno_is EOPNOTSUPP "user.kv.other: ENOTSUP" setxattr "$D/k" user.kv.other 1
errno_is ENODATA "get of another user.* name: ENODATA" getxattr "$D/k" user.foo 10
errno_is ENODATA "remove of another user.* name: ENODATA" removexattr "$D/k" user.foo
errno_is EOPNOTSUPP "trusted.*: ENOTSUP" setxattr "$D/k" trusted.x 1
errno_is ENODATA "trusted.* get: ENODATA" getxattr "$D/k" trusted.x 10
errno_is EOPNOTSUPP "security.*: ENOTSUP" setxattr "$D/k" security.x 1
errno_is ENODATA "security.* get: ENODATA" getxattr "$D/k" security.x 10

# --- directories, namespaces, the root have none -----------------------------
mkdir "$D/dir"
for p in "$D/dir" "$D" "$MNT"; do
	errno_is EOPNOTSUPP "metadata on directory $p: ENOTSUP" setxattr "$p" $MD '{}'
	errno_is EOPNOTSUPP "expiration on directory $p: ENOTSUP" setxattr "$p" $TTL 100
	errno_is ENODATA "no metadata on $p" getxattr "$p" $MD 100
	is "$("$FSOP" listxattr "$p" 0)" "OK 0" "nothing listed on $p"
done
errno_is ENOENT "xattr of a missing key: ENOENT" getxattr "$D/nokey" $MD 100

# --- metadata and expiration travel with the key ------------------------------
setfattr -n $MD -v '{"t":1}' "$D/k"
exp=$((now + 7200))
setfattr -n $EX -v $exp "$D/k"
echo rewritten > "$D/k"
is "$(meta "$D/k")" '{"t":1}' "a rewrite (O_TRUNC) keeps the metadata"
is "$(getfattr --absolute-names --only-values -n $EX "$D/k")" $exp "and the expiration"
echo more >> "$D/k"
truncate -s 3 "$D/k"
"$FSOP" write "$D/k" 1 X >/dev/null
is "$(cat "$D/k")" "rXw" "append, truncate, pwrite"
is "$(meta "$D/k")" '{"t":1}' "keep the metadata"
mv "$D/k" "$D/dir/k2"
is "$(meta "$D/dir/k2")" '{"t":1}' "rename keeps the metadata"
is "$(getfattr --absolute-names --only-values -n $EX "$D/dir/k2")" $exp "and the expiration"
mkdir "$MNT/other"
mv "$D/dir" "$MNT/other/dir"
is "$(meta "$MNT/other/dir/k2")" '{"t":1}' "a directory moved across namespaces keeps it"
is "$(getfattr --absolute-names --only-values -n $EX "$MNT/other/dir/k2")" $exp "and the expiration"
remount
is "$(meta "$MNT/other/dir/k2")" '{"t":1}' "kept across a remount"
is "$(getfattr --absolute-names --only-values -n $EX "$MNT/other/dir/k2")" $exp "the expiration too"
rm "$MNT/other/dir/k2"
echo new > "$MNT/other/dir/k2"
errno_is ENODATA "delete and re-create: no metadata" getxattr "$MNT/other/dir/k2" $MD 100
errno_is ENODATA "and no expiration" getxattr "$MNT/other/dir/k2" $EX 100

# an open writer's commit keeps metadata set while it wrote
exec 3>"$D/w"
echo part1 >&3
setfattr -n $MD -v '{"during":"write"}' "$D/w"
echo part2 >&3
exec 3>&-
is "$(cat "$D/w")" "part1
part2" "the writer's value"
is "$(meta "$D/w")" '{"during":"write"}' "with the metadata set meanwhile"

# --- cp -a and rsync -aX between two kvfs mounts -------------------------------
mkdir -p "$D/src/sub"
printf 'one' > "$D/src/a"
printf 'two' > "$D/src/sub/b"
setfattr -n $MD -v '{"file":"a"}' "$D/src/a"
setfattr -n $EX -v $exp "$D/src/a"
setfattr -n $MD -v '["b"]' "$D/src/sub/b"
M2=$TEST_DIR/mnt2
mkdir "$M2"
"$KVFS_BIN" "$TEST_DIR/store2" "$M2" 2>>"$TEST_DIR/kvfs.err"
cp -a "$D/src" "$M2/default/cp"
is "$(meta "$M2/default/cp/a")" '{"file":"a"}' "cp -a carries the metadata"
is "$(getfattr --absolute-names --only-values -n $EX "$M2/default/cp/a")" $exp "and the expiration"
is "$(meta "$M2/default/cp/sub/b")" '["b"]' "below subdirectories too"
is "$(cat "$M2/default/cp/a")" one "with the value"
rsync -aX "$D/src/" "$M2/default/rs/"
is "$(meta "$M2/default/rs/a")" '{"file":"a"}' "rsync -aX carries the metadata"
is "$(getfattr --absolute-names --only-values -n $EX "$M2/default/rs/a")" $exp "and the expiration"
is "$(meta "$M2/default/rs/sub/b")" '["b"]' "below subdirectories too"
is "$(cat "$M2/default/rs/sub/b")" two "with the value"
fusermount3 -u "$M2"

# --- options and a read-only mount -------------------------------------------
remount -o max_metadata_size=2048
pad=$(printf '%02044d' 0)
errno_is OK "max_metadata_size=2048: 2048 bytes" setxattr "$D/w" $MD "[\"$pad\"]"
errno_is ERANGE "2049 bytes: ERANGE" setxattr "$D/w" $MD "[\"${pad}0\"]"
remount -o min_expiration_ttl=3600
errno_is EINVAL "min_expiration_ttl=3600: a ttl of 3599 is refused" setxattr "$D/w" $TTL 3599
errno_is OK "3600 is accepted" setxattr "$D/w" $TTL 3600
remount -o ro
errno_is EROFS "read-only mount: EROFS" setxattr "$D/w" $MD '{}'
is "$(meta "$D/w")" "[\"$pad\"]" "and it still reads"

done_testing
