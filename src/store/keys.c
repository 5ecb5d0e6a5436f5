/*
 * keys.c - keys and directories: stat, list, create, delete, rename,
 * change attributes.
 *
 * A directory is a key prefix ending in '/'.  mkdir writes a marker record
 * (type KV_DIR) under the directory's own key, so that an empty directory
 * persists and keeps its mode, owner and times; keys written below a
 * prefix without a marker make an "implied" directory that exists while
 * they do.  Renaming a directory moves every key below it in one
 * transaction.  A symbolic link is a key of its own type (KV_LINK) whose
 * value is its target, made whole by one transaction: everything here
 * treats it as a key.
 *
 * A key whose expiration has come is absent here from that second on,
 * though its record stays until the sweep (store/sweep.c) deletes it: it
 * is not found, not listed, keeps no directory alive, and a key created
 * or renamed in its place replaces it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/options.h"
#include "store/internal.h"

#define KEYBUF	(KVFS_KEY_SIZE_CEIL + 2)

static uint64_t implied_ino(uint32_t nsid, const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ nsid;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
	return STORE_IMPLIED_INO | (h & (STORE_NS_INO - 1));
}

/* Does a live key lie below directory key? 0 (yes), MDB_NOTFOUND (no). */
static int has_children(struct store *st, MDB_txn *txn, uint32_t nsid,
			const char *key, size_t len, int64_t now)
{
	char pfx[KEYBUF];

	if (len + 1 > KVFS_KEY_SIZE_CEIL)
		return MDB_NOTFOUND;
	memcpy(pfx, key, len);
	pfx[len] = '/';
	return key_live_below(st, txn, nsid, pfx, len + 1, now);
}

/*
 * What key is: its record, or an implied directory (*implied set, attrs
 * made from the namespace's).  MDB_NOTFOUND if it is neither, or expired.
 */
static int key_find(struct store *st, MDB_txn *txn, uint32_t nsid,
		    const struct kv_attr *nsattr, const char *key, size_t len,
		    int64_t now, struct rec *r, bool *implied)
{
	int rc;

	*implied = false;
	rc = key_get(st, txn, nsid, key, len, r);
	if (rc == 0 && !attr_expired(&r->a, now))
		return 0;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	rc = has_children(st, txn, nsid, key, len, now);
	if (rc)
		return rc;
	memset(r, 0, sizeof(*r));
	r->a = *nsattr;
	r->a.ino = implied_ino(nsid, key, len);
	r->a.size = 0;
	*implied = true;
	return 0;
}

/*
 * A name in the directory holding key (len bytes) was made or removed: as
 * on a local filesystem the directory's mtime and ctime move, if it has a
 * marker to keep them (an implied directory shows its namespace's times);
 * the namespace's mtime moves with any change in it (SPEC 2).
 */
