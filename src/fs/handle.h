/*
 * handle.h - an open key: its content as its descriptor sees it, and the
 * commit of that content as the key's new value (handle.c).
 */
#ifndef KVFS_HANDLE_H
#define KVFS_HANDLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/nodes.h"
#include "fs/pending.h"
#include "store/store.h"

struct kvfs;

/*
 * An open key.  Its content, as its own descriptor sees it, is one of:
 * the value it opened (val); all of it in pend (loaded: a writer that
 * changed it); or, for an O_APPEND writer that only appended, val followed
 * by pend from byte skip on (appending: each commit appends what came
 * after done to the value as it is then).
 */
struct handle {
	pthread_mutex_t lock;	/* one operation at a time */
	struct node *node;
	struct node_open file;	/* on its node, with the process */
	int flags;		/* open(2) flags */
	enum node_use use;	/* of its node */
	uint64_t ino;
	struct store_value *val; /* the value as opened, pinned */
	struct pending pend;	/* the writer's content ... */
	bool loaded;		/* ... once it holds the value */
	bool appending;		/* ... or bytes appended to val */
	uint64_t skip;		/* appending: where val's bytes end in pend */
	uint64_t done;		/* appending: bytes of pend committed */
	bool dirty;		/* changed since the last commit ... */
	bool cut_only;		/* ... by truncation alone */
	bool kill_priv;		/* ... by an unprivileged process */
	int error;		/* a failed write: reported again at close */
	struct timespec mtime;	/* of the last write */
	struct kv_attr attr;	/* the key's attributes as last seen */
	struct inval synced;	/* an fsync's commit: told again at flush */
	uint64_t told;		/* a writer: its node's reply count as its
				 * own replies left it (nodes_told) ... */
	uint64_t ksize;		/* ... and the kernel's inode size after
				 * them and its writes; KSIZE_UNKNOWN */
};

/* A writer's reads may have cut the kernel's size (a short read). */
#define KSIZE_UNKNOWN	UINT64_MAX

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Its content, as the handle sees it. */
static inline uint64_t handle_size(const struct handle *h)
{
	uint64_t base = h->val ? store_value_size(h->val) : 0;

	if (h->loaded)
		return h->pend.size;
	if (h->appending)
		return base + h->pend.size - h->skip;
	return base;
}

/* Open the key's current value into h (its base content): 0 or -errno. */
int handle_open_value(struct kvfs *fs, struct handle *h);

/* Read the handle's content (h->lock held): the count, 0 at the end, or
 * -errno. */
ssize_t handle_read(struct kvfs *fs, struct handle *h, char *buf,
		    size_t size, uint64_t off);

/*
 * Write size bytes at off (at the end for O_APPEND, unless at_off: the
 * write-back of a shared mapping's pages): 0 or -errno, which also marks
 * the handle failed (its close reports it, commits nothing).  kill_priv:
 * a write by an unprivileged process, whose commit clears the
 * set-user-ID bit.
 */
int handle_write(struct kvfs *fs, struct handle *h, const char *buf,
		 size_t size, off_t off, bool kill_priv, bool at_off);

/* Cut or extend the handle's content (h->lock held): 0 or -errno. */
int handle_truncate(struct kvfs *fs, struct handle *h, uint64_t size);

/*
 * Write the handle's content to the store if it changed (h->lock held):
 * 0 or -errno.  The node, now of an older value, is detached from its
 * name; if inv is not NULL it receives the dentry to drop (inval_send(),
 * tell_later()).
 */
int handle_commit(struct kvfs *fs, struct handle *h, struct inval *inv);

/*
 * What the process holding h sees of its key (stat(2) form): its own
 * content's size and time, the set-user-ID bit a write of its cleared,
 * and no link once the key is gone (h->lock not held).
 */
void handle_stat(struct kvfs *fs, struct handle *h, struct stat *st);

/* Free what the handle holds (not the handle itself). */
void handle_close(struct kvfs *fs, struct handle *h);

#endif
