/*
 * write.c - a replica's write committed in PostgreSQL before its own
 * store commits it: the store's capture callback.
 *
 * Under the store's write lock, with the write's changes in hand, in one
 * round trip (a libpq pipeline): begin; take the shared store's write
 * lock (its row in kvfs.store, FOR UPDATE, so that the writes of all
 * hosts take turns) and check that the replica is current: its next
 * identifiers are not behind the store's (a stage elsewhere may have
 * taken a generation no row shows yet), and its position shows the last
 * write (kvfs.store.last_xid: the writes take turns, so it shows every
 * one before too), all in kvfs.write_begin (schema.c); write the rows
 * under the revision it drew, and the identifiers given out; notify the
 * listeners; commit.  If the replica is behind, write_begin fails with
 * KV001 and what follows it does nothing: the write was decided on an
 * old state, so answer -EAGAIN, and the store catches up and runs it
 * again; that catch-up takes the lock first and holds it (r->held,
 * feed.c), and the write runs again in its transaction, so that no other
 * host can commit in between and find it behind again.  Once committed,
 * record in the store's transaction the position that shows this one
 * too; from then on nothing here can fail but as -EIO, never run again
 * (the feed brings the write).  Any failure of the server is -EIO, the
 * write committed nowhere.  (A commit whose answer is lost may have been
 * made: the feed then brings it.)
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hooks.h"
#include "remote/internal.h"

/* Whether changes write rows of keys or namespaces (not only chunks,
 * which no replica waits for: a value's key row comes later). */
static bool has_rows(const struct store_change *ch, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ch[i].kind == STORE_CHANGE_KEY ||
		    ch[i].kind == STORE_CHANGE_NS ||
		    ch[i].kind == STORE_CHANGE_ROOT)
			return true;
	return false;
}

/* Queue the write: [BEGIN,] write_begin, the rows, the identifiers,
 * the notification, COMMIT: 0 or -EIO; *q how many were queued. */
static int send_write(struct remote *r, const char *pos,
		      const struct store_ids *before,
		      const struct store_change *ch, size_t n,
		      const struct store_ids *ids, int *q)
{
	char ino[24], gen[24], nsid[24];
	const char *params[] = { pos, ino, gen, nsid };
	int rc = 0;
	size_t i;

	*q = 0;
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)before->ino);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)before->gen);
	snprintf(nsid, sizeof(nsid), "%llu",
		 (unsigned long long)before->nsid);
	if (!PQenterPipelineMode(r->c)) {
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", NULL,
			   r->c);
		return -EIO;
	}
	if (!r->held && !(rc = remote_send(r->c, "BEGIN", 0, NULL, NULL,
					   NULL, 0, r->msg,
					   sizeof(r->msg))))
		(*q)++;
	if (!rc && !(rc = rows_send(r->c, ROWS_BEGIN, 4, params, NULL, NULL,
				    0, r->msg, sizeof(r->msg))))
		(*q)++;
	if (!rc)
		rc = staging_send(r, STAGING_LOCK, q);
	for (i = 0; !rc && i < n; i++)
		if (!(rc = rows_write(r->c, &ch[i], NULL, r->msg,
				      sizeof(r->msg))))
			(*q)++;
	/* the last write's transaction, if it wrote rows a replica must
	 * hold before it writes */
	if (!rc && !(rc = rows_write_ids(r->c, ids, has_rows(ch, n), r->msg,
					 sizeof(r->msg))))
		(*q)++;
	if (!rc)
		rc = staging_send(r, STAGING_CHECK, q);
	if (!rc && !(rc = rows_send(r->c, ROWS_NOTIFY, 0, NULL, NULL, NULL, 0,
				    r->msg, sizeof(r->msg))))
		(*q)++;
	if (!rc && !(rc = remote_send(r->c, "COMMIT", 0, NULL, NULL, NULL, 0,
				      r->msg, sizeof(r->msg))))
		(*q)++;
	/* after the COMMIT: the chunks are a key's, or gone */
	if (!rc)
		rc = staging_send(r, STAGING_UNLOCK, q);
	return rc;
}

/*
 * Run the write: 0 (committed, *begun its transaction, snapshot and
 * revision), -EAGAIN (the replica is behind; its transaction still open
 * if it was held), -ENODATA (a value it publishes lost chunks it
 * staged: KV002), -EIO.
 */
