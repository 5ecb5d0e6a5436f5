/*
 * nsrec.c - a namespace's record inside a transaction: get, put, find its
 * id, touch.
 *
 * A namespace is a record in the ns table under its name; the record's
 * inode number carries the namespace id (NSID) that prefixes its keys in
 * the index.  These are the reads and writes of that record that the
 * namespace, key and value operations share.
 */
#include "config.h"

#include <string.h>

#include "store/internal.h"

int ns_get(struct store *st, MDB_txn *txn, const char *ns, struct rec *r)
{
	MDB_val k = { strlen(ns), (void *)ns }, v;
	int rc;

	rc = mdb_get(txn, st->ns, &k, &v);
	if (rc)
		return rc;
	return rec_decode(v.mv_data, v.mv_size, r) ? MDB_CORRUPTED : 0;
}

int ns_put(struct store *st, MDB_txn *txn, const char *ns,
	   const struct rec *r, unsigned flags)
{
	char buf[256];
	MDB_val k = { strlen(ns), (void *)ns }, v = { rec_size(r, 0), buf };
	int rc;

	rec_encode(r, 0, buf);
	rc = mdb_put(txn, st->ns, &k, &v, flags);
	return rc ? rc : cap_ns(st, ns, &r->a);
}

int ns_del(struct store *st, MDB_txn *txn, const char *ns)
{
	MDB_val k = { strlen(ns), (void *)ns };
	int rc = mdb_del(txn, st->ns, &k, NULL);

	return rc ? rc : cap_ns(st, ns, NULL);
}

int ns_find(struct store *st, MDB_txn *txn, const char *ns, uint32_t *nsid,
	    struct kv_attr *attr)
{
	struct rec r;
	int rc;

	rc = ns_get(st, txn, ns, &r);
	if (rc)
		return rc;
	if (nsid)
		*nsid = NSID(r.a.ino);
	if (attr)
		*attr = r.a;
	return 0;
}

int ns_touch(struct store *st, MDB_txn *txn, const char *ns)
{
	struct rec r;
	int rc;

	rc = ns_get(st, txn, ns, &r);
	if (rc)
		return rc;
	/* SPEC 2: mtime follows the keys, ctime stays the creation time */
	store_now(&r.a.mtime);
	return ns_put(st, txn, ns, &r, 0);
}
