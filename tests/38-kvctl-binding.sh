#!/bin/sh
# kvctl answers as the Workers KV binding does (issue 20): a --prefix is a
# byte string, keys are checked alike by every command, deleting a missing
# key is no error, any key a file write takes put takes, any RFC 8259
# metadata, the binding's result shapes and limits, values that are not
# UTF-8 in JSON output, and --expiration-ttl winning over --expiration.
# Each with the exact output and exit status.
. "$(dirname "$0")/lib.sh"

mount_kvfs
N=$MNT/default
O=$MNT/other
names() {
	grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/' | tr '\n' ' '
}
listing() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')
}

mkdir "$O"
echo secret > "$O/k"

# --- 1. a prefix is a byte string, not a path ------------------------------------
kv put "$N" o/a-b 1
kv put "$N" o/x/y 2
kv put "$N" ..dots 3
kv put "$N" é 4
none='{"keys":[],"list_complete":true}'
for p in / o// o/./ o/x/../ ../ ../other/ ./ /o a//b ..// o/x/.. "$(printf '%0513d' 0)"; do
	is "$(said kv list "$N" --prefix "$p")" "$none 0" "list --prefix '$p': nothing"
	is "$(said kv export "$N" --prefix "$p")" "[] 0" "export --prefix '$p': nothing"
done
is "$(kv list "$N" --prefix o/ | names)" "o/a-b o/x/y " "--prefix o/"
is "$(kv list "$N" --prefix o | names)" "o/a-b o/x/y " "--prefix o"
is "$(kv list "$N" --prefix o/x | names)" "o/x/y " "--prefix o/x"
is "$(kv list "$N" --prefix .. | names)" "..dots " "--prefix .. starts '..dots'"
is "$(kv list "$N" --prefix "$(printf '\303')" | names)" "é " \
	"a prefix of part of a character: byte for byte"
is "$(kv list "$N" --prefix "$(printf 'x\377')" | names)" "" \
	"a prefix no key starts with"
is "$(listing "$N")" "./..dots ./o ./o/a-b ./o/x ./o/x/y ./é " \
	"no key was invented, nothing made"

# --- 2. every command checks keys as put does --------------------------------------
dots="a filesystem cannot hold the key: it has an empty, '.' or '..' segment"
long=$(printf '%0513d' 0)
deep="nodir/$(printf '%0507d' 0)"
kv put "$N" ok v
for k in "" . .. ../other/k "$long" "$deep"; do
	d=$(printf '%.12s' "$k")	# the key in a test's name
	put=$(said kv put "$N" "$k" v)
	case $k in
	"") want="kvctl: : the key is empty 2" ;;
	"$long"|"$deep")
		want="kvctl: $k: the key is longer than the store's max_key_size 1" ;;
	*) want="kvctl: $k: $dots 2" ;;
	esac
	is "$put" "$want" "put '$d' refused"
	is "$(said kv get "$N" "$k")" "$want" "get '$d' as put"
	is "$(said kv get "$N" "$k" --with-metadata)" "$want" \
		"get --with-metadata '$d' as put"
	is "$(said kv get "$N" ok "$k")" "$want" "bulk get with '$d' as put"
	is "$(said kv get "$N" ok "$k" --with-metadata)" "$want" \
		"bulk get --with-metadata with '$d' as put"
	is "$(said kv delete "$N" "$k")" "$want" "delete '$d' as put"
done
is "$(cat "$O/k")" secret "the other namespace's key is intact"
is "$(kv get "$N" ok)" v "and the good key too"
is "$(listing "$N")" "./..dots ./o ./o/a-b ./o/x ./o/x/y ./ok ./é " \
	"nothing made, nothing left"

