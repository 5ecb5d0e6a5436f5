/*
 * checkpoint.c - durability: checkpoints, and the recovery after a crash
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
 *   - at open, if the machine has booted since the last checkpoint (or
 *     the boot id cannot be read, when a reboot is assumed) and the store
 *     was not closed cleanly, the page cache may have been lost with pages
 *     of later commits half on disk: both meta pages are set back to the
 *     checkpoint's, whose pages are all on disk and untouched.  The store
 *     opens at its last synced state, never in need of repair; what was
 *     committed after it and not synced is lost, as the contract allows
 *     for a crash of the machine.  A meta page that cannot be read is
 *     rewritten from the checkpoint the same way, whatever the boot.
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
 * The meta page is copied as LMDB 0.9 lays it out (lmdb_meta below): the
 * library's version is checked at build time (configure) and at open
 * (mdb_version), and the newest meta page read back must agree with what
 * LMDB reports of the environment, before anything is written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hooks.h"
#include "common/log.h"
#include "store/internal.h"

#define CKPT_MAGIC	0x4b56434bu	/* "KCVK" */
#define CKPT_VERSION	1
#define SLOT_SIZE	512
#define META_COPY	256
#define LMDB_MAGIC	0xBEEFC0DEu
#define LMDB_DATA_VERSION	1	/* of LMDB 0.9's file format */
#define LMDB_P_META	0x08

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

/* An LMDB 0.9 page header: pgno, pad, flags, lower and upper bounds. */
struct lmdb_page {
	size_t mp_pgno;
	uint16_t mp_pad, mp_flags, mp_lower, mp_upper;
};

#define PAGE_HEADER	sizeof(struct lmdb_page)

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

/*
 * The machine's boot id: 0, or -EIO if it cannot be read (out is then
 * empty, which no comparison takes for the same boot).
 */
static int boot_id(char out[40])
{
	const char *env = hook_env("KVFS_BOOT_ID");
	const char *file = hook_env("KVFS_BOOT_ID_FILE");
	ssize_t n = 0;
	int fd;

	memset(out, 0, 40);
	if (env) {
		snprintf(out, 40, "%s", env);
		n = (ssize_t)strlen(out);
	} else {
		fd = open(file ? file : "/proc/sys/kernel/random/boot_id",
			  O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, out, 39);
			close(fd);
		}
		if (n < 0)
			n = 0;
		out[n] = '\0';
		while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\0'))
			out[--n] = '\0';
	}
	if (n == 0 || strlen(out) != (size_t)n) {
		memset(out, 0, 40);
		return -EIO;
	}
	return 0;
}

/* Are two boot ids known and the same? */
static bool same_boot(const char a[40], const char b[40])
{
	return a[0] && b[0] && !memcmp(a, b, 40);
}

