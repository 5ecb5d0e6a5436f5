#!/bin/sh
# A key's size by stat is the size of the bytes a read gets, right after
# the write that made it and for good, whatever else stats the key
# meanwhile: kvctl put --expiration-ttl (and its system calls), kvctl
# import with expirations, printf > key then setfattr of its metadata, and
# an editor's save (write, fsync, rename in place, close), each with
# processes stat'ing the key beside and two CPU-bound loops slowing the
# daemon's threads down (tests/sizerace.c).
. "$(dirname "$0")/lib.sh"

: "${SIZERACE:=$top_builddir/tests/sizerace}"
[ -x "$SIZERACE" ] || skip_all "sizerace not built at $SIZERACE"

mount_kvfs
D=$MNT/default
mkdir "$D/put" "$D/fsync" "$D/meta" "$MNT/puts" "$MNT/imports"

start_load
is "$("$SIZERACE" put "$D/put" 1000 3)" "OK 0" \
	"1,000 puts with an expiration, 3 stat'ers, under load: stat as read"
is "$("$SIZERACE" meta "$D/meta" 1000 4)" "OK 0" \
	"1,000 writes then setfattr metadata, 4 stat'ers: stat as read"
is "$("$SIZERACE" fsync "$D/fsync" 300 3)" "OK 0" \
	"300 saves by write, fsync, rename, close: stat as read"

i=0
while [ $i -lt 100 ]; do
	kv put "$MNT/puts" "k$i" "value number $i" --expiration-ttl 3600 ||
		break
	i=$((i + 1))
done
is "$i" 100 "100 kvctl put --expiration-ttl"
is "$("$SIZERACE" check "$MNT/puts")" "OK 0" "every one stats as it reads"

awk 'BEGIN {
	printf "["
	for (i = 0; i < 300; i++)
		printf "%s{\"key\":\"i%d\",\"value\":\"%*s\",\"expiration_ttl\":3600}",
		       i ? "," : "", i, i % 50 + 1, "v"
	print "]"
}' > "$TEST_DIR/import.json"
kv import "$MNT/imports" "$TEST_DIR/import.json" >/dev/null
is "$?" 0 "300 keys imported with expirations"
is "$("$SIZERACE" check "$MNT/imports")" "OK 0" "every one stats as it reads"
stop_load

# what the kernel was told stays: nothing corrects itself later
sleep 5
for dir in default/put default/meta default/fsync puts imports; do
	is "$("$SIZERACE" check "$MNT/$dir")" "OK 0" "$dir: still so 5 s later"
done

done_testing
