/*
 * feed.c - the change feed: what other hosts committed, applied to the
 * replica.
 *
 * The replica's position is the PostgreSQL snapshot it has seen (store
 * pos).  One round reads, on the feed's own connection (r->feed) and in
 * one transaction (repeatable read, so rows and chunks agree), the
 * namespace and key rows written by transactions that position does not
 * show but the new snapshot does, and the chunks of the values those
 * keys now hold that the replica lacks, and the store applies them as a
 * feed (states, dropping what they replace).  The keys come through a
 * cursor, ROUND_KEYS rows at a time, and the chunks of each batch
 * ROUND_CHUNKS at a time, each applied as it comes, so that a round
 * holds one batch in memory however much it brings (a new host's first
 * copy is one round); the rows of one revision are applied together
 * (a rename's put and deletion hold one value).  The last batch is
 * applied once the transaction is over, with the collection of what
 * the round replaced (a write, which may catch up in turn).  Every apply checks that the position is still
 * the one the round began from (else a write or another round came
 * first, and this one starts again); the last records the new snapshot
 * with the store's next identifiers, which a stage elsewhere may have
 * moved before any row shows its generation.  A round cut short leaves
 * the old position, and the next reads again what it had applied:
 * applying a state twice is harmless.
 *
 * A transaction that drew a revision early and commits late is read when
 * it commits: its transaction was not shown by the position, whatever
 * the revisions around it.  A replica with no position reads every row.
 *
 * A write that found the replica behind catches up holding the store's
 * lock (remote_catchup_write): its own connection (r->c) takes it in a
 * transaction left open for the write to run again in, then the round
 * reads; no other host commits in between.
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
	" pg_visible_in_snapshot(xid, $1::pg_snapshot)"
/* In revision order; in one, the records before the deletions. */
#define KEY_ORDER	" ORDER BY rev, type = 0"

/* Key rows, and chunks of one value, read and applied at a time. */
#define ROUND_KEYS	256
#define ROUND_CHUNKS	16
#define STR_(x)		#x
#define STR(x)		STR_(x)

/* Where one round stands. */
struct round {
	char pos[STORE_POS_MAX + 1];	/* where it began */
	char snap[STORE_POS_MAX + 1];	/* where it ends */
	PGresult *ns, *ids;
	uint64_t rev;			/* the newest revision read */
	size_t applied;			/* rows applied */
	bool all;			/* every row, not those since pos */
	bool whole;			/* every row: all, or no position
					 * (a first copy) */
};

static void bad_row(struct remote *r)
{
	pthread_mutex_lock(&r->lock);
	snprintf(r->msg, sizeof(r->msg),
		 "the remote store: a row kvfs cannot read");
	pthread_mutex_unlock(&r->lock);
}

/*
 * Apply n changes; last: with the new position, and the collection of
 * what the round replaced (once the round's transaction is over: a
 * collection is a write, which may catch up).  Then the daemon hears of
 * them (remote_set_applied).
 */
static int apply(struct remote *r, struct round *rd,
		 const struct store_change *ch, size_t n, bool last)
{
	int rc = store_apply(r->st, ch, n, rd->pos, last ? rd->snap : NULL,
			     STORE_APPLY_FEED |
			     (last ? 0 : STORE_APPLY_NOCOLLECT));

	if (!rc && n)
		vcache_seen(r, ch, n, false);
	if (!rc && n && r->applied)
		r->applied(r->applied_ctx, ch, n);
	return rc;
}

/* The chunks of generation gen (size bytes) the replica lacks; none
 * under -o value_cache, which fetches a value when it is opened. */
static int fetch_chunks(struct remote *r, struct round *rd, uint64_t gen,
			uint64_t size)
{
	struct store_change ch[ROUND_CHUNKS];
	char sgen[24], sidx[24];
	const char *params[2] = { sgen, sidx };
	uint64_t idx = 0;
	int rc = 0, i, n;

	if (r->vcache || store_gen_whole(r->st, gen, size))
		return 0;
	snprintf(sgen, sizeof(sgen), "%llu", (unsigned long long)gen);
	do {
		PGresult *res;

		snprintf(sidx, sizeof(sidx), "%llu", (unsigned long long)idx);
		res = feed_query(r, "SELECT gen, idx, data FROM kvfs.chunks WHERE"
			    " gen = $1 AND idx >= $2 ORDER BY idx LIMIT "
			    STR(ROUND_CHUNKS), 2, params, 1);
		if (!res)
			return -EIO;
		n = PQntuples(res);
		for (i = 0; !rc && i < n; i++)
			rc = rows_chunk(res, i, &ch[i]);
		if (rc)
			bad_row(r);
		else if (n)
			rc = apply(r, rd, ch, (size_t)n, false);
		for (i = 0; !rc && rd->whole && i < n; i++)
			progress_add(r, 0, ch[i].size);
		if (n)
			idx = ch[n - 1].idx + 1;
		PQclear(res);
	} while (!rc && n == ROUND_CHUNKS);
	return rc;
}

