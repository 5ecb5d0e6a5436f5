#!/bin/sh
# -o value_cache (issue 18): a host keeps every key's record but only the
# most recently used values, up to the bound; a read of another fetches
# it, streamed, and keeps it.  Host 2 mounts with value_cache=5M a store
# of ten 2 MiB values: its first copy fetches none (stat and ls see every
# size, the small value is there), each read gives the exact bytes, and
# afterwards it keeps at most 5 MiB, the most recently read.  With the
# server stopped the kept values and every stat still answer and an
# evicted value fails with EIO, within remote_timeout; once the server is
# back it is fetched again.  A value held open is not evicted under its
# reader; a value replaced elsewhere is read new; a value written here
# is kept and a value larger than the bound read whole; a remount with a
# smaller bound keeps within it.  value_cache without remote=, or of 0,
# is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"

# jfield JSON NAME: the value of "NAME" in a flat JSON object
jfield() {
	printf '%s' "$1" | sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p"
}
cached() {
	jfield "$(kv status "$H2")" "$1"
}
within_bound() {
	[ "$(cached cached_bytes)" -le "$1" ]
}

err=$("$KVFS_BIN" -f -o value_cache=5M "$TEST_DIR/x" "$TEST_DIR" 2>&1)
is "$?:$err" "1:kvfs: value_cache needs remote=CONNINFO" \
	"value_cache without remote=: refused"
err=$("$KVFS_BIN" -f -o remote=x,value_cache=0 "$TEST_DIR/x" "$TEST_DIR" 2>&1)
is "$?:$err" "1:kvfs: invalid value '0' for option 'value_cache': a size of \
at least 1 byte" "value_cache=0: refused"

hosts_store
host_mount 1 "$CI"
mkdir "$H1/cache"
for i in $(seq 1 10); do
	head -c 2097152 /dev/urandom > "$TEST_DIR/v$i"
	cp "$TEST_DIR/v$i" "$H1/cache/v$i"
done
echo "small and inline" > "$H1/cache/small"
setfattr -n user.kv.metadata -v '{"n":1}' "$H1/cache/v1"

host_mount 2 "$CI" -o value_cache=5M,remote_timeout=2
is "$?" 0 "host 2 mounts with value_cache=5M"
is "$(cached values_cached):$(cached cached_bytes):$(cached value_cache)" \
	"0:0:5242880" "its first copy fetched no value"
kb=$(du -k "$TEST_DIR/h2/store/data.mdb" | cut -f1)
ok "its replica holds records, not the 20 MiB of values (${kb} KiB)" \
	test "$kb" -lt 4096
is "$(stat -c %s "$H2"/cache/v* | sort -u)" 2097152 "stat: every size"
is "$(ls "$H2/cache" | wc -l)" 11 "ls: every key"
is "$(getfattr --only-values -n user.kv.metadata "$H2/cache/v1")" '{"n":1}' \
	"getfattr: the metadata"

same=0
for i in $(seq 1 10); do
	cmp -s "$TEST_DIR/v$i" "$H2/cache/v$i" && same=$((same + 1))
done
is "$same" 10 "each of the 10 values read on host 2 is exact"
ok "afterwards host 2 keeps at most 5 MiB ($(cached cached_bytes) bytes)" \
	within_bound 5242880
is "$(cached values_cached)" 2 "two values: the last two read"

# the server stopped: kept values and records answer, the others fail
pg_stop a
sync
echo 3 > /proc/sys/vm/drop_caches
ok "server stopped: v10, read last, is read from the cache" \
	cmp -s "$TEST_DIR/v10" "$H2/cache/v10"
ok "and v9" cmp -s "$TEST_DIR/v9" "$H2/cache/v9"
is "$(cat "$H2/cache/small")" "small and inline" "the small value too"
is "$(stat -c %s "$H2/cache/v1")" 2097152 "stat of an evicted value answers"
t0=$(date +%s%N)
is "$("$FSOP" open "$H2/cache/v1")" EIO "an evicted value: EIO"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "within about remote_timeout (2 s: ${ms} ms)" test "$ms" -lt 8000
pg_restart a
ok "the server back, it is fetched again" cmp -s "$TEST_DIR/v1" "$H2/cache/v1"

