/*
 * resync.c - a replica away for longer than the shared store keeps its
 * deletions copies it anew.
 *
 * A deleted key or namespace stays in the shared store as a tombstone
 * for the feed to carry; the sweeper host purges the tombstones older
 * than its window (purge.c) and records in kvfs.store.purged the newest
 * transaction whose tombstones went.  A round whose position does not
 * show every such transaction (purged at or past the position's xmin)
 * may miss deletions: it stops with -ESTALE (feed.c), and the replica
 * resynchronises in two steps.  This file is the first: in one snapshot,
 * delete every namespace and key the replica holds that the store does
 * not hold live, comparing the two batch by batch in the order both
 * keep (namespace id, key bytes).  The second is a round that reads every
 * row, as a new host's first copy does, and records the new position.
 * Both check that the replica's position is still the one they began
 * from (a write of this host in between starts them again), and only
 * the second moves it: a host stopped between them does both again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "remote/internal.h"

/* The replica's keys compared at a time. */
#define RESYNC_KEYS	256

struct held_key {
	uint32_t nsid;
	size_t len;
	char *key;
};

/* A batch of the replica's keys, or its namespaces. */
struct held {
	struct held_key *k;
	size_t n, cap;
};

static int held_add(struct held *h, uint32_t nsid, const char *key,
		    size_t len)
{
	char *copy;

	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct held_key *k = realloc(h->k, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		h->k = k;
		h->cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, len);
	copy[len] = '\0';
	h->k[h->n++] = (struct held_key){ nsid, len, copy };
	return 0;
}

static void held_clear(struct held *h)
{
	while (h->n)
		free(h->k[--h->n].key);
}

static int key_cb(void *ctx, const struct store_change *ch)
{
	return held_add(ctx, ch->nsid, ch->name, ch->len);
}

static int ns_cb(void *ctx, const char *name, size_t len,
		 const struct kv_attr *attr, const char *pos, size_t poslen)
{
	(void)pos;
	(void)poslen;
	return held_add(ctx, (uint32_t)(attr->ino & 0xffffffffu), name, len);
}

/*
 * Delete the entries gone[0..n) of the replica (keys, or namespaces) if
 * its position is still pos, and tell the daemon: 0, -EAGAIN (moved).
 */
static int drop(struct remote *r, const char *pos, struct held_key **gone,
		size_t n, enum store_change_kind kind)
{
	struct store_change *ch;
	size_t i;
	int rc;

	if (!n)
		return 0;
	ch = calloc(n, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ch[i].kind = kind;
		ch[i].deleted = true;
		ch[i].nsid = gone[i]->nsid;
		ch[i].name = gone[i]->key;
		ch[i].len = gone[i]->len;
	}
	rc = store_apply(r->st, ch, n, pos, NULL,
			 STORE_APPLY_FEED | STORE_APPLY_NOCOLLECT);
	if (!rc && r->applied)
		r->applied(r->applied_ctx, ch, n);
	free(ch);
	return rc;
}

/* Namespaces the replica holds and the store does not hold live. */
static int drop_namespaces(struct remote *r, const char *pos)
{
	struct held h = { 0 };
	struct held_key **gone = NULL;
	PGresult *live;
	size_t i, n = 0;
	int rc, j;

	live = feed_query(r, "SELECT name FROM kvfs.namespaces"
			  " WHERE NOT deleted AND name <> ''", 0, NULL, 0);
	if (!live)
		return -EIO;
	rc = store_ns_list(r->st, "", ns_cb, &h);
	if (!rc && h.n && !(gone = calloc(h.n, sizeof(*gone))))
		rc = -ENOMEM;
	for (i = 0; !rc && i < h.n; i++) {
		for (j = 0; j < PQntuples(live); j++)
			if (!strcmp(PQgetvalue(live, j, 0), h.k[i].key))
				break;
		if (j == PQntuples(live))
			gone[n++] = &h.k[i];
	}
	if (!rc)
		rc = drop(r, pos, gone, n, STORE_CHANGE_NS);
	PQclear(live);
	free(gone);
	held_clear(&h);
	free(h.k);
	return rc;
}

/* Compare (nsid, key) with row row of a result (ns int8, key bytea,
 * binary). */
