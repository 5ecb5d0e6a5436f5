/*
 * unit_replica.c - the capture of a store's changes and their applying to
 * another (store/capture.c, store/apply.c): random operations on store A,
 * whose capture applies every transaction's changes to store B, must
 * leave B as A is (root, namespaces, every key's attributes, value and
 * metadata, the bytes counted), after every step, after both are opened
 * again, and with the same chunks in each; a capture that refuses makes
 * the write fail with its error and changes neither store.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>
#include <pthread.h>

#include "store/store.h"
#include "storeops.h"
#include "tap.h"

static struct store *A, *B;
static int refuse;		/* the capture's answer, when not 0 */
static unsigned long changes[STORE_CHANGE_DROP + 1], batches;

static int capture(void *ctx, const struct store_change *ch, size_t n)
{
	size_t i;

	(void)ctx;
	if (refuse)
		return refuse;
	for (i = 0; i < n; i++)
		changes[ch[i].kind]++;
	batches++;
	return store_apply(B, ch, n, NULL, NULL, 0);
}

static void *stepper(void *arg)
{
	int i;

	ops_seed = (unsigned)(uintptr_t)arg;
	for (i = 0; i < 300; i++)
		ops_step(A);
	return NULL;
}

/* Chunks in a closed store's data table. */
static long count_chunks(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi data;
	MDB_stat ms;
	long n = -1;

	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (!mdb_env_open(env, dir, MDB_RDONLY, 0600) &&
	    !mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
		if (!mdb_dbi_open(txn, "data", 0, &data) &&
		    !mdb_stat(txn, data, &ms))
			n = (long)ms.ms_entries;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

int main(void)
{
	char da[] = "/tmp/unit_replica_a.XXXXXX";
	char db[] = "/tmp/unit_replica_b.XXXXXX";
	struct store_limits lim = { .max_key_size = 4096,
				    .max_namespaces = 100 };
	struct kv_attr a, before, after;
	struct timespec now;
	int i, diverged = -1, rc;
	char cmd[128];
	size_t j;

	ops_big = malloc(OPS_BIG_MAX + 1000);
	if (!ops_big || !mkdtemp(da) || !mkdtemp(db))
		return 1;
	for (j = 0; j < OPS_BIG_MAX + 1000; j++)
		ops_big[j] = (char)ops_rnd(256);
	is_int(store_open(da, &lim, NULL, 0, 0, &A), 0, "store A opens");
	is_int(store_open(db, &lim, NULL, 0, 0, &B), 0, "store B opens");
	store_set_capture(A, capture, NULL, NULL, NULL);

	/* the same first steps, then random ones, compared as they go */
	memset(&a, 0, sizeof(a));
	a.mode = 0755;
	is_int(store_ns_create(A, "alpha1", &a), 0, "a namespace on A");
	ok(ops_same(A, B), "B has it, with A's root");
	for (i = 0; i < 2000; i++) {
		ops_step(A);
		if (diverged < 0 && !ops_same(A, B))
			diverged = i;
	}
	is_int(diverged, -1, "B stayed A's copy through 2,000 random steps");
	{
		unsigned long before_batches = batches;
		pthread_t t[4];
		uintptr_t k;

		for (k = 0; k < 4; k++)
			pthread_create(&t[k], NULL, stepper, (void *)(k + 7));
		for (k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
		ok(ops_same(A, B), "and through 4 threads of 300 at once (%lu "
		   "transactions)", batches - before_batches);
	}
	ok(changes[STORE_CHANGE_KEY] > 300 && changes[STORE_CHANGE_NS] > 50 &&
	   changes[STORE_CHANGE_CHUNK] > 50 && changes[STORE_CHANGE_ROOT] > 20,
	   "keys, namespaces, chunks and the root were captured (%lu, %lu, "
	   "%lu, %lu in %lu transactions)", changes[STORE_CHANGE_KEY],
	   changes[STORE_CHANGE_NS], changes[STORE_CHANGE_CHUNK],
	   changes[STORE_CHANGE_ROOT], batches);
	ok(changes[STORE_CHANGE_DROP] > 10, "and the chunks dropped (%lu)",
	   changes[STORE_CHANGE_DROP]);

	/* a stage written past its cache, then cut short */
	memset(&a, 0, sizeof(a));
	a.type = KV_FILE;
	a.mode = 0644;
	store_ns_create(A, "gamma3", &a);
	store_unlink(A, "gamma3", "cut", 3);
	is_int(store_create(A, "gamma3", "cut", 3, &a, &before), 0,
	       "key cut made");
	{
		struct store_stage *sg;
		unsigned long trims = changes[STORE_CHANGE_TRIM];

		clock_gettime(CLOCK_REALTIME, &now);
		ok(store_stage_open(A, &sg) == 0 &&
		   store_stage_write(sg, ops_big, OPS_BIG_MAX, 0) == 0 &&
		   store_stage_truncate(sg, 100000) == 0 &&
		   store_value_put_stage(A, "gamma3", "cut", 3, before.ino, sg,
					 &now, 0, &after, NULL) == 0,
		   "a stage of 6 MiB cut to 100,000 bytes is put");
		store_stage_close(sg);
		ok(changes[STORE_CHANGE_TRIM] > trims, "its cut was captured");
		ok(ops_same(A, B), "B has the value as A");
	}

	/* a capture that refuses: the write fails, neither store changes */
	a.type = KV_FILE;
	a.mode = 0644;
	store_create(A, "alpha1", "kept", 4, &a, &before);
	if (store_stat(A, "alpha1", "kept", 4, &before) == 0) {
		struct ops_mem m = { ops_big };
		struct store_src src = { ops_mem_read, &m, 300000 };

		refuse = -EIO;
		clock_gettime(CLOCK_REALTIME, &now);
		rc = store_value_put(A, "alpha1", "kept", 4, before.ino, &src,
				     &now, 0, &after);
		is_int(rc, -EIO, "a refused put fails with the capture's EIO");
		is_int(store_unlink(A, "alpha1", "kept", 4), -EIO,
		       "so does a refused unlink");
		refuse = 0;
		ok(store_stat(A, "alpha1", "kept", 4, &after) == 0 &&
		   after.gen == before.gen && after.size == before.size,
		   "and A kept the key as it was");
		ok(ops_same(A, B), "B too");
	} else {
		ok(0, "key kept made");
	}

	/* each store's own expiry index deletes the same keys, also one
	 * renamed after its expiration was set */
	a.type = KV_FILE;
	a.mode = 0644;
	store_unlink(A, "gamma3", "exp1", 4);
	store_unlink(A, "gamma3", "exp2", 4);
	ok(store_create(A, "gamma3", "exp1", 4, &a, &after) == 0 &&
	   store_expire_set(A, "gamma3", "exp1", 4, 0, 4000000001ll, 0,
			    &after) == 0 &&
	   store_rename(A, "gamma3", "exp1", 4, "gamma3", "exp2", 4, 0,
			NULL) == 0, "a key that expires is renamed");
	store_set_capture(A, NULL, NULL, NULL, NULL);
	ok(store_sweep(A, 4000000000ll + 500, 1000, NULL, NULL) > 0,
	   "A's sweep deletes keys that expired");
	store_sweep(B, 4000000000ll + 500, 1000, NULL, NULL);
	ok(ops_same(A, B), "so does B's, the same");
	is_int(store_stat(B, "gamma3", "exp2", 4, &after), -ENOENT,
	       "the renamed one too");

	/* both opened again: the same, and the same chunks once collected */
	store_close(A);
	store_close(B);
	is_int(store_open(da, &lim, NULL, 0, 0, &A), 0, "A opens again");
	is_int(store_open(db, &lim, NULL, 0, 0, &B), 0, "B opens again");
	ok(ops_same(A, B), "B is still A's copy");
	store_close(A);
	store_close(B);
	ok(count_chunks(da) == count_chunks(db) && count_chunks(da) >= 0,
	   "the same number of chunks in each (%ld, %ld)", count_chunks(da),
	   count_chunks(db));
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", da, db);
	if (system(cmd))
		return 1;
	free(ops_big);
	return tap_done();
}
