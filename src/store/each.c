/*
 * each.c - every key a store holds, and every chunk of a value, as the
 * changes that would make them: for a replica that compares itself with
 * the store it copies (issue 18: a host away for longer than deletions
 * are kept resynchronises, remote/resync.c), and for a local store
 * pushed into an empty shared store (remote/push.c).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store/internal.h"

/* The change that makes the key under cur. */
static int key_change(const struct kvi_cursor *cur, struct store_change *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->kind = STORE_CHANGE_KEY;
	ch->nsid = cur->nsid;
	ch->name = cur->key;
	ch->len = cur->keylen;
	return rec_change(cur->rec.mv_data, cur->rec.mv_size, ch) ?
	       MDB_CORRUPTED : 0;
}

int store_keys_after(struct store *st, uint32_t nsid, const char *key,
		     size_t len, unsigned max, store_key_cb cb, void *ctx)
{
	struct store_change ch;
	struct kvi_cursor cur;
	MDB_txn *txn;
	unsigned seen = 0;
	uint32_t at;
	int rc, stop = 0;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	while (!stop && seen < max) {
		rc = kvi_next_ns(txn, st->keys, nsid, &at);
		if (rc)
			break;
		if (at != nsid)
			len = 0;	/* a later namespace: from its first */
		rc = kvi_open(txn, st->keys, at, &cur);
		if (rc)
			break;
		rc = kvi_seek(&cur, key, len);
		/* strictly after the key given */
		if (!rc && len && cur.keylen == len &&
		    !memcmp(cur.key, key, len))
			rc = kvi_next(&cur);
		while (!rc && seen < max) {
			rc = key_change(&cur, &ch);
			if (rc)
				break;
			seen++;
			stop = cb(ctx, &ch);
			if (stop)
				break;
			rc = kvi_next(&cur);
		}
		kvi_close(&cur);
		if (rc != MDB_NOTFOUND || at == UINT32_MAX)
			break;
		rc = 0;
		nsid = at + 1;
		len = 0;
	}
	store_read_end(st, txn);
	if (stop < 0)
		return stop;
	if (rc && rc != MDB_NOTFOUND)
		return store_err(rc);
	return (int)seen;
}

int store_chunks_each(struct store *st, uint64_t gen, store_key_cb cb,
		      void *ctx)
{
	unsigned char kb[12];
	MDB_val k = { sizeof(kb), kb }, v;
	struct store_change ch;
	MDB_cursor *c;
	MDB_txn *txn;
	int rc, stop = 0;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, st->data, &c);
	if (rc) {
		store_read_end(st, txn);
		return store_err(rc);
	}
	chunk_key(kb, gen, 0);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc && !stop;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const unsigned char *p = k.mv_data;

		if (k.mv_size != sizeof(kb) || memcmp(p, kb, 8))
			break;
		memset(&ch, 0, sizeof(ch));
		ch.kind = STORE_CHANGE_CHUNK;
		ch.gen = gen;
		ch.idx = (uint64_t)p[8] << 24 | (uint64_t)p[9] << 16 |
			 (uint64_t)p[10] << 8 | p[11];
		ch.data = v.mv_data;
		ch.size = v.mv_size;
		stop = cb(ctx, &ch);
	}
	mdb_cursor_close(c);
	store_read_end(st, txn);
	if (stop < 0)
		return stop;
	return rc && rc != MDB_NOTFOUND ? store_err(rc) : 0;
}
