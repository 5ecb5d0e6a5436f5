/*
 * tell.c - dentry notifications, queued by requests and sent by the
 * teller's thread (tell.h says why), and the replies to flushes, sent by
 * the same thread once their dentries are dropped.
 *
 * Until the kernel drops a dentry of a key given a new value, the dentry
 * leads to the superseded node, whose opens read the current value
 * around its page cache (nodes.h), and whose stat gives the old size,
 * uncached, only while a handle still holds it (nodes_own_size): a
 * notification that comes late, or misses a dentry a rename moved, leaves
 * no wrong size behind.  A flush's reply comes after its notification,
 * so that close(2) returns once the dentry is gone (close-to-open); the
 * queue is sent in the order it was filled.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/log.h"
#include "fs/fs.h"
#include "fs/nodes.h"
#include "fs/notify.h"
#include "fs/tell.h"
#include "fs/worker.h"

struct told {
	struct told *next;
	struct inval inv;
	fuse_req_t req;		/* a flush to answer after, or NULL */
	int err;		/* its errno */
};

/* Answer t's flush, if any, and free t. */
static void answer(struct told *t)
{
	if (t->req)
		fuse_reply_err(t->req, t->err);
	free(t->inv.name);
	free(t);
}

/* Queue a dentry and a reply to send after it (either may be empty). */
static void queue(struct kvfs *fs, struct inval *inv, fuse_req_t req,
		  int err)
{
	struct told *t;

	if (!inv->name && !req)
		return;
	t = malloc(sizeof(*t));
	if (!t) {
		/* the dentry keeps its node, which reads the current value */
		if (inv->name)
			kvfs_log(KVFS_WARN, "out of memory: the kernel keeps "
				 "an old entry for %s", inv->name);
		free(inv->name);
		inv->name = NULL;
		if (req)
			fuse_reply_err(req, err);
		return;
	}
	t->inv = *inv;
	t->req = req;
	t->err = err;
	t->next = NULL;
	inv->name = NULL;
	pthread_mutex_lock(&fs->told_lock);
	if (fs->told_stop) {
		pthread_mutex_unlock(&fs->told_lock);
		answer(t);
		return;
	}
	if (!fs->told)
		fs->told_end = &fs->told;
	*fs->told_end = t;
	fs->told_end = &t->next;
	pthread_mutex_unlock(&fs->told_lock);
	worker_kick(fs->teller);
}

void tell_later(struct kvfs *fs, struct inval *inv)
{
	queue(fs, inv, NULL, 0);
}

void tell_then_reply(struct kvfs *fs, struct inval *inv, fuse_req_t req,
		     int err)
{
	if (!inv->name)
		fuse_reply_err(req, err);
	else
		queue(fs, inv, req, err);
}

/*
 * Send what is queued, oldest first, each flush answered after its
 * dentry.  The one being sent is fs->telling: a stop may answer its
 * flush meanwhile (tell_forget).
 */
struct timespec tell_run(void *arg)
{
	struct kvfs *fs = arg;
	struct timespec next = { 0, 0 };
	struct told *t;

	pthread_mutex_lock(&fs->told_lock);
	while (!fs->told_stop && (t = fs->told)) {
		fs->told = t->next;
		fs->telling = t;
		pthread_mutex_unlock(&fs->told_lock);
		inval_send(fs, &t->inv);
		pthread_mutex_lock(&fs->told_lock);
		fs->telling = NULL;
		pthread_mutex_unlock(&fs->told_lock);
		answer(t);
		pthread_mutex_lock(&fs->told_lock);
	}
	pthread_mutex_unlock(&fs->told_lock);
	return next;
}

/*
 * The loop has stopped and the mount is to go: its dentries need not be
 * dropped, and the one being sent may wait for a directory whose holder's
 * request will never be read (stop.c).  Answer every flush now.
 */
void tell_forget(struct kvfs *fs)
{
	struct told *t, *next;
	fuse_req_t req = NULL;
	int err = 0;

	pthread_mutex_lock(&fs->told_lock);
	fs->told_stop = true;
	t = fs->told;
	fs->told = NULL;
	if (fs->telling) {
		req = fs->telling->req;
		err = fs->telling->err;
		fs->telling->req = NULL;
	}
	pthread_mutex_unlock(&fs->told_lock);
	if (req)
		fuse_reply_err(req, err);
	for (; t; t = next) {
		next = t->next;
		answer(t);
	}
}
