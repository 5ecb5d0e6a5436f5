/*
 * write.c - a replica's write committed in PostgreSQL before its own
 * store commits it: the store's capture callback.
 *
 * Under the store's write lock, with the write's changes in hand: begin,
 * take the shared store's write lock (its row in kvfs.store, FOR UPDATE,
 * so that the writes of all hosts take turns), and check that the
 * replica is current: its next identifiers are not behind the store's
 * (a stage elsewhere may have taken a generation no row shows yet), and
 * its position shows the last write (kvfs.store.last_xid: the writes
 * take turns, so it shows every one before too).  If
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

/* Send the first round trip: [BEGIN,] the lock and identifiers, the
 * snapshot, revision and staleness; how many queries, or -EIO. */
static int send_begin(struct remote *r, const char *pos)
{
	const char *params[] = { pos };
	int n = 0, rc = 0;

	if (!PQenterPipelineMode(r->c)) {
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", NULL,
			   r->c);
		return -EIO;
	}
	if (!r->held) {
		rc = remote_send(r->c, "BEGIN", 0, NULL, NULL, NULL, 0,
				 r->msg, sizeof(r->msg));
		n++;
	}
	if (!rc)
		rc = rows_send(r->c, ROWS_LOCK, 0, NULL, NULL, NULL, 1,
			       r->msg, sizeof(r->msg));
	if (!rc)
		rc = rows_send(r->c, ROWS_STALE, 1, params, NULL, NULL, 0,
			       r->msg, sizeof(r->msg));
	return rc ? rc : n + 2;
}

/*
 * Lock (in a transaction begun here, or held: r->held) and check, in one
 * round trip (a pipeline; the check is a statement of its own, whose
 * snapshot comes after the lock): 0, -EAGAIN (behind), -EIO,
 * -ENAMETOOLONG.
 */
static int begin_locked(struct remote *r, const char *pos,
			const struct store_ids *before, struct begun *b)
{
	PGresult *res[3] = { NULL, NULL, NULL }, *ids, *st;
	struct store_change got;
	int n, rc, tries;

	for (tries = 0; tries < 2; tries++) {
		rc = r->held ? 0 : remote_usable(r);
		if (rc)
			return rc;
		n = send_begin(r, pos);
		rc = remote_pipeline_end(r->c, n < 0 ? 0 : n, res, r->msg,
					 sizeof(r->msg));
		if (!rc && n < 0)
			rc = n;
		/* a connection the server closed (a restart, a failover)
		 * shows only when used: once more on a new one, nothing
		 * done yet */
		if (rc != -EIO || r->held || PQstatus(r->c) == CONNECTION_OK)
			break;
		PQclear(res[0]);
		PQclear(res[1]);
		PQclear(res[2]);
		res[0] = res[1] = res[2] = NULL;
	}
	ids = res[r->held ? 0 : 1];
	st = res[r->held ? 1 : 2];
	if (!rc && (!ids || !st || PQntuples(ids) != 1 ||
		    PQntuples(st) != 1 || rows_ids(ids, 0, &got))) {
		snprintf(r->msg, sizeof(r->msg),
			 "the remote store: a row kvfs cannot read");
		rc = -EIO;
	}
	if (!rc && (got.ids.ino > before->ino || got.ids.gen > before->gen ||
		    got.ids.nsid > before->nsid))
		rc = -EAGAIN;
	if (!rc) {
		b->xid = strtoull(PQgetvalue(st, 0, 0), NULL, 10);
		rc = copy_value(st, 1, b->snap, sizeof(b->snap));
		if (!rc)
			rc = copy_value(st, 2, b->rev, sizeof(b->rev));
		if (!rc && !strcmp(PQgetvalue(st, 0, 3), "t"))
			rc = -EAGAIN;
	}
	PQclear(res[0]);
	PQclear(res[1]);
	PQclear(res[2]);
	return rc;
}

/*
 * The second round trip: the rows, the identifiers given out, the
 * notification and the commit, in one pipeline: 0 or -EIO.
 */
static int write_commit(struct remote *r, const struct store_change *ch,
			size_t n, const struct store_change *ids,
			const char *rev)
{
	int rc = 0, q = 0;
	size_t i;

	if (!PQenterPipelineMode(r->c)) {
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", NULL,
			   r->c);
		return -EIO;
	}
	for (i = 0; !rc && i < n; i++, q++)
		rc = rows_write(r->c, &ch[i], rev, r->msg, sizeof(r->msg));
	if (!rc) {
		rc = rows_write(r->c, ids, rev, r->msg, sizeof(r->msg));
		q++;
	}
	if (!rc) {
		rc = rows_send(r->c, ROWS_NOTIFY, 0, NULL, NULL, NULL, 0,
			       r->msg, sizeof(r->msg));
		q++;
	}
	if (!rc) {
		rc = remote_send(r->c, "COMMIT", 0, NULL, NULL, NULL, 0,
				 r->msg, sizeof(r->msg));
		q++;
	}
	if (remote_pipeline_end(r->c, q, NULL, r->msg, sizeof(r->msg)))
		rc = -EIO;
	/* a COMMIT of an aborted transaction answers as a ROLLBACK */
	if (!rc && PQtransactionStatus(r->c) != PQTRANS_IDLE)
		rc = -EIO;
	return rc;
}

int remote_capture(void *ctx, const struct store_change *ch, size_t n)
{
	struct remote *r = ctx;
	char pos[STORE_POS_MAX + 1];
	struct store_change ids = { .kind = STORE_CHANGE_IDS };
	struct store_ids before;
	struct begun b;
	int rc;

	rc = store_capture_pos_get(r->st, pos, sizeof(pos));
	if (rc)
		return rc;
	store_capture_ids(r->st, &before, &ids.ids);
	pthread_mutex_lock(&r->lock);
	rc = begin_locked(r, pos, &before, &b);
	/* the position that shows this transaction, in the store's; if
	 * that does not fit, the snapshot (a catch-up brings this one) */
	if (!rc && snap_add(b.snap, b.xid, pos, sizeof(pos)))
		strcpy(pos, b.snap);
	if (!rc)
		rc = store_capture_pos(r->st, pos);
	if (!rc)
		rc = write_commit(r, ch, n, &ids, b.rev);
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
