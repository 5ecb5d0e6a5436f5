/*
 * unit_group.c - group commit (store_write): writers of many threads each
 * see their write committed exactly once and in their order, a write that
 * fails in a group takes back its own changes and nobody else's, writes
 * share transactions when they arrive together, and the map grows under
 * a group.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/internal.h"
#include "tap.h"

#define THREADS	8
#define WRITES	300
#define BIG	(100 * 1024)

/* Writes of each thread in a run: WRITES, fewer of BIG bytes. */
static int writes = WRITES;
/* The run, in the names of its keys. */
static int round_no;

struct one {
	int thread, i;
	bool fail;		/* return an error after writing */
	bool big;		/* write BIG bytes, so that the map fills */
	uint64_t seq;		/* the count this write made */
	size_t txnid;		/* the transaction it ran in */
	int rc;			/* what store_write returned */
};

static char count_name[] = "g.count";
static const MDB_val count_key = { 7, count_name };

/* Count the write in g.count, record it under its own key, maybe fail. */
static int write_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct one *o = arg;
	static char big[BIG];
	char name[32];
	MDB_val k, v;
	uint64_t n = 0;
	int rc;

	rc = mdb_get(txn, st->info, (MDB_val *)&count_key, &v);
	if (rc == 0 && v.mv_size == sizeof(n))
		memcpy(&n, v.mv_data, sizeof(n));
	else if (rc != MDB_NOTFOUND)
		return rc;
	n++;
	v.mv_size = sizeof(n);
	v.mv_data = &n;
	rc = mdb_put(txn, st->info, (MDB_val *)&count_key, &v, 0);
	if (rc)
		return rc;
	k.mv_size = (size_t)snprintf(name, sizeof(name), "g.%d.%d.%d",
				     round_no, o->thread, o->i);
	k.mv_data = name;
	if (o->big) {
		memset(big, 'a' + o->thread, sizeof(big));
		v.mv_size = sizeof(big);
		v.mv_data = big;
	}
	rc = mdb_put(txn, st->info, &k, &v, 0);
	if (rc)
		return rc;
	store_new_ino(st);	/* a counter, taken back if this fails */
	o->seq = n;
	o->txnid = mdb_txn_id(txn);
	/* a little work, so that writers queue behind the group running */
	usleep(o->big ? 0 : 200);
	return o->fail ? -EEXIST : 0;
}

struct thread {
	struct store *st;
	struct one *w;
	int n;
};

static void *writer(void *arg)
{
	struct thread *t = arg;
	int i;

	for (i = 0; i < t->n; i++)
		t->w[i].rc = store_write(t->st, write_txn, &t->w[i]);
	return NULL;
}

/* Run THREADS writers of WRITES writes each; every fail_every-th fails. */
static struct one *run(struct store *st, int fail_every, bool big)
{
	struct one *w = calloc(THREADS * writes, sizeof(*w));
	struct thread t[THREADS];
	pthread_t tid[THREADS];
	int i, j;

