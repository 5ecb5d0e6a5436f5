/*
 * retry.c - a small table of the readers sent back from superseded nodes
 * (retry.h): which thread, and the value the last lookup of its retry
 * opened.
 *
 * A thread sent back looks the name up and opens again at once, within
 * the same system call; an entry whose retry never came (the key went
 * meanwhile, the process died) goes after RETRY_MS, or sooner when the
 * table is full.  A lookup looks here only while an entry is live.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/fs.h"
#include "fs/retry.h"

#define RETRIES		64
#define RETRY_MS	5000

struct retry {
	bool used;
	int pid;		/* the thread sent back */
	int64_t until;		/* CLOCK_MONOTONIC, in ms */
	struct node *node;	/* the lookup's node, counted open ... */
	struct store_value *val; /* ... and its value, for pid's open */
	struct kv_attr attr;
};

struct retries {
	pthread_mutex_t lock;
	unsigned live;		/* entries used (read without the lock) */
	struct retry e[RETRIES];
};

int retry_new(struct retries **out)
{
	struct retries *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Let go of what e holds (lock not held). */
static void drop_offer(struct kvfs *fs, struct node *n, struct store_value *v)
{
	if (v)
		store_value_close(fs->st, v);
	if (n)
		nodes_release(fs->nodes, n, USE_DIRECT);
}

/* Empty e, moving what it held to *n and *v for drop_offer(); lock held. */
static void clear(struct retries *r, struct retry *e, struct node **n,
		  struct store_value **v)
{
	*n = e->node;
	*v = e->val;
	memset(e, 0, sizeof(*e));
	r->live--;
}

void retry_free(struct kvfs *fs, struct retries *r)
{
	struct store_value *v;
	struct node *n;
	size_t i;

	if (!r)
		return;
	for (i = 0; i < RETRIES; i++) {
		if (!r->e[i].used)
			continue;
		clear(r, &r->e[i], &n, &v);
		drop_offer(fs, n, v);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * Empty the entries past their time and, unless pid is 0, those of pid
 * (a thread waits for one retry at a time): lock held; what they held is
 * let go by sweep_drop() once it is not.
 */
struct swept {
	size_t count;
	struct node *n[RETRIES];
	struct store_value *v[RETRIES];
};

static void sweep(struct retries *r, int pid, struct swept *out)
{
	int64_t now = now_ms();
	size_t i;

	out->count = 0;
	for (i = 0; i < RETRIES; i++) {
		struct retry *e = &r->e[i];

		if (e->used && (e->until <= now || (pid && e->pid == pid))) {
			clear(r, e, &out->n[out->count], &out->v[out->count]);
			out->count++;
		}
	}
}

static void sweep_drop(struct kvfs *fs, struct swept *s)
{
	size_t i;

	for (i = 0; i < s->count; i++)
		drop_offer(fs, s->n[i], s->v[i]);
}

void retry_note(struct kvfs *fs, int pid)
{
	struct retries *r = fs->retries;
	struct retry *e = NULL, *old = NULL;
	struct store_value *v = NULL;
	struct node *n = NULL;
	struct swept swept;
	size_t i;

	pthread_mutex_lock(&r->lock);
	sweep(r, pid, &swept);
	for (i = 0; i < RETRIES && !e; i++) {
		struct retry *c = &r->e[i];

		if (!c->used)
			e = c;
		else if (!old || c->until < old->until)
			old = c;
	}
	if (!e)
		e = old;	/* the one closest to its end */
	if (e->used)
		clear(r, e, &n, &v);
	e->used = true;
	e->pid = pid;
	e->until = now_ms() + RETRY_MS;
	r->live++;
	pthread_mutex_unlock(&r->lock);
	drop_offer(fs, n, v);
	sweep_drop(fs, &swept);
}

/* The live entry of pid; lock held. */
static struct retry *find(struct retries *r, int pid)
{
	int64_t now = now_ms();
	size_t i;

	for (i = 0; i < RETRIES; i++) {
		struct retry *e = &r->e[i];

		if (e->used && e->pid == pid && e->until > now)
			return e;
	}
	return NULL;
}

bool retry_wanted(struct kvfs *fs, int pid)
{
	struct retries *r = fs->retries;
	bool found;

	if (!__atomic_load_n(&r->live, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&r->lock);
	found = find(r, pid) != NULL;
	pthread_mutex_unlock(&r->lock);
	return found;
}

void retry_offer(struct kvfs *fs, int pid, struct node *n,
		 struct store_value *v, const struct kv_attr *a)
{
	struct retries *r = fs->retries;
	enum node_use use = USE_DIRECT;
	struct store_value *oldv = NULL;
	struct node *oldn = NULL;
	struct retry *e;

	/* counted before any reply names n: a stat of n meanwhile sees a
	 * holder of its generation (nodes_own_size) */
	nodes_open(fs->nodes, n, &use, pid);
	pthread_mutex_lock(&r->lock);
	e = find(r, pid);
	if (e) {
		oldn = e->node;
		oldv = e->val;
		e->node = n;
		e->val = v;
		e->attr = *a;
		n = NULL;
		v = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	drop_offer(fs, oldn, oldv);
	drop_offer(fs, n, v);
}

struct store_value *retry_take(struct kvfs *fs, struct node *n, int pid,
			       struct kv_attr *a)
{
	struct retries *r = fs->retries;
	struct store_value *v = NULL, *got = NULL;
	struct node *held = NULL;
	struct swept swept;
	struct retry *e;

	if (!__atomic_load_n(&r->live, __ATOMIC_RELAXED))
		return NULL;
	pthread_mutex_lock(&r->lock);
	e = find(r, pid);
	if (e) {
		if (e->node == n && e->val) {
			*a = e->attr;
			got = e->val;
			e->val = NULL;
			e->node = NULL;	/* counted: the caller's now */
		}
		clear(r, e, &held, &v);
	}
	sweep(r, 0, &swept);
	pthread_mutex_unlock(&r->lock);
	drop_offer(fs, held, v);
	sweep_drop(fs, &swept);
	return got;
}
