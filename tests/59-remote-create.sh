#!/bin/sh
# An open(O_CREAT) on one host that races another host's creation of
# the key (issue 18): host 2's kernel looks the name up and finds it
# absent, then, before its create, host 1 makes the key and host 2's
# replica has it.  Without O_EXCL the open opens the key, as on a local
# filesystem, in one go (the kernel is not sent back to look it up
# again, which could race again and fail with ESTALE): O_TRUNC replaces
# the value, a write without it lands over it, O_EXCL fails with EEXIST
# and changes nothing, and a directory made there is EISDIR.  A user the
# key's mode does not let open it gets EACCES (host 2 mounted with
# allow_other, so default_permissions: the kernel checks, not kvfs).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/hosts.sh"
: "${KVFS_HOOKS:=$top_builddir/tests/kvfs-hooks}"
[ -x "$KVFS_HOOKS" ] || skip_all "kvfs-hooks not built"

hosts_store
ARM=$TEST_DIR/arm

host_mount 1 "$CI" || fail "host 1 mounts"
export KVFS_HOOK_LOOKUP_ABSENT=race KVFS_HOOK_LOOKUP_ABSENT_ARM="$ARM"
export KVFS_HOOK_LOOKUP_LOG="$TEST_DIR/lookups"
HOST_BIN=$KVFS_HOOKS host_mount 2 "$CI" -o allow_other ||
	fail "host 2 mounts"
unset KVFS_HOOK_LOOKUP_ABSENT KVFS_HOOK_LOOKUP_ABSENT_ARM \
	KVFS_HOOK_LOOKUP_LOG
mkdir "$H1/ns1"
chmod 0777 "$H1/ns1"
within 2000 test -d "$H2/ns1"
is "$?" 0 "host 2 has the namespace host 1 made"

revision() {
	kv status "$(hmnt "$1")" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p'
}
caught_up() {
	[ "$(revision 2)" -ge "$(revision 1)" ]
}
# race WHAT CMD...: host 2 runs CMD (an fsop on ns1/race) while host 1
# does WHAT (make: a key of "abcdef"; dir: a directory) between host 2's
# lookup and its create; the fsop's answer in $GOT
race() {
	rc_what=$1
	shift
	rm -rf "$H1/ns1/race"
	within 2000 sh -c "! ls '$H2/ns1' | grep -qx race"
	: > "$TEST_DIR/lookups"
	touch "$ARM"
	${RUNAS:-} "${FSOP_AS:-$FSOP}" "$@" > "$TEST_DIR/got" 2>&1 &
	rc_pid=$!
	wait_for "$ARM.held" || echo "# the lookup was not held"
	if [ "$rc_what" = dir ]; then
		mkdir "$H1/ns1/race"
	else
		echo abcdef | tr -d '\n' > "$H1/ns1/race"
	fi
	within 2000 caught_up || echo "# host 2 did not catch up"
	rm -f "$ARM.held"
	wait "$rc_pid"
	GOT=$(cat "$TEST_DIR/got")
	LOOKUPS=$(grep -cx race "$TEST_DIR/lookups")
}
value_on() {
	within 1000 test "$(cat "$(hmnt "$1")/ns1/race")" = "$2" &&
		[ "$(cat "$(hmnt "$1")/ns1/race")" = "$2" ]
}

race make put "$H2/ns1/race" two
is "$GOT" OK "open(O_CREAT|O_TRUNC) of a key made meanwhile: written"
is "$LOOKUPS" 1 "in one go: the kernel was not sent back to look it up"
is "$(cat "$H2/ns1/race")" two "host 2 reads what it wrote"
ok "and so does host 1" value_on 1 two

race make write "$H2/ns1/race" 0 XY
is "$GOT" OK "open(O_CREAT) without O_TRUNC of a key made meanwhile"
is "$(cat "$H2/ns1/race")" XYcdef "its write lands over the value"
ok "on host 1 too" value_on 1 XYcdef

race make creat-excl "$H2/ns1/race"
is "$GOT" EEXIST "open(O_CREAT|O_EXCL): EEXIST"
is "$(cat "$H2/ns1/race")" abcdef "and the value stays"

race make pread "$H2/ns1/race" rdonly,creat 0 16
is "$GOT" "OK 6 abcdef" "open(O_CREAT|O_RDONLY) reads the value made"

# another user, whom the key's mode (0644, root's) does not let write:
# the kernel is sent back, and checks
chmod o+x "$TEST_DIR" "$TEST_DIR/h2"
# a copy of fsop that user can run, wherever the build tree is
cp "$FSOP" "$TEST_DIR/fsop"
chmod 755 "$TEST_DIR/fsop"
FSOP_AS=$TEST_DIR/fsop RUNAS="runuser -u nobody --" \
	race make put "$H2/ns1/race" two
is "$GOT" EACCES "another user's key made meanwhile, not writable: EACCES"
is "$(cat "$H2/ns1/race")" abcdef "and the value stays"

race dir put "$H2/ns1/race" two
is "$GOT" EISDIR "a directory made meanwhile: EISDIR"
ok "it stays a directory" test -d "$H2/ns1/race"

hosts_done 1 2
done_testing
