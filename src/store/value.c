/*
 * value.c - values: open, read, dup, close, and put (staged past
 * STORE_TXN_BYTES), replacing a key's value atomically.
 *
 * A small value lives in its key's record.  A large one is cut into chunks
 * in the data table under a generation number that is never reused; a new
 * value is written under a new generation and the record switched to it in
 * one transaction, so a reader sees the old value or the new, never a mix.
 * A reader pins the generation it opened; the chunks of a generation that
 * was replaced or deleted are queued in the gc table and deleted once no
 * reader pins them (store/chunks.c; at the latest when the store is next
 * opened).  A value larger than STORE_TXN_BYTES is written in several
 * transactions, its generation queued in gc until the switch, so that
 * neither the daemon's memory nor a crash half-way depends on the value's
 * size.  store_value_put_stage switches to a stage's generation
 * (store/stage.c), written as it came, in one small transaction.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"

struct store_value {
	uint64_t gen, size;
	bool chunked;
	char inl[];
};

/* The record of a key, for the value functions. */
int value_rec(struct store *st, MDB_txn *txn, const char *ns,
	      const char *key, size_t len, uint32_t *nsid, struct rec *r)
{
	MDB_val v;
	int rc;

	rc = ns_find(st, txn, ns, nsid, NULL);
	if (rc)
		return rc;
	rc = kvi_get(txn, st->keys, *nsid, key, len, &v);
	if (rc)
		return rc;
	if (rec_decode(v.mv_data, v.mv_size, r))
		return MDB_CORRUPTED;
	if (attr_expired(&r->a, store_clock()))
		return MDB_NOTFOUND;	/* a writer's commit is then dropped */
	return r->a.type == KV_FILE ? 0 : -EISDIR;
}

int store_value_open(struct store *st, const char *ns, const char *key,
		     size_t len, struct store_value **out, struct kv_attr *attr)
{
	struct store_value *v;
	uint32_t nsid;
	MDB_txn *txn;
	struct rec r;
	uint64_t gen;
	int rc, tries;

	for (tries = 0; tries < 100; tries++) {
		rc = store_read_begin(st, &txn);
		if (rc)
			return rc;
		rc = value_rec(st, txn, ns, key, len, &nsid, &r);
		if (rc) {
			store_read_end(st, txn);
			return store_err(rc);
		}
		v = malloc(sizeof(*v) + (r.chunked ? 0 : r.a.size));
		if (!v) {
			store_read_end(st, txn);
			return -ENOMEM;
		}
		v->gen = r.a.gen;
		v->size = r.a.size;
		v->chunked = r.chunked;
		if (!r.chunked)
			memcpy(v->inl, r.inl, r.a.size);
		*attr = r.a;
		store_read_end(st, txn);
		if (!v->chunked) {
			*out = v;
			return 0;
		}
		/*
		 * Pin, then check the key still holds that generation: a
		 * replacement committed before the pin may have had its
		 * chunks deleted, one committed after sees the pin.
		 */
		gen = v->gen;
		rc = pin_get(st, gen);
		if (rc) {
			free(v);
			return rc;
		}
		rc = store_read_begin(st, &txn);
		if (!rc) {
			rc = value_rec(st, txn, ns, key, len, &nsid, &r);
			/* a replica keeping some values: evicted, or never
			 * fetched (store_value_fill) */
			if (!rc && r.a.gen == gen &&
			    !gen_here(st, txn, gen, r.a.size))
				rc = -EREMOTE;
			store_read_end(st, txn);
		}
		if (!rc && r.a.gen == gen) {
			*out = v;
			return 0;
		}
		pin_put(st, gen);
		free(v);
		if (rc)
			return store_err(rc);
	}
	return -EAGAIN;
}

uint64_t store_value_size(const struct store_value *v)
{
	return v->size;
}

uint64_t store_value_gen(const struct store_value *v)
{
	return v->gen;
}

bool store_value_chunked(const struct store_value *v)
{
	return v->chunked;
}

