#!/bin/sh
# Memory: the daemon under valgrind's memcheck through a mount, a round of
# every kind of operation (values small and chunked, appends, truncates,
# renames, directories, namespaces, metadata, expiry and its sweep, the
# node cache's trimming) and an unmount: no invalid read or write, no
# decision on uninitialised memory, no byte leaked.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
[ "${KVFS_SANITIZERS:-no}" = yes ] &&
	skip_all "a sanitizer build, which valgrind cannot run"

VGLOG=$TEST_DIR/valgrind.log
cat > "$TEST_DIR/kvfs-vg" <<WRAP
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible \
	--log-file="$VGLOG" "$KVFS_BIN" "\$@"
WRAP
chmod +x "$TEST_DIR/kvfs-vg"
KVFS_BIN=$TEST_DIR/kvfs-vg
KVFS_MOUNT_WAIT=600		# 30 s: valgrind starts slowly
mount_kvfs -o min_expiration_ttl=1,node_cache=100 || {
	fail "kvfs mounted under valgrind"
	sed 's/^/# /' "$VGLOG" "$TEST_DIR/kvfs.err" 2>/dev/null | head -20
	done_testing
}
D=$MNT/default

# the round: each step's output is checked, so that the round did run
printf 'hello' > "$D/small"
printf ' world' >> "$D/small"
head -c 3000000 /dev/urandom > "$TEST_DIR/big"
cp "$TEST_DIR/big" "$D/big"
mkdir -p "$D/dir/sub"
for i in $(seq 1 150); do echo "$i" > "$D/dir/sub/k$i"; done
ls -lR "$D" > /dev/null
mv "$D/dir/sub/k1" "$D/dir/moved"
mv "$D/dir/sub" "$D/dir/sub2"
rm "$D/dir/sub2/k2"
truncate -s 2 "$D/dir/moved"
ln -s ../small "$D/dir/link"
mv "$D/dir/link" "$D/dir/link2"
setfattr -n user.kv.metadata -v '{"a":[1,2,{"b":null}]}' "$D/small"
setfattr -n user.kv.expiration_ttl -v 1 "$D/dir/sub2/k3"
mkdir "$MNT/other"
mv "$MNT/other" "$MNT/other2"
echo x > "$MNT/other2/key"
cp "$D/big" "$MNT/other2/big"
"$FSOP" mmap-read "$D/small" > "$TEST_DIR/mmap.out"
"$FSOP" fsync "$D/small" > /dev/null
sleep 2					# the sweep deletes k3
is "$(cat "$D/small")" "hello world" "a value and its append read back"
cmp -s "$TEST_DIR/big" "$D/big" && pass "a 3 MB value reads back" ||
	fail "a 3 MB value reads back"
cmp -s "$TEST_DIR/big" "$MNT/other2/big" &&
	pass "and in a renamed namespace" || fail "and in a renamed namespace"
is "$(getfattr --only-values -n user.kv.metadata "$D/small" 2>/dev/null)" \
	'{"a":[1,2,{"b":null}]}' "metadata reads back"
is "$(cat "$D/dir/moved") $(ls "$D/dir/sub2" | wc -l)" "1 147" \
	"renames, an unlink, a truncate and an expiry happened"
is "$(cat "$TEST_DIR/mmap.out")" "hello world" "an mmap read"
is "$(readlink "$D/dir/link2") $(cat "$D/dir/link2")" "../small hello world" \
	"a symbolic link, renamed, read and followed"
rm -r "$MNT/other2"

umount_kvfs
status=$?
is "$status" 0 "the daemon exits 0 under valgrind: no error, no leak"
[ "$status" = 0 ] || sed 's/^/# /' "$VGLOG" | head -60

done_testing
