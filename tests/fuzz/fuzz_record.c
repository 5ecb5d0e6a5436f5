/*
 * fuzz_record.c - libFuzzer target for rec_decode(), the reader of the
 * key records a store holds on disk (store/record.c, versions 1 and 2).
 *
 * The input is a record as LMDB would hand it over.  A damaged one must be
 * refused with EIO, never read past its end (the copy is sized exactly,
 * for AddressSanitizer); one that is accepted must point only inside the
 * input, be a file or a directory, and survive what kvfs does to every
 * record it changes: written again as version 2 and read back, with the
 * same attributes, metadata and value.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/internal.h"
#include "fuzz.h"

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool same_rec(const struct rec *a, const struct rec *b)
{
	return a->a.ino == b->a.ino && a->a.gen == b->a.gen &&
	       a->a.size == b->a.size && a->a.type == b->a.type &&
	       a->a.mode == b->a.mode && a->a.uid == b->a.uid &&
	       a->a.gid == b->a.gid && a->a.expiration == b->a.expiration &&
	       same_time(&a->a.atime, &b->a.atime) &&
	       same_time(&a->a.mtime, &b->a.mtime) &&
	       same_time(&a->a.ctime, &b->a.ctime) &&
	       same_time(&a->a.btime, &b->a.btime) &&
	       a->chunked == b->chunked && a->metalen == b->metalen &&
	       (!a->metalen || !memcmp(a->meta, b->meta, a->metalen)) &&
	       (a->chunked || !a->a.size ||
		!memcmp(a->inl, b->inl, a->a.size));
}

static bool inside(const void *p, size_t n, const char *buf, size_t len)
{
	const char *q = p;

	return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

/* A time the kernel and utimensat(2) would take: nanoseconds < 10^9. */
static bool valid_time(const struct timespec *t)
{
	return t->tv_nsec >= 0 && t->tv_nsec < 1000000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size);
	unsigned char *enc, *enc2;
	struct rec r, back, again;
	size_t inl, n, i;
	int rc;

	rc = rec_decode(buf, size, &r);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc) {
		free(buf);
		return 0;
	}

	FUZZ_CHECK(r.a.type == KV_FILE || r.a.type == KV_DIR ||
		   r.a.type == KV_LINK);
	FUZZ_CHECK(!(r.a.type == KV_LINK && r.chunked));
	FUZZ_CHECK(!r.metalen || inside(r.meta, r.metalen, buf, size));
	if (!r.chunked) {
		/* an inline value ends the record exactly */
		FUZZ_CHECK(inside(r.inl, r.a.size, buf, size));
		FUZZ_CHECK((const char *)r.inl + r.a.size == buf + size);
	}
	FUZZ_CHECK(valid_time(&r.a.atime) && valid_time(&r.a.mtime) &&
		   valid_time(&r.a.ctime) && valid_time(&r.a.btime));

	/* written again as version 2, it reads back the same */
	inl = r.chunked ? 0 : r.a.size;
	n = rec_size(&r, inl);
	enc = malloc(n);
	FUZZ_CHECK(enc);
	rec_encode(&r, inl, enc);
	FUZZ_CHECK(enc[0] == 2);
	FUZZ_CHECK(rec_decode(enc, n, &back) == 0);
	FUZZ_CHECK(same_rec(&r, &back));

	/* version 2 is canonical: the same record encodes the same bytes */
	enc2 = malloc(n);
	FUZZ_CHECK(enc2 && rec_size(&back, inl) == n);
	rec_encode(&back, inl, enc2);
	FUZZ_CHECK(!memcmp(enc, enc2, n));

	/* and any shorter prefix of it (the first and last 64) is refused */
	for (i = 0; i < n; i = i < 64 || i + 64 >= n ? i + 1 : n - 64) {
		char *cut = fuzz_copy(enc, i);

		FUZZ_CHECK(rec_decode(cut, i, &again) == -EIO);
		free(cut);
	}

	free(enc2);
	free(enc);
	free(buf);
	return 0;
}
