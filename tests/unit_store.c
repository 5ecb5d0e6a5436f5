/*
 * unit_store.c - the store through its interface, without FUSE: a real
 * LMDB environment in a temporary directory.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "tap.h"

struct names {
	char buf[8192];
	size_t len;
	int count;
};

static int collect(void *ctx, const char *name, size_t len,
		   const struct kv_attr *a, const char *pos, size_t poslen)
{
	struct names *n = ctx;

	(void)pos;
	(void)poslen;
	if (n->len + len + 3 >= sizeof(n->buf))
		return 1;
	memcpy(n->buf + n->len, name, len);
	n->len += len;
	if (a->type == KV_DIR)
		n->buf[n->len++] = '/';
	n->buf[n->len++] = ' ';
	n->buf[n->len] = '\0';
	n->count++;
	return 0;
}

static const char *list(struct store *st, const char *ns, const char *dir)
{
	static struct names n;

	memset(&n, 0, sizeof(n));
	if (store_list(st, ns, dir, strlen(dir), "", 0, collect, &n))
		return "(error)";
	return n.buf;
}

struct membuf {
	const char *data;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct membuf *m = ctx;

	memcpy(buf, m->data + off, len);
	return (ssize_t)len;
}

static int put(struct store *st, const char *ns, const char *key,
	       const char *data, size_t size)
{
	struct membuf m = { data };
	struct store_src src = { mem_read, &m, size };
	struct kv_attr a;
	struct timespec now;
	int rc;

	rc = store_stat(st, ns, key, strlen(key), &a);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	return store_value_put(st, ns, key, strlen(key), a.ino, &src, &now, 0,
			       &a);
}

struct heard {
	char what[256];
	size_t len;
};

static void heard(void *ctx, const char *ns, const char *key, size_t len)
{
	struct heard *h = ctx;

	h->len += (size_t)snprintf(h->what + h->len, sizeof(h->what) - h->len,
				   "%s:%.*s ", ns ? ns : "-", (int)len, key);
}

/* Metadata and expiration: kept by rewrites and renames, absent once
 * expired, swept through the index. */
static void test_xattrs(struct store *st)
{
	struct kv_attr f = { .type = KV_FILE, .mode = 0644 }, a;
	struct store_sweep_stats ss;
	uint64_t moved;
	struct heard h = { "", 0 };
	int64_t now = time(NULL);
	char buf[64], *bigval = calloc(1, 100000);

	is_int(store_create(st, "default", "m", 1, &f, &a), 0, "key m");
	is_int(store_meta_get(st, "default", "m", 1, 0, buf, sizeof(buf)),
	       -ENODATA, "no metadata yet");
	is_int(store_meta_set(st, "default", "m", 1, 0, "{\"a\":1}", 7, 0), 0,
	       "metadata set");
	is_int(store_meta_get(st, "default", "m", 1, 0, NULL, 0), 7,
	       "its size");
	is_int(store_meta_get(st, "default", "m", 1, 0, buf, sizeof(buf)), 7,
	       "read back");
	ok(!memcmp(buf, "{\"a\":1}", 7), "byte for byte");
	is_int(store_meta_set(st, "default", "m", 1, 0, "[]", 2, KV_XATTR_CREATE),
	       -EEXIST, "XATTR_CREATE of a set one: EEXIST");
	is_int(put(st, "default", "m", "small", 5), 0, "inline rewrite");
	is_int(put(st, "default", "m", bigval, 100000), 0, "chunked rewrite");
	is_int(store_meta_get(st, "default", "m", 1, 0, buf, sizeof(buf)), 7,
	       "metadata kept through rewrites");
	is_int(store_expire_set(st, "default", "m", 1, 0, now + 1000, 0, &a), 0,
	       "expiration set");
	is_int(a.expiration, now + 1000, "in the attributes");
	is_int(store_next_expiry(st), now + 1000, "the next expiry");
	is_int(store_stat(st, "default", "m", 1, &a), 0, "stat before a rename");
	moved = 0;
	is_int(store_rename(st, "default", "m", 1, "app2", "m2", 2, 0, &moved),
	       0, "renamed across namespaces");
	ok(moved == a.ino, "the rename tells the inode number it moved: %llu",
	   (unsigned long long)moved);
	is_int(store_sweep(st, now, 10, heard, &h), 0,
	       "nothing to sweep before it expires");
	is_int(store_sweep(st, now + 1000, 10, heard, &h), 1,
	       "swept at its second");
	ok(!strcmp(h.what, "app2:m2 "), "under its new name: %s", h.what);
	is_int(store_stat(st, "app2", "m2", 2, &a), -ENOENT, "gone");
	is_int(store_next_expiry(st), 0, "nothing left to expire");

	is_int(store_create(st, "default", "x", 1, &f, &a), 0, "key x");
	is_int(store_meta_set(st, "default", "x", 1, 0, "1", 1, 0), 0, "meta");
	is_int(store_expire_set(st, "default", "x", 1, 0, now - 1, 0, &a), 0,
	       "an expiration already past (the store does not check)");
	is_int(store_stat(st, "default", "x", 1, &a), -ENOENT,
	       "absent before any sweep");
	ok(!strstr(list(st, "default", ""), "x "), "not listed");
	is_int(store_create(st, "default", "x", 1, &f, &a), 0,
	       "created anew in its place");
	is_int(store_meta_get(st, "default", "x", 1, 0, buf, sizeof(buf)),
	       -ENODATA, "without the old metadata");
	is_int(store_sweep(st, now, 10, NULL, NULL), 0,
	       "its index entry went with it");
	store_sweep_stats(st, &ss);
	is_int(ss.deleted, 1, "one key swept in all");
	is_int(store_unlink(st, "default", "x", 1), 0, "x deleted");
	free(bigval);
}

