/*
 * ops_xattr.c - extended attributes: a key's metadata and expiration
 * (SPEC section 4).
 *
 * Keys have user.kv.metadata (JSON, byte for byte as set) and
 * user.kv.expiration (Unix seconds); user.kv.expiration_ttl is a view of
 * the same expiration in seconds from now.  listxattr names the first two
 * only, so that cp -a and rsync -X copy an expiration once and exactly.
 * Every other name is one kvfs has no room for: setting it is ENOTSUP,
 * reading or removing it ENODATA, answered without touching the store.
 * Directories, namespaces and the root have no attributes, but for the
 * root's user.kv.status, which is read only, listed nowhere, and tells
 * where the mount stands (status.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

#include "common/xattr.h"
#include "fs/notify.h"
#include "fs/ops.h"
#include "fs/path.h"
#include "fs/status.h"
#include "fs/tell.h"

struct xattr_arg {
	uint64_t ino;		/* the key the node stands for */
	enum kvx_name which;
	const char *value;	/* a new value, or NULL to remove */
	size_t size;		/* its bytes, or the caller's buffer size */
	unsigned flags;
	int64_t expiration;
	char *buf;		/* what a get returns */
	size_t len;
	struct kv_attr attr;
};

static unsigned store_flags(int flags)
{
	return (flags & XATTR_CREATE ? KV_XATTR_CREATE : 0) |
	       (flags & XATTR_REPLACE ? KV_XATTR_REPLACE : 0);
}

/*
 * Run fn on node n's key as the key n stands for: a key replaced since
 * (a rename over it) answers ENOENT, as a deleted one does.
 */
static int on_key(struct kvfs *fs, struct node *n, path_fn fn,
		  struct xattr_arg *xa)
{
	int rc;

	xa->ino = n->ino;
	rc = with_path(fs, n, fn, xa);
	return rc == -ESTALE ? -ENOENT : rc;
}

static int set_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct xattr_arg *xa = arg;

	if (p->level != LEVEL_KEY)
		return -ENOTSUP;
	if (xa->which == KVX_NAME_METADATA)
		return store_meta_set(fs->st, p->ns, p->key, p->len, xa->ino,
				      xa->value,
				      xa->size, xa->flags);
	return store_expire_set(fs->st, p->ns, p->key, p->len, xa->ino,
				xa->expiration,
				xa->flags, &xa->attr);
}

/*
 * The kernel may hold the key's dentry and attributes with a timeout set
 * before it expired: drop them so that the next lookup caps it.  The
 * dentry is dropped by the teller, as this request's file is locked until
 * the reply (tell.h); meanwhile, with the attributes dropped here, the
 * kernel asks the daemon, which knows the new expiration.  The value has
 * not changed, so the node is not superseded (nodes_detach) and stays
 * what lookups of the name find; only its dentry goes.  (Superseding it
 * here once left keys of kvctl put --expiration-ttl at size 0 for good:
 * tests/31-size-race.)
 */
static void expiry_changed(struct kvfs *fs, struct node *n)
{
	struct inval inv = { 0 };

	nodes_name(fs->nodes, n, &inv.parent, &inv.name, &inv.len);
	inval_inode(fs, nodes_id(n));
	tell_later(fs, &inv);
	worker_kick(fs->sweeper);	/* for the new expiration */
}

static void kvfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  const char *value, size_t size, int flags)
{
	struct kvfs *fs = req_fs(req);
	struct node *n = nodes_get(fs->nodes, ino);
	struct xattr_arg xa = { .which = kvx_classify(name), .value = value,
				.size = size, .flags = store_flags(flags) };
	int rc;

	switch (xa.which) {
	case KVX_NAME_METADATA:
		rc = kvx_check_metadata(value, size,
					fs->opts.max_metadata_size);
		break;
	case KVX_NAME_EXPIRATION:
	case KVX_NAME_TTL:
		rc = kvx_expiration(xa.which, value, size, time(NULL),
				    fs->opts.min_expiration_ttl,
				    &xa.expiration);
		break;
	default:
		rc = -ENOTSUP;
		break;
	}
	if (rc == 0)
		rc = on_key(fs, n, set_fn, &xa);
	if (rc == -EISDIR)
		rc = -ENOTSUP;
	if (rc == 0 && xa.which != KVX_NAME_METADATA)
		expiry_changed(fs, n);
	fuse_reply_err(req, -rc);
}

