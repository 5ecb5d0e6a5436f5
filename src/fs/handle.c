/*
 * handle.c - an open key's content, as its descriptor sees it, and its
 * commit as the key's new value.
 *
 * A reader reads the value it opened, pinned, whatever happens to the key
 * meanwhile.  A writer writes into its own pending content (pending.c),
 * started from the value it opened (or empty with O_TRUNC), and commits it
 * as the key's new value when it closes or fsyncs: readers see the old
 * value or the new one, never a mix, and the last writer to close wins.
 * An O_APPEND writer that only appends keeps just its new bytes, and its
 * commit appends them to the value as it is then.  A write that fails
 * (EFBIG, ENOSPC, EIO) marks the handle, whose close then reports the
 * error and commits nothing, so the key keeps its old value.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/hooks.h"
#include "fs/attr.h"
#include "fs/fs.h"
#include "fs/handle.h"
#include "fs/notify.h"
#include "fs/path.h"
#include "fs/ratelimit.h"
#include "fs/value.h"

#define LOAD_CHUNK	(256u << 10)

static int open_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct handle *h = arg;

	if (p->level != LEVEL_KEY)
		return -EISDIR;
	return value_open(fs, p, &h->val, &h->attr);
}

int handle_open_value(struct kvfs *fs, struct handle *h)
{
	int rc = with_path(fs, h->node, open_fn, h);

	if (!rc)
		h->ino = h->attr.ino;
	return rc;
}

/*
 * Make the pending content the whole of the handle's content, before a
 * change that is not an append: the opened value, and what an appender
 * wrote after it.
 */
static int handle_load(struct kvfs *fs, struct handle *h)
{
	uint64_t size, off;
	struct pending all;
	size_t chunk;
	ssize_t n = 0;
	char *buf;
	int rc = 0;

	if (h->loaded)
		return 0;
	size = handle_size(h);
	chunk = size < LOAD_CHUNK ? (size_t)size : LOAD_CHUNK;
	buf = chunk ? malloc(chunk) : NULL;
	if (chunk && !buf)
		return -ENOMEM;
	pending_init(&all, fs->st);
	for (off = 0; off < size && !rc; off += (uint64_t)n) {
		n = handle_read(fs, h, buf, chunk, off);
		if (n <= 0)
			rc = n ? (int)n : -EIO;
		else
			rc = pending_write(&all, buf, (size_t)n, off);
	}
	free(buf);
	if (rc) {
		pending_free(&all);
		return rc;
	}
	pending_free(&h->pend);
	h->pend = all;
	h->loaded = true;
	h->appending = false;
	h->skip = h->done = 0;
	return 0;
}

/* Read the handle's content: the count, 0 at the end, or -errno. */
ssize_t handle_read(struct kvfs *fs, struct handle *h, char *buf,
			   size_t size, uint64_t off)
{
	uint64_t base = h->val ? store_value_size(h->val) : 0;
	ssize_t n = 0, m;

	if (h->loaded)
		return pending_read(&h->pend, buf, size, off);
	if (off < base) {
		size_t want = size < base - off ? size : (size_t)(base - off);

		n = store_value_read(fs->st, h->val, buf, want, (off_t)off);
		if (n < 0 || (uint64_t)n < want)
			return n;
	}
	if (!h->appending)
		return n;
	m = pending_read(&h->pend, buf + n, size - (size_t)n,
			 off + (uint64_t)n - base + h->skip);
	return m < 0 ? m : n + m;
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
	if (!rc && size == 0 && !h->loaded) {
		/* nothing of the old content stays: no need to copy it */
		pending_free(&h->pend);
		h->loaded = true;
		h->appending = false;
		h->skip = h->done = 0;
	}
	if (!rc)
		rc = handle_load(fs, h);
	if (rc)
		return rc;
	rc = pending_truncate(&h->pend, size);
	if (rc) {
		/* a stage may be cut in part: nothing of it may be committed,
		 * the key keeps its old value */
		h->error = rc;
		return rc;
	}
	h->cut_only = !h->dirty || h->cut_only;
	h->dirty = true;
	nodes_open_clean(&h->file, false);
	clock_gettime(CLOCK_REALTIME, &h->mtime);
	nodes_note_mtime(fs->nodes, h->node, NULL);
	return 0;
}

