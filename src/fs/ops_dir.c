/*
 * ops_dir.c - FUSE operations on directories: opendir, readdir,
 * releasedir, fsyncdir.
 *
 * A listing is read from the store a buffer at a time, never held whole:
 * the handle remembers where the last entry it returned lies in key order,
 * so the next readdir resumes there with one seek.  Offsets are entry
 * ordinals; a seek elsewhere (seekdir, rewinddir) lists again from the
 * start.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/attr.h"
#include "fs/ops.h"
#include "fs/path.h"

#define DOT_ENTRIES	2	/* "." and ".." */

struct dirh {
	off_t last_off;		/* offset of the entry at pos */
	size_t poslen;
	char pos[KVFS_KEY_SIZE_CEIL + 2];
};

struct fill {
	fuse_req_t req;
	struct dirh *d;
	char *buf;
	size_t size, used;
	off_t off;		/* offset of the last entry seen */
	off_t skip_to;		/* entries up to this offset are skipped */
};

static int fill_entry(void *ctx, const char *name, size_t len,
		      const struct kv_attr *attr, const char *pos,
		      size_t poslen)
{
	struct fill *f = ctx;
	char cname[KVFS_KEY_SIZE_CEIL + 1];
	struct stat st;
	size_t n;

	if (f->off + 1 <= f->skip_to) {
		f->off++;
		return 0;
	}
	if (len >= sizeof(cname) || poslen > sizeof(f->d->pos))
		return -ENAMETOOLONG;
	memcpy(cname, name, len);
	cname[len] = '\0';
	kv_to_stat(attr, &st);	/* its inode number and type */
	n = fuse_add_direntry(f->req, f->buf + f->used, f->size - f->used,
			      cname, &st, f->off + 1);
	if (n > f->size - f->used)
		return 1;
	f->used += n;
	f->off++;
	memcpy(f->d->pos, pos, poslen);
	f->d->poslen = poslen;
	f->d->last_off = f->off;
	return 0;
}

static int list_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct fill *f = arg;
	struct dirh *d = f->d;
	char after[sizeof(d->pos)];
	size_t afterlen = 0;

	if (f->skip_to > DOT_ENTRIES && f->skip_to == d->last_off) {
		/* resume where the last call stopped (a copy: fill_entry
		 * moves d->pos on while the listing runs) */
		memcpy(after, d->pos, d->poslen);
		afterlen = d->poslen;
		f->off = d->last_off;
		f->skip_to = 0;
	}
	if (p->level == LEVEL_ROOT) {
		char name[64];

		if (afterlen >= sizeof(name))
			return -EINVAL;
		memcpy(name, after, afterlen);
		name[afterlen] = '\0';
		return store_ns_list(fs->st, name, fill_entry, f);
	}
	return store_list(fs->st, p->ns, p->key, p->len, after, afterlen,
			  fill_entry, f);
}

static void kvfs_opendir(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct dirh *d = calloc(1, sizeof(*d));
	enum node_use use = USE_DIRECT;

	if (!d)
		return (void)fuse_reply_err(req, ENOMEM);
	fi->fh = (uint64_t)(uintptr_t)d;
	nodes_open(fs->nodes, nodes_get(fs->nodes, ino), &use, 0);
	if (fuse_reply_open(req, fi)) {
		nodes_release(fs->nodes, nodes_get(fs->nodes, ino), use);
		free(d);
	}
}

static void kvfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct fill f = { .req = req, .size = size };
	static const char *const dots[DOT_ENTRIES] = { ".", ".." };
	struct stat st;
	int rc = 0;

	f.d = (struct dirh *)(uintptr_t)fi->fh;
	f.buf = malloc(size);
	if (!f.buf)
		return (void)fuse_reply_err(req, ENOMEM);
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	st.st_ino = nodes_get(fs->nodes, ino)->ino;	/* 0 would hide them */
	for (f.off = off; f.off < DOT_ENTRIES; f.off++) {
		size_t n = fuse_add_direntry(req, f.buf + f.used,
					     size - f.used, dots[f.off], &st,
					     f.off + 1);

		if (n > size - f.used)
			break;
		f.used += n;
	}
	if (f.off >= DOT_ENTRIES) {
		f.skip_to = off;
		f.off = DOT_ENTRIES;
		/*
		 * A rename moves a directory's key and nodes in one step
		 * (nodes_hold_paths): the listing is of the name before it
		 * or after it, never of a name it emptied.
		 */
		nodes_hold_paths(fs->nodes);
		rc = with_path(fs, nodes_get(fs->nodes, ino), list_fn, &f);
		nodes_release_paths(fs->nodes);
	}
	if (rc && f.used == 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, f.buf, f.used);
	free(f.buf);
}

static void kvfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);

	free((struct dirh *)(uintptr_t)fi->fh);
	nodes_release(fs->nodes, nodes_get(fs->nodes, ino), USE_DIRECT);
	fuse_reply_err(req, 0);
}

static void kvfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			  struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, -store_sync(req_fs(req)->st));
}

void ops_dir_init(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = kvfs_opendir;
	ops->readdir = kvfs_readdir;
	ops->releasedir = kvfs_releasedir;
	ops->fsyncdir = kvfs_fsyncdir;
}