static int get(struct store *st, const char *ns, const char *key, char *buf,
	       size_t cap, ssize_t *got)
{
	struct store_value *v;
	struct kv_attr a;
	int rc;

	rc = store_value_open(st, ns, key, strlen(key), &v, &a);
	if (rc)
		return rc;
	*got = store_value_read(st, v, buf, cap, 0);
	store_value_close(st, v);
	return 0;
}

/*
 * Temporary keys (names from 0xFF on): not listed, not counted by a
 * namespace's delete, deleted with their values when the store opens
 * again, also in a namespace deleted meanwhile; the keys before them stay.
 */
static struct store *test_temp(struct store *st, const char *dir,
			       const struct store_limits *lim)
{
	struct kv_attr f = { .type = KV_FILE, .mode = 0644 };
	struct kv_attr d = { .type = KV_DIR, .mode = 0755 }, a;
	static const char tmp[] = "\xffkvctl-put.1.0", last[] = "\xf4\x8f\xbf\xbf";
	size_t size = 300000;
	char *val = malloc(size);
	uint64_t used, used_before, file;

	memset(val, 't', size);
	store_usage(st, &used_before, &file);
	is_int(store_create(st, "default", last, 4, &f, &a), 0,
	       "the last key there can be (U+10FFFF)");
	is_int(store_create(st, "default", tmp, sizeof(tmp) - 1, &f, &a), 0,
	       "a temporary key");
	is_int(put(st, "default", tmp, val, size), 0, "with a large value");
	ok(!strstr(list(st, "default", ""), "kvctl-put"),
	   "not listed: '%s'", list(st, "default", ""));
	is_int(store_ns_create(st, "tmpns", &d), 0, "a namespace");
	is_int(store_create(st, "tmpns", "\xffx", 2, &f, &a), 0,
	       "with a temporary key only");
	is_int(put(st, "tmpns", "\xffx", val, size), 0, "a large one");
	is_int(store_ns_delete(st, "tmpns"), 0, "is empty: deleted");
	store_usage(st, &used, &file);
	ok(used >= used_before + 2 * size, "their values count meanwhile");
	store_close(st);
	free(val);
	is_int(store_open(dir, lim, "default", 0, 0, &st), 0, "store reopens");
	is_int(store_stat(st, "default", tmp, sizeof(tmp) - 1, &a), -ENOENT,
	       "the temporary key is gone");
	is_int(store_stat(st, "default", last, 4, &a), 0,
	       "the last key stays");
	store_usage(st, &used, &file);
	is_int(used, used_before, "both values' bytes are given back");
	is_int(store_unlink(st, "default", last, 4), 0, "last key deleted");
	return st;
}

/*
 * The extents of pinned value v (val, size bytes, replaced and deleted
 * already) hold its bytes in the store's file, while another value is
 * written where its pages would be reused were they not pinned.
 */
