/*
 * feed.c - the change feed: what other hosts committed, applied to the
 * replica.
 *
 * The replica's position is the PostgreSQL snapshot it has seen (store
 * pos).  One round reads, in a transaction of its own (repeatable read,
 * so rows and chunks agree), the namespace and key rows written by
 * transactions that position does not show but the new snapshot does,
 * and the chunks of the values those keys now hold; the store applies
 * them as a feed (states, dropping what they replace) with the new
 * snapshot as its position, if its position is still the one read
 * (else a write or another round came first, and this one starts
 * again).  With them come the store's next identifiers, which a stage
 * elsewhere may have moved before any row shows its generation.  A
 * transaction that drew a revision early and commits late is read when
 * it commits: its transaction was not shown by the position, whatever
 * the revisions around it.  A replica with no position reads every row.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote/internal.h"

/* The rows of the transactions the position $1 does not show. */
#define SINCE	" WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT" \
	" pg_visible_in_snapshot(xid, $1::pg_snapshot) ORDER BY rev"

/* What one round read. */
struct round {
	PGresult *ns, *keys, *chunks, *ids;
	char snap[STORE_POS_MAX + 1];
};

static void round_free(struct round *rd)
{
	PQclear(rd->ns);
	PQclear(rd->keys);
	PQclear(rd->chunks);
	PQclear(rd->ids);
	memset(rd, 0, sizeof(*rd));
}