static int dir_changed(struct store *st, MDB_txn *txn, uint32_t nsid,
		       const char *ns, const char *key, size_t len)
{
	const char *slash = memrchr(key, '/', len);
	struct rec r;
	int rc;

	if (slash) {
		len = (size_t)(slash - key);
		rc = key_get(st, txn, nsid, key, len, &r);
		if (rc == 0 && r.a.type == KV_DIR) {
			store_now(&r.a.mtime);
			r.a.ctime = r.a.mtime;
			rc = key_put(st, txn, nsid, key, len, &r);
		}
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	return ns_touch(st, txn, ns);
}

/* In a write: delete the record of an expired key before taking its place. */
static int reap_expired(struct store *st, MDB_txn *txn, uint32_t nsid,
			const char *key, size_t len, int64_t now)
{
	struct rec r;
	int rc;

	rc = key_get(st, txn, nsid, key, len, &r);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : rc;
	return attr_expired(&r.a, now) ? key_drop(st, txn, nsid, key, len, &r)
				       : 0;
}

int store_stat(struct store *st, const char *ns, const char *key, size_t len,
	       struct kv_attr *out)
{
	struct kv_attr nsattr;
	MDB_txn *txn;
	uint32_t nsid;
	struct rec r;
	bool implied;
	int rc;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = ns_find(st, txn, ns, &nsid, &nsattr);
	if (!rc && len == 0)
		*out = nsattr;
	else if (!rc) {
		rc = key_find(st, txn, nsid, &nsattr, key, len, store_clock(),
			      &r, &implied);
		if (!rc)
			*out = r.a;
	}
	store_read_end(st, txn);
	return store_err(rc);
}

int store_list(struct store *st, const char *ns, const char *dir,
	       size_t dirlen, const char *after, size_t afterlen,
	       store_list_cb cb, void *ctx)
{
	struct kv_attr nsattr;
	struct kvi_cursor cur;
	char pfx[KEYBUF], seek[KEYBUF];
	size_t plen = dirlen ? dirlen + 1 : 0;
	int64_t now = store_clock();
	MDB_txn *txn;
	uint32_t nsid;
	int rc;

	if (plen + afterlen + 1 > KEYBUF)
		return -ENAMETOOLONG;
	memcpy(pfx, dir, dirlen);
	if (dirlen)
		pfx[dirlen] = '/';
	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = ns_find(st, txn, ns, &nsid, &nsattr);
	if (rc)
		goto out_end;
	rc = kvi_open(txn, st->keys, nsid, &cur);
	if (rc)
		goto out_end;
	memcpy(seek, pfx, plen);
	memcpy(seek + plen, after, afterlen);
	rc = kvi_seek(&cur, seek, plen + afterlen);
	while (!rc) {
		const char *rest = cur.key + plen, *slash;
		size_t restlen = cur.keylen - plen, nlen;
		struct rec r;

		/* temporary keys, the last of all, are no keys: not listed */
		if (cur.keylen < plen || memcmp(cur.key, pfx, plen) ||
		    key_is_temp(cur.key, cur.keylen)) {
			rc = MDB_NOTFOUND;
			break;
		}
		/* resuming: skip the entry at `after` and, for a directory
		 * position ("name/"), what lies below it */
		if (afterlen && restlen >= afterlen &&
		    !memcmp(rest, after, afterlen) &&
		    (restlen == afterlen || after[afterlen - 1] == '/')) {
			rc = kvi_next(&cur);
			continue;
		}
		slash = memchr(rest, '/', restlen);
		if (!slash) {
			if (rec_decode(cur.rec.mv_data, cur.rec.mv_size, &r)) {
				rc = MDB_CORRUPTED;
				break;
			}
			if (!attr_expired(&r.a, now))
				rc = cb(ctx, rest, restlen, &r.a, rest,
					restlen);
			if (!rc)
				rc = kvi_next(&cur);
			continue;
		}
		/* a key below a subdirectory: list the subdirectory once,
		 * unless its marker was listed already, then skip past it */
		nlen = (size_t)(slash - rest);
		memcpy(seek, cur.key, plen + nlen);
		rc = key_get(st, txn, nsid, seek, plen + nlen, &r);
		if (rc == 0 && attr_expired(&r.a, now))
			rc = MDB_NOTFOUND;	/* an expired key `a` */
		if (rc == MDB_NOTFOUND)
			rc = has_children(st, txn, nsid, seek, plen + nlen,
					  now);
		else if (rc == 0)
			rc = MDB_KEYEXIST;	/* listed as itself */
		if (rc == 0) {
			char pos[KEYBUF];

			memset(&r, 0, sizeof(r));
			r.a = nsattr;
			r.a.ino = implied_ino(nsid, seek, plen + nlen);
			memcpy(pos, rest, nlen);
			pos[nlen] = '/';
			rc = cb(ctx, rest, nlen, &r.a, pos, nlen + 1);
			if (rc)
				break;
		} else if (rc != MDB_NOTFOUND && rc != MDB_KEYEXIST) {
			break;
		}
		seek[plen + nlen] = '/' + 1;
		rc = kvi_seek(&cur, seek, plen + nlen + 1);
	}
	kvi_close(&cur);
	if (rc == MDB_NOTFOUND || rc == 1)
		rc = 0;
out_end:
	store_read_end(st, txn);
	return store_err(rc);
}

struct key_arg {
	const char *ns;
	const char *key;
	size_t len;
	const char *tons;
	const char *tokey;
	size_t tolen;
	unsigned flags;
	const struct kv_attr *a;
	const char *target;	/* of a new link, tlen bytes */
	size_t tlen;
	struct kv_attr *out;
};

/*
 * The directory that holds key (len bytes), whose attributes *dir
 * receives (the namespace's for a key at its top): a name is made only
 * in a directory that is there.  -ENOENT if it is gone (a rename moved
 * it, a delete left it empty), -ENOTDIR if a key has its name.
 */
static int parent_find(struct store *st, MDB_txn *txn, uint32_t nsid,
		       const struct kv_attr *nsattr, const char *key,
		       size_t len, int64_t now, struct kv_attr *dir)
{
	const char *slash = memrchr(key, '/', len);
	struct rec r;
	bool implied;
	int rc;

	*dir = *nsattr;
	if (!slash)
		return 0;
	rc = key_find(st, txn, nsid, nsattr, key, (size_t)(slash - key), now,
		      &r, &implied);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : rc;
	if (r.a.type != KV_DIR)
		return -ENOTDIR;
	*dir = r.a;
	return 0;
}

/*
 * In a set-group-ID directory dir, as on a local filesystem, a new entry
 * takes the directory's group, and a new directory the bit as well.
 */
static void inherit_group(const struct kv_attr *dir, struct kv_attr *a)
{
	if (dir->mode & S_ISGID) {
		a->gid = dir->gid;
		if (a->type == KV_DIR)
			a->mode |= S_ISGID;
	}
}

static int create_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct key_arg *ka = arg;
	int64_t now = store_clock();
	struct kv_attr nsattr, dir;
	uint32_t nsid;
	struct rec r;
	bool implied;
	int rc;

	rc = ns_find(st, txn, ka->ns, &nsid, &nsattr);
	if (!rc)
		rc = parent_find(st, txn, nsid, &nsattr, ka->key, ka->len, now,
				 &dir);
	if (!rc)
		rc = reap_expired(st, txn, nsid, ka->key, ka->len, now);
	if (rc)
		return rc;
	rc = key_find(st, txn, nsid, &nsattr, ka->key, ka->len, now, &r,
		      &implied);
	if (rc != MDB_NOTFOUND)
		return rc ? rc : -EEXIST;
	memset(&r, 0, sizeof(r));
	r.a = *ka->a;
	r.a.mode &= 07777;
	inherit_group(&dir, &r.a);
	r.a.ino = store_new_ino(st);
	r.a.gen = store_new_gen(st);
	r.a.size = 0;
	r.a.expiration = 0;
	if (r.a.type == KV_LINK) {
		/* its target is its value, counted as values are */
		if (st->limits.max_storage &&
		    st->used_bytes + ka->tlen > st->limits.max_storage)
			return -ENOSPC;
		r.a.size = ka->tlen;
		r.inl = ka->target;
	}
	store_now(&r.a.btime);
	r.a.atime = r.a.mtime = r.a.ctime = r.a.btime;
	rc = key_put(st, txn, nsid, ka->key, ka->len, &r);
	if (rc)
		return rc;
	st->used_bytes += r.a.size;
	*ka->out = r.a;
	return dir_changed(st, txn, nsid, ka->ns, ka->key, ka->len);
}

