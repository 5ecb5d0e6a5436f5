#!/bin/sh
# Who may reach a mount (SPEC 1, README "Access"): the store directory is
# made 0700; without allow_other only the user who mounted (here root) gets
# in, every other user EACCES; with allow_other,default_permissions the
# kernel checks each key's and directory's mode and owner as kvfs stores
# them, also after a remount.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "chown and the unprivileged user need root"
command -v setpriv >/dev/null || skip_all "no setpriv (util-linux)"

# the other user must reach $MNT through $TEST_DIR (0700)
chmod 755 "$TEST_DIR"
NOBODY=65534

# as_nobody ARGS...: fsop ARGS as uid and gid 65534, no other groups
as_nobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$FSOP" "$@" 2>&1
}

# the store directory: created 0700 whatever the umask
umask 000
mount_kvfs
umask 022
is "$(stat -c '%F %a %u' "$STORE")" "directory 700 0" \
	"a new store directory is made 0700, umask 000 notwithstanding"
D=$MNT/default
printf secret > "$D/k"
chmod 644 "$D/k"
mkdir "$D/d"
is "$(stat -c %a "$MNT" "$D" "$D/k" | tr '\n' ' ')" "755 755 644 " \
	"root, namespace and key readable by all, by their modes"

# without allow_other: nobody but the user who mounted
is "$(as_nobody stat "$MNT")" EACCES "no allow_other: another user's stat of the root: EACCES"
is "$(as_nobody openf "$MNT" rdonly,directory)" EACCES \
	"no allow_other: listing the root: EACCES"
is "$(as_nobody stat "$D/k")" EACCES "no allow_other: stat of a key: EACCES"
is "$(as_nobody openf "$D/k" rdonly)" EACCES "no allow_other: reading a 0644 key: EACCES"
is "$(as_nobody openf "$D/new" wronly,creat)" EACCES "no allow_other: creating a key: EACCES"
is "$(as_nobody mkdir "$MNT/otherns")" EACCES \
	"no allow_other: creating a namespace: EACCES"
is "$("$FSOP" pread "$D/k" rdonly 0 100)" "OK 6 secret" "root, who mounted, reads the key"

# allow_other,default_permissions: the kernel checks the stored modes
remount -o allow_other,default_permissions
is "$(as_nobody pread "$D/k" rdonly 0 100)" "OK 6 secret" \
	"allow_other: another user reads a 0644 key"
is "$(as_nobody openf "$MNT" rdonly,directory)" OK "and lists the root"
chmod 600 "$D/k"
is "$(as_nobody openf "$D/k" rdonly)" EACCES "a root-owned 0600 key: reading it: EACCES"
is "$(as_nobody openf "$D/k" wronly)" EACCES "writing it: EACCES"
is "$(as_nobody stat "$D/k")" OK "stat of it is allowed (the directory is searchable)"
chmod 644 "$D/k"
is "$(as_nobody pread "$D/k" rdonly 0 100)" "OK 6 secret" "chmod 0644: the other user reads it"
is "$(as_nobody pwrite "$D/k" wronly 0 X)" EACCES "but may not write it: EACCES"
is "$(as_nobody ftrunc "$D/k" rdwr 0)" EACCES "nor open it O_RDWR: EACCES"
is "$(as_nobody truncate "$D/k" 0)" EACCES "nor truncate it: EACCES"
is "$(cat "$D/k")" secret "the key is unchanged"
chown $NOBODY:$NOBODY "$D/k"
is "$(as_nobody pwrite "$D/k" wronly 0 S)" OK "chown to the user: now it writes the key"
is "$(cat "$D/k")" Secret "and the write landed"
chmod 400 "$D/k"
is "$(as_nobody pwrite "$D/k" wronly 0 s)" EACCES "its owner without write permission: EACCES"
chmod 600 "$D/k"

# directories: write permission governs making and removing names in them
chmod 755 "$D/d"
printf x > "$D/d/rootkey"
is "$(as_nobody openf "$D/d/new" wronly,creat)" EACCES \
	"creating a key in a root-owned 0755 directory: EACCES"
is "$(as_nobody mkdir "$D/d/sub")" EACCES "mkdir in it: EACCES"
is "$(as_nobody unlink "$D/d/rootkey")" EACCES "unlinking a key in it: EACCES"
is "$(as_nobody rename "$D/d/rootkey" "$D/d/moved")" EACCES "renaming in it: EACCES"
is "$(as_nobody mkdir "$MNT/nobodyns")" EACCES \
	"creating a namespace in the 0755 root: EACCES"
chmod 711 "$D/d"
is "$(as_nobody openf "$D/d" rdonly,directory)" EACCES \
	"listing a 0711 directory: EACCES"
is "$(as_nobody pread "$D/d/rootkey" rdonly 0 1)" "OK 1 x" \
	"but a key in it is reachable by name"
chmod 700 "$D/d"
is "$(as_nobody stat "$D/d/rootkey")" EACCES "through a 0700 directory: EACCES"
chmod 1777 "$D/d"
is "$(as_nobody openf "$D/d/mine" wronly,creat)" OK \
	"a 1777 directory: the user creates a key"
is "$(stat -c '%u:%g' "$D/d/mine")" "$NOBODY:$NOBODY" "owned by the user"
is "$(as_nobody unlink "$D/d/rootkey")" EPERM \
	"sticky: the user may not unlink root's key in it: EPERM"
is "$(as_nobody rename "$D/d/rootkey" "$D/d/x")" EPERM \
	"nor rename it: EPERM"
chmod 777 "$D/d"
is "$(as_nobody unlink "$D/d/rootkey")" OK "without the sticky bit it may"
printf x > "$D/d/rootkey"
chmod 755 "$D/d"

# all of it is stored per key: the same checks after a remount
remount -o allow_other,default_permissions
is "$(stat -c '%a %u:%g' "$D/k" "$D/d" "$D/d/rootkey" "$D/d/mine" | tr '\n' ' ')" \
	"600 $NOBODY:$NOBODY 755 0:0 644 0:0 644 $NOBODY:$NOBODY " \
	"modes and owners persist"
is "$(as_nobody pwrite "$D/k" wronly 0 Z)" OK "after a remount: the owner writes its key"
is "$(as_nobody openf "$D/d/rootkey" wronly)" EACCES \
	"another's 0644 key: writing it: EACCES"
is "$(as_nobody unlink "$D/d/mine")" EACCES \
	"unlinking its own key in a root-owned 0755 directory: EACCES"
chmod 600 "$D/d/rootkey"
remount -o allow_other,default_permissions
is "$(as_nobody openf "$D/d/rootkey" rdonly)" EACCES \
	"a chmod 0600 made before a remount holds after it"
# kvfs checks no permissions itself: allow_other alone must still have
# the kernel check them, or every user could read every key
remount -o allow_other
is "$(grep " $MNT fuse" /proc/mounts | grep -c default_permissions)" 1 \
	"allow_other alone: mounted with default_permissions"
is "$(as_nobody openf "$D/d/rootkey" rdonly)" EACCES \
	"allow_other alone: another's 0600 key: reading it: EACCES"
is "$(as_nobody chmod "$D/d/rootkey" 644)" EPERM \
	"allow_other alone: chmod of another's key: EPERM"
remount
is "$(as_nobody stat "$D/k")" EACCES \
	"mounted again without allow_other: even the key's owner gets EACCES"

done_testing
