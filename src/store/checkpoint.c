/*
 * checkpoint.c - taking checkpoints: pin, record, thread, throttle,
 * resize, sync, close.
 *
 * Commits use MDB_NOSYNC: a commit is in the kernel's page cache when it
 * returns, which is all that a crash of the kvfs process (kill -9) cannot
 * take away, and costs no disk flush.  What a crash of the machine may
 * take is handled by checkpoints:
 *
 *   - a checkpoint flushes the environment (mdb_env_sync), then records
 *     the meta page of that state, its transaction id and the machine's
 *     boot id in kvfs.sync (two checksummed slots, written in turn and
 *     flushed), and keeps a read transaction open on that state until the
 *     next checkpoint, so that LMDB reuses none of its pages meanwhile;
 *   - from the open of the store to its close, the state recorded last is
 *     pinned so: the store records its first checkpoint before its first
 *     write (ckpt_open), also right after a recovery, and a new state is
 *     pinned only once recorded.  The growth of the map, which must let
 *     the pin go while LMDB maps the file anew, first records the current
 *     state and pins that same state again before any commit; if that
 *     checkpoint fails, the map does not grow (EIO) and the pin stays;
 *   - a thread takes one every second while there are new commits, and
 *     at once after every CKPT_COMMITS commits (which bounds the pages
 *     held back from reuse); store_sync() (fsync) takes one, and so do the
 *     growth of the map and the close (marked clean).  Only the pinning
 *     of the state stops writers, for no I/O: the disk flushes while
 *     commits go on;
 *   - a flush that fails (of data.mdb or of kvfs.sync) is sticky: Linux
 *     reports a write-back error once and may have dropped the pages, so
 *     a later flush that succeeds proves nothing.  From then on no
 *     checkpoint is recorded, the last one stays pinned, store_sync()
 *     fails with EIO and the close is not marked clean, until the store
 *     is opened again (as PostgreSQL does since 2018);
 *   - at open, the store goes back to the last checkpoint if the machine
 *     crashed since (store/recover.c).
 *
 * What "reached the disk" means here: a state that a completed flush
 * covered and kvfs.sync recorded.  In the same boot the page cache holds
 * every commit, so the mount after a kill -9 takes the store as the dead
 * process left it and records that, flushed, before it writes anything:
 * from then on a reboot, clean or not, keeps it.  A reboot before any
 * mount after a kill -9 cannot be told from a crash of the machine (both
 * leave an unclean checkpoint of an older boot), so it is taken as one:
 * back to the dead process's last checkpoint, at most a second (or
 * CKPT_COMMITS commits) older than the kill.
 *
 * The newest meta page read back at open must agree with what LMDB
 * reports of the environment (ckpt_check_layout), since it is copied as
 * LMDB 0.9 lays it out (store/ckpt.h, store/recover.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hooks.h"
#include "common/log.h"
#include "store/ckpt.h"
#include "store/internal.h"

/* A checkpoint in the making: the state it keeps and that state's meta. */
struct ckpt {
	MDB_txn *snap;		/* the state, pinned (NULL for the last one) */
	size_t txnid;
	uint64_t commits;	/* st->commits when it was pinned */
	unsigned char meta[META_COPY];
};

/* The sticky error of a failed flush, 0 if none. */
static int ckpt_error(struct store *st)
{
	int rc;

	pthread_mutex_lock(&st->ckpt_mx);
	rc = st->sync_err;
	pthread_mutex_unlock(&st->ckpt_mx);
	return rc;
}

/*
 * Pin the current state and copy its meta page from the page cache, with
 * write_lock held so that no commit runs meanwhile: cheap, no disk I/O.
 * Returns 1 if nothing was committed since the last checkpoint.
 */
