/*
 * crashrec.c - an LD_PRELOAD recorder of what a process writes to the
 * files of one directory, for the power-loss harness (tests/crashimg.c).
 *
 *   CRASHREC_DIR=/abs/store CRASHREC_LOG=/abs/log LD_PRELOAD=crashrec.so
 *
 * Every call that changes a file of CRASHREC_DIR (pwrite, pwritev, write,
 * writev, ftruncate, fallocate, open with O_CREAT or O_TRUNC, rename,
 * unlink) or asks for it to reach the disk (fsync, fdatasync, msync,
 * sync_file_range, sync, syncfs) gets a record in the log (crashrec.h),
 * with the bytes written, after the call returns; a flush also gets one
 * before it starts.  Files are known by inode number, taken at open, so
 * that a rename changes nothing for a descriptor.  A shared writable
 * mapping of a file is recorded too: its writes could not be, and the
 * image builder refuses a log that has one.  Unnamed files (O_TMPFILE)
 * are not followed: nothing of them is left after a crash.
 *
 * CRASHREC_FAIL=CALL:NAME:N:ERRNO[,...] makes the Nth call CALL (fsync,
 * fdatasync, pwrite, writev) on the file NAME of the directory fail with
 * ERRNO (EIO, ENOSPC) without doing anything, and records that.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crashrec.h"

#define MAX_FD		65536
#define MAX_RULES	8

struct fdinfo {
	uint64_t ino;
	char name[CR_NAME];
	bool tracked, sync;
};

struct rule {
	char call[16], name[CR_NAME];
	long nth, seen;
	int err;
};

static struct fdinfo fds[MAX_FD];
static struct rule rules[MAX_RULES];
static int nrules;
static char dir[PATH_MAX];
static size_t dirlen;
static int logfd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_close)(int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_msync)(void *, size_t, int);
static int (*real_sync_file_range)(int, off_t, off_t, unsigned int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *,
			     unsigned int);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

/* The libc function a wrapper stands for, looked up at its first use. */
static void *real_fn(void **slot, const char *name)
{
	if (!*slot)
		*slot = dlsym(RTLD_NEXT, name);
	return *slot;
}

#define REAL(name) ((__typeof__(real_##name))real_fn((void **)&real_##name, \
						    #name))

static int errno_of(const char *s)
{
	if (!strcmp(s, "EIO"))
		return EIO;
	if (!strcmp(s, "ENOSPC"))
		return ENOSPC;
	if (!strcmp(s, "EDQUOT"))
		return EDQUOT;
	return atoi(s) > 0 ? atoi(s) : EIO;
}

__attribute__((constructor)) static void crashrec_init(void)
{
	const char *d = getenv("CRASHREC_DIR"), *l = getenv("CRASHREC_LOG");
	const char *f = getenv("CRASHREC_FAIL");

	if (!d || !l || !realpath(d, dir))
		return;
	dirlen = strlen(dir);
	logfd = (int)syscall(SYS_open, l, O_WRONLY | O_APPEND | O_CREAT |
			     O_CLOEXEC, 0644);
	while (f && *f && nrules < MAX_RULES) {
		struct rule *r = &rules[nrules];
		char e[16];

		if (sscanf(f, "%15[^:]:%63[^:]:%ld:%15[^,]", r->call, r->name,
			   &r->nth, e) == 4) {
			r->err = errno_of(e);
			nrules++;
		}
		f = strchr(f, ',');
		if (f)
			f++;
	}
}

/* Append one record and its payload: one write, so records never mix. */
static void emit(struct crec *r, const struct iovec *data, int n)
{
	struct iovec iov[1 + IOV_MAX];
	int i, k = 0, saved = errno;

	if (logfd < 0)
		return;
	r->magic = CR_MAGIC;
	r->pid = (uint32_t)getpid();
	iov[k].iov_base = r;
	iov[k++].iov_len = sizeof(*r);
	for (i = 0; i < n && k < 1 + IOV_MAX; i++)
		if (data[i].iov_len)
			iov[k++] = data[i];
	if (syscall(SYS_writev, logfd, iov, k) < 0)
		abort();	/* a hole in the log would make it a lie */
	errno = saved;
}

static void emit_simple(uint32_t type, const struct fdinfo *f, uint64_t off,
			uint64_t len, int arg, int ret)
{
	struct crec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	if (f) {
		r.ino = f->ino;
		memcpy(r.name, f->name, CR_NAME);
	}
	r.off = off;
	r.len = len;
	r.arg = arg;
	r.ret = ret;
	emit(&r, NULL, 0);
}

