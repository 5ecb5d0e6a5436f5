/*
 * recover.c - the recovery at open: kvfs.sync slots, LMDB 0.9 meta pages,
 * the boot id, the LMDB version check, and ckpt_recover.
 *
 * At open, if the machine has booted since the last checkpoint (or the
 * boot id cannot be read, when a reboot is assumed) and the store was not
 * closed cleanly, the page cache may have been lost with pages of later
 * commits half on disk: both meta pages are set back to the checkpoint's,
 * whose pages are all on disk and untouched.  The store opens at its last
 * synced state, never in need of repair; what was committed after it and
 * not synced is lost, as the contract allows for a crash of the machine.
 * A meta page that cannot be read is rewritten from the checkpoint the
 * same way, whatever the boot.  The checkpoints themselves, and what
 * "reached the disk" means, are store/checkpoint.c's.
 *
 * The meta page is copied as LMDB 0.9 lays it out (struct lmdb_meta,
 * store/ckpt.h): the library's version is checked at build time
 * (configure) and at open (mdb_version, ckpt_check_lmdb below), and the
 * newest meta page read back must agree with what LMDB reports of the
 * environment, before anything is written (store/checkpoint.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hooks.h"
#include "common/log.h"
#include "store/ckpt.h"
#include "store/internal.h"

#define LMDB_MAGIC	0xBEEFC0DEu
#define LMDB_DATA_VERSION	1	/* of LMDB 0.9's file format */
#define LMDB_P_META	0x08

/* An LMDB 0.9 page header: pgno, pad, flags, lower and upper bounds. */
struct lmdb_page {
	size_t mp_pgno;
	uint16_t mp_pad, mp_flags, mp_lower, mp_upper;
};

#define PAGE_HEADER	sizeof(struct lmdb_page)

uint64_t ckpt_checksum(const void *p, size_t n)
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
int ckpt_boot_id(char out[40])
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
	       s->sum == ckpt_checksum(s, offsetof(struct slot, sum)) &&
	       s->psize >= 512 && s->psize <= 65536 &&
	       !(s->psize & (s->psize - 1));
}

/* The newest valid slot of kvfs.sync: 0, or -ENOENT if there is none. */
int ckpt_slot_read(int fd, struct slot *out)
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

void ckpt_meta_get(const unsigned char *b, struct lmdb_meta *m)
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
	ckpt_meta_get(page + PAGE_HEADER, &m);
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
int ckpt_metas_read(int fd, size_t psize, unsigned char meta[2][META_COPY],
		    bool bad[2])
{
	struct lmdb_meta m[2];
	int i, newest = -1;

	for (i = 0; i < 2; i++) {
		bad[i] = meta_read(fd, psize, i, meta[i]) < 0;
		if (bad[i])
			continue;
		ckpt_meta_get(meta[i], &m[i]);
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
	else if (ckpt_slot_read(fd, &s))
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
	newest = ckpt_metas_read(dfd, why ? (size_t)sysconf(_SC_PAGESIZE)
					  : s.psize, meta, bad);
	if (newest >= 0)
		ckpt_meta_get(meta[newest], &cur);
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
		if (ckpt_boot_id(now) < 0)
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
