#!/bin/sh
# Replicas through PostgreSQL (src/remote, store capture and apply): two
# stores bound to one shared store in a cluster of the test's own, by
# tests/unit_remote: random operations on each in turn and from threads
# at once leave them the same; a transaction that commits after a later
# one reaches the other replica; a new replica copies the whole, one
# reopened catches up; with the server stopped a write fails with EIO and
# changes nothing, and goes through once it is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
: "${UNIT_REMOTE:=$top_builddir/tests/unit_remote}"
[ -x "$UNIT_REMOTE" ] || skip_all "unit_remote not built"

pg_start a || { fail "the cluster starts"; done_testing; }
"$UNIT_REMOTE" "$(pg_conninfo a)" "$(pg_cmd a stop)" "$(pg_cmd a start)"