/* The file name within the directory, if path is in it; else NULL. */
static const char *in_dir(int at, const char *path, char *buf)
{
	char parent[2 * PATH_MAX], full[2 * PATH_MAX], *slash;

	if (logfd < 0 || !path)
		return NULL;
	if (path[0] == '/' || at == AT_FDCWD) {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", at);
		n = readlink(link, parent, sizeof(parent) - 1);
		if (n < 0)
			return NULL;
		parent[n] = '\0';
		if (snprintf(full, sizeof(full), "%s/%s", parent, path) >=
		    (int)sizeof(full))
			return NULL;
	}
	slash = strrchr(full, '/');
	if (!slash) {
		snprintf(parent, sizeof(parent), ".");
		slash = full - 1;
	} else if (slash == full) {
		snprintf(parent, sizeof(parent), "/");
	} else {
		*slash = '\0';
		snprintf(parent, sizeof(parent), "%s", full);
	}
	{
		char rp[PATH_MAX];

		if (!realpath(parent, rp) || strcmp(rp, dir))
			return NULL;
	}
	snprintf(buf, CR_NAME, "%s", slash + 1);
	return buf;
}

static struct fdinfo *tracked(int fd)
{
	if (fd < 0 || fd >= MAX_FD || !fds[fd].tracked)
		return NULL;
	return &fds[fd];
}

/* Should this call fail by CRASHREC_FAIL?  Returns the errno, or 0. */
static int fault(const char *call, const struct fdinfo *f)
{
	int i, err = 0;

	if (!f)
		return 0;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nrules; i++)
		if (!strcmp(rules[i].call, call) &&
		    !strcmp(rules[i].name, f->name) &&
		    ++rules[i].seen == rules[i].nth)
			err = rules[i].err;
	pthread_mutex_unlock(&lock);
	if (err) {
		struct crec r;

		memset(&r, 0, sizeof(r));
		r.type = CR_FAULT;
		r.ino = f->ino;
		memcpy(r.name, f->name, CR_NAME);
		snprintf(r.name2, CR_NAME, "%s", call);
		r.ret = -err;
		emit(&r, NULL, 0);
	}
	return err;
}

static void opened(int fd, const char *name, int flags, bool existed)
{
	struct stat sb;
	struct crec r;

	if (fd < 0 || fd >= MAX_FD || fstat(fd, &sb) < 0 ||
	    !S_ISREG(sb.st_mode))
		return;
	pthread_mutex_lock(&lock);
	fds[fd].ino = sb.st_ino;
	snprintf(fds[fd].name, CR_NAME, "%s", name);
	fds[fd].sync = flags & (O_SYNC | O_DSYNC);
	fds[fd].tracked = true;
	pthread_mutex_unlock(&lock);
	memset(&r, 0, sizeof(r));
	r.type = CR_OPEN;
	r.ino = sb.st_ino;
	r.off = (uint64_t)sb.st_size;
	snprintf(r.name, CR_NAME, "%s", name);
	if (!existed)
		r.flags |= CR_F_CREATED;
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		r.flags |= CR_F_TRUNC;
	r.arg = flags;
	emit(&r, NULL, 0);
}

static int do_openat(int at, const char *path, int flags, mode_t mode)
{
	char buf[CR_NAME];
	bool tmp = (flags & __O_TMPFILE) == __O_TMPFILE;
	const char *name = tmp ? NULL : in_dir(at, path, buf);
	bool existed = true;
	int fd;

	/* an unnamed file (O_TMPFILE, kvfs's pending writes) is gone after
	 * a crash: not part of the store */
	if (name && (flags & O_CREAT))
		existed = faccessat(at, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	fd = (int)syscall(SYS_openat, at, path, flags, mode);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	if (name)
		opened(fd, name, flags, existed);
	else if (fd < MAX_FD)
		fds[fd].tracked = false;
	return fd;
}

#define MODE_ARG(flags) ({ mode_t m_ = 0; \
	if ((flags) & (O_CREAT | __O_TMPFILE)) { va_list ap; \
		va_start(ap, flags); m_ = va_arg(ap, mode_t); va_end(ap); } \
	m_; })

int open(const char *path, int flags, ...)
{
	return do_openat(AT_FDCWD, path, flags, MODE_ARG(flags));
}

