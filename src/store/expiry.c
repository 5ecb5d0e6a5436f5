/*
 * expiry.c - the expiry index (put, del) and the next expiration.
 *
 * Every key with an expiration has an entry (expiration, inode number) ->
 * (namespace id, key) in the expiry table, so the keys due first are the
 * first entries: a sweep (store/sweep.c) reads from the start up to the
 * current second and touches nothing else, however many keys the store
 * holds.  Until a sweep deletes it, an expired key is already absent to
 * every reader (see attr_expired()); the sweep only gives its space back.
 */
#include "config.h"

#include <string.h>

#include "store/internal.h"

static void exp_key(unsigned char kb[EXP_KEY_SIZE], int64_t exp,
		    uint64_t ino)
{
	be64(kb, (uint64_t)exp);
	be64(kb + 8, ino);
}

int expiry_put(struct store *st, MDB_txn *txn, int64_t exp, uint64_t ino,
	       uint32_t nsid, const char *key, size_t len)
{
	unsigned char kb[EXP_KEY_SIZE];
	MDB_val k = { sizeof(kb), kb }, v = { sizeof(nsid) + len, NULL };
	int rc;

	exp_key(kb, exp, ino);
	rc = mdb_put(txn, st->expiry, &k, &v, MDB_RESERVE);
	if (rc)
		return rc;
	memcpy(v.mv_data, &nsid, sizeof(nsid));
	memcpy((char *)v.mv_data + sizeof(nsid), key, len);
	return 0;
}

int expiry_del(struct store *st, MDB_txn *txn, int64_t exp, uint64_t ino)
{
	unsigned char kb[EXP_KEY_SIZE];
	MDB_val k = { sizeof(kb), kb };
	int rc;

	exp_key(kb, exp, ino);
	rc = mdb_del(txn, st->expiry, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int expiry_del_if(struct store *st, MDB_txn *txn, int64_t exp, uint64_t ino,
		  uint32_t nsid, const char *key, size_t len)
{
	unsigned char kb[EXP_KEY_SIZE];
	MDB_val k = { sizeof(kb), kb }, v;
	int rc;

	exp_key(kb, exp, ino);
	rc = mdb_get(txn, st->expiry, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (v.mv_size != sizeof(nsid) + len ||
	    memcmp(v.mv_data, &nsid, sizeof(nsid)) ||
	    memcmp((char *)v.mv_data + sizeof(nsid), key, len))
		return 0;
	return mdb_del(txn, st->expiry, &k, NULL);
}

int64_t store_next_expiry(struct store *st)
{
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_val k, v;
	int64_t exp = 0;

	if (store_read_begin(st, &txn))
		return 0;
	if (mdb_cursor_open(txn, st->expiry, &c) == 0) {
		if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 &&
		    k.mv_size == EXP_KEY_SIZE)
			exp = (int64_t)get_be64(k.mv_data);
		mdb_cursor_close(c);
	}
	store_read_end(st, txn);
	return exp;
}
