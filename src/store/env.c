/*
 * env.c - the LMDB environment: locking and opening it, its tables and
 * counters, write and read transactions, map growth, usage.
 *
 * Write transactions are serialised by write_lock and run through
 * store_write(), which grows the map and retries when LMDB reports
 * MDB_MAP_FULL, so that a full map is never an error while the disk has
 * room (Postfix's slmdb.c does the same).  Writers that come while a
 * commit runs wait, and the first of them then commits them all in one
 * transaction (a group commit, as databases do for their log): each
 * one's body in a transaction nested in it, so that one failing takes
 * back only its own changes, each writer told its own result once the
 * commit is done.  What a commit costs is the pages it writes, which a
 * group shares (the tables' roots, the counters, the free list).  Read
 * transactions are short, never held across a FUSE reply, and recycled
 * through a pool as lmdb.h advises for MDB_NOTLS.
 *
 * Commits use MDB_NOSYNC: a commit is in the kernel before store_write()
 * returns, so it survives a crash of the process without a disk flush;
 * store/checkpoint.c flushes in checkpoints (every second, and on store_sync())
 * and brings the store back to the last one after a crash of the machine,
 * so that it never needs repair.  What a store holds once its environment
 * is open (the root, the default namespace) is store/open.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define STORE_VERSION	1
#define MAP_MIN		(256ull << 20)

struct state_disk {
	uint32_t version;
	uint32_t pad;
	uint64_t next_ino, next_gen, next_nsid, used_bytes, nns;
};

static char state_name[] = "state";
static const MDB_val state_key = { 5, state_name };

static void state_get(const struct store *st, struct state_disk *s)
{
	memset(s, 0, sizeof(*s));
	s->version = STORE_VERSION;
	s->next_ino = st->next_ino;
	s->next_gen = st->next_gen;
	s->next_nsid = st->next_nsid;
	s->used_bytes = st->used_bytes;
	s->nns = st->nns;
}

static void state_set(struct store *st, const struct state_disk *s)
{
	st->next_ino = s->next_ino;
	st->next_gen = s->next_gen;
	st->next_nsid = s->next_nsid;
	st->used_bytes = s->used_bytes;
	st->nns = s->nns;
}

/*
 * Double the map, once no transaction of this process is running (the
 * caller holds write_lock).  The checkpoint's read transaction is one:
 * ckpt_resize records the current state, lets the pin go while the map
 * grows, and pins the same state again.  A checkpoint that fails (an I/O
 * error) leaves the map as it is and the last checkpoint pinned: the
 * write fails with that error, not ENOSPC.
 */
static int grow_map(struct store *st, size_t seen)
{
	int rc = 0;

	pthread_rwlock_wrlock(&st->map_lock);
	if (st->mapsize == seen) {
		size_t want = seen * 2;

		rc = want < seen ? -ENOSPC : ckpt_resize(st, want);
		if (!rc)
			st->mapsize = want;
		kvfs_log(KVFS_DEBUG, "map grown to %zu bytes: %s", want,
			 rc ? strerror(-rc) : "ok");
	}
	pthread_rwlock_unlock(&st->map_lock);
	return rc;
}

/*
 * LMDB reports a short write as EIO; on a disk with less room than a
 * transaction writes, that is the disk being full.
 */
static bool disk_full(struct store *st)
{
	struct statvfs sv;
	int fd;

	return !mdb_env_get_fd(st->env, &fd) && fstatvfs(fd, &sv) == 0 &&
	       (uint64_t)sv.f_bavail * sv.f_frsize < 2ull * STORE_TXN_BYTES;
}

/* Whether this thread's commits skip the line (store_urgent). */
static __thread bool urgent;

void store_urgent(bool on)
{
	urgent = on;
}

/* A writer waiting for its commit (write_once). */
struct group_write {
	store_txn_fn fn;
	void *arg;
	int rc;			/* its result, once done */
	bool alone;		/* a large one, committed in its own transaction */
	bool disk;		/* it failed for lack of disk space */
	bool stale;		/* the capture found the store behind */
	bool done;
	struct group_write *next;
};

/* Writes one transaction takes at most. */
#define GROUP_MAX	32

/*
 * Run the writes w[0..n) in txn, each in a transaction nested in it, so
 * that one failing takes back its own changes only (and the counters it
 * moved).  A write that fills the map or the transaction ends the group
 * before it, unless it is the first.  Returns how many ran, their
 * results in w[i]->rc; none if the first filled the map (*full).
 */