static PGresult *query(struct remote *r, const char *sql, int n,
		       const char *const *params, int binary)
{
	PGresult *res = PQexecParams(r->c, sql, n, NULL, params, NULL, NULL,
				     binary);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		remote_say(r->msg, sizeof(r->msg),
			 "the remote store: ", res, r->c);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* The generations of the chunked values read, as an array literal. */
static char *gens_of(const PGresult *keys)
{
	size_t cap = 64, len = 1;
	char *s = malloc(cap);
	int i;

	if (!s)
		return NULL;
	strcpy(s, "{");
	for (i = 0; i < PQntuples(keys); i++) {
		struct store_change ch;
		char num[24];
		int w;

		if (rows_key(keys, i, &ch) || ch.deleted || !ch.chunked)
			continue;
		w = snprintf(num, sizeof(num), "%s%llu", len > 1 ? "," : "",
			     (unsigned long long)ch.a.gen);
		if (len + (size_t)w + 2 > cap) {
			char *n = realloc(s, cap * 2 + (size_t)w);

			if (!n) {
				free(s);
				return NULL;
			}
			s = n;
			cap = cap * 2 + (size_t)w;
		}
		memcpy(s + len, num, (size_t)w + 1);
		len += (size_t)w;
	}
	memcpy(s + len, "}", 2);
	return s;
}

/*
 * Read what changed since pos, under r->lock: 0 or -EIO, -ENOMEM.  In a
 * transaction of its own (repeatable read: rows and chunks agree), or,
 * with hold, in one that first takes the store's lock (kvfs.store FOR
 * UPDATE, as writes do) and stays open (r->held) for a write to run in
 * (remote_catchup_write): no other host commits meanwhile, so what it
 * reads is current until that write commits.
 */
static int round_read(struct remote *r, const char *pos, bool hold,
		      struct round *rd)
{
	const char *params[1] = { pos };
	PGresult *res;
	char *gens;
	int rc = -EIO;

	if (hold && !r->held) {
		if (remote_exec(r->c, "BEGIN", PGRES_COMMAND_OK, NULL, r->msg,
				sizeof(r->msg)))
			return -EIO;
		r->held = true;
		res = query(r, "SELECT 1 FROM kvfs.store FOR UPDATE", 0, NULL,
			    0);
		if (!res)
			goto out;
		PQclear(res);
	} else if (!r->held &&
		   remote_exec(r->c, "BEGIN ISOLATION LEVEL REPEATABLE READ "
			       "READ ONLY", PGRES_COMMAND_OK, NULL, r->msg,
			       sizeof(r->msg))) {
		return -EIO;
	}
	res = query(r, "SELECT pg_current_snapshot()::text", 0, NULL, 0);
	if (!res)
		goto out;
	if (strlen(PQgetvalue(res, 0, 0)) >= sizeof(rd->snap)) {
		snprintf(r->msg, sizeof(r->msg), "the remote store: a "
			 "snapshot longer than a position holds");
		PQclear(res);
		goto out;
	}
	strcpy(rd->snap, PQgetvalue(res, 0, 0));
	PQclear(res);
	rd->ids = query(r, ROWS_IDS_SELECT, 0, NULL, 1);
	if (!rd->ids || PQntuples(rd->ids) != 1)
		goto out;
	if (*pos) {
		rd->ns = query(r, ROWS_NS_SELECT SINCE, 1, params, 1);
		if (rd->ns)
			rd->keys = query(r, ROWS_KEY_SELECT SINCE, 1, params,
					 1);
	} else {
		rd->ns = query(r, ROWS_NS_SELECT, 0, NULL, 1);
		if (rd->ns)
			rd->keys = query(r, ROWS_KEY_SELECT, 0, NULL, 1);
	}
	if (!rd->keys)
		goto out;
	gens = gens_of(rd->keys);
	if (!gens) {
		rc = -ENOMEM;
		goto out;
	}
	params[0] = gens;
	rd->chunks = query(r, "SELECT gen, idx, data FROM kvfs.chunks WHERE"
			   " gen = ANY($1::bigint[]) ORDER BY gen, idx", 1,
			   params, 1);
	free(gens);
	if (rd->chunks)
		rc = 0;
out:
	if (!r->held || rc) {
		PQclear(PQexec(r->c, rc ? "ROLLBACK" : "COMMIT"));
		r->held = false;
	}
	return rc;
}

/* The round's rows as changes: namespaces, chunks, keys. */
static int round_changes(struct remote *r, const struct round *rd,
			 struct store_change **out, size_t *n)
{
	size_t cap = (size_t)PQntuples(rd->ns) + PQntuples(rd->keys) +
		     PQntuples(rd->chunks) + 1;
	struct store_change *ch = calloc(cap ? cap : 1, sizeof(*ch));
	int i, rc = 0;

	if (!ch)
		return -ENOMEM;
	*n = 0;
	rc = rows_ids(rd->ids, 0, &ch[(*n)++]);
	for (i = 0; !rc && i < PQntuples(rd->ns); i++)
		rc = rows_ns(rd->ns, i, &ch[(*n)++]);
	for (i = 0; !rc && i < PQntuples(rd->chunks); i++)
		rc = rows_chunk(rd->chunks, i, &ch[(*n)++]);
	for (i = 0; !rc && i < PQntuples(rd->keys); i++)
		rc = rows_key(rd->keys, i, &ch[(*n)++]);
	if (rc) {
		snprintf(r->msg, sizeof(r->msg),
			 "the remote store: a row kvfs cannot read");
		free(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

/* The round rd was applied (or brought nothing) from a start at t0. */
static void round_done(struct remote *r, const struct round *rd,
		       const struct timespec *t0)
{
	uint64_t rev = rows_last_rev(rd->keys), nsrev = rows_last_rev(rd->ns);

	pthread_mutex_lock(&r->lock);
	if (nsrev > rev)
		rev = nsrev;
	if (rev > r->rev)
		r->rev = rev;
	r->current = *t0;
	pthread_mutex_unlock(&r->lock);
}

/* One catch-up, under feed_lock; hold: for a write (round_read). */
static int catchup(struct remote *r, bool hold)
{
	char pos[STORE_POS_MAX + 1];
	struct timespec t0;
	struct round rd;
	int rc, tries;

	for (tries = 0; tries < 10; tries++) {
		struct store_change *ch;
		size_t n;

		memset(&rd, 0, sizeof(rd));
		rc = store_apply_pos(r->st, pos, sizeof(pos));
		if (rc)
			return rc;
		/* what the round reads holds every commit made before t0 */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pthread_mutex_lock(&r->lock);
		rc = r->held ? 0 : remote_usable(r);
		if (!rc)
			rc = round_read(r, pos, hold, &rd);
		r->up = rc != -EIO;
		pthread_mutex_unlock(&r->lock);
		/* nothing new, not even the position: no write */
		if (!rc && !PQntuples(rd.ns) && !PQntuples(rd.keys) &&
		    !strcmp(pos, rd.snap)) {
			round_done(r, &rd, &t0);
			round_free(&rd);
			return 0;
		}
		if (!rc)
			rc = round_changes(r, &rd, &ch, &n);
		if (!rc) {
			rc = store_apply(r->st, ch, n, pos, rd.snap,
					 STORE_APPLY_FEED);
			if (!rc) {
				round_done(r, &rd, &t0);
				pthread_mutex_lock(&r->lock);
				r->catchups++;
				pthread_mutex_unlock(&r->lock);
				if (r->applied)
					r->applied(r->applied_ctx, ch, n);
			}
			free(ch);
		}
		round_free(&rd);
		if (rc != -EAGAIN)
			return rc;
	}
	return rc;
}

/*
 * Rounds of several threads at once would each find the position moved
 * by another's (store_apply's -EAGAIN) and read again: one at a time.
 * feed_lock is recursive, as a round's apply collects what it replaced,
 * a write that may find the replica behind and catch up in turn.
 */
int remote_catchup(struct remote *r)
{
	int rc;

	pthread_mutex_lock(&r->feed_lock);
	rc = catchup(r, false);
	pthread_mutex_unlock(&r->feed_lock);
	return rc;
}

/*
 * A write found the replica behind: catch up holding the store's lock,
 * and keep both it and feed_lock until the write has run again
 * (remote_release), so that neither another host's commit nor another
 * round here comes in between.  A write of this host that commits in
 * the transaction held ends it (write.c).
 */
int remote_catchup_write(void *ctx)
{
	struct remote *r = ctx;

	pthread_mutex_lock(&r->feed_lock);
	return catchup(r, true);
}

void remote_release(void *ctx)
{
	struct remote *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->held && PQstatus(r->c) == CONNECTION_OK &&
	    PQtransactionStatus(r->c) != PQTRANS_IDLE)
		PQclear(PQexec(r->c, "ROLLBACK"));
	r->held = false;
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_unlock(&r->feed_lock);
}
