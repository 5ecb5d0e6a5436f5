/*
 * record.c - the on-disk form of a key record.
 *
 * A fixed little header (native byte order, like LMDB itself) with the
 * attributes; then, if the key has metadata, its length (32 bits) and the
 * JSON bytes; then the value when it is small.  The version byte lets a
 * later kvfs read records written by this one.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store_int.h"

#define REC_VERSION	1
#define REC_CHUNKED	0x1
#define REC_META	0x2

struct rec_time {
	int64_t sec;
	uint32_t nsec;
} __attribute__((packed));

struct rec_disk {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t mode, uid, gid;
	uint64_t ino, gen, size;
	int64_t expiration;
	struct rec_time atime, mtime, ctime, btime;
} __attribute__((packed));

static void put_time(struct rec_time *d, const struct timespec *ts)
{
	d->sec = ts->tv_sec;
	d->nsec = (uint32_t)ts->tv_nsec;
}

static void get_time(struct timespec *ts, const struct rec_time *d)
{
	ts->tv_sec = d->sec;
	ts->tv_nsec = d->nsec;
}

size_t rec_size(const struct rec *r, size_t inl_len)
{
	size_t meta = r->metalen ? sizeof(uint32_t) + r->metalen : 0;

	return sizeof(struct rec_disk) + meta + inl_len;
}

void rec_encode(const struct rec *r, size_t inl_len, void *buf)
{
	char *p = (char *)buf + sizeof(struct rec_disk);
	struct rec_disk d;

	memset(&d, 0, sizeof(d));
	d.version = REC_VERSION;
	d.type = (uint8_t)r->a.type;
	d.flags = (r->chunked ? REC_CHUNKED : 0) | (r->metalen ? REC_META : 0);
	d.mode = r->a.mode;
	d.uid = r->a.uid;
	d.gid = r->a.gid;
	d.ino = r->a.ino;
	d.gen = r->a.gen;
	d.size = r->a.size;
	d.expiration = r->a.expiration;
	put_time(&d.atime, &r->a.atime);
	put_time(&d.mtime, &r->a.mtime);
	put_time(&d.ctime, &r->a.ctime);
	put_time(&d.btime, &r->a.btime);
	memcpy(buf, &d, sizeof(d));
	if (r->metalen) {
		uint32_t n = (uint32_t)r->metalen;

		memcpy(p, &n, sizeof(n));
		memcpy(p + sizeof(n), r->meta, r->metalen);
		p += sizeof(n) + r->metalen;
	}
	if (inl_len)
		memcpy(p, r->inl, inl_len);
}

int rec_decode(const void *buf, size_t len, struct rec *out)
{
	const char *p = (const char *)buf + sizeof(struct rec_disk);
	struct rec_disk d;

	if (len < sizeof(d))
		return -EIO;
	memcpy(&d, buf, sizeof(d));
	len -= sizeof(d);
	if (d.version != REC_VERSION ||
	    (d.type != KV_FILE && d.type != KV_DIR))
		return -EIO;
	memset(out, 0, sizeof(*out));
	out->a.type = d.type;
	out->a.mode = d.mode;
	out->a.uid = d.uid;
	out->a.gid = d.gid;
	out->a.ino = d.ino;
	out->a.gen = d.gen;
	out->a.size = d.size;
	out->a.expiration = d.expiration;
	get_time(&out->a.atime, &d.atime);
	get_time(&out->a.mtime, &d.mtime);
	get_time(&out->a.ctime, &d.ctime);
	get_time(&out->a.btime, &d.btime);
	out->chunked = d.flags & REC_CHUNKED;
	if (d.flags & REC_META) {
		uint32_t n;

		if (len < sizeof(n))
			return -EIO;
		memcpy(&n, p, sizeof(n));
		if (n == 0 || len - sizeof(n) < n)
			return -EIO;
		out->meta = p + sizeof(n);
		out->metalen = n;
		p += sizeof(n) + n;
		len -= sizeof(n) + n;
	}
	if (!out->chunked) {
		if (len != d.size)
			return -EIO;
		out->inl = p;
	}
	return 0;
}
