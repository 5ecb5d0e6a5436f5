/*
 * ops_file.c - FUSE operations on open keys: create, open, read, write,
 * flush, fsync, release.
 *
 * A reader reads the value it opened, pinned, whatever happens to the key
 * meanwhile.  A writer writes into its own pending content (pending.c),
 * started from the value it opened (or empty with O_TRUNC), and commits it
 * as the key's new value when it closes or fsyncs: readers see the old
 * value or the new one, never a mix, and the last writer to close wins.  A
 * write that fails (EFBIG, ENOSPC, EIO) marks the handle, whose close then
 * reports the error and commits nothing, so the key keeps its old value.
 *
 * O_WRONLY writers bypass the page cache (direct_io) so that readers of
 * the same inode never see bytes not yet committed; O_RDWR writers go
 * through it, so that a shared writable mmap works.  Readers use the page
 * cache only while no writer has the node open (nodes_open).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "tell.h"
#include "trim.h"

#define LOAD_CHUNK	(256u << 10)

static int open_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct handle *h = arg;

	if (p->level != LEVEL_KEY)
		return -EISDIR;
	return store_value_open(fs->st, p->ns, p->key, p->len, &h->val,
				&h->attr);
}

int handle_open_value(struct kvfs *fs, struct handle *h)
{
	int rc = with_path(fs, h->node, open_fn, h);

	if (!rc)
		h->ino = h->attr.ino;
	return rc;
}

/* Copy the opened value into the pending content, before a change. */
static int handle_load(struct kvfs *fs, struct handle *h)
{
	uint64_t size, off;
	char *buf;
	int rc = 0;

	if (h->loaded)
		return 0;
	size = h->val ? store_value_size(h->val) : 0;
	buf = size ? malloc(size < LOAD_CHUNK ? size : LOAD_CHUNK) : NULL;
	if (size && !buf)
		return -ENOMEM;
	for (off = 0; off < size && !rc;) {
		ssize_t n = store_value_read(fs->st, h->val, buf, LOAD_CHUNK,
					     (off_t)off);

		if (n <= 0)
			rc = n ? (int)n : -EIO;
		else
			rc = pending_write(&h->pend, buf, (size_t)n, off);
		off += n > 0 ? (uint64_t)n : 0;
	}
	free(buf);
	if (rc) {
		pending_free(&h->pend);
		return rc;
	}
	h->loaded = true;
	return 0;
}

/* Would the store hold this much more?  -ENOSPC past max_storage. */
static int storage_check(struct kvfs *fs, struct handle *h, uint64_t size)
{
	uint64_t used, file, base;

	if (!fs->opts.max_storage)
		return 0;
	store_usage(fs->st, &used, &file);
	base = h->val ? store_value_size(h->val) : 0;
	if (size > base && used + (size - base) > fs->opts.max_storage)
		return -ENOSPC;
	return 0;
}

int handle_truncate(struct kvfs *fs, struct handle *h, uint64_t size)
{
	int rc;

	if (h->error)
		return h->error;
	if (size > fs->opts.max_value_size)
		return -EFBIG;
	rc = storage_check(fs, h, size);
	if (!rc)
		rc = handle_load(fs, h);
	if (!rc)
		rc = pending_truncate(&h->pend, size);
	if (rc)
		return rc;
	h->dirty = true;
	clock_gettime(CLOCK_REALTIME, &h->mtime);
	nodes_note_mtime(fs->nodes, h->node, NULL);
	return 0;
}

static ssize_t pending_src_read(void *ctx, void *buf, size_t len, off_t off)
{
	return pending_read(ctx, buf, len, (uint64_t)off);
}

struct commit_arg {
	struct handle *h;
	struct store_src src;
	struct timespec mtime;
};

static int commit_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct commit_arg *ca = arg;

	return store_value_put(fs->st, p->ns, p->key, p->len, ca->h->ino,
			       &ca->src, &ca->mtime,
			       ca->h->kill_priv ? KV_PUT_KILL_SUIDGID : 0,
			       &ca->h->attr);
}

int handle_commit(struct kvfs *fs, struct handle *h, struct inval *inv)
{
	struct commit_arg ca = { .h = h };
	int rc;

	if (h->error)
		return h->error;
	if (!h->dirty)
		return 0;
	if (fs->rl && !ratelimit_allow(fs->rl, h->ino)) {
		h->error = -EAGAIN;
		return h->error;
	}
	ca.src.read = pending_src_read;
	ca.src.ctx = &h->pend;
	ca.src.size = h->pend.size;
	if (!nodes_take_mtime(fs->nodes, h->node, &ca.mtime))
		ca.mtime = h->mtime;
	rc = with_path(fs, h->node, commit_fn, &ca);
	if (rc == -ESTALE) {
		/* the key was deleted or replaced: like writing to an
		 * unlinked file, the content goes nowhere */
		h->dirty = h->kill_priv = false;
		return 0;
	}
	if (rc) {
		h->error = rc;
		return rc;
	}
	h->dirty = h->kill_priv = false;
	ratelimit_note(fs->rl, h->ino);
	if (inv)
		nodes_detach(fs->nodes, h->node, &inv->parent, &inv->name,
			     &inv->len);
	return 0;
}

