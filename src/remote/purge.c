/*
 * purge.c - tombstones older than the window go.
 *
 * A deleted key or namespace stays in the shared store as a tombstone,
 * so that the feed carries its deletion to the hosts; the host that
 * sweeps (listen.c) deletes those older than its window (the option
 * tombstones, 7 days by default), in one statement that also records in
 * kvfs.store.purged the newest transaction among them.  A host whose
 * position does not show that transaction may have missed one of the
 * deletions and resynchronises (resync.c).  The statement updates the
 * store's row, so it takes its turn with the writes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
	PGresult *res;
	long n;

	snprintf(secs, sizeof(secs), "%lu", keep_s);
	res = PQexecParams(c, purge_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		remote_say(msg, len, "purging the remote store's deletions: ",
			   res, c);
		PQclear(res);
		return -EIO;
	}
	n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}