static int ckpt_pin(struct store *st, struct ckpt *c, bool clean)
{
	unsigned char meta[2][META_COPY];
	struct lmdb_meta m;
	MDB_envinfo info;
	bool bad[2];
	int fd, newest;
	int rc;
	bool same;

	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&st->ckpt_mx);
	c->commits = st->commits;
	same = c->commits == st->ckpt_commits;
	pthread_mutex_unlock(&st->ckpt_mx);
	if (!clean && st->snap && same)
		return 1;
	if (!clean) {
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &c->snap);
		if (rc)
			return store_err(rc);
		c->txnid = mdb_txn_id(c->snap);
	} else {
		mdb_env_info(st->env, &info);
		c->txnid = info.me_last_txnid;
	}
	rc = mdb_env_get_fd(st->env, &fd) ? -EIO : 0;
	newest = rc ? -1 : ckpt_metas_read(fd, st->psize, meta, bad);
	if (newest >= 0)
		ckpt_meta_get(meta[newest], &m);
	if (newest < 0 || m.mm_txnid != c->txnid) {
		if (c->snap)
			mdb_txn_abort(c->snap);
		c->snap = NULL;
		return -EIO;
	}
	memcpy(c->meta, meta[newest], META_COPY);
	return 0;
}

/* A flush failed: say so once, and make the error sticky. */
static int ckpt_broken(struct store *st, int rc)
{
	pthread_mutex_lock(&st->ckpt_mx);
	if (!st->sync_err) {
		st->sync_err = -EIO;
		kvfs_log(KVFS_ERR, "a flush of the store failed (%s): fsync "
			 "fails with EIO and nothing more is made durable "
			 "until the store is mounted again", strerror(-rc));
	}
	pthread_mutex_unlock(&st->ckpt_mx);
	return rc;
}

/*
 * Flush the environment, then record c in kvfs.sync (two checksummed
 * slots, written in turn and flushed).  Needs no lock but that only one
 * checkpoint records at a time (ckpt_lock, or map_lock held exclusively).
 * A failure is sticky (ckpt_broken).
 */
static int ckpt_record(struct store *st, const struct ckpt *c, bool clean)
{
	struct slot s;
	int rc;

	rc = mdb_env_sync(st->env, 1);
	if (rc)
		return ckpt_broken(st, store_err(rc));
	memset(&s, 0, sizeof(s));
	s.magic = CKPT_MAGIC;
	s.version = CKPT_VERSION;
	s.seq = ++st->ckpt_seq;
	s.txnid = c->txnid;
	s.psize = (uint32_t)st->psize;
	s.clean = clean;
	memcpy(s.boot_id, st->boot_id, sizeof(s.boot_id));
	memcpy(s.meta, c->meta, META_COPY);
	s.sum = ckpt_checksum(&s, offsetof(struct slot, sum));
	errno = 0;
	if (pwrite(st->ckpt_fd, &s, sizeof(s),
		   (off_t)(s.seq % 2) * SLOT_SIZE) != (ssize_t)sizeof(s) ||
	    fdatasync(st->ckpt_fd) < 0)
		return ckpt_broken(st, errno ? -errno : -EIO);
	return 0;
}

/* c is recorded: keep its state pinned instead of the previous one's. */
static void ckpt_keep(struct store *st, struct ckpt *c)
{
	if (c->snap) {
		if (st->snap)
			mdb_txn_abort(st->snap);
		st->snap = c->snap;
	}
	pthread_mutex_lock(&st->ckpt_mx);
	st->ckpt_txnid = c->txnid;
	st->ckpt_commits = st->ckpt_tried = c->commits;
	if (c->snap)
		st->unpinned = false;
	pthread_cond_broadcast(&st->ckpt_done);
	pthread_mutex_unlock(&st->ckpt_mx);
}

static int ckpt_fail(struct ckpt *c, int rc)
{
	if (c->snap)
		mdb_txn_abort(c->snap);
	kvfs_log(KVFS_ERR, "cannot record a checkpoint: %s", strerror(-rc));
	return rc;
}

int ckpt_take(struct store *st, bool clean)
{
	struct ckpt c;
	int rc;

	if (st->ckpt_fd < 0)
		return -EIO;
	rc = ckpt_error(st);
	if (rc)
		return rc;
	rc = ckpt_pin(st, &c, clean);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = ckpt_record(st, &c, clean);
	if (rc)
		return ckpt_fail(&c, rc);
	ckpt_keep(st, &c);
	return 0;
}

