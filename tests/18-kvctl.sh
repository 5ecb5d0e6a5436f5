#!/bin/sh
# SPEC 5: kvctl get, put, delete and namespace on a mounted kvfs, with the
# exact output and exit status of each, and the limits refused with
# nothing lost and nothing left behind.
. "$(dirname "$0")/lib.sh"

mount_kvfs
N=$MNT/default
# status CMD...: the exit status alone
status() {
	"$@" >/dev/null 2>&1
	echo $?
}

# --- put and get ---------------------------------------------------------------
is "$(status kv put "$N" greeting hello)" 0 "put from an argument"
is "$(kv get "$N" greeting)" hello "get prints the value as it is"
printf 'from a file\n' > "$TEST_DIR/f"
kv put "$N" filed --file "$TEST_DIR/f"
is "$(cat "$N/filed")" "from a file" "put --file"
printf 'from stdin' | kv put "$N" piped -
is "$(kv get "$N" piped)" "from stdin" "put - reads stdin"
kv put "$N" cfg '{"a": [1, 2], "b": "x"}'
is "$(kv get "$N" cfg --type json)" '{"a":[1,2],"b":"x"}' "--type json: compact"
is "$(kv get "$N" cfg --type json --pretty)" '{
  "a": [
    1,
    2
  ],
  "b": "x"
}' "--type json --pretty"
kv put "$N" nums '{"a": 0.1, "b": [1.0, -0, 1E2], "c": 1e400, "d": "\u00e9 \"q\""}'
is "$(kv get "$N" nums --type json)" \
	'{"a":0.1,"b":[1.0,-0,1E2],"c":1e400,"d":"\u00e9 \"q\""}' \
	"--type json: numbers and escapes as stored"
is "$(kv get "$N" nums --type json --with-metadata)" \
	'{"value":{"a":0.1,"b":[1.0,-0,1E2],"c":1e400,"d":"\u00e9 \"q\""},"metadata":null}' \
	"--type json --with-metadata: the same"
is "$(said kv get "$N" greeting --type json)" \
	"kvctl: greeting: the value is not JSON (try --type text) 1" \
	"--type json of a value that is not JSON"
printf '\000\377\001binary' | kv put "$N" bin -
is "$(kv get "$N" bin --type binary | od -An -c | tr -s ' ')" \
	" \\0 377 001 b i n a r y" "--type binary: the bytes as they are"
is "$(kv get "$N" bin | od -An -c | tr -s ' ')" \
	" \\0 377 001 b i n a r y" "--type text of one binary value: its bytes too"
is "$(said kv get "$N" nokey)" "kvctl: nokey: no such key 1" \
	"a missing key alone: a message and status 1"

# several keys: one object, null for the missing
is "$(kv get "$N" greeting nokey piped)" \
	'{"greeting":"hello","nokey":null,"piped":"from stdin"}' \
	"bulk get, missing keys null"
is "$(said kv get "$N" cfg greeting --type json)" \
	"kvctl: greeting: the value is not JSON (try --type text) 1" \
	"bulk json get of a value that is not JSON"
is "$(kv get "$N" bin nokey --type binary)" '{"bin":"AP8BYmluYXJ5","nokey":null}' \
	"bulk binary get: base64"

# metadata and expiration, together with the value
now=$(date +%s)
kv put "$N" flags/new-ui on --metadata '{"owner":"ana","v":2}' \
	--expiration $((now + 3600))
is "$(kv get "$N" flags/new-ui --with-metadata)" \
	'{"value":"on","metadata":{"owner":"ana","v":2}}' "get --with-metadata"
is "$(getfattr --absolute-names --only-values -n user.kv.expiration "$N/flags/new-ui")" \
	$((now + 3600)) "--expiration set"
kv put "$N" session s1 --expiration-ttl 600
left=$(getfattr --absolute-names --only-values -n user.kv.expiration_ttl "$N/session")
[ "$left" -ge 598 ] && [ "$left" -le 600 ] && pass "--expiration-ttl set ($left)" ||
	fail "--expiration-ttl set ($left)"
