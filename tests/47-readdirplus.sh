#!/bin/sh
# Listings with attributes (issue 17): readdirplus gives each entry with
# its node and attributes, so that ls -l, find -size and du after a
# remount send no LOOKUP a key.  The attributes are those a lookup gives
# (keys, directories, symlinks, namespaces); a
# listing of several pages is whole; an entry is not cached past its
# key's expiration; every entry given is one lookup the kernel forgets.
# And the races (run by the test build, tests/kvfs-hooks, whose hooks
# hold a request at a chosen point): a commit at a name between a
# listing's store read and its reply must leave an open reader of the
# old value its size and bytes, and a later stat the new size.
KVFS_BIN=${KVFS_HOOKS_BIN:-$(cd "$(dirname "$0")" && pwd)/kvfs-hooks}
. "$(dirname "$0")/lib.sh"
: "${HELDREAD:=$top_builddir/tests/heldread}"

D=$MNT/default
R=$D/race
export KVFS_HOOK_READDIRPLUS=k KVFS_HOOK_READDIRPLUS_ARM="$TEST_DIR/armls"
export KVFS_HOOK_COMMIT=k KVFS_HOOK_COMMIT_ARM="$TEST_DIR/armc"
export KVFS_HOOK_COMMITTED=k KVFS_HOOK_COMMITTED_ARM="$TEST_DIR/armd"

# run_counted OUT CMD...: run CMD, its output in OUT, and print the
# LOOKUP requests it sent (the daemon's -d log has each request's pid)
run_counted() {
	out=$1
	shift
	"$@" > "$out" &
	rc_pid=$!
	wait "$rc_pid"
	grep -c "opcode: LOOKUP .*pid: $rc_pid\$" "$TEST_DIR/kvfs.err"
	grep "pid: $rc_pid\$" "$TEST_DIR/kvfs.err" | grep -o 'opcode: [A-Z_]*' |
		sort | uniq -c | sed 's/^/# /' >&2
}

# stat_of NAME...: what find says of each, as stat(2) gave it, one line
# a name
FMT='%f %s %m %y %i %n %U %G %T@ %C@\n'
stat_of() {
	find "$@" -maxdepth 0 -printf "$FMT"
}

# --- names and attributes: from the listing as from a lookup -----------
mount_kvfs -d -o min_expiration_ttl=1
mkdir "$D/d" "$D/d/sub" "$MNT/ns2"
: > "$D/d/empty"
printf '%0100d' 0 > "$D/d/small"
"$FSOP" fill "$D/d/big" x 300000 >/dev/null
chmod 600 "$D/d/small"
touch -m -d '2001-02-03 04:05:06' "$D/d/big"
ln -s small "$D/d/ln"
echo ns > "$MNT/ns2/k"
umount_kvfs
mount_kvfs -d -o min_expiration_ttl=1
is "$(run_counted "$TEST_DIR/listed" \
	find "$D/d" -mindepth 1 -printf "$FMT")" 2 \
	"after a remount, find -printf of 5 entries sends 2 LOOKUPs (the path)"
sort -o "$TEST_DIR/listed" "$TEST_DIR/listed"
find "$MNT" -mindepth 1 -maxdepth 1 -printf "$FMT" | sort > "$TEST_DIR/listed_ns"
umount_kvfs
mount_kvfs -d -o min_expiration_ttl=1
is "$(cd "$D/d" && stat_of empty small big ln sub | sort)" \
	"$(cat "$TEST_DIR/listed")" \
	"a listing's attributes of keys, directories, symlinks are a lookup's"
is "$(cd "$MNT" && stat_of default ns2 | sort)" \
	"$(cat "$TEST_DIR/listed_ns")" "and those of namespaces"
is "$(readlink "$D/d/ln")" small "a symlink listed reads its target"
is "$(wc -c < "$D/d/big")" 300000 "a key listed reads whole"

# --- a listing of many pages: whole, each name once --------------------
mkdir "$D/many"
is "$("$FSOP" populate "$D/many" 3000 10)" OK "3,000 keys created"
seq 0 2999 | sed 's/^/k/' | sort > "$TEST_DIR/want"
umount_kvfs
mount_kvfs -d -o min_expiration_ttl=1
is "$(run_counted "$TEST_DIR/found" \
	find "$D/many" -mindepth 1 -printf '%f %s\n')" 2 \
	"find -printf %s of 3,000 keys after a remount: 2 LOOKUPs (the path)"
is "$(cut -d' ' -f1 "$TEST_DIR/found" | sort | cmp - "$TEST_DIR/want" &&
	echo same)" same "every name listed once"
is "$(cut -d' ' -f2 "$TEST_DIR/found" | sort -u)" 10 "with its size"
is "$(du -s --apparent-size -B1 "$D/many" | cut -f1)" 30000 \
	"du adds the sizes up"

# --- expiry: an entry is not cached past its key's expiration ----------
mkdir "$D/exp"
echo soon > "$D/exp/e"
echo stays > "$D/exp/s"
"$FSOP" setxattr "$D/exp/e" user.kv.expiration_ttl 2 >/dev/null
exp=$(getfattr --only-values -n user.kv.expiration "$D/exp/e")
while [ "$(date +%s)" -lt "$exp" ]; do
	ls -l "$D/exp" > /dev/null 2>&1
done
errno_is ENOENT "the second it expires, a key listed just before is gone" \
	stat "$D/exp/e"
is "$(ls "$D/exp")" s "and not listed"