void inval_send(struct kvfs *fs, struct inval *inv)
{
	if (!inv->name)
		return;
	fuse_lowlevel_notify_inval_entry(fs->se, inv->parent, inv->name,
					 inv->len);
	free(inv->name);
	inv->name = NULL;
}

void handle_close(struct kvfs *fs, struct handle *h)
{
	free(h->synced.name);
	if (h->val)
		store_value_close(fs->st, h->val);
	h->val = NULL;
	pending_free(&h->pend);
	pthread_mutex_destroy(&h->lock);
}

static struct handle *handle_new(struct kvfs *fs, struct node *n, int flags)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->node = n;
	h->flags = flags;
	pending_init(&h->pend, fs->storefd);
	return h;
}

/*
 * The key went (an unlink or a rename over it) after the kernel found it
 * by name for this writer: as on a local filesystem, the writer has the
 * file it found, now nameless, and what it writes goes nowhere (its
 * commit finds the key gone: -ESTALE).
 */
static int handle_orphan(struct handle *h, struct node *n,
			 const struct fuse_ctx *ctx)
{
	memset(&h->attr, 0, sizeof(h->attr));
	h->attr.type = KV_FILE;
	h->attr.ino = n->ino;
	h->attr.mode = 0600;
	h->attr.uid = ctx->uid;
	h->attr.gid = ctx->gid;
	h->ino = n->ino;
	h->loaded = true;
	return 0;
}

static bool is_writer(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/*
 * Count a new handle on its node and fill in fi for it: 0, or -ESTALE for
 * a writer that the kernel is to send to a new node (nodes_open).
 */
static int handle_start(struct kvfs *fs, struct handle *h,
			struct fuse_file_info *fi, int pid)
{
	bool same_gen = !h->val || store_value_gen(h->val) == h->node->gen;
	int rc;

	/*
	 * The node's page cache holds its generation's bytes.  An open that
	 * raced a commit got a newer value on the older node: it reads
	 * around that cache, never mixing the two.
	 */
	h->use = is_writer(h->flags) ? USE_WRITE
		 : same_gen ? USE_CACHED : USE_DIRECT;
	rc = nodes_open(fs->nodes, h->node, &h->use, pid);
	if (rc)
		return rc;
	fi->fh = (uint64_t)(uintptr_t)h;
	if (is_writer(h->flags)) {
		fi->direct_io = (h->flags & O_ACCMODE) == O_WRONLY || !same_gen;
	} else {
		fi->keep_cache = h->use == USE_CACHED;
		fi->direct_io = h->use == USE_DIRECT;
		fi->noflush = 1;
	}
	return 0;
}

static void kvfs_open(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct node *n = nodes_get(fs->nodes, ino);
	int pid = fuse_req_ctx(req)->pid;
	struct handle *h;
	int rc;

	h = handle_new(fs, n, fi->flags);
	if (!h)
		return (void)fuse_reply_err(req, ENOMEM);
	rc = handle_open_value(fs, h);
	if (rc == -ENOENT && is_writer(fi->flags))
		rc = handle_orphan(h, n, fuse_req_ctx(req));
	if (!rc && is_writer(fi->flags) && fs->rl &&
	    !ratelimit_allow(fs->rl, h->ino))
		rc = -EAGAIN;
	/* an open(O_TRUNC) sends its truncation next (reply_open_trunc) */
	if (!rc)
		rc = handle_start(fs, h, fi, pid);
	if (!rc && is_writer(fi->flags)) {
		rc = nodes_set_opener(fs->nodes, n, h, pid);
		if (rc)
			nodes_release(fs->nodes, n, h->use);
	}
	if (rc) {
		handle_close(fs, h);
		free(h);
		return (void)fuse_reply_err(req, -rc);
	}
	if (fuse_reply_open(req, fi)) {
		nodes_clear_opener(fs->nodes, n, h);
		nodes_release(fs->nodes, n, h->use);
		handle_close(fs, h);
		free(h);
	}
}

static void kvfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct node *dir = nodes_get(fs->nodes, parent);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct kv_attr a;
	struct handle *h;
	struct kpath p;
	struct node *n;
	int rc;

	if (node_level(dir) == LEVEL_ROOT)
		return (void)fuse_reply_err(req, EPERM);
	rc = new_child_path(fs, dir, name, &p);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	memset(&a, 0, sizeof(a));
	a.type = KV_FILE;
	a.mode = mode & 07777 & ~ctx->umask;
	a.uid = ctx->uid;
	a.gid = ctx->gid;
	rc = store_create(fs->st, p.ns, p.key, p.len, &a, &a);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	n = nodes_lookup(fs->nodes, dir, name, strlen(name), a.ino, a.gen,
			 0);
	h = n ? handle_new(fs, n, fi->flags) : NULL;
	if (!h) {
		if (n)
			nodes_forget(fs->nodes, n, 1);
		return (void)fuse_reply_err(req, ENOMEM);
	}
	h->ino = a.ino;
	h->attr = a;
	h->loaded = true;	/* empty, as created */
	handle_start(fs, h, fi, 0);	/* a new node: a writer's */
	memset(&e, 0, sizeof(e));
	e.ino = nodes_id(n);
	kv_to_stat(&a, &e.attr);
	e.attr_timeout = fs->attr_timeout;
	e.entry_timeout = fs->entry_timeout;
	if (fuse_reply_create(req, &e, fi)) {
		nodes_release(fs->nodes, n, h->use);
		nodes_forget(fs->nodes, n, 1);
		handle_close(fs, h);
		free(h);
	}
	trim_check(fs);
}

