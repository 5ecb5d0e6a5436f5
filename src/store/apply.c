/*
 * apply.c - applying changes another store captured (store_apply): the
 * way a replica follows the store it copies.
 *
 * The changes are written as they were made, in one transaction, with
 * what follows from them kept here: the expiry index, the used bytes and
 * the count of namespaces, and the collection of a dropped generation,
 * which waits for this store's own readers (a drop is marked in gc, so
 * that its collection is not captured back).  A change is applied
 * whatever this store held before: a record replaces the one there, a
 * deletion of what is not there does nothing, so that applying a change
 * twice is harmless.  A key renamed is a put of the new name and a
 * deletion of the old one with the same inode number: the expiry entry
 * of that number is dropped only while it is the old name's.  A feed
 * (STORE_APPLY_FEED) carries records as they are, not the drops that
 * went with them: the generations of the values its changes replace go
 * once it is applied, unless one of its keys holds them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"
#include "store/internal.h"

/* Move the counters past the identifiers a record carries. */
static void ids_seen(struct store *st, const struct kv_attr *a)
{
	if (a->ino & STORE_NS_INO) {
		if (NSID(a->ino) >= st->next_nsid)
			st->next_nsid = (uint64_t)NSID(a->ino) + 1;
		return;
	}
	if (!(a->ino & STORE_IMPLIED_INO) && a->ino >= st->next_ino)
		st->next_ino = a->ino + 1;
	if (a->gen >= st->next_gen)
		st->next_gen = a->gen + 1;
}

static void apply_ids(struct store *st, const struct store_ids *ids)
{
	if (ids->ino > st->next_ino)
		st->next_ino = ids->ino;
	if (ids->gen > st->next_gen)
		st->next_gen = ids->gen;
	if (ids->nsid > st->next_nsid)
		st->next_nsid = ids->nsid;
}

static int apply_root(struct store *st, MDB_txn *txn,
		      const struct store_change *c)
{
	struct kv_attr a = c->a;

	a.type = KV_DIR;
	a.ino = 1;
	return root_set(st, txn, &a);
}

static int apply_ns(struct store *st, MDB_txn *txn,
		    const struct store_change *c)
{
	struct rec r;
	int rc;

	if (!c->len || c->name[c->len])
		return -EIO;
	rc = ns_get(st, txn, c->name, &r);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (c->deleted) {
		if (rc)
			return 0;
		rc = ns_del(st, txn, c->name);
		if (!rc)
			st->nns--;
		return rc;
	}
	if (rc)
		st->nns++;
	memset(&r, 0, sizeof(r));
	r.a = c->a;
	r.a.type = KV_DIR;
	r.a.ino = STORE_NS_INO | c->nsid;
	ids_seen(st, &r.a);
	return ns_put(st, txn, c->name, &r, 0);
}

struct apply_arg {
	const struct store_change *ch;
	size_t n;
	const char *from, *pos;
	unsigned flags;
	uint64_t *gone;		/* FEED: generations replaced */
	size_t ngone, capgone;
};

/* FEED: note that the value of generation gen was replaced. */
static int gone_add(struct apply_arg *aa, uint64_t gen)
{
	if (aa->ngone == aa->capgone) {
		size_t cap = aa->capgone ? 2 * aa->capgone : 16;
		uint64_t *n = realloc(aa->gone, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		aa->gone = n;
		aa->capgone = cap;
	}
	aa->gone[aa->ngone++] = gen;
	return 0;
}

/* FEED: drop the replaced generations no key of the feed holds. */
static int gone_drop(struct store *st, MDB_txn *txn, struct apply_arg *aa)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; !rc && i < aa->ngone; i++) {
		for (j = 0; j < aa->n; j++) {
			const struct store_change *c = &aa->ch[j];

			if (c->kind == STORE_CHANGE_KEY && !c->deleted &&
			    c->chunked && c->a.gen == aa->gone[i])
				break;
		}
		if (j == aa->n)
			rc = value_drop(st, txn, aa->gone[i]);
	}
	return rc;
}