static int run_write(struct remote *r, const char *pos,
		     const struct store_ids *before,
		     const struct store_change *ch, size_t n,
		     const struct store_ids *ids, PGresult **begun)
{
	PGresult *res[2] = { NULL, NULL };
	char state[6];
	int q, rc, sent;

	/* a connection the server closed (a restart, a failover) is made
	 * again before (remote_usable): once the write is sent, a broken
	 * connection cannot tell whether it was committed, so it is not
	 * sent again (-EIO; the feed brings it if it was) */
	*begun = NULL;
	rc = r->held ? 0 : remote_usable(r);
	if (!rc)
		rc = staging_plan(r, ch, n);
	if (rc) {
		staging_done(r, false);
		return rc;
	}
	sent = send_write(r, pos, before, ch, n, ids, &q);
	rc = remote_pipeline_end(r->c, q, res, 2, state, r->msg,
				 sizeof(r->msg));
	if (!rc)
		rc = sent;
	if (rc && !strcmp(state, ROWS_BEHIND))
		rc = -EAGAIN;
	/* a staged value lost chunks (staging.c): the server answered */
	if (rc && !strcmp(state, ROWS_STAGE_GONE))
		rc = -ENODATA;
	/* a COMMIT of an aborted transaction answers as a ROLLBACK */
	if (!rc && PQtransactionStatus(r->c) != PQTRANS_IDLE)
		rc = -EIO;
	*begun = res[r->held ? 0 : 1];
	PQclear(res[r->held ? 1 : 0]);
	if (!rc && (!*begun || PQntuples(*begun) != 1)) {
		snprintf(r->msg, sizeof(r->msg),
			 "the remote store: a row kvfs cannot read");
		rc = -EIO;
	}
	if (rc) {
		PQclear(*begun);
		*begun = NULL;
	}
	/* its values are here: past value_cache, the follower trims */
	if (!rc && vcache_seen(r, ch, n, true) && r->wake)
		r->wake(r->wake_ctx);
	staging_done(r, !rc);
	return rc;
}

/*
 * Record the position that shows this committed write (the snapshot of
 * its start, with its transaction); if that does not fit, the snapshot
 * (a catch-up brings this one).  Any failure now is -EIO: the write is
 * committed in PostgreSQL, the feed brings it.
 */
static int record_pos(struct remote *r, const PGresult *begun)
{
	const char *snap = PQgetvalue(begun, 0, 1);
	uint64_t xid = strtoull(PQgetvalue(begun, 0, 0), NULL, 10);
	char pos[STORE_POS_MAX + 1];

	if (strlen(snap) >= sizeof(pos))
		return -EIO;
	if (snap_add(snap, xid, pos, sizeof(pos)))
		strcpy(pos, snap);
	return store_capture_pos(r->st, pos) ? -EIO : 0;
}

int remote_capture(void *ctx, const struct store_change *ch, size_t n)
{
	struct remote *r = ctx;
	char pos[STORE_POS_MAX + 1];
	struct store_ids before, ids;
	PGresult *begun = NULL;
	uint64_t rev;
	int rc;

	rc = store_capture_pos_get(r->st, pos, sizeof(pos));
	if (rc)
		return rc;
	store_capture_ids(r->st, &before, &ids);
	pthread_mutex_lock(&r->lock);
	rc = run_write(r, pos, &before, ch, n, &ids, &begun);
	if (!rc)
		rc = record_pos(r, begun);
	/* test builds: a host can die here, committed in PostgreSQL only */
	if (!rc)
		hook_hold("REMOTE_COMMITTED", "commit");
	if (begun) {
		rev = strtoull(PQgetvalue(begun, 0, 2), NULL, 10);
		if (rev > r->rev)
			r->rev = rev;
		PQclear(begun);
	}
	r->up = rc != -EIO;
	if (rc == -ENODATA)
		rc = -EIO;	/* for the writer, as any failed write */
	/* committed, or failed (found behind too: KV001 ended a held
	 * transaction, and the store catches up again): it is over */
	if (rc && PQstatus(r->c) == CONNECTION_OK &&
	    PQtransactionStatus(r->c) != PQTRANS_IDLE)
		PQclear(PQexec(r->c, "ROLLBACK"));
	r->held = false;
	pthread_mutex_unlock(&r->lock);
	return rc;
}