is "$(kv get "$N" greeting flags/new-ui nokey --with-metadata)" \
	'{"greeting":{"value":"hello","metadata":null},"flags/new-ui":{"value":"on","metadata":{"owner":"ana","v":2}},"nokey":null}' \
	"bulk get --with-metadata"
kv put "$N" flags/new-ui off
is "$(kv get "$N" flags/new-ui --with-metadata)" '{"value":"off","metadata":null}' \
	"a put replaces the metadata, as in Workers KV"
errno_is ENODATA "and the expiration" getxattr "$N/flags/new-ui" user.kv.expiration 100

# keys are KV keys: put makes directories, delete removes the empty ones
kv put "$N" a/b/c/d deep
is "$(cat "$N/a/b/c/d")" deep "put makes the directories it needs"
kv put "$N" a/x sibling
is "$(status kv delete "$N" a/b/c/d)" 0 "delete"
errno_is ENOENT "the key is gone" stat "$N/a/b/c/d"
errno_is ENOENT "and the directories it left empty" stat "$N/a/b"
is "$(cat "$N/a/x")" sibling "but not one that holds a key"
is "$(status kv delete "$N" a/x nokey)" 0 "deleting a missing key is not an error"
errno_is ENOENT "the last key's directory goes too" stat "$N/a"

# --- limits: a clear message, status 1, nothing lost or left behind -------------
kv put "$N" keep original --metadata '{"m":1}'
big=$(printf '%01030d' 0)
is "$(said kv put "$N" keep new --metadata "[\"$big\"]")" \
	"kvctl: keep: the metadata is larger than the store's max_metadata_size 1" \
	"oversize metadata refused"
is "$(said kv put "$N" keep new --metadata '{oops')" \
	"kvctl: keep: the metadata is not valid JSON 1" "invalid metadata refused"
is "$(said kv put "$N" keep new --expiration-ttl 59)" \
	"kvctl: keep: the expiration is nearer than the store's min_expiration_ttl (60 s unless set) 1" \
	"a ttl under 60 refused"
is "$(said kv put "$N" keep new --expiration $((now + 30)))" \
	"kvctl: keep: the expiration is nearer than the store's min_expiration_ttl (60 s unless set) 1" \
	"an expiration under 60 s ahead refused"
is "$(said kv put "$N" keep new --expiration-ttl 1h)" \
	"kvctl: --expiration-ttl: not a number of seconds: '1h' 2" \
	"a ttl that is not a number: a usage error"
head -c $((25 * 1024 * 1024 + 1)) /dev/zero > "$TEST_DIR/big"
is "$(said kv put "$N" keep --file "$TEST_DIR/big")" \
	"kvctl: keep: the value is larger than the store's max_value_size 1" \
	"a value past max_value_size refused"
long=$(printf '%0513d' 0)
is "$(said kv put "$N" "$long" v)" \
	"kvctl: $long: the key is longer than the store's max_key_size 1" \
	"a key past max_key_size refused"
is "$(said kv put "$N" 'a//b' v)" \
	"kvctl: a//b: a filesystem cannot hold the key: it has an empty, '.' or '..' segment 2" \
	"a key with an empty segment: a usage error"
is "$(said kv put "$N" keep/under v)" \
	"kvctl: keep/under: a prefix of the key is itself a key 1" \
	"a key below a key refused"
is "$(kv get "$N" keep --with-metadata)" '{"value":"original","metadata":{"m":1}}' \
	"after every refusal the old value and metadata are intact"
is "$(ls -A "$N" | grep -c kvctl-put)" 0 "and no temporary key is left behind"
is "$(status kv put "$N")" 2 "a usage error: status 2"
is "$(status kv frobnicate)" 2 "an unknown command: status 2"
for c in get put delete list namespace import export; do
	is "$(status kv $c --help)" 0 "kvctl $c --help"