static bool slot_ok(const struct slot *s)
{
	return s->magic == CKPT_MAGIC && s->version == CKPT_VERSION &&
	       s->sum == checksum(s, offsetof(struct slot, sum)) &&
	       s->psize >= 512 && s->psize <= 65536 &&
	       !(s->psize & (s->psize - 1));
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

static void meta_get(const unsigned char *b, struct lmdb_meta *m)
{
	memcpy(m, b, sizeof(*m));
}

/* Meta page i of data.mdb, its LMDB meta: 0, or -EIO if it is no meta page. */
static int meta_read(int fd, size_t psize, int i, unsigned char out[META_COPY])
{
	unsigned char page[PAGE_HEADER + META_COPY];
	struct lmdb_page p;
	struct lmdb_meta m;

	if (pread(fd, page, sizeof(page), (off_t)(i * psize)) !=
	    (ssize_t)sizeof(page))
		return -EIO;
	memcpy(&p, page, sizeof(p));
	meta_get(page + PAGE_HEADER, &m);
	if (p.mp_pgno != (size_t)i || !(p.mp_flags & LMDB_P_META) ||
	    m.mm_magic != LMDB_MAGIC || m.mm_version != LMDB_DATA_VERSION)
		return -EIO;
	memcpy(out, page + PAGE_HEADER, META_COPY);
	return 0;
}

/* Write meta page i of data.mdb: its page header, then meta. */
static int meta_write(int fd, size_t psize, int i,
		      const unsigned char meta[META_COPY])
{
	unsigned char page[PAGE_HEADER + META_COPY];
	struct lmdb_page p;

	memset(&p, 0, sizeof(p));
	p.mp_pgno = (size_t)i;
	p.mp_flags = LMDB_P_META;
	memcpy(page, &p, sizeof(p));
	memcpy(page + PAGE_HEADER, meta, META_COPY);
	if (pwrite(fd, page, sizeof(page), (off_t)(i * psize)) !=
	    (ssize_t)sizeof(page))
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * The two meta pages of data.mdb: their LMDB meta, whether each is one
 * (bad[i]), and the newest good one (-1: none).
 */
static int metas_read(int fd, size_t psize, unsigned char meta[2][META_COPY],
		      bool bad[2])
{
	struct lmdb_meta m[2];
	int i, newest = -1;

	for (i = 0; i < 2; i++) {
		bad[i] = meta_read(fd, psize, i, meta[i]) < 0;
		if (bad[i])
			continue;
		meta_get(meta[i], &m[i]);
		if (newest < 0 || m[i].mm_txnid > m[newest].mm_txnid)
			newest = i;
	}
	return newest;
}

int ckpt_check_lmdb(void)
{
	const char *fake = hook_env("KVFS_LMDB_VERSION");
	int major, minor, patch;

	mdb_version(&major, &minor, &patch);
	if (fake && sscanf(fake, "%d.%d.%d", &major, &minor, &patch) != 3)
		major = -1;
	if (major != 0 || minor != 9) {
		kvfs_log(KVFS_ERR, "liblmdb %d.%d.%d is not LMDB 0.9, whose "
			 "meta page layout kvfs copies into its checkpoints: "
			 "refusing to open a store with it", major, minor,
			 patch);
		return -ENOTSUP;
	}
	return 0;
}

/* The size of a file, -1 if it cannot be seen. */
static off_t file_size(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) < 0 ? -1 : sb.st_size;
}

/*
 * No valid slot in kvfs.sync (why: missing, empty or damaged): with
 * commits in data.mdb (newest > 0), nothing says whether a crash of the
 * machine tore them.  A missing or empty kvfs.sync is a store from before
 * checkpoints or one that crashed before its first, which holds no
 * commit (the first checkpoint comes before the first write): say so and
 * open it.  A damaged one is refused, losing nothing.
 */
static int recover_unrecorded(const char *path, const char *why,
			      size_t newest)
{
	if (!newest)
		return 0;
	if (!strcmp(why, "damaged")) {
		kvfs_log(KVFS_ERR, "store '%s': kvfs.sync holds no valid "
			 "checkpoint and data.mdb holds commits: cannot tell "
			 "whether a crash of the machine tore them; move "
			 "kvfs.sync away to open the store as it is", path);
		return -EIO;
	}
	kvfs_log(KVFS_WARN, "store '%s': no checkpoint recorded (kvfs.sync "
		 "%s): opening data.mdb as it is, and recording one now",
		 path, why);
	return 0;
}

int ckpt_recover(const char *path)
{
	char file[PATH_MAX], now[40];
	unsigned char meta[2][META_COPY];
	const char *why = NULL;
	struct lmdb_meta cur;
	struct slot s;
	bool bad[2], reboot;
	int fd, dfd, newest, rc = 0, i;

	snprintf(file, sizeof(file), "%s/kvfs.sync", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	if (fd < 0)
		why = "missing";
	else if (slot_read(fd, &s))
		why = file_size(fd) == 0 ? "empty" : "damaged";
	if (fd >= 0)
		close(fd);

	snprintf(file, sizeof(file), "%s/data.mdb", path);
	dfd = open(file, O_RDWR | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;	/* a new store */
	if (file_size(dfd) == 0) {
		close(dfd);
		return 0;
	}
	newest = metas_read(dfd, why ? (size_t)sysconf(_SC_PAGESIZE) : s.psize,
			    meta, bad);
	if (newest >= 0)
		meta_get(meta[newest], &cur);
	if (why) {
		close(dfd);
		return recover_unrecorded(path, why,
					  newest >= 0 ? cur.mm_txnid : 1);
	}

	for (i = 0; i < 2; i++)
		if (bad[i])
			kvfs_log(KVFS_WARN, "store '%s': meta page %d of "
				 "data.mdb cannot be read: rewritten from the "
				 "last checkpoint (transaction %llu)", path, i,
				 (unsigned long long)s.txnid);
	reboot = false;
	if (!s.clean) {
		if (boot_id(now) < 0)
			kvfs_log(KVFS_WARN, "store '%s': cannot read the "
				 "machine's boot id: assuming it rebooted "
				 "since the last checkpoint", path);
		reboot = !same_boot(s.boot_id, now);
	}
	if (reboot && (newest < 0 || cur.mm_txnid != s.txnid)) {
		kvfs_log(KVFS_WARN, "store '%s': the machine stopped after "
			 "commits not yet synced; back to the last synced state "
			 "(transaction %llu, not %llu)", path,
			 (unsigned long long)s.txnid, newest < 0 ?
			 0ull : (unsigned long long)cur.mm_txnid);
		bad[0] = bad[1] = true;
	}
	for (i = 0; i < 2; i++) {
		if (!bad[i])
			continue;
		rc = meta_write(dfd, s.psize, i, s.meta);
		if (rc)
			break;
	}
	if (!rc && (bad[0] || bad[1]) && fdatasync(dfd) < 0)
		rc = -errno;
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
	newest = rc ? -1 : metas_read(fd, st->psize, meta, bad);
	if (newest >= 0)
		meta_get(meta[newest], &m);
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
	s.sum = checksum(&s, offsetof(struct slot, sum));
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
		newest = metas_read(fd, st->psize, meta, bad);
	if (newest >= 0)
		meta_get(meta[newest], &m);
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
	if (boot_id(st->boot_id) < 0)
		kvfs_log(KVFS_WARN, "cannot read the machine's boot id: the "
			 "next mount after a crash will assume a reboot");
	if (slot_read(st->ckpt_fd, &s) == 0)
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
