/*
 * unit_record.c - the on-disk record: version 2 round trips (keys,
 * directories, symbolic links), version 1 records written by an older
 * kvfs still read, and damaged records are refused rather than read past
 * their end.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "store/internal.h"
#include "tap.h"

static bool same_attr(const struct kv_attr *a, const struct kv_attr *b)
{
	return a->ino == b->ino && a->gen == b->gen && a->size == b->size &&
	       a->type == b->type && a->mode == b->mode && a->uid == b->uid &&
	       a->gid == b->gid && a->expiration == b->expiration &&
	       !memcmp(&a->atime, &b->atime, sizeof(a->atime)) &&
	       !memcmp(&a->mtime, &b->mtime, sizeof(a->mtime)) &&
	       !memcmp(&a->ctime, &b->ctime, sizeof(a->ctime)) &&
	       !memcmp(&a->btime, &b->btime, sizeof(a->btime));
}

/* Encode r with its inline value, decode it, compare; the size. */
static size_t round_trip(const struct rec *r, const char *what)
{
	size_t inl = r->chunked ? 0 : r->a.size, n = rec_size(r, inl);
	unsigned char *buf = malloc(n);
	struct rec back;
	int rc;

	rec_encode(r, inl, buf);
	rc = rec_decode(buf, n, &back);
	ok(rc == 0 && same_attr(&r->a, &back.a) &&
	   back.chunked == r->chunked && back.metalen == r->metalen &&
	   (!r->metalen || !memcmp(back.meta, r->meta, r->metalen)) &&
	   (r->chunked || !inl || !memcmp(back.inl, r->inl, inl)),
	   "%s: decodes as encoded (%zu bytes)", what, n);
	free(buf);
	return n;
}

static void ts(struct timespec *t, time_t sec, long nsec)
{
	t->tv_sec = sec;
	t->tv_nsec = nsec;
}

/* The packed header kvfs 0.1 wrote (version 1), native byte order. */
struct v1_time {
	int64_t sec;
	uint32_t nsec;
} __attribute__((packed));

struct v1 {
	uint8_t version, type;
	uint16_t flags;
	uint32_t mode, uid, gid;
	uint64_t ino, gen, size;
	int64_t expiration;
	struct v1_time atime, mtime, ctime, btime;
} __attribute__((packed));

static void version1(void)
{
	unsigned char buf[sizeof(struct v1) + 4 + 7 + 5];
	struct v1 d = {
		.version = 1, .type = KV_FILE, .flags = 0x2,
		.mode = 0640, .uid = 1000, .gid = 100, .ino = 77, .gen = 9,
		.size = 5, .expiration = 1800000000,
		.atime = { 1700000001, 1 }, .mtime = { 1700000002, 2 },
		.ctime = { 1700000003, 3 }, .btime = { 1700000000, 0 },
	};
	uint32_t metalen = 7;
	struct rec r;

	memcpy(buf, &d, sizeof(d));
	memcpy(buf + sizeof(d), &metalen, 4);
	memcpy(buf + sizeof(d) + 4, "{\"a\":1}", 7);
	memcpy(buf + sizeof(d) + 4 + 7, "hello", 5);
	is_int(rec_decode(buf, sizeof(buf), &r), 0,
	       "a version 1 record still reads");
	ok(r.a.ino == 77 && r.a.gen == 9 && r.a.size == 5 &&
	   r.a.mode == 0640 && r.a.uid == 1000 && r.a.gid == 100 &&
	   r.a.expiration == 1800000000 && r.a.atime.tv_sec == 1700000001 &&
	   r.a.mtime.tv_nsec == 2 && r.a.ctime.tv_sec == 1700000003 &&
	   r.a.btime.tv_sec == 1700000000, "with its attributes");
	ok(r.metalen == 7 && !memcmp(r.meta, "{\"a\":1}", 7) &&
	   !memcmp(r.inl, "hello", 5), "its metadata and value");
	is_int(rec_decode(buf, sizeof(buf) - 1, &r), -EIO,
	       "a version 1 record one byte short: EIO");
}

int main(void)
{
	char value[100];
	struct rec r, got;
	size_t n, i, bad = 0;
	unsigned char *buf;

	memset(value, 'v', sizeof(value));
	memset(&r, 0, sizeof(r));
	r.a.type = KV_FILE;
	r.a.mode = 0644;
	r.a.ino = 123456;
	r.a.gen = 654321;
	r.a.size = sizeof(value);
	r.inl = value;
	ts(&r.a.btime, 1795339200, 123456789);
	r.a.atime = r.a.btime;
	ts(&r.a.mtime, 1795339201, 987654321);
	r.a.ctime = r.a.mtime;
	n = round_trip(&r, "a 100-byte key");
	ok(n <= sizeof(value) + 40, "its attributes take %zu bytes (<= 40)",
	   n - sizeof(value));

	ts(&r.a.atime, -1, 999999999);		/* before 1970 */
	ts(&r.a.ctime, LLONG_MAX / 2, 0);
	r.a.expiration = INT64_MAX;
	r.a.uid = r.a.gid = UINT32_MAX;
	r.a.ino = r.a.gen = UINT64_MAX;
	r.meta = "{\"plan\":\"pro\"}";
	r.metalen = 14;
	round_trip(&r, "four distinct times, extreme numbers, metadata");

	r.chunked = true;
	r.a.size = 25u << 20;
	round_trip(&r, "a chunked value");

	memset(&r, 0, sizeof(r));
	r.a.type = KV_DIR;
	r.a.mode = 0755;
	round_trip(&r, "a directory marker at the epoch");

	/* a symbolic link: its target is its value, always inline */
	memset(&r, 0, sizeof(r));
	r.a.type = KV_LINK;
	r.a.mode = 0777;
	r.a.size = 9;
	r.inl = "../target";
	ts(&r.a.mtime, 1795339201, 5);
	round_trip(&r, "a symbolic link and its target");
	n = rec_size(&r, 9);
	buf = malloc(n);
	rec_encode(&r, 9, buf);
	buf[1] = KV_LINK + 1;
	is_int(rec_decode(buf, n, &got), -EIO, "an unknown type: EIO");
	free(buf);
	r.chunked = true;
	n = rec_size(&r, 0);
	buf = malloc(n);
	rec_encode(&r, 0, buf);
	is_int(rec_decode(buf, n, &got), -EIO, "a chunked link: EIO");
	free(buf);

	/* every truncation of a record, and a stray byte, are refused */
	memset(&r, 0, sizeof(r));
	r.a.type = KV_FILE;
	r.a.size = 3;
	r.inl = "abc";
	r.meta = "[1]";
	r.metalen = 3;
	ts(&r.a.mtime, 1795339201, 5);
	n = rec_size(&r, 3);
	buf = malloc(n + 1);
	rec_encode(&r, 3, buf);
	for (i = 0; i < n; i++) {
		struct rec back;

		if (rec_decode(buf, i, &back) != -EIO)
			bad++;
	}
	is_int(bad, 0, "each of its %zu shorter prefixes: EIO", n);
	buf[n] = 'x';
	is_int(rec_decode(buf, n + 1, &r), -EIO, "a byte too many: EIO");
	buf[0] = 3;
	is_int(rec_decode(buf, n, &r), -EIO, "an unknown version: EIO");
	free(buf);

	version1();
	return tap_done();
}
