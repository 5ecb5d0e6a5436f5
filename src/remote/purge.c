/*
 * purge.c - tombstones older than the window go.
 *
 * A deleted key or namespace stays in the shared store as a tombstone,
 * so that the feed carries its deletion to the hosts; the host that
 * sweeps (listen.c) deletes those older than its window (the option
 * tombstones, 7 days by default), in one statement that also records in
 * kvfs.store.purged the newest transaction among them.  A host whose
 * position does not show that transaction may have missed one of the
 * deletions and resynchronises (resync.c).  It takes the store's lock
 * first, as the writes do, and so takes its turn with them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

static const char purge_sql[] =
	"WITH k AS (DELETE FROM kvfs.keys WHERE type = 0 AND"
	"  changed < now() - $1::bigint * interval '1 second' RETURNING xid),"
	" n AS (DELETE FROM kvfs.namespaces WHERE deleted AND"
	"  changed < now() - $1::bigint * interval '1 second' RETURNING xid),"
	" m AS (SELECT xid FROM k UNION ALL SELECT xid FROM n"
	"  ORDER BY xid DESC LIMIT 1),"
	" u AS (UPDATE kvfs.store SET purged = greatest(purged, m.xid)"
	"  FROM m RETURNING 1)"
	" SELECT (SELECT count(*) FROM k) + (SELECT count(*) FROM n)";

long remote_purge(PGconn *c, unsigned long keep_s, char *msg, size_t len)
{
	char secs[24];
	const char *params[] = { secs };
	PGresult *res = NULL;
	long n = -EIO;

	snprintf(secs, sizeof(secs), "%lu", keep_s);
	/* the store's lock first, as the writes take it: a purge that
	 * locked a tombstone a write is about to replace, then waited for
	 * the store's row, would deadlock with it */
	if (!remote_exec(c, "BEGIN; SELECT 1 FROM kvfs.store FOR UPDATE",
			 PGRES_TUPLES_OK, NULL, msg, len)) {
		res = PQexecParams(c, purge_sql, 1, NULL, params, NULL, NULL,
				   0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1 &&
		    !remote_exec(c, "COMMIT", PGRES_COMMAND_OK, NULL, msg,
				 len))
			n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		else if (PQresultStatus(res) != PGRES_TUPLES_OK)
			remote_say(msg, len, "the remote store: ", res, c);
	}
	PQclear(res);
	if (n < 0) {
		if (PQtransactionStatus(c) != PQTRANS_IDLE)
			PQclear(PQexec(c, "ROLLBACK"));
		snprintf(msg + strlen(msg), len - strlen(msg), " (purging "
			 "deletions)");
	}
	return n;
}
