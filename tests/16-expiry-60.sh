#!/bin/sh
# SPEC 4, expiry with the default 60 s minimum: keys with a TTL of 60,
# the kernel's caches primed by stat and read in a loop until they expire,
# then ENOENT from stat and open, absent from ls, new on re-create.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default

mkdir "$D/sub"
for k in one two sub/three; do
	printf '%s' "$k" > "$D/$k"
	setfattr -n user.kv.expiration_ttl -v 60 "$D/$k"
done
echo stays > "$D/stays"
exp=$(getfattr --absolute-names --only-values -n user.kv.expiration "$D/one")
now=$(date +%s)
[ $((exp - now)) -ge 59 ] && [ $((exp - now)) -le 60 ] &&
	pass "expires 60 s from now" || fail "expires $((exp - now)) s from now"

# each key expires 60 s after its own setfattr, a second apart if those
# straddle one: wait for the last
last=$exp
for k in two sub/three; do
	e=$(getfattr --absolute-names --only-values -n user.kv.expiration "$D/$k")
	[ "$e" -gt "$last" ] && last=$e
done
reads=0
while [ "$(date +%s)" -lt "$last" ]; do
	for k in one two sub/three; do
		stat "$D/$k" >/dev/null 2>&1
		[ "$(cat "$D/$k" 2>/dev/null)" = "$k" ] && reads=$((reads + 1))
	done
	ls "$D" "$D/sub" >/dev/null
	sleep 0.1
done
[ "$reads" -gt 100 ] && pass "read $reads times while alive" ||
	fail "read only $reads times while alive"

for k in one two sub/three; do
	errno_is ENOENT "stat $k after expiry: ENOENT" stat "$D/$k"
	errno_is ENOENT "open $k after expiry: ENOENT" open "$D/$k"
done
is "$(ls "$D")" "stays
sub" "ls shows only what is left"
is "$(ls -A "$D/sub")" "" "and nothing below sub"
echo again > "$D/one"
is "$(cat "$D/one")" again "re-created: a new key"
errno_is ENODATA "with no expiration" getxattr "$D/one" user.kv.expiration 100

done_testing
