/*
 * splice.c - READ replies that move a value's bytes from the store's
 * files into the kernel's request through a pipe, one copy instead of
 * two.
 *
 * A large value's chunks lie whole in data.mdb (store_value_extents);
 * fuse_reply_data() splices them into a pipe, which takes references to
 * the file's cached pages, and from the pipe into /dev/fuse, which copies
 * them into the request: no copy into the daemon's memory, no fault on
 * the map.  The handle's pin keeps the chunks, so their pages are not
 * reused, until fuse_reply_data() returns, and h->lock, held by the
 * caller, keeps the handle's value until then.  libfuse completes a short
 * splice by copying, except at the end of the file: so every extent is
 * checked against the value's size and the file's before the reply, and
 * anything unexpected goes to the copy path instead (a short READ would
 * shrink the kernel's size of the file under its mmap readers).
 */
#include "config.h"

#include <stdlib.h>

#include "fs/splice.h"

/* Smaller reads are copied: a pipe costs more than the copy saves. */
#define SPLICE_MIN	(32u << 10)
/* Extents of one read: a chunk each, at most, and one more. */
#define SPLICE_EXTENTS	16u

bool splice_read(struct kvfs *fs, struct handle *h, fuse_req_t req,
		 size_t size, uint64_t off)
{
	struct store_extent ext[SPLICE_EXTENTS];
	struct fuse_bufvec *bv;
	uint64_t base;
	size_t want, tail;
	ssize_t got, n;
	unsigned i, count;
	char *rest = NULL;

	if (!fs->splice || h->loaded || h->appending || !h->val)
		return false;
	base = store_value_size(h->val);
	/* a larger one would need a pipe past pipe-max-size (1 MiB), and
	 * libfuse would not splice again on that thread */
	if (off >= base || size < SPLICE_MIN ||
	    size > (size_t)SPLICE_READ_KB << 10)
		return false;
	want = size < base - off ? size : (size_t)(base - off);
	got = store_value_extents(fs->st, h->val, off, want, ext,
				  SPLICE_EXTENTS, &count);
	if (got <= 0 || (size_t)got > want || !count)
		return false;
	tail = want - (size_t)got;
	if (tail) {
		/* what lies elsewhere: a last chunk small enough for an
		 * index page */
		rest = malloc(tail);
		if (!rest)
			return false;
		n = store_value_read(fs->st, h->val, rest, tail,
				     (off_t)(off + (uint64_t)got));
		if (n < 0 || (size_t)n != tail) {
			free(rest);
			return false;
		}
	}
	bv = malloc(sizeof(*bv) + (count + 1) * sizeof(bv->buf[0]));
	if (!bv) {
		free(rest);
		return false;
	}
	bv->idx = 0;
	bv->off = 0;
	for (i = 0; i < count; i++)
		bv->buf[i] = (struct fuse_buf){
			.size = ext[i].len,
			.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK |
				 FUSE_BUF_FD_RETRY,
			.fd = ext[i].fd,
			.pos = (off_t)ext[i].off,
		};
	if (tail)
		bv->buf[i++] = (struct fuse_buf){ .size = tail, .mem = rest };
	bv->count = i;
	fuse_reply_data(req, bv, 0);
	free(bv);
	free(rest);
	return true;
}