/*
 * Key rows read and not applied yet: those of one revision are applied
 * together, since a rename is a put of the new name and a deletion of
 * the old one that holds the same value, which a batch of its own would
 * collect.
 */
struct pending {
	PGresult **res;
	int n, cap, from;	/* results, and the first row of res[0] */
};

static int pending_add(struct pending *p, PGresult *res)
{
	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 4;
		PGresult **n = realloc(p->res, (size_t)cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->res = n;
		p->cap = cap;
	}
	p->res[p->n++] = res;
	return 0;
}

/* Clear all results but the keep last ones. */
static void pending_drop(struct pending *p, int keep)
{
	int i;

	for (i = 0; i < p->n - keep; i++)
		PQclear(p->res[i]);
	if (keep)
		memmove(p->res, p->res + p->n - keep,
			(size_t)keep * sizeof(*p->res));
	p->n = keep;
}

/*
 * Turn the rows of p up to row cut of its last result into changes (the
 * namespaces first, if first; the identifiers last, if last), fetch the
 * chunks they lack, then, if last, end the round's transaction, and
 * apply them.
 */
static int apply_rows(struct remote *r, struct round *rd, struct pending *p,
		      int cut, bool first, bool last)
{
	size_t nns = first ? (size_t)PQntuples(rd->ns) : 0, n = 0, cap;
	struct store_change *ch;
	int i, k, rc = 0;

	cap = nns + 1;
	for (k = 0; k < p->n; k++)
		cap += (size_t)PQntuples(p->res[k]);
	ch = calloc(cap, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	for (i = 0; !rc && (size_t)i < nns; i++) {
		rc = rows_ns(rd->ns, i, &ch[n++]);
		if (rows_rev(rd->ns, i) > rd->rev)
			rd->rev = rows_rev(rd->ns, i);
	}
	for (k = 0; !rc && k < p->n; k++) {
		int end = k == p->n - 1 ? cut : PQntuples(p->res[k]);

		for (i = k ? 0 : p->from; !rc && i < end; i++) {
			rc = rows_key(p->res[k], i, &ch[n++]);
			if (rows_rev(p->res[k], i) > rd->rev)
				rd->rev = rows_rev(p->res[k], i);
		}
	}
	rd->applied += n;
	if (!rc && last)
		rc = rows_ids(rd->ids, 0, &ch[n++]);
	if (rc)
		bad_row(r);
	/* the chunks first: a value is whole once its key is there */
	for (i = 0; !rc && (size_t)i < n; i++)
		if (ch[i].kind == STORE_CHANGE_KEY && !ch[i].deleted &&
		    ch[i].chunked)
			rc = fetch_chunks(r, rd, ch[i].a.gen, ch[i].a.size);
	if (last)
		PQclear(PQexec(r->feed, rc ? "ROLLBACK" : "COMMIT"));
	if (!rc)
		rc = apply(r, rd, ch, n, last);
	if (!rc && rd->whole) {
		uint64_t keys = 0, bytes = 0;

		for (i = 0; (size_t)i < n; i++)
			if (ch[i].kind == STORE_CHANGE_KEY && !ch[i].deleted) {
				keys++;
				bytes += ch[i].chunked ? 0 : ch[i].size;
			}
		progress_add(r, keys, bytes);
	}
	free(ch);
	return rc;
}

/*
 * Begin the round's transaction: snapshot, identifiers, namespaces, and
 * the cursor over the keys; -ESTALE if deletions the position does not
 * show may have been purged (the replica resynchronises, resync.c).
 * With rd->all, every row (a resynchronisation's second step).
 */
static int round_begin(struct remote *r, struct round *rd)
{
	const char *params[1] = { rd->pos };
	bool since = !rd->whole;
	PGresult *res;

	if (feed_command(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			 0, NULL))
		return -EIO;
	/* every row: a scan, which the session's planning rules out for
	 * the rows since a position (feedconn.c) */
	if (!since && feed_command(r, "SET LOCAL enable_seqscan = on", 0,
				   NULL))
		return -EIO;
	res = feed_query(r, "SELECT pg_current_snapshot()::text,"
			 " $1 <> '' AND purged >= pg_snapshot_xmin("
			 "  CASE WHEN $1 = '' THEN NULL ELSE $1 END"
			 "  ::pg_snapshot) FROM kvfs.store", 1, params, 0);
	if (!res)
		return -EIO;
	if (strlen(PQgetvalue(res, 0, 0)) >= sizeof(rd->snap)) {
		PQclear(res);
		pthread_mutex_lock(&r->lock);
		snprintf(r->msg, sizeof(r->msg), "the remote store: a "
			 "snapshot longer than a position holds");
		pthread_mutex_unlock(&r->lock);
		return -EIO;
	}
	strcpy(rd->snap, PQgetvalue(res, 0, 0));
	if (since && !strcmp(PQgetvalue(res, 0, 1), "t")) {
		PQclear(res);
		return -ESTALE;
	}
	PQclear(res);
	rd->ids = feed_query(r, ROWS_IDS_SELECT, 0, NULL, 1);
	if (!rd->ids || PQntuples(rd->ids) != 1)
		return -EIO;
	if (since) {
		rd->ns = feed_query(r, ROWS_NS_SELECT SINCE " ORDER BY rev",
				    1, params, 1);
		if (!rd->ns || feed_command(r, "DECLARE kvfs_feed NO SCROLL"
					    " CURSOR FOR " ROWS_KEY_SELECT
					    SINCE KEY_ORDER, 1, params))
			return -EIO;
	} else {
		rd->ns = feed_query(r, ROWS_NS_SELECT, 0, NULL, 1);
		if (!rd->ns || feed_command(r, "DECLARE kvfs_feed NO SCROLL"
					    " CURSOR FOR " ROWS_KEY_SELECT
					    KEY_ORDER, 0, NULL))
			return -EIO;
	}
	return 0;
}

/*
 * One round from the position in rd->pos: 0, -EAGAIN (moved), -EIO...
 * Each full batch is applied but for its rows of the last revision it
 * holds, which wait for the next (a transaction of more rows than a
 * batch is held whole: memory for one transaction's rows).
 */
static int round_run(struct remote *r, struct round *rd)
{
	struct pending p = { .n = 0 };
	bool first = true, last = false, open = true;
	int rc;

	rd->whole = !rd->pos[0] || rd->all;
	if (rd->whole)
		progress_start(r, "copying", "copied");
	rc = round_begin(r, rd);

	while (!rc && !last) {
		PGresult *keys = feed_query(r, "FETCH " STR(ROUND_KEYS)
				       " FROM kvfs_feed", 0, NULL, 1);
		int rows, cut;

		if (!keys) {
			rc = -EIO;
			break;
		}
		rows = PQntuples(keys);
		last = rows < ROUND_KEYS;
		/* nothing new, not even the snapshot: no write */
		if (first && last && !rows && !p.n && !PQntuples(rd->ns) &&
		    !strcmp(rd->pos, rd->snap)) {
			PQclear(keys);
			break;
		}
		rc = pending_add(&p, keys);
		if (rc) {
			PQclear(keys);
			break;
		}
		cut = rows;
		if (!last)
			while (cut > 0 && rows_rev(keys, cut - 1) ==
					  rows_rev(keys, rows - 1))
				cut--;
		if (!last && !cut)
			continue;	/* one revision so far: read on */
		rc = apply_rows(r, rd, &p, cut, first, last);
		open = !last;
		first = false;
		pending_drop(&p, last ? 0 : 1);
		p.from = cut;
	}
	pending_drop(&p, 0);
	free(p.res);
	if (open)
		PQclear(PQexec(r->feed, rc ? "ROLLBACK" : "COMMIT"));
	if (rd->whole)
		progress_end(r, rc == 0);
	return rc;
}

/* Take the store's lock in a transaction of r->c left open (r->held). */
static int hold(struct remote *r)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (!r->held) {
		rc = remote_begin(r);
		if (!rc) {
			r->held = true;
			rc = remote_exec(r->c, "SELECT 1 FROM kvfs.store FOR "
					 "UPDATE", PGRES_TUPLES_OK, NULL,
					 r->msg, sizeof(r->msg));
		}
		r->up = rc != -EIO;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* One catch-up, under feed_lock; with hold, for a write. */
static int catchup(struct remote *r, bool with_hold)
{
	struct timespec t0;
	struct round rd;
	bool again = true, all = false;
	int rc, tries;

	for (tries = 0; tries < 10; tries++) {
		memset(&rd, 0, sizeof(rd));
		rd.all = all;
		rc = store_apply_pos(r->st, rd.pos, sizeof(rd.pos));
		if (rc)
			return rc;
		rc = with_hold ? hold(r) : 0;
		/* what the round reads holds every commit made before t0 */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (!rc)
			rc = feed_usable(r);
		if (!rc)
			rc = round_run(r, &rd);
		PQclear(rd.ns);
		PQclear(rd.ids);
		/* away longer than deletions are kept: what the replica
		 * holds and the store does not goes, then every row comes */
		if (rc == -ESTALE) {
			rc = remote_resync(r, rd.pos);
			all = rc == 0;
			if (!rc || rc == -EAGAIN) {
				rc = -EAGAIN;
				continue;
			}
		}
		/* the feed's connection closed by the server: once more */
		if (rc == -EIO && again && PQstatus(r->feed) != CONNECTION_OK) {
			again = false;
			rc = -EAGAIN;
			continue;
		}
		pthread_mutex_lock(&r->lock);
		if (rc != -EAGAIN)
			r->up = rc != -EIO;
		if (!rc) {
			if (rd.rev > r->rev)
				r->rev = rd.rev;
			r->current = t0;
			r->catchups += rd.applied != 0;
			r->resyncs += rd.all;
		}
		pthread_mutex_unlock(&r->lock);
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
	int rc;

	pthread_mutex_lock(&r->feed_lock);
	/* the bulk without the lock, so that others wait for little */
	rc = catchup(r, false);
	return rc ? rc : catchup(r, true);
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
