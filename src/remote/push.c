/*
 * push.c - a local store pushed into an empty shared store, to become
 * its first host (-o remote_push).
 *
 * In one transaction holding the store's lock: check that the shared
 * store holds no namespace and no key, write the local store's root,
 * namespaces, keys and the chunks of their values as the rows its
 * writes would have made (under one revision), and the next
 * identifiers, notify, and commit; then record in the local store the
 * position that shows that transaction, which makes it a replica.  The
 * values stream a chunk at a time.  A failure anywhere rolls back: the
 * shared store stays empty and the local store stays as it was.  A host
 * stopped between the two commits finds the shared store not empty when
 * it tries again (its message says so).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

/* Keys read from the local store at a time. */
#define PUSH_KEYS	256

struct push {
	struct remote *r;
	char rev[24];
	int rc;			/* the first failure */
	/* the last key of a batch, where the next one starts */
	uint32_t nsid;
	char key[4096 + 8];
	size_t len;
};

static int write_one(struct push *p, const struct store_change *ch)
{
	p->rc = rows_write(p->r->c, ch, p->rev, p->r->msg,
			   sizeof(p->r->msg));
	return p->rc;
}

static int chunk_cb(void *ctx, const struct store_change *ch)
{
	struct push *p = ctx;

	if (write_one(p, ch))
		return -1;
	progress_add(p->r, 0, ch->size);
	return 0;
}

static int key_cb(void *ctx, const struct store_change *ch)
{
	struct push *p = ctx;

	if (ch->len > sizeof(p->key)) {
		snprintf(p->r->msg, sizeof(p->r->msg), "the local store: a "
			 "key longer than kvfs keeps");
		p->rc = -EIO;
		return -1;
	}
	p->nsid = ch->nsid;
	memcpy(p->key, ch->name, ch->len);
	p->len = ch->len;
	/* the chunks first, as a write stages them */
	if (ch->chunked) {
		int rc = store_chunks_each(p->r->st, ch->a.gen, chunk_cb, p);

		if (rc && !p->rc)
			p->rc = rc;
		if (p->rc)
			return -1;
	}
	if (write_one(p, ch))
		return -1;
	progress_add(p->r, 1, ch->chunked ? 0 : ch->size);
	return 0;
}

static int ns_cb(void *ctx, const char *name, size_t len,
		 const struct kv_attr *attr, const char *pos, size_t poslen)
{
	struct push *p = ctx;
	struct store_change ch = { .kind = STORE_CHANGE_NS };
	char copy[256];

	(void)pos;
	(void)poslen;
	if (len >= sizeof(copy)) {
		snprintf(p->r->msg, sizeof(p->r->msg), "the local store: a "
			 "namespace name longer than kvfs keeps");
		p->rc = -EIO;
		return -1;
	}
	memcpy(copy, name, len);
	copy[len] = '\0';
	ch.name = copy;
	ch.len = len;
	ch.nsid = (uint32_t)(attr->ino & 0xffffffffu);
	ch.a = *attr;
	return write_one(p, &ch) ? -1 : 0;
}

/* Lock, check the shared store is empty, and draw the revision. */
static int begin_empty(struct push *p, char *snap, size_t snaplen,
		       uint64_t *xid)
{
	struct remote *r = p->r;
	PGresult *res = NULL;
	int rc;

	rc = remote_begin(r);
	if (!rc)
		rc = remote_exec(r->c, "SELECT 1 FROM kvfs.store FOR UPDATE",
				 PGRES_TUPLES_OK, NULL, r->msg,
				 sizeof(r->msg));
	if (!rc)
		rc = remote_exec(r->c, "SELECT EXISTS (SELECT 1 FROM"
				 " kvfs.namespaces WHERE name <> '') OR"
				 " EXISTS (SELECT 1 FROM kvfs.keys),"
				 " nextval('kvfs.rev')::text,"
				 " pg_current_snapshot()::text,"
				 " pg_current_xact_id()::text",
				 PGRES_TUPLES_OK, &res, r->msg,
				 sizeof(r->msg));
	if (rc)
		return rc;
	if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		snprintf(r->msg, sizeof(r->msg), "the remote store is not "
			 "empty: a local store can only be pushed into an "
			 "empty one");
		rc = -EEXIST;
	} else if (strlen(PQgetvalue(res, 0, 2)) >= snaplen) {
		snprintf(r->msg, sizeof(r->msg), "the remote store: a "
			 "snapshot longer than a position holds");
		rc = -EIO;
	} else {
		snprintf(p->rev, sizeof(p->rev), "%s", PQgetvalue(res, 0, 1));
		strcpy(snap, PQgetvalue(res, 0, 2));
		*xid = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
	}
	PQclear(res);
	return rc;
}

/* Write everything the local store holds, in the transaction begun. */
static int write_all(struct push *p)
{
	struct store_change ch = { .kind = STORE_CHANGE_ROOT };
	int rc, got;

	store_root_attr(p->r->st, &ch.a);
	if (write_one(p, &ch))
		return p->rc;
	rc = store_ns_list(p->r->st, "", ns_cb, p);
	if (p->rc || rc < 0)
		return p->rc ? p->rc : rc;
	got = store_keys_after(p->r->st, 0, "", 0, PUSH_KEYS, key_cb, p);
	while (got == PUSH_KEYS && !p->rc)
		got = store_keys_after(p->r->st, p->nsid, p->key, p->len,
				       PUSH_KEYS, key_cb, p);
	if (p->rc || got < 0)
		return p->rc ? p->rc : got;
	ch.kind = STORE_CHANGE_IDS;
	store_next_ids(p->r->st, &ch.ids);
	if (write_one(p, &ch))
		return p->rc;
	return remote_exec(p->r->c, "SELECT pg_notify('kvfs', '')",
			   PGRES_TUPLES_OK, NULL, p->r->msg,
			   sizeof(p->r->msg));
}

int remote_push(struct remote *r)
{
	char snap[STORE_POS_MAX + 1], pos[STORE_POS_MAX + 1];
	struct push *p = calloc(1, sizeof(*p));
	uint64_t xid = 0;
	int rc;

	if (!p)
		return -ENOMEM;
	p->r = r;
	progress_start(r, "pushing the local store into", "pushed the local "
		       "store into");
	pthread_mutex_lock(&r->lock);
	rc = begin_empty(p, snap, sizeof(snap), &xid);
	if (!rc)
		rc = write_all(p);
	/* the position that shows this transaction */
	if (!rc && snap_add(snap, xid, pos, sizeof(pos)))
		strcpy(pos, snap);
	if (!rc)
		rc = remote_exec(r->c, "COMMIT", PGRES_COMMAND_OK, NULL,
				 r->msg, sizeof(r->msg));
	if (rc && PQstatus(r->c) == CONNECTION_OK &&
	    PQtransactionStatus(r->c) != PQTRANS_IDLE)
		PQclear(PQexec(r->c, "ROLLBACK"));
	pthread_mutex_unlock(&r->lock);
	progress_end(r, rc == 0);
	if (!rc) {
		rc = store_apply(r->st, NULL, 0, "", pos, 0);
		if (rc)
			snprintf(r->msg, sizeof(r->msg), "pushed, but the local "
				 "store cannot record it: %s", strerror(-rc));
	}
	free(p);
	return rc;
}
