/*
 * storeops.c - for the replica tests: random operations on a store
 * through its API, and a dump of a store as text to compare two.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storeops.h"

__thread unsigned ops_seed = 2026;

unsigned ops_rnd(unsigned n)
{
	ops_seed = ops_seed * 1103515245u + 12345u;
	return (ops_seed >> 8) % n;
}

/* A dump of a store as text, to compare. */
struct dump {
	char *buf;
	size_t len, cap;
	struct store *st;
};

static void out(struct dump *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void out(struct dump *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(d->buf + d->len, d->cap - d->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < d->cap - d->len)
			break;
		d->cap = d->cap * 2 + (size_t)n + 64;
		d->buf = realloc(d->buf, d->cap);
		if (!d->buf)
			abort();
	}
	d->len += (size_t)n;
}

static void out_attr(struct dump *d, const struct kv_attr *a)
{
	out(d, " ino=%llx gen=%llu size=%llu type=%u mode=%o uid=%u gid=%u"
	    " a=%lld.%ld m=%lld.%ld c=%lld.%ld b=%lld.%ld exp=%lld",
	    (unsigned long long)a->ino, (unsigned long long)a->gen,
	    (unsigned long long)a->size, a->type, a->mode, a->uid, a->gid,
	    (long long)a->atime.tv_sec, a->atime.tv_nsec,
	    (long long)a->mtime.tv_sec, a->mtime.tv_nsec,
	    (long long)a->ctime.tv_sec, a->ctime.tv_nsec,
	    (long long)a->btime.tv_sec, a->btime.tv_nsec,
	    (long long)a->expiration);
}

/* FNV-1a of a key's value, its length, and its metadata. */
static void out_value(struct dump *d, const char *ns, const char *key,
		      size_t len, const struct kv_attr *a)
{
	static char buf[1 << 16];
	struct store_value *v;
	struct kv_attr va;
	uint64_t h = 1469598103934665603ull, off = 0;
	ssize_t n;
	int i;

	if (a->type == KV_LINK) {
		n = store_readlink(d->st, ns, key, len, buf, sizeof(buf));
		out(d, " link=%.*s", n > 0 ? (int)n : 0, buf);
		return;
	}
	if (store_value_open(d->st, ns, key, len, &v, &va)) {
		out(d, " value=unreadable");
		return;
	}
	while ((n = store_value_read(d->st, v, buf, sizeof(buf),
				     (off_t)off)) > 0) {
		for (i = 0; i < n; i++)
			h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
		off += (uint64_t)n;
	}
	store_value_close(d->st, v);
	out(d, " read=%llu hash=%016llx", (unsigned long long)off,
	    (unsigned long long)h);
	n = store_meta_get(d->st, ns, key, len, 0, buf, sizeof(buf));
	if (n >= 0)
		out(d, " meta=%.*s", (int)n, buf);
}

struct entry {
	char name[512];
	size_t len;
	struct kv_attr a;
};

struct entries {
	struct entry *e;
	size_t n;
};

static int collect(void *ctx, const char *name, size_t len,
		   const struct kv_attr *attr, const char *pos, size_t poslen)
{
	struct entries *es = ctx;

	(void)pos;
	(void)poslen;
	if (len >= sizeof(es->e[0].name))
		return -ENAMETOOLONG;
	es->e = realloc(es->e, (es->n + 1) * sizeof(*es->e));
	if (!es->e)
		return -ENOMEM;
	memcpy(es->e[es->n].name, name, len);
	es->e[es->n].name[len] = '\0';
	es->e[es->n].len = len;
	es->e[es->n].a = *attr;
	es->n++;
	return 0;
}

static void dump_dir(struct dump *d, const char *ns, const char *dir,
		     size_t dirlen)
{
	struct entries es = { NULL, 0 };
	char path[1100];
	size_t i;

	if (store_list(d->st, ns, dir, dirlen, "", 0, collect, &es)) {
		out(d, "%s/%.*s: unlistable\n", ns, (int)dirlen, dir);
		return;
	}
	for (i = 0; i < es.n; i++) {
		size_t plen = dirlen ? (size_t)snprintf(path, sizeof(path),
					"%.*s/%s", (int)dirlen, dir,
					es.e[i].name)
				     : (size_t)snprintf(path, sizeof(path),
							"%s", es.e[i].name);

		out(d, "%s/%s", ns, path);
		out_attr(d, &es.e[i].a);
		if (es.e[i].a.type == KV_DIR) {
			out(d, "\n");
			dump_dir(d, ns, path, plen);
		} else {
			out_value(d, ns, path, plen, &es.e[i].a);
			out(d, "\n");
		}
	}
	free(es.e);
}

char *ops_dump(struct store *st)
{
	struct dump d = { malloc(4096), 0, 4096, st };
	struct entries ns = { NULL, 0 };
	struct kv_attr root;
	uint64_t bytes, file;
	size_t i;

	if (!d.buf)
		abort();
	store_root_attr(st, &root);
	out(&d, "root");
	out_attr(&d, &root);
	store_usage(st, &bytes, &file);
	out(&d, " used=%llu\n", (unsigned long long)bytes);
	store_ns_list(st, "", collect, &ns);
	for (i = 0; i < ns.n; i++) {
		out(&d, "ns %s", ns.e[i].name);
		out_attr(&d, &ns.e[i].a);
		out(&d, "\n");
		dump_dir(&d, ns.e[i].name, "", 0);
	}
	free(ns.e);
	return d.buf;
}

