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

#include "log.h"
#include "ops.h"
#include "tell.h"

struct told {
	struct told *next;
	struct inval inv;
	fuse_req_t req;		/* a flush to answer after, or NULL */
	int err;		/* its errno */
};

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
	inv->name = NULL;
	pthread_mutex_lock(&fs->told_lock);
	t->next = fs->told;
	fs->told = t;
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

/* Send (or with send false, drop) what is queued, oldest first; answer
 * the flushes either way. */
static void tell(struct kvfs *fs, bool send)
{
	struct told *t, *next, *fifo = NULL;

	pthread_mutex_lock(&fs->told_lock);
	t = fs->told;
	fs->told = NULL;
	pthread_mutex_unlock(&fs->told_lock);
	for (; t; t = next) {
		next = t->next;
		t->next = fifo;
		fifo = t;
	}
	for (t = fifo; t; t = next) {
		next = t->next;
		if (send)
			inval_send(fs, &t->inv);
		if (t->req)
			fuse_reply_err(t->req, t->err);
		free(t->inv.name);
		free(t);
	}
}

struct timespec tell_run(void *arg)
{
	struct timespec next = { 0, 0 };

	tell(arg, true);
	return next;
}

void tell_forget(struct kvfs *fs)
{
	tell(fs, false);
}
