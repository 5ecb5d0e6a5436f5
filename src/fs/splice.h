/*
 * splice.h - READ replies that move a value's bytes from the store's
 * files into the kernel's request through a pipe, one copy instead of
 * two (splice.c).
 */
#ifndef KVFS_SPLICE_H
#define KVFS_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"
#include "fs/handle.h"

/* The largest READ the kernel is asked to send (read-ahead), in KiB. */
#define SPLICE_READ_KB	512u

/*
 * Answer req, a READ of size bytes at off of h (h->lock held), with the
 * bytes of h's value spliced from the store's files.  Returns true when
 * req is answered (with those bytes, or with an error of sending them),
 * false when it is left for the copy path: a writer's own content, an
 * inline value, a small read, a read at the end, a piece the store cannot
 * give as a file extent, any error before the reply.  A reply is never
 * shorter than the copy path's, so never shrinks the kernel's size.
 */
bool splice_read(struct kvfs *fs, struct handle *h, fuse_req_t req,
		 size_t size, uint64_t off);

#endif
