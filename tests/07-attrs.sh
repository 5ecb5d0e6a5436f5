#!/bin/sh
# SPEC 3: chmod, chown, touch -d kept per key, as a local filesystem.
. "$(dirname "$0")/lib.sh"

mount_kvfs
D=$MNT/default

(umask 077; echo x > "$D/f")
is "$(stat -c %a "$D/f")" 600 "a new key's mode follows the umask"
chmod 640 "$D/f"
is "$(stat -c %a "$D/f")" 640 "chmod"
c0=$(stat -c %Z "$D/f")
chown 1234:5678 "$D/f"
is "$(stat -c %u:%g "$D/f")" 1234:5678 "chown"
touch -d '2001-02-03 04:05:06.123456789' "$D/f"
is "$(stat -c %y "$D/f")" "2001-02-03 04:05:06.123456789 +0000" "touch -d sets mtime to the nanosecond"
is "$(stat -c %x "$D/f")" "2001-02-03 04:05:06.123456789 +0000" "and atime"
sleep 1.1
echo y >> "$D/f"
[ "$(stat -c %Y "$D/f")" -gt 1000000000 ] && [ "$(stat -c %Y "$D/f")" -ge "$c0" ] &&
	pass "a write sets mtime to now" || fail "a write sets mtime to now"
is "$(stat -c "%a %u:%g" "$D/f")" "640 1234:5678" "and keeps mode and owner"
c1=$(stat -c %Z "$D/f")
sleep 1.1
chmod 600 "$D/f"
[ "$(stat -c %Z "$D/f")" -gt "$c1" ] && pass "chmod updates ctime" ||
	fail "chmod updates ctime"

mkdir -m 700 "$D/d"
is "$(stat -c %a "$D/d")" 700 "mkdir -m"
touch -d '1999-12-31 23:59:59' "$D/d"
is "$(stat -c %Y "$D/d")" "$(date -d '1999-12-31 23:59:59' +%s)" "directory times"
chmod 750 "$MNT/default"
is "$(stat -c %a "$MNT/default")" 750 "chmod of a namespace"
chmod 711 "$MNT"
is "$(stat -c %a "$MNT")" 711 "chmod of the root"

# cp -p and tar keep times, modes and owners
echo src > "$TEST_DIR/src"
chmod 604 "$TEST_DIR/src"
touch -d '2010-10-10 10:10:10' "$TEST_DIR/src"
cp -p "$TEST_DIR/src" "$D/cp"
is "$(stat -c '%a %Y' "$D/cp")" "604 $(date -d '2010-10-10 10:10:10' +%s)" \
	"cp -p keeps mode and mtime"
mkdir -p "$TEST_DIR/t/sub"
echo 1 > "$TEST_DIR/t/sub/one"
touch -d '2005-05-05' "$TEST_DIR/t/sub/one"
chown 42:43 "$TEST_DIR/t/sub/one"
(cd "$TEST_DIR" && tar cf t.tar t) && (cd "$D" && tar xpf "$TEST_DIR/t.tar")
is "$(stat -c '%u:%g %Y' "$D/t/sub/one")" "42:43 $(date -d 2005-05-05 +%s)" \
	"tar xp keeps owner and mtime"

remount
is "$(stat -c '%a %u:%g %Y' "$D/f" | cut -d' ' -f1-2)" "600 1234:5678" \
	"mode and owner persist"
is "$(stat -c %a "$D/d") $(stat -c %a "$MNT/default") $(stat -c %a "$MNT")" \
	"700 750 711" "directory, namespace and root modes persist"
is "$(stat -c %Y "$D/cp")" "$(date -d '2010-10-10 10:10:10' +%s)" "times persist"

done_testing
