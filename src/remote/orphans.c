/*
 * orphans.c - chunks no key holds and no host is staging, collected by
 * the host that sweeps.
 *
 * A host collects what it staged and did not publish when it mounts
 * again (the gc queue of its replica, whose collection drops them in
 * PostgreSQL too); a host that never comes back would leave them.  So the
 * sweeper (listen.c), with each purge, looks for generations that have
 * chunks and no live key (type 1, chunked), and deletes each one's
 * chunks in a transaction of its own that first takes the generation's
 * advisory lock (pg_try_advisory_xact_lock): a host still staging it
 * holds that lock (staging.c), and the generation is skipped.  Once the
 * lock is taken, the DELETE's snapshot is newer than any publishing
 * write, which holds the lock until after its COMMIT: a key that holds
 * the generation by then is seen, and nothing is deleted.  A value
 * replaced or deleted whose host has not dropped it yet goes too, as
 * that drop would.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

/* Generations looked at in one sweep. */
#define ORPHANS_MAX	256
#define STR_(x)		#x
#define STR(x)		STR_(x)

/* in the order of generations, from after the last sweep's, so that
 * generations a host stages do not hide the others */
static const char orphans_sql[] =
	"SELECT DISTINCT gen FROM kvfs.chunks c WHERE gen > $1 AND NOT EXISTS"
	" (SELECT 1 FROM kvfs.keys k WHERE k.gen = c.gen AND k.chunked"
	" AND k.type = 1) ORDER BY gen LIMIT " STR(ORPHANS_MAX);

static const char lock_sql[] =
	"SELECT pg_try_advisory_xact_lock(" STAGE_LOCK_BASE " + $1::bigint)";

static const char delete_sql[] =
	"DELETE FROM kvfs.chunks WHERE gen = $1 AND NOT EXISTS"
	" (SELECT 1 FROM kvfs.keys WHERE gen = $1 AND chunked AND type = 1)";

/* Delete generation gen's chunks unless a host stages it: 1 if they
 * went, 0 if not, -EIO. */
static int sweep_gen(PGconn *c, const char *gen, char *msg, size_t len)
{
	const char *params[] = { gen };
	PGresult *res;
	int rc;

	rc = remote_exec(c, "BEGIN", PGRES_COMMAND_OK, NULL, msg, len);
	if (rc)
		return rc;
	res = PQexecParams(c, lock_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		remote_say(msg, len, "the remote store: ", res, c);
		rc = -EIO;
	} else if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		PQclear(res);
		res = PQexecParams(c, delete_sql, 1, NULL, params, NULL, NULL,
				   0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			remote_say(msg, len, "the remote store: ", res, c);
			rc = -EIO;
		} else {
			rc = strcmp(PQcmdTuples(res), "0") != 0;
		}
	}
	PQclear(res);
	if (rc >= 0 &&
	    remote_exec(c, "COMMIT", PGRES_COMMAND_OK, NULL, msg, len))
		rc = -EIO;
	if (rc < 0 && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

long remote_sweep_orphans(PGconn *c, uint64_t *after, char *msg,
			  size_t len)
{
	char from[24];
	const char *params[] = { from };
	PGresult *res;
	long went = 0;
	int i, n, rc;

	snprintf(from, sizeof(from), "%llu", (unsigned long long)*after);
	res = PQexecParams(c, orphans_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		remote_say(msg, len, "the remote store: ", res, c);
		went = -EIO;
	}
	n = went ? 0 : PQntuples(res);
	/* the next sweep goes on after these, or from the first */
	*after = n == ORPHANS_MAX ?
		 strtoull(PQgetvalue(res, n - 1, 0), NULL, 10) : 0;
	for (i = 0; went >= 0 && i < n; i++) {
		rc = sweep_gen(c, PQgetvalue(res, i, 0), msg, len);
		if (rc < 0)
			went = rc;
		else
			went += rc;
	}
	PQclear(res);
	if (went < 0)
		snprintf(msg + strlen(msg), len - strlen(msg),
			 " (collecting the chunks of unfinished values)");
	return went;
}