# --- 3. deleting a missing key succeeds, and deletes nothing -----------------------
kv put "$N" cf/a v
kv put "$N" cf/d/k1 v1
kv put "$N" cf/d/sub/k2 v2
mkdir "$N/cf/empty"
before=$(listing "$N/cf")
is "$(said kv delete "$N" cf/d)" " 0" "delete of a directory with keys: missing, status 0"
is "$(said kv delete "$N" cf/a/zz)" " 0" "delete of a name below a key: status 0"
is "$(said kv delete "$N" cf/a/zz/deeper)" " 0" "and deeper below"
is "$(said kv delete "$N" cf/empty)" " 0" "delete of an empty directory: status 0"
is "$(said kv delete "$N" cf/d cf/nokey cf/d/sub)" " 0" "several at once"
is "$(listing "$N/cf")" "$before" "nothing was deleted"
is "$(kv get "$N" cf/d/k1 cf/d/sub/k2 cf/a)" \
	'{"cf/d/k1":"v1","cf/d/sub/k2":"v2","cf/a":"v"}' "the keys keep their values"
is "$(said kv delete "$N" cf/d cf/a)" " 0" "a missing key beside a real one"
errno_is ENOENT "the real one is deleted" stat "$N/cf/a"

# --- 4. every key a file write takes, put takes; a failed put leaves nothing -------
d494=$(printf 'd%0493d' 0)
k512="$d494/$(printf 'k%016d' 0)"
is "${#k512}" 512 "a 512-byte key with a 494-byte directory"
is "$(said kv put "$N" "$k512" big-dir)" " 0" "put takes it"
is "$(kv get "$N" "$k512")" big-dir "get reads it"
is "$(cat "$N/$k512")" big-dir "as a file"
k512b="$(printf 'e%0509d' 0)/x"
is "$(said kv put "$N" "$k512b" v)" " 0" "a 512-byte key with a 510-byte directory"
printf 'by a write' > "$N/$(printf 'f%0493d' 0)"
is "$(said kv put "$N" "$(printf 'f%0493d' 0)" by-put)" " 0" \
	"a 494-byte key a write took, put takes"
kv delete "$N" "$k512" "$k512b" "$(printf 'f%0493d' 0)"
before=$(listing "$N")
deep="new1/new2/$(printf '%0503d' 0)"
is "$(said kv put "$N" "$deep" v)" \
	"kvctl: $deep: the key is longer than the store's max_key_size 1" \
	"a put past max_key_size below new directories: refused"
head -c $((25 * 1024 * 1024 + 1)) /dev/zero > "$TEST_DIR/big"
is "$(said kv put "$N" new1/new2/k --file "$TEST_DIR/big")" \
	"kvctl: new1/new2/k: the value is larger than the store's max_value_size 1" \
	"a put of a value too large below new directories: refused"
rm -f "$TEST_DIR/big"
is "$(said kv put "$N" new1/new2/k v --metadata '{oops')" \
	"kvctl: new1/new2/k: the metadata is not valid JSON 1" \
	"a put with bad metadata below new directories: refused"
mkdir -p "$N/new1/new2/k/sub"
echo v > "$N/new1/new2/k/sub/x"
is "$(said kv put "$N" new1/new2/k/sub v)" \
	"kvctl: new1/new2/k/sub: a directory has the key's name (it is a prefix of other keys) 1" \
	"a put refused at its rename"
rm -r "$N/new1"
is "$(listing "$N")" "$before" "no directory or temporary key left behind"
is "$(said kv put "$N" "$d494" now-a-key)" " 0" \
	"the directory's name is free for a key again"
is "$(kv get "$N" "$d494")" now-a-key "and holds it"
kv delete "$N" "$d494"

