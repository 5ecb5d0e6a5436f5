/*
 * follow.h - the follower of a replica: the job of a worker (worker.h)
 * that brings other hosts' writes to the store and drops the kernel's
 * caches of what they changed (follow.c).
 */
#ifndef KVFS_FOLLOW_H
#define KVFS_FOLLOW_H

#include <stddef.h>
#include <time.h>

struct store_change;

/* Catch up (arg: a struct kvfs with fs->remote); run again in a second. */
struct timespec follow_run(void *arg);

/* The listener's wake: run the follower soon. */
void follow_wake(void *arg);

/* What a round applied (remote_set_applied's fn; ctx: the struct kvfs). */
void follow_applied(void *ctx, const struct store_change *ch, size_t n);

#endif
