#!/bin/sh
# SPEC 5, man kvctl: kvctl works on the keys of a namespace of a kvfs mount
# and on nothing else; a key that is none is a usage error, a prefix that
# starts none lists nothing;
# no key a user makes is hidden; a put killed at any point leaves nothing
# after the next mount; write_rate_limit holds for a rename over a key,
# and so for kvctl put; the exit statuses are those of the man page.
. "$(dirname "$0")/lib.sh"

mount_kvfs
N=$MNT/default
O=$MNT/other
T=$(printf '\377')	# the first byte of a temporary key's name
status() {
	"$@" >/dev/null 2>&1
	echo $?
}
names() {
	grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/' | tr '\n' ' '
}
listing() {
	ls -A "$1" | LC_ALL=C sort | tr '\n' ' '
}

mkdir "$O"
echo secret > "$O/k"
kv put "$N" keep original --metadata '{"m":1}'
kv put "$N" dir/inner v

# --- keys that are none: status 2; prefixes no key starts: nothing --------
dots="a filesystem cannot hold the key: it has an empty, '.' or '..' segment"
is "$(said kv get "$N" ../../../../etc/passwd)" \
	"kvctl: ../../../../etc/passwd: $dots 2" "get of a path out of the mount"
is "$(said kv get "$N" ../other/k)" "kvctl: ../other/k: $dots 2" \
	"get of another namespace's key"
is "$(said kv get "$N" ../other/k --with-metadata)" "kvctl: ../other/k: $dots 2" \
	"get --with-metadata"
is "$(said kv get "$N" keep ../other/k)" "kvctl: ../other/k: $dots 2" \
	"get of many keys: one bad, nothing printed"
is "$(said kv get "$N" keep ../other/k --type binary)" "kvctl: ../other/k: $dots 2" \
	"get of many keys --type binary"
is "$(said kv get "$N" dir/../keep)" "kvctl: dir/../keep: $dots 2" "a '..' inside"
is "$(said kv get "$N" ./keep)" "kvctl: ./keep: $dots 2" "a '.' segment"
is "$(said kv get "$N" dir/)" "kvctl: dir/: $dots 2" "a trailing '/'"
is "$(said kv get "$N" '')" "kvctl: : the key is empty 2" "an empty key"
bad=$(printf 'k\377')
is "$(said kv get "$N" "$bad")" "kvctl: $bad: the key is not valid UTF-8 2" \
	"a key that is not UTF-8"
long=$(printf '%04097d' 0)
is "$(said kv get "$N" "$long")" "kvctl: $long: the key is too long 2" \
	"a key longer than any"
is "$(said kv put "$N" ../other/k stolen)" "kvctl: ../other/k: $dots 2" \
	"put out of the namespace"
is "$(said kv put "$N" "$long" v)" "kvctl: $long: the key is too long 2" \
	"put of a key longer than any"
is "$(said kv delete "$N" keep ../other/k)" "kvctl: ../other/k: $dots 2" \
	"delete with one bad key"
is "$(cat "$O/k")" secret "the other namespace's key is intact"
is "$(kv get "$N" keep --with-metadata)" '{"value":"original","metadata":{"m":1}}' \
	"and so is the good key of the refused delete"
# a prefix is a byte string: one no key can start with lists nothing
none='{"keys":[],"list_complete":true}'
is "$(said kv list "$N" --prefix ../)" "$none 0" "list --prefix ../: nothing"
is "$(said kv export "$N" --prefix ../)" "[] 0" "export --prefix ../: nothing"
for p in ../other/ ./ a//b /a dir/./ dir/../ ..//; do
	is "$(said kv list "$N" --prefix "$p")" "$none 0" "list --prefix $p"
done
is "$(said kv export "$N" --prefix dir/../)" "[] 0" "export --prefix dir/../"
is "$(said kv list "$N" --prefix "$bad")" "$none 0" "a prefix not UTF-8"
is "$(said kv list "$N" --prefix "$long")" "$none 0" \
	"a prefix longer than any key"