# a value held open is not evicted under its reader
exec 3< "$H2/cache/v2"
for i in 3 4 5 6; do cat "$H2/cache/v$i" > /dev/null; done
echo 3 > /proc/sys/vm/drop_caches
ok "a value held open while 4 others are read stays whole for its reader" \
	sh -c "cmp -s '$TEST_DIR/v2' - <&3"
exec 3<&-
within 3000 within_bound 5242880
is "$?" 0 "closed, it goes past the bound no longer (${WITHIN_MS} ms)"

# replaced elsewhere: read new
cat "$H2/cache/v6" > /dev/null
head -c 2097152 /dev/urandom > "$TEST_DIR/v6new"
cp "$TEST_DIR/v6new" "$H1/cache/v6"
within 2000 cmp -s "$TEST_DIR/v6new" "$H2/cache/v6"
is "$?" 0 "a kept value replaced on host 1 is read new (${WITHIN_MS} ms)"

# written here: kept, and host 1 reads it
head -c 3145728 /dev/urandom > "$TEST_DIR/w"
cp "$TEST_DIR/w" "$H2/cache/w"
within 2000 cmp -s "$TEST_DIR/w" "$H1/cache/w"
is "$?" 0 "a value written on host 2 reaches host 1 (${WITHIN_MS} ms)"
pg_stop a
echo 3 > /proc/sys/vm/drop_caches
ok "host 2 keeps what it wrote" cmp -s "$TEST_DIR/w" "$H2/cache/w"
pg_restart a
within 3000 within_bound 5242880
is "$?" 0 "and stays within the bound (${WITHIN_MS} ms)"

# larger than the bound: read whole all the same
head -c 7340032 /dev/urandom > "$TEST_DIR/huge"
cp "$TEST_DIR/huge" "$H1/cache/huge"
huge_there() {
	[ "$(stat -c %s "$H2/cache/huge")" = 7340032 ]
}
within 2000 huge_there
ok "a 7 MiB value, over the 5 MiB bound, is read whole" \
	cmp -s "$TEST_DIR/huge" "$H2/cache/huge"
within 3000 within_bound 5242880
is "$?" 0 "then evicted (${WITHIN_MS} ms)"

# 24 MiB fetched in a stream: the daemon's memory stays flat
head -c 25165824 /dev/urandom > "$TEST_DIR/big"
cp "$TEST_DIR/big" "$H1/cache/big"
big_there() {
	[ "$(stat -c %s "$H2/cache/big")" = 25165824 ]
}
within 2000 big_there
ok "a 24 MiB value is read whole on host 2" \
	cmp -s "$TEST_DIR/big" "$H2/cache/big"
rss_peak_ok "$(host_pid 2)" "host 2, fetching it"
rm "$H1/cache/big"

# mounted again with a smaller bound: what it kept, ranked in the
# store's order of keys (v1 before v2), trimmed at mount
for i in 1 2; do cat "$H2/cache/v$i" > /dev/null; done
is "$(cached cached_bytes)" 4194304 "host 2 keeps v1 and v2 (4 MiB)"
host_umount 2
host_mount 2 "$CI" -o value_cache=3M
is "$?" 0 "host 2 mounts again with value_cache=3M"
is "$(cached values_cached):$(cached cached_bytes)" 1:2097152 \
	"it keeps one of them, within 3 MiB"
pg_stop a
echo 3 > /proc/sys/vm/drop_caches
ok "v2, with the server stopped" cmp -s "$TEST_DIR/v2" "$H2/cache/v2"
pg_restart a
same=0
for i in $(seq 1 10); do
	want=$TEST_DIR/v$i
	[ "$i" = 6 ] && want=$TEST_DIR/v6new
	cmp -s "$want" "$H2/cache/v$i" && same=$((same + 1))
done
is "$same" 10 "every value read again is exact"
ok "and within 3 MiB" within_bound 3145728
ok "kvctl export on both hosts is the same" \
	sh -c "kvctl_ns() { '$KVCTL' export \"\$1/cache\"; }; \
	[ \"\$(kvctl_ns '$H1' | md5sum)\" = \"\$(kvctl_ns '$H2' | md5sum)\" ]"

hosts_done 1 2
done_testing