# --- lookups counted: the kernel forgets them all ----------------------
umount_kvfs
: > "$TEST_DIR/kvfs.err"
mount_kvfs -d -o node_cache=100
for _ in 1 2 3; do
	ls -l "$D/many" > /dev/null
	find "$D/many" -size -1k > /dev/null
done
ok "past node_cache=100 the kernel is asked to forget listed names" \
	grep -q 'node cache: .*asked the kernel to forget [1-9]' \
	"$TEST_DIR/kvfs.err"
# a node counted one lookup more than the kernel has would never be
# forgotten: the trim would go on asking for it
sleep 2
trims=$(grep -c 'node cache:' "$TEST_DIR/kvfs.err")
sleep 1
is "$(grep -c 'node cache:' "$TEST_DIR/kvfs.err")" "$trims" \
	"the kernel forgets every entry given: the trim ends"
is "$(cat "$D/many/k0" "$D/many/k2999" | wc -c)" 20 \
	"forgotten names read whole again"
umount_kvfs
is $? 0 "the daemon exits cleanly"

# --- the races -----------------------------------------------------------
mount_kvfs -o min_expiration_ttl=1
mkdir "$R"
echo other > "$R/j"

# reader: open k, holding its value, until go
start_reader() {
	rm -f "$TEST_DIR/ready" "$TEST_DIR/go"
	"$HELDREAD" "$R/k" "$TEST_DIR/ready" "$TEST_DIR/go" \
		> "$TEST_DIR/reader" &
	reader=$!
	wait_for "$TEST_DIR/ready"
}
end_reader() {
	touch "$TEST_DIR/go"
	wait "$reader"
}

# A: the listing has read k's old value from the store and is held; a
# writer commits a new one (and its nodes change); then the listing goes
# on with what it read.  The writer opened and wrote before the listing
# (an open would wait for the directory's lock, which the listing holds)
# and closes in the hold.
"$FSOP" fill "$R/k" a 5000 >/dev/null
start_reader
rm -f "$TEST_DIR/wready" "$TEST_DIR/wgo"
"$HELDREAD" -w "$R/k" b 200000 "$TEST_DIR/wready" "$TEST_DIR/wgo" \
	> "$TEST_DIR/writer" &
writer=$!
wait_for "$TEST_DIR/wready"
touch "$TEST_DIR/armls"
ls -ln "$R" > "$TEST_DIR/ls" &
lister=$!
ok "A: the daemon holds the listing after its store read" \
	wait_for "$TEST_DIR/armls.held"
touch "$TEST_DIR/armd" "$TEST_DIR/wgo"
ok "A: the writer's close commits a new value meanwhile" \
	wait_for "$TEST_DIR/armd.held"
rm -f "$TEST_DIR/armd.held" "$TEST_DIR/armls.held"
wait "$lister"
wait "$writer"
is "$(cat "$TEST_DIR/writer")" OK "A: the writer's calls succeed"
end_reader
is "$(cat "$TEST_DIR/reader")" "fstat 5000 mmap a*5000 read a*5000" \
	"A: the open reader keeps the old value's size and bytes"
is "$(stat -c %s "$R/k")" 200000 "A: a stat gives the new size"
is "$("$FSOP" uniform "$R/k" 200000)" OK "A: and a read the new bytes"

# B: a writer's commit is in the store, its nodes not yet changed; a
# listing reads the new value then.  The reader opened after the writer,
# so it was sent back to a node of its own, the name's current one (as
# a reader of a key just created, in tests/28-stress.sh): that node must
# not get the new value's size, or the reader's mmap faults past the
# bytes its handle serves.
"$FSOP" fill "$R/k" a 5000 >/dev/null
rm -f "$TEST_DIR/wready" "$TEST_DIR/wgo"
"$HELDREAD" -w "$R/k" b 200000 "$TEST_DIR/wready" "$TEST_DIR/wgo" \
	> "$TEST_DIR/writer" &
writer=$!
wait_for "$TEST_DIR/wready"
start_reader
touch "$TEST_DIR/armc" "$TEST_DIR/wgo"
ok "B: the daemon holds the writer's commit before its nodes change" \
	wait_for "$TEST_DIR/armc.held"
ls -ln "$R" > "$TEST_DIR/ls"
is "$(awk '$NF == "k" { print $5 }' "$TEST_DIR/ls")" 200000 \
	"B: the listing gives the committed size"
end_reader
is "$(cat "$TEST_DIR/reader")" "fstat 5000 mmap a*5000 read a*5000" \
	"B: the open reader keeps the old value's size and bytes"
rm -f "$TEST_DIR/armc.held"
wait "$writer"
is "$(cat "$TEST_DIR/writer")" OK "B: the writer's calls succeed"
is "$(stat -c %s "$R/k")" 200000 "B: a stat gives the new size"
is "$("$FSOP" uniform "$R/k" 200000)" OK "B: and a read the new bytes"

# C: the listing has read k's old value and is held; a truncate(2) by
# path commits a new value (no dentry is dropped for it); the listing
# must not leave the old size cached
"$FSOP" fill "$R/k" a 5000 >/dev/null
stat "$R/k" > /dev/null
touch "$TEST_DIR/armls"
ls -ln "$R" > "$TEST_DIR/ls" &
lister=$!
ok "C: the daemon holds the listing after its store read" \
	wait_for "$TEST_DIR/armls.held"
is "$("$FSOP" truncate "$R/k" 10)" OK "C: truncate(2) by path meanwhile"
rm -f "$TEST_DIR/armls.held"
wait "$lister"
is "$(stat -c %s "$R/k")" 10 "C: a stat after the truncate gives its size"
is "$("$FSOP" uniform "$R/k" 10)" OK "C: and a read its bytes"

done_testing