int handle_write(struct kvfs *fs, struct handle *h, const char *buf,
		 size_t size, off_t off, bool kill_priv, bool at_off)
{
	bool append = (h->flags & O_APPEND) && !at_off;
	uint64_t pos = (uint64_t)off, end;
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = h->error;
	if (!rc && append)
		pos = handle_size(h);
	end = pos + size;
	if (!rc && (off < 0 || end < pos || end > fs->opts.max_value_size))
		rc = -EFBIG;
	if (!rc)
		rc = storage_check(fs, h, end);
	if (!rc && !h->loaded && append) {
		/* bytes after the value opened, committed after the value
		 * as it is then */
		h->appending = true;
		rc = pending_write(&h->pend, buf, size, h->pend.size);
	} else {
		if (!rc)
			rc = handle_load(fs, h);
		if (!rc)
			rc = pending_write(&h->pend, buf, size, pos);
	}
	if (rc) {
		h->error = rc;
	} else {
		h->dirty = true;
		h->cut_only = false;
		nodes_open_clean(&h->file, false);
		/* the kernel grows its size to where its write ended (at its
		 * own end of file for an appender: off is the kernel's) */
		if (off >= 0 && h->ksize != KSIZE_UNKNOWN &&
		    (uint64_t)off + size > h->ksize)
			h->ksize = (uint64_t)off + size;
		/* the bits go with the commit of the new content */
		if (kill_priv)
			h->kill_priv = true;
		clock_gettime(CLOCK_REALTIME, &h->mtime);
		nodes_note_mtime(fs->nodes, h->node, NULL);
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static ssize_t pending_src_read(void *ctx, void *buf, size_t len, off_t off)
{
	return pending_read(ctx, buf, len, (uint64_t)off);
}

struct commit_arg {
	struct handle *h;
	struct store_src src;
	struct timespec mtime;
	uint64_t gen;			/* an append: the value it goes on */
	struct store_value **val;	/* a stage's: the value it became */
};

static int commit_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct commit_arg *ca = arg;
	unsigned flags = ca->h->kill_priv ? KV_PUT_KILL_SUIDGID : 0;

	if (ca->val)
		return store_value_put_stage(fs->st, p->ns, p->key, p->len,
					     ca->h->ino, ca->h->pend.stage,
					     &ca->mtime, flags, &ca->h->attr,
					     ca->val);

	if (ca->gen)
		return store_value_put_if(fs->st, p->ns, p->key, p->len,
					  ca->h->ino, ca->gen, &ca->src,
					  &ca->mtime, flags, &ca->h->attr);
	return store_value_put(fs->st, p->ns, p->key, p->len, ca->h->ino,
			       &ca->src, &ca->mtime, flags, &ca->h->attr);
}

/* The key's value as it is now, for an append to go on. */
struct current {
	struct kvfs *fs;
	struct store_value *val;
	struct kv_attr attr;
	struct handle *h;		/* appending, with the bytes */
};

static int current_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct current *c = arg;

	if (p->level != LEVEL_KEY)
		return -EISDIR;
	return value_open(fs, p, &c->val, &c->attr);
}

/* The appended value: the current one, then the bytes not yet appended. */
static ssize_t append_src_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct current *c = ctx;
	uint64_t base = store_value_size(c->val), pos = (uint64_t)off;
	struct handle *h = c->h;

	if (pos < base)
		return store_value_read(c->fs->st, c->val,
					buf, len < base - pos ? len
					: (size_t)(base - pos), off);
	return pending_read(&h->pend, buf, len, pos - base + h->done);
}

/*
 * Commit an appender's new bytes onto the key's value as it is now, in
 * one step: if another writer replaced the value meanwhile, again on the
 * newer one.  Its content is then that value and the bytes.
 */
static int commit_append(struct kvfs *fs, struct handle *h,
			 struct commit_arg *ca)
{
	struct current c = { .fs = fs, .h = h };
	uint64_t add = h->pend.size - h->done;
	int rc;

	for (;;) {
		rc = with_path(fs, h->node, current_fn, &c);
		if (rc == -ENOENT || (!rc && c.attr.ino != h->ino)) {
			rc = -ESTALE;
			break;
		}
		if (rc)
			break;
		if (store_value_size(c.val) + add > fs->opts.max_value_size)
			rc = -EFBIG;
		ca->gen = c.attr.gen;
		ca->src.read = append_src_read;
		ca->src.ctx = &c;
		ca->src.size = store_value_size(c.val) + add;
		if (!rc)
			rc = with_path(fs, h->node, commit_fn, ca);
		if (rc != -EBUSY)
			break;
		store_value_close(fs->st, c.val);
		c.val = NULL;
	}
	if (rc) {
		if (c.val)
			store_value_close(fs->st, c.val);
		return rc;
	}
	if (h->val)
		store_value_close(fs->st, h->val);
	h->val = c.val;
	h->skip = h->done;
	h->done = h->pend.size;
	/*
	 * The value just committed holds the bytes: take it as the base, so
	 * that a long appender's pending content does not keep growing (not
	 * if another writer came in between: the content stays as it is).
	 */
	c.val = NULL;
	if (!with_path(fs, h->node, current_fn, &c)) {
		if (c.attr.gen == h->attr.gen) {
			store_value_close(fs->st, h->val);
			h->val = c.val;
			pending_free(&h->pend);
			h->skip = h->done = 0;
		} else {
			store_value_close(fs->st, c.val);
		}
	}
	return 0;
}

/*
 * Commit a stage: its chunks become the key's value in one small
 * transaction, and that value the handle's base, so that a later write
 * starts a new stage from it (the published one is no one's to change).
 */
static int commit_stage(struct kvfs *fs, struct handle *h,
			struct commit_arg *ca)
{
	struct store_value *val = NULL;
	int rc;

