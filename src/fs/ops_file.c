/*
 * ops_file.c - FUSE operations on open keys: create, open, read, write,
 * flush, fsync, release.
 *
 * What an open key holds and how it commits is handle.c's; here are the
 * requests, and how each handle uses its node and the page cache.
 *
 * O_WRONLY writers bypass the page cache (direct_io) so that readers of
 * the same inode never see bytes not yet committed; O_RDWR writers go
 * through it, so that a shared writable mmap works.  Readers use the page
 * cache only while no writer has the node open (nodes_open).
 *
 * A reader reads its node's generation, and nothing else: the kernel
 * fills the node's page cache from whichever descriptor of the node
 * faults a page in (a private mmap of a direct_io file included), and
 * gives every reader of the node its one size.  An open of a node the
 * key has moved on from takes the node's generation from a reader still
 * holding it, or the value the lookup of its retry opened (retry.h), or
 * is sent back with -ESTALE to look the name up again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs/attr.h"
#include "fs/held.h"
#include "common/hooks.h"
#include "fs/ops.h"
#include "fs/path.h"
#include "fs/ratelimit.h"
#include "fs/retry.h"
#include "fs/splice.h"
#include "fs/syncer.h"
#include "fs/tell.h"
#include "fs/trim.h"

static struct handle *handle_new(struct kvfs *fs, struct node *n, int flags)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->node = n;
	h->flags = flags;
	pending_init(&h->pend, fs->st);
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
 * Count a new writer on its node and fill in fi for it: 0, or -ESTALE for
 * a writer that the kernel is to send to a new node (nodes_open).
 */
static int writer_start(struct kvfs *fs, struct handle *h,
			struct fuse_file_info *fi, int pid)
{
	bool same_gen = !h->val || store_value_gen(h->val) == h->node->gen;
	int rc;

	/* an O_RDWR writer that raced a commit writes around the older
	 * node's page cache */
	h->use = USE_WRITE;
	rc = nodes_open(fs->nodes, h->node, &h->use, pid);
	if (rc)
		return rc;
	/* what the kernel has of the node before the writer changes it:
	 * the node's size, if the key's value is still the node's */
	nodes_writer_view(fs->nodes, h->node, &h->told, &h->ksize);
	if (!same_gen)
		h->ksize = KSIZE_UNKNOWN;
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = (h->flags & O_ACCMODE) == O_WRONLY || !same_gen;
	nodes_add_open(fs->nodes, h->node, &h->file, pid, true,
		       !fi->direct_io, 0);
	return 0;
}

/*
 * The node's own generation for a reader of n that found the key moved on
 * (or another key at its name): from a reader of n holding it, else the
 * value the lookup of this open's retry left.  -ESTALE if neither.
 */
static int own_value(struct kvfs *fs, struct handle *h,
		     struct store_value *offered, const struct kv_attr *oa)
{
	struct node_open *o;
	struct handle *other;
	int rc;

	o = nodes_find_open(fs->nodes, h->node, 0, OPEN_GEN);
	if (o) {
		other = container_of(o, struct handle, file);
		/* a reader's value stays until its release, which waits */
		rc = store_value_dup(fs->st, other->val, &h->val);
		pthread_mutex_lock(&other->lock);
		h->attr = other->attr;
		pthread_mutex_unlock(&other->lock);
		nodes_put_open(fs->nodes, o);
		return rc;
	}
	if (!offered)
		return -ESTALE;
	h->val = offered;
	h->attr = *oa;
	return 0;
}

/*
 * Open a reader of its node's generation, counted on the node first (so
 * that a stat of the node meanwhile keeps the size readers hold,
 * nodes_own_size), and fill in fi: 0 or -errno; -ESTALE sends the kernel
 * to look the name up again.
 */
static int reader_start(struct kvfs *fs, struct handle *h,
			struct fuse_file_info *fi, int pid)
{
	struct node *n = h->node;
	struct store_value *offered;
	struct kv_attr oa;
	bool again;
	int rc;