static void kvfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	char *buf;
	ssize_t n;

	(void)ino;
	buf = malloc(size ? size : 1);
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	pthread_mutex_lock(&h->lock);
	if (h->loaded)
		n = pending_read(&h->pend, buf, size, (uint64_t)off);
	else if (h->val)
		n = store_value_read(fs->st, h->val, buf, size, off);
	else
		n = 0;
	pthread_mutex_unlock(&h->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void kvfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	uint64_t pos = (uint64_t)off, end;
	int rc;

	(void)ino;
	pthread_mutex_lock(&h->lock);
	rc = h->error;
	if (!rc && (h->flags & O_APPEND))
		pos = handle_size(h);
	end = pos + size;
	if (!rc && (off < 0 || end < pos || end > fs->opts.max_value_size))
		rc = -EFBIG;
	if (!rc)
		rc = storage_check(fs, h, end);
	if (!rc)
		rc = handle_load(fs, h);
	if (!rc)
		rc = pending_write(&h->pend, buf, size, pos);
	if (rc) {
		h->error = rc;
	} else {
		h->dirty = true;
		/*
		 * The kernel clears the set-user-ID and set-group-ID bits
		 * itself for a write through the page cache, and leaves them
		 * to the daemon for direct I/O (FUSE_WRITE_KILL_SUIDGID, which
		 * libfuse does not pass on): uid 0 stands for a process with
		 * CAP_FSETID.  They go with the commit of the new content.
		 */
		if (!fi->writepage && fuse_req_ctx(req)->uid != 0)
			h->kill_priv = true;
		clock_gettime(CLOCK_REALTIME, &h->mtime);
		nodes_note_mtime(fs->nodes, h->node, NULL);
	}
	pthread_mutex_unlock(&h->lock);
	nodes_clear_opener(fs->nodes, h->node, h);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	fuse_reply_write(req, size);
}

static void kvfs_flush(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	struct inval inv = { 0 };
	int rc;

	(void)ino;
	pthread_mutex_lock(&h->lock);
	rc = handle_commit(fs, h, &inv);
	/*
	 * An fsync committed last: its dentry, by the name the node has now,
	 * as a rename since may have moved it from the one the fsync saw.
	 */
	if (!inv.name && h->synced.name)
		nodes_name(fs->nodes, h->node, &inv.parent, &inv.name,
			   &inv.len);
	free(h->synced.name);
	memset(&h->synced, 0, sizeof(h->synced));
	pthread_mutex_unlock(&h->lock);
	/*
	 * Before the reply, so that a stat or open after close(2) finds the
	 * new value, size included (close-to-open; the superseded node keeps
	 * the old size for its readers).  The kernel holds no lock of the
	 * file through a flush.
	 */
	inval_send(fs, &inv);
	fuse_reply_err(req, -rc);
}

static void kvfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	struct inval inv = { 0 };
	int rc;

	(void)ino;
	(void)datasync;
	pthread_mutex_lock(&h->lock);
	rc = handle_commit(fs, h, &inv);
	/*
	 * The kernel holds the file's lock through an fsync, which the
	 * teller's notification must not wait for (tell.h).  It may come
	 * after a close that follows at once: the flush tells it again.
	 */
	if (inv.name) {
		free(h->synced.name);
		h->synced = inv;
		h->synced.name = strndup(inv.name, inv.len);
	}
	pthread_mutex_unlock(&h->lock);
	tell_later(fs, &inv);
	if (!rc)
		rc = store_sync(fs->st);
	fuse_reply_err(req, -rc);
}

static void kvfs_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	struct inval inv = { 0 };
	struct node *n = h->node;

	(void)ino;
	nodes_clear_opener(fs->nodes, n, h);
	/* pages of a shared mmap may be written back after the last flush */
	pthread_mutex_lock(&h->lock);
	handle_commit(fs, h, &inv);
	pthread_mutex_unlock(&h->lock);
	tell_later(fs, &inv);
	handle_close(fs, h);
	nodes_release(fs->nodes, n, h->use);
	free(h);
	fuse_reply_err(req, 0);
}

void ops_file_init(struct fuse_lowlevel_ops *ops)
{
	ops->create = kvfs_create;
	ops->open = kvfs_open;
	ops->read = kvfs_read;
	ops->write = kvfs_write;
	ops->flush = kvfs_flush;
	ops->fsync = kvfs_fsync;
	ops->release = kvfs_release;
}
