/*
 * path.h - store calls on where a node is now, and the checked paths of
 * names in a directory (path.c).
 */
#ifndef KVFS_PATH_H
#define KVFS_PATH_H

#include <stddef.h>

#include "fs/nodes.h"
#include "store/store.h"

struct kvfs;

/*
 * Run fn on where n is now; if it fails with -ENOENT or -ESTALE because a
 * rename moved n meanwhile, run it again on the new path.
 */
typedef int (*path_fn)(struct kvfs *fs, const struct kpath *p, void *arg);
int with_path(struct kvfs *fs, struct node *n, path_fn fn, void *arg);

/* The attributes of a node from the store: 0 or -errno. */
int node_stat(struct kvfs *fs, struct node *n, struct kv_attr *a);

/* The longest name in directory dir, as statfs reports it. */
size_t name_max(const struct kvfs *fs, const struct node *dir);

/* The path of name in dir for any operation: 0 or -errno
 * (-ENAMETOOLONG past name_max() or max_key_size). */
int child_path(struct kvfs *fs, struct node *dir, const char *name,
	       size_t len, struct kpath *p);

/* Check a new name in parent and build its path: 0 or -errno. */
int new_child_path(struct kvfs *fs, struct node *parent, const char *name,
		   struct kpath *p);

/* The same for a new key made by create: a temporary key's name is
 * taken too, directly in a namespace (common/names.h). */
int new_file_path(struct kvfs *fs, struct node *parent, const char *name,
		  struct kpath *p);

#endif
