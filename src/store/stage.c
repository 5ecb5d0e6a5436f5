/*
 * stage.c - a value being written, streamed into chunks of a generation
 * no key holds yet, until the switch makes it the key's value.
 *
 * The writer's bytes go into chunk buffers in memory, at most stage_cache()
 * of them; when a write needs one more, the others are written to the
 * data table in one transaction (store_write: the checkpoint throttle
 * applies) and the one written last stays, so that a chunk written in
 * pieces is stored once.  A write into a chunk already stored reads it
 * back first (read-modify-write); a chunk never written is a hole, read
 * as zeros and stored as zeros by stage_finish.  The first flush takes
 * the generation and queues it in gc in the same transaction, pinned: a
 * crash or kill leaves nothing the next open does not collect, and
 * store_stage_close drops the chunks of a stage never published the same
 * way as those of a replaced value (store/chunks.c).  The switch itself
 * is store_value_put_stage (store/value.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define NO_CHUNK	UINT64_MAX

int store_stage_open(struct store *st, struct store_stage **out)
{
	struct store_stage *sg = calloc(1, sizeof(*sg));

	if (!sg)
		return -ENOMEM;
	sg->st = st;
	sg->last = NO_CHUNK;
	sg->short_idx = NO_CHUNK;
	*out = sg;
	return 0;
}

uint64_t store_stage_size(const struct store_stage *sg)
{
	return sg->size;
}

static bool have_get(const struct store_stage *sg, uint64_t idx)
{
	return idx / 8 < sg->havecap && (sg->have[idx / 8] >> (idx % 8) & 1);
}

static int have_set(struct store_stage *sg, uint64_t idx)
{
	if (idx / 8 >= sg->havecap) {
		size_t cap = sg->havecap ? sg->havecap : 64;
		unsigned char *n;

		while (cap <= idx / 8)
			cap *= 2;
		n = realloc(sg->have, cap);
		if (!n)
			return -ENOMEM;
		memset(n + sg->havecap, 0, cap - sg->havecap);
		sg->have = n;
		sg->havecap = cap;
	}
	sg->have[idx / 8] |= (unsigned char)(1u << (idx % 8));
	return 0;
}

static void have_clear(struct store_stage *sg, uint64_t idx)
{
	if (idx / 8 < sg->havecap)
		sg->have[idx / 8] &= (unsigned char)~(1u << (idx % 8));
}

static struct stage_buf *cache_find(struct store_stage *sg, uint64_t idx)
{
	unsigned i;

	for (i = 0; i < sg->ncache; i++)
		if (sg->cache[i].idx == idx)
			return &sg->cache[i];
	return NULL;
}

/* Make the bytes of b up to upto real: zeros where nothing was written. */
static void buf_fill(struct stage_buf *b, size_t upto)
{
	if (upto > b->fill) {
		memset(b->data + b->fill, 0, upto - b->fill);
		b->fill = upto;
	}
}

static uint64_t nchunks(const struct store_stage *sg, uint64_t size)
{
	return (size + sg->st->chunk - 1) / sg->st->chunk;
}

/* Bytes chunk idx is stored with: the last one exact when finishing. */
static size_t stored_len(const struct store_stage *sg, uint64_t idx,
			 bool exact)
{
	uint64_t off = idx * sg->st->chunk;

	if (exact && sg->size - off < sg->st->chunk)
		return (size_t)(sg->size - off);
	return sg->st->chunk;
}

struct flush_arg {
	struct store_stage *sg;
	bool exact;		/* the last chunk at its exact length */
	uint64_t hole_from, hole_to;	/* zero chunks to store, if absent */
};

/* Take the generation, pinned and queued in gc, in this transaction. */
static int stage_gen(struct store *st, MDB_txn *txn, struct store_stage *sg)
{
	unsigned char kb[8];
	MDB_val k = { sizeof(kb), kb }, v = { 0, NULL };
	int rc;

	if (sg->gen_committed)
		return 0;
	/* an earlier try of this transaction aborted: its gen is void */
	if (sg->gen)
		pin_put(st, sg->gen);
	sg->gen = store_new_gen(st);
	rc = pin_get(st, sg->gen);
	if (rc) {
		sg->gen = 0;
		return rc;
	}
	be64(kb, sg->gen);
	return mdb_put(txn, st->gc, &k, &v, 0);
}