ssize_t store_value_read(struct store *st, struct store_value *v, void *buf,
			 size_t len, off_t off)
{
	uint64_t pos = (uint64_t)off, end;
	char *dst = buf;
	MDB_txn *txn;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	if (pos >= v->size)
		return 0;
	end = pos + len < v->size ? pos + len : v->size;
	if (!v->chunked) {
		memcpy(buf, v->inl + pos, end - pos);
		return (ssize_t)(end - pos);
	}
	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	while (pos < end) {
		uint64_t idx = pos / st->chunk, in = pos % st->chunk, n;
		unsigned char kb[12];
		MDB_val k = { sizeof(kb), kb }, d;

		chunk_key(kb, v->gen, idx);
		rc = mdb_get(txn, st->data, &k, &d);
		if (rc)
			break;
		if (d.mv_size <= in) {
			rc = MDB_CORRUPTED;
			break;
		}
		n = d.mv_size - in;
		if (n > end - pos)
			n = end - pos;
		memcpy(dst, (char *)d.mv_data + in, n);
		dst += n;
		pos += n;
	}
	store_read_end(st, txn);
	if (rc)
		return rc == MDB_NOTFOUND ? -EIO : store_err(rc);
	return dst - (char *)buf;
}

/*
 * LMDB keeps a value larger than about half a page in overflow pages of
 * its own, contiguous in data.mdb, after a page header of 16 bytes: the
 * page's number (8 bytes), 2 bytes of pad, the flags (2 bytes) and the
 * count of pages (4 bytes); mdb_get() points into the read-only map at
 * the value after the header.  Without MDB_WRITEMAP a commit writes its
 * pages to data.mdb at their place in the map (page number x page size),
 * and the pages of a value are not freed, nor written again, while its
 * chunk is kept, which a pin on its generation ensures.  The file offset
 * of d's bytes, or 0 when they are not so: a value in a leaf page, a
 * header this code does not know, or one the file does not hold there.
 */
#define LMDB_PAGEHDR	16u
#define LMDB_P_OVERFLOW	0x04u

static uint64_t overflow_offset(struct store *st, int fd, uint64_t file_end,
				const MDB_val *d)
{
	const char *page = (const char *)d->mv_data - LMDB_PAGEHDR;
	unsigned char hdr[LMDB_PAGEHDR];
	uint64_t pgno, at;
	uint32_t pages;
	uint16_t flags;

	if ((uintptr_t)page % st->psize)
		return 0;
	memcpy(&pgno, page, sizeof(pgno));
	memcpy(&flags, page + 10, sizeof(flags));
	memcpy(&pages, page + 12, sizeof(pages));
	at = pgno * st->psize;
	if (!(flags & LMDB_P_OVERFLOW) || pgno < 2 ||
	    (uint64_t)pages * st->psize < LMDB_PAGEHDR + d->mv_size ||
	    at + LMDB_PAGEHDR + d->mv_size > file_end)
		return 0;
	/* the file holds that page there: the map is the file */
	if (pread(fd, hdr, sizeof(hdr), (off_t)at) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, page, sizeof(hdr)))
		return 0;
	return at + LMDB_PAGEHDR;
}