static size_t group_run(struct store *st, MDB_txn *txn,
			struct group_write **w, size_t n, bool *full)
{
	struct state_disk mine;
	MDB_txn *child;
	size_t i;
	int rc;

	*full = false;
	for (i = 0; i < n; i++) {
		size_t mark = cap_mark(st);

		state_get(st, &mine);
		rc = mdb_txn_begin(st->env, txn, 0, &child);
		if (!rc) {
			rc = w[i]->fn(st, child, w[i]->arg);
			if (!rc)
				rc = mdb_txn_commit(child);
			else
				mdb_txn_abort(child);
		}
		if (rc) {
			state_set(st, &mine);
			cap_rollback(st, mark);
		}
		if ((rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) && i > 0)
			break;		/* the next transaction begins with it */
		if (rc == MDB_MAP_FULL) {
			*full = true;
			break;
		}
		w[i]->rc = rc;
	}
	return i;
}

/*
 * Commit the writes w[0..n), write_lock held, in as few transactions as
 * they fit in: one alone in the transaction itself, several each in a
 * nested one (group_run).  Grows the map when it is full.  Sets every
 * w[i]->rc and w[i]->disk.
 */
static void group_commit(struct store *st, struct group_write **w, size_t n)
{
	struct state_disk before, after;
	size_t seen, ran, i;
	unsigned writes;
	MDB_txn *txn;
	bool full, stale, captured, grow;
	int rc;

	while (n) {
		pthread_rwlock_rdlock(&st->map_lock);
		seen = st->mapsize;
		state_get(st, &before);
		full = stale = captured = grow = false;
		/* no commit while no checkpoint is pinned */
		rc = ckpt_pinned(st);
		if (!rc)
			rc = mdb_txn_begin(st->env, NULL, 0, &txn);
		if (rc) {
			pthread_rwlock_unlock(&st->map_lock);
			for (i = 0; i < n; i++)
				w[i]->rc = rc;
			return;
		}
		cap_rollback(st, 0);
		if (n == 1) {
			rc = w[0]->fn(st, txn, w[0]->arg);
			full = rc == MDB_MAP_FULL;
			ran = !full;
			if (ran)
				w[0]->rc = rc;
		} else {
			ran = group_run(st, txn, w, n, &full);
		}
		for (writes = 0, i = 0; i < ran; i++)
			writes += !w[i]->rc;
		rc = 0;
		if (writes) {
			state_get(st, &after);
			if (memcmp(&before, &after, sizeof(after))) {
				MDB_val v = { sizeof(after), &after };

				rc = mdb_put(txn, st->info,
					     (MDB_val *)&state_key, &v, 0);
			}
			/* the capture's callback may refuse the commit */
			if (!rc) {
				struct store_ids ids = { before.next_ino,
							 before.next_gen,
							 before.next_nsid };

				rc = cap_flush(st, txn, &ids, &captured);
				stale = rc == -EAGAIN;
			}
			if (!rc) {
				rc = mdb_txn_commit(txn);
				if (rc && captured) {
					/* committed where the capture sent
					 * it: never run again (the feed
					 * brings it here), but the map grows */
					grow = rc == MDB_MAP_FULL;
					rc = EIO;
				} else if (rc == EIO && disk_full(st)) {
					rc = ENOSPC;
				}
			} else {
				mdb_txn_abort(txn);
			}
			if (!rc)
				ckpt_committed(st, writes);
			else if (rc == MDB_MAP_FULL)
				full = true;	/* all of them again, once grown */
			if (full)
				ran = 0;
			for (i = 0; i < ran; i++)
				if (!w[i]->rc) {
					w[i]->rc = rc;
					w[i]->disk = rc == ENOSPC;
					w[i]->stale = stale;
				}
		} else {
			mdb_txn_abort(txn);
		}
		if (rc || !writes)
			state_set(st, &before);
		cap_rollback(st, 0);
		st->cap.off = false;	/* store_apply's transaction is over */
		pthread_rwlock_unlock(&st->map_lock);
		if (full || grow) {
			rc = grow_map(st, seen);
			if (rc && full) {
				/* the map cannot grow: the first write fails */
				w[0]->rc = rc;
				w[0]->disk = rc == -ENOSPC;
				ran = 1;
			}
		}
		w += ran;
		n -= ran;
	}
}