done
is "$(status kv --help)" 0 "kvctl --help"

# --- atomicity: a reader sees each value with its own metadata ------------------
kv put "$N" pair v0 --metadata '{"n":0}'
(
	for i in $(seq 1 150); do
		kv put "$N" pair "v$i" --metadata "{\"n\":$i}"
	done
) &
writer=$!
mixed=0
reads=0
while kill -0 $writer 2>/dev/null; do
	got=$(kv get "$N" pair --with-metadata)
	v=$(echo "$got" | sed 's/.*"value":"v\([0-9]*\)".*/\1/')
	m=$(echo "$got" | sed 's/.*"metadata":{"n":\([0-9]*\)}.*/\1/')
	[ "$v" = "$m" ] || { mixed=$((mixed + 1)); echo "# mixed: $got"; }
	reads=$((reads + 1))
done
wait $writer
is "$mixed" 0 "$reads reads during 150 puts: never a value with another's metadata"
is "$(kv get "$N" pair --with-metadata)" '{"value":"v150","metadata":{"n":150}}' \
	"the last put wins"

# --- namespaces ------------------------------------------------------------------
out=$(kv namespace create "$MNT" my-namespace)
case $out in
'{"name":"my-namespace","created_at":"'????-??-??T??:??:??Z'","last_modified":"'????-??-??T??:??:??Z'"}')
	pass "namespace create: the Azion JSON" ;;
*) fail "namespace create: $out" ;;
esac
is "$(kv namespace get "$MNT" my-namespace)" "$out" "namespace get"
is "$(said kv namespace create "$MNT" my-namespace)" \
	"kvctl: my-namespace: the namespace exists 1" "create again: refused"
is "$(said kv namespace create "$MNT" ab)" \
	"kvctl: ab: a namespace name is 3 to 63 characters of A-Z a-z 0-9 _ - 1" \
	"a bad name refused"
for n in ns-c ns-a ns-b; do kv namespace create "$MNT" $n >/dev/null; done
is "$(kv namespace list "$MNT" | sed 's/"created_at":"[^"]*","last_modified":"[^"]*"//g')" \
	'{"count":5,"results":[{"name":"default",},{"name":"my-namespace",},{"name":"ns-a",},{"name":"ns-b",},{"name":"ns-c",}]}' \
	"namespace list, by name"
is "$(kv namespace list "$MNT" --page 2 --page-size 2 | sed 's/"created_at":"[^"]*","last_modified":"[^"]*"//g')" \
	'{"count":5,"results":[{"name":"ns-a",},{"name":"ns-b",}]}' "page 2 of 2"
is "$(kv namespace list "$MNT" --page 3 --page-size 2 | sed 's/"created_at":"[^"]*","last_modified":"[^"]*"//g')" \
	'{"count":5,"results":[{"name":"ns-c",}]}' "the last page"
kv put "$MNT/ns-a" k v
is "$(said kv namespace delete "$MNT" ns-a)" \
	"kvctl: ns-a: the namespace holds keys (delete them, or use --force) 1" \
	"delete of a namespace with keys refused"
is "$(status kv namespace delete "$MNT" ns-a --force)" 0 "delete --force"
is "$(status kv namespace delete "$MNT" ns-b)" 0 "delete of an empty one"
is "$(said kv namespace get "$MNT" ns-b)" \
	"kvctl: ns-b: no such namespace 1" "gone"

# status: a local mount
kv put "$MNT/ns-c" sized "12345"
is "$(kv status "$MNT" | sed 's/"value_bytes":[0-9]*/"value_bytes":N/')" \
	'{"mode":"local","value_bytes":N,"values_cached":"all"}' \
	"status of a local mount"
is "$(said kv status "$MNT/ns-c")" \
	"kvctl: $MNT/ns-c: not the root of a kvfs mount (MOUNT is where kvfs is \
mounted) 1" "status wants the mount's root"

done_testing