ssize_t store_value_extents(struct store *st, const struct store_value *v,
			    uint64_t off, size_t len,
			    struct store_extent *ext, unsigned max,
			    unsigned *n)
{
	uint64_t pos = off, end = off + len, fileoff;
	unsigned flags;
	struct stat sb;
	MDB_txn *txn;
	int fd, rc;

	*n = 0;
	if (off > v->size || len > v->size - off)
		return -EINVAL;
	if (!v->chunked || !len || !st->psize)
		return 0;
	/* with MDB_WRITEMAP (env.c never sets it) writes go through the map */
	if (mdb_env_get_flags(st->env, &flags) || (flags & MDB_WRITEMAP))
		return 0;
	if (mdb_env_get_fd(st->env, &fd) || fstat(fd, &sb) < 0)
		return -EIO;
	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	while (pos < end && *n < max) {
		uint64_t idx = pos / st->chunk, in = pos % st->chunk, want, k;
		unsigned char kb[12];
		MDB_val key = { sizeof(kb), kb }, d;

		chunk_key(kb, v->gen, idx);
		rc = mdb_get(txn, st->data, &key, &d);
		if (rc)
			break;
		/* every chunk is whole but the last */
		want = v->size - idx * st->chunk < st->chunk
			       ? v->size - idx * st->chunk : st->chunk;
		if (d.mv_size != want) {
			rc = MDB_CORRUPTED;
			break;
		}
		fileoff = overflow_offset(st, fd, (uint64_t)sb.st_size, &d);
		if (!fileoff)
			break;
		k = d.mv_size - in < end - pos ? d.mv_size - in : end - pos;
		if (*n && ext[*n - 1].off + ext[*n - 1].len == fileoff + in) {
			ext[*n - 1].len += k;
		} else {
			ext[*n] = (struct store_extent){ fd, fileoff + in, k };
			++*n;
		}
		pos += k;
	}
	store_read_end(st, txn);
	if (rc)
		return rc == MDB_NOTFOUND ? -EIO : store_err(rc);
	return (ssize_t)(pos - off);
}

int store_value_dup(struct store *st, const struct store_value *v,
		    struct store_value **out)
{
	size_t n = sizeof(*v) + (v->chunked ? 0 : v->size);
	struct store_value *d = malloc(n);

	if (!d)
		return -ENOMEM;
	/* v's pin keeps the chunks until this one is taken */
	if (v->chunked && pin_get(st, v->gen)) {
		free(d);
		return -ENOMEM;
	}
	memcpy(d, v, n);
	*out = d;
	return 0;
}

void store_value_close(struct store *st, struct store_value *v)
{
	if (v->chunked && pin_put(st, v->gen))
		value_collect(st);
	free(v);
}

struct put_arg {
	const char *ns, *key;
	size_t len;
	uint64_t ino;
	uint64_t if_gen;	/* not 0: the value it must still have */
	const struct store_src *src;
	const struct timespec *mtime;
	unsigned flags;		/* KV_PUT_* */
	struct kv_attr *out;
	uint64_t gen;		/* chunked: the new generation */
	uint64_t from, to;	/* chunk range written by this transaction */
	char *inl;		/* inline: the value */
	bool staged;		/* gen queued in gc until the switch */
};

/* Read exactly len bytes of the source at off. */
static int src_read_full(const struct store_src *src, void *buf, size_t len,
			 uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = src->read(src->ctx, p, len, (off_t)off);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_chunks(struct store *st, MDB_txn *txn, struct put_arg *pa)
{
	uint64_t size = pa->src->size, idx;
	int rc;

	for (idx = pa->from; idx < pa->to; idx++) {
		uint64_t off = idx * st->chunk;
		unsigned char kb[12];
		MDB_val k = { sizeof(kb), kb }, d;

		d.mv_size = size - off < st->chunk ? size - off : st->chunk;
		chunk_key(kb, pa->gen, idx);
		rc = mdb_put(txn, st->data, &k, &d, MDB_RESERVE);
		if (!rc)
			rc = src_read_full(pa->src, d.mv_data, d.mv_size, off);
		if (!rc)
			rc = cap_chunk(st, pa->gen, idx, d.mv_data, d.mv_size);
		if (rc)
			return rc;
	}
	return 0;
}

static int chunks_txn(struct store *st, MDB_txn *txn, void *arg)
{
	return write_chunks(st, txn, arg);
}

static int stage_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct put_arg *pa = arg;
	unsigned char kb[8];
	MDB_val k = { sizeof(kb), kb }, v = { 0, NULL };

	int rc;

	/* pinned before the commit, so no collection can take it */
	if (pa->gen)
		pin_put(st, pa->gen);
	pa->gen = store_new_gen(st);
	rc = pin_get(st, pa->gen);
	if (rc) {
		pa->gen = 0;
		return rc;
	}
	be64(kb, pa->gen);
	return mdb_put(txn, st->gc, &k, &v, 0);
}