int ckpt_resize(struct store *st, size_t size)
{
	int rc;

	/* the current state recorded and pinned, or nothing changes */
	rc = ckpt_take(st, false);
	if (rc)
		return rc;
	/*
	 * No transaction may be active while LMDB maps the file anew: the
	 * pin is reset, which keeps its reader slot, and renewed on the
	 * same state, since no commit runs (write_lock and map_lock held).
	 */
	if (st->snap)
		mdb_txn_reset(st->snap);
	rc = store_err(mdb_env_set_mapsize(st->env, size));
	if (st->snap && (mdb_txn_renew(st->snap) ||
			 mdb_txn_id(st->snap) != st->ckpt_txnid)) {
		mdb_txn_abort(st->snap);
		st->snap = NULL;
	}
	if (!st->snap) {
		/* writes wait for the next checkpoint to pin a state */
		kvfs_log(KVFS_ERR, "cannot pin the checkpoint again after "
			 "the map grew: writes fail until the next one");
		pthread_mutex_lock(&st->ckpt_mx);
		st->unpinned = true;
		st->ckpt_wanted = true;
		pthread_cond_signal(&st->ckpt_cond);
		pthread_mutex_unlock(&st->ckpt_mx);
	}
	return rc;
}

int ckpt_pinned(struct store *st)
{
	bool unpinned;

	pthread_mutex_lock(&st->ckpt_mx);
	unpinned = st->unpinned;
	pthread_mutex_unlock(&st->ckpt_mx);
	return unpinned ? -EIO : 0;
}

int ckpt_sync(struct store *st)
{
	struct ckpt c;
	int rc;

	rc = ckpt_error(st);
	pthread_mutex_lock(&st->ckpt_lock);
	/* test builds: a disk that takes its time to flush */
	hook_hold("SYNC", "checkpoint");
	if (!rc) {
		pthread_mutex_lock(&st->write_lock);
		pthread_rwlock_rdlock(&st->map_lock);
		rc = ckpt_pin(st, &c, false);
		pthread_mutex_unlock(&st->write_lock);
		/* commits go on while the disk flushes */
		if (!rc) {
			rc = ckpt_record(st, &c, false);
			if (rc)
				ckpt_fail(&c, rc);
			else
				ckpt_keep(st, &c);
		}
		pthread_rwlock_unlock(&st->map_lock);
	}
	if (rc < 0) {
		/* writers waiting for it go on: a failing disk gives them
		 * errors, not a hang */
		pthread_mutex_lock(&st->ckpt_mx);
		st->ckpt_tried = st->commits;
		pthread_cond_broadcast(&st->ckpt_done);
		pthread_mutex_unlock(&st->ckpt_mx);
	}
	pthread_mutex_unlock(&st->ckpt_lock);
	return rc > 0 ? 0 : rc;
}

void ckpt_release(struct store *st)
{
	if (st->snap)
		mdb_txn_abort(st->snap);
	st->snap = NULL;
}

void ckpt_committed(struct store *st, unsigned writes)
{
	pthread_mutex_lock(&st->ckpt_mx);
	st->commits += writes;
	if (st->commits / CKPT_COMMITS !=
	    (st->commits - writes) / CKPT_COMMITS) {
		st->ckpt_wanted = true;
		pthread_cond_signal(&st->ckpt_cond);
	}
	pthread_mutex_unlock(&st->ckpt_mx);
}

void ckpt_throttle(struct store *st)
{
	pthread_mutex_lock(&st->ckpt_mx);
	while (st->ckpt_running && !st->ckpt_stop && !st->sync_err &&
	       st->commits - st->ckpt_tried >= CKPT_BEHIND_MAX)
		pthread_cond_wait(&st->ckpt_done, &st->ckpt_mx);
	pthread_mutex_unlock(&st->ckpt_mx);
}