# a prefix may end in part of a segment: '.', '..' and '' too
echo v > "$N/..dots"
is "$(kv list "$N" --prefix .. | names)" "..dots " "--prefix .. starts '..dots'"
is "$(kv list "$N" --prefix dir/ | names)" "dir/inner " "--prefix dir/"
is "$(kv export "$N" --prefix dir/.)" "[]" "--prefix dir/. (nothing there)"
cat > "$TEST_DIR/out.json" <<EOF
[{"key": "../other/k", "value": "stolen"},
 {"key": "dir/../../other/k", "value": "stolen"}]
EOF
is "$(said kv import "$N" "$TEST_DIR/out.json")" \
	"{\"successful_key_count\":0,\"unsuccessful_keys\":[\"../other/k\",\"dir/../../other/k\"],\"errors\":[{\"index\":0,\"key\":\"../other/k\",\"reason\":\"$dots\"},{\"index\":1,\"key\":\"dir/../../other/k\",\"reason\":\"$dots\"}]} 1" \
	"import: entries out of the namespace reported, not written"
is "$(cat "$O/k")" secret "the other namespace's key is still intact"

# --- only a namespace of a kvfs mount ----------------------------------------------
mkdir "$TEST_DIR/plain"
echo 'data' > "$TEST_DIR/plain/k"
echo '[{"key":"k","value":"v"}]' > "$TEST_DIR/one.json"
for c in "get $MNT/nosuchns k" "get $MNT/nosuchns k k2" \
	 "get $MNT/nosuchns k --with-metadata" "put $MNT/nosuchns k v" \
	 "delete $MNT/nosuchns k" "list $MNT/nosuchns" "export $MNT/nosuchns" \
	 "import $MNT/nosuchns $TEST_DIR/one.json"; do
	# shellcheck disable=SC2086
	is "$(said kv $c)" "kvctl: $MNT/nosuchns: no such namespace 1" "$c"
done
errno_is ENOENT "no namespace was made" stat "$MNT/nosuchns"
for c in "get $TEST_DIR/plain k" "put $TEST_DIR/plain k2 v" \
	 "delete $TEST_DIR/plain k" "list $TEST_DIR/plain" \
	 "export $TEST_DIR/plain" "import $TEST_DIR/plain $TEST_DIR/one.json"; do
	# shellcheck disable=SC2086
	is "$(said kv $c)" "kvctl: $TEST_DIR/plain: not on a kvfs mount 1" \
		"${c%% *} on a plain directory"
done
is "$(said kv get "$TEST_DIR/plain/sub" k)" \
	"kvctl: $TEST_DIR/plain/sub: not on a kvfs mount 1" "a missing directory off kvfs"
is "$(said kv namespace create "$TEST_DIR/plain" nsx)" \
	"kvctl: $TEST_DIR/plain: not a kvfs mount 1" "namespace create off kvfs"
is "$(said kv namespace list "$TEST_DIR/plain")" \
	"kvctl: $TEST_DIR/plain: not a kvfs mount 1" "namespace list off kvfs"
is "$(said kv namespace delete "$TEST_DIR/plain" nsx --force)" \
	"kvctl: $TEST_DIR/plain: not a kvfs mount 1" "namespace delete off kvfs"
is "$(listing "$TEST_DIR/plain")" "k " "the plain directory is untouched"
is "$(cat "$TEST_DIR/plain/k")" data "and its file too"
root="kvctl: $MNT: the root of a kvfs mount, not a namespace (NSDIR is MOUNT/NAME) 1"
is "$(said kv list "$MNT")" "$root" "list of the mount root"
is "$(said kv export "$MNT")" "$root" "export of the mount root"
is "$(said kv put "$MNT" k v)" "$root" "put at the mount root"
is "$(said kv get "$MNT" default/keep)" "$root" "get through the mount root"
inner="not a namespace of a kvfs mount (NSDIR is MOUNT/NAME) 1"
is "$(said kv list "$N/dir")" "kvctl: $N/dir: $inner" "a directory in a namespace"
is "$(said kv get "$N/keep" x)" "kvctl: $N/keep: $inner" "a key as NSDIR"
is "$(said kv get "$N/nodir" x)" "kvctl: $N/nodir: $inner" "a missing directory in one"
is "$(said kv namespace create "$N" nsx)" \
	"kvctl: $N: not the root of a kvfs mount (MOUNT is where kvfs is mounted) 1" \
	"namespace create in a namespace"