/* Switch the key to the new value (and write it, unless staged). */
static int switch_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct put_arg *pa = arg;
	uint64_t size = pa->src->size, used, oldgen;
	uint32_t nsid;
	struct rec r;
	bool chunked = pa->inl == NULL, oldchunked;
	size_t n;
	char *buf;
	int rc;

	rc = value_rec(st, txn, pa->ns, pa->key, pa->len, &nsid, &r);
	if (rc == MDB_NOTFOUND || rc == -EISDIR ||
	    (!rc && r.a.ino != pa->ino))
		return -ESTALE;
	if (rc)
		return rc;
	if (pa->if_gen && r.a.gen != pa->if_gen)
		return -EBUSY;
	used = st->used_bytes - (r.a.size < st->used_bytes ? r.a.size
							    : st->used_bytes);
	if (st->limits.max_storage && used + size > st->limits.max_storage)
		return -ENOSPC;
	if (chunked && !pa->staged)
		pa->gen = store_new_gen(st);
	oldgen = r.a.gen;
	oldchunked = r.chunked;
	r.a.gen = chunked ? pa->gen : store_new_gen(st);
	r.a.size = size;
	r.chunked = chunked;
	r.inl = pa->inl;
	r.a.mtime = *pa->mtime;
	store_now(&r.a.ctime);
	if (pa->flags & KV_PUT_KILL_SUIDGID) {
		r.a.mode &= ~(uint32_t)S_ISUID;
		if (r.a.mode & S_IXGRP)
			r.a.mode &= ~(uint32_t)S_ISGID;
	}
	/* encode first: r.meta points into a page the writes below move */
	n = rec_size(&r, chunked ? 0 : size);
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	rec_encode(&r, chunked ? 0 : size, buf);
	if (chunked && !pa->staged)
		rc = write_chunks(st, txn, pa);
	if (!rc && chunked && pa->staged) {
		unsigned char kb[8];
		MDB_val k = { sizeof(kb), kb };

		be64(kb, pa->gen);
		rc = mdb_del(txn, st->gc, &k, NULL);
	}
	if (!rc && oldchunked)
		rc = value_drop(st, txn, oldgen);
	if (!rc)
		rc = key_put_raw(st, txn, nsid, pa->key, pa->len, buf, n);
	free(buf);
	if (rc)
		return rc;
	st->used_bytes = used + size;
	*pa->out = r.a;
	return ns_touch(st, txn, pa->ns);
}

static int value_put(struct store *st, const char *ns, const char *key,
		     size_t len, uint64_t ino, uint64_t if_gen,
		     const struct store_src *src,
		     const struct timespec *mtime, unsigned flags,
		     struct kv_attr *out)
{
	struct put_arg pa = { .ns = ns, .key = key, .len = len, .ino = ino,
			      .if_gen = if_gen, .src = src, .mtime = mtime, .flags = flags,
			      .out = out };
	uint64_t size = src->size, nchunks, per_txn;
	int rc;

	if (size <= STORE_INLINE_MAX) {
		pa.inl = malloc(size ? size : 1);
		if (!pa.inl)
			return -ENOMEM;
		rc = src_read_full(src, pa.inl, size, 0);
		if (!rc)
			rc = store_write(st, switch_txn, &pa);
		free(pa.inl);
		return rc;
	}

	nchunks = (size + st->chunk - 1) / st->chunk;
	per_txn = STORE_TXN_BYTES / st->chunk;
	if (per_txn == 0)
		per_txn = 1;
	if (nchunks <= per_txn) {
		pa.to = nchunks;
		return store_write_alone(st, switch_txn, &pa);
	}
	pa.staged = true;
	rc = store_write(st, stage_txn, &pa);
	if (rc) {
		if (pa.gen)
			pin_put(st, pa.gen);
		return rc;
	}
	for (pa.from = 0; !rc && pa.from < nchunks; pa.from = pa.to) {
		pa.to = pa.from + per_txn < nchunks ? pa.from + per_txn
						    : nchunks;
		rc = store_write_alone(st, chunks_txn, &pa);
	}
	if (!rc)
		rc = store_write(st, switch_txn, &pa);
	pin_put(st, pa.gen);
	if (rc)
		__atomic_store_n(&st->gc_queued, true, __ATOMIC_RELEASE);
	return rc;
}

