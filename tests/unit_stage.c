/*
 * unit_stage.c - stages (store/stage.c) against a model in memory:
 * random writes, truncations and reads, then the switch, and the chunks
 * left in the data table counted with LMDB once the store is closed.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "store/store.h"
#include "tap.h"

#define MODEL_MAX	(9u << 20)

static unsigned char *model;
static uint64_t model_size;
static unsigned seed = 17;

static unsigned rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/* A random length, often small, sometimes a chunk or more. */
static size_t rnd_len(void)
{
	switch (rnd(4)) {
	case 0: return rnd(5000);
	case 1: return rnd(300000);
	case 2: return 128u << 10;
	default: return rnd(1200000);
	}
}

static int cmp_range(struct store_stage *sg, uint64_t off, size_t len,
		     unsigned char *buf)
{
	ssize_t n = store_stage_read(sg, buf, len, off);
	size_t want = off >= model_size ? 0
		      : (len < model_size - off ? len
						: (size_t)(model_size - off));

	if (n < 0 || (size_t)n != want)
		return -1;
	return memcmp(buf, model + off, want) ? -1 : 0;
}

/* Random operations on sg, checked against the model: failures seen. */
static int run_model(struct store_stage *sg, int ops)
{
	unsigned char *buf = malloc(1300000);
	int bad = 0, i;

	for (i = 0; i < ops && buf; i++) {
		unsigned what = rnd(10);
		uint64_t off = rnd(MODEL_MAX - 1300000);
		size_t len = rnd_len(), j;

		if (what < 5) {
			/* a sequential run, or anywhere */
			if (what < 3)
				off = model_size;
			if (off + len > MODEL_MAX)
				len = (size_t)(MODEL_MAX - off);
			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)rnd(256);
			if (store_stage_write(sg, buf, len, off)) {
				bad++;
				continue;
			}
			if (off > model_size)
				memset(model + model_size, 0,
				       off - model_size);
			memcpy(model + off, buf, len);
			if (off + len > model_size)
				model_size = off + len;
		} else if (what < 6) {
			uint64_t size = rnd(MODEL_MAX);

			if (store_stage_truncate(sg, size)) {
				bad++;
				continue;
			}
			if (size > model_size)
				memset(model + model_size, 0,
				       size - model_size);
			model_size = size;
		} else {
			if (rnd(2) && model_size)
				off = rnd((unsigned)model_size);
			if (cmp_range(sg, off, len, buf))
				bad++;
		}
		if (store_stage_size(sg) != model_size)
			bad++;
	}
	free(buf);
	return bad;
}

/* The value of key, read whole, equal to the model? */
static int value_is_model(struct store *st, const char *key)
{
	struct store_value *v;
	struct kv_attr a;
	unsigned char *buf;
	ssize_t n;
	int rc;

	if (store_value_open(st, "default", key, strlen(key), &v, &a))
		return -1;
	buf = malloc(model_size + 1);
	n = buf ? store_value_read(st, v, buf, model_size + 1, 0) : -1;
	rc = n == (ssize_t)model_size && a.size == model_size &&
	     !memcmp(buf, model, model_size) ? 0 : -1;
	free(buf);
	store_value_close(st, v);
	return rc;
}

static int publish(struct store *st, const char *key, struct store_stage *sg,
		   struct store_value **val)
{
	struct kv_attr a;
	struct timespec now;
	int rc;

	rc = store_stat(st, "default", key, strlen(key), &a);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	return store_value_put_stage(st, "default", key, strlen(key), a.ino,
				     sg, &now, 0, &a, val);
}

/* Entries of the tables data and gc, and those of data under gen. */
static int count_tables(const char *dir, uint64_t gen, size_t *ndata,
			size_t *ngc, size_t *ngen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi data, gc;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	*ndata = *ngc = *ngen = 0;
	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 16);
	rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		mdb_env_close(env);
		return -1;
	}
	rc = mdb_dbi_open(txn, "data", 0, &data);
	if (!rc)
		rc = mdb_dbi_open(txn, "gc", 0, &gc);
	if (!rc && !(rc = mdb_cursor_open(txn, data, &c))) {
		while (!mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			const unsigned char *p = k.mv_data;
			uint64_t g = 0;
			int i;

			for (i = 0; i < 8 && k.mv_size == 12; i++)
				g = g << 8 | p[i];
			(*ndata)++;
			if (g == gen)
				(*ngen)++;
		}
		mdb_cursor_close(c);
	}
	if (!rc && !(rc = mdb_cursor_open(txn, gc, &c))) {
		while (!mdb_cursor_get(c, &k, &v, MDB_NEXT))
			(*ngc)++;
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc ? -1 : 0;
}

