/*
 * ops_dir.c - FUSE operations on directories: opendir, readdir,
 * readdirplus, releasedir, fsyncdir.
 *
 * A listing is read from the store a buffer at a time, never held whole:
 * the handle remembers where the last entry it returned lies in key order,
 * so the next readdir resumes there with one seek.  Offsets are entry
 * ordinals; a seek elsewhere (seekdir, rewinddir) lists again from the
 * start.
 *
 * readdirplus gives each entry with its node and attributes, as a lookup
 * of the name would (kvfs_lookup): one request a page for ls -l, find or
 * du instead of a LOOKUP a name.  Each entry so given counts one lookup
 * of its node ("." and ".." none: the kernel skips them).  The node is
 * the name's of the same inode number and value generation, so that no
 * open reader's node is given the size of another value; and an entry
 * whose name a commit, unlink or expiry touched after the page's stamp
 * (nodes_stamp_all, taken before the store read) goes without node and
 * attributes (node id 0), so that the kernel looks it up when it needs it;
 * so do all entries while the node table is past node_cache.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hooks.h"
#include "common/names.h"
#include "fs/attr.h"
#include "fs/ops.h"
#include "fs/path.h"
#include "fs/reply.h"
#include "fs/syncer.h"
#include "fs/trim.h"

#define DOT_ENTRIES	2	/* "." and ".." */

struct dirh {
	struct dirh *prev, *next; /* in fs->dirs, to free at unmount */
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
	bool plus;		/* readdirplus: with nodes and attributes */
	struct node *dir;	/* ... of the children of dir */
	uint64_t stamp;		/* nodes_stamp_all() before the store read */
	struct node **given;	/* the nodes given (a lookup each) */
	size_t ngiven;
};

/*
 * The entry of name (len bytes; cname with a NUL) of attributes a in a
 * readdirplus page, in *e: with the node a lookup would give, counted one
 * lookup, or with none (node id 0) if the name is not one a lookup finds
 * or a change at it overtook the store read.
 */
static void plus_entry(struct fill *f, const char *cname, size_t len,
		       const struct kv_attr *a, struct fuse_entry_param *e)
{
	struct kvfs *fs = req_fs(f->req);
	struct node *n;
	struct kpath p;

	/* test builds: a commit at the name can overtake the store read */
	hook_hold("READDIRPLUS", cname);
	/* past node_cache the kernel looks up the names it needs, as the
	 * trim asks it to forget others (trim.h) */
	if (nodes_live(fs->nodes) >= fs->opts.node_cache ||
	    child_path(fs, f->dir, cname, len, &p) ||
	    (p.level == LEVEL_NS && kvfs_check_ns_name(cname, len)) ||
	    nodes_lookup_since(fs->nodes, f->dir, cname, len, a->ino,
			       node_gen(a), a->size, &f->stamp, false, 0,
			       &n)) {
		memset(e, 0, sizeof(*e));
		kv_to_stat(a, &e->attr);	/* its inode number and type */
		return;
	}
	f->given[f->ngiven++] = n;
	node_entry(fs, n, a, true, e);
}

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
	if (f->plus) {
		struct fuse_entry_param e;

		/* the room first: a node given is a lookup counted */
		n = fuse_add_direntry_plus(f->req, NULL, 0, cname, NULL, 0);
		if (n > f->size - f->used)
			return 1;
		plus_entry(f, cname, len, attr, &e);
		n = fuse_add_direntry_plus(f->req, f->buf + f->used,
					   f->size - f->used, cname, &e,
					   f->off + 1);
	} else {
		kv_to_stat(attr, &st);	/* its inode number and type */
		n = fuse_add_direntry(f->req, f->buf + f->used,
				      f->size - f->used, cname, &st,
				      f->off + 1);
		if (n > f->size - f->used)
			return 1;
	}
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
	/* before the store read: a change at a name after it is seen */
	f->stamp = nodes_stamp_all(fs->nodes);
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

/* fs->dirs: the open directories, which an aborted connection never
 * releases (ops_dir_free_all). */
