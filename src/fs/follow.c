/*
 * follow.c - the follower of a replica (-o remote=): other hosts' writes
 * brought to the local store, and the kernel's caches of what they
 * changed dropped.
 *
 * A worker (worker.c) runs the feed (remote_catchup) when the listener
 * hears a write (remote_listen_start) and every FOLLOW_POLL_S seconds
 * anyway, so that a notification lost, or a listener cut off, costs a
 * second at most.  Each round the feed applies comes back here
 * (follow_applied), once the store has committed it, also when a write
 * of this host found the replica behind and caught up first: for each
 * key, namespace or root it names, the kernel's entry of the name goes
 * (by the teller, tell.h: a dentry's lock must not be waited for here),
 * its nodes are superseded if the value changed (nodes_changed_path, so
 * that the next open gets a fresh inode and page cache while readers of
 * the old value keep theirs), and the attributes of what stays and of
 * the directory around it are dropped.  The name's stamp moves before
 * any of that, so that a lookup that read the store before the round
 * and answers after it is sent back to read it again.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "fs/attr.h"
#include "fs/follow.h"
#include "fs/fs.h"
#include "fs/nodes.h"
#include "fs/notify.h"
#include "fs/tell.h"
#include "fs/worker.h"
#include "remote/remote.h"
#include "store/store.h"

/* Seconds between two rounds when no one says there is something new. */
#define FOLLOW_POLL_S	1
/*
 * Milliseconds at least from the start of a round to the next: a round
 * brings every write committed before it, so that under many writes a
 * second each round brings several, and the followers of a busy store
 * do not cost PostgreSQL more than its writers (scripts/bench-remote).
 */
#define FOLLOW_MIN_MS	10

/* Wait until FOLLOW_MIN_MS after the start of the last round. */
static void follow_pace(struct kvfs *fs)
{
	struct timespec until = fs->follow_last;

	until.tv_nsec += FOLLOW_MIN_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
			       NULL) == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &fs->follow_last);
}

struct timespec follow_run(void *arg)
{
	struct kvfs *fs = arg;
	struct timespec next;
	int rc;

	follow_pace(fs);
	rc = remote_catchup(fs->remote);
	/* past -o value_cache (this host's writes, a reader's close) */
	remote_cache_trim(fs->remote);

	if (rc && !fs->follow_failing) {
		char msg[REMOTE_MSG_MAX];

		remote_msg_copy(fs->remote, msg, sizeof(msg));
		kvfs_log(KVFS_WARN, "cannot follow the remote store, reads "
			 "may be stale: %s", rc == -EIO && msg[0] ? msg
			 : strerror(-rc));
	} else if (!rc && fs->follow_failing) {
		kvfs_log(KVFS_INFO, "following the remote store again");
	}
	fs->follow_failing = rc != 0;
	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += FOLLOW_POLL_S;
	return next;
}

void follow_wake(void *arg)
{
	struct kvfs *fs = arg;

	worker_kick(fs->follower);
}

/* The dentry and attributes of what a change names go. */
static void changed(struct kvfs *fs, const char *ns, const char *key,
		    size_t len, const struct kv_attr *a, uint64_t *last)
{
	struct inval inv;
	uint64_t parent, self;

	nodes_changed_path(fs->nodes, ns, key, len, a ? a->ino : 0,
			   a ? node_gen(a) : 0, a && a->type == KV_DIR, &inv,
			   &parent, &self);
	if (self)
		inval_inode(fs, self);
	if (parent && parent != *last)
		inval_inode(fs, parent);
	*last = parent;
	if (inv.name)
		tell_later(fs, &inv);
}

void follow_applied(void *ctx, const struct store_change *ch, size_t n)
{
	struct kvfs *fs = ctx;
	char ns[64] = "";
	uint32_t nsid = 0;
	bool have_ns = false, expiry = false;
	uint64_t last = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct store_change *c = &ch[i];
		struct kv_attr a;

		switch (c->kind) {
		case STORE_CHANGE_ROOT:
			inval_inode(fs, FUSE_ROOT_ID);
			break;
		case STORE_CHANGE_NS:
			/* its inode number is the store's to give */
			if (c->deleted || c->len >= sizeof(ns) ||
			    store_ns_stat(fs->st, c->name, &a))
				changed(fs, c->name, "", 0, NULL, &last);
			else
				changed(fs, c->name, "", 0, &a, &last);
			have_ns = false;	/* names may have moved */
			break;
		case STORE_CHANGE_KEY:
			if (!have_ns || nsid != c->nsid) {
				nsid = c->nsid;
				have_ns = !store_ns_name(fs->st, nsid, ns,
							 sizeof(ns));
			}
			/* a namespace gone took its keys' nodes along */
			if (!have_ns)
				break;
			changed(fs, ns, c->name, c->len,
				c->deleted ? NULL : &c->a, &last);
			expiry |= !c->deleted && c->a.expiration;
			break;
		default:
			break;
		}
	}
	if (expiry)
		worker_kick(fs->sweeper);
}