static int apply_key(struct store *st, MDB_txn *txn,
		     const struct store_change *c, struct apply_arg *aa)
{
	struct rec old, r;
	int rc;

	if (!c->len || c->len > KVFS_KEY_SIZE_CEIL)
		return -EIO;
	rc = key_get(st, txn, c->nsid, c->name, c->len, &old);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (!rc) {
		if (old.a.expiration)
			rc = expiry_del_if(st, txn, old.a.expiration,
					   old.a.ino, c->nsid, c->name,
					   c->len);
		if (!rc && (aa->flags & STORE_APPLY_FEED) && old.chunked &&
		    (c->deleted || !c->chunked || c->a.gen != old.a.gen))
			rc = gone_add(aa, old.a.gen);
		if (rc)
			return rc;
		if (old.a.type != KV_DIR)
			st->used_bytes -= old.a.size < st->used_bytes ?
					  old.a.size : st->used_bytes;
		if (c->deleted)
			return key_del_raw(st, txn, c->nsid, c->name, c->len);
	} else if (c->deleted) {
		return 0;
	}
	if (c->a.type < KV_FILE || c->a.type > KV_LINK ||
	    (c->a.type != KV_DIR && !c->chunked && c->size != c->a.size))
		return -EIO;
	memset(&r, 0, sizeof(r));
	r.a = c->a;
	r.chunked = c->chunked;
	r.inl = c->data;
	r.meta = c->meta;
	r.metalen = c->metalen;
	rc = key_put(st, txn, c->nsid, c->name, c->len, &r);
	/* a value a key holds is not collected, whoever queued it (a
	 * write here that failed after the shared store committed it) */
	if (!rc && c->chunked && (aa->flags & STORE_APPLY_FEED))
		rc = gc_forget(st, txn, c->a.gen);
	if (!rc && c->a.expiration)
		rc = expiry_put(st, txn, c->a.expiration, c->a.ino, c->nsid,
				c->name, c->len);
	if (rc)
		return rc;
	if (c->a.type != KV_DIR)
		st->used_bytes += c->a.size;
	ids_seen(st, &c->a);
	return 0;
}

int apply_chunk(struct store *st, MDB_txn *txn, const struct store_change *c,
		unsigned flags)
{
	unsigned char kb[12];
	MDB_val k = { sizeof(kb), kb }, d = { c->size, NULL };
	int rc;

	if (!c->size || c->size > st->chunk)
		return -EIO;
	chunk_key(kb, c->gen, c->idx);
	rc = mdb_put(txn, st->data, &k, &d, MDB_RESERVE |
		     ((flags & STORE_APPLY_FEED) ? MDB_NOOVERWRITE : 0));
	if (rc == MDB_KEYEXIST)
		return 0;
	if (rc)
		return rc;
	memcpy(d.mv_data, c->data, c->size);
	if (c->gen >= st->next_gen)
		st->next_gen = c->gen + 1;
	return 0;
}

static int apply_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct apply_arg *aa = arg;
	size_t i;
	int rc = 0;

	aa->ngone = 0;
	if (aa->from) {
		rc = pos_is(st, txn, aa->from);
		if (rc)
			return rc;
	}

	st->cap.off = true;
	for (i = 0; !rc && i < aa->n; i++) {
		const struct store_change *c = &aa->ch[i];

		switch (c->kind) {
		case STORE_CHANGE_ROOT:
			rc = apply_root(st, txn, c);
			break;
		case STORE_CHANGE_NS:
			rc = apply_ns(st, txn, c);
			break;
		case STORE_CHANGE_KEY:
			rc = apply_key(st, txn, c, aa);
			break;
		case STORE_CHANGE_CHUNK:
			rc = apply_chunk(st, txn, c, aa->flags);
			break;
		case STORE_CHANGE_IDS:
			apply_ids(st, &c->ids);
			break;
		case STORE_CHANGE_TRIM:
			rc = chunks_delete(st, txn, c->gen, c->idx);
			break;
		case STORE_CHANGE_DROP:
			rc = value_drop(st, txn, c->gen);
			break;
		default:
			rc = -EIO;
		}
	}
	if (!rc)
		rc = gone_drop(st, txn, aa);
	if (!rc && aa->pos)
		rc = pos_put(st, txn, aa->pos);
	/* cap.off stays until the commit (env.c clears it): the ids this
	 * moved are another store's, not to be told back */
	return rc;
}

int store_apply(struct store *st, const struct store_change *ch, size_t n,
		const char *from, const char *pos, unsigned flags)
{
	struct apply_arg aa = { .ch = ch, .n = n, .from = from, .pos = pos,
				.flags = flags };
	int rc;

	if (!n && !pos)
		return 0;
	rc = store_write_alone(st, apply_txn, &aa);
	free(aa.gone);
	if (!(flags & STORE_APPLY_NOCOLLECT))
		value_collect_queued(st);
	return store_err(rc);
}

int store_apply_pos(struct store *st, char *buf, size_t size)
{
	MDB_txn *txn;
	int rc;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = pos_copy(st, txn, buf, size);
	store_read_end(st, txn);
	return store_err(rc);
}
