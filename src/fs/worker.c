/*
 * worker.c - a background thread for one job: the expiry sweep, the trim
 * of the node cache.
 *
 * The thread runs the job, then sleeps until the time the job returned or
 * a kick, whichever comes first; a kick during a run makes it run again
 * at once, so that no kick is lost.  It takes no signal: a SIGTERM must
 * wake the request loop's thread, which stops the loop (stop.c).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fs/worker.h"

struct worker {
	worker_fn fn;
	void *arg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* CLOCK_REALTIME */
	bool stop, kicked;
};

static void *worker_thread(void *p)
{
	struct worker *w = p;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec next;

		w->kicked = false;
		pthread_mutex_unlock(&w->lock);
		next = w->fn(w->arg);
		pthread_mutex_lock(&w->lock);
		if (w->stop || w->kicked)
			continue;
		if (next.tv_sec == 0 && next.tv_nsec == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		else
			pthread_cond_timedwait(&w->cond, &w->lock, &next);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int worker_start(worker_fn fn, void *arg, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int rc;

	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

void worker_kick(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->kicked = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void worker_stop(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
