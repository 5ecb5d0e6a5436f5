/*
 * ratelimit.c - write_rate_limit: one write per key per second, as Azion
 * and Workers KV allow; a second write within the second gets EAGAIN.
 *
 * Remembers the last commit time of recently written keys by inode number
 * (a rename keeps it, as the limit is on the key's writes), and forgets
 * entries older than the window, so its size follows the write rate.  A
 * rename over a key is a write of it too (ops_entry.c): refused within
 * the second, and counted when it is done.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fs/ratelimit.h"

#define WINDOW_NS	1000000000ll

struct rl_entry {
	uint64_t ino;
	int64_t when;
	struct rl_entry *next;
};

struct ratelimit {
	pthread_mutex_t lock;
	struct rl_entry *buckets[1024];
	size_t count;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int ratelimit_new(struct ratelimit **out)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return -ENOMEM;
	pthread_mutex_init(&rl->lock, NULL);
	*out = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	size_t i;

	if (!rl)
		return;
	for (i = 0; i < 1024; i++) {
		struct rl_entry *e = rl->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* Find ino's entry, dropping expired ones on the way; lock held. */
static struct rl_entry **find(struct ratelimit *rl, uint64_t ino,
			      int64_t now)
{
	struct rl_entry **pp = &rl->buckets[ino % 1024];

	while (*pp) {
		struct rl_entry *e = *pp;

		if (now - e->when >= WINDOW_NS) {
			*pp = e->next;
			free(e);
			rl->count--;
			continue;
		}
		if (e->ino == ino)
			return pp;
		pp = &e->next;
	}
	return pp;
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t ino)
{
	bool ok;

	if (!rl)
		return true;
	pthread_mutex_lock(&rl->lock);
	ok = *find(rl, ino, now_ns()) == NULL;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

void ratelimit_note(struct ratelimit *rl, uint64_t ino)
{
	struct rl_entry **pp, *e;
	int64_t now = now_ns();

	if (!rl)
		return;
	pthread_mutex_lock(&rl->lock);
	pp = find(rl, ino, now);
	if (*pp) {
		(*pp)->when = now;
	} else if ((e = malloc(sizeof(*e)))) {
		e->ino = ino;
		e->when = now;
		e->next = NULL;
		*pp = e;
		rl->count++;
	}
	pthread_mutex_unlock(&rl->lock);
}
