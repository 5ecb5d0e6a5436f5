/*
 * pending.h - the content of a key being written, until its writer closes.
 *
 * Small content stays in memory; past PENDING_MEM_MAX it moves to a stage
 * in the store (store_stage_open, store/store.h): chunks of a generation
 * no key holds yet, written as they come, so that the daemon's memory does
 * not grow with the size of values being written, the commit at close
 * switches to them in one small transaction, and a crash leaves nothing
 * behind.
 */
#ifndef KVFS_PENDING_H
#define KVFS_PENDING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define PENDING_MEM_MAX	(128u << 10)

struct pending {
	uint64_t size;
	char *buf;		/* in memory, cap bytes */
	size_t cap;
	struct store_stage *stage; /* or in this stage, when not NULL */
	struct store *st;	/* where stages are made */
};

/* Start empty content; stages are made in store st. */
void pending_init(struct pending *p, struct store *st);

/* Write len bytes at off, growing the content: 0 or -errno (-ENOSPC...). */
int pending_write(struct pending *p, const void *buf, size_t len, uint64_t off);

/* Read up to len bytes at off: the count, 0 at the end, or -errno. */
ssize_t pending_read(struct pending *p, void *buf, size_t len, uint64_t off);

/* Cut or extend (with zeros) to size bytes: 0 or -errno. */
int pending_truncate(struct pending *p, uint64_t size);

/* Free the memory and the stage (its chunks too, unless published). */
void pending_free(struct pending *p);

#endif
