/*
 * sweep.c - the expiry sweeper.
 *
 * One thread sleeps until the earliest expiration in the store (or until
 * an expiration is set), then deletes what has expired in passes of at
 * most SWEEP_BATCH keys, each its own short transaction, so that writers
 * wait for one pass at most.  Readers never depend on it: an expired key
 * is absent from the second it expires whether or not it was swept yet.
 * The sweep gives the space back and drops the kernel's dentry of the key
 * (its cache timeouts already ended at the expiry; this also covers
 * dentries cached before the expiration was set).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ops.h"
#include "sweep.h"

#define SWEEP_BATCH	256

struct sweeper {
	struct kvfs *fs;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, kicked;
};

static void expired(void *ctx, const char *ns, const char *key, size_t len)
{
	struct kvfs *fs = ctx;
	struct inval inv = { 0 };

	if (ns && nodes_detach_path(fs->nodes, ns, key, len, &inv.parent,
				    &inv.name, &inv.len) == 0)
		inval_send(fs, &inv);
}

/* One round: sweep what is due; return the next expiration (0: none). */
static int64_t sweep_due(struct sweeper *sw, bool *more)
{
	struct store_sweep_stats before, after;
	int64_t now = time(NULL), next = store_next_expiry(sw->fs->st);
	int n;

	*more = false;
	if (next == 0 || next > now)
		return next;
	store_sweep_stats(sw->fs->st, &before);
	n = store_sweep(sw->fs->st, now, SWEEP_BATCH, expired, sw->fs);
	*more = n == SWEEP_BATCH;
	if (n < 0)
		kvfs_log(KVFS_WARN, "expiry sweep failed: %s", strerror(-n));
	if (n > 0 && kvfs_log_debug()) {
		store_sweep_stats(sw->fs->st, &after);
		kvfs_log(KVFS_DEBUG, "sweep: deleted %llu expired keys, "
			 "visited %llu index entries (%llu and %llu in all)",
			 (unsigned long long)(after.deleted - before.deleted),
			 (unsigned long long)(after.visited - before.visited),
			 (unsigned long long)after.deleted,
			 (unsigned long long)after.visited);
	}
	if (n < 0)
		return now + 1;		/* try again in a second */
	return store_next_expiry(sw->fs->st);
}

static void *sweep_thread(void *arg)
{
	struct sweeper *sw = arg;

	pthread_mutex_lock(&sw->lock);
	while (!sw->stop) {
		struct timespec until = { 0, 0 };
		int64_t next;
		bool more;

		sw->kicked = false;
		pthread_mutex_unlock(&sw->lock);
		next = sweep_due(sw, &more);
		pthread_mutex_lock(&sw->lock);
		if (sw->stop || sw->kicked || more)
			continue;	/* a full batch: others ran meanwhile */
		if (next == 0) {
			pthread_cond_wait(&sw->cond, &sw->lock);
			continue;
		}
		until.tv_sec = next;
		if (until.tv_sec > time(NULL))
			pthread_cond_timedwait(&sw->cond, &sw->lock, &until);
	}
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

int sweeper_start(struct kvfs *fs, struct sweeper **out)
{
	struct sweeper *sw = calloc(1, sizeof(*sw));
	int rc;

	if (!sw)
		return -ENOMEM;
	sw->fs = fs;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->cond, NULL);	/* CLOCK_REALTIME, as expiry */
	rc = pthread_create(&sw->thread, NULL, sweep_thread, sw);
	if (rc) {
		pthread_cond_destroy(&sw->cond);
		pthread_mutex_destroy(&sw->lock);
		free(sw);
		return -rc;
	}
	*out = sw;
	return 0;
}

void sweeper_kick(struct sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	sw->kicked = true;
	pthread_cond_signal(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
}

void sweeper_stop(struct sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	sw->stop = true;
	pthread_cond_signal(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
	pthread_join(sw->thread, NULL);
	pthread_cond_destroy(&sw->cond);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}