static int put_chunk(struct store *st, MDB_txn *txn, uint64_t gen,
		     uint64_t idx, const char *data, size_t len)
{
	unsigned char kb[12];
	MDB_val k = { sizeof(kb), kb }, d = { len, NULL };
	int rc;

	chunk_key(kb, gen, idx);
	rc = mdb_put(txn, st->data, &k, &d, MDB_RESERVE);
	if (rc)
		return rc;
	if (data)
		memcpy(d.mv_data, data, len);
	else
		memset(d.mv_data, 0, len);
	return cap_chunk(st, gen, idx, d.mv_data, len);
}

static int flush_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct flush_arg *fa = arg;
	struct store_stage *sg = fa->sg;
	uint64_t idx;
	unsigned i;
	int rc;

	rc = stage_gen(st, txn, sg);
	for (i = 0; !rc && i < sg->nflush; i++) {
		struct stage_buf *b = sg->flush[i];
		size_t n = stored_len(sg, b->idx, fa->exact);

		buf_fill(b, n);
		rc = put_chunk(st, txn, sg->gen, b->idx, b->data, n);
	}
	for (idx = fa->hole_from; !rc && idx < fa->hole_to; idx++)
		if (!have_get(sg, idx) && !cache_find(sg, idx))
			rc = put_chunk(st, txn, sg->gen, idx, NULL,
				       stored_len(sg, idx, fa->exact));
	return rc;
}

/* Commit what fa says; on success the gen is committed. */
static int flush_run(struct store_stage *sg, struct flush_arg *fa)
{
	struct store *st = sg->st;
	uint64_t idx;
	unsigned i;
	int rc;

	rc = store_write_alone(st, flush_txn, fa);
	if (rc) {
		if (!sg->gen_committed && sg->gen) {
			pin_put(st, sg->gen);
			sg->gen = 0;
		}
		return rc;
	}
	sg->gen_committed = true;
	for (i = 0; i < sg->nflush; i++) {
		idx = sg->flush[i]->idx;
		rc = have_set(sg, idx);
		if (rc)
			return rc;
		if (fa->exact && stored_len(sg, idx, true) < st->chunk)
			sg->short_idx = idx;
		else if (sg->short_idx == idx)
			sg->short_idx = NO_CHUNK;
	}
	for (idx = fa->hole_from; idx < fa->hole_to; idx++) {
		if (have_get(sg, idx) || cache_find(sg, idx))
			continue;
		rc = have_set(sg, idx);
		if (rc)
			return rc;
		if (fa->exact && stored_len(sg, idx, true) < st->chunk)
			sg->short_idx = idx;
	}
	return 0;
}

/* Drop the cache's buffers that were flushed. */
static void cache_drop_flushed(struct store_stage *sg)
{
	unsigned i, j;

	for (i = 0; i < sg->nflush; i++) {
		struct stage_buf *b = sg->flush[i];

		free(b->data);
		b->data = NULL;
	}
	for (i = j = 0; i < sg->ncache; i++)
		if (sg->cache[i].data)
			sg->cache[j++] = sg->cache[i];
	sg->ncache = j;
	sg->nflush = 0;
}

/* Write the buffers listed in sg->flush, then drop them from the cache. */
static int flush_listed(struct store_stage *sg, struct flush_arg *fa)
{
	int rc = flush_run(sg, fa);

	if (rc) {
		sg->nflush = 0;
		return rc;
	}
	cache_drop_flushed(sg);
	return 0;
}

/* Write the cached chunks (but the one written last, if keep). */
static int cache_flush(struct store_stage *sg, bool keep, bool exact)
{
	struct flush_arg fa = { .sg = sg, .exact = exact };
	unsigned i;

	sg->nflush = 0;
	for (i = 0; i < sg->ncache; i++)
		if (!keep || sg->cache[i].idx != sg->last)
			sg->flush[sg->nflush++] = &sg->cache[i];
	return sg->nflush ? flush_listed(sg, &fa) : 0;
}