static void dirs_link(struct kvfs *fs, struct dirh *d)
{
	pthread_mutex_lock(&fs->dirs_lock);
	d->prev = NULL;
	d->next = fs->dirs;
	if (fs->dirs)
		fs->dirs->prev = d;
	fs->dirs = d;
	pthread_mutex_unlock(&fs->dirs_lock);
}

static void dirs_unlink(struct kvfs *fs, struct dirh *d)
{
	pthread_mutex_lock(&fs->dirs_lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		fs->dirs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&fs->dirs_lock);
}

void ops_dir_free_all(struct kvfs *fs)
{
	struct dirh *d, *next;

	for (d = fs->dirs; d; d = next) {
		next = d->next;
		free(d);
	}
	fs->dirs = NULL;
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
	dirs_link(fs, d);
	if (fuse_reply_open(req, fi)) {
		nodes_release(fs->nodes, nodes_get(fs->nodes, ino), use);
		dirs_unlink(fs, d);
		free(d);
	}
}

/* A page of the listing of ino from offset off; plus: readdirplus. */
static void list_page(fuse_req_t req, fuse_ino_t ino, size_t size,
		      off_t off, struct fuse_file_info *fi, bool plus)
{
	struct kvfs *fs = req_fs(req);
	struct fill f = { .req = req, .size = size, .plus = plus };
	static const char *const dots[DOT_ENTRIES] = { ".", ".." };
	struct fuse_entry_param e;
	size_t i;
	int rc = 0;

	f.d = (struct dirh *)(uintptr_t)fi->fh;
	f.dir = nodes_get(fs->nodes, ino);
	f.buf = malloc(size);
	if (plus)
		/* no entry is smaller than one of an empty name */
		f.given = malloc((size / fuse_add_direntry_plus(req, NULL, 0,
				  "", NULL, 0) + 1) * sizeof(*f.given));
	if (!f.buf || (plus && !f.given)) {
		free(f.buf);
		return (void)fuse_reply_err(req, ENOMEM);
	}
	/* the dots give no node (a lookup the kernel would not count) */
	memset(&e, 0, sizeof(e));
	e.attr.st_mode = S_IFDIR;
	e.attr.st_ino = f.dir->ino;	/* 0 would hide them */
	for (f.off = off; f.off < DOT_ENTRIES; f.off++) {
		size_t n = plus
			? fuse_add_direntry_plus(req, f.buf + f.used,
						 size - f.used, dots[f.off],
						 &e, f.off + 1)
			: fuse_add_direntry(req, f.buf + f.used,
					    size - f.used, dots[f.off],
					    &e.attr, f.off + 1);

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
		rc = with_path(fs, f.dir, list_fn, &f);
		nodes_release_paths(fs->nodes);
	}
	if (rc && f.used == 0)
		rc = fuse_reply_err(req, -rc);
	else
		rc = fuse_reply_buf(req, f.buf, f.used);
	/* the kernel did not get them: it will not forget them either */
	if (rc || f.used == 0)
		for (i = 0; i < f.ngiven; i++)
			nodes_forget(fs->nodes, f.given[i], 1);
	if (f.ngiven)
		trim_check(fs);
	free(f.given);
	free(f.buf);
}

static void kvfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	list_page(req, ino, size, off, fi, false);
}

static void kvfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			     off_t off, struct fuse_file_info *fi)
{
	list_page(req, ino, size, off, fi, true);
}

static void kvfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	dirs_unlink(fs, d);
	free(d);
	nodes_release(fs->nodes, nodes_get(fs->nodes, ino), USE_DIRECT);
	fuse_reply_err(req, 0);
}

static void kvfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			  struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	syncer_reply(req_fs(req)->syncer, req);
}

void ops_dir_init(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = kvfs_opendir;
	ops->readdir = kvfs_readdir;
	ops->readdirplus = kvfs_readdirplus;
	ops->releasedir = kvfs_releasedir;
	ops->fsyncdir = kvfs_fsyncdir;
}
