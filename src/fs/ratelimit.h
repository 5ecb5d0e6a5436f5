/*
 * ratelimit.h - write_rate_limit: whether a key may be written now, and
 * the note of each write (ratelimit.c).
 */
#ifndef KVFS_RATELIMIT_H
#define KVFS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* The write rate limit: may this key (by inode number) be written now? */
int ratelimit_new(struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);
bool ratelimit_allow(struct ratelimit *rl, uint64_t ino);
void ratelimit_note(struct ratelimit *rl, uint64_t ino);

#endif
