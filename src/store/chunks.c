/*
 * chunks.c - the chunks of large values: reader pins, the gc queue, and
 * the collection of chunks nobody needs any more.
 *
 * A reader pins the generation it opened; the chunks of a generation that
 * was replaced or deleted are queued in the gc table (value_drop) and
 * deleted once no reader pins them, in transactions of their own after
 * the commit that made them stale (at the latest when the store is next
 * opened).  A value being written in several transactions, and a stage,
 * is pinned and queued the same way until its switch (store/value.c,
 * store/stage.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "common/hooks.h"
#include "store/internal.h"

struct pin {
	uint64_t gen;
	unsigned long count;
	bool evicting;		/* pin_evict_begin: no pin until its end */
	struct pin *next;
};

static struct pin **pin_slot(struct store *st, uint64_t gen)
{
	struct pin **pp = &st->pins[gen % st->npinbuckets];

	while (*pp && (*pp)->gen != gen)
		pp = &(*pp)->next;
	return pp;
}

int pin_get(struct store *st, uint64_t gen)
{
	struct pin **pp, *p;
	int rc = 0;

	pthread_mutex_lock(&st->pin_lock);
	pp = pin_slot(st, gen);
	if (*pp && (*pp)->evicting) {
		rc = -EREMOTE;
	} else if (*pp) {
		(*pp)->count++;
	} else if ((p = malloc(sizeof(*p)))) {
		p->gen = gen;
		p->count = 1;
		p->evicting = false;
		p->next = NULL;
		*pp = p;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&st->pin_lock);
	return rc;
}

/* Release a pin; true if it was the last one. */
bool pin_put(struct store *st, uint64_t gen)
{
	struct pin **pp, *p;
	bool last = false;

	pthread_mutex_lock(&st->pin_lock);
	pp = pin_slot(st, gen);
	p = *pp;
	if (p && !p->evicting && --p->count == 0) {
		*pp = p->next;
		free(p);
		last = true;
	}
	pthread_mutex_unlock(&st->pin_lock);
	return last;
}

int pin_evict_begin(struct store *st, uint64_t gen)
{
	struct pin **pp, *p;
	int rc = 0;

	pthread_mutex_lock(&st->pin_lock);
	pp = pin_slot(st, gen);
	if (*pp) {
		rc = -EBUSY;
	} else if ((p = calloc(1, sizeof(*p)))) {
		p->gen = gen;
		p->evicting = true;
		*pp = p;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&st->pin_lock);
	return rc;
}

void pin_evict_end(struct store *st, uint64_t gen)
{
	struct pin **pp, *p;

	pthread_mutex_lock(&st->pin_lock);
	pp = pin_slot(st, gen);
	p = *pp;
	if (p && p->evicting) {
		*pp = p->next;
		free(p);
	}
	pthread_mutex_unlock(&st->pin_lock);
}

static bool pinned(struct store *st, uint64_t gen)
{
	bool on;

	pthread_mutex_lock(&st->pin_lock);
	on = *pin_slot(st, gen) != NULL;
	pthread_mutex_unlock(&st->pin_lock);
	return on;
}

int chunks_delete(struct store *st, MDB_txn *txn, uint64_t gen,
		  uint64_t from)
{
	unsigned char kb[12];
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, st->data, &c);
	if (rc)
		return rc;
	for (;;) {
		chunk_key(kb, gen, from);
		k.mv_size = sizeof(kb);
		k.mv_data = kb;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size != sizeof(kb) ||
		    get_be64(k.mv_data) != gen)
			break;
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int value_drop(struct store *st, MDB_txn *txn, uint64_t gen)
{
	unsigned char kb[8];
	MDB_val k = { sizeof(kb), kb }, v = { 0, NULL };

	/* store_apply's drops are marked, so that their collection is not
	 * captured back (cap.off is set only in its transaction) */
	if (st->cap.off)
		v = (MDB_val){ 1, (void *)"a" };

	/*
	 * Never deleted here: a reader may be pinning gen right now while it
	 * is still current in its snapshot.  Once this commit makes gen
	 * stale, value_collect() can tell pinned from unpinned for good.
	 */
	be64(kb, gen);
	__atomic_store_n(&st->gc_queued, true, __ATOMIC_RELEASE);
	return mdb_put(txn, st->gc, &k, &v, 0);
}

int gc_forget(struct store *st, MDB_txn *txn, uint64_t gen)
{
	unsigned char kb[8];
	MDB_val k = { sizeof(kb), kb };
	int rc;

	be64(kb, gen);
	rc = mdb_del(txn, st->gc, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

void value_collect_queued(struct store *st)
{
	if (__atomic_exchange_n(&st->gc_queued, false, __ATOMIC_ACQ_REL))
		value_collect(st);
}

static int collect_txn(struct store *st, MDB_txn *txn, void *arg)
{
	uint64_t gen = *(uint64_t *)arg;
	unsigned char kb[8];
	MDB_val k = { sizeof(kb), kb }, v;
	bool applied;
	int rc;

	/*
	 * value_collect() read the queue in a snapshot: since then a stage's
	 * generation may have left it, made a key's value by its switch
	 * (and its stage's pin dropped): only what is queued now is stale.
	 */
	be64(kb, gen);
	rc = mdb_get(txn, st->gc, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (pinned(st, gen))
		return 0;
	/* a drop store_apply queued was another store's: not told again */
	applied = v.mv_size == 1;
	rc = chunks_delete(st, txn, gen, 0);
	if (!rc)
		rc = mdb_del(txn, st->gc, &k, NULL);
	if (!rc && !applied)
		rc = cap_gen(st, STORE_CHANGE_DROP, gen, 0);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

void value_collect(struct store *st)
{
	uint64_t gens[64], after = 0;
	size_t n, i;

	do {
		unsigned char kb[8];
		MDB_val k = { sizeof(kb), kb }, v;
		MDB_cursor *c;
		MDB_txn *txn;
		int rc;

		n = 0;
		if (store_read_begin(st, &txn))
			return;
		be64(kb, after);
		if (!mdb_cursor_open(txn, st->gc, &c)) {
			rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
			while (!rc && n < 64) {
				if (k.mv_size == 8)
					gens[n++] = get_be64(k.mv_data);
				rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			}
			mdb_cursor_close(c);
		}
		store_read_end(st, txn);
		/* test builds: a stage can be switched to meanwhile */
		hook_hold("COLLECT", "gc");
		for (i = 0; i < n; i++)
			if (!pinned(st, gens[i]))
				store_write(st, collect_txn, &gens[i]);
		if (n)
			after = gens[n - 1] + 1;
	} while (n == 64);
}

bool gen_here(struct store *st, MDB_txn *txn, uint64_t gen, uint64_t size)
{
	unsigned char kb[12];
	MDB_val k = { sizeof(kb), kb }, v;

	if (!size)
		return true;
	/* chunks are applied in order, and evicted all at once: the last
	 * one there, all are */
	chunk_key(kb, gen, (size - 1) / st->chunk);
	return mdb_get(txn, st->data, &k, &v) == 0;
}

bool store_gen_whole(struct store *st, uint64_t gen, uint64_t size)
{
	MDB_txn *txn;
	bool whole;

	if (store_read_begin(st, &txn))
		return false;
	whole = gen_here(st, txn, gen, size);
	store_read_end(st, txn);
	return whole;
}