	ca->val = &val;
	rc = with_path(fs, h->node, commit_fn, ca);
	if (rc)
		return rc;
	if (h->val)
		store_value_close(fs->st, h->val);
	h->val = val;
	pending_free(&h->pend);
	h->loaded = false;
	return 0;
}

/* The commit of what h holds, by its kind. */
static int commit_once(struct kvfs *fs, struct handle *h,
		       struct commit_arg *ca)
{
	if (h->appending)
		return commit_append(fs, h, ca);
	if (h->pend.stage)
		return commit_stage(fs, h, ca);
	ca->src.read = pending_src_read;
	ca->src.ctx = &h->pend;
	ca->src.size = h->pend.size;
	return with_path(fs, h->node, commit_fn, ca);
}

/* Bind h to the key at its name now, made if gone: 0 or -errno. */
static int rebind_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct handle *h = arg;
	struct kv_attr a, out;
	int rc, tries;

	if (p->level != LEVEL_KEY)
		return -ESTALE;
	for (tries = 0; tries < 4; tries++) {
		rc = store_stat(fs->st, p->ns, p->key, p->len, &a);
		if (!rc) {
			if (a.type != KV_FILE)
				return -ESTALE;
			h->ino = a.ino;
			return 0;
		}
		if (rc != -ENOENT)
			return rc;
		memset(&a, 0, sizeof(a));
		a.type = KV_FILE;
		a.mode = h->attr.mode;
		a.uid = h->attr.uid;
		a.gid = h->attr.gid;
		rc = store_create(fs->st, p->ns, p->key, p->len, &a, &out);
		if (!rc) {
			h->ino = out.ino;
			return 0;
		}
		if (rc != -EEXIST)
			return rc;
	}
	return rc;
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
	if (!nodes_take_mtime(fs->nodes, h->node, &ca.mtime))
		ca.mtime = h->mtime;
	rc = commit_once(fs, h, &ca);
	/*
	 * Another host deleted or replaced the key after this host opened
	 * it, its replica not yet told: that commit came before this one in
	 * PostgreSQL's order, so this write lands at the name, as the last
	 * (a local unlink or rename over it is the unlinked file below).
	 */
	if (rc == -ESTALE && fs->remote &&
	    nodes_elsewhere(fs->nodes, h->node) &&
	    with_path(fs, h->node, rebind_fn, h) == 0)
		rc = commit_once(fs, h, &ca);
	if (rc == -ESTALE) {
		/* the key was deleted or replaced: like writing to an
		 * unlinked file, the content goes nowhere */
		h->dirty = h->cut_only = h->kill_priv = false;
		return 0;
	}
	if (rc) {
		h->error = rc;
		return rc;
	}
	h->dirty = h->cut_only = h->kill_priv = false;
	nodes_open_clean(&h->file, true);
	ratelimit_note(fs->rl, h->ino);
	/* test builds: a listing can read the value committed before the
	 * nodes change (ops_dir.c) */
	if (inv)
		nodes_hook(fs->nodes, h->node, "COMMIT");
	if (inv && nodes_rebind_current(fs->nodes, h->node, h->attr.ino,
					h->attr.gen, h->attr.size, h->told,
					h->ksize)) {
		/*
		 * No reader holds the node: it stands for the new value now,
		 * and its dentry stays.  The kernel keeps no attributes from
		 * before (nor from a reply sent before this: offset -1, the
		 * page cache is nodes_keep_cache's), so a stat after close(2)
		 * asks again.
		 */
		inval_inode(fs, nodes_id(h->node));
		/* test builds: as below */
		nodes_hook(fs->nodes, h->node, "COMMITTED");
	} else if (inv) {
		uint64_t was = nodes_detach(fs->nodes, h->node, &inv->parent,
					    &inv->name, &inv->len);

		/*
		 * A lookup that read the old value may still be on its way
		 * to the kernel with it, cacheable: the kernel keeps no
		 * attributes from a reply sent before this (offset -1: the
		 * page cache, of that value, stays).
		 */
		if (was)
			inval_inode(fs, was);
		/* test builds: a listing or lookup held goes on after this */
		if (inv->name)
			hook_hold("COMMITTED", inv->name);
	}
	return 0;
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

void handle_stat(struct kvfs *fs, struct handle *h, struct stat *st)
{
	struct kv_attr a;
	bool kill;

	pthread_mutex_lock(&h->lock);
	a = h->attr;
	a.size = handle_size(h);
	if (h->dirty)
		a.mtime = h->mtime;
	kill = h->kill_priv;
	pthread_mutex_unlock(&h->lock);
	if (kill) {
		/* as its commit will (store_value_put) */
		a.mode &= ~(uint32_t)S_ISUID;
		if (a.mode & S_IXGRP)
			a.mode &= ~(uint32_t)S_ISGID;
	}
	kv_to_stat(&a, st);
	if (!nodes_named(fs->nodes, h->node))
		st->st_nlink = 0;
}
