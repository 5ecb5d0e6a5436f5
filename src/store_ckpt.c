/*
 * store_ckpt.c - durability: checkpoints, and the recovery after a crash
 * of the machine.
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
 *   - a thread takes one every second while there are new commits, and
 *     at once after every CKPT_COMMITS commits (which bounds the pages
 *     held back from reuse); store_sync() (fsync) takes one, and so do the
 *     growth of the map and the close (marked clean).  Only the pinning
 *     of the state stops writers, for no I/O: the disk flushes while
 *     commits go on;
 *   - at open, if the machine has booted since the last checkpoint and the
 *     store was not closed cleanly, the page cache may have been lost with
 *     pages of later commits half on disk: both meta pages are set back to
 *     the checkpoint's, whose pages are all on disk and untouched.  The
 *     store opens at its last synced state, never in need of repair; what
 *     was committed after it and not synced is lost, as the contract allows
 *     for a crash of the machine.
 *
 * The meta page is copied as LMDB 0.9 lays it out (lmdb_meta below); its
 * magic number is checked before anything is written.
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

#include "log.h"
#include "store_int.h"

#define CKPT_MAGIC	0x4b56434bu	/* "KCVK" */
#define CKPT_VERSION	1
#define SLOT_SIZE	512
#define META_COPY	256
#define LMDB_MAGIC	0xBEEFC0DEu

/* The start of an LMDB 0.9 meta page, after its page header. */
struct lmdb_db {
	uint32_t md_pad;
	uint16_t md_flags, md_depth;
	size_t md_branch_pages, md_leaf_pages, md_overflow_pages, md_entries;
	size_t md_root;
};

struct lmdb_meta {
	uint32_t mm_magic, mm_version;
	void *mm_address;
	size_t mm_mapsize;
	struct lmdb_db mm_dbs[2];
	size_t mm_last_pg;
	size_t mm_txnid;
};

#define PAGE_HEADER	(sizeof(size_t) + 8)	/* pgno, pad, flags, bounds */

struct slot {
	uint32_t magic, version;
	uint64_t seq, txnid;
	uint32_t psize, clean;
	char boot_id[40];
	unsigned char meta[META_COPY];
	uint64_t sum;
};

static uint64_t checksum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static void boot_id(char out[40])
{
	const char *env = getenv("KVFS_BOOT_ID");	/* a test hook */
	int fd;
	ssize_t n = 0;

	memset(out, 0, 40);
	if (env) {
		snprintf(out, 40, "%s", env);
		return;
	}
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, 39);
		close(fd);
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\0'))
		out[--n] = '\0';
}

static bool slot_ok(const struct slot *s)
{
	return s->magic == CKPT_MAGIC && s->version == CKPT_VERSION &&
	       s->sum == checksum(s, offsetof(struct slot, sum));
}

/* The newest valid slot of kvfs.sync: 0, or -ENOENT if there is none. */
static int slot_read(int fd, struct slot *out)
{
	struct slot s[2];
	int i, best = -1;

	for (i = 0; i < 2; i++)
		if (pread(fd, &s[i], sizeof(s[i]), i * SLOT_SIZE) !=
		    (ssize_t)sizeof(s[i]) || !slot_ok(&s[i]))
			s[i].magic = 0;
	for (i = 0; i < 2; i++)
		if (s[i].magic && (best < 0 || s[i].seq > s[best].seq))
			best = i;
	if (best < 0)
		return -ENOENT;
	*out = s[best];
	return 0;
}

/* The two meta pages of data.mdb: their LMDB meta, and the newest. */
static int metas_read(int fd, size_t psize, unsigned char meta[2][META_COPY],
		      int *newest)
{
	const struct lmdb_meta *m[2];
	int i;

	for (i = 0; i < 2; i++) {
		if (pread(fd, meta[i], META_COPY,
			  (off_t)(i * psize + PAGE_HEADER)) != META_COPY)
			return -EIO;
		m[i] = (const struct lmdb_meta *)meta[i];
		if (m[i]->mm_magic != LMDB_MAGIC)
			return -EIO;
	}
	*newest = m[1]->mm_txnid > m[0]->mm_txnid;
	return 0;
}

