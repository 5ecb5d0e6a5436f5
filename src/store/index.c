/*
 * index.c - an ordered map of (namespace id, key) -> record on LMDB.
 *
 * The LMDB key is the namespace id (4 bytes, big-endian, so a namespace is
 * one contiguous range) followed by the key.  LMDB keys stop at 511 bytes
 * and kvfs keys go to 512 and beyond, so a key of BUCKET_AT bytes or more
 * is kept in a "bucket": one LMDB entry under the key's first BUCKET_AT
 * bytes holding every such key's remaining tail and record, sorted by tail.
 * Bytewise order of whole keys is the order of this layout, so a key is one
 * lookup and a prefix one range scan, whatever its length.
 *
 * A bucket entry: u16 tail length, u32 record length, tail, record.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define NSLEN		4
#define BUCKET_AT	(511 - NSLEN)
#define ENTHDR		6

struct bent {
	const char *tail;
	size_t taillen;
	const char *rec;
	size_t reclen;
	size_t next;		/* offset of the following entry */
};

static size_t mkey(char *buf, uint32_t nsid, const char *key, size_t len)
{
	size_t n = len < BUCKET_AT ? len : BUCKET_AT;

	buf[0] = (char)(nsid >> 24);
	buf[1] = (char)(nsid >> 16);
	buf[2] = (char)(nsid >> 8);
	buf[3] = (char)nsid;
	memcpy(buf + NSLEN, key, n);
	return NSLEN + n;
}

static bool is_bucket(const MDB_val *mk)
{
	return mk->mv_size == NSLEN + BUCKET_AT;
}

/* Parse the bucket entry at off; false at the end (or if malformed). */
static bool bucket_entry(const MDB_val *v, size_t off, struct bent *e)
{
	const unsigned char *p = (const unsigned char *)v->mv_data + off;
	uint16_t tl;
	uint32_t rl;

	if (off + ENTHDR > v->mv_size)
		return false;
	memcpy(&tl, p, 2);
	memcpy(&rl, p + 2, 4);
	if (off + ENTHDR + tl + (size_t)rl > v->mv_size)
		return false;
	e->tail = (const char *)p + ENTHDR;
	e->taillen = tl;
	e->rec = e->tail + tl;
	e->reclen = rl;
	e->next = off + ENTHDR + tl + rl;
	return true;
}

static int tailcmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

int kvi_get(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, const char *key,
	    size_t len, MDB_val *rec)
{
	char kb[NSLEN + BUCKET_AT];
	MDB_val mk = { mkey(kb, nsid, key, len), kb }, mv;
	struct bent e;
	size_t off;
	int rc;

	rc = mdb_get(txn, dbi, &mk, &mv);
	if (rc)
		return rc;
	if (len < BUCKET_AT) {
		*rec = mv;
		return 0;
	}
	for (off = 0; bucket_entry(&mv, off, &e); off = e.next) {
		if (!tailcmp(e.tail, e.taillen, key + BUCKET_AT,
			     len - BUCKET_AT)) {
			rec->mv_data = (void *)e.rec;
			rec->mv_size = e.reclen;
			return 0;
		}
	}
	return MDB_NOTFOUND;
}

static char *bucket_append(char *p, const char *tail, size_t tl,
			   const void *rec, size_t rl)
{
	uint16_t t = (uint16_t)tl;
	uint32_t r = (uint32_t)rl;

	memcpy(p, &t, 2);
	memcpy(p + 2, &r, 4);
	memcpy(p + ENTHDR, tail, tl);
	memcpy(p + ENTHDR + tl, rec, rl);
	return p + ENTHDR + tl + rl;
}

/*
 * Rewrite the bucket holding key: without its entry, and with the new
 * record if rec is not NULL.
 */
static int bucket_update(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid,
			 const char *key, size_t len, const void *rec,
			 size_t reclen)
{
	char kb[NSLEN + BUCKET_AT];
	MDB_val mk = { mkey(kb, nsid, key, len), kb }, mv = { 0, NULL };
	const char *tail = key + BUCKET_AT;
	size_t tl = len - BUCKET_AT, off;
	bool found = false, placed = false;
	struct bent e;
	char *buf, *p;
	int rc;

	rc = mdb_get(txn, dbi, &mk, &mv);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	buf = malloc(mv.mv_size + ENTHDR + tl + reclen);
	if (!buf)
		return ENOMEM;
	p = buf;
	for (off = 0; mv.mv_size && bucket_entry(&mv, off, &e); off = e.next) {
		int c = tailcmp(e.tail, e.taillen, tail, tl);

		if (c >= 0 && rec && !placed) {
			p = bucket_append(p, tail, tl, rec, reclen);
			placed = true;
		}
		if (c == 0) {
			found = true;
			continue;
		}
		p = bucket_append(p, e.tail, e.taillen, e.rec, e.reclen);
	}
	if (rec && !placed)
		p = bucket_append(p, tail, tl, rec, reclen);
	if (!rec && !found)
		rc = MDB_NOTFOUND;
	else if (p == buf)
		rc = mdb_del(txn, dbi, &mk, NULL);
	else {
		MDB_val nv = { (size_t)(p - buf), buf };

		rc = mdb_put(txn, dbi, &mk, &nv, 0);
	}
	free(buf);
	return rc;
}

