/*
 * base.c - what every part of the store uses: LMDB codes as errno, the
 * clock, new inode numbers and generations, attribute changes.
 *
 * One function turns LMDB's codes into errno, so that the store's
 * contract speaks errno only: MDB_NOTFOUND is ENOENT, MDB_KEYEXIST
 * EEXIST, a full map or transaction ENOSPC, a system error stays itself
 * and anything else is EIO.  The counters of inode numbers and
 * generations are taken inside a write transaction, which store_write()
 * (store/env.c) sets back when the transaction aborts.  Nothing here
 * calls another file of the store.
 */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "store/internal.h"

void store_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

int64_t store_clock(void)
{
	struct timespec ts;

	store_now(&ts);
	return ts.tv_sec;
}

int store_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return -ENOSPC;
	default:
		break;
	}
	if (rc > 0 && rc < 4096)
		return -rc;
	if (rc < 0 && rc > -4096)
		return rc;
	return -EIO;
}

uint64_t store_new_ino(struct store *st)
{
	return st->next_ino++;
}

uint64_t store_new_gen(struct store *st)
{
	return st->next_gen++;
}

/* Apply the attribute changes named by mask (root, namespaces, keys). */
void attr_apply(struct kv_attr *dst, const struct kv_attr *src,
		unsigned mask)
{
	if (mask & KV_SET_MODE)
		dst->mode = src->mode & 07777;
	if (mask & KV_SET_UID)
		dst->uid = src->uid;
	if (mask & KV_SET_GID)
		dst->gid = src->gid;
	if (mask & KV_SET_ATIME)
		dst->atime = src->atime;
	if (mask & KV_SET_MTIME)
		dst->mtime = src->mtime;
	store_now(&dst->ctime);
}
