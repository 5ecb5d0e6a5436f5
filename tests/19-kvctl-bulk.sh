#!/bin/sh
# SPEC 5: kvctl list (byte order, pages, a cursor stable under changes),
# import and export in the Cloudflare bulk format, round trips.
. "$(dirname "$0")/lib.sh"

mount_kvfs
N=$MNT/default
# names: the key names of a list page, one a line
names() {
	grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/'
}

# --- 2,500 keys, paged with inserts and deletes between pages -------------------
{
	echo '['
	seq -f 'item/%04g' 0 1999 | sed 's/.*/{"key":"&","value":"v"},/'
	seq -f 'item-%04g' 0 498 | sed 's/.*/{"key":"&","value":"v"},/'
	echo '{"key":"item-0499","value":"v"}]'
} > "$TEST_DIR/2500.json"
is "$(kv import "$N" "$TEST_DIR/2500.json")" \
	'{"successful_key_count":2500,"unsuccessful_keys":[],"errors":[]}' \
	"2,500 keys imported"
p1=$(kv list "$N")
is "$(echo "$p1" | names | wc -l)" 1000 "page 1: 1000 keys (the default limit)"
is "$(echo "$p1" | grep -o '"list_complete":false')" '"list_complete":false' \
	"list_complete false"
is "$(echo "$p1" | names | sed -n '1p;500p;501p;1000p' | tr '\n' ' ')" \
	"item-0000 item-0499 item/0000 item/0499 " \
	"byte order of whole keys: item-... before item/..."
c1=$(echo "$p1" | sed 's/.*"cursor":"\([^"]*\)".*/\1/')
kv put "$N" item-9999 before-the-cursor
kv put "$N" item/9999 after-the-cursor
kv delete "$N" item/0500 item/0499
p2=$(kv list "$N" --cursor "$c1")
is "$(echo "$p2" | names | sed -n '1p;1000p' | tr '\n' ' ')" "item/0501 item/1500 " \
	"page 2 resumes after the cursor, past the deleted key"
c2=$(echo "$p2" | sed 's/.*"cursor":"\([^"]*\)".*/\1/')
p3=$(kv list "$N" --cursor "$c2")
is "$(echo "$p3" | names | wc -l)" 500 "page 3: the rest"
is "$(echo "$p3" | names | tail -1)" item/9999 "with the key added after the cursor"
is "$(echo "$p3" | sed 's/.*\("list_complete":.*\)/\1/')" \
	'"list_complete":true}' "list_complete and no cursor, as the binding"
{ echo "$p1"; echo "$p2"; echo "$p3"; } | names > "$TEST_DIR/paged"
is "$(sort -u "$TEST_DIR/paged" | wc -l)" 2500 "2,500 keys listed, each once"
is "$(LC_ALL=C sort -c "$TEST_DIR/paged" 2>&1)" "" "in byte order"

is "$(kv list "$N" --prefix item- --limit 3 | names | tr '\n' ' ')" \
	"item-0000 item-0001 item-0002 " "--prefix and --limit"
is "$(kv list "$N" --prefix item/19 | names | wc -l)" 100 "a prefix inside a directory"
is "$(kv list "$N" --prefix nothing)" '{"keys":[],"list_complete":true}' \
	"a prefix that matches nothing"
is "$(said kv list "$N" --limit 1001)" "kvctl: --limit: 0 to 1000, not '1001' 2" \
	"a limit past 1000: a usage error"
is "$(kv list "$N" --limit 0)" "$(kv list "$N" --limit 1000)" \
	"a limit of 0: the default 1000, as the binding's"
is "$(said kv list "$N" --cursor '!!')" "kvctl: --cursor: not a cursor of kvctl list: '!!' 2" \
	"a bad cursor"
now=$(date +%s)
kv put "$N" item-0000 v --metadata '{"m":[1]}' --expiration $((now + 999))
is "$(kv list "$N" --limit 1)" \
	"{\"keys\":[{\"name\":\"item-0000\",\"expiration\":$((now + 999)),\"metadata\":{\"m\":[1]}}],\"list_complete\":false,\"cursor\":\"aXRlbS0wMDAw\"}" \
	"keys with their expiration and metadata"

# --- import: bad input and keys a filesystem cannot hold ---------------------------
printf '[{"key": "a", "value": ' > "$TEST_DIR/bad.json"
is "$(said kv import "$N" "$TEST_DIR/bad.json")" \
	"kvctl: $TEST_DIR/bad.json: line 1: unexpected token near end of file 1" \
	"bad JSON: a message with the line"
echo '{"key":"a","value":"b"}' > "$TEST_DIR/obj.json"
is "$(said kv import "$N" "$TEST_DIR/obj.json")" \
	"kvctl: $TEST_DIR/obj.json: not a JSON array of keys 1" "not an array"
pad=$(printf '%01100d' 0)
cat > "$TEST_DIR/mixed.json" <<EOF
[
 {"key": "ok/text", "value": "héllo \u0000 world", "metadata": {"a": 1}},
 {"key": "ok/binary", "value": "AP8BAg==", "base64": true},
 {"key": "ok/ttl-wins", "value": "t", "expiration": $((now + 100000)), "expiration_ttl": 7200},
 {"key": "ok/exp", "value": "e", "expiration": $((now + 5000))},
 {"key": "", "value": "empty key"},
 {"key": "a//b", "value": "empty segment"},
 {"key": "x/./y", "value": "dot"},
 {"key": "x/..", "value": "dot dot"},
 {"key": "/lead", "value": "leading slash"},
 {"key": "p", "value": "prefix of p/q"},
 {"key": "p/q", "value": "below p"},
 {"key": "bad64", "value": "%%%", "base64": true},
 {"key": "short", "value": "v", "expiration_ttl": 30},
 {"key": "fat", "value": "v", "metadata": "$pad"},
 {"key": "num", "value": 42},
 {"key": 7, "value": "v"},
 "not an object"
]
EOF
out=$(kv import "$N" "$TEST_DIR/mixed.json")
is "$?" 1 "an import with failures: status 1"
is "$(echo "$out" | sed 's/,"errors".*//')" \
	'{"successful_key_count":5,"unsuccessful_keys":["","a//b","x/./y","x/..","/lead","p","bad64","short","fat","num"]' \
	"the good keys imported, the others reported"
