#!/bin/sh
# SPEC 4, expiry: from the second a key expires it is absent everywhere,
# through the kernel's caches too; creating it makes a new key.  Fast, with
# min_expiration_ttl=1; tests/16-expiry-60.sh runs the 60 s default.
. "$(dirname "$0")/lib.sh"

mount_kvfs -o min_expiration_ttl=1
D=$MNT/default
EX=user.kv.expiration
TTL=user.kv.expiration_ttl

# wait_past EXP: prime the kernel's caches with stat and read of the keys
# named after it until the clock reaches the second EXP
wait_past() {
	exp=$1
	shift
	while [ "$(date +%s)" -lt "$exp" ]; do
		for f in "$@"; do
			stat "$f" >/dev/null 2>&1
			cat "$f" >/dev/null 2>&1
		done
	done
}

mkdir "$D/dir" "$D/emptied" "$MNT/shortlived"
for k in a b c dir/x emptied/only; do
	echo "value of $k" > "$D/$k"
done
echo "ns key" > "$MNT/shortlived/k"
setfattr -n user.kv.metadata -v '{"old":true}' "$D/a"
exp=0
for f in "$D/a" "$D/b" "$D/dir/x" "$D/emptied/only" "$MNT/shortlived/k"; do
	setfattr -n $TTL -v 2 "$f"
	# on a busy machine the five may straddle a second: wait for the last
	e=$(getfattr --absolute-names --only-values -n $EX "$f")
	[ "$e" -gt "$exp" ] && exp=$e
done
left=$(getfattr --absolute-names --only-values -n $TTL "$D/a")
[ "$left" -ge 1 ] && [ "$left" -le 2 ] && pass "ttl 2 reads $left" ||
	fail "ttl 2 reads $left"
ls "$D" >/dev/null
wait_past "$exp" "$D/a" "$D/b" "$D/dir/x"

errno_is ENOENT "stat of an expired key: ENOENT" stat "$D/a"
errno_is ENOENT "open: ENOENT" open "$D/a"
errno_is ENOENT "open for writing: ENOENT" open-w "$D/b"
errno_is ENOENT "below a directory too" stat "$D/dir/x"
is "$(ls "$D")" "c
dir
emptied" "ls lists the keys left"
is "$(ls -A "$D/dir")" "" "an expired key's directory lists empty"
is "$(cat "$D/c")" "value of c" "a key without expiration stays"
errno_is ENOENT "unlink of an expired key: ENOENT" unlink "$D/b"
errno_is ENOENT "rename of an expired key: ENOENT" rename "$D/b" "$D/b2"
errno_is OK "an expired rename target is absent (NOREPLACE succeeds)" \
	rename-noreplace "$D/c" "$D/b"
is "$(cat "$D/b")" "value of c" "and the key moved there"
errno_is OK "rmdir of a directory whose keys expired" rmdir "$D/emptied"
errno_is OK "rmdir of a namespace whose keys expired" rmdir "$MNT/shortlived"

echo "new a" > "$D/a"
is "$(cat "$D/a")" "new a" "re-created with a new value"
errno_is ENODATA "without the old metadata" getxattr "$D/a" user.kv.metadata 100
errno_is ENODATA "nor the old expiration" getxattr "$D/a" $EX 100
errno_is OK "creating over an expired key with O_EXCL" creat-excl "$D/dir/x"

# a dentry cached with a long timeout before the expiration was set
echo cached > "$D/late"
stat "$D/late" >/dev/null
setfattr -n $TTL -v 2 "$D/late"	# 1 may expire at once
exp=$(getfattr --absolute-names --only-values -n $EX "$D/late")
wait_past "$exp" "$D/late"
errno_is ENOENT "an expiration set after caching still ends it" stat "$D/late"

# extending or clearing an expiration in time keeps the key
echo keep > "$D/keep"
setfattr -n $TTL -v 2 "$D/keep"
setfattr -n $TTL -v 3600 "$D/keep"
echo clear > "$D/clear"
setfattr -n $TTL -v 2 "$D/clear"
setfattr -x $EX "$D/clear"
sleep 3.2
is "$(cat "$D/keep")" keep "an extended expiration keeps the key"
is "$(cat "$D/clear")" clear "a cleared expiration keeps the key"

# an expiry across an unmount: absent from the first access after mounting
echo gone > "$D/gone"
setfattr -n $TTL -v 2 "$D/gone"
exp=$(getfattr --absolute-names --only-values -n $EX "$D/gone")
umount_kvfs
while [ "$(date +%s)" -le "$exp" ]; do sleep 0.2; done
mount_kvfs -o min_expiration_ttl=1
errno_is ENOENT "expired while unmounted: ENOENT at the first stat" stat "$D/gone"
is "$(ls "$D" | grep -c gone)" 0 "and not listed"
sleep 0.5
is "$(mdb_stat -s expiry "$STORE" | awk '/Entries:/ { print $2 }')" 1 \
	"swept after mounting: only the extended key is left in the index"

done_testing