	/*
	 * The retry of a reader sent back is not sent back again: neither
	 * one that a lookup prepared (offered), nor one that came with no
	 * lookup, as an open of /dev/fd/N or /proc/PID/fd/N does, which the
	 * kernel retries on the same node.
	 */
	again = retry_wanted(fs, pid);
	offered = retry_take(fs, n, pid, &oa);
	h->use = offered || again ? USE_REREAD : USE_CACHED;
	rc = nodes_open(fs->nodes, n, &h->use, pid);
	if (offered)
		nodes_release(fs->nodes, n, USE_DIRECT);
	if (rc) {
		if (offered)
			store_value_close(fs->st, offered);
		if (rc == -ESTALE)
			retry_note(fs, pid);
		return rc;
	}
	rc = handle_open_value(fs, h);
	if (!rc && (h->attr.ino != n->ino ||
		    store_value_gen(h->val) != n->gen)) {
		store_value_close(fs->st, h->val);
		h->val = NULL;
		rc = own_value(fs, h, offered, &oa);
		if (h->val == offered)
			offered = NULL;
		h->ino = n->ino;
		if (rc == -ESTALE)
			retry_note(fs, pid);
	}
	if (offered)
		store_value_close(fs->st, offered);
	if (rc) {
		nodes_release(fs->nodes, n, h->use);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	/* the pages cached may be of the value before a rebind */
	fi->keep_cache = h->use == USE_CACHED &&
			 nodes_keep_cache(fs->nodes, n, store_value_gen(h->val));
	fi->direct_io = h->use == USE_DIRECT;
	fi->noflush = 1;
	nodes_add_open(fs->nodes, n, &h->file, pid, false, false,
		       store_value_gen(h->val));
	return 0;
}

/*
 * Open h on its node for its flags, as kvfs_open does (a writer's
 * truncation comes after, from the kernel or the caller): 0 or -errno.
 */
static int open_start(struct kvfs *fs, fuse_req_t req, struct handle *h,
		      struct fuse_file_info *fi)
{
	int pid = fuse_req_ctx(req)->pid;
	int rc;

	if (!is_writer(fi->flags))
		return reader_start(fs, h, fi, pid);
	rc = handle_open_value(fs, h);
	if (rc == -ENOENT)
		rc = handle_orphan(h, h->node, fuse_req_ctx(req));
	if (!rc && fs->rl && !ratelimit_allow(fs->rl, h->ino))
		rc = -EAGAIN;
	if (!rc)
		rc = writer_start(fs, h, fi, pid);
	return rc;
}

/* An open whose reply did not reach the kernel, undone. */
static void open_undo(struct kvfs *fs, struct handle *h)
{
	nodes_clear_opener(fs->nodes, h->node, &h->file);
	nodes_del_open(fs->nodes, h->node, &h->file);
	nodes_release(fs->nodes, h->node, h->use);
	handle_close(fs, h);
	free(h);
}

static void kvfs_open(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct node *n = nodes_get(fs->nodes, ino);
	struct handle *h;
	int rc;

	nodes_hook(fs->nodes, n, "OPEN");
	h = handle_new(fs, n, fi->flags);
	if (!h)
		return (void)fuse_reply_err(req, ENOMEM);
	rc = open_start(fs, req, h, fi);
	/* an open(O_TRUNC) sends its truncation next (reply_open_trunc) */
	if (!rc && is_writer(fi->flags)) {
		rc = nodes_set_opener(fs->nodes, n, &h->file,
				      fuse_req_ctx(req)->pid);
		if (rc) {
			nodes_del_open(fs->nodes, n, &h->file);
			nodes_release(fs->nodes, n, h->use);
		}
	}
	if (rc) {
		handle_close(fs, h);
		free(h);
		return (void)fuse_reply_err(req, -rc);
	}
	if (fuse_reply_open(req, fi))
		open_undo(fs, h);
}

/*
 * Whether the caller may open a key of attributes a with flags, by its
 * mode alone: root may; its owner by the owner's bits; anyone else only
 * if both the group's and the others' bits allow it (the caller's groups
 * are not known here).  The kernel checks a create for nothing, the file
 * being new.
 */
static bool may_open(const struct fuse_ctx *ctx, const struct kv_attr *a,
		     int flags)
{
	unsigned want = 0, bits;

	if (!ctx->uid)
		return true;
	if ((flags & O_ACCMODE) != O_WRONLY)
		want |= 4;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		want |= 2;
	if (ctx->uid == a->uid)
		bits = (a->mode >> 6) & 7;
	else
		bits = (a->mode >> 3) & a->mode & 7;
	return (bits & want) == want;
}

/*
 * Make the key of a create, or, on a replica, find the one another host
 * made since the kernel looked the name up (a replica caches no absence,
 * but a lookup and a create are two requests): an open(O_CREAT) without
 * O_EXCL opens it, as on a local filesystem, if its mode lets the caller
 * (may_open); else -ESTALE sends the kernel to look the name up again
 * and check the open itself.  One deleted again meanwhile is made again.
 * *existing: the key was there, *a its attributes.
 */
static int create_key(struct kvfs *fs, const struct fuse_ctx *ctx,
		      struct node *dir, const char *name,
		      struct fuse_file_info *fi, struct kv_attr *a,
		      bool *existing)
{
	struct kv_attr want = *a;
	struct kpath p;
	int rc, tries;

	*existing = false;
	nodes_hold_paths(fs->nodes);
	store_urgent(true);
	rc = new_file_path(fs, dir, name, &p);
	for (tries = 0; !rc; tries++) {
		rc = store_create(fs->st, p.ns, p.key, p.len, &want, a);
		if (rc != -EEXIST || !fs->remote || (fi->flags & O_EXCL))
			break;
		rc = store_stat(fs->st, p.ns, p.key, p.len, a);
		if (rc != -ENOENT || tries == 3) {
			*existing = !rc;
			if (!rc && a->type == KV_DIR)
				rc = -EISDIR;
			else if (!rc && a->type != KV_FILE)
				rc = -EEXIST;
			else if (!rc && !may_open(ctx, a, fi->flags))
				rc = -ESTALE;
			break;
		}
		rc = 0;
	}
	store_urgent(false);
	nodes_release_paths(fs->nodes);
	return rc;
}

/*
 * Open on its node the key another host made (create_key), as kvfs_open
 * does; a writer's O_TRUNC is done here, since the kernel sends no
 * truncation after a create: 0, *a the attributes to reply, or -errno
 * with h freed.
 */
static int open_existing(struct kvfs *fs, fuse_req_t req, struct handle *h,
			 struct fuse_file_info *fi, struct kv_attr *a)
{
	int rc = open_start(fs, req, h, fi);