static void test_extents(struct store *st, struct store_value *v,
			 const char *val, size_t size)
{
	struct store_extent ext[64];
	struct kv_attr a, f = { .type = KV_FILE, .mode = 0644 };
	uint64_t pos;
	unsigned n, i;
	ssize_t cov;
	char *other = malloc(size), *buf = malloc(size);
	bool same = true;

	memset(other, 'x', size);
	is_int(store_create(st, "app", "other", 5, &f, &a), 0,
	       "create other");
	is_int(put(st, "app", "other", other, size), 0,
	       "another large value written after the delete");
	is_int((int)store_value_extents(st, v, size - 10, 11, ext, 64, &n),
	       -EINVAL, "extents past the end: EINVAL");
	cov = store_value_extents(st, v, 262000, 600000, ext, 64, &n);
	ok(cov == 600000 && n == 4, "600000 bytes across 4 chunks: 4 "
	   "extents covering them (%zd, %u)", cov, n);
	for (i = 0, pos = 262000; i < n && same; pos += ext[i].len, i++)
		same = pread(ext[i].fd, buf, ext[i].len, (off_t)ext[i].off) ==
			       (ssize_t)ext[i].len &&
		       !memcmp(buf, val + pos, ext[i].len);
	ok(same, "the file holds those bytes at the extents");
	cov = store_value_extents(st, v, 0, size, ext, 64, &n);
	/* the last chunk, of 576 bytes, is in a leaf page: not an extent */
	ok(cov == (ssize_t)(size - size % 262128), "the whole value: all "
	   "but its small last chunk (%zd)", cov);
	for (i = 0, pos = 0, same = true; i < n && same;
	     pos += ext[i].len, i++)
		same = pread(ext[i].fd, buf, ext[i].len, (off_t)ext[i].off) ==
			       (ssize_t)ext[i].len &&
		       !memcmp(buf, val + pos, ext[i].len);
	ok(same && pos == (uint64_t)cov, "every extent holds its bytes");
	is_int(store_unlink(st, "app", "other", 5), 0, "delete other");
	free(other);
	free(buf);
}

