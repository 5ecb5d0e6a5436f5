#!/bin/sh
# The model of the power-loss harness (tests/powerload.c check) on
# histories written by hand, each against a plain directory holding what
# a crash image of kvfs held: a key that did nothing wrong must pass, a
# key that lost what was promised must not.
#   - an operation that failed (the store's flush failed: every later
#     commit fails) changed nothing, and a later rename moves what the
#     key still holds;
#   - a kill -9 then a reboot ("A reboot") keeps only what fsync or a
#     clean unmount made durable, as a power cut does (kvfs goes back to
#     its last checkpoint); a clean unmount ("A umount") keeps everything,
#     but not after a flush failed in that mount (kvfs marks it unclean);
#   - a put of a key with an expiration may create it empty first (the
#     key expired).
. "$(dirname "$0")/lib.sh"
: "${POWERLOAD:=$top_builddir/tests/powerload}"
[ -x "$POWERLOAD" ] || skip_all "powerload not built at $POWERLOAD"

D=$TEST_DIR/keys
LOG=$TEST_DIR/log

# value K VER LEN: DIR/kK holds version VER, LEN bytes (powerload's gen)
value() {
	awk -v ver="$2" -v len="$3" 'BEGIN {
		s = sprintf("pl %d %d\n", ver, len)
		printf "%s", s
		for (i = length(s); i < len; i++)
			printf "%c", 97 + (ver * 31 + i * 7 + int(i / 509)) % 26
	}' > "$D/k$1"
}

# history LINE...: a new log of these markers and an empty directory
history() {
	rm -rf "$D" "$LOG"
	mkdir "$D"
	for l in "$@"; do
		if [ "$l" = flush-failed ]; then
			"$POWERLOAD" flush-failed "$LOG"
		else
			"$POWERLOAD" mark "$LOG" $l
		fi
	done
}

check() {
	"$POWERLOAD" check "$D" "$LOG" 999999 "$1"
}

# seed 1, recording 1003: k40's puts fail after the flush error, then
# k40 is renamed to k2, which holds what k40 held
history "B 7 put 40 10 502" "E 7" "B 13 put 40 15 1433" "F 13 5" \
	"B 34 put 40 34 4421" "F 34 5" "B 36 ren 40 2" "E 36"
value 2 10 502
is "$(check acked)" OK "a rename after failed puts moves the value they left"
value 2 34 4421
is "$(check acked)" OK "or what a failed put may have committed"
value 2 99 502
is "$(check acked)" "k2: holds 99; allowed 10 15 empty/1 34 empty/1 (before: 0)" \
	"but no value the key never had"
rm "$D/k2"
is "$(check acked)" "k2: holds absent/0; allowed 10 15 empty/1 34 empty/1 (before: 0)" \
	"and it is not absent"

# a rename that failed leaves its source whole
history "B 8 put 17 11 4515" "E 8" "B 33 ren 17 42" "F 33 5" \
	"B 24 ren 17 10" "E 24"
value 10 11 4515
is "$(check acked)" OK "a rename after a failed rename moves the source's value"
value 10 12 4515
is "$(check acked)" "k10: holds 12; allowed 11 absent/0 (before: 0)" \
	"but no value the source never had"

# a kill -9 then a reboot: what the fsync covered
history "B 1 put 6 20 300" "E 1" "B 2 fsync 6" "E 2" "B 3 put 6 21 300" \
	"E 3" "KILL" "A reboot"
value 6 20 300
is "$(check power)" OK "after a kill -9 and a reboot, the fsync'd value"
value 6 21 300
is "$(check power)" OK "after a kill -9 and a reboot, the last value"
rm "$D/k6"
is "$(check power)" "k6: holds absent/0; allowed 20 21 (before: 1)" \
	"after a kill -9 and a reboot, the fsync'd value must be there"
history "B 1 put 6 20 300" "E 1" "B 2 fsync 6" "E 2" "B 3 put 6 21 300" \
	"E 3" "A umount"
value 6 20 300
is "$(check power)" "k6: holds 20; allowed 21 (before: 20)" \
	"after a clean unmount, the last value must be there"

# a flush that failed: the unmount is not clean, and keeps nothing more
# than what was made durable before (seed 2, recording 2006); a mount
# after it starts clean again
history "MOUNT b1" "B 1 put 14 3 300" "E 1" flush-failed "B 2 put 63 4 300" \
	"F 2 5" "A umount"
is "$(check power)" OK \
	"after a failed flush, an unmount does not make a put durable"
history "MOUNT b1" "B 1 put 14 3 300" "E 1" flush-failed "A umount" \
	"MOUNT b1" "B 2 put 15 4 300" "E 2" "A umount"
is "$(check power)" "k14: holds absent/0; allowed 3 (before: 1)
k15: holds absent/0; allowed 4 (before: 1)" \
	"a clean unmount of the next mount makes every put durable"

# a key with an expiration, expired, created by a put in flight
history "B 1 put 60 30 200" "E 1" "B 2 put 60 31 200"
: > "$D/k60"
is "$(check acked)" OK "a put of an expiring key may create it empty"
history "B 1 put 20 30 200" "E 1" "B 2 put 20 31 200"
: > "$D/k20"
is "$(check acked)" "k20: holds empty/1; allowed 30 31 (before: 1)" \
	"a put of a key without an expiration does not empty it"

done_testing
