/*
 * ns.c - namespaces: stat, create, delete, rename, setattr, list.
 *
 * A namespace is a record in the ns table under its name (store/nsrec.c);
 * the record's inode number carries the namespace id that prefixes its
 * keys, so that a rename is one record moved, however many keys the
 * namespace holds.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store/internal.h"

int store_ns_stat(struct store *st, const char *ns, struct kv_attr *out)
{
	MDB_txn *txn;
	int rc;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = ns_find(st, txn, ns, NULL, out);
	store_read_end(st, txn);
	return store_err(rc);
}

struct ns_create_arg {
	const char *ns;
	const struct kv_attr *a;
};

static int ns_create_txn(struct store *st, MDB_txn *txn, void *arg)
{
	const struct ns_create_arg *ca = arg;
	struct rec r;
	int rc;

	rc = ns_get(st, txn, ca->ns, &r);
	if (rc != MDB_NOTFOUND)
		return rc ? rc : -EEXIST;
	if (st->nns >= st->limits.max_namespaces)
		return -EDQUOT;
	if (st->next_nsid > 0xffffffffu)
		return -ENOSPC;
	memset(&r, 0, sizeof(r));
	r.a = *ca->a;
	r.a.type = KV_DIR;
	r.a.ino = STORE_NS_INO | st->next_nsid++;
	r.a.gen = 0;
	r.a.size = 0;
	store_now(&r.a.btime);
	r.a.atime = r.a.mtime = r.a.ctime = r.a.btime;
	st->nns++;
	rc = ns_put(st, txn, ca->ns, &r, MDB_NOOVERWRITE);
	return rc ? rc : store_touch_root(st, txn);
}

int store_ns_create(struct store *st, const char *ns, const struct kv_attr *a)
{
	struct ns_create_arg ca = { ns, a };

	return store_write(st, ns_create_txn, &ca);
}

/* Expired keys left for the sweep do not count: it finds them still. */
static int ns_empty(struct store *st, MDB_txn *txn, uint32_t nsid)
{
	int rc = key_live_below(st, txn, nsid, "", 0, store_clock());

	if (rc == MDB_NOTFOUND)
		return 0;
	return rc ? rc : -ENOTEMPTY;
}

static int ns_delete_txn(struct store *st, MDB_txn *txn, void *arg)
{
	const char *ns = arg;
	uint32_t nsid;
	int rc;

	rc = ns_find(st, txn, ns, &nsid, NULL);
	if (rc)
		return rc;
	rc = ns_empty(st, txn, nsid);
	if (rc)
		return rc;
	rc = ns_del(st, txn, ns);
	if (rc)
		return rc;
	st->nns--;
	return store_touch_root(st, txn);
}

int store_ns_delete(struct store *st, const char *ns)
{
	return store_write(st, ns_delete_txn, (void *)ns);
}

struct ns_rename_arg {
	const char *from, *to;
	unsigned flags;
};

static int ns_rename_txn(struct store *st, MDB_txn *txn, void *arg)
{
	const struct ns_rename_arg *ra = arg;
	struct rec r, t;
	int rc;

	rc = ns_get(st, txn, ra->from, &r);
	if (rc)
		return rc;
	if (!strcmp(ra->from, ra->to))
		return 0;
	rc = ns_get(st, txn, ra->to, &t);
	if (rc == 0) {
		if (ra->flags & KV_RENAME_NOREPLACE)
			return -EEXIST;
		rc = ns_empty(st, txn, NSID(t.a.ino));
		if (rc)
			return rc;
		st->nns--;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	rc = ns_del(st, txn, ra->from);
	if (rc)
		return rc;
	/* SPEC 2: a namespace's ctime is its creation, kept by a rename */
	rc = ns_put(st, txn, ra->to, &r, 0);
	return rc ? rc : store_touch_root(st, txn);
}

int store_ns_rename(struct store *st, const char *from, const char *to,
		    unsigned flags)
{
	struct ns_rename_arg ra = { from, to, flags };

	return store_write(st, ns_rename_txn, &ra);
}

struct ns_setattr_arg {
	const char *ns;
	const struct kv_attr *a;
	unsigned mask;
	struct kv_attr *out;
};

static int ns_setattr_txn(struct store *st, MDB_txn *txn, void *arg)
{
	struct ns_setattr_arg *sa = arg;
	struct rec r;
	int rc;

	if (!sa->ns[0])
		return store_root_update(st, txn, sa->a, sa->mask, sa->out);
	rc = ns_get(st, txn, sa->ns, &r);
	if (rc)
		return rc;
	attr_apply(&r.a, sa->a, sa->mask);
	*sa->out = r.a;
	return ns_put(st, txn, sa->ns, &r, 0);
}

int store_ns_setattr(struct store *st, const char *ns, const struct kv_attr *a,
		     unsigned mask, struct kv_attr *out)
{
	struct ns_setattr_arg sa = { ns, a, mask, out };

	return store_write(st, ns_setattr_txn, &sa);
}

int store_ns_list(struct store *st, const char *after, store_list_cb cb,
		  void *ctx)
{
	MDB_val k = { strlen(after), (void *)after }, v;
	MDB_cursor *c;
	MDB_txn *txn;
	struct rec r;
	int rc;

	rc = store_read_begin(st, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, st->ns, &c);
	if (rc)
		goto out_end;
	rc = mdb_cursor_get(c, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
	if (!rc && k.mv_size == strlen(after) &&
	    !memcmp(k.mv_data, after, k.mv_size))
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	while (!rc) {
		char name[64];

		if (k.mv_size >= sizeof(name) ||
		    rec_decode(v.mv_data, v.mv_size, &r)) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		rc = cb(ctx, name, k.mv_size, &r.a, name, k.mv_size);
		if (rc)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || rc == 1)
		rc = 0;
	mdb_cursor_close(c);
out_end:
	store_read_end(st, txn);
	return store_err(rc);
}

struct ns_name_arg {
	uint32_t nsid;
	char *name;
	size_t size;
	int rc;
};

static int ns_name_cb(void *ctx, const char *name, size_t len,
		      const struct kv_attr *attr, const char *pos,
		      size_t poslen)
{
	struct ns_name_arg *na = ctx;

	(void)pos;
	(void)poslen;
	if (NSID(attr->ino) != na->nsid)
		return 0;
	na->rc = len < na->size ? 0 : -ENAMETOOLONG;
	if (!na->rc)
		memcpy(na->name, name, len + 1);
	return 1;
}

int store_ns_name(struct store *st, uint32_t nsid, char *name, size_t size)
{
	struct ns_name_arg na = { nsid, name, size, -ENOENT };
	int rc = store_ns_list(st, "", ns_name_cb, &na);

	return rc ? rc : na.rc;
}
