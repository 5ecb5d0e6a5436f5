/*
 * value.h - a key's value opened for a handle, fetched first when the
 * replica keeps only its record (-o value_cache, value.c).
 */
#ifndef KVFS_FS_VALUE_H
#define KVFS_FS_VALUE_H

#include "fs/path.h"
#include "store/store.h"

struct kvfs;

/*
 * store_value_open of p, which must be a key; a value the replica lacks
 * (evicted, or never fetched) is fetched from the shared store first,
 * and becomes its most recently used.  -EIO if it cannot be fetched (the
 * server down), -ESTALE if another host replaced it meanwhile (the
 * replica has caught up: the kernel looks the name up again).
 */
int value_open(struct kvfs *fs, const struct kpath *p,
	       struct store_value **out, struct kv_attr *attr);

#endif
