/*
 * write.c - a replica's write committed in PostgreSQL before its own
 * store commits it: the store's capture callback.
 *
 * Under the store's write lock, with the write's changes in hand: begin,
 * take the shared store's write lock (its row in kvfs.store, FOR UPDATE,
 * so that the writes of all hosts take turns), and check that the
 * replica has seen every change committed there (no row written by a
 * transaction its position does not show).  If it has not, the write
 * was decided on an old state: roll back and answer -EAGAIN, and the
 * store catches up and runs it again.  Else write the rows under one new
 * revision, notify the listeners, commit, and record with the store's
 * commit the position that shows this transaction too.  Any failure of
 * the server is -EIO, the write not committed anywhere.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

/* Has a transaction that pos does not show written a row? */
static const char stale_sql[] =
	"SELECT pg_current_xact_id()::text, pg_current_snapshot()::text,"
	" nextval('kvfs.rev')::text,"
	" CASE WHEN $1 = '' THEN"
	"  EXISTS (SELECT 1 FROM kvfs.keys) OR"
	"  EXISTS (SELECT 1 FROM kvfs.namespaces)"
	" ELSE"
	"  EXISTS (SELECT 1 FROM kvfs.keys WHERE"
	"   xid >= pg_snapshot_xmin($1::pg_snapshot) AND"
	"   NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)) OR"
	"  EXISTS (SELECT 1 FROM kvfs.namespaces WHERE"
	"   xid >= pg_snapshot_xmin($1::pg_snapshot) AND"
	"   NOT pg_visible_in_snapshot(xid, $1::pg_snapshot))"
	" END";

static int simple(struct remote *r, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(r->c, sql);
	int rc = 0;

	if (PQresultStatus(res) != want) {
		rows_say(r->msg, sizeof(r->msg),
			 "the remote store: ", res, r->c);
		rc = -EIO;
	}
	PQclear(res);
	return rc;
}

/* Begin, lock, check: 0 (*xid, snap and rev filled), -EAGAIN, -EIO. */
static int begin_locked(struct remote *r, const char *pos, uint64_t *xid,
			char *snap, size_t snaplen, char *rev, size_t revlen)
{
	const char *params[] = { pos };
	PGresult *res;
	int rc;

	rc = simple(r, "BEGIN", PGRES_COMMAND_OK);
	if (!rc)
		rc = simple(r, "SELECT 1 FROM kvfs.store FOR UPDATE",
			    PGRES_TUPLES_OK);
	if (rc)
		return rc;
	res = PQexecParams(r->c, stale_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rows_say(r->msg, sizeof(r->msg),
			 "the remote store: ", res, r->c);
		PQclear(res);
		return -EIO;
	}
	*xid = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(snap, snaplen, "%s", PQgetvalue(res, 0, 1));
	snprintf(rev, revlen, "%s", PQgetvalue(res, 0, 2));
	rc = !strcmp(PQgetvalue(res, 0, 3), "t") ? -EAGAIN : 0;
	PQclear(res);
	return rc;
}

/* A connection that broke is made again once, between transactions. */
static int usable(struct remote *r)
{
	if (PQstatus(r->c) == CONNECTION_OK &&
	    PQtransactionStatus(r->c) == PQTRANS_IDLE)
		return 0;
	PQreset(r->c);
	if (PQstatus(r->c) == CONNECTION_OK)
		return 0;
	rows_say(r->msg, sizeof(r->msg),
		 "the remote store: ", NULL, r->c);
	return -EIO;
}

int remote_capture(void *ctx, const struct store_change *ch, size_t n)
{
	struct remote *r = ctx;
	char pos[STORE_POS_MAX + 1], snap[STORE_POS_MAX + 1], rev[24];
	uint64_t xid;
	size_t i;
	int rc;

	rc = store_apply_pos(r->st, pos, sizeof(pos));
	if (rc)
		return rc;
	pthread_mutex_lock(&r->lock);
	rc = usable(r);
	if (!rc)
		rc = begin_locked(r, pos, &xid, snap, sizeof(snap), rev,
				  sizeof(rev));
	for (i = 0; !rc && i < n; i++)
		rc = rows_write(r->c, &ch[i], rev, r->msg,
				sizeof(r->msg));
	if (!rc)
		rc = simple(r, "SELECT pg_notify('kvfs', '')", PGRES_TUPLES_OK);
	if (!rc)
		rc = simple(r, "COMMIT", PGRES_COMMAND_OK);
	else if (PQstatus(r->c) == CONNECTION_OK)
		PQclear(PQexec(r->c, "ROLLBACK"));
	pthread_mutex_unlock(&r->lock);
	if (rc)
		return rc;
	/* committed there: the replica's position shows it, with it */
	rc = snap_add(snap, xid, pos, sizeof(pos));
	return rc ? rc : store_capture_pos(r->st, pos);
}