static void *ckpt_thread(void *arg)
{
	struct store *st = arg;
	const char *env = getenv("KVFS_CKPT_SECONDS");	/* a test hook */
	long secs = env && atol(env) > 0 ? atol(env) : 1;
	struct timespec until;

	pthread_mutex_lock(&st->ckpt_mx);
	while (!st->ckpt_stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += secs;
		while (!st->ckpt_wanted && !st->ckpt_stop &&
		       pthread_cond_timedwait(&st->ckpt_cond, &st->ckpt_mx,
					      &until) != ETIMEDOUT)
			;
		st->ckpt_wanted = false;
		if (st->ckpt_stop)
			break;
		pthread_mutex_unlock(&st->ckpt_mx);
		ckpt_sync(st);
		pthread_mutex_lock(&st->ckpt_mx);
	}
	pthread_mutex_unlock(&st->ckpt_mx);
	return NULL;
}

/*
 * Does the newest meta page, as kvfs reads it, say what LMDB says of the
 * environment?  If not, the layout is not the one kvfs knows.
 */
static int ckpt_check_layout(struct store *st)
{
	unsigned char meta[2][META_COPY];
	struct lmdb_meta m;
	MDB_envinfo info;
	bool bad[2];
	int fd, newest = -1;

	mdb_env_info(st->env, &info);
	if (!mdb_env_get_fd(st->env, &fd))
		newest = ckpt_metas_read(fd, st->psize, meta, bad);
	if (newest >= 0)
		ckpt_meta_get(meta[newest], &m);
	if (newest < 0 || m.mm_txnid != info.me_last_txnid ||
	    m.mm_last_pg != info.me_last_pgno ||
	    m.mm_dbs[0].md_pad != st->psize) {
		kvfs_log(KVFS_ERR, "the meta page of data.mdb is not laid out "
			 "as in LMDB 0.9, which kvfs copies into its "
			 "checkpoints: refusing to open the store");
		return -ENOTSUP;
	}
	return 0;
}

int ckpt_open(struct store *st, const char *path)
{
	char file[PATH_MAX];
	MDB_stat ms;
	struct slot s;
	int rc;

	snprintf(file, sizeof(file), "%s/kvfs.sync", path);
	st->ckpt_fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->ckpt_fd < 0)
		return -errno;
	mdb_env_stat(st->env, &ms);
	st->psize = ms.ms_psize;
	if (ckpt_boot_id(st->boot_id) < 0)
		kvfs_log(KVFS_WARN, "cannot read the machine's boot id: the "
			 "next mount after a crash will assume a reboot");
	if (ckpt_slot_read(st->ckpt_fd, &s) == 0)
		st->ckpt_seq = s.seq;
	rc = ckpt_check_layout(st);
	if (rc)
		return rc;
	/* before the first write: what the last process left, flushed */
	pthread_mutex_lock(&st->write_lock);
	rc = ckpt_take(st, false);
	pthread_mutex_unlock(&st->write_lock);
	return rc;
}

int ckpt_start(struct store *st)
{
	int rc;

	rc = pthread_create(&st->ckpt_tid, NULL, ckpt_thread, st);
	if (rc)
		return -rc;
	st->ckpt_running = true;
	return 0;
}

void ckpt_stop(struct store *st)
{
	if (st->ckpt_running) {
		pthread_mutex_lock(&st->ckpt_mx);
		st->ckpt_stop = true;
		pthread_cond_signal(&st->ckpt_cond);
		pthread_cond_broadcast(&st->ckpt_done);
		pthread_mutex_unlock(&st->ckpt_mx);
		pthread_join(st->ckpt_tid, NULL);
		st->ckpt_running = false;
	}
	if (st->ckpt_fd >= 0) {
		pthread_mutex_lock(&st->write_lock);
		if (ckpt_take(st, true))
			kvfs_log(KVFS_ERR, "the store is not marked as closed "
				 "cleanly");
		pthread_mutex_unlock(&st->write_lock);
		ckpt_release(st);
		close(st->ckpt_fd);
		st->ckpt_fd = -1;
	}
}
