#!/bin/sh
# Everything acknowledged is there after unmount and mount.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default
mkdir "$MNT/app"
mkdir -p "$MNT/app/users/1" "$MNT/app/empty/nested"
for i in $(seq 1 200); do
	printf 'value %d\n' "$i" > "$MNT/app/users/1/k$i"
done
head -c 3000000 /dev/urandom > "$TEST_DIR/blob"
cp "$TEST_DIR/blob" "$D/blob"
k512=$(printf 'k%.0s' $(seq 1 512))
echo long > "$D/$k512"
chmod 600 "$MNT/app/users/1/k7"
umount_kvfs
is "$?" 0 "clean unmount"
mount_kvfs
ok=0
for i in $(seq 1 200); do
	[ "$(cat "$MNT/app/users/1/k$i")" = "value $i" ] && ok=$((ok + 1))
done
is "$ok" 200 "200 keys read back"
cmp -s "$TEST_DIR/blob" "$D/blob" && pass "a 3 MB value reads back" ||
	fail "a 3 MB value reads back"
is "$(cat "$D/$k512")" long "a 512-byte key reads back"
is "$(stat -c %F "$MNT/app/empty/nested")" directory "empty directories"
is "$(stat -c %a "$MNT/app/users/1/k7")" 600 "modes"
is "$(ls "$MNT" | tr '\n' ' ')" "app default " "namespaces"
is "$(ls "$MNT/app/users/1" | wc -l)" 200 "listing after remount"
# the listing resumes correctly across readdir calls of many entries
mkdir "$D/many"
for i in $(seq 1 3000); do : > "$D/many/file-with-a-long-name-$i"; done
is "$(ls "$D/many" | wc -l)" 3000 "3000 entries listed"
is "$(ls "$D/many" | sort -u | wc -l)" 3000 "each once"
remount
is "$(ls "$D/many" | wc -l)" 3000 "and after remount"

done_testing