static int cmp_row(const struct held_key *k, const PGresult *res, int row)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(res, row,
								   0);
	uint64_t ns = 0;
	size_t len = (size_t)PQgetlength(res, row, 1), n;
	int i, c;

	for (i = 0; i < 8; i++)
		ns = ns << 8 | p[i];
	if (k->nsid != ns)
		return k->nsid < ns ? -1 : 1;
	n = k->len < len ? k->len : len;
	c = memcmp(k->key, PQgetvalue(res, row, 1), n);
	if (c)
		return c;
	return k->len < len ? -1 : k->len > len;
}

/* The store's live keys among those of batch h, in their order: a
 * result of (ns int8, key bytea), binary, or NULL. */
static PGresult *live_keys(struct remote *r, const struct held *h)
{
	char *sql = malloc(160 + h->n * 48), (*ns)[16] = NULL;
	const char **params = calloc(2 * h->n, sizeof(*params));
	int *lengths = calloc(2 * h->n, sizeof(*lengths));
	int *formats = calloc(2 * h->n, sizeof(*formats));
	PGresult *res = NULL;
	size_t i, at;

	if (sql && params && lengths && formats)
		ns = calloc(h->n, sizeof(*ns));
	if (!ns)
		goto out;
	at = (size_t)sprintf(sql, "SELECT v.ns, v.key FROM (VALUES ");
	for (i = 0; i < h->n; i++) {
		snprintf(ns[i], sizeof(ns[i]), "%u", h->k[i].nsid);
		params[2 * i] = ns[i];
		params[2 * i + 1] = h->k[i].key;
		lengths[2 * i + 1] = (int)h->k[i].len;
		formats[2 * i + 1] = 1;
		at += (size_t)sprintf(sql + at, "%s($%zu::bigint, $%zu::bytea)",
				      i ? ", " : "", 2 * i + 1, 2 * i + 2);
	}
	sprintf(sql + at, ") AS v (ns, key) JOIN kvfs.keys k"
		" ON k.ns = v.ns AND k.key = v.key AND k.type <> 0"
		" ORDER BY 1, 2");
	res = PQexecParams(r->feed, sql, (int)(2 * h->n), NULL, params,
			   lengths, formats, 1);
out:
	free(sql);
	free(params);
	free(lengths);
	free(formats);
	free(ns);
	return res;
}

/* The keys of batch h the store does not hold live. */
static int drop_keys(struct remote *r, const char *pos, struct held *h)
{
	struct held_key **gone;
	PGresult *live = live_keys(r, h);
	size_t i, n = 0;
	int j = 0, rc;

	if (PQresultStatus(live) != PGRES_TUPLES_OK ||
	    (PQntuples(live) && PQgetlength(live, 0, 0) != 8)) {
		pthread_mutex_lock(&r->lock);
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", live,
			   r->feed);
		pthread_mutex_unlock(&r->lock);
		PQclear(live);
		return live ? -EIO : -ENOMEM;
	}
	gone = calloc(h->n, sizeof(*gone));
	if (!gone) {
		PQclear(live);
		return -ENOMEM;
	}
	/* both in the same order, the store's a part of the replica's */
	for (i = 0; i < h->n; i++) {
		if (j < PQntuples(live) && !cmp_row(&h->k[i], live, j))
			j++;
		else
			gone[n++] = &h->k[i];
	}
	rc = drop(r, pos, gone, n, STORE_CHANGE_KEY);
	free(gone);
	PQclear(live);
	return rc;
}

int remote_resync(struct remote *r, const char *pos)
{
	struct held h = { 0 };
	int rc, got;

	kvfs_log(KVFS_INFO, "this replica was away longer than the remote "
		 "store keeps deletions: copying it anew");
	if (feed_command(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			 0, NULL))
		return -EIO;
	rc = drop_namespaces(r, pos);
	got = rc ? 0 : store_keys_after(r->st, 0, "", 0, RESYNC_KEYS, key_cb,
					&h);
	while (!rc && got > 0) {
		struct held_key last;

		rc = drop_keys(r, pos, &h);
		if (rc)
			break;
		/* the next batch, after the last of this one */
		last = h.k[h.n - 1];
		h.k[--h.n].key = NULL;
		held_clear(&h);
		got = store_keys_after(r->st, last.nsid, last.key, last.len,
				       RESYNC_KEYS, key_cb, &h);
		free(last.key);
	}
	if (!rc && got < 0)
		rc = got;
	held_clear(&h);
	free(h.k);
	PQclear(PQexec(r->feed, rc ? "ROLLBACK" : "COMMIT"));
	return rc;
}
