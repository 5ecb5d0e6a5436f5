/*
 * storeops.h - for the replica tests (tests/storeops.c): random
 * operations on a store and dumps of stores to compare.
 */
#ifndef KVFS_STOREOPS_H
#define KVFS_STOREOPS_H

#include <sys/types.h>

#include "store/store.h"

/* The largest value the operations write. */
#define OPS_BIG_MAX	(6u << 20)

/* Random bytes the values are cut from: OPS_BIG_MAX + 1000 of them. */
extern char *ops_big;

/* Each thread's random state, and a number below n from it. */
extern __thread unsigned ops_seed;
unsigned ops_rnd(unsigned n);

/* One random operation on st: namespaces alpha1, beta22, gamma3. */
void ops_step(struct store *st);

/* The store as text: root, namespaces, every key with its value's hash. */
char *ops_dump(struct store *st);

/* Are the dumps the same?  If not, prints where they part. */
int ops_same(struct store *a, struct store *b);

/* A store_src over memory. */
struct ops_mem {
	const char *buf;
};
ssize_t ops_mem_read(void *ctx, void *buf, size_t len, off_t off);

#endif
