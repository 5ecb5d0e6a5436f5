/*
 * capture.c - the changes a write transaction makes to the replicated
 * part of the store, gathered for store_set_capture's callback.
 *
 * The files that write a root, namespace or key record, a chunk, or
 * delete chunks call cap_* beside the write; each change is copied
 * (records, names and chunks alike) into memory of its own, since LMDB
 * may move a record's page before the commit.  store_write (env.c) resets
 * the list when a transaction begins, takes back what a nested body that
 * failed had added (cap_mark, cap_rollback), and hands the list to the
 * callback before the commit (cap_flush), also when the transaction
 * only took identifiers (store_capture_ids tells which).  All under the
 * write lock.  Nothing is gathered while no callback is set, or in
 * store_apply's transaction, which writes what another store captured
 * (off).  A replica's position in what it copies is kept here too, in
 * the info table beside the counters (pos_*).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static char pos_name[] = "feed";
static const MDB_val pos_key = { 4, pos_name };

void store_set_capture(struct store *st, store_capture_fn fn,
		       store_catchup_fn catchup, store_release_fn release,
		       void *ctx)
{
	pthread_mutex_lock(&st->write_lock);
	st->cap.fn = fn;
	st->cap.catchup = catchup;
	st->cap.release = release;
	st->cap.ctx = ctx;
	pthread_mutex_unlock(&st->write_lock);
}

int pos_put(struct store *st, MDB_txn *txn, const char *pos)
{
	MDB_val v = { strlen(pos), (void *)pos };

	if (v.mv_size > STORE_POS_MAX)
		return -ENAMETOOLONG;
	return mdb_put(txn, st->info, (MDB_val *)&pos_key, &v, 0);
}

static int pos_get(struct store *st, MDB_txn *txn, MDB_val *v)
{
	int rc = mdb_get(txn, st->info, (MDB_val *)&pos_key, v);

	if (rc == MDB_NOTFOUND) {
		v->mv_size = 0;
		v->mv_data = NULL;
		rc = 0;
	}
	return rc;
}

int pos_copy(struct store *st, MDB_txn *txn, char *buf, size_t size)
{
	MDB_val v;
	int rc = pos_get(st, txn, &v);

	if (!rc && v.mv_size >= size)
		rc = -ENAMETOOLONG;
	if (!rc && v.mv_size)
		memcpy(buf, v.mv_data, v.mv_size);
	if (!rc)
		buf[v.mv_size] = '\0';
	return rc;
}

int pos_is(struct store *st, MDB_txn *txn, const char *pos)
{
	MDB_val v;
	int rc = pos_get(st, txn, &v);

	if (rc)
		return rc;
	if (v.mv_size != strlen(pos) ||
	    (v.mv_size && memcmp(v.mv_data, pos, v.mv_size)))
		return -EAGAIN;
	return 0;
}

int store_capture_pos(struct store *st, const char *pos)
{
	if (!st->cap.txn)
		return -EINVAL;
	return store_err(pos_put(st, st->cap.txn, pos));
}

int store_capture_pos_get(struct store *st, char *buf, size_t size)
{
	if (!st->cap.txn)
		return -EINVAL;
	return store_err(pos_copy(st, st->cap.txn, buf, size));
}

void store_capture_ids(struct store *st, struct store_ids *before,
		       struct store_ids *after)
{
	*before = st->cap.before;
	after->ino = st->next_ino;
	after->gen = st->next_gen;
	after->nsid = st->next_nsid;
}

void store_next_ids(struct store *st, struct store_ids *out)
{
	out->ino = st->next_ino;
	out->gen = st->next_gen;
	out->nsid = st->next_nsid;
}

static bool cap_on(const struct store *st)
{
	return st->cap.fn && !st->cap.off;
}

/* A new change owning size bytes of memory (*mem), or NULL. */
static struct store_change *cap_new(struct store *st,
				    enum store_change_kind kind, size_t size,
				    char **mem)
{
	struct capture *c = &st->cap;
	struct store_change *ch;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct store_change *nch = realloc(c->ch, cap * sizeof(*nch));
		void **nown;

		if (!nch)
			return NULL;
		c->ch = nch;
		nown = realloc(c->own, cap * sizeof(*nown));
		if (!nown)
			return NULL;
		c->own = nown;
		c->cap = cap;
	}
	*mem = size ? malloc(size) : NULL;
	if (size && !*mem)
		return NULL;
	ch = &c->ch[c->n];
	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	c->own[c->n++] = *mem;
	return ch;
}

