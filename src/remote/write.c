/*
 * write.c - a replica's write committed in PostgreSQL before its own
 * store commits it: the store's capture callback.
 *
 * Under the store's write lock, with the write's changes in hand: begin,
 * take the shared store's write lock (its row in kvfs.store, FOR UPDATE,
 * so that the writes of all hosts take turns), and check that the
 * replica is current: its next identifiers are not behind the store's
 * (a stage elsewhere may have taken a generation no row shows yet), and
 * no row was written by a transaction its position does not show.  If
 * it is behind, the write was decided on an old state: roll back and
 * answer -EAGAIN, and the store catches up and runs it again; that
 * catch-up takes the lock first and holds it (r->held, feed.c), and the
 * write runs again in its transaction, so that no other host can commit
 * in between and find it behind again.  Else
 * write the rows under one new revision and the identifiers given out,
 * notify the listeners, record in the store's transaction the position
 * that shows this one too, and commit: after that commit nothing here
 * can fail.  Any failure of the server is -EIO, the write committed
 * nowhere.  (A commit whose answer is lost may have been made: the feed
 * then brings it.)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hooks.h"
#include "remote/internal.h"

/* The transaction, a snapshot, a revision; has a row been written by a
 * transaction that the position $1 does not show? */
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
	return remote_exec(r->c, sql, want, NULL, r->msg, sizeof(r->msg));
}

/* Copy a value of res into buf: 0, or -ENAMETOOLONG if it does not fit. */
static int copy_value(const PGresult *res, int col, char *buf, size_t len)
{
	const char *v = PQgetvalue(res, 0, col);
	size_t n = strlen(v);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, v, n + 1);
	return 0;
}

/* The write's transaction, as far as its first row. */
struct begun {
	uint64_t xid;
	char snap[STORE_POS_MAX + 1];
	char rev[24];
};

/*
 * Lock (in the transaction begun, or held: r->held) and check: 0,
 * -EAGAIN (behind), -EIO, -ENAMETOOLONG.
 */
static int begin_locked(struct remote *r, const char *pos,
			const struct store_ids *before, struct begun *b)
{
	const char *params[] = { pos };
	struct store_change ids;
	PGresult *res;
	int rc;

	res = PQexecParams(r->c, ROWS_IDS_SELECT " FOR UPDATE", 0, NULL,
			   NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    rows_ids(res, 0, &ids)) {
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", res,
			 r->c);
		PQclear(res);
		return -EIO;
	}
	PQclear(res);
	if (ids.ids.ino > before->ino || ids.ids.gen > before->gen ||
	    ids.ids.nsid > before->nsid)
		return -EAGAIN;
	res = PQexecParams(r->c, stale_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", res,
			 r->c);
		PQclear(res);
		return -EIO;
	}
	b->xid = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	rc = copy_value(res, 1, b->snap, sizeof(b->snap));
	if (!rc)
		rc = copy_value(res, 2, b->rev, sizeof(b->rev));
	if (!rc && !strcmp(PQgetvalue(res, 0, 3), "t"))
		rc = -EAGAIN;
	PQclear(res);
	return rc;
}

int remote_capture(void *ctx, const struct store_change *ch, size_t n)
{
	struct remote *r = ctx;
	char pos[STORE_POS_MAX + 1];
	struct store_change ids = { .kind = STORE_CHANGE_IDS };
	struct store_ids before;
	struct begun b;
	size_t i;
	int rc;

	rc = store_capture_pos_get(r->st, pos, sizeof(pos));
	if (rc)
		return rc;
	store_capture_ids(r->st, &before, &ids.ids);
	pthread_mutex_lock(&r->lock);
	rc = r->held ? 0 : remote_begin(r);
	if (!rc)
		rc = begin_locked(r, pos, &before, &b);
	for (i = 0; !rc && i < n; i++)
		rc = rows_write(r->c, &ch[i], b.rev, r->msg, sizeof(r->msg));
	if (!rc)
		rc = rows_write(r->c, &ids, b.rev, r->msg, sizeof(r->msg));
	if (!rc)
		rc = simple(r, "SELECT pg_notify('kvfs', '')", PGRES_TUPLES_OK);
	/* the position that shows this transaction, in the store's; if
	 * that does not fit, the snapshot (a catch-up brings this one) */
	if (!rc && snap_add(b.snap, b.xid, pos, sizeof(pos)))
		strcpy(pos, b.snap);
	if (!rc)
		rc = store_capture_pos(r->st, pos);
	if (!rc)
		rc = simple(r, "COMMIT", PGRES_COMMAND_OK);
	/* test builds: a host can die here, committed in PostgreSQL only */
	if (!rc)
		hook_hold("REMOTE_COMMITTED", "commit");
	if (!rc && strtoull(b.rev, NULL, 10) > r->rev)
		r->rev = strtoull(b.rev, NULL, 10);
	r->up = rc != -EIO;
	/* committed, or failed: a transaction held is over; one found
	 * behind in it stays for remote_release */
	if (rc != -EAGAIN || !r->held ||
	    PQtransactionStatus(r->c) != PQTRANS_INTRANS) {
		if (rc && PQstatus(r->c) == CONNECTION_OK &&
		    PQtransactionStatus(r->c) != PQTRANS_IDLE)
			PQclear(PQexec(r->c, "ROLLBACK"));
		r->held = false;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}