/*
 * Move the writers at the head of the list *head to w[*n...], up to max
 * in all: a writer alone only into an empty group, and none after it.
 */
static void group_take(struct group_write **head, struct group_write **w,
		       size_t *n, size_t max)
{
	while (*n < max && *head &&
	       !(*n && (w[*n - 1]->alone || (*head)->alone))) {
		w[(*n)++] = *head;
		*head = (*head)->next;
	}
}

/*
 * Wait for me to be committed: by the thread that leads the group it
 * came in, which may be this one.  A leader takes the writers waiting,
 * each list in the order it came, GROUP_MAX at most: urgent ones first
 * (store_urgent: requests that hold a directory's lock in the kernel,
 * and every request on that directory behind them), up to half the
 * group, then the others, then urgent ones again.  So an urgent writer
 * waits for the group committing at most, a large write alone (4 MiB)
 * or GROUP_MAX small ones, while a stream of urgent ones cannot hold
 * back a close; and the leader commits under write_lock while the next
 * writers gather.
 */
static void group_wait(struct store *st, struct group_write *me)
{
	struct group_write *w[GROUP_MAX];
	size_t n, i;

	pthread_mutex_lock(&st->group_lock);
	if (urgent) {
		*st->urgent_tail = me;
		st->urgent_tail = &me->next;
	} else {
		*st->normal_tail = me;
		st->normal_tail = &me->next;
	}
	for (;;) {
		while (!me->done && st->group_leading)
			pthread_cond_wait(&st->group_cond, &st->group_lock);
		if (me->done)
			break;
		st->group_leading = true;
		n = 0;
		group_take(&st->urgent_head, w, &n, GROUP_MAX / 2);
		group_take(&st->normal_head, w, &n, GROUP_MAX);
		group_take(&st->urgent_head, w, &n, GROUP_MAX);
		if (!st->urgent_head)
			st->urgent_tail = &st->urgent_head;
		if (!st->normal_head)
			st->normal_tail = &st->normal_head;
		pthread_mutex_unlock(&st->group_lock);

		pthread_mutex_lock(&st->write_lock);
		group_commit(st, w, n);
		pthread_mutex_unlock(&st->write_lock);

		pthread_mutex_lock(&st->group_lock);
		for (i = 0; i < n; i++)
			w[i]->done = true;	/* its thread may return now */
		st->group_leading = false;
		pthread_cond_broadcast(&st->group_cond);
	}
	pthread_mutex_unlock(&st->group_lock);
}

/* One try of store_write; *disk: it failed for lack of disk space. */
static int write_once(struct store *st, store_txn_fn fn, void *arg,
		      bool alone, bool *disk, bool *stale)
{
	struct group_write me = { .fn = fn, .arg = arg, .alone = alone };

	/* however busy the store, few pages wait for a checkpoint */
	ckpt_throttle(st);
	group_wait(st, &me);
	*disk = me.disk;
	*stale = me.stale;
	return store_err(me.rc);
}

/* Times a write runs again after the capture found the store behind. */
#define STALE_TRIES	10

/*
 * On a full disk, the pages that transactions since the last checkpoint
 * freed (deleted keys, a dropped stage) cannot be used again while that
 * checkpoint's state is pinned: take a checkpoint there and then, and try
 * once more in the pages it gives back.  Not for an ENOSPC of fn's own
 * (max_storage): that one a checkpoint does not change.
 */
static int write_retry(struct store *st, store_txn_fn fn, void *arg,
		       bool alone)
{
	bool disk = false, stale = false;
	int rc = write_once(st, fn, arg, alone, &disk, &stale), tries;

	if (rc == -ENOSPC && disk && ckpt_sync(st) == 0)
		rc = write_once(st, fn, arg, alone, &disk, &stale);
	/* behind the store it copies: catch up, then run it again */
	for (tries = 0; rc == -EAGAIN && stale && tries < STALE_TRIES;
	     tries++) {
		store_catchup_fn catchup;
		store_release_fn release;
		void *ctx;

		pthread_mutex_lock(&st->write_lock);
		catchup = st->cap.catchup;
		release = st->cap.release;
		ctx = st->cap.ctx;
		pthread_mutex_unlock(&st->write_lock);
		if (!catchup)
			break;
		rc = catchup(ctx);
		if (!rc)
			rc = write_once(st, fn, arg, alone, &disk, &stale);
		if (release)
			release(ctx);
	}
	return rc;
}

