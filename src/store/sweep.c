/*
 * sweep.c - the sweep deleting expired keys in bounded passes, and its
 * counters.
 *
 * The expiry index (store/expiry.c) holds the keys that expire in the
 * order they do, so a pass reads from its start up to the current second,
 * at most max entries, and touches nothing else, however many keys the
 * store holds.  Until a pass deletes it, an expired key is already absent
 * to every reader (see attr_expired()); the sweep only gives its space
 * back, and tells the caller which keys went.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"
#include "store/internal.h"

/* A key the sweep found due: where it was, to tell the caller. */
struct due {
	int64_t exp;
	uint64_t ino;
	uint32_t nsid;
	bool deleted;
	size_t len;
	char key[KVFS_KEY_SIZE_CEIL];
	char ns[64];
};

struct sweep_arg {
	int64_t now;
	unsigned max;
	struct due *due;
	unsigned ndue, ndeleted;
	bool want_names;
};

/* The entries due by now, at most max, copied out of the index. */
static int collect_due(struct store *st, MDB_txn *txn, struct sweep_arg *sa)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, st->expiry, &c);
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	     !rc && sa->ndue < sa->max;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct due *d = &sa->due[sa->ndue];

		if (k.mv_size != EXP_KEY_SIZE || v.mv_size < sizeof(d->nsid) ||
		    v.mv_size - sizeof(d->nsid) > sizeof(d->key)) {
			rc = MDB_CORRUPTED;
			break;
		}
		d->exp = (int64_t)get_be64(k.mv_data);
		if (d->exp > sa->now)
			break;
		d->ino = get_be64((const unsigned char *)k.mv_data + 8);
		memcpy(&d->nsid, v.mv_data, sizeof(d->nsid));
		d->len = v.mv_size - sizeof(d->nsid);
		memcpy(d->key, (const char *)v.mv_data + sizeof(d->nsid),
		       d->len);
		d->deleted = false;
		d->ns[0] = '\0';
		sa->ndue++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Fill in the namespace names of the keys deleted, for the callback. */
static int name_namespaces(struct store *st, MDB_txn *txn,
			   struct sweep_arg *sa)
{
	MDB_cursor *c;
	MDB_val k, v;
	unsigned i;
	int rc;

	rc = mdb_cursor_open(txn, st->ns, &c);
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct rec r;

		if (k.mv_size >= sizeof(sa->due[0].ns) ||
		    rec_decode(v.mv_data, v.mv_size, &r)) {
			rc = MDB_CORRUPTED;
			break;
		}
		for (i = 0; i < sa->ndue; i++) {
			struct due *d = &sa->due[i];

			if (d->deleted && d->nsid == (uint32_t)r.a.ino) {
				memcpy(d->ns, k.mv_data, k.mv_size);
				d->ns[k.mv_size] = '\0';
			}
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int sweep_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct sweep_arg *sa = arg;
	unsigned i;
	int rc;

	sa->ndue = sa->ndeleted = 0;
	rc = collect_due(st, txn, sa);
	if (rc)
		return rc;
	for (i = 0; i < sa->ndue; i++) {
		struct due *d = &sa->due[i];
		MDB_val v;
		struct rec r;

		rc = kvi_get(txn, st->keys, d->nsid, d->key, d->len, &v);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		if (!rc && rec_decode(v.mv_data, v.mv_size, &r))
			return MDB_CORRUPTED;
		if (!rc && r.a.ino == d->ino && r.a.expiration == d->exp) {
			rc = key_drop(st, txn, d->nsid, d->key, d->len, &r);
			d->deleted = true;
			sa->ndeleted++;
		} else {
			/* an entry its key no longer matches: just drop it */
			rc = expiry_del(st, txn, d->exp, d->ino);
		}
		if (rc)
			return rc;
	}
	if (sa->want_names && sa->ndeleted)
		return name_namespaces(st, txn, sa);
	return 0;
}

int store_sweep(struct store *st, int64_t now, unsigned max,
		store_expired_cb cb, void *ctx)
{
	struct sweep_arg sa = { .now = now, .max = max, .want_names = cb };
	unsigned i;
	int rc;

	if (max == 0)
		return 0;
	sa.due = malloc(max * sizeof(*sa.due));
	if (!sa.due)
		return -ENOMEM;
	rc = store_write(st, sweep_txn, &sa);
	if (rc == 0) {
		pthread_mutex_lock(&st->write_lock);
		st->swept += sa.ndeleted;
		st->sweep_visits += sa.ndue;
		pthread_mutex_unlock(&st->write_lock);
		value_collect_queued(st);
		for (i = 0; cb && i < sa.ndue; i++)
			if (sa.due[i].deleted)
				cb(ctx, sa.due[i].ns[0] ? sa.due[i].ns : NULL,
				   sa.due[i].key, sa.due[i].len);
		rc = (int)sa.ndeleted;
	}
	free(sa.due);
	return rc;
}

void store_sweep_stats(struct store *st, struct store_sweep_stats *out)
{
	pthread_mutex_lock(&st->write_lock);
	out->deleted = st->swept;
	out->visited = st->sweep_visits;
	pthread_mutex_unlock(&st->write_lock);
}