# --- 5. metadata numbers: any RFC 8259 allows; size of the compact form ------------
meta_of() {
	getfattr --absolute-names --only-values -n user.kv.metadata "$N/$1"
}
# get and list print metadata as stored, as export does: -0 as -0, not 0
for m in '{"n":10000000000000000000}' '1e400' '-0' '{"x":1.5e308}' \
	 '[-1e400,9223372036854775808,0.5e-999]'; do
	is "$(said kv put "$N" num "v" --metadata "$m")" " 0" "put --metadata $m"
	is "$(meta_of num)" "$m" "stored as given"
	is "$(kv get "$N" num --with-metadata)" "{\"value\":\"v\",\"metadata\":$m}" \
		"get --with-metadata prints it as stored"
	is "$(kv list "$N" --prefix num)" \
		"{\"keys\":[{\"name\":\"num\",\"metadata\":$m}],\"list_complete\":true}" \
		"list prints it as stored"
	is "$(kv export "$N" --prefix num)" \
		"[
{\"key\":\"num\",\"value\":\"v\",\"metadata\":$m}
]" "export prints it as stored"
	echo > "$N/set"
	is "$(said setfattr -n user.kv.metadata -v "$m" "$N/set")" " 0" \
		"setfattr takes $m"
	is "$(meta_of set)" "$m" "byte for byte"
done
is "$(kv get "$N" num set --with-metadata)" \
	"{\"num\":{\"value\":\"v\",\"metadata\":[-1e400,9223372036854775808,0.5e-999]},\"set\":{\"value\":\"\\n\",\"metadata\":[-1e400,9223372036854775808,0.5e-999]}}" \
	"two such in one output"
for m in '01' '1.' '+1' 'NaN' '{"n":1e400' '[1 2]'; do
	is "$(said kv put "$N" num v --metadata "$m")" \
		"kvctl: num: the metadata is not valid JSON 1" "--metadata $m refused"
	is "$(said setfattr -n user.kv.metadata -v "$m" "$N/set")" \
		"setfattr: $N/set: Invalid argument 1" "setfattr $m refused"
done
is "$(meta_of num)" "[-1e400,9223372036854775808,0.5e-999]" "the metadata is intact"
# get --with-metadata (one key or several) and list print numbers and
# string escapes as stored, as JSON.stringify prints 0.1: not as jansson
# would (0.10000000000000001, 1.5, 100.0, 0, "é")
for md in '{"x":0.1}' '{"a":1.0}' '{"b":1.50,"c":1E2}' '{"n":-0}' \
	  '{"s":"\u00e9\n"}|a string with escapes'; do
	m=${md%%|*}
	d=${md#*|}
	kv put "$N" num v --metadata "$m"
	is "$(kv get "$N" num --with-metadata)" \
		"{\"value\":\"v\",\"metadata\":$m}" "get --with-metadata: $d"
	is "$(kv get "$N" num nokey --with-metadata)" \
		"{\"num\":{\"value\":\"v\",\"metadata\":$m},\"nokey\":null}" \
		"bulk get --with-metadata: $d"
	is "$(kv list "$N" --prefix num)" \
		"{\"keys\":[{\"name\":\"num\",\"metadata\":$m}],\"list_complete\":true}" \
		"list: $d"
done
# metadata set by setfattr with white space: printed without it, on one
# line, its tokens as stored
spaced=$(printf '{ "x" : 0.1 ,\n  "s" : "a b\\n\\u00e9" ,\n\t"l" : [ 1.0 , -0 ] }')
echo > "$N/set"
setfattr -n user.kv.metadata -v "$spaced" "$N/set"
is "$(meta_of set)" "$spaced" "setfattr stores white space as given"
compact='{"x":0.1,"s":"a b\n\u00e9","l":[1.0,-0]}'
is "$(kv get "$N" set --with-metadata)" \
	"{\"value\":\"\\n\",\"metadata\":$compact}" "get --with-metadata: compact"
is "$(kv get "$N" num set --with-metadata)" \
	"{\"num\":{\"value\":\"v\",\"metadata\":{\"s\":\"\\u00e9\\n\"}},\"set\":{\"value\":\"\\n\",\"metadata\":$compact}}" \
	"bulk get --with-metadata: compact"
is "$(kv list "$N" --prefix set)" \
	"{\"keys\":[{\"name\":\"set\",\"metadata\":$compact}],\"list_complete\":true}" \
	"list: compact"
# --pretty lays metadata out as the rest, its tokens as stored
is "$(kv get "$N" set --with-metadata --pretty)" '{
  "value": "\n",
  "metadata": {
    "x": 0.1,
    "s": "a b\n\u00e9",
    "l": [
      1.0,
      -0
    ]
  }
}' "get --with-metadata --pretty"
kv put "$N" num v --metadata '{"a":[{"b":"x, y: [z]"},{},[]],"c":{}}'
is "$(kv list "$N" --prefix num --pretty)" '{
  "keys": [
    {
      "name": "num",
      "metadata": {
        "a": [
          {
            "b": "x, y: [z]"
          },
          {},
          []
        ],
        "c": {}
      }
    }
  ],
  "list_complete": true
}' "list --pretty: as jansson lays it out"
kv put "$N" num v --metadata null
is "$(kv get "$N" num --with-metadata) $(kv list "$N" --prefix num)" \
	'{"value":"v","metadata":null} {"keys":[{"name":"num"}],"list_complete":true}' \
	"metadata null: null, and none in a list, as the binding has it"
