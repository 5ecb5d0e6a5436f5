/*
 * cache.c - the values a replica keeps when it keeps only some of them
 * (-o value_cache, issue 18): every key's record stays, the chunks of a
 * value may go (store_value_evict) and come back from the store it
 * copies (store_value_fill).  Neither is a change of the store: they are
 * not captured, and move no identifier.
 *
 * An eviction marks its generation (pin_evict_begin, store/chunks.c), so
 * that no reader pins it from then until the chunks are gone: a reader
 * either pinned it first (then it stays) or finds it evicted
 * (store_value_open: -EREMOTE).  A fill writes only while the key still
 * holds the generation, so that no chunk of a value a write or the feed
 * replaced (and whose collection may have run) is left behind.
 */
#include "config.h"

#include <errno.h>

#include "store/internal.h"

struct fill_arg {
	const char *ns, *key;
	size_t len;
	uint64_t gen;
	const struct store_change *ch;
	size_t n;
};

static int fill_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct fill_arg *fa = arg;
	uint32_t nsid;
	struct rec r;
	size_t i;
	int rc;

	rc = value_rec(st, txn, fa->ns, fa->key, fa->len, &nsid, &r);
	if (rc == MDB_NOTFOUND || rc == -EISDIR ||
	    (!rc && (!r.chunked || r.a.gen != fa->gen)))
		return -ESTALE;
	if (rc)
		return rc;
	st->cap.off = true;
	for (i = 0; !rc && i < fa->n; i++)
		rc = fa->ch[i].kind != STORE_CHANGE_CHUNK ||
		     fa->ch[i].gen != fa->gen ? -EIO :
		     apply_chunk(st, txn, &fa->ch[i], STORE_APPLY_FEED);
	return rc;
}

int store_value_fill(struct store *st, const char *ns, const char *key,
		     size_t len, uint64_t gen, const struct store_change *ch,
		     size_t n)
{
	struct fill_arg fa = { ns, key, len, gen, ch, n };

	return n ? store_err(store_write_alone(st, fill_txn, &fa)) : 0;
}

struct evict_arg {
	uint64_t gen;
	uint64_t bytes;		/* deleted */
};

static int evict_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct evict_arg *ea = arg;
	unsigned char kb[12];
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	ea->bytes = 0;
	st->cap.off = true;
	rc = mdb_cursor_open(txn, st->data, &c);
	if (rc)
		return rc;
	for (;;) {
		chunk_key(kb, ea->gen, 0);
		k.mv_size = sizeof(kb);
		k.mv_data = kb;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size != sizeof(kb) ||
		    get_be64(k.mv_data) != ea->gen)
			break;
		ea->bytes += v.mv_size;
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int64_t store_value_evict(struct store *st, uint64_t gen)
{
	struct evict_arg ea = { gen, 0 };
	int rc;

	rc = pin_evict_begin(st, gen);
	if (rc)
		return rc;
	rc = store_write_alone(st, evict_txn, &ea);
	pin_evict_end(st, gen);
	/* a value replaced meanwhile waits in gc, skipped while marked */
	value_collect(st);
	return rc ? store_err(rc) : (int64_t)ea.bytes;
}

int store_gen_pin(struct store *st, uint64_t gen)
{
	return pin_get(st, gen);
}

void store_gen_unpin(struct store *st, uint64_t gen)
{
	if (pin_put(st, gen))
		value_collect(st);
}
