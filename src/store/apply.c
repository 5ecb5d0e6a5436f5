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
 * of that number is dropped only while it is the old name's.
 */
#include "config.h"

#include <errno.h>
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
	ids_seen(st, &c->a);
	return ns_put(st, txn, c->name, &r, 0);
}

static int apply_key(struct store *st, MDB_txn *txn,
		     const struct store_change *c)
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

static int apply_chunk(struct store *st, MDB_txn *txn,
		       const struct store_change *c)
{
	unsigned char kb[12];
	MDB_val k = { sizeof(kb), kb }, d = { c->size, NULL };
	int rc;

	if (!c->size || c->size > st->chunk)
		return -EIO;
	chunk_key(kb, c->gen, c->idx);
	rc = mdb_put(txn, st->data, &k, &d, MDB_RESERVE);
	if (rc)
		return rc;
	memcpy(d.mv_data, c->data, c->size);
	if (c->gen >= st->next_gen)
		st->next_gen = c->gen + 1;
	return 0;
}

struct apply_arg {
	const struct store_change *ch;
	size_t n;
};

static int apply_txn(struct store *st, MDB_txn *txn, void *arg)
{
	const struct apply_arg *aa = arg;
	size_t i;
	int rc = 0;

	st->cap.off = true;
	for (i = 0; !rc && i < aa->n; i++) {
		const struct store_change *c = &aa->ch[i];

		switch (c->kind) {
		case STORE_CHANGE_ROOT:
			rc = root_set(st, txn, &c->a);
			break;
		case STORE_CHANGE_NS:
			rc = apply_ns(st, txn, c);
			break;
		case STORE_CHANGE_KEY:
			rc = apply_key(st, txn, c);
			break;
		case STORE_CHANGE_CHUNK:
			rc = apply_chunk(st, txn, c);
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
	st->cap.off = false;
	return rc;
}

int store_apply(struct store *st, const struct store_change *ch, size_t n)
{
	struct apply_arg aa = { ch, n };
	int rc;

	if (!n)
		return 0;
	rc = store_write_alone(st, apply_txn, &aa);
	value_collect_queued(st);
	return store_err(rc);
}