int cap_root(struct store *st, const struct kv_attr *a)
{
	struct store_change *ch;
	char *mem;

	if (!cap_on(st))
		return 0;
	ch = cap_new(st, STORE_CHANGE_ROOT, 0, &mem);
	if (!ch)
		return -ENOMEM;
	ch->a = *a;
	return 0;
}

int cap_ns(struct store *st, const char *ns, const struct kv_attr *a)
{
	size_t len = strlen(ns);
	struct store_change *ch;
	char *mem;

	if (!cap_on(st))
		return 0;
	ch = cap_new(st, STORE_CHANGE_NS, len + 1, &mem);
	if (!ch)
		return -ENOMEM;
	memcpy(mem, ns, len + 1);
	ch->name = mem;
	ch->len = len;
	if (a) {
		ch->a = *a;
		ch->nsid = NSID(a->ino);
	} else {
		ch->deleted = true;
	}
	return 0;
}

int rec_change(const void *rec, size_t reclen, struct store_change *ch)
{
	struct rec r;

	if (rec_decode(rec, reclen, &r))
		return -EIO;
	ch->a = r.a;
	ch->chunked = r.chunked;
	if (!r.chunked && r.a.type != KV_DIR) {
		ch->data = r.inl;
		ch->size = r.a.size;
	}
	ch->meta = r.meta;
	ch->metalen = r.metalen;
	return 0;
}

int cap_key(struct store *st, uint32_t nsid, const char *key, size_t len,
	    const void *rec, size_t reclen)
{
	struct store_change *ch;
	char *mem;

	if (!cap_on(st))
		return 0;
	ch = cap_new(st, STORE_CHANGE_KEY, len + 1 + reclen, &mem);
	if (!ch)
		return -ENOMEM;
	memcpy(mem, key, len);
	mem[len] = '\0';
	ch->nsid = nsid;
	ch->name = mem;
	ch->len = len;
	if (!rec) {
		ch->deleted = true;
		return 0;
	}
	memcpy(mem + len + 1, rec, reclen);
	if (rec_change(mem + len + 1, reclen, ch)) {
		st->cap.n--;
		free(mem);
		return -EIO;
	}
	return 0;
}

int cap_chunk(struct store *st, uint64_t gen, uint64_t idx,
	      const void *data, size_t size)
{
	struct store_change *ch;
	char *mem;

	if (!cap_on(st))
		return 0;
	ch = cap_new(st, STORE_CHANGE_CHUNK, size, &mem);
	if (!ch)
		return -ENOMEM;
	if (size)
		memcpy(mem, data, size);
	ch->gen = gen;
	ch->idx = idx;
	ch->data = mem;
	ch->size = size;
	return 0;
}

int cap_gen(struct store *st, enum store_change_kind kind, uint64_t gen,
	    uint64_t idx)
{
	struct store_change *ch;
	char *mem;

	if (!cap_on(st))
		return 0;
	ch = cap_new(st, kind, 0, &mem);
	if (!ch)
		return -ENOMEM;
	ch->gen = gen;
	ch->idx = idx;
	return 0;
}

size_t cap_mark(const struct store *st)
{
	return st->cap.n;
}

void cap_rollback(struct store *st, size_t mark)
{
	while (st->cap.n > mark)
		free(st->cap.own[--st->cap.n]);
}

int cap_flush(struct store *st, MDB_txn *txn, const struct store_ids *before,
	      bool *called)
{
	int rc;

	/* a transaction that only took identifiers (a put's generation)
	 * is told too: another store must not take them */
	*called = false;
	if (!cap_on(st) || (!st->cap.n && before->ino == st->next_ino &&
			    before->gen == st->next_gen &&
			    before->nsid == st->next_nsid))
		return 0;
	*called = true;
	st->cap.before = *before;
	st->cap.txn = txn;
	rc = st->cap.fn(st->cap.ctx, st->cap.ch, st->cap.n);
	st->cap.txn = NULL;
	return rc;
}

void cap_free(struct store *st)
{
	cap_rollback(st, 0);
	free(st->cap.ch);
	free(st->cap.own);
	st->cap.ch = NULL;
	st->cap.own = NULL;
	st->cap.cap = 0;
}