	round_no++;
	for (i = 0; i < THREADS; i++) {
		for (j = 0; j < writes; j++) {
			struct one *o = &w[i * writes + j];

			o->thread = i;
			o->i = j;
			o->fail = fail_every && (j + i) % fail_every == 0;
			o->big = big;
		}
		t[i] = (struct thread){ st, &w[i * writes], writes };
		pthread_create(&tid[i], NULL, writer, &t[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	return w;
}

/* The value of key name in the store, or -1 if it has none. */
static long long stored(struct store *st, const char *name, size_t *size)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	MDB_txn *txn;
	long long n = -1;

	if (store_read_begin(st, &txn))
		return -2;
	if (mdb_get(txn, st->info, &k, &v) == 0) {
		n = 0;
		if (v.mv_size == sizeof(uint64_t)) {
			uint64_t u;

			memcpy(&u, v.mv_data, sizeof(u));
			n = (long long)u;
		}
		if (size)
			*size = v.mv_size;
	}
	store_read_end(st, txn);
	return n;
}

/*
 * Check a run: the failed writes left nothing, the others are each
 * there once with the count they made, each thread's in its order, the
 * counts 1..ok with no gap and no repeat.  Returns the writes that
 * succeeded.
 */
static int check(struct store *st, struct one *w, long long base,
		 const char *what)
{
	char *seen = calloc(THREADS * writes + 1, 1);
	int i, good = 0, bad_rc = 0, wrong = 0, order = 0, twice = 0;
	uint64_t last[THREADS] = { 0 };
	char name[32];

	for (i = 0; i < THREADS * writes; i++) {
		struct one *o = &w[i];
		long long v;
		size_t size = 0;

		snprintf(name, sizeof(name), "g.%d.%d.%d", round_no,
			 o->thread, o->i);
		v = stored(st, name, &size);
		if (o->rc != (o->fail ? -EEXIST : 0))
			bad_rc++;
		if (o->fail) {
			wrong += v != -1;
			continue;
		}
		good++;
		if (o->big)
			wrong += size != BIG;
		else
			wrong += v != (long long)o->seq;
		if (o->seq <= last[o->thread])
			order++;
		last[o->thread] = o->seq;
		if (o->seq <= (uint64_t)base ||
		    o->seq > (uint64_t)base + THREADS * writes ||
		    seen[o->seq - (uint64_t)base]++)
			twice++;
	}
	is_int(bad_rc, 0, "%s: each writer got its own result", what);
	is_int(wrong, 0, "%s: each write is there, a failed one is not",
	       what);
	is_int(order, 0, "%s: each thread's writes committed in its order",
	       what);
	is_int(twice, 0, "%s: no write counted twice", what);
	is_int(stored(st, "g.count", NULL), base + good,
	       "%s: the count is the writes that succeeded", what);
	free(seen);
	return good;
}

/* How many transactions the writes that succeeded ran in. */
static int txns(struct one *w)
{
	int i, j, n = 0;

	for (i = 0; i < THREADS * writes; i++) {
		if (w[i].fail)
			continue;
		for (j = 0; j < i; j++)
			if (!w[j].fail && w[j].txnid == w[i].txnid)
				break;
		n += j == i;
	}
	return n;
}

int main(void)
{
	struct store_limits lim = { 512, 3, 0 };
	char dir[] = "/tmp/kvfs-unit-XXXXXX", cmd[64];
	struct store *st;
	struct one *w;
	uint64_t ino;
	int good, n, rc;

	if (!mkdtemp(dir))
		return 99;
	/* start with a small map, for the map to grow under a group */
	setenv("KVFS_INITIAL_MAP", "1048576", 1);
	rc = store_open(dir, &lim, "default", 0, 0, &st);
	is_int(rc, 0, "store opens");
	if (rc)
		return tap_done();

	w = run(st, 0, false);
	good = check(st, w, 0, "all succeed");
	is_int(good, THREADS * writes, "all succeed: all did");
	n = txns(w);
	ok(n < good, "writes that came together shared a commit (%d "
	   "transactions for %d writes)", n, good);
	free(w);

	ino = st->next_ino;
	w = run(st, 3, false);
	good = check(st, w, THREADS * writes, "every third fails");
	n = txns(w);
	ok(n < good, "every third fails: the others still shared commits "
	   "(%d transactions for %d writes)", n, good);
	is_int(st->next_ino - ino, good,
	       "the failed writes' counters were taken back");
	free(w);

	/* 8 threads of 40 writes of 100 KiB: the map grows under groups */
	n = 2 * THREADS * writes - THREADS * writes / 3;
	writes = 40;
	w = run(st, 0, true);
	good = check(st, w, n, "the map grows");
	is_int(good, THREADS * writes, "the map grows: all succeeded");
	ok(st->mapsize > 1048576, "the map grew (%zu bytes)", st->mapsize);
	free(w);

	ino = st->next_ino;
	store_close(st);
	rc = store_open(dir, &lim, "default", 0, 0, &st);
	is_int(rc, 0, "store reopens");
	if (rc)
		return tap_done();
	is_int(st->next_ino, ino, "the counters reached the store");
	is_int(stored(st, "g.count", NULL), n + THREADS * writes,
	       "the count too");
	store_close(st);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 99;
	return tap_done();
}