/* Read chunk idx as stored (zeros past its stored length) into buf. */
static int chunk_load(struct store_stage *sg, MDB_txn *txn, uint64_t idx,
		      char *buf)
{
	unsigned char kb[12];
	MDB_val k = { sizeof(kb), kb }, d;
	size_t n;
	int rc;

	chunk_key(kb, sg->gen, idx);
	rc = mdb_get(txn, sg->st->data, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? -EIO : store_err(rc);
	n = d.mv_size < sg->st->chunk ? d.mv_size : sg->st->chunk;
	memcpy(buf, d.mv_data, n);
	memset(buf + n, 0, sg->st->chunk - n);
	return 0;
}

/*
 * The cache's buffer of chunk idx, made room for and filled with what the
 * chunk holds (nothing yet: a hole or whole, which the caller overwrites).
 */
static int cache_get(struct store_stage *sg, uint64_t idx, bool whole,
		     struct stage_buf **out)
{
	struct store *st = sg->st;
	struct stage_buf *b = cache_find(sg, idx);
	MDB_txn *txn;
	char *data;
	int rc;

	if (b) {
		*out = b;
		return 0;
	}
	if (sg->ncache == stage_cache(st)) {
		rc = cache_flush(sg, true, false);
		if (rc)
			return rc;
	}
	data = malloc(st->chunk);
	if (!data)
		return -ENOMEM;
	if (!whole && have_get(sg, idx)) {
		rc = store_read_begin(st, &txn);
		if (!rc) {
			rc = chunk_load(sg, txn, idx, data);
			store_read_end(st, txn);
		}
		if (rc) {
			free(data);
			return rc;
		}
	}
	b = &sg->cache[sg->ncache++];
	b->idx = idx;
	b->data = data;
	b->fill = !whole && have_get(sg, idx) ? st->chunk : 0;
	*out = b;
	return 0;
}

int store_stage_write(struct store_stage *sg, const void *buf, size_t len,
		      uint64_t off)
{
	size_t chunk = sg->st->chunk;
	const char *src = buf;
	uint64_t end = off + len;
	int rc;

	if (sg->published)
		return -EINVAL;
	if (end < off)
		return -EFBIG;
	while (off < end) {
		uint64_t idx = off / chunk, in = off % chunk;
		size_t n = chunk - in < end - off ? (size_t)(chunk - in)
						   : (size_t)(end - off);
		struct stage_buf *b;

		rc = cache_get(sg, idx, n == chunk, &b);
		if (rc)
			return rc;
		buf_fill(b, (size_t)in);
		memcpy(b->data + in, src, n);
		if (in + n > b->fill)
			b->fill = (size_t)(in + n);
		sg->last = idx;
		src += n;
		off += n;
		if (off > sg->size)
			sg->size = off;
	}
	return 0;
}

ssize_t store_stage_read(struct store_stage *sg, void *buf, size_t len,
			 uint64_t off)
{
	struct store *st = sg->st;
	size_t chunk = st->chunk;
	MDB_txn *txn = NULL;
	uint64_t end;
	char *dst = buf;
	int rc = 0;

	if (off >= sg->size)
		return 0;
	end = len < sg->size - off ? off + len : sg->size;
	while (off < end) {
		uint64_t idx = off / chunk, in = off % chunk;
		size_t n = chunk - in < end - off ? (size_t)(chunk - in)
						   : (size_t)(end - off);
		struct stage_buf *b = cache_find(sg, idx);

		if (b) {
			buf_fill(b, (size_t)(in + n));
			memcpy(dst, b->data + in, n);
		} else if (have_get(sg, idx)) {
			unsigned char kb[12];
			MDB_val k = { sizeof(kb), kb }, d;
			size_t have = 0;

			if (!txn && (rc = store_read_begin(st, &txn)))
				break;
			chunk_key(kb, sg->gen, idx);
			rc = mdb_get(txn, st->data, &k, &d);
			if (rc) {
				rc = rc == MDB_NOTFOUND ? -EIO : store_err(rc);
				break;
			}
			if (d.mv_size > in)
				have = d.mv_size - in < n ? d.mv_size - in : n;
			memcpy(dst, (char *)d.mv_data + in, have);
			memset(dst + have, 0, n - have);
		} else {
			memset(dst, 0, n);
		}
		dst += n;
		off += n;
	}
	if (txn)
		store_read_end(st, txn);
	if (rc)
		return rc;
	return dst - (char *)buf;
}

struct cut_arg {
	struct store_stage *sg;
	uint64_t from;		/* chunks from this index go */
};

static int cut_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct cut_arg *ca = arg;
	int rc = chunks_delete(st, txn, ca->sg->gen, ca->from);

	return rc ? rc : cap_gen(st, STORE_CHANGE_TRIM, ca->sg->gen, ca->from);
}