	if (rc) {
		handle_close(fs, h);
		free(h);
		return rc;
	}
	if (!is_writer(fi->flags) || !(fi->flags & O_TRUNC)) {
		*a = h->attr;
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	rc = handle_truncate(fs, h, 0);
	/* an unprivileged opener clears the set-ID bits, with the commit */
	if (!rc && fuse_req_ctx(req)->uid &&
	    (h->attr.mode & (S_ISUID | S_ISGID)))
		h->kill_priv = true;
	*a = h->attr;
	a->size = 0;
	pthread_mutex_unlock(&h->lock);
	if (rc)
		open_undo(fs, h);
	return rc;
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
	struct node *n;
	bool existing;
	int rc;

	if (node_level(dir) == LEVEL_ROOT)
		return (void)fuse_reply_err(req, EPERM);
	memset(&a, 0, sizeof(a));
	a.type = KV_FILE;
	a.mode = mode & 07777 & ~ctx->umask;
	a.uid = ctx->uid;
	a.gid = ctx->gid;
	rc = create_key(fs, ctx, dir, name, fi, &a, &existing);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	n = nodes_lookup(fs->nodes, dir, name, strlen(name), a.ino,
			 existing ? node_gen(&a) : a.gen,
			 existing ? a.size : 0);
	h = n ? handle_new(fs, n, fi->flags) : NULL;
	if (!h) {
		if (n)
			nodes_forget(fs->nodes, n, 1);
		return (void)fuse_reply_err(req, ENOMEM);
	}
	if (existing) {
		rc = open_existing(fs, req, h, fi, &a);
		if (rc) {
			nodes_forget(fs->nodes, n, 1);
			return (void)fuse_reply_err(req, -rc);
		}
	} else {
		h->ino = a.ino;
		h->attr = a;
		/* empty, as created; an appender's bytes go on what is
		 * there when it commits, which another appender may have
		 * written meanwhile */
		h->loaded = !(fi->flags & O_APPEND);
		if (is_writer(fi->flags)) {
			writer_start(fs, h, fi, ctx->pid);	/* a new node */
		} else {
			/* open(O_CREAT | O_RDONLY): empty, as created */
			h->use = USE_REREAD;
			nodes_open(fs->nodes, n, &h->use, ctx->pid);
			fi->fh = (uint64_t)(uintptr_t)h;
			fi->keep_cache = h->use == USE_CACHED &&
					 nodes_keep_cache(fs->nodes, n, a.gen);
			fi->direct_io = h->use == USE_DIRECT;
			fi->noflush = 1;
			nodes_add_open(fs->nodes, n, &h->file, ctx->pid,
				       false, false, 0);
		}
	}
	memset(&e, 0, sizeof(e));
	e.ino = nodes_id(n);
	kv_to_stat(&a, &e.attr);
	/* a key found there: what its writer sees, not to be cached */
	e.attr_timeout = existing ? 0 : fs->attr_timeout;
	e.entry_timeout = fs->entry_timeout;
	if (fuse_reply_create(req, &e, fi)) {
		open_undo(fs, h);
		nodes_forget(fs->nodes, n, 1);
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
	pthread_mutex_lock(&h->lock);
	/* a short read through the page cache cuts the kernel's size to
	 * where it ended: a reader's is told as a reply of attributes is,
	 * a writer's makes the kernel's size one its writer does not know */
	if (h->use == USE_WRITE)
		h->ksize = KSIZE_UNKNOWN;
	else if (off < 0 || (uint64_t)off + size > handle_size(h))
		nodes_told(fs->nodes, h->node);
	if (off >= 0 && splice_read(fs, h, req, size, (uint64_t)off)) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		pthread_mutex_unlock(&h->lock);
		return (void)fuse_reply_err(req, ENOMEM);
	}
	n = off < 0 ? -EINVAL : handle_read(fs, h, buf, size, (uint64_t)off);
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
	int rc;

	(void)ino;
	/*
	 * The kernel clears the set-user-ID and set-group-ID bits itself for
	 * a write through the page cache, and leaves them to the daemon for
	 * direct I/O (FUSE_WRITE_KILL_SUIDGID, which libfuse does not pass
	 * on): uid 0 stands for a process with CAP_FSETID.
	 */
	rc = handle_write(fs, h, buf, size, off,
			  !fi->writepage && fuse_req_ctx(req)->uid != 0,
			  fi->writepage);
	if (!fi->writepage)
		nodes_open_used(&h->file, fuse_req_ctx(req)->pid);
	nodes_clear_opener(fs->nodes, h->node, &h->file);
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
	/* a truncation after this is not the open(O_TRUNC)'s */
	nodes_clear_opener(fs->nodes, h->node, &h->file);
	pthread_mutex_lock(&h->lock);
	/*
	 * A truncation with nothing written after it is not a new value
	 * while the file is still open elsewhere: `cmd > key` and dd open
	 * with O_TRUNC, duplicate the descriptor and close the original
	 * before writing.  The closing process is asked (held_by); the last
	 * close, or the release, commits it.
	 */
	if (h->cut_only && !h->error &&
	    (held_by(fuse_req_ctx(req)->pid, fs->conn, h->ino) ||
	     held_by(h->file.pid, fs->conn, h->ino)))
		rc = 0;
	else
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
	 * The reply comes after the dentry is dropped, so that a stat or
	 * open after close(2) finds the new value, size included
	 * (close-to-open; the superseded node keeps the old size for its
	 * readers).  Both are the teller's: this thread must not wait for
	 * the directory, which a create may hold while it waits for a
	 * thread (tell.h).  The kernel holds no lock of the file through a
	 * flush.
	 */
	tell_then_reply(fs, &inv, req, -rc);
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
	if (rc)
		fuse_reply_err(req, -rc);
	else
		syncer_reply(fs->syncer, req);
}

static void kvfs_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	struct inval inv = { 0 };
	struct node *n = h->node;

	(void)ino;
	nodes_clear_opener(fs->nodes, n, &h->file);
	/* after a truncation that took it as the opener's (setattr) */
	nodes_del_open(fs->nodes, n, &h->file);
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

void ops_file_free_all(struct kvfs *fs)
{
	struct node_open *o = nodes_take_all_open(fs->nodes), *next;

	for (; o; o = next) {
		struct handle *h = container_of(o, struct handle, file);

		next = o->next;
		handle_close(fs, h);
		free(h);
	}
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