int ckpt_recover(const char *path)
{
	char file[PATH_MAX], now[40];
	unsigned char meta[2][META_COPY];
	const struct lmdb_meta *cur;
	struct slot s;
	int fd, dfd, newest, rc, i;

	snprintf(file, sizeof(file), "%s/kvfs.sync", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = slot_read(fd, &s);
	close(fd);
	boot_id(now);
	if (rc || s.clean || !strcmp(s.boot_id, now))
		return 0;	/* no checkpoint, a clean close, or same boot */

	snprintf(file, sizeof(file), "%s/data.mdb", path);
	dfd = open(file, O_RDWR | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = metas_read(dfd, s.psize, meta, &newest);
	cur = (const struct lmdb_meta *)meta[newest];
	if (!rc && cur->mm_txnid > s.txnid) {
		kvfs_log(KVFS_WARN, "store '%s': the machine stopped after "
			 "commits not yet synced; back to the last synced state "
			 "(transaction %llu, not %llu)", path,
			 (unsigned long long)s.txnid,
			 (unsigned long long)cur->mm_txnid);
		for (i = 0; !rc && i < 2; i++)
			if (pwrite(dfd, s.meta, META_COPY,
				   (off_t)(i * s.psize + PAGE_HEADER)) !=
			    META_COPY)
				rc = -EIO;
		if (!rc && fdatasync(dfd) < 0)
			rc = -errno;
	}
	close(dfd);
	return rc;
}

/* A checkpoint in the making: the state it keeps and that state's meta. */
struct ckpt {
	MDB_txn *snap;		/* the state, pinned (NULL for the last one) */
	size_t txnid;
	uint64_t commits;	/* st->commits when it was pinned */
	unsigned char meta[META_COPY];
};

/*
 * Pin the current state and copy its meta page from the page cache, with
 * write_lock held so that no commit runs meanwhile: cheap, no disk I/O.
 * Returns 1 if nothing was committed since the last checkpoint.
 */
static int ckpt_pin(struct store *st, struct ckpt *c, bool clean)
{
	unsigned char meta[2][META_COPY];
	MDB_envinfo info;
	int fd, newest, rc;
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
	rc = mdb_env_get_fd(st->env, &fd) ? -EIO
					 : metas_read(fd, st->psize, meta,
						      &newest);
	if (!rc && ((const struct lmdb_meta *)meta[newest])->mm_txnid !=
		   c->txnid)
		rc = -EIO;
	if (rc) {
		if (c->snap)
			mdb_txn_abort(c->snap);
		c->snap = NULL;
		return rc;
	}
	memcpy(c->meta, meta[newest], META_COPY);
	return 0;
}

/*
 * Flush the environment, then record c in kvfs.sync (two checksummed
 * slots, written in turn and flushed).  Needs no lock but that only one
 * checkpoint records at a time (ckpt_lock, or map_lock held exclusively).
 */
static int ckpt_record(struct store *st, const struct ckpt *c, bool clean)
{
	struct slot s;
	int rc;

	rc = mdb_env_sync(st->env, 1);
	if (rc)
		return store_err(rc);
	memset(&s, 0, sizeof(s));
	s.magic = CKPT_MAGIC;
	s.version = CKPT_VERSION;
	s.seq = ++st->ckpt_seq;
	s.txnid = c->txnid;
	s.psize = (uint32_t)st->psize;
	s.clean = clean;
	memcpy(s.boot_id, st->boot_id, sizeof(s.boot_id));
	memcpy(s.meta, c->meta, META_COPY);
	s.sum = checksum(&s, offsetof(struct slot, sum));
	if (pwrite(st->ckpt_fd, &s, sizeof(s),
		   (off_t)(s.seq % 2) * SLOT_SIZE) != (ssize_t)sizeof(s) ||
	    fdatasync(st->ckpt_fd) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* c is recorded: keep its state pinned instead of the previous one's. */
static void ckpt_keep(struct store *st, struct ckpt *c)
{
	if (st->snap)
		mdb_txn_abort(st->snap);
	st->snap = c->snap;
	pthread_mutex_lock(&st->ckpt_mx);
	st->ckpt_commits = st->ckpt_tried = c->commits;
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

	if (st->ckpt_fd < 0)	/* still opening: nothing recorded yet */
		return store_err(mdb_env_sync(st->env, 1));
	rc = ckpt_pin(st, &c, clean);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = ckpt_record(st, &c, clean);
	if (rc)
		return ckpt_fail(&c, rc);
	ckpt_keep(st, &c);
	return 0;
}

int ckpt_sync(struct store *st)
{
	struct ckpt c;
	int rc;

	pthread_mutex_lock(&st->ckpt_lock);
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
	if (rc < 0) {
		/* writers waiting for it go on: a failing disk gives them
		 * errors, not a hang; the next checkpoint tries again */
		pthread_mutex_lock(&st->ckpt_mx);
		st->ckpt_tried = st->commits;
		pthread_cond_broadcast(&st->ckpt_done);
		pthread_mutex_unlock(&st->ckpt_mx);
	}
	pthread_rwlock_unlock(&st->map_lock);
	pthread_mutex_unlock(&st->ckpt_lock);
	return rc > 0 ? 0 : rc;
}

void ckpt_release(struct store *st)
{
	if (st->snap)
		mdb_txn_abort(st->snap);
	st->snap = NULL;
}

void ckpt_committed(struct store *st)
{
	pthread_mutex_lock(&st->ckpt_mx);
	if (++st->commits % CKPT_COMMITS == 0) {
		st->ckpt_wanted = true;
		pthread_cond_signal(&st->ckpt_cond);
	}
	pthread_mutex_unlock(&st->ckpt_mx);
}

void ckpt_throttle(struct store *st)
{
	pthread_mutex_lock(&st->ckpt_mx);
	while (st->ckpt_running && !st->ckpt_stop &&
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

int ckpt_start(struct store *st, const char *path)
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
	boot_id(st->boot_id);
	if (slot_read(st->ckpt_fd, &s) == 0)
		st->ckpt_seq = s.seq;
	pthread_mutex_lock(&st->write_lock);
	rc = ckpt_take(st, false);
	pthread_mutex_unlock(&st->write_lock);
	if (rc)
		return rc;
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
		ckpt_take(st, true);
		pthread_mutex_unlock(&st->write_lock);
		ckpt_release(st);
		close(st->ckpt_fd);
		st->ckpt_fd = -1;
	}
}
