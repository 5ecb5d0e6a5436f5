#!/bin/sh
# A writer sees its own writes, others the committed value until it
# closes; appenders lose nothing; and a random-operation checker (fsx.c)
# holds a model of one file's bytes and size against the mount.
. "$(dirname "$0")/lib.sh"

: "${OWNVIEW:=$top_builddir/tests/ownview}"
: "${FSX:=$top_builddir/tests/fsx}"
[ -x "$OWNVIEW" ] && [ -x "$FSX" ] || skip_all "tests/ownview, tests/fsx not built"
[ "$(id -u)" = 0 ] || skip_all "the unprivileged writer needs root"
command -v setpriv >/dev/null || skip_all "no setpriv (util-linux)"

chmod 755 "$TEST_DIR"
mount_kvfs -o allow_other,default_permissions
NS=$MNT/default

# --- a writer's own descriptor: fstat, lseek(SEEK_END), pread ----------
# (an O_RDWR writer writes through the page cache, whose size the kernel
# keeps one for all: others see that writer's size, and the committed
# bytes)
for how in rdwr wronly; do
	if [ $how = rdwr ]; then r1=11 r2=20 r3=21 o1=11 o2=20
	else r1=- r2=- r3= o1=0 o2=0; fi
	is "$("$OWNVIEW" view "$NS/view-$how" $how 2>&1)" \
"write: fstat 11 lseek 11 pread $r1 other $o1
ftruncate: fstat 20 lseek 20 pread $r2 other $o2
fsync: fstat 20 lseek 20 pread $r2 other 20
unlink: nlink 0 size 20
after: write 1${r3:+ pread $r3} fstat 21 ftruncate 0 fstat 30" \
		"$how: the writer sees its writes, truncation and unlink; another process the committed value"
	is "$(ls "$NS" | grep -c "view-$how")" 0 "$how: the unlinked key stays gone after close"
done

# --- a shared mapping's writes survive others' stat -----------------------
is "$("$OWNVIEW" mapstat "$NS/mapped" 2>&1)" "other 4096 thread 4096" \
	"an O_RDWR writer's size: another process sees it, and another thread of the writer"
is "$(tr -d X < "$NS/mapped" | wc -c | tr -d ' ') $(stat -c %s "$NS/mapped")" \
	"0 4096" "the mapped bytes are all there after a stat by another process"

# --- set-user-ID cleared by an unprivileged write, seen by the writer ----
printf 'old' > "$NS/suid"
chmod 6777 "$NS/suid"
is "$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$OWNVIEW" mode "$NS/suid" new 2>&1)" "fstat 777
stat 777" "an unprivileged write clears set-user-ID and set-group-ID in the writer's fstat and at commit"
is "$(cat "$NS/suid")" new "and the value is the new one"

# --- appends from many processes -----------------------------------------
K=$NS/log
pids=
for p in 1 2 3 4 5 6 7 8; do
	(i=1; while [ $i -le 500 ]; do
		echo "p$p line $i" >> "$K"; i=$((i + 1)); done) &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
is "$(wc -l < "$K" | tr -d ' ')" 4000 "8 processes x 500 appends: 4000 lines"
is "$(sort "$K" | uniq -d | wc -l | tr -d ' ')" 0 "each line once"
bad=0
for p in 1 2 3 4 5 6 7 8; do
	exp=$(seq 500 | sed "s/^/p$p line /")
	[ "$(grep "^p$p line " "$K")" = "$exp" ] || bad=$((bad + 1))
done
is "$bad" 0 "every line whole, each process's lines in its order"

# an appender that fsyncs commits each time only what it added since
printf 'base\n' > "$NS/synced"
is "$("$OWNVIEW" appends "$NS/synced" 3 2>&1)" "12 12
19 19
26 26" "an appender's fsyncs: its fstat and another process's stat agree after each"
is "$(cat "$NS/synced")" "base
line 1
line 2
line 3" "each line once, in order"

# an appender that truncates becomes a plain writer of what it saw
printf 'base\n' > "$NS/cut"
is "$("$OWNVIEW" append-trunc "$NS/cut" "more" 7 2>&1)" "fstat 7" \
	"an appender's truncation: its own size"
is "$(cat "$NS/cut")" "base
mo" "the value is the old one and its bytes, cut"

# an appender commits onto the value as it is at its close
printf 'base\n' > "$NS/late"
"$FSOP" append "$NS/late" "tail
" 2 > "$TEST_DIR/append.out" &
apid=$!
sleep 0.5
is "$("$FSOP" put "$NS/late" "new
")" OK "a writer replaces the value while an appender is open"
wait $apid
is "$(cat "$TEST_DIR/append.out")" OK "the appender closes cleanly"
is "$(cat "$NS/late")" "new
tail" "its bytes go after the value as it was at its close"

# --- the random-operation checker ------------------------------------------
out=$("$FSX" -n "${KVFS_FSX_OPS:-3000}" "$NS/fsx" 2>&1)
rc=$?
is "$rc" 0 "fsx: ${KVFS_FSX_OPS:-3000} random operations, sizes to 4 MiB, operations to 1 MiB"
[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
out=$("$FSX" -n 2000 -l 300K -o 64K "$NS/fsx-small" 2>&1)
rc=$?
is "$rc" 0 "fsx: 2000 operations on a file of up to 300 KiB (memory and temporary-file content)"
[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

done_testing