int open64(const char *path, int flags, ...)
{
	return do_openat(AT_FDCWD, path, flags, MODE_ARG(flags));
}

int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int openat(int at, const char *path, int flags, ...)
{
	return do_openat(at, path, flags, MODE_ARG(flags));
}

int openat64(int at, const char *path, int flags, ...)
{
	return do_openat(at, path, flags, MODE_ARG(flags));
}

int creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
	return creat(path, mode);
}

int close(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		fds[fd].tracked = false;
	return REAL(close)(fd);
}

static int dup_track(int old, int fd)
{
	if (fd >= 0 && fd < MAX_FD) {
		pthread_mutex_lock(&lock);
		fds[fd] = old >= 0 && old < MAX_FD ? fds[old] : fds[fd];
		if (old < 0 || old >= MAX_FD)
			fds[fd].tracked = false;
		pthread_mutex_unlock(&lock);
	}
	return fd;
}

int dup(int old)
{
	return dup_track(old, REAL(dup)(old));
}

int dup2(int old, int fd)
{
	return dup_track(old, REAL(dup2)(old, fd));
}

int dup3(int old, int fd, int flags)
{
	return dup_track(old, REAL(dup3)(old, fd, flags));
}

static void record_write(struct fdinfo *f, off_t off,
			 const struct iovec *iov, int n, ssize_t done)
{
	struct iovec part[IOV_MAX];
	struct crec r;
	ssize_t left = done;
	int i, k = 0;

	for (i = 0; i < n && left > 0 && k < IOV_MAX; i++) {
		part[k].iov_base = iov[i].iov_base;
		part[k].iov_len = (size_t)left < iov[i].iov_len ?
				  (size_t)left : iov[i].iov_len;
		left -= (ssize_t)part[k++].iov_len;
	}
	memset(&r, 0, sizeof(r));
	r.type = CR_WRITE;
	r.ino = f->ino;
	memcpy(r.name, f->name, CR_NAME);
	r.off = (uint64_t)off;
	r.len = (uint64_t)done;
	if (f->sync)
		r.flags |= CR_F_SYNC;
	emit(&r, part, k);
}