int store_value_put(struct store *st, const char *ns, const char *key,
		    size_t len, uint64_t ino, const struct store_src *src,
		    const struct timespec *mtime, unsigned flags,
		    struct kv_attr *out)
{
	int rc = value_put(st, ns, key, len, ino, 0, src, mtime, flags, out);

	value_collect_queued(st);
	return rc;
}

int store_value_put_if(struct store *st, const char *ns, const char *key,
		       size_t len, uint64_t ino, uint64_t gen,
		       const struct store_src *src,
		       const struct timespec *mtime, unsigned flags,
		       struct kv_attr *out)
{
	int rc;

	if (!gen)
		return -EBUSY;
	rc = value_put(st, ns, key, len, ino, gen, src, mtime, flags, out);
	value_collect_queued(st);
	return rc;
}

static ssize_t stage_src_read(void *ctx, void *buf, size_t len, off_t off)
{
	return store_stage_read(ctx, buf, len, (uint64_t)off);
}

static int value_put_stage(struct store *st, const char *ns, const char *key,
			   size_t len, uint64_t ino, uint64_t if_gen,
			   struct store_stage *sg,
			   const struct timespec *mtime, unsigned flags,
			   struct kv_attr *out, struct store_value **val)
{
	struct store_src src = { .read = stage_src_read, .ctx = sg,
				 .size = sg->size };
	struct put_arg pa = { .ns = ns, .key = key, .len = len, .ino = ino,
			      .if_gen = if_gen, .src = &src, .mtime = mtime,
			      .flags = flags, .out = out };
	uint64_t size = sg->size;
	struct store_value *v;
	int rc;

	if (sg->published)
		return -EINVAL;
	if (size <= STORE_INLINE_MAX) {
		/* small: copied into the record, the stage dropped later */
		v = malloc(sizeof(*v) + (size ? size : 1));
		if (!v)
			return -ENOMEM;
		rc = src_read_full(&src, v->inl, size, 0);
		pa.inl = v->inl;
		if (!rc)
			rc = store_write(st, switch_txn, &pa);
		if (rc) {
			free(v);
			return rc;
		}
		v->gen = out->gen;
		v->size = size;
		v->chunked = false;
	} else {
		rc = stage_finish(sg);
		if (rc)
			return rc;
		v = malloc(sizeof(*v));
		if (!v)
			return -ENOMEM;
		/* the value's own pin, taken while the stage's holds */
		rc = pin_get(st, sg->gen);
		if (rc) {
			free(v);
			return rc;
		}
		pa.staged = true;
		pa.gen = sg->gen;
		rc = store_write(st, switch_txn, &pa);
		if (rc) {
			pin_put(st, sg->gen);
			free(v);
			return rc;
		}
		sg->published = true;
		v->gen = sg->gen;
		v->size = size;
		v->chunked = true;
	}
	if (val)
		*val = v;
	else
		store_value_close(st, v);
	return 0;
}

int store_value_put_stage(struct store *st, const char *ns, const char *key,
			  size_t len, uint64_t ino, struct store_stage *sg,
			  const struct timespec *mtime, unsigned flags,
			  struct kv_attr *out, struct store_value **val)
{
	int rc = value_put_stage(st, ns, key, len, ino, 0, sg, mtime, flags,
				 out, val);

	value_collect_queued(st);
	return rc;
}

int store_value_put_stage_if(struct store *st, const char *ns,
			     const char *key, size_t len, uint64_t ino,
			     uint64_t gen, struct store_stage *sg,
			     const struct timespec *mtime, unsigned flags,
			     struct kv_attr *out, struct store_value **val)
{
	int rc;

	if (!gen)
		return -EBUSY;
	rc = value_put_stage(st, ns, key, len, ino, gen, sg, mtime, flags,
			     out, val);
	value_collect_queued(st);
	return rc;
}