int ops_same(struct store *sa, struct store *sb)
{
	char *a = ops_dump(sa), *b = ops_dump(sb);
	int eq = !strcmp(a, b);

	if (!eq) {
		size_t i = 0, line = 0;

		while (a[i] && a[i] == b[i])
			if (a[i++] == '\n')
				line = i;
		printf("#   A: %.300s\n#   B: %.300s\n", a + line, b + line);
	}
	free(a);
	free(b);
	return eq;
}

ssize_t ops_mem_read(void *ctx, void *buf, size_t len, off_t off)
{
	memcpy(buf, ((struct ops_mem *)ctx)->buf + off, len);
	return (ssize_t)len;
}

static const char *const nss[] = { "alpha1", "beta22", "gamma3" };
static const char *const keys[] = {
	"a", "b", "c", "d", "d/e", "d/f", "d/g/h", "x/y", "x", "long/" \
	"a-key-of-some-length-to-land-in-an-index-bucket-0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

char *ops_big;

static void put_value(struct store *st, const char *ns, const char *key,
		      size_t len)
{
	struct kv_attr a, out;
	struct timespec now;
	size_t size;

	if (store_stat(st, ns, key, len, &a) || a.type != KV_FILE)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (ops_rnd(3))
		size = ops_rnd(5000);
	else
		size = ops_rnd(4) ? ops_rnd(1u << 20) : ops_rnd(OPS_BIG_MAX);
	if (ops_rnd(2)) {
		struct ops_mem m = { ops_big + ops_rnd(1000) };
		struct store_src src = { ops_mem_read, &m, size };

		store_value_put(st, ns, key, len, a.ino, &src, &now, 0, &out);
	} else {
		struct store_stage *sg;
		size_t off = 0;

		if (store_stage_open(st, &sg))
			return;
		while (off < size) {
			size_t n = 1 + ops_rnd(600000);

			if (n > size - off)
				n = size - off;
			store_stage_write(sg, ops_big + off + 7, n, off);
			off += n;
		}
		if (ops_rnd(3) == 0)
			store_stage_truncate(sg, ops_rnd((unsigned)size + 1));
		store_value_put_stage(st, ns, key, len, a.ino, sg, &now, 0,
				      &out, NULL);
		store_stage_close(sg);
	}
}

void ops_step(struct store *st)
{
	const char *ns = nss[ops_rnd(3)], *to = nss[ops_rnd(3)];
	const char *key = keys[ops_rnd(NKEYS)], *tokey = keys[ops_rnd(NKEYS)];
	size_t len = strlen(key), tolen = strlen(tokey);
	struct kv_attr a, out;
	int64_t exp;
	char json[64];

	memset(&a, 0, sizeof(a));
	a.mode = 0644;
	a.uid = 1000;
	a.gid = 1000;
	switch (ops_rnd(16)) {
	case 0:
		a.mode = 0755;
		store_ns_create(st, ns, &a);
		break;
	case 1:
		if (ops_rnd(2))
			store_ns_delete(st, ns);
		else
			store_ns_setattr(st, ops_rnd(2) ? ns : "", &a,
					 KV_SET_MODE, &out);
		break;
	case 2:
		store_ns_rename(st, ns, to,
				ops_rnd(2) ? KV_RENAME_NOREPLACE : 0);
		break;
	case 3:
	case 4:
		a.type = KV_FILE;
		store_create(st, ns, key, len, &a, &out);
		break;
	case 5:
		a.type = KV_DIR;
		a.mode = 0755;
		store_create(st, ns, key, len, &a, &out);
		break;
	case 6:
	case 7:
	case 8:
		put_value(st, ns, key, len);
		break;
	case 9:
		store_unlink(st, ns, key, len);
		break;
	case 10:
		store_rmdir(st, ns, key, len);
		break;
	case 11:
		if (ops_rnd(3))
			to = ns;
		store_rename(st, ns, key, len, to, tokey, tolen,
			     ops_rnd(3) ? 0 : KV_RENAME_NOREPLACE, NULL);
		break;
	case 12:
		a.mode = 0600 | ops_rnd(0100);
		store_setattr(st, ns, key, len, &a, KV_SET_MODE, &out);
		break;
	case 13:
		snprintf(json, sizeof(json), "{\"n\":%u}", ops_rnd(1000));
		store_meta_set(st, ns, key, len, 0, ops_rnd(4) ? json : NULL,
			       strlen(json), 0);
		break;
	case 14:
		exp = ops_rnd(3) ? 4000000000ll + ops_rnd(1000) : 0;
		store_expire_set(st, ns, key, len, 0, exp, 0, &out);
		break;
	default:
		a.type = KV_LINK;
		store_symlink(st, ns, key, len, &a, "../target", 9, &out);
		break;
	}
}