errno_is ENOENT "made nothing" stat "$N/nsx"
is "$(kv get "$N/" keep)" original "NSDIR with a trailing '/'"
is "$(cd "$N" && kv get . keep)" original "NSDIR as '.'"
is "$(cd "$N/dir" && kv get .. keep)" original "NSDIR as '..'"
ln -s "$N" "$TEST_DIR/link"
is "$(kv get "$TEST_DIR/link" keep)" original "NSDIR through a symbolic link"

# --- no key a user makes is hidden ------------------------------------------------
echo user > "$N/.kvctl-put.x"
echo user2 > "$N/dir/.kvctl-put.y"
is "$(kv list "$N" | names)" "..dots .kvctl-put.x dir/.kvctl-put.y dir/inner keep " \
	"list shows keys named .kvctl-put.*"
kv export "$N" > "$TEST_DIR/e1.json"
mkdir "$MNT/copy"
is "$(kv import "$MNT/copy" "$TEST_DIR/e1.json")" \
	'{"successful_key_count":5,"unsuccessful_keys":[],"errors":[]}' \
	"an export of them imports"
kv export "$MNT/copy" > "$TEST_DIR/e2.json"
ok "the round trip keeps them, byte for byte" cmp "$TEST_DIR/e1.json" "$TEST_DIR/e2.json"
is "$(cat "$MNT/copy/.kvctl-put.x")" user "with their values"

# --- temporary keys: no key's name, at the top of a namespace, never listed -----------
errno_is OK "a temporary key's name is taken at the top of a namespace" \
	creat-excl "$N/${T}t"
errno_is EILSEQ "but not in a directory" creat-excl "$N/dir/${T}t"
errno_is EILSEQ "nor for a directory" mkdir "$N/${T}d"
errno_is EILSEQ "nor as a rename's target" rename "$N/keep" "$N/${T}u"
errno_is EINVAL "nor at the root (no namespace's name)" mkdir "$MNT/${T}d"
errno_is OK "it takes an attribute" setxattr "$N/${T}t" user.kv.metadata '{"t":1}'
is "$(listing "$N")" "..dots .kvctl-put.x dir keep " "readdir never lists it"
is "$(kv list "$N" | names)" "..dots .kvctl-put.x dir/.kvctl-put.y dir/inner keep " \
	"nor does kvctl list"
errno_is OK "it can go" unlink "$N/${T}t"
mkdir "$MNT/only-temp"
errno_is OK "in a namespace" creat-excl "$MNT/only-temp/${T}t"
errno_is OK "that holds only a temporary key, rmdir works (it is empty)" \
	rmdir "$MNT/only-temp"

# --- a put killed at any point ---------------------------------------------------------
kv put "$N" victim old --metadata '{"v":1}'
# a value from a slow pipe: kvctl is in the middle of writing it
(printf new; sleep 3) |
	sh -c 'echo $$ > "$1"; exec "$2" put "$3" victim - --metadata "{\"v\":2}"' \
	sh "$TEST_DIR/pid" "$KVCTL" "$N" &
sleep 1
pid=$(cat "$TEST_DIR/pid")
kill -9 "$pid"
sleep 0.2
tmp="$N/${T}kvctl-put.$pid.0"
errno_is OK "a killed put's temporary key is at the top of the namespace" stat "$tmp"
is "$(listing "$N")" "..dots .kvctl-put.x dir keep victim " "but not listed"
is "$(kv get "$N" victim --with-metadata)" '{"value":"old","metadata":{"v":1}}' \
	"the key keeps its value and metadata"
remount
errno_is ENOENT "after the next mount the temporary key is gone" stat "$tmp"
is "$(listing "$N")" "..dots .kvctl-put.x dir keep victim " "the listing is the same"
is "$(kv get "$N" victim --with-metadata)" '{"value":"old","metadata":{"v":1}}' \
	"the old value and metadata are intact"
# a put that fails after making directories removes them and its temporary key
long511=$(printf '%0511d' 0)
is "$(said kv put "$N" "newdir/$long511" v)" \
	"kvctl: newdir/$long511: the key is longer than the store's max_key_size 1" \
	"a put refused at its rename"
