/*
 * ops.h - what the FUSE operations share: the mounted filesystem's state,
 * and helpers that turn store attributes into stat; open files are
 * handle.h's.
 *
 * Only the files named ops_*.c include FUSE headers besides fs/main.c (and
 * handle.c, through this header, for struct kvfs); they
 * turn the store's results into replies, and the store's negative errnos
 * into the errno of each reply.
 */
#ifndef KVFS_OPS_H
#define KVFS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>

#include "fs/nodes.h"
#include "common/options.h"
#include "fs/handle.h"
#include "fs/pending.h"
#include "store/store.h"
#include "fs/worker.h"

struct kvfs {
	struct store *st;
	struct kvfs_opts opts;
	struct nodes *nodes;
	struct fuse_session *se;
	int storefd;		/* the store directory, for temporary files */
	double entry_timeout;	/* what the kernel may cache, in seconds */
	double attr_timeout;
	double dir_attr_timeout;
	struct ratelimit *rl;
	struct worker *sweeper;	/* sweep.c */
	struct worker *trimmer;	/* trim.c */
	struct retries *retries; /* readers sent back (retry.h) */
	long conn;		/* the mount's device (mountpoint_conn) */
	struct worker *teller;	/* tell.c, and what it has to tell: */
	pthread_mutex_t told_lock;
	struct told *told, **told_end;	/* oldest first */
	struct told *telling;	/* being sent */
	bool told_stop;		/* the loop has stopped: send no more */
};

static inline struct kvfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct handle *fi_handle(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/*
 * Run fn on where n is now; if it fails with -ENOENT or -ESTALE because a
 * rename moved n meanwhile, run it again on the new path.
 */
typedef int (*path_fn)(struct kvfs *fs, const struct kpath *p, void *arg);
int with_path(struct kvfs *fs, struct node *n, path_fn fn, void *arg);

/*
 * How long the kernel may cache an entry or attributes (base seconds):
 * never past the key's expiration.
 */
double cache_timeout(double base, const struct kv_attr *a);

/* stat(2) form of store attributes. */
void kv_to_stat(const struct kv_attr *a, struct stat *st);

/* The attributes of a node from the store: 0 or -errno. */
int node_stat(struct kvfs *fs, struct node *n, struct kv_attr *a);

/* Reply to a lookup-like request with the node for parent/name. */
void reply_entry(fuse_req_t req, struct node *parent, const char *name,
		 size_t len, const struct kv_attr *a);

/* Check a new name in parent and build its path: 0 or -errno. */
int new_child_path(struct kvfs *fs, struct node *parent, const char *name,
		   struct kpath *p);

/* The same for a new key made by create: a temporary key's name is
 * taken too, directly in a namespace (common/names.h). */
int new_file_path(struct kvfs *fs, struct node *parent, const char *name,
		  struct kpath *p);

/* Drop the dentry in inv now, and free its name: from a thread of the
 * daemon's own, never a request's (tell.h). */
void inval_send(struct kvfs *fs, struct inval *inv);

/*
 * At unmount, free the handles the kernel never released (an aborted
 * connection): what their writers had not committed is dropped, as for
 * a writer that never closed.
 */
void ops_file_free_all(struct kvfs *fs);

/* The write rate limit: may this key (by inode number) be written now? */
int ratelimit_new(struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);
bool ratelimit_allow(struct ratelimit *rl, uint64_t ino);
void ratelimit_note(struct ratelimit *rl, uint64_t ino);

/* The operation tables. */
void ops_entry_init(struct fuse_lowlevel_ops *ops);
void ops_file_init(struct fuse_lowlevel_ops *ops);
void ops_dir_init(struct fuse_lowlevel_ops *ops);
void ops_xattr_init(struct fuse_lowlevel_ops *ops);
void ops_link_init(struct fuse_lowlevel_ops *ops);

#endif
