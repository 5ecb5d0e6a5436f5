/*
 * ops_link.c - FUSE operations on symbolic links: symlink, readlink.
 *
 * A symbolic link is a key whose value is its target, with its type kept
 * in its record (store/store.h): made whole in one transaction, it is listed,
 * renamed, unlinked, chowned and survives a crash like any key.  The
 * kernel follows it by asking readlink, and refuses user.* attributes on
 * it by itself (EPERM to set, ENODATA to read), as on ext4.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fs/ops.h"
#include "fs/path.h"
#include "fs/reply.h"

struct readlink_arg {
	char *buf;
	size_t size;
	ssize_t len;
};

static int readlink_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct readlink_arg *ra = arg;

	if (p->level != LEVEL_KEY)
		return -EINVAL;
	ra->len = store_readlink(fs->st, p->ns, p->key, p->len, ra->buf,
				 ra->size);
	return ra->len < 0 ? (int)ra->len : 0;
}

static void kvfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct kvfs *fs = req_fs(req);
	char buf[PATH_MAX];
	struct readlink_arg ra = { .buf = buf, .size = sizeof(buf) - 1 };
	int rc;

	rc = with_path(fs, nodes_get(fs->nodes, ino), readlink_fn, &ra);
	if (!rc && (size_t)ra.len > ra.size)
		rc = -EIO;	/* no target is made that long */
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	buf[ra.len] = '\0';
	fuse_reply_readlink(req, buf);
}

/*
 * A target is a path: at most PATH_MAX - 1 bytes, as the kernel passes
 * (and ext4 keeps), and, as a value, at most max_value_size; longer is
 * ENAMETOOLONG.  Its mode is 0777 whatever the umask, as on ext4.
 */
static void kvfs_symlink(fuse_req_t req, const char *target,
			 fuse_ino_t parent, const char *name)
{
	struct kvfs *fs = req_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct node *dir = nodes_get(fs->nodes, parent);
	size_t tlen = strlen(target);
	struct kv_attr a, out;
	struct kpath p;
	int rc;

	if (node_level(dir) == LEVEL_ROOT)
		return (void)fuse_reply_err(req, EPERM);
	memset(&a, 0, sizeof(a));
	a.type = KV_LINK;
	a.mode = 0777;
	a.uid = ctx->uid;
	a.gid = ctx->gid;
	nodes_hold_paths(fs->nodes);
	store_urgent(true);
	rc = new_child_path(fs, dir, name, &p);
	if (!rc && (tlen > PATH_MAX - 1 || tlen > fs->opts.max_value_size))
		rc = -ENAMETOOLONG;
	if (!rc)
		rc = store_symlink(fs->st, p.ns, p.key, p.len, &a, target,
				   tlen, &out);
	store_urgent(false);
	nodes_release_paths(fs->nodes);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	reply_entry(req, dir, name, strlen(name), &out);
}

void ops_link_init(struct fuse_lowlevel_ops *ops)
{
	ops->readlink = kvfs_readlink;
	ops->symlink = kvfs_symlink;
}
