#!/bin/sh
# Issue 20: kvctl against Cloudflare's own Workers KV.  The operations of
# tests/kvdiff/ops run through Miniflare's KV binding (the workerd
# runtime, installed from npm) and through kvctl on a fresh mount, side
# by side (so the one 61 s wait in the list is waited once); every
# result must agree, or be listed in tests/kvdiff/accepted with kvctl's
# result, which must stay the one recorded, and the README section that
# explains it.  One TAP line a group of operations; an accepted
# difference that no longer differs fails too, so that the list stays
# true.
#
# Miniflare and its dependencies, as tests/kvdiff/package-lock.json pins
# them, are installed with npm ci once into KVDIFF_CACHE
# (/var/cache/kvfs-kvdiff, or ~/.cache/kvfs-kvdiff when that cannot be
# written), in a directory named for the lock file's hash, and reused.
# With KVDIFF_KEEP=DIR the two sides' results are left there.  Each
# driver has KVDIFF_TIMEOUT seconds (600) to run every operation.
. "$(dirname "$0")/lib.sh"

command -v node >/dev/null || skip_all "no node (apt-get install nodejs npm)"
command -v npm >/dev/null || skip_all "no npm (apt-get install npm)"
command -v timeout >/dev/null || skip_all "no timeout (coreutils)"

# The lock pins miniflare 4.20250709.0, the last whose dependencies run on
# Debian 12's Node 18: later ones bring undici 7, which needs Node 20.18
# (on 18 it stops at once, "File is not defined"), while their
# package.json still says Node 18.
KVDIFF=$(cd "$(dirname "$0")/kvdiff" && pwd)
limit=${KVDIFF_TIMEOUT:-600}

if [ -z "${KVDIFF_CACHE:-}" ]; then
	KVDIFF_CACHE=/var/cache/kvfs-kvdiff
	mkdir -p "$KVDIFF_CACHE" 2>/dev/null && [ -w "$KVDIFF_CACHE" ] ||
		KVDIFF_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kvfs-kvdiff
fi
lock=$(sha256sum < "$KVDIFF/package-lock.json" | cut -c1-16)
mf=$KVDIFF_CACHE/miniflare-$lock
if ! [ -f "$mf/node_modules/miniflare/package.json" ]; then
	# into a new directory, renamed into place once whole
	mkdir -p "$KVDIFF_CACHE"
	tmp=$(mktemp -d "$KVDIFF_CACHE/install.XXXXXX")
	cp "$KVDIFF/package.json" "$KVDIFF/package-lock.json" "$tmp"
	if (cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error) \
	   >"$TEST_DIR/npm.log" 2>&1 &&
	   { mv "$tmp" "$mf" 2>/dev/null || [ -d "$mf" ]; }; then
		pass "npm ci installed tests/kvdiff/package-lock.json into $mf"
	else
		fail "npm ci of tests/kvdiff/package-lock.json"
		sed 's/^/# /' "$TEST_DIR/npm.log" | tail -20
		rm -rf "$tmp"
		done_testing
	fi
	rm -rf "$tmp"
fi

mount_kvfs || { fail "mount"; done_testing; }

# Both drivers at once; each writes one result a line.
start=$(date +%s)
(cd "$TEST_DIR" && timeout -k 10 "$limit" node "$KVDIFF/kvdiff.mjs" \
	miniflare "$KVDIFF/ops" "$TEST_DIR/binding.out" "$mf" \
	>"$TEST_DIR/binding.err" 2>&1) &
binding=$!
timeout -k 10 "$limit" node "$KVDIFF/kvdiff.mjs" kvctl "$KVDIFF/ops" \
	"$TEST_DIR/kvctl.out" "$KVCTL" "$MNT" "$TEST_DIR/scratch" \
	>"$TEST_DIR/kvctl.err" 2>&1
kvctl_status=$?
wait $binding
binding_status=$?
echo "# both drivers ran in $(($(date +%s) - start)) s"
# what the drivers said besides (the binding's requests sent again)
sed 's/^/# /' "$TEST_DIR/binding.err" "$TEST_DIR/kvctl.err" | head -20
for side in binding kvctl; do
	eval status=\$${side}_status
	if [ "$status" = 0 ] && [ -s "$TEST_DIR/$side.out" ]; then
		pass "the $side driver ran every operation"
	elif [ "$status" = 124 ] || [ "$status" = 137 ]; then
		fail "the $side driver ran every operation: stopped after" \
			"$limit s (KVDIFF_TIMEOUT), status $status"
		done_testing
	else
		fail "the $side driver ran every operation (status $status)"
		done_testing
	fi
done

if [ -n "${KVDIFF_KEEP:-}" ]; then
	mkdir -p "$KVDIFF_KEEP" &&
		cp "$TEST_DIR/binding.out" "$TEST_DIR/kvctl.out" "$KVDIFF_KEEP"
fi
node "$KVDIFF/kvdiff.mjs" compare "$KVDIFF/ops" "$TEST_DIR/binding.out" \
	"$TEST_DIR/kvctl.out" "$KVDIFF/accepted" > "$TEST_DIR/compare" 2>&1 ||
	{ fail "compare"; sed 's/^/# /' "$TEST_DIR/compare"; done_testing; }
while IFS= read -r line; do
	case $line in
	"ok "*) pass "${line#ok }" ;;
	"not ok "*) fail "${line#not ok }" ;;
	*) echo "$line" ;;
	esac
done < "$TEST_DIR/compare"

# Only the difference recorded is excused: the same results with kvctl's
# answer to an accepted operation changed must fail the comparison.
id=slash.lead
sed "s/^{\"id\":\"$id\",\"res\":.*/{\"id\":\"$id\",\"res\":{\"refused\":\"changed\"}}/" \
	"$TEST_DIR/kvctl.out" > "$TEST_DIR/kvctl.changed"
node "$KVDIFF/kvdiff.mjs" compare "$KVDIFF/ops" "$TEST_DIR/binding.out" \
	"$TEST_DIR/kvctl.changed" "$KVDIFF/accepted" > "$TEST_DIR/compare.changed" 2>&1
is "$(grep -c '^not ok' "$TEST_DIR/compare.changed") $(grep -c "^# $id: differs, and kvctl's result is not the one accepted" "$TEST_DIR/compare.changed")" \
	"1 1" "an accepted difference with another kvctl result than recorded fails"

done_testing
