/*
 * unit_replica.c - the capture of a store's changes and their applying to
 * another (store/capture.c, store/apply.c): random operations on store A,
 * whose capture applies every transaction's changes to store B, must
 * leave B as A is (root, namespaces, every key's attributes, value and
 * metadata, the bytes counted), after every step, after both are opened
 * again, and with the same chunks in each; a capture that refuses makes
 * the write fail with its error and changes neither store.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>
#include <pthread.h>

#include "store/store.h"
#include "tap.h"

static struct store *A, *B;
static int refuse;		/* the capture's answer, when not 0 */
static unsigned long changes[STORE_CHANGE_DROP + 1], batches;
static __thread unsigned seed = 2026;

static unsigned rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static int capture(void *ctx, const struct store_change *ch, size_t n)
{
	size_t i;

	(void)ctx;
	if (refuse)
		return refuse;
	for (i = 0; i < n; i++)
		changes[ch[i].kind]++;
	batches++;
	return store_apply(B, ch, n);
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

static char *dump(struct store *st)
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

/* Do the two stores agree?  Prints the first line that differs. */
static int same(void)
{
	char *a = dump(A), *b = dump(B);
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

struct mem_src {
	const char *buf;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, off_t off)
{
	memcpy(buf, ((struct mem_src *)ctx)->buf + off, len);
	return (ssize_t)len;
}

static const char *const nss[] = { "alpha1", "beta22", "gamma3" };
static const char *const keys[] = {
	"a", "b", "c", "d", "d/e", "d/f", "d/g/h", "x/y", "x", "long/" \
	"a-key-of-some-length-to-land-in-an-index-bucket-0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static char *big;
#define BIG_MAX	(6u << 20)

static void put_value(const char *ns, const char *key, size_t len)
{
	struct kv_attr a, out;
	struct timespec now;
	size_t size;

	if (store_stat(A, ns, key, len, &a) || a.type != KV_FILE)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	size = rnd(3) ? rnd(5000) : rnd(4) ? rnd(1u << 20) : rnd(BIG_MAX);
	if (rnd(2)) {
		struct mem_src m = { big + rnd(1000) };
		struct store_src src = { mem_read, &m, size };

		store_value_put(A, ns, key, len, a.ino, &src, &now, 0, &out);
	} else {
		struct store_stage *sg;
		size_t off = 0;

		if (store_stage_open(A, &sg))
			return;
		while (off < size) {
			size_t n = 1 + rnd(600000);

			if (n > size - off)
				n = size - off;
			store_stage_write(sg, big + off + 7, n, off);
			off += n;
		}
		if (rnd(3) == 0)
			store_stage_truncate(sg, rnd((unsigned)size + 1));
		store_value_put_stage(A, ns, key, len, a.ino, sg, &now, 0,
				      &out, NULL);
		store_stage_close(sg);
	}
}

static void step(void)
{
	const char *ns = nss[rnd(3)], *to = nss[rnd(3)];
	const char *key = keys[rnd(NKEYS)], *tokey = keys[rnd(NKEYS)];
	size_t len = strlen(key), tolen = strlen(tokey);
	struct kv_attr a, out;
	char json[64];

	memset(&a, 0, sizeof(a));
	a.mode = 0644;
	a.uid = 1000;
	a.gid = 1000;
	switch (rnd(16)) {
	case 0:
		a.mode = 0755;
		store_ns_create(A, ns, &a);
		break;
	case 1:
		if (rnd(2))
			store_ns_delete(A, ns);
		else
			store_ns_setattr(A, rnd(2) ? ns : "", &a,
					 KV_SET_MODE, &out);
		break;
	case 2:
		store_ns_rename(A, ns, to, rnd(2) ? KV_RENAME_NOREPLACE : 0);
		break;
	case 3:
	case 4:
		a.type = KV_FILE;
		store_create(A, ns, key, len, &a, &out);
		break;
	case 5:
		a.type = KV_DIR;
		a.mode = 0755;
		store_create(A, ns, key, len, &a, &out);
		break;
	case 6:
	case 7:
	case 8:
		put_value(ns, key, len);
		break;
	case 9:
		store_unlink(A, ns, key, len);
		break;
	case 10:
		store_rmdir(A, ns, key, len);
		break;
	case 11:
		store_rename(A, ns, key, len, rnd(3) ? ns : to, tokey, tolen,
			     rnd(3) ? 0 : KV_RENAME_NOREPLACE, NULL);
		break;
	case 12:
		a.mode = 0600 | rnd(0100);
		store_setattr(A, ns, key, len, &a, KV_SET_MODE, &out);
		break;
	case 13:
		snprintf(json, sizeof(json), "{\"n\":%u}", rnd(1000));
		store_meta_set(A, ns, key, len, 0, rnd(4) ? json : NULL,
			       strlen(json), 0);
		break;
	case 14:
		store_expire_set(A, ns, key, len, 0,
				 rnd(3) ? 4000000000ll + rnd(1000) : 0, 0,
				 &out);
		break;
	default:
		a.type = KV_LINK;
		store_symlink(A, ns, key, len, &a, "../target", 9, &out);
		break;
	}
}

static void *stepper(void *arg)
{
	int i;

	seed = (unsigned)(uintptr_t)arg;
	for (i = 0; i < 300; i++)
		step();
	return NULL;
}

/* Chunks in a closed store's data table. */
static long count_chunks(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi data;
	MDB_stat ms;
	long n = -1;

	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (!mdb_env_open(env, dir, MDB_RDONLY, 0600) &&
	    !mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
		if (!mdb_dbi_open(txn, "data", 0, &data) &&
		    !mdb_stat(txn, data, &ms))
			n = (long)ms.ms_entries;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

int main(void)
{
	char da[] = "/tmp/unit_replica_a.XXXXXX";
	char db[] = "/tmp/unit_replica_b.XXXXXX";
	struct store_limits lim = { .max_key_size = 4096,
				    .max_namespaces = 100 };
	struct kv_attr a, before, after;
	struct timespec now;
	int i, diverged = -1, rc;
	char cmd[128];
	size_t j;

	big = malloc(BIG_MAX + 1000);
	if (!big || !mkdtemp(da) || !mkdtemp(db))
		return 1;
	for (j = 0; j < BIG_MAX + 1000; j++)
		big[j] = (char)rnd(256);
	is_int(store_open(da, &lim, NULL, 0, 0, &A), 0, "store A opens");
	is_int(store_open(db, &lim, NULL, 0, 0, &B), 0, "store B opens");
	store_set_capture(A, capture, NULL);

	/* the same first steps, then random ones, compared as they go */
	memset(&a, 0, sizeof(a));
	a.mode = 0755;
	is_int(store_ns_create(A, "alpha1", &a), 0, "a namespace on A");
	ok(same(), "B has it, with A's root");
	for (i = 0; i < 2000; i++) {
		step();
		if (diverged < 0 && !same())
			diverged = i;
	}
	is_int(diverged, -1, "B stayed A's copy through 2,000 random steps");
	{
		unsigned long before_batches = batches;
		pthread_t t[4];
		uintptr_t k;

		for (k = 0; k < 4; k++)
			pthread_create(&t[k], NULL, stepper, (void *)(k + 7));
		for (k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
		ok(same(), "and through 4 threads of 300 at once (%lu "
		   "transactions)", batches - before_batches);
	}
	ok(changes[STORE_CHANGE_KEY] > 300 && changes[STORE_CHANGE_NS] > 50 &&
	   changes[STORE_CHANGE_CHUNK] > 50 && changes[STORE_CHANGE_ROOT] > 20,
	   "keys, namespaces, chunks and the root were captured (%lu, %lu, "
	   "%lu, %lu in %lu transactions)", changes[STORE_CHANGE_KEY],
	   changes[STORE_CHANGE_NS], changes[STORE_CHANGE_CHUNK],
	   changes[STORE_CHANGE_ROOT], batches);
	ok(changes[STORE_CHANGE_DROP] > 10, "and the chunks dropped (%lu)",
	   changes[STORE_CHANGE_DROP]);

	/* a stage written past its cache, then cut short */
	memset(&a, 0, sizeof(a));
	a.type = KV_FILE;
	a.mode = 0644;
	store_ns_create(A, "gamma3", &a);
	store_unlink(A, "gamma3", "cut", 3);
	is_int(store_create(A, "gamma3", "cut", 3, &a, &before), 0,
	       "key cut made");
	{
		struct store_stage *sg;
		unsigned long trims = changes[STORE_CHANGE_TRIM];

		clock_gettime(CLOCK_REALTIME, &now);
		ok(store_stage_open(A, &sg) == 0 &&
		   store_stage_write(sg, big, BIG_MAX, 0) == 0 &&
		   store_stage_truncate(sg, 100000) == 0 &&
		   store_value_put_stage(A, "gamma3", "cut", 3, before.ino, sg,
					 &now, 0, &after, NULL) == 0,
		   "a stage of 6 MiB cut to 100,000 bytes is put");
		store_stage_close(sg);
		ok(changes[STORE_CHANGE_TRIM] > trims, "its cut was captured");
		ok(same(), "B has the value as A");
	}

	/* a capture that refuses: the write fails, neither store changes */
	a.type = KV_FILE;
	a.mode = 0644;
	store_create(A, "alpha1", "kept", 4, &a, &before);
	if (store_stat(A, "alpha1", "kept", 4, &before) == 0) {
		struct mem_src m = { big };
		struct store_src src = { mem_read, &m, 300000 };

		refuse = -EIO;
		clock_gettime(CLOCK_REALTIME, &now);
		rc = store_value_put(A, "alpha1", "kept", 4, before.ino, &src,
				     &now, 0, &after);
		is_int(rc, -EIO, "a refused put fails with the capture's EIO");
		is_int(store_unlink(A, "alpha1", "kept", 4), -EIO,
		       "so does a refused unlink");
		refuse = 0;
		ok(store_stat(A, "alpha1", "kept", 4, &after) == 0 &&
		   after.gen == before.gen && after.size == before.size,
		   "and A kept the key as it was");
		ok(same(), "B too");
	} else {
		ok(0, "key kept made");
	}

	/* each store's own expiry index deletes the same keys, also one
	 * renamed after its expiration was set */
	a.type = KV_FILE;
	a.mode = 0644;
	store_unlink(A, "gamma3", "exp1", 4);
	store_unlink(A, "gamma3", "exp2", 4);
	ok(store_create(A, "gamma3", "exp1", 4, &a, &after) == 0 &&
	   store_expire_set(A, "gamma3", "exp1", 4, 0, 4000000001ll, 0,
			    &after) == 0 &&
	   store_rename(A, "gamma3", "exp1", 4, "gamma3", "exp2", 4, 0,
			NULL) == 0, "a key that expires is renamed");
	store_set_capture(A, NULL, NULL);
	ok(store_sweep(A, 4000000000ll + 500, 1000, NULL, NULL) > 0,
	   "A's sweep deletes keys that expired");
	store_sweep(B, 4000000000ll + 500, 1000, NULL, NULL);
	ok(same(), "so does B's, the same");
	is_int(store_stat(B, "gamma3", "exp2", 4, &after), -ENOENT,
	       "the renamed one too");

	/* both opened again: the same, and the same chunks once collected */
	store_close(A);
	store_close(B);
	is_int(store_open(da, &lim, NULL, 0, 0, &A), 0, "A opens again");
	is_int(store_open(db, &lim, NULL, 0, 0, &B), 0, "B opens again");
	ok(same(), "B is still A's copy");
	store_close(A);
	store_close(B);
	ok(count_chunks(da) == count_chunks(db) && count_chunks(da) >= 0,
	   "the same number of chunks in each (%ld, %ld)", count_chunks(da),
	   count_chunks(db));
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", da, db);
	if (system(cmd))
		return 1;
	free(big);
	return tap_done();
}
