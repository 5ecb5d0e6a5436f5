/*
 * value.c - a key's value opened for a handle: from the replica, and
 * under -o value_cache fetched first from the shared store when the
 * replica keeps only the key's record (remote/fetch.c).  The reader then
 * holds it (pinned) until it closes, whatever the cache evicts.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>

#include "fs/fs.h"
#include "fs/value.h"
#include "remote/remote.h"

/* Fetches of one open: a value evicted again as it was fetched, or
 * being evicted as it was opened, is tried again. */
#define FETCH_TRIES	4

int value_open(struct kvfs *fs, const struct kpath *p,
	       struct store_value **out, struct kv_attr *attr)
{
	bool pinned = false;	/* a fetched generation, until opened */
	uint64_t gen = 0;
	int rc, tries;

	for (tries = 0; tries < FETCH_TRIES; tries++) {
		rc = store_value_open(fs->st, p->ns, p->key, p->len, out,
				      attr);
		if (pinned)
			store_gen_unpin(fs->st, gen);
		pinned = false;
		if (rc != -EREMOTE)
			break;
		if (!fs->remote)
			return -EIO;	/* a local store lacking chunks */
		rc = remote_value_fetch(fs->remote, p->ns, p->key, p->len,
					attr->ino, attr->gen, attr->size);
		if (rc == -ESTALE) {
			/* replaced elsewhere: the replica learns by what */
			remote_catchup(fs->remote);
			return -ESTALE;
		}
		if (!rc) {
			pinned = true;
			gen = attr->gen;
		} else if (rc != -EAGAIN) {
			return rc;
		}
	}
	if (pinned)
		store_gen_unpin(fs->st, gen);
	if (rc == -EREMOTE)
		return -EIO;
	if (!rc && fs->remote && store_value_chunked(*out))
		remote_value_used(fs->remote, attr->ino, attr->gen,
				  attr->size);
	return rc;
}
