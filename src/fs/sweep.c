/*
 * sweep.c - the expiry sweep.
 *
 * A worker thread (worker.c) sleeps until the earliest expiration in the
 * store (or until an expiration is set), then deletes what has expired in
 * passes of at most SWEEP_BATCH keys, each its own short transaction, so
 * that writers wait for one pass at most.  Readers never depend on it: an expired key
 * is absent from the second it expires whether or not it was swept yet.
 * The sweep gives the space back and drops the kernel's dentry of the key
 * (its cache timeouts already ended at the expiry; this also covers
 * dentries cached before the expiration was set).  On a replica of a
 * shared store only the sweeper host deletes (remote_sweeper); the
 * others look again every second while something is due, and get the
 * deletions from the feed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "fs/fs.h"
#include "fs/nodes.h"
#include "fs/notify.h"
#include "fs/sweep.h"
#include "remote/remote.h"
#include "store/store.h"

#define SWEEP_BATCH	256

static void expired(void *ctx, const char *ns, const char *key, size_t len)
{
	struct kvfs *fs = ctx;
	struct inval inv = { 0 };

	if (ns && nodes_detach_path(fs->nodes, ns, key, len, &inv.parent,
				    &inv.name, &inv.len) == 0)
		inval_send(fs, &inv);
}

struct timespec sweep_run(void *arg)
{
	struct kvfs *fs = arg;
	struct store_sweep_stats before, after;
	struct timespec next = { 0, 0 };
	int64_t now = time(NULL), due = store_next_expiry(fs->st);
	int n;

	if (due == 0 || due > now) {
		next.tv_sec = due;	/* 0: when an expiration is set */
		return next;
	}
	/* a replica: one host deletes them, the others hear of it */
	if (fs->remote && !remote_sweeper(fs->remote)) {
		next.tv_sec = now + 1;
		return next;
	}
	store_sweep_stats(fs->st, &before);
	n = store_sweep(fs->st, now, SWEEP_BATCH, expired, fs);
	if (n < 0)
		kvfs_log(KVFS_WARN, "expiry sweep failed: %s", strerror(-n));
	if (n > 0 && kvfs_log_debug()) {
		store_sweep_stats(fs->st, &after);
		kvfs_log(KVFS_DEBUG, "sweep: deleted %llu expired keys, "
			 "visited %llu index entries (%llu and %llu in all)",
			 (unsigned long long)(after.deleted - before.deleted),
			 (unsigned long long)(after.visited - before.visited),
			 (unsigned long long)after.deleted,
			 (unsigned long long)after.visited);
	}
	if (n < 0)
		next.tv_sec = now + 1;		/* try again in a second */
	else if (n == SWEEP_BATCH)
		next.tv_sec = 1;		/* more due: at once */
	else
		next.tv_sec = store_next_expiry(fs->st);
	return next;
}