int main(void)
{
	struct store_limits lim = { 512, 3, 0 };
	char dir[] = "/tmp/kvfs-unit-XXXXXX", big[600], *val, *back;
	struct store *st, *second;
	struct store_value *v;
	struct kv_attr a, b, file = { .type = KV_FILE, .mode = 0644 };
	struct kv_attr d = { .type = KV_DIR, .mode = 0755 };
	size_t vsize = 9u << 20, i;
	ssize_t got;

	if (!mkdtemp(dir))
		return 99;
	is_int(store_open(dir, &lim, "default", 0, 0, &st), 0, "store opens");
	is_int(store_open(dir, &lim, "default", 0, 0, &second), -EBUSY,
	       "a second open of the same store is refused");
	is_int(store_ns_stat(st, "default", &a), 0,
	       "default namespace created");

	/* namespaces */
	is_int(store_ns_create(st, "app", &d), 0, "namespace created");
	is_int(store_ns_create(st, "app", &d), -EEXIST, "duplicate: EEXIST");
	is_int(store_ns_create(st, "ns3", &d), 0, "third namespace");
	is_int(store_ns_create(st, "ns4", &d), -EDQUOT,
	       "past max_namespaces: EDQUOT");
	is_int(store_ns_delete(st, "ns3"), 0, "empty namespace deleted");

	/* keys, markers and listings */
	is_int(store_create(st, "app", "users", 5, &d, &a), 0, "mkdir users");
	is_int(store_create(st, "app", "users/123", 9, &d, &a), 0,
	       "mkdir users/123");
	is_int(store_create(st, "app", "users/123/profile", 17, &file, &a), 0,
	       "create users/123/profile");
	is_int(store_create(st, "app", "users/123/profile", 17, &file, &a),
	       -EEXIST, "create again: EEXIST");
	is_int(store_create(st, "app", "users-x", 7, &file, &a), 0,
	       "create users-x (sorts between users and users/)");
	is_int(store_create(st, "app", "users.y", 7, &file, &a), 0,
	       "create users.y");
	ok(!strcmp(list(st, "app", ""), "users/ users-x users.y "),
	   "root listing has each entry once: '%s'", list(st, "app", ""));
	ok(!strcmp(list(st, "app", "users"), "123/ "),
	   "users lists 123: '%s'", list(st, "app", "users"));
	is_int(store_rmdir(st, "app", "users", 5), -ENOTEMPTY,
	       "rmdir non-empty: ENOTEMPTY");
	is_int(store_unlink(st, "app", "users", 5), -EISDIR,
	       "unlink a directory: EISDIR");
	is_int(store_rmdir(st, "app", "users-x", 7), -ENOTDIR,
	       "rmdir a key: ENOTDIR");
	is_int(store_ns_delete(st, "app"), -ENOTEMPTY,
	       "delete non-empty namespace: ENOTEMPTY");

	/* a name is made only in a directory that is there */
	is_int(store_create(st, "app", "gone/k", 6, &file, &a), -ENOENT,
	       "create in no directory: ENOENT");
	is_int(store_create(st, "app", "gone/d", 6, &d, &a), -ENOENT,
	       "mkdir in no directory: ENOENT");
	is_int(store_symlink(st, "app", "gone/l", 6, &file, "t", 1, &a),
	       -ENOENT, "symlink in no directory: ENOENT");
	is_int(store_create(st, "app", "users-x/k", 9, &file, &a), -ENOTDIR,
	       "create below a key: ENOTDIR");
	is_int(store_rename(st, "app", "users.y", 7, "app", "gone/y", 6, 0,
			    NULL),
	       -ENOENT, "rename into no directory: ENOENT");
	is_int(store_stat(st, "app", "users.y", 7, &a), 0,
	       "the key stays where it was");
	is_int(store_stat(st, "app", "gone", 4, &a), -ENOENT,
	       "and no directory was made");

	/* values */
	is_int(put(st, "app", "users/123/profile", "hello", 5), 0,
	       "small value put");
	back = malloc(vsize);
	is_int(get(st, "app", "users/123/profile", back, 100, &got), 0,
	       "small value read");
	ok(got == 5 && !memcmp(back, "hello", 5), "small value round trip");
	val = malloc(vsize);
	for (i = 0; i < vsize; i++)
		val[i] = (char)(i * 7 + i / 4099);
	is_int(store_create(st, "app", "big", 3, &file, &a), 0, "create big");
	is_int(put(st, "app", "big", val, vsize), 0,
	       "9 MiB value put in several transactions");
	is_int(get(st, "app", "big", back, vsize, &got), 0, "9 MiB value read");
	ok(got == (ssize_t)vsize && !memcmp(back, val, vsize),
	   "9 MiB value round trip");

	/* a pinned value survives its replacement and deletion */
	is_int(store_value_open(st, "app", "big", 3, &v, &a), 0, "pin big");
	is_int(put(st, "app", "big", "new", 3), 0, "replace big");
	is_int(store_unlink(st, "app", "big", 3), 0, "delete big");
	got = store_value_read(st, v, back, vsize, 0);
	ok(got == (ssize_t)vsize && !memcmp(back, val, vsize),
	   "pinned reader still reads the whole old value");
	test_extents(st, v, val, vsize);
	store_value_close(st, v);
	is_int(store_stat(st, "app", "big", 3, &a), -ENOENT, "big is gone");

	/* renames */
	is_int(store_rename(st, "app", "users", 5, "default", "people", 6, 0,
			    NULL),
	       0, "directory renamed across namespaces");
	is_int(store_stat(st, "default", "people/123/profile", 18, &a), 0,
	       "key moved with its directory");
	is_int(get(st, "default", "people/123/profile", back, 100, &got), 0,
	       "moved value readable");
	ok(got == 5 && !memcmp(back, "hello", 5), "moved value intact");
	is_int(store_stat(st, "app", "users/123/profile", 17, &a), -ENOENT,
	       "old key gone");
	is_int(store_rename(st, "app", "users-x", 7, "app", "users.y", 7,
			    KV_RENAME_NOREPLACE, NULL), -EEXIST,
	       "RENAME_NOREPLACE onto a key: EEXIST");
	is_int(store_rename(st, "default", "people", 6, "default",
			    "people/123/x", 12, 0, NULL), -EINVAL,
	       "directory into itself: EINVAL");
	is_int(store_ns_rename(st, "app", "app2", 0), 0, "namespace renamed");
	is_int(store_stat(st, "app2", "users-x", 7, &a), 0,
	       "keys follow the namespace");

	/* keys past LMDB's 511-byte limit, sharing long prefixes */
	memset(big, 'p', 520);
	big[0] = 'L';
	is_int(store_create(st, "default", big, 512, &file, &a), 0,
	       "512-byte key created");
	is_int(store_create(st, "default", big, 510, &file, &b), 0,
	       "510-byte key sharing its prefix created");
	ok(a.ino != b.ino, "they are different keys");
	is_int(store_stat(st, "default", big, 512, &b), 0, "512-byte key found");
	is_int(b.ino, a.ino, "by its own record");
	is_int(store_stat(st, "default", big, 511, &b), -ENOENT,
	       "511-byte prefix of it is not a key");
	is_int(store_unlink(st, "default", big, 510), 0, "510-byte key deleted");
	is_int(store_stat(st, "default", big, 512, &b), 0,
	       "512-byte key still there");

	test_xattrs(st);

	store_close(st);
	is_int(store_open(dir, &lim, "default", 0, 0, &st), 0, "store reopens");
	is_int(get(st, "default", "people/123/profile", back, 100, &got), 0,
	       "value read after reopen");
	ok(got == 5 && !memcmp(back, "hello", 5), "value persisted");
	is_int(store_stat(st, "default", big, 512, &b), 0,
	       "512-byte key persisted");
	st = test_temp(st, dir, &lim);
	store_close(st);
	free(val);
	free(back);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 99;
	}
	return tap_done();
}