int store_write(struct store *st, store_txn_fn fn, void *arg)
{
	return write_retry(st, fn, arg, false);
}

int store_write_alone(struct store *st, store_txn_fn fn, void *arg)
{
	return write_retry(st, fn, arg, true);
}

int store_read_begin(struct store *st, MDB_txn **out)
{
	MDB_txn *txn = NULL;
	int rc;

	pthread_rwlock_rdlock(&st->map_lock);
	pthread_mutex_lock(&st->pool_lock);
	if (st->npool)
		txn = st->pool[--st->npool];
	pthread_mutex_unlock(&st->pool_lock);
	if (txn) {
		rc = mdb_txn_renew(txn);
		if (rc) {
			mdb_txn_abort(txn);
			txn = NULL;
		}
	}
	if (!txn) {
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
		if (rc) {
			pthread_rwlock_unlock(&st->map_lock);
			return store_err(rc);
		}
	}
	*out = txn;
	return 0;
}

void store_read_end(struct store *st, MDB_txn *txn)
{
	mdb_txn_reset(txn);
	pthread_mutex_lock(&st->pool_lock);
	if (st->npool == st->cappool) {
		size_t cap = st->cappool ? st->cappool * 2 : 16;
		MDB_txn **p = realloc(st->pool, cap * sizeof(*p));

		if (p) {
			st->pool = p;
			st->cappool = cap;
		}
	}
	if (st->npool < st->cappool) {
		st->pool[st->npool++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&st->pool_lock);
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->map_lock);
}

/*
 * Open the tables and read the counters: 0 for a store that has them,
 * MDB_NOTFOUND for a new one.
 */
int env_tables(struct store *st, MDB_txn *txn)
{
	struct state_disk s;
	MDB_val v;
	int rc;

	if ((rc = mdb_dbi_open(txn, "info", MDB_CREATE, &st->info)) ||
	    (rc = mdb_dbi_open(txn, "ns", MDB_CREATE, &st->ns)) ||
	    (rc = mdb_dbi_open(txn, "keys", MDB_CREATE, &st->keys)) ||
	    (rc = mdb_dbi_open(txn, "data", MDB_CREATE, &st->data)) ||
	    (rc = mdb_dbi_open(txn, "gc", MDB_CREATE, &st->gc)) ||
	    (rc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &st->expiry)))
		return rc;
	rc = mdb_get(txn, st->info, (MDB_val *)&state_key, &v);
	if (rc == 0) {
		if (v.mv_size != sizeof(s))
			return MDB_INCOMPATIBLE;
		memcpy(&s, v.mv_data, sizeof(s));
		if (s.version != STORE_VERSION)
			return MDB_VERSION_MISMATCH;
		state_set(st, &s);
		return 0;
	}
	return rc;
}

static int lock_store(const char *path)
{
	char lockpath[PATH_MAX];
	int fd;

	if (snprintf(lockpath, sizeof(lockpath), "%s/kvfs.lock", path) >=
	    (int)sizeof(lockpath))
		return -ENAMETOOLONG;
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(fd);
		return err == EWOULDBLOCK ? -EBUSY : -err;
	}
	return fd;
}

static size_t initial_mapsize(const char *path)
{
	const char *start = getenv("KVFS_INITIAL_MAP");
	char datapath[PATH_MAX];
	struct stat sb;
	size_t size = MAP_MIN;

	/* tests start small to see the map grow under load */
	if (start && atoll(start) >= 65536)
		size = (size_t)atoll(start);

	snprintf(datapath, sizeof(datapath), "%s/data.mdb", path);
	if (stat(datapath, &sb) == 0)
		while (size < (size_t)sb.st_size * 2)
			size *= 2;
	return size;
}

