/*
 * syncer.c - fsync replies, queued by the request threads and sent by
 * the syncer's thread after a checkpoint (syncer.h says why).
 *
 * The queue is taken whole before each checkpoint: every request in it
 * came after its own commit, so the checkpoint, which begins after, holds
 * them all.  A request queued meanwhile kicks the worker, which runs
 * again once this run ends (worker.c), for a checkpoint of its own.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "fs/syncer.h"
#include "fs/worker.h"
#include "store/store.h"

struct waiting {
	struct waiting *next;
	fuse_req_t req;
};

struct syncer {
	struct store *st;
	struct worker *w;
	pthread_mutex_t lock;
	struct waiting *queue;	/* in no order: one checkpoint answers all */
};

/* Take a checkpoint for the queued requests and answer them. */
static struct timespec syncer_run(void *arg)
{
	struct syncer *s = arg;
	struct timespec next = { 0, 0 };
	struct waiting *q, *n;
	int rc;

	pthread_mutex_lock(&s->lock);
	q = s->queue;
	s->queue = NULL;
	pthread_mutex_unlock(&s->lock);
	if (!q)
		return next;
	rc = store_sync(s->st);
	for (; q; q = n) {
		n = q->next;
		fuse_reply_err(q->req, -rc);
		free(q);
	}
	return next;
}

int syncer_start(struct store *st, struct syncer **out)
{
	struct syncer *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->st = st;
	pthread_mutex_init(&s->lock, NULL);
	rc = worker_start(syncer_run, s, &s->w);
	if (rc) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void syncer_reply(struct syncer *s, fuse_req_t req)
{
	struct waiting *w = malloc(sizeof(*w));

	if (!w)
		return (void)fuse_reply_err(req, -store_sync(s->st));
	w->req = req;
	pthread_mutex_lock(&s->lock);
	w->next = s->queue;
	s->queue = w;
	pthread_mutex_unlock(&s->lock);
	worker_kick(s->w);
}

void syncer_stop(struct syncer *s)
{
	if (!s)
		return;
	worker_stop(s->w);
	syncer_run(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