int kvi_put(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, const char *key,
	    size_t len, const void *rec, size_t reclen)
{
	char kb[NSLEN + BUCKET_AT];
	MDB_val mk = { mkey(kb, nsid, key, len), kb };
	MDB_val mv = { reclen, (void *)rec };

	if (len >= BUCKET_AT)
		return bucket_update(txn, dbi, nsid, key, len, rec, reclen);
	return mdb_put(txn, dbi, &mk, &mv, 0);
}

int kvi_del(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, const char *key,
	    size_t len)
{
	char kb[NSLEN + BUCKET_AT];
	MDB_val mk = { mkey(kb, nsid, key, len), kb };

	if (len >= BUCKET_AT)
		return bucket_update(txn, dbi, nsid, key, len, NULL, 0);
	return mdb_del(txn, dbi, &mk, NULL);
}

int kvi_next_ns(MDB_txn *txn, MDB_dbi dbi, uint32_t from, uint32_t *nsid)
{
	char kb[NSLEN];
	MDB_val mk = { mkey(kb, from, "", 0), kb }, mv;
	const unsigned char *k;
	MDB_cursor *c;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &mk, &mv, MDB_SET_RANGE);
	if (!rc && mk.mv_size < NSLEN)
		rc = MDB_CORRUPTED;
	if (!rc) {
		k = mk.mv_data;
		*nsid = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 |
			(uint32_t)k[2] << 8 | k[3];
	}
	mdb_cursor_close(c);
	return rc;
}

int kvi_open(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, struct kvi_cursor *cur)
{
	cur->nsid = nsid;
	cur->keylen = 0;
	return mdb_cursor_open(txn, dbi, &cur->c);
}

void kvi_close(struct kvi_cursor *cur)
{
	mdb_cursor_close(cur->c);
}

/* Fill in key and record from the LMDB entry and bucket offset. */
static int cur_load(struct kvi_cursor *cur)
{
	const unsigned char *k = cur->mk.mv_data;
	uint32_t nsid;
	struct bent e;

	if (cur->mk.mv_size < NSLEN)
		return MDB_NOTFOUND;
	nsid = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 |
	       (uint32_t)k[2] << 8 | k[3];
	if (nsid != cur->nsid)
		return MDB_NOTFOUND;
	cur->keylen = cur->mk.mv_size - NSLEN;
	memcpy(cur->key, k + NSLEN, cur->keylen);
	if (!is_bucket(&cur->mk)) {
		cur->rec = cur->mv;
		return 0;
	}
	if (!bucket_entry(&cur->mv, cur->boff, &e) ||
	    BUCKET_AT + e.taillen > sizeof(cur->key))
		return MDB_CORRUPTED;
	memcpy(cur->key + BUCKET_AT, e.tail, e.taillen);
	cur->keylen = BUCKET_AT + e.taillen;
	cur->rec.mv_data = (void *)e.rec;
	cur->rec.mv_size = e.reclen;
	return 0;
}

static int cur_step(struct kvi_cursor *cur)
{
	struct bent e;
	int rc;

	if (is_bucket(&cur->mk) && bucket_entry(&cur->mv, cur->boff, &e) &&
	    e.next < cur->mv.mv_size) {
		cur->boff = e.next;
		return 0;
	}
	rc = mdb_cursor_get(cur->c, &cur->mk, &cur->mv, MDB_NEXT);
	cur->boff = 0;
	return rc;
}

int kvi_seek(struct kvi_cursor *cur, const char *key, size_t len)
{
	char kb[NSLEN + BUCKET_AT];
	size_t kl = mkey(kb, cur->nsid, key, len);
	struct bent e;
	int rc;

	cur->mk.mv_size = kl;
	cur->mk.mv_data = kb;
	rc = mdb_cursor_get(cur->c, &cur->mk, &cur->mv, MDB_SET_RANGE);
	if (rc)
		return rc;
	cur->boff = 0;
	if (len >= BUCKET_AT && is_bucket(&cur->mk) &&
	    !memcmp(cur->mk.mv_data, kb, kl)) {
		/* the bucket of key itself: skip the smaller tails */
		while (bucket_entry(&cur->mv, cur->boff, &e) &&
		       tailcmp(e.tail, e.taillen, key + BUCKET_AT,
			       len - BUCKET_AT) < 0) {
			if (e.next >= cur->mv.mv_size) {
				rc = mdb_cursor_get(cur->c, &cur->mk,
						    &cur->mv, MDB_NEXT);
				cur->boff = 0;
				if (rc)
					return rc;
				break;
			}
			cur->boff = e.next;
		}
	}
	return cur_load(cur);
}

int kvi_next(struct kvi_cursor *cur)
{
	int rc = cur_step(cur);

	return rc ? rc : cur_load(cur);
}