int store_create(struct store *st, const char *ns, const char *key,
		 size_t len, const struct kv_attr *a, struct kv_attr *out)
{
	struct key_arg ka = { .ns = ns, .key = key, .len = len, .a = a,
			      .out = out };

	return store_write(st, create_txn, &ka);
}

static int unlink_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct key_arg *ka = arg;
	int64_t now = store_clock();
	struct kv_attr nsattr;
	uint32_t nsid;
	struct rec r;
	bool implied;
	int rc;

	rc = ns_find(st, txn, ka->ns, &nsid, &nsattr);
	if (rc)
		return rc;
	rc = key_find(st, txn, nsid, &nsattr, ka->key, ka->len, now, &r,
		      &implied);
	if (rc)
		return rc;
	if (r.a.type == KV_DIR)
		return -EISDIR;
	rc = key_drop(st, txn, nsid, ka->key, ka->len, &r);
	return rc ? rc : dir_changed(st, txn, nsid, ka->ns, ka->key, ka->len);
}

int store_symlink(struct store *st, const char *ns, const char *key,
		  size_t len, const struct kv_attr *a, const char *target,
		  size_t tlen, struct kv_attr *out)
{
	struct kv_attr la = *a;
	struct key_arg ka = { .ns = ns, .key = key, .len = len, .a = &la,
			      .target = target, .tlen = tlen, .out = out };

	la.type = KV_LINK;
	return store_write(st, create_txn, &ka);
}

ssize_t store_readlink(struct store *st, const char *ns, const char *key,
		       size_t len, char *buf, size_t size)
{
	MDB_txn *txn;
	uint32_t nsid;
	struct rec r;
	ssize_t n;
	int rc;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = ns_find(st, txn, ns, &nsid, NULL);
	if (!rc)
		rc = key_get(st, txn, nsid, key, len, &r);
	if (!rc && attr_expired(&r.a, store_clock()))
		rc = MDB_NOTFOUND;
	if (!rc && r.a.type != KV_LINK)
		rc = -EINVAL;
	n = rc ? store_err(rc) : (ssize_t)r.a.size;
	if (!rc && r.a.size <= size)
		memcpy(buf, r.inl, r.a.size);
	store_read_end(st, txn);
	return n;
}

