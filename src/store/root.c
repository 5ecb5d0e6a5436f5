/*
 * root.c - the root directory's record: create, read, update, touch.
 *
 * The root lists the namespaces.  Its attributes are a record in the
 * info table under "root", beside the counters: a new store writes it
 * (root_init), a chmod or chown of the mount point changes it, and a
 * namespace made, deleted or renamed moves its mtime and ctime.
 */
#include "config.h"

#include <string.h>

#include "store/internal.h"

static char root_name[] = "root";
static const MDB_val root_key = { 4, root_name };

int root_set(struct store *st, MDB_txn *txn, const struct kv_attr *a)
{
	struct rec root;
	MDB_val v;
	char buf[256];
	int rc;

	memset(&root, 0, sizeof(root));
	root.a = *a;
	rec_encode(&root, 0, buf);
	v.mv_size = rec_size(&root, 0);
	v.mv_data = buf;
	rc = mdb_put(txn, st->info, (MDB_val *)&root_key, &v, 0);
	return rc ? rc : cap_root(st, a);
}

int root_init(struct store *st, MDB_txn *txn, uid_t uid, gid_t gid)
{
	struct kv_attr a;

	memset(&a, 0, sizeof(a));
	a.type = KV_DIR;
	a.ino = 1;
	a.mode = 0755;
	a.uid = uid;
	a.gid = gid;
	store_now(&a.btime);
	a.atime = a.mtime = a.ctime = a.btime;
	return root_set(st, txn, &a);
}

void store_root_attr(struct store *st, struct kv_attr *out)
{
	struct rec r;
	MDB_txn *txn;
	MDB_val v;

	memset(out, 0, sizeof(*out));
	out->type = KV_DIR;
	out->ino = 1;
	out->mode = 0755;
	if (store_read_begin(st, &txn))
		return;
	if (!mdb_get(txn, st->info, (MDB_val *)&root_key, &v) &&
	    !rec_decode(v.mv_data, v.mv_size, &r))
		*out = r.a;
	store_read_end(st, txn);
}

int store_root_update(struct store *st, MDB_txn *txn, const struct kv_attr *a,
		      unsigned mask, struct kv_attr *out)
{
	char buf[256];
	struct rec r;
	MDB_val v;
	int rc;

	rc = mdb_get(txn, st->info, (MDB_val *)&root_key, &v);
	if (rc)
		return rc;
	if (rec_decode(v.mv_data, v.mv_size, &r))
		return MDB_CORRUPTED;
	if (a) {
		attr_apply(&r.a, a, mask);
	} else {
		store_now(&r.a.mtime);
		r.a.ctime = r.a.mtime;
	}
	if (out)
		*out = r.a;
	rec_encode(&r, 0, buf);
	v.mv_size = rec_size(&r, 0);
	v.mv_data = buf;
	rc = mdb_put(txn, st->info, (MDB_val *)&root_key, &v, 0);
	return rc ? rc : cap_root(st, &r.a);
}

int store_touch_root(struct store *st, MDB_txn *txn)
{
	return store_root_update(st, txn, NULL, 0, NULL);
}