/* Answer a get or list: the bytes, their size (size 0), or an error. */
static void reply_value(fuse_req_t req, int rc, size_t size, const char *buf,
			size_t len)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}

static int get_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct xattr_arg *xa = arg;
	struct kv_attr a;
	int rc;

	if (p->level != LEVEL_KEY)
		return -ENODATA;
	if (xa->which == KVX_NAME_METADATA) {
		rc = store_meta_get(fs->st, p->ns, p->key, p->len, xa->ino,
				    xa->buf,
				    xa->size);
		if (rc >= 0)
			xa->len = (size_t)rc;
		return rc < 0 ? rc : 0;
	}
	rc = store_stat(fs->st, p->ns, p->key, p->len, &a);
	if (rc)
		return rc;
	if (a.type == KV_FILE && a.ino != xa->ino)
		return -ESTALE;
	if (a.type != KV_FILE || a.expiration == 0)
		return -ENODATA;
	xa->len = kvx_format(xa->which, a.expiration, time(NULL), xa->buf);
	return 0;
}

static void kvfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  size_t size)
{
	struct kvfs *fs = req_fs(req);
	struct xattr_arg xa = { .which = kvx_classify(name), .size = size };
	char num[24], *status;
	int rc;

	if (ino == FUSE_ROOT_ID && !strcmp(name, KVX_STATUS)) {
		status = status_json(fs);
		if (!status)
			return (void)fuse_reply_err(req, ENOMEM);
		reply_value(req, 0, size, status, strlen(status));
		return free(status);
	}
	if (xa.which == KVX_NONE)
		return (void)fuse_reply_err(req, ENODATA);
	xa.buf = xa.which == KVX_NAME_METADATA ? size ? malloc(size) : NULL
					       : num;
	if (xa.which == KVX_NAME_METADATA && size && !xa.buf)
		return (void)fuse_reply_err(req, ENOMEM);
	rc = on_key(fs, nodes_get(fs->nodes, ino), get_fn, &xa);
	reply_value(req, rc, size, xa.buf, xa.len);
	if (xa.buf != num)
		free(xa.buf);
}

static int list_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct xattr_arg *xa = arg;
	struct kv_attr a;
	int rc;

	xa->len = 0;
	if (p->level != LEVEL_KEY)
		return 0;
	rc = store_stat(fs->st, p->ns, p->key, p->len, &a);
	if (rc || a.type != KV_FILE)
		return rc;
	if (a.ino != xa->ino)
		return -ESTALE;
	rc = store_meta_get(fs->st, p->ns, p->key, p->len, xa->ino, NULL, 0);
	if (rc < 0 && rc != -ENODATA)
		return rc;
	if (rc >= 0) {
		memcpy(xa->buf, KVX_METADATA, sizeof(KVX_METADATA));
		xa->len = sizeof(KVX_METADATA);
	}
	if (a.expiration) {
		memcpy(xa->buf + xa->len, KVX_EXPIRATION,
		       sizeof(KVX_EXPIRATION));
		xa->len += sizeof(KVX_EXPIRATION);
	}
	return 0;
}

static void kvfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct kvfs *fs = req_fs(req);
	char names[sizeof(KVX_METADATA) + sizeof(KVX_EXPIRATION)];
	struct xattr_arg xa = { .buf = names };
	int rc;

	rc = on_key(fs, nodes_get(fs->nodes, ino), list_fn, &xa);
	reply_value(req, rc, size, names, xa.len);
}

static void kvfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct kvfs *fs = req_fs(req);
	struct node *n = nodes_get(fs->nodes, ino);
	struct xattr_arg xa = { .which = kvx_classify(name) };
	int rc;

	if (xa.which == KVX_NONE)
		return (void)fuse_reply_err(req, ENODATA);
	rc = on_key(fs, n, set_fn, &xa);
	if (rc == -ENOTSUP || rc == -EISDIR)
		rc = -ENODATA;
	fuse_reply_err(req, -rc);
}

void ops_xattr_init(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = kvfs_setxattr;
	ops->getxattr = kvfs_getxattr;
	ops->listxattr = kvfs_listxattr;
	ops->removexattr = kvfs_removexattr;
}
