/*
 * path.c - store calls on where a node is now (with_path), and the
 * checked paths of names in a directory.
 *
 * A node's path is read from the node table at the moment of the call; a
 * rename that moves the node meanwhile makes the call fail with -ENOENT or
 * -ESTALE, and with_path runs it again on the new path.  The length of a
 * name is checked on every operation, lookups included (ENAMETOOLONG, as
 * on ext4); the other rules of names (common/names.c) only where
 * something is made under one.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/names.h"
#include "fs/fs.h"
#include "fs/path.h"

int with_path(struct kvfs *fs, struct node *n, path_fn fn, void *arg)
{
	struct kpath p;
	uint64_t version;
	int rc = -ENOENT, tries;

	for (tries = 0; tries < 16; tries++) {
		rc = nodes_path(fs->nodes, n, &p, &version);
		if (rc)
			return rc;
		rc = fn(fs, &p, arg);
		if ((rc != -ENOENT && rc != -ESTALE) ||
		    !nodes_moved(fs->nodes, version))
			break;
	}
	return rc;
}

static int stat_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct kv_attr *a = arg;

	switch (p->level) {
	case LEVEL_ROOT:
		store_root_attr(fs->st, a);
		return 0;
	case LEVEL_NS:
		return store_ns_stat(fs->st, p->ns, a);
	default:
		return store_stat(fs->st, p->ns, p->key, p->len, a);
	}
}

int node_stat(struct kvfs *fs, struct node *n, struct kv_attr *a)
{
	return with_path(fs, n, stat_fn, a);
}

/*
 * The longest name in directory dir (or in the directory of a key dir): a
 * namespace's at the root; below, a key's, within KVFS_NAME_MAX.  statfs
 * reports it, and every operation on a longer name fails.
 */
size_t name_max(const struct kvfs *fs, const struct node *dir)
{
	if (node_level(dir) == LEVEL_ROOT)
		return KVFS_NS_NAME_MAX;
	return fs->opts.max_key_size < KVFS_NAME_MAX ? fs->opts.max_key_size
						     : KVFS_NAME_MAX;
}

/*
 * The path of name in dir for any operation: -ENAMETOOLONG when the name
 * is longer than name_max() or its key than max_key_size (a temporary
 * key's name has a bound of its own, common/names.h).
 */
int child_path(struct kvfs *fs, struct node *dir, const char *name,
	       size_t len, struct kpath *p)
{
	int rc;

	if (node_level(dir) == LEVEL_NS && kvfs_is_temp_name(name, len))
		return nodes_child_path(fs->nodes, dir, name, len, p);
	/* SPEC 2: a namespace name of another length is EINVAL where one
	 * is made (new_child_path), and no namespace has it */
	if (node_level(dir) == LEVEL_ROOT && len > KVFS_NS_NAME_MAX)
		return -ENOENT;
	if (len > name_max(fs, dir))
		return -ENAMETOOLONG;
	rc = nodes_child_path(fs->nodes, dir, name, len, p);
	if (rc == 0 && p->level == LEVEL_KEY && p->len > fs->opts.max_key_size)
		rc = -ENAMETOOLONG;
	return rc;
}

int new_child_path(struct kvfs *fs, struct node *parent, const char *name,
		   struct kpath *p)
{
	size_t len = strlen(name);
	int rc;

	if (node_level(parent) == LEVEL_ROOT) {
		rc = kvfs_check_ns_name(name, len);
		return rc ? rc : child_path(fs, parent, name, len, p);
	}
	rc = child_path(fs, parent, name, len, p);
	if (rc == 0)
		rc = kvfs_check_segment(name, len);
	return rc;
}

int new_file_path(struct kvfs *fs, struct node *parent, const char *name,
		  struct kpath *p)
{
	size_t len = strlen(name);

	if (node_level(parent) != LEVEL_NS || !kvfs_is_temp_name(name, len))
		return new_child_path(fs, parent, name, p);
	/* no key: a put works under any max_key_size */
	return nodes_child_path(fs->nodes, parent, name, len, p);
}
