/*
 * keyrec.c - a key's record inside a transaction: get, put, drop (with
 * its chunks and its expiry entry), and a live key below a prefix.
 *
 * The record of a key lives in the index (store/index.c) under (namespace
 * id, key).  Dropping one also forgets its expiry entry, takes its size
 * off the store's count and queues its chunks for collection, so that a
 * key deleted by unlink, by a rename over it, by the sweep or as a
 * temporary key at open gives its space back the same way.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

int key_put_raw(struct store *st, MDB_txn *txn, uint32_t nsid,
		const char *key, size_t len, const void *rec, size_t reclen)
{
	int rc = kvi_put(txn, st->keys, nsid, key, len, rec, reclen);

	return rc ? rc : cap_key(st, nsid, key, len, rec, reclen);
}

int key_del_raw(struct store *st, MDB_txn *txn, uint32_t nsid,
		const char *key, size_t len)
{
	int rc = kvi_del(txn, st->keys, nsid, key, len);

	return rc ? rc : cap_key(st, nsid, key, len, NULL, 0);
}

int key_put(struct store *st, MDB_txn *txn, uint32_t nsid, const char *key,
	    size_t len, const struct rec *r)
{
	size_t inl = r->a.type != KV_DIR && !r->chunked ? r->a.size : 0;
	size_t n = rec_size(r, inl);
	char stackbuf[512], *buf = n <= sizeof(stackbuf) ? stackbuf : malloc(n);
	int rc;

	if (!buf)
		return -ENOMEM;
	rec_encode(r, inl, buf);
	rc = key_put_raw(st, txn, nsid, key, len, buf, n);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

int key_get(struct store *st, MDB_txn *txn, uint32_t nsid, const char *key,
	    size_t len, struct rec *r)
{
	MDB_val v;
	int rc;

	rc = kvi_get(txn, st->keys, nsid, key, len, &v);
	if (rc)
		return rc;
	return rec_decode(v.mv_data, v.mv_size, r) ? MDB_CORRUPTED : 0;
}

int key_live_below(struct store *st, MDB_txn *txn, uint32_t nsid,
		   const char *prefix, size_t len, int64_t now)
{
	struct kvi_cursor cur;
	int rc;

	rc = kvi_open(txn, st->keys, nsid, &cur);
	if (rc)
		return rc;
	for (rc = kvi_seek(&cur, prefix, len); !rc; rc = kvi_next(&cur)) {
		struct rec r;

		/* temporary keys, the last of all, are no keys */
		if (cur.keylen < len || memcmp(cur.key, prefix, len) ||
		    key_is_temp(cur.key, cur.keylen)) {
			rc = MDB_NOTFOUND;
			break;
		}
		if (rec_decode(cur.rec.mv_data, cur.rec.mv_size, &r)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (!attr_expired(&r.a, now))
			break;
	}
	kvi_close(&cur);
	return rc;
}

int key_drop(struct store *st, MDB_txn *txn, uint32_t nsid, const char *key,
	     size_t len, const struct rec *r)
{
	int rc;

	rc = key_del_raw(st, txn, nsid, key, len);
	if (!rc && r->a.expiration)
		rc = expiry_del(st, txn, r->a.expiration, r->a.ino);
	if (rc)
		return rc;
	if (r->a.type == KV_DIR)
		return 0;
	st->used_bytes -= r->a.size < st->used_bytes ? r->a.size
						      : st->used_bytes;
	return r->chunked ? value_drop(st, txn, r->a.gen) : 0;
}
