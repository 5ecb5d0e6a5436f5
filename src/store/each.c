/*
 * each.c - every key a store holds, in the index's order: for a replica
 * that compares itself with the store it copies (issue 18: a host away
 * for longer than deletions are kept resynchronises, remote/resync.c).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store/internal.h"

int store_keys_after(struct store *st, uint32_t nsid, const char *key,
		     size_t len, unsigned max, store_key_cb cb, void *ctx)
{
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
			seen++;
			stop = cb(ctx, at, cur.key, cur.keylen);
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
