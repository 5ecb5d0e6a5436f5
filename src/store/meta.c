/*
 * meta.c - a key's metadata and expiration.
 *
 * Both live in the key's record, so they move with it on rename, stay when
 * its value is rewritten and go when it is deleted.  Setting or clearing
 * an expiration keeps the expiry index (store/expiry.c) in step in the
 * same transaction.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/options.h"
#include "store/internal.h"

/*
 * The live record of key: -ENOENT if there is none, -EISDIR if key is a
 * directory (a marker or the prefix of live keys), -ESTALE if ino is not 0
 * and the key is another one now (replaced by a rename).
 */
static int file_find(struct store *st, MDB_txn *txn, const char *ns,
		     const char *key, size_t len, uint64_t ino, int64_t now,
		     uint32_t *nsid, struct rec *r)
{
	char pfx[KVFS_KEY_SIZE_CEIL + 2];
	int rc;

	rc = ns_find(st, txn, ns, nsid, NULL);
	if (rc)
		return rc;
	if (len == 0)
		return -EISDIR;
	rc = key_get(st, txn, *nsid, key, len, r);
	if (rc == 0 && !attr_expired(&r->a, now) && r->a.type != KV_FILE)
		return -EISDIR;
	if (rc == 0 && !attr_expired(&r->a, now))
		return ino && r->a.ino != ino ? -ESTALE : 0;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (len + 1 >= sizeof(pfx))
		return -ENOENT;
	memcpy(pfx, key, len);
	pfx[len] = '/';
	rc = key_live_below(st, txn, *nsid, pfx, len + 1, now);
	return rc == 0 ? -EISDIR : rc == MDB_NOTFOUND ? -ENOENT : rc;
}

int store_meta_get(struct store *st, const char *ns, const char *key,
		   size_t len, uint64_t ino, void *buf, size_t size)
{
	uint32_t nsid;
	MDB_txn *txn;
	struct rec r;
	int rc;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = file_find(st, txn, ns, key, len, ino, store_clock(), &nsid, &r);
	if (rc == -EISDIR || (rc == 0 && r.metalen == 0))
		rc = -ENODATA;
	if (rc == 0) {
		if (r.metalen <= size)
			memcpy(buf, r.meta, r.metalen);
		rc = (int)r.metalen;
	}
	store_read_end(st, txn);
	return rc < 0 ? store_err(rc) : rc;
}

struct xattr_arg {
	const char *ns, *key;
	size_t len;
	uint64_t ino;
	bool meta;		/* metadata, else expiration */
	const void *json;
	size_t jsonlen;
	int64_t expiration;
	unsigned flags;
	struct kv_attr out;
};

static int xattr_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct xattr_arg *xa = arg;
	uint32_t nsid;
	struct rec r;
	bool set, setting;
	int64_t old;
	int rc;

	rc = file_find(st, txn, xa->ns, xa->key, xa->len, xa->ino,
		       store_clock(), &nsid, &r);
	if (rc)
		return rc;
	set = xa->meta ? r.metalen != 0 : r.a.expiration != 0;
	setting = xa->meta ? xa->json != NULL : xa->expiration != 0;
	if (set && (xa->flags & KV_XATTR_CREATE))
		return -EEXIST;
	if (!set && ((xa->flags & KV_XATTR_REPLACE) || !setting))
		return -ENODATA;
	old = r.a.expiration;
	if (xa->meta) {
		r.meta = xa->json;
		r.metalen = xa->json ? xa->jsonlen : 0;
	} else {
		r.a.expiration = xa->expiration;
	}
	store_now(&r.a.ctime);
	/* r points into the record's page: key_put copies it before writing */
	rc = key_put(st, txn, nsid, xa->key, xa->len, &r);
	if (!rc && old != r.a.expiration && old)
		rc = expiry_del(st, txn, old, r.a.ino);
	if (!rc && old != r.a.expiration && r.a.expiration)
		rc = expiry_put(st, txn, r.a.expiration, r.a.ino, nsid,
				xa->key, xa->len);
	if (rc)
		return rc;
	xa->out = r.a;
	return ns_touch(st, txn, xa->ns);
}

int store_meta_set(struct store *st, const char *ns, const char *key,
		   size_t len, uint64_t ino, const void *json, size_t jsonlen,
		   unsigned flags)
{
	struct xattr_arg xa = { .ns = ns, .key = key, .len = len, .ino = ino,
				.meta = true, .json = json,
				.jsonlen = jsonlen, .flags = flags };

	if (json && jsonlen == 0)
		return -EINVAL;
	return store_write(st, xattr_txn, &xa);
}

int store_expire_set(struct store *st, const char *ns, const char *key,
		     size_t len, uint64_t ino, int64_t expiration, unsigned flags,
		     struct kv_attr *out)
{
	struct xattr_arg xa = { .ns = ns, .key = key, .len = len, .ino = ino,
				.expiration = expiration, .flags = flags };
	int rc;

	if (expiration < 0)
		return -EINVAL;
	rc = store_write(st, xattr_txn, &xa);
	if (rc == 0 && out)
		*out = xa.out;
	return rc;
}