# 1016 bytes of string in 1024 compact, 1100 with spaces
s1016=$(printf '%01016d' 0)
spaced="{ \"s\" :  \"$s1016\"$(printf '%70s' '') }"
is "$(said kv put "$N" sized v --metadata "$spaced")" " 0" \
	"--metadata of 1100 bytes, 1024 compact: taken"
is "$(meta_of sized)" "{\"s\":\"$s1016\"}" "stored compact"
is "$(said kv put "$N" sized v --metadata "{ \"s\" : \"$s1016 \" }")" \
	"kvctl: sized: the metadata is larger than the store's max_metadata_size 1" \
	"1025 bytes compact: refused"
is "$(said kv put "$N" sized v --metadata '{"a b" : "c\" d" , "e":[ 1 , 2 ]}')" " 0" \
	"white space inside strings stays"
is "$(meta_of sized)" '{"a b":"c\" d","e":[1,2]}' "only that between tokens goes"
is "$(said setfattr -n user.kv.metadata -v "$spaced" "$N/set")" \
	"setfattr: $N/set: Numerical result out of range 1" \
	"setfattr counts the bytes as given"
kv delete "$N" num set sized
# export writes metadata as stored and import stores it as given, compact:
# a round trip keeps its bytes, numbers jansson cannot hold or would write
# its own way (0.1 as 0.10000000000000001, 1.0 as 1.0, -0 as 0) included
imported='{"successful_key_count":1,"unsuccessful_keys":[],"errors":[]} 0'
for mw in '{"n":1e400}' '{"n":10000000000000000000}' '{"x":0.1}' '-0' \
	  '-1E+2' '[0.5e-999,"\u0041\/"]' \
	  '{ "a b" : [ 1.0 , 1e2 ] }|{"a b":[1.0,1e2]}'; do
	m=${mw%%|*}
	w=${mw#*|}
	kv put "$N" rt v --metadata "$m"
	kv export "$N" --prefix rt > "$TEST_DIR/rt.json"
	kv delete "$N" rt
	is "$(said kv import "$N" "$TEST_DIR/rt.json")" "$imported" \
		"export, then import of metadata $m"
	is "$(meta_of rt)" "$w" "the same bytes"
	is "$(kv export "$N" --prefix rt)" "$(cat "$TEST_DIR/rt.json")" \
		"and the same export"
done
# a file written by hand: metadata over lines, compact as put stores it,
# and jansson's line numbers still the file's
printf '[{"key":"rt","value":"v","metadata":{\n "n" : 1e400,\n "s" : "a b"\n}},\n' \
	> "$TEST_DIR/rt.json"
printf '{"key":"rt2","value":"v","metadata":[1e400, 0.1]}]' >> "$TEST_DIR/rt.json"
is "$(said kv import "$N" "$TEST_DIR/rt.json")" \
	'{"successful_key_count":2,"unsuccessful_keys":[],"errors":[]} 0' \
	"import of metadata over lines"
is "$(meta_of rt) $(meta_of rt2)" '{"n":1e400,"s":"a b"} [1e400,0.1]' \
	"stored compact, as given"
printf '[{"key":"rt","value":"v","metadata":{\n "n" : 1e400\n}},\n{"key":"rt2" "value":"v"}]' \
	> "$TEST_DIR/rt.json"
is "$(said kv import "$N" "$TEST_DIR/rt.json")" \
	"kvctl: $TEST_DIR/rt.json: line 4: '}' expected near '\"value\"' 1" \
	"a file that is not JSON: refused with the line of the fault"
printf '[{"key":"rt","value":"v","metadata":{"n":0.1,}}]' > "$TEST_DIR/rt.json"
is "$(said kv import "$N" "$TEST_DIR/rt.json")" \
	"kvctl: $TEST_DIR/rt.json: line 1: string or '}' expected near '}' 1" \
	"metadata that is not JSON: the file refused"
is "$(meta_of rt) $(meta_of rt2)" '{"n":1e400,"s":"a b"} [1e400,0.1]' \
	"nothing written"
printf '[{"key":"rt","value":"v","metadata":"%070000d"}]' 0 > "$TEST_DIR/rt.json"
is "$(said kv import "$N" "$TEST_DIR/rt.json")" \
	'{"successful_key_count":0,"unsuccessful_keys":["rt"],"errors":[{"index":0,"key":"rt","reason":"the metadata is larger than the store'"'"'s max_metadata_size"}]} 1' \
	"import of metadata past 64 KiB: refused as put refuses it"
is "$(meta_of rt)" '{"n":1e400,"s":"a b"}' "the key is intact"
kv delete "$N" rt rt2

# --- 6. result shapes and limits as the binding's ----------------------------------
kv put "$N" s/m v --metadata '{"m":1}'
kv put "$N" s/n v
is "$(kv list "$N" --prefix s/)" \
	'{"keys":[{"name":"s/m","metadata":{"m":1}},{"name":"s/n"}],"list_complete":true}' \
	"no metadata where none is set, no cursor when complete"
kv put "$N" s/o v --metadata null
is "$(kv list "$N" --prefix s/)" \
	'{"keys":[{"name":"s/m","metadata":{"m":1}},{"name":"s/n"},{"name":"s/o"}],"list_complete":true}' \
	"metadata null is none, as the binding's"
is "$(kv get "$N" s/o --with-metadata)" '{"value":"v","metadata":null}' "and get says null"
kv delete "$N" s/o
is "$(kv list "$N" --prefix s/ --limit 0)" "$(kv list "$N" --prefix s/)" \
	"--limit 0: the default, as the binding's"
is "$(kv list "$N" --prefix s/ --limit 1)" \
	'{"keys":[{"name":"s/m","metadata":{"m":1}}],"list_complete":false,"cursor":"cy9t"}' \
	"a cursor when there is more"
is "$(kv list "$N" --prefix s/ --cursor cy9t)" \
	'{"keys":[{"name":"s/n"}],"list_complete":true}' "the last page: no cursor"
# A cursor whose key is a multiple of 3 bytes ("c/a") decodes to exactly
# that key: paging one at a time visits every key once, in byte order, even
# with malloc filling fresh memory with garbage.
for k in c/a "c/a b" c/a-b c/a.b; do kv put "$N" "$k" v; done
seen= cur=
while :; do
	page=$(MALLOC_PERTURB_=165 "$KVCTL" list "$N" --prefix c/ --limit 1 \
		${cur:+--cursor "$cur"})
	seen="$seen$(echo "$page" | names)"
	cur=$(echo "$page" | sed -n 's/.*"cursor":"\([^"]*\)".*/\1/p')
	[ -n "$cur" ] || break
done
is "$seen" "c/a c/a b c/a-b c/a.b " "paging with --limit 1: every key once, in order"
kv delete "$N" c/a "c/a b" c/a-b c/a.b
hundred=$(seq -f 's/k%g' 1 100)
# shellcheck disable=SC2086
is "$(kv get "$N" $hundred | grep -o null | wc -l)" 100 "bulk get of 100 keys"
# shellcheck disable=SC2086
is "$(said kv get "$N" $hundred s/m)" \
	"kvctl: at most 100 keys at once, as the bulk get of Workers KV, not 101 2" \
	"bulk get of 101 keys: refused"
# shellcheck disable=SC2086
is "$(said kv get "$N" $hundred s/m --with-metadata)" \
	"kvctl: at most 100 keys at once, as the bulk get of Workers KV, not 101 2" \
	"with --with-metadata too"
kv delete "$N" s/m s/n

# --- 7. values that are not UTF-8 lose nothing ------------------------------------
printf '\377\000bin' | kv put "$N" b/bin - --metadata '{"t":"bin"}'
kv put "$N" b/text héllo
is "$(kv get "$N" b/bin | od -An -tx1 | tr -s ' ')" " ff 00 62 69 6e" \
	"one key: its bytes as they are, status 0"
is "$(said kv get "$N" b/bin b/text b/none)" \
	'{"b/bin":{"value":"/wBiaW4=","encoding":"base64"},"b/text":"héllo","b/none":null} 0' \
	"several keys: the binary value in base64, marked"
is "$(said kv get "$N" b/bin --with-metadata)" \
	'{"value":"/wBiaW4=","encoding":"base64","metadata":{"t":"bin"}} 0' \
	"--with-metadata: in base64, marked"
is "$(said kv get "$N" b/bin b/text --with-metadata)" \
	'{"b/bin":{"value":"/wBiaW4=","encoding":"base64","metadata":{"t":"bin"}},"b/text":{"value":"héllo","metadata":null}} 0' \
	"several keys --with-metadata"
is "$(said kv get "$N" b/bin b/text --type binary)" \
	'{"b/bin":"/wBiaW4=","b/text":"aMOpbGxv"} 0' "--type binary: every value base64"
is "$(said kv get "$N" b/bin b/text --type json)" \
	"kvctl: b/bin: the value is not JSON (try --type text) 1" \
	"--type json: not JSON, an error"
kv delete "$N" b/bin b/text

# --- 8. --expiration with --expiration-ttl: the TTL wins; keys after -- -------------
now=$(date +%s)
is "$(said kv put "$N" both v --expiration $((now + 99999)) --expiration-ttl 600)" \
	" 0" "--expiration and --expiration-ttl together: taken"
left=$(getfattr --absolute-names --only-values -n user.kv.expiration_ttl "$N/both")
[ "$left" -ge 598 ] && [ "$left" -le 600 ] && pass "the TTL wins ($left)" ||
	fail "the TTL wins ($left)"
is "$(said kv put "$N" both v --expiration $((now + 10)) --expiration-ttl 600)" \
	" 0" "an expiration too near does not matter when the TTL wins"
is "$(said kv put "$N" both v --expiration $((now + 99999)) --expiration-ttl 30)" \
	"kvctl: both: the expiration is nearer than the store's min_expiration_ttl (60 s unless set) 1" \
	"a TTL too short is refused, whatever the expiration"
# a fractional TTL, as the binding's expirationTtl: its whole seconds
is "$(said kv put "$N" frac v --expiration-ttl 90.5)" " 0" "--expiration-ttl 90.5: taken"
left=$(getfattr --absolute-names --only-values -n user.kv.expiration_ttl "$N/frac")
[ "$left" -ge 88 ] && [ "$left" -le 90 ] && pass "its whole seconds: 90 ($left)" ||
	fail "its whole seconds: 90 ($left)"
is "$(said kv put "$N" frac v --expiration-ttl 59.9)" \
	"kvctl: frac: the expiration is nearer than the store's min_expiration_ttl (60 s unless set) 1" \
	"59.9 is 59: too short"
for t in 0.5 90. .5 90.5.5 90,5 1e2; do
	is "$(said kv put "$N" frac v --expiration-ttl "$t")" \
		"kvctl: --expiration-ttl: not a number of seconds: '$t' 2" \
		"--expiration-ttl '$t': refused"
done
# import floors a fractional expiration_ttl as put does
now=$(date +%s)
printf '[{"key":"frac","value":"v","expiration_ttl":90.5},
{"key":"frac2","value":"v","expiration_ttl":59.9},
{"key":"frac3","value":"v","expiration_ttl":0.5},
{"key":"frac4","value":"v","expiration":%s.5}]' $((now + 99999)) > "$TEST_DIR/frac.json"
is "$(said kv import "$N" "$TEST_DIR/frac.json")" \
	'{"successful_key_count":1,"unsuccessful_keys":["frac2","frac3","frac4"],"errors":[{"index":1,"key":"frac2","reason":"the expiration is nearer than the store'"'"'s min_expiration_ttl (60 s unless set)"},{"index":2,"key":"frac3","reason":"expiration_ttl is not a number of seconds"},{"index":3,"key":"frac4","reason":"expiration is not a Unix time"}]} 1' \
	"import: expiration_ttl 90.5 taken, 59.9 too short, 0.5 none, a fractional expiration refused"