int store_stage_truncate(struct store_stage *sg, uint64_t size)
{
	uint64_t keep = nchunks(sg, size), idx, top;
	size_t chunk = sg->st->chunk;
	unsigned i, j;
	int rc;

	if (sg->published)
		return -EINVAL;
	if (size < sg->size) {
		/* the chunks past the end go, from memory and the table */
		for (i = j = 0; i < sg->ncache; i++) {
			if (sg->cache[i].idx >= keep)
				free(sg->cache[i].data);
			else
				sg->cache[j++] = sg->cache[i];
		}
		sg->ncache = j;
		top = nchunks(sg, sg->size);
		for (idx = keep; idx < top; idx++)
			if (have_get(sg, idx))
				break;
		if (idx < top) {
			struct cut_arg ca = { .sg = sg, .from = keep };

			rc = store_write(sg->st, cut_txn, &ca);
			if (rc)
				return rc;
			for (idx = keep; idx < top; idx++)
				have_clear(sg, idx);
		}
		if (sg->short_idx != NO_CHUNK && sg->short_idx >= keep)
			sg->short_idx = NO_CHUNK;
		/* what stays of the last chunk past the end reads as zeros */
		if (size % chunk &&
		    (have_get(sg, size / chunk) ||
		     cache_find(sg, size / chunk))) {
			struct stage_buf *b;

			rc = cache_get(sg, size / chunk, false, &b);
			if (rc)
				return rc;
			if (b->fill > size % chunk)
				b->fill = size % chunk;
		}
	}
	sg->size = size;
	return 0;
}

int stage_finish(struct store_stage *sg)
{
	struct flush_arg fa = { .sg = sg, .exact = true };
	uint64_t top = nchunks(sg, sg->size), idx;
	unsigned i;
	int rc;

	/*
	 * A chunk stored short (at an earlier finish) and the last one are
	 * rewritten: full, and at the exact length.
	 */
	if (sg->short_idx != NO_CHUNK && sg->short_idx < top) {
		struct stage_buf *b;

		rc = cache_get(sg, sg->short_idx, false, &b);
		if (rc)
			return rc;
	}
	if (top) {
		struct stage_buf *b;

		rc = cache_get(sg, top - 1, false, &b);
		if (rc)
			return rc;
	}
	/* holes, in transactions of at most stage_cache() chunks */
	for (idx = 0; idx + 1 < top; idx++) {
		struct flush_arg ha = { .sg = sg, .exact = true };

		if (have_get(sg, idx) || cache_find(sg, idx))
			continue;
		ha.hole_from = idx;
		ha.hole_to = idx + stage_cache(sg->st) < top - 1
				     ? idx + stage_cache(sg->st) : top - 1;
		rc = flush_run(sg, &ha);
		if (rc)
			return rc;
		idx = ha.hole_to - 1;
	}
	sg->nflush = 0;
	for (i = 0; i < sg->ncache; i++)
		sg->flush[sg->nflush++] = &sg->cache[i];
	return sg->nflush || !sg->gen_committed ? flush_listed(sg, &fa) : 0;
}

void store_stage_close(struct store_stage *sg)
{
	struct store *st;
	unsigned i;

	if (!sg)
		return;
	st = sg->st;
	for (i = 0; i < sg->ncache; i++)
		free(sg->cache[i].data);
	/*
	 * Never published: its generation is in gc, and goes as a replaced
	 * value's does once this pin is released.
	 */
	if (sg->gen && pin_put(st, sg->gen) && !sg->published) {
		__atomic_store_n(&st->gc_queued, true, __ATOMIC_RELEASE);
		value_collect_queued(st);
	}
	free(sg->have);
	free(sg);
}