for r in '"index":4,"key":"","reason":"the key is empty"' \
	 "\"index\":5,\"key\":\"a//b\",\"reason\":\"a filesystem cannot hold the key: it has an empty, '.' or '..' segment\"" \
	 '"index":9,"key":"p","reason":"the key is also the prefix of another key"' \
	 '"index":11,"key":"bad64","reason":"the value is not base64"' \
	 '"index":12,"key":"short","reason":"the expiration is nearer than the store'"'"'s min_expiration_ttl (60 s unless set)"' \
	 '"index":13,"key":"fat","reason":"the metadata is larger than the store'"'"'s max_metadata_size"' \
	 '"index":14,"key":"num","reason":"the value is not a string"' \
	 '"index":15,"key":null,"reason":"the key is not a string"' \
	 '"index":16,"key":null,"reason":"the entry is not an object"'; do
	case $out in
	*"{$r}"*) pass "reason: $r" ;;
	*) fail "reason: $r"; echo "# $out" ;;
	esac
done
is "$(kv get "$N" ok/text --with-metadata)" \
	'{"value":"héllo \u0000 world","metadata":{"a":1}}' "a text value with its metadata"
is "$(od -An -tx1 "$N/ok/binary" | tr -d ' ')" 00ff0102 "a base64 value decoded"
left=$(getfattr --absolute-names --only-values -n user.kv.expiration_ttl "$N/ok/ttl-wins")
[ "$left" -ge 7190 ] && [ "$left" -le 7200 ] && pass "expiration_ttl wins over expiration ($left)" ||
	fail "expiration_ttl wins over expiration ($left)"
is "$(getfattr --absolute-names --only-values -n user.kv.expiration "$N/ok/exp")" \
	$((now + 5000)) "expiration"
is "$(cat "$N/p/q")" "below p" "the deeper of two clashing keys is imported"
is "$(ls -A "$N" | grep -c kvctl-put)" 0 "no temporary key left behind"

# --- round trip: import -> export -> import gives the same store -------------------
mkdir "$MNT/copy"
kv export "$N" > "$TEST_DIR/export1.json"
is "$(head -c 1 "$TEST_DIR/export1.json")" "[" "export is a JSON array"
grep -q '"key":"ok/binary","value":"AP8BAg==","base64":true' "$TEST_DIR/export1.json" &&
	pass "binary values exported in base64" || fail "binary values exported in base64"
is "$(kv import "$MNT/copy" "$TEST_DIR/export1.json" | sed 's/"unsuccessful.*//')" \
	"{\"successful_key_count\":$(grep -c '"key"' "$TEST_DIR/export1.json")," \
	"every exported key imports"
kv export "$MNT/copy" > "$TEST_DIR/export2.json"
ok "the second export is the same, byte for byte" cmp "$TEST_DIR/export1.json" "$TEST_DIR/export2.json"
ok "binary values are the same bytes" cmp "$N/ok/binary" "$MNT/copy/ok/binary"
is "$(kv export "$N" --prefix ok/b)" '[
{"key":"ok/binary","value":"AP8BAg==","base64":true}
]' "export --prefix"
is "$(kv export "$N" --prefix none)" "[]" "an empty export"

# --- from standard input, and a progress line on a terminal ------------------------
echo '[{"key":"stdin/a","value":"from stdin"}]' | kv import "$N" - >/dev/null
is "$(cat "$N/stdin/a")" "from stdin" "import - reads standard input"
{
	echo '['
	seq -f 'tty/%04g' 1 1499 | sed 's/.*/{"key":"&","value":"v"},/'
	echo '{"key":"tty/1500","value":"v"}]'
} > "$TEST_DIR/tty.json"
out=$(script -qec "'$KVCTL' import '$N' '$TEST_DIR/tty.json'" /dev/null | tr '\r' '\n')
case $out in
*"importing: 750 of 1500 keys (50%)"*"importing: 1500 of 1500 keys (100%)"*)
	pass "a progress line on a terminal" ;;
*) fail "a progress line on a terminal"; echo "$out" | tail -3 | sed 's/^/# /' ;;
esac
is "$(kv import "$N" "$TEST_DIR/tty.json" 2>&1 >/dev/null)" "" "and none when stderr is not one"

# --- 10,000 keys import in seconds --------------------------------------------------
{
	echo '['
	seq -f 'bulk/%05g' 0 9998 | sed 's/.*/{"key":"&","value":"value of &","metadata":{"n":1}},/'
	echo '{"key":"bulk/09999","value":"last"}]'
} > "$TEST_DIR/10k.json"
t0=$(date +%s.%N)
out=$(kv import "$MNT/copy" "$TEST_DIR/10k.json")
t1=$(date +%s.%N)
secs=$(awk "BEGIN { print $t1 - $t0 }")
is "$out" '{"successful_key_count":10000,"unsuccessful_keys":[],"errors":[]}' \
	"10,000 keys imported"
awk "BEGIN { exit !($secs < 60) }" && pass "in $secs s" || fail "in $secs s"
is "$(kv get "$MNT/copy" bulk/09999 bulk/04567)" \
	'{"bulk/09999":"last","bulk/04567":"value of bulk/04567"}' "and readable"

done_testing
