/*
 * temp.c - temporary keys: the names from the byte 0xFF on (common/names.h),
 * which kvctl put writes a value under before it renames it over its key.
 *
 * No UTF-8 string holds 0xFF, so these names sort after every key: in
 * each namespace they are one range at the end.  What a client killed
 * before its rename left there is deleted when the store opens, with a
 * seek a namespace id and no scan of the keys.  Namespace ids are walked
 * in the index itself, not in the namespace table, so that the temporary
 * keys of a namespace deleted or replaced meanwhile (it counted as empty
 * with them) go too.
 */
#include "config.h"

#include <stdint.h>

#include "common/log.h"
#include "store/internal.h"

/* Delete the temporary keys of namespace id nsid. */
static int drop_ns(struct store *st, MDB_txn *txn, uint32_t nsid,
		   uint64_t *count)
{
	const char first[1] = { (char)KVFS_TEMP_BYTE };
	struct kvi_cursor cur;
	int rc;

	rc = kvi_open(txn, st->keys, nsid, &cur);
	if (rc)
		return rc;
	while ((rc = kvi_seek(&cur, first, 1)) == 0) {
		struct rec r;

		if (rec_decode(cur.rec.mv_data, cur.rec.mv_size, &r)) {
			/* not worth refusing the store for: its entry goes,
			 * the chunks it may have had stay unreachable */
			kvfs_log(KVFS_WARN, "a temporary key's record cannot "
				 "be read: deleting its entry alone");
			rc = key_del_raw(st, txn, nsid, cur.key,
					 cur.keylen);
		} else {
			rc = key_drop(st, txn, nsid, cur.key, cur.keylen, &r);
		}
		if (rc)
			break;
		(*count)++;
	}
	kvi_close(&cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int drop_txn(struct store *st, MDB_txn *txn, void *arg)
{
	uint64_t *count = arg;
	uint32_t nsid, from = 0;
	int rc;

	*count = 0;
	for (;;) {
		rc = kvi_next_ns(txn, st->keys, from, &nsid);
		if (!rc)
			rc = drop_ns(st, txn, nsid, count);
		if (rc || nsid == UINT32_MAX)
			break;
		from = nsid + 1;
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int temp_drop_all(struct store *st)
{
	uint64_t count = 0;
	int rc = store_write(st, drop_txn, &count);

	if (!rc && count)
		kvfs_log(KVFS_DEBUG, "deleted %llu temporary keys left by "
			 "clients that stopped", (unsigned long long)count);
	return rc;
}
