/*
 * fs.h - the mounted filesystem's state (struct kvfs), which every file of
 * the daemon shares; the main header of src/fs.
 *
 * src/fs is the FUSE daemon: the FUSE operations (ops_*.c, their replies
 * in reply.c), the node table (nodes*.c), open keys and their pending
 * writes (handle.c, pending.c), the kernel notifications (notify.c, sent
 * by tell.c and trim.c), the worker threads of the trim, the expiry
 * sweep, the teller and the syncer of fsyncs, and the daemon's options
 * and mount (main.c).  It may include store/store.h (the store's
 * contract) and common/; never store/internal.h, and nothing of kvctl/.
 * Every file here may reach FUSE through this header; store/ and common/
 * (log.c aside) do not.
 */
#ifndef KVFS_FS_H
#define KVFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>

#include "common/options.h"

struct store;
struct nodes;
struct ratelimit;
struct worker;
struct retries;
struct told;
struct syncer;
struct remote;

struct kvfs {
	struct store *st;
	struct kvfs_opts opts;
	struct nodes *nodes;
	struct fuse_session *se;
	int storefd;		/* the store directory, for statfs */
	double entry_timeout;	/* what the kernel may cache, in seconds */
	double attr_timeout;
	double dir_attr_timeout;
	struct ratelimit *rl;
	struct worker *sweeper;	/* sweep.c */
	struct worker *trimmer;	/* trim.c */
	struct remote *remote;	/* -o remote=: the shared store, and */
	struct worker *follower; /* its follower (follow.c) */
	bool follow_failing;	/* the follower said it fails */
	struct timespec follow_last;	/* when its last round began
					 * (CLOCK_MONOTONIC) */
	double negative_timeout; /* how long "no such name" may be cached */
	struct syncer *syncer;	/* fsync replies (syncer.c) */
	struct retries *retries; /* readers sent back (retry.h) */
	long conn;		/* the mount's device (mountpoint_conn) */
	bool splice;		/* the kernel takes spliced replies */
	pthread_mutex_t dirs_lock; /* open directories (ops_dir.c) */
	struct dirh *dirs;
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

#endif