int store_unlink(struct store *st, const char *ns, const char *key,
		 size_t len)
{
	struct key_arg ka = { .ns = ns, .key = key, .len = len };
	int rc = store_write(st, unlink_txn, &ka);

	value_collect_queued(st);
	return rc;
}

static int rmdir_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct key_arg *ka = arg;
	int64_t now = store_clock();
	struct kv_attr nsattr;
	uint32_t nsid;
	struct rec r;
	bool implied;
	int rc;

	rc = ns_find(st, txn, ka->ns, &nsid, &nsattr);
	if (rc)
		return rc;
	rc = key_find(st, txn, nsid, &nsattr, ka->key, ka->len, now, &r,
		      &implied);
	if (rc)
		return rc;
	if (r.a.type != KV_DIR)
		return -ENOTDIR;
	if (implied || has_children(st, txn, nsid, ka->key, ka->len, now) == 0)
		return -ENOTEMPTY;
	rc = key_del_raw(st, txn, nsid, ka->key, ka->len);
	return rc ? rc : dir_changed(st, txn, nsid, ka->ns, ka->key, ka->len);
}

int store_rmdir(struct store *st, const char *ns, const char *key, size_t len)
{
	struct key_arg ka = { .ns = ns, .key = key, .len = len };

	return store_write(st, rmdir_txn, &ka);
}

/*
 * Move every key below directory from (in nsid) to below to (in tonsid),
 * with its expiry entry; expired keys are deleted on the way.
 */
