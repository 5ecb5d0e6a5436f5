/*
 * attr.h - store attributes as the kernel gets them: in stat(2) form, with
 * how long it may cache them, and a node's generation (attr.c).
 */
#ifndef KVFS_ATTR_H
#define KVFS_ATTR_H

#include <stdint.h>
#include <sys/stat.h>

#include "store/store.h"

struct kvfs;

/* stat(2) form of store attributes. */
void kv_to_stat(const struct kv_attr *a, struct stat *st);

/*
 * How long the kernel may cache an entry or attributes (base seconds):
 * never past the key's expiration.
 */
double cache_timeout(double base, const struct kv_attr *a);

/* How long the kernel may cache attributes a: fs->dir_attr_timeout for
 * a directory, else fs->attr_timeout, never past the expiration. */
double attr_timeout(const struct kvfs *fs, const struct kv_attr *a);

/* The value generation a node of attributes a is bound to: a file's,
 * 0 for the rest. */
uint64_t node_gen(const struct kv_attr *a);

#endif