left=$(getfattr --absolute-names --only-values -n user.kv.expiration_ttl "$N/frac")
[ "$left" -ge 88 ] && [ "$left" -le 90 ] && pass "import: its whole seconds: 90 ($left)" ||
	fail "import: its whole seconds: 90 ($left)"
kv delete "$N" frac
is "$(said kv put "$N" -dash v)" \
	"put: invalid option -- 'd'
usage: kvctl put [--metadata JSON] [--expiration T] [--expiration-ttl S]
           [--file F] NSDIR [--] KEY [VALUE | -]
(see kvctl --help) 2" "a key starting with '-' alone: an option"
is "$(said kv put "$N" --metadata '{"d":1}' -- -dash v)" " 0" \
	"put with the options before --"
is "$(said kv get "$N" -- -dash)" "v 0" "get -- -dash"
is "$(said kv get "$N" --with-metadata -- -dash)" \
	'{"value":"v","metadata":{"d":1}} 0' "get --with-metadata -- -dash"
is "$(kv list "$N" --prefix -)" '{"keys":[{"name":"-dash","metadata":{"d":1}}],"list_complete":true}' \
	"list --prefix -"
is "$(said kv delete "$N" -- -dash both)" " 0" "delete -- -dash"
errno_is ENOENT "deleted" stat "$N/-dash"
kv put "$N" -- -dash v
is "$(said kv delete -- "$N" -dash)" " 0" "delete -- NSDIR -dash: '--' before NSDIR, as getopt takes it"
errno_is ENOENT "deleted too" stat "$N/-dash"
is "$(kv --help | grep -c "Keys starting with '-' follow '--'")" 1 "kvctl --help says so"
for c in get put delete; do
	is "$(kv $c --help | grep -c "starting with '-'")" 1 "kvctl $c --help says so"
done
is "$(grep -c '^A key starting with$' "$(dirname "$0")/../src/kvctl/kvctl.1")" 1 \
	"and the man page"
is "$(said kv get)" "usage: kvctl get [--type text|json|binary] [--with-metadata] [--pretty]
           NSDIR [--] KEY...
(see kvctl --help) 2" "get's usage: the options, then NSDIR [--] KEY..."
is "$(said kv delete)" "usage: kvctl delete NSDIR [--] KEY...
(see kvctl --help) 2" "delete's too"
is "$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$(dirname "$0")/../src/kvctl/kvctl.1" |
	grep -B1 -A1 '^\.RB \[ \\-\\- \]$' | grep -c '^\.I NSDIR$')" 3 \
	"the man page's synopsis: [--] after NSDIR for get, put and delete"
done_testing