int main(void)
{
	char dir[] = "/tmp/unit_stage.XXXXXX";
	struct store_limits lim = { .max_key_size = 4096,
				    .max_namespaces = 100 };
	struct store_stage *sg;
	struct store_value *val = NULL;
	struct store *st;
	struct kv_attr a, big;
	struct timespec now;
	size_t ndata, ngc, ngen;
	unsigned char *buf;
	char cmd[64];
	int round;

	model = calloc(1, MODEL_MAX);
	buf = malloc(MODEL_MAX);
	if (!model || !buf || !mkdtemp(dir))
		return 1;
	is_int(store_open(dir, &lim, "default", 0, 0, &st), 0, "store opens");
	memset(&a, 0, sizeof(a));
	a.type = KV_FILE;
	a.mode = 0644;
	is_int(store_create(st, "default", "big", 3, &a, &big), 0,
	       "key big created");
	is_int(store_create(st, "default", "small", 5, &a, &a), 0,
	       "key small created");

	/* random writes, truncations and reads, then the switch */
	for (round = 0; round < 3; round++) {
		is_int(store_stage_open(st, &sg), 0, "round %d: stage opens",
		       round);
		model_size = 0;
		is_int(run_model(sg, 300), 0,
		       "round %d: 300 random operations match the model",
		       round);
		if (model_size <= 4096) {
			/* the switch needs a large value here */
			memset(buf, 'x', 300000);
			store_stage_write(sg, buf, 300000, model_size);
			memset(model + model_size, 'x', 300000);
			model_size += 300000;
		}
		is_int(publish(st, "big", sg, &val), 0,
		       "round %d: the stage (%llu bytes) becomes big's value",
		       round, (unsigned long long)model_size);
		is_int(store_stage_write(sg, "x", 1, 0), -EINVAL,
		       "round %d: a published stage takes no write", round);
		store_stage_close(sg);
		is_int(value_is_model(st, "big"), 0,
		       "round %d: big reads back as the model", round);
		ok(val && store_value_size(val) == model_size &&
		   store_value_read(st, val, buf, model_size, 0) ==
		   (ssize_t)model_size && !memcmp(buf, model, model_size),
		   "round %d: the value given back is the same", round);
		if (val)
			store_value_close(st, val);
		val = NULL;
	}

	/* a small final size goes into the record */
	is_int(store_stage_open(st, &sg), 0, "a stage for a small value");
	memset(buf, 'y', 700000);
	store_stage_write(sg, buf, 700000, 0);
	is_int(store_stage_truncate(sg, 3000), 0, "cut to 3000 bytes");
	store_stage_write(sg, "z", 1, 2999);
	memset(model, 'y', 3000);
	model[2999] = 'z';
	model_size = 3000;
	is_int(publish(st, "small", sg, NULL), 0, "published inline");
	store_stage_close(sg);
	is_int(value_is_model(st, "small"), 0, "small reads back");

	/* readers of the old value keep it while a stage is written */
	is_int(store_value_open(st, "default", "big", 3, &val, &a), 0,
	       "a reader opens big");
	is_int(store_stage_open(st, &sg), 0, "a stage to drop");
	model_size = 0;
	is_int(run_model(sg, 200), 0, "200 random operations match the model");
	memset(buf, 'w', 5u << 20);
	is_int(store_stage_write(sg, buf, 5u << 20, 0), 0, "5 MiB written");
	ok(store_value_size(val) == a.size &&
	   store_value_read(st, val, buf, 10, 0) == 10,
	   "the reader still reads the old value");
	store_value_close(st, val);
	store_stage_close(sg);

	/* a switch that fails leaves the stage and the key as they were */
	is_int(store_stage_open(st, &sg), 0, "a stage for a stale key");
	memset(buf, 'v', 1u << 20);
	store_stage_write(sg, buf, 1u << 20, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	is_int(store_value_put_stage(st, "default", "big", 3, big.ino + 999,
				     sg, &now, 0, &a, NULL), -ESTALE,
	       "a switch to a replaced key: -ESTALE");
	ok(store_stage_read(sg, buf, 10, (1u << 20) - 10) == 10 &&
	   buf[0] == 'v', "the stage still reads");
	store_stage_close(sg);

	is_int(store_stat(st, "default", "big", 3, &big), 0, "big's attributes");
	store_close(st);
	is_int(count_tables(dir, big.gen, &ndata, &ngc, &ngen), 0,
	       "the tables are read");
	is_int(ngc, 0, "nothing is left queued in gc");
	is_int(ndata, ngen, "every chunk left is big's (%zu)", ndata);
	ok(ngen > 0, "big has its chunks");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	free(model);
	free(buf);
	return tap_done();
}