void env_free(struct store *st)
{
	size_t i;

	for (i = 0; i < st->npool; i++)
		mdb_txn_abort(st->pool[i]);
	ckpt_release(st);
	if (st->env)
		mdb_env_close(st->env);
	free(st->pool);
	free(st->pins);
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->ckpt_fd >= 0)
		close(st->ckpt_fd);
	pthread_rwlock_destroy(&st->map_lock);
	pthread_mutex_destroy(&st->write_lock);
	pthread_mutex_destroy(&st->group_lock);
	pthread_cond_destroy(&st->group_cond);
	pthread_mutex_destroy(&st->ckpt_lock);
	pthread_mutex_destroy(&st->ckpt_mx);
	pthread_cond_destroy(&st->ckpt_cond);
	pthread_cond_destroy(&st->ckpt_done);
	pthread_mutex_destroy(&st->pool_lock);
	pthread_mutex_destroy(&st->pin_lock);
	cap_free(st);
	free(st);
}

int env_open(const char *path, const struct store_limits *limits,
	     struct store **out)
{
	pthread_rwlockattr_t rwa;
	struct store *st;
	struct stat sb;
	MDB_envinfo info;
	MDB_stat ms;
	int rc;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(path, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->limits = *limits;
	st->lockfd = -1;
	st->ckpt_fd = -1;
	pthread_rwlockattr_init(&rwa);
	pthread_rwlockattr_setkind_np(&rwa,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&st->map_lock, &rwa);
	pthread_rwlockattr_destroy(&rwa);
	pthread_mutex_init(&st->write_lock, NULL);
	pthread_mutex_init(&st->group_lock, NULL);
	pthread_cond_init(&st->group_cond, NULL);
	st->urgent_tail = &st->urgent_head;
	st->normal_tail = &st->normal_head;
	pthread_mutex_init(&st->ckpt_lock, NULL);
	pthread_mutex_init(&st->ckpt_mx, NULL);
	pthread_cond_init(&st->ckpt_cond, NULL);
	pthread_cond_init(&st->ckpt_done, NULL);
	pthread_mutex_init(&st->pool_lock, NULL);
	pthread_mutex_init(&st->pin_lock, NULL);
	st->npinbuckets = 256;
	st->pins = calloc(st->npinbuckets, sizeof(*st->pins));
	if (!st->pins) {
		env_free(st);
		return -ENOMEM;
	}

	st->lockfd = lock_store(path);
	if (st->lockfd < 0) {
		rc = st->lockfd;
		st->lockfd = -1;
		env_free(st);
		return rc;
	}

	rc = ckpt_check_lmdb();
	if (rc == 0)
		rc = ckpt_recover(path);
	if (rc) {
		kvfs_log(KVFS_ERR, "cannot recover store '%s': %s", path,
			 strerror(-rc));
		env_free(st);
		return rc;
	}
	st->mapsize = initial_mapsize(path);
	if ((rc = mdb_env_create(&st->env)) ||
	    (rc = mdb_env_set_maxdbs(st->env, 8)) ||
	    (rc = mdb_env_set_maxreaders(st->env, 1024)) ||
	    (rc = mdb_env_set_mapsize(st->env, st->mapsize)) ||
	    (rc = mdb_env_open(st->env, path,
			       MDB_NOTLS | MDB_NOSYNC | MDB_NORDAHEAD,
			       0600))) {
		kvfs_log(KVFS_ERR, "cannot open store '%s': %s", path,
			 mdb_strerror(rc));
		env_free(st);
		return store_err(rc);
	}
	if (mdb_env_get_maxkeysize(st->env) < 511) {
		kvfs_log(KVFS_ERR, "liblmdb keys are limited to %d bytes",
			 mdb_env_get_maxkeysize(st->env));
		env_free(st);
		return -EIO;
	}
	mdb_env_info(st->env, &info);
	if (info.me_mapsize > st->mapsize)
		st->mapsize = info.me_mapsize;
	mdb_env_stat(st->env, &ms);
	st->chunk = 64 * (size_t)ms.ms_psize - 16;

	/* the first checkpoint, pinned, before the first write */
	rc = ckpt_open(st, path);
	if (rc) {
		kvfs_log(KVFS_ERR, "cannot record a checkpoint of store '%s': "
			 "%s", path, strerror(-rc));
		env_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

const char *store_backend_version(void)
{
	return mdb_version(NULL, NULL, NULL);
}

int store_usage(struct store *st, uint64_t *value_bytes, uint64_t *file_bytes)
{
	MDB_envinfo info;
	MDB_stat ms;

	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &ms);
	*file_bytes = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	pthread_mutex_lock(&st->write_lock);
	*value_bytes = st->used_bytes;
	pthread_mutex_unlock(&st->write_lock);
	return 0;
}