errno_is ENOENT "the directory it made is gone" stat "$N/newdir"
is "$(listing "$N")" "..dots .kvctl-put.x dir keep victim " "nothing is left"
umount_kvfs

# --- write_rate_limit: a rename over a key is a write of it -------------------------------
mount_kvfs -o write_rate_limit=on
errno_is OK "a write" put "$N/r" v1
errno_is OK "a write of another key" put "$N/s" s1
errno_is EAGAIN "a rename over a key written within the second: EAGAIN" \
	rename "$N/s" "$N/r"
is "$(cat "$N/r")" v1 "the key keeps its value"
is "$(cat "$N/s")" s1 "the source stays"
sleep 1.1
errno_is OK "a second later the rename is done" rename "$N/s" "$N/r"
is "$(cat "$N/r")" s1 "and takes effect"
errno_is EAGAIN "the rename counted as a write of the key" put "$N/r" v3
errno_is OK "a rename to a new name is not limited" rename "$N/r" "$N/t"
errno_is EAGAIN "but counts too" put "$N/t" v4
is "$(status kv put "$N" p 1)" 0 "kvctl put"
is "$(said kv put "$N" p 2)" \
	"kvctl: p: the key was written less than a second ago (write_rate_limit) 1" \
	"kvctl put again within the second: refused"
is "$(kv get "$N" p)" 1 "the first value stays"
is "$(listing "$N")" "..dots .kvctl-put.x dir keep p t victim " "nothing left behind"
sleep 1.1
is "$(status kv put "$N" p 3)" 0 "a second later"
is "$(kv get "$N" p)" 3 "it takes effect"
umount_kvfs

# --- a temporary key's name is not bound by max_key_size ------------------------------
mount_kvfs -o max_key_size=8
is "$(status kv put "$N" key8 v8)" 0 "kvctl put under max_key_size=8"
is "$(kv get "$N" key8)" v8 "takes effect"
is "$(said kv put "$N" ninebytes v)" \
	"kvctl: ninebytes: the key is longer than the store's max_key_size 1" \
	"a key past it is still refused"
is "$(listing "$N")" "..dots .kvctl-put.x dir keep key8 p t victim " "nothing left behind"

# --- exit statuses as man kvctl says: 2 for usage ----------------------------------
for l in -1 1001 abc '' 1x; do
	is "$(said kv list "$N" --limit "$l")" "kvctl: --limit: 0 to 1000, not '$l' 2" \
		"--limit '$l': a usage error"
done
is "$(said kv list "$N" --cursor '!!')" \
	"kvctl: --cursor: not a cursor of kvctl list: '!!' 2" "a bad --cursor"
is "$(said kv get "$N" k --type xml)" "kvctl: --type: text, json or binary, not 'xml' 2" \
	"a bad --type"
is "$(said kv put "$N" k v --expiration-ttl 1h)" \
	"kvctl: --expiration-ttl: not a number of seconds: '1h' 2" "a bad --expiration-ttl"
is "$(said kv put "$N" k v --expiration x)" \
	"kvctl: --expiration: not a number of seconds: 'x' 2" "a bad --expiration"
is "$(said kv put "$N" k v --expiration 99999999999 --expiration-ttl x)" \
	"kvctl: --expiration-ttl: not a number of seconds: 'x' 2" \
	"a bad --expiration-ttl beside a good --expiration"
is "$(said kv namespace list "$MNT" --page 0)" \
	"kvctl: --page: a number from 1, not '0' 2" "a bad --page"
is "$(said kv namespace list "$MNT" --page-size x)" \
	"kvctl: --page-size: a number from 1, not 'x' 2" "a bad --page-size"
is "$(status kv namespace frob "$MNT" abc)" 2 "an unknown namespace operation"
errno_is ENOENT "k was never written" stat "$N/k"
is "$(cd "$TEST_DIR" && said kv import "$N" missing.json)" \
	"kvctl: missing.json: No such file or directory 1" \
	"import of a missing file names it and the system error"
is "$(said kv import "$N" "$TEST_DIR")" \
	"kvctl: $TEST_DIR: Is a directory 1" \
	"import of a directory"

done_testing
