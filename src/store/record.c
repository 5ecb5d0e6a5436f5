/*
 * record.c - the on-disk form of a key record.
 *
 * Version 2, written by this kvfs: a version byte, the type, the flags,
 * then the attributes as unsigned LEB128 varints (signed ones zigzagged)
 * in a fixed order, then, if the key has metadata, its length (varint)
 * and the JSON bytes, then the value when it is small.  Of the four
 * times, mtime is written whole (seconds, nanoseconds); each of ctime,
 * btime and atime is a varint tag k: k below its own place names the
 * earlier time it equals (most keys have at most two distinct times), k
 * equal to its place says the time follows whole.  A key of 100 bytes
 * takes about 40 bytes of attributes instead of version 1's fixed 96,
 * which matters as records share 4 KiB pages.
 *
 * The type is a key with a value (KV_FILE), a directory marker (KV_DIR) or
 * a symbolic link (KV_LINK), whose value, always inline, is its target;
 * links came without a new version, as nothing else in a record changed.
 *
 * Version 1 (a fixed, packed header in native byte order) is still read,
 * so that a store written by an older kvfs opens; records are rewritten in
 * version 2 as they change.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store/internal.h"

#define REC_V1		1
#define REC_V2		2
#define REC_CHUNKED	0x1
#define REC_META	0x2

/* The longest attribute part of a version 2 record. */
#define REC_HEAD_MAX	(3 + 7 * 10 + 2 * 10 + 3 * (1 + 2 * 10))

/* Version 1: the fixed header. */
struct rec_time {
	int64_t sec;
	uint32_t nsec;
} __attribute__((packed));

struct rec_v1 {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t mode, uid, gid;
	uint64_t ino, gen, size;
	int64_t expiration;
	struct rec_time atime, mtime, ctime, btime;
} __attribute__((packed));

/* A bounded reader of varints. */
struct cursor {
	const unsigned char *p, *end;
	bool bad;
};

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

