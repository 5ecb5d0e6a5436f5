/*
 * progress.c - the line a terminal shows while a new host copies the
 * shared store (or a host away for long copies it anew, or a local store
 * is pushed into an empty one) before its mount returns: the keys and bytes so far, rewritten in place at most five
 * times a second, then what was copied and how long it took.  Only on a
 * terminal (remote_open's progress_fd), and only during remote_open.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "remote/internal.h"

#define PROGRESS_EVERY_MS	200

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void show(struct remote *r, const char *what, const char *end)
{
	struct progress *p = &r->prog;

	dprintf(r->progress_fd, "\rkvfs: %s the remote store: %llu keys, "
		"%.1f MiB%s", what, (unsigned long long)p->keys,
		(double)p->bytes / 1048576.0, end);
}

void progress_start(struct remote *r, const char *doing, const char *done)
{
	if (r->progress_fd < 0)
		return;
	r->prog.doing = doing;
	r->prog.done = done;
	r->prog.keys = r->prog.bytes = 0;
	r->prog.shown = false;
	clock_gettime(CLOCK_MONOTONIC, &r->prog.start);
	r->prog.last = r->prog.start;
}

void progress_add(struct remote *r, uint64_t keys, uint64_t bytes)
{
	struct progress *p = &r->prog;

	if (r->progress_fd < 0)
		return;
	p->keys += keys;
	p->bytes += bytes;
	if (since(&p->last) * 1000 < PROGRESS_EVERY_MS)
		return;
	clock_gettime(CLOCK_MONOTONIC, &p->last);
	show(r, p->doing, "   ");
	p->shown = true;
}

void progress_end(struct remote *r, bool done)
{
	char end[64];

	if (r->progress_fd < 0 || !r->prog.shown)
		return;
	snprintf(end, sizeof(end), " in %.1f s%s\n", since(&r->prog.start),
		 done ? "" : ", then stopped");
	show(r, r->prog.done, end);
	r->prog.shown = false;
}
