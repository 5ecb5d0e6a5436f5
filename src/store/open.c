/*
 * open.c - opening and closing a store: the environment, then the root,
 * the default namespace, temporary keys, collection, checkpoints and
 * warming, in that order.
 *
 * store_open() stands above every other part of the store: it opens the
 * environment (store/env.c, which recovers and records the first
 * checkpoint before anything is written), writes the root of a new store
 * and its default namespace, drops the temporary keys a killed client
 * left, collects the chunks nobody pins, and starts the checkpoint and
 * warming threads.  store_close() stops them, the last checkpoint marked
 * clean.
 */
#include "config.h"

#include <string.h>

#include "common/log.h"
#include "store/internal.h"

struct init_arg {
	const char *default_ns;
	uid_t uid;
	gid_t gid;
};

/* Open the tables; on a new store write the counters, root and namespace. */
static int init_txn(struct store *st, MDB_txn *txn, void *arg)
{
	const struct init_arg *ia = arg;
	int rc;

	rc = env_tables(st, txn);
	if (rc != MDB_NOTFOUND)
		return rc;
	st->next_ino = 2;
	st->next_gen = 1;
	st->next_nsid = 1;
	/* the counters are written by store_write() since they changed */
	return root_init(st, txn, ia->uid, ia->gid);
}

/* Whether st records a position in a store it copies (store_apply_pos). */
static bool store_is_replica(struct store *st)
{
	char pos[STORE_POS_MAX + 1];

	return store_apply_pos(st, pos, sizeof(pos)) == 0 && pos[0];
}

int store_open(const char *path, const struct store_limits *limits,
	       const char *default_ns, uid_t uid, gid_t gid,
	       struct store **out)
{
	struct init_arg ia = { default_ns, uid, gid };
	struct store *st;
	bool fresh;
	int rc;

	rc = env_open(path, limits, &st);
	if (rc)
		return rc;
	rc = store_write(st, init_txn, &ia);
	fresh = rc == 0 && st->nns == 0 && st->next_nsid == 1;
	if (rc == 0 && fresh && default_ns) {
		struct kv_attr a;

		memset(&a, 0, sizeof(a));
		a.mode = 0755;
		a.uid = uid;
		a.gid = gid;
		rc = store_ns_create(st, default_ns, &a);
	}
	if (rc == 0)
		rc = temp_drop_all(st);
	if (rc) {
		kvfs_log(KVFS_ERR, "cannot initialise store '%s': %s", path,
			 strerror(-rc));
		env_free(st);
		return rc;
	}
	/* a replica's collection is told to the store it copies: once its
	 * capture is set (store_collect) */
	if (!store_is_replica(st))
		value_collect(st);
	rc = ckpt_start(st);
	if (rc) {
		kvfs_log(KVFS_ERR, "cannot start checkpoints of store '%s': %s",
			 path, strerror(-rc));
		env_free(st);
		return rc;
	}
	/* not worth failing the mount for */
	if (warm_start(st))
		kvfs_log(KVFS_WARN, "cannot map the store ahead of readers");
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	warm_stop(st);
	ckpt_stop(st);		/* the last checkpoint, marked clean */
	env_free(st);
}

int store_sync(struct store *st)
{
	return ckpt_sync(st);
}

void store_set_limits(struct store *st, const struct store_limits *limits)
{
	st->limits = *limits;
}

void store_collect(struct store *st)
{
	value_collect(st);
}