/* A write at off (-1: at the descriptor's offset, found before it). */
static ssize_t do_write(const char *call, int fd, const struct iovec *iov,
			int n, off_t off)
{
	struct fdinfo *f = tracked(fd);
	ssize_t done;
	int err;

	if (f && (err = fault(call, f))) {
		errno = err;
		return -1;
	}
	if (f && off < 0) {
		int fl = fcntl(fd, F_GETFL);

		off = fl >= 0 && (fl & O_APPEND) ? lseek(fd, 0, SEEK_END)
						  : lseek(fd, 0, SEEK_CUR);
	}
	if (off >= 0 && iov != NULL && call[0] == 'p')
		done = n == 1 ? REAL(pwrite)(fd, iov[0].iov_base,
					     iov[0].iov_len, off)
			      : REAL(pwritev)(fd, iov, n, off);
	else
		done = n == 1 ? REAL(write)(fd, iov[0].iov_base,
					    iov[0].iov_len)
			      : REAL(writev)(fd, iov, n);
	if (f && done > 0)
		record_write(f, off, iov, n, done);
	return done;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec v = { (void *)buf, len };

	return do_write("pwrite", fd, &v, 1, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	if (n == 1)
		return pwrite(fd, iov[0].iov_base, iov[0].iov_len, off);
	return do_write("pwritev", fd, iov, n, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	return pwritev(fd, iov, n, off);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	if (!tracked(fd))
		return REAL(write)(fd, buf, len);
	return do_write("write", fd, &v, 1, -1);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (!tracked(fd))
		return REAL(writev)(fd, iov, n);
	if (n == 1)
		return write(fd, iov[0].iov_base, iov[0].iov_len);
	return do_write("writev", fd, iov, n, -1);
}

int ftruncate(int fd, off_t len)
{
	struct fdinfo *f = tracked(fd);
	int rc = REAL(ftruncate)(fd, len);

	if (f && rc == 0)
		emit_simple(CR_TRUNC, f, (uint64_t)len, 0, 0, 0);
	return rc;
}

int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct fdinfo *f = tracked(fd);
	int rc = REAL(fallocate)(fd, mode, off, len);

	if (f && rc == 0)
		emit_simple(CR_FALLOC, f, (uint64_t)off, (uint64_t)len, mode,
			    0);
	return rc;
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

static int do_flush(const char *call, int kind, int fd, int (*fn)(int))
{
	struct fdinfo *f = tracked(fd);
	int rc, err;

	static uint64_t tokens;
	uint64_t token;

	if (!f)
		return fn(fd);
	/* pairs the two records of this flush (off), whatever the threads */
	token = __atomic_add_fetch(&tokens, 1, __ATOMIC_RELAXED);
	emit_simple(CR_FLUSH_BEGIN, f, token, 0, kind, 0);
	err = fault(call, f);
	if (err) {
		errno = err;
		rc = -1;
	} else {
		rc = fn(fd);
	}
	emit_simple(CR_FLUSH_END, f, token, 0, kind, rc < 0 ? -errno : 0);
	return rc;
}

int fsync(int fd)
{
	return do_flush("fsync", CR_FSYNC, fd, REAL(fsync));
}

int fdatasync(int fd)
{
	return do_flush("fdatasync", CR_FDATASYNC, fd, REAL(fdatasync));
}

int sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	struct fdinfo *f = tracked(fd);
	int rc;

	/* not a flush: no metadata, no disk cache; recorded to be seen */
	rc = REAL(sync_file_range)(fd, off, len, flags);
	if (f)
		emit_simple(CR_FLUSH_END, f, (uint64_t)off, (uint64_t)len,
			    CR_SYNC_FILE_RANGE, rc < 0 ? -errno : 0);
	return rc;
}

int msync(void *addr, size_t len, int flags)
{
	int rc = REAL(msync)(addr, len, flags);

	/* only mappings of tracked files matter, and a writable shared one
	 * is refused by the builder: recorded for the count */
	if (logfd >= 0)
		emit_simple(CR_FLUSH_END, NULL, (uint64_t)(uintptr_t)addr,
			    len, CR_MSYNC, rc < 0 ? -errno : 0);
	return rc;
}

void sync(void)
{
	emit_simple(CR_SYNC_BEGIN, NULL, 0, 0, 0, 0);
	REAL(sync)();
	emit_simple(CR_SYNC_END, NULL, 0, 0, 0, 0);
}

int syncfs(int fd)
{
	int rc;

	emit_simple(CR_SYNC_BEGIN, NULL, 0, 0, 0, 0);
	rc = REAL(syncfs)(fd);
	emit_simple(CR_SYNC_END, NULL, 0, 0, 0, rc < 0 ? -errno : 0);
	return rc;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct fdinfo *f = (flags & MAP_ANONYMOUS) ? NULL : tracked(fd);
	void *p = REAL(mmap)(addr, len, prot, flags, fd, off);

	if (f && p != MAP_FAILED)
		emit_simple(CR_MMAP, f, (uint64_t)off, len, prot, flags);
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

static void record_names(uint32_t type, const char *a, const char *b)
{
	struct crec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	snprintf(r.name, CR_NAME, "%s", a);
	if (b)
		snprintf(r.name2, CR_NAME, "%s", b);
	emit(&r, NULL, 0);
}

static int do_rename(int oat, const char *old, int nat, const char *new,
		     unsigned int flags)
{
	char b1[CR_NAME], b2[CR_NAME];
	const char *n1 = in_dir(oat, old, b1), *n2 = in_dir(nat, new, b2);
	int rc;

	if (flags)
		rc = REAL(renameat2)(oat, old, nat, new, flags);
	else
		rc = REAL(renameat)(oat, old, nat, new);
	if (rc == 0 && (n1 || n2))
		record_names(CR_RENAME, n1 ? n1 : "", n2 ? n2 : "");
	return rc;
}

int rename(const char *old, const char *new)
{
	return do_rename(AT_FDCWD, old, AT_FDCWD, new, 0);
}

int renameat(int oat, const char *old, int nat, const char *new)
{
	return do_rename(oat, old, nat, new, 0);
}

int renameat2(int oat, const char *old, int nat, const char *new,
	      unsigned int flags)
{
	return do_rename(oat, old, nat, new, flags);
}

int unlinkat(int at, const char *path, int flags)
{
	char b[CR_NAME];
	const char *n = in_dir(at, path, b);
	int rc = REAL(unlinkat)(at, path, flags);

	if (rc == 0 && n)
		record_names(CR_UNLINK, n, NULL);
	return rc;
}

int unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}