static unsigned char *put_s64(unsigned char *p, int64_t v)
{
	return put_u64(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static uint64_t get_u64(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 64; shift += 7) {
		unsigned char b;

		if (c->p >= c->end)
			break;
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

/* Version 1's metadata length: 32 bits, native order. */
static uint32_t get_u32(struct cursor *c)
{
	uint32_t v = 0;

	if ((size_t)(c->end - c->p) < sizeof(v)) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p, sizeof(v));
	c->p += sizeof(v);
	return v;
}

static int64_t get_s64(struct cursor *c)
{
	uint64_t v = get_u64(c);

	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The attributes of r as version 2 puts them; their length. */
static size_t encode_head(const struct rec *r, unsigned char *out)
{
	const struct timespec *t[4] = { &r->a.mtime, &r->a.ctime,
					&r->a.btime, &r->a.atime };
	unsigned char *p = out;
	unsigned i, k;

	*p++ = REC_V2;
	*p++ = (unsigned char)r->a.type;
	*p++ = (unsigned char)((r->chunked ? REC_CHUNKED : 0) |
			       (r->metalen ? REC_META : 0));
	p = put_u64(p, r->a.mode);
	p = put_u64(p, r->a.uid);
	p = put_u64(p, r->a.gid);
	p = put_u64(p, r->a.ino);
	p = put_u64(p, r->a.gen);
	p = put_u64(p, r->a.size);
	p = put_s64(p, r->a.expiration);
	for (i = 0; i < 4; i++) {
		for (k = 0; k < i && !same_time(t[k], t[i]); k++)
			;
		if (i > 0)
			p = put_u64(p, k);
		if (k == i) {
			p = put_s64(p, t[i]->tv_sec);
			p = put_u64(p, (uint64_t)t[i]->tv_nsec);
		}
	}
	return (size_t)(p - out);
}

size_t rec_size(const struct rec *r, size_t inl_len)
{
	unsigned char head[REC_HEAD_MAX];
	size_t n = encode_head(r, head);

	if (r->metalen)
		n += (size_t)(put_u64(head, r->metalen) - head) + r->metalen;
	return n + inl_len;
}

void rec_encode(const struct rec *r, size_t inl_len, void *buf)
{
	unsigned char *p = buf;

	p += encode_head(r, p);
	if (r->metalen) {
		p = put_u64(p, r->metalen);
		memcpy(p, r->meta, r->metalen);
		p += r->metalen;
	}
	if (inl_len)
		memcpy(p, r->inl, inl_len);
}

static void get_time(struct cursor *c, struct timespec *ts)
{
	uint64_t nsec;

	ts->tv_sec = (time_t)get_s64(c);
	nsec = get_u64(c);
	if (nsec >= 1000000000u)
		c->bad = true;
	ts->tv_nsec = (long)nsec;
}

static int decode_v2(struct cursor *c, struct rec *out, unsigned *flags)
{
	struct timespec *t[4] = { &out->a.mtime, &out->a.ctime,
				  &out->a.btime, &out->a.atime };
	uint64_t v[3];
	unsigned i;

	*flags = c->p[2];
	out->a.type = c->p[1];
	c->p += 3;
	for (i = 0; i < 3; i++) {
		v[i] = get_u64(c);
		if (v[i] > UINT32_MAX)
			c->bad = true;
	}
	out->a.mode = (uint32_t)v[0];
	out->a.uid = (uint32_t)v[1];
	out->a.gid = (uint32_t)v[2];
	out->a.ino = get_u64(c);
	out->a.gen = get_u64(c);
	out->a.size = get_u64(c);
	out->a.expiration = get_s64(c);
	get_time(c, t[0]);
	for (i = 1; i < 4 && !c->bad; i++) {
		uint64_t k = get_u64(c);

		if (k < i)
			*t[i] = *t[k];
		else if (k == i)
			get_time(c, t[i]);
		else
			c->bad = true;
	}
	return c->bad ? -EIO : 0;
}

static int decode_v1(struct cursor *c, struct rec *out, unsigned *flags)
{
	struct rec_v1 d;

	if ((size_t)(c->end - c->p) < sizeof(d))
		return -EIO;
	memcpy(&d, c->p, sizeof(d));
	c->p += sizeof(d);
	/* as decode_v2 checks: a rewrite of it must decode too */
	if (d.atime.nsec >= 1000000000u || d.mtime.nsec >= 1000000000u ||
	    d.ctime.nsec >= 1000000000u || d.btime.nsec >= 1000000000u)
		return -EIO;
	*flags = d.flags;
	out->a.type = d.type;
	out->a.mode = d.mode;
	out->a.uid = d.uid;
	out->a.gid = d.gid;
	out->a.ino = d.ino;
	out->a.gen = d.gen;
	out->a.size = d.size;
	out->a.expiration = d.expiration;
	out->a.atime.tv_sec = d.atime.sec;
	out->a.atime.tv_nsec = d.atime.nsec;
	out->a.mtime.tv_sec = d.mtime.sec;
	out->a.mtime.tv_nsec = d.mtime.nsec;
	out->a.ctime.tv_sec = d.ctime.sec;
	out->a.ctime.tv_nsec = d.ctime.nsec;
	out->a.btime.tv_sec = d.btime.sec;
	out->a.btime.tv_nsec = d.btime.nsec;
	return 0;
}

int rec_decode(const void *buf, size_t len, struct rec *out)
{
	struct cursor c = { buf, (const unsigned char *)buf + len, false };
	bool v1;
	unsigned flags;
	size_t left;
	int rc;

	if (len < 3)
		return -EIO;
	memset(out, 0, sizeof(*out));
	v1 = c.p[0] == REC_V1;
	if (c.p[0] == REC_V2)
		rc = decode_v2(&c, out, &flags);
	else if (v1)
		rc = decode_v1(&c, out, &flags);
	else
		rc = -EIO;
	if (rc || (out->a.type != KV_FILE && out->a.type != KV_DIR &&
		   out->a.type != KV_LINK))
		return -EIO;
	out->chunked = flags & REC_CHUNKED;
	if (out->chunked && out->a.type == KV_LINK)
		return -EIO;	/* a link's target is always inline */
	if (flags & REC_META) {
		uint64_t n = v1 ? get_u32(&c) : get_u64(&c);

		if (c.bad || n == 0 || (uint64_t)(c.end - c.p) < n)
			return -EIO;
		out->meta = c.p;
		out->metalen = (size_t)n;
		c.p += n;
	}
	left = (size_t)(c.end - c.p);
	if (!out->chunked) {
		if (left != out->a.size)
			return -EIO;
		out->inl = c.p;
	}
	return 0;
}