static int move_tree(struct store *st, MDB_txn *txn, uint32_t nsid,
		     const char *from, size_t flen, uint32_t tonsid,
		     const char *to, size_t tlen, int64_t now)
{
	char pfx[KEYBUF], nk[KEYBUF];
	struct kvi_cursor cur;
	int rc;

	memcpy(pfx, from, flen);
	pfx[flen] = '/';
	memcpy(nk, to, tlen);
	nk[tlen] = '/';
	rc = kvi_open(txn, st->keys, nsid, &cur);
	if (rc)
		return rc;
	while ((rc = kvi_seek(&cur, pfx, flen + 1)) == 0) {
		size_t restlen = cur.keylen - flen - 1;
		struct rec r;
		void *copy;
		size_t n;

		if (cur.keylen <= flen || memcmp(cur.key, pfx, flen + 1)) {
			rc = MDB_NOTFOUND;
			break;
		}
		if (rec_decode(cur.rec.mv_data, cur.rec.mv_size, &r)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (attr_expired(&r.a, now)) {
			rc = key_drop(st, txn, nsid, cur.key, cur.keylen, &r);
			if (rc)
				break;
			continue;
		}
		if (tlen + 1 + restlen > st->limits.max_key_size) {
			rc = -ENAMETOOLONG;
			break;
		}
		memcpy(nk + tlen + 1, cur.key + flen + 1, restlen);
		n = cur.rec.mv_size;
		copy = malloc(n);
		if (!copy) {
			rc = -ENOMEM;
			break;
		}
		memcpy(copy, cur.rec.mv_data, n);
		rc = key_del_raw(st, txn, nsid, cur.key, cur.keylen);
		if (!rc)
			rc = key_put_raw(st, txn, tonsid, nk,
					 tlen + 1 + restlen, copy, n);
		free(copy);
		if (!rc && r.a.expiration)
			rc = expiry_put(st, txn, r.a.expiration, r.a.ino,
					tonsid, nk, tlen + 1 + restlen);
		if (rc)
			break;
	}
	kvi_close(&cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int rename_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct key_arg *ka = arg;
	int64_t now = store_clock();
	struct kv_attr nsattr, tonsattr, todir;
	uint32_t nsid, tonsid;
	struct rec r, t;
	bool implied, timplied;
	int rc;

	rc = ns_find(st, txn, ka->ns, &nsid, &nsattr);
	if (!rc)
		rc = ns_find(st, txn, ka->tons, &tonsid, &tonsattr);
	if (rc)
		return rc;
	rc = key_find(st, txn, nsid, &nsattr, ka->key, ka->len, now, &r,
		      &implied);
	if (rc)
		return rc;
	ka->out->ino = r.a.ino;
	if (nsid == tonsid && ka->len == ka->tolen &&
	    !memcmp(ka->key, ka->tokey, ka->len))
		return 0;
	if (r.a.type == KV_DIR && nsid == tonsid && ka->tolen > ka->len &&
	    ka->tokey[ka->len] == '/' && !memcmp(ka->key, ka->tokey, ka->len))
		return -EINVAL;
	rc = parent_find(st, txn, tonsid, &tonsattr, ka->tokey, ka->tolen, now,
			 &todir);
	if (!rc)
		rc = reap_expired(st, txn, tonsid, ka->tokey, ka->tolen, now);
	if (!rc)
		rc = key_find(st, txn, tonsid, &tonsattr, ka->tokey, ka->tolen,
			      now, &t, &timplied);
	if (rc == 0) {
		if (ka->flags & KV_RENAME_NOREPLACE)
			return -EEXIST;
		if (r.a.type != KV_DIR && t.a.type == KV_DIR)
			return -EISDIR;
		if (r.a.type == KV_DIR && t.a.type != KV_DIR)
			return -ENOTDIR;
		if (t.a.type == KV_DIR && (timplied ||
		    has_children(st, txn, tonsid, ka->tokey, ka->tolen, now) == 0))
			return -ENOTEMPTY;
		rc = key_drop(st, txn, tonsid, ka->tokey, ka->tolen, &t);
		if (rc)
			return rc;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	if (!implied) {
		/* dropping the target may have moved the source's bytes */
		rc = key_get(st, txn, nsid, ka->key, ka->len, &r);
		if (rc)
			return rc;
		store_now(&r.a.ctime);
		rc = key_put(st, txn, tonsid, ka->tokey, ka->tolen, &r);
		if (!rc)
			rc = key_del_raw(st, txn, nsid, ka->key, ka->len);
		if (!rc && r.a.expiration)
			rc = expiry_put(st, txn, r.a.expiration, r.a.ino,
					tonsid, ka->tokey, ka->tolen);
		if (rc)
			return rc;
	}
	if (r.a.type == KV_DIR) {
		rc = move_tree(st, txn, nsid, ka->key, ka->len, tonsid,
			       ka->tokey, ka->tolen, now);
		if (rc)
			return rc;
	}
	rc = dir_changed(st, txn, nsid, ka->ns, ka->key, ka->len);
	if (!rc)
		rc = dir_changed(st, txn, tonsid, ka->tons, ka->tokey,
				 ka->tolen);
	return rc;
}

int store_rename(struct store *st, const char *ns, const char *key, size_t len,
		 const char *tons, const char *tokey, size_t tolen,
		 unsigned flags, uint64_t *ino)
{
	struct kv_attr moved = { 0 };
	struct key_arg ka = { .ns = ns, .key = key, .len = len, .tons = tons,
			      .tokey = tokey, .tolen = tolen, .flags = flags,
			      .out = &moved };
	int rc = store_write(st, rename_txn, &ka);

	value_collect_queued(st);
	if (ino)
		*ino = moved.ino;
	return rc;
}

static int setattr_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct key_arg *ka = arg;
	int64_t now = store_clock();
	struct kv_attr nsattr;
	uint32_t nsid;
	struct rec r;
	bool implied;
	int rc;

	rc = ns_find(st, txn, ka->ns, &nsid, &nsattr);
	if (!rc)
		rc = reap_expired(st, txn, nsid, ka->key, ka->len, now);
	if (rc)
		return rc;
	rc = key_find(st, txn, nsid, &nsattr, ka->key, ka->len, now, &r,
		      &implied);
	if (rc)
		return rc;
	if (implied) {
		/* a directory given attributes of its own gets a marker */
		r.a.ino = store_new_ino(st);
		r.a.gen = store_new_gen(st);
	}
	attr_apply(&r.a, ka->a, ka->flags);
	*ka->out = r.a;
	return key_put(st, txn, nsid, ka->key, ka->len, &r);
}

int store_setattr(struct store *st, const char *ns, const char *key,
		  size_t len, const struct kv_attr *a, unsigned mask,
		  struct kv_attr *out)
{
	struct key_arg ka = { .ns = ns, .key = key, .len = len, .a = a,
			      .flags = mask, .out = out };

	if (len == 0)
		return store_ns_setattr(st, ns, a, mask, out);
	return store_write(st, setattr_txn, &ka);
}
