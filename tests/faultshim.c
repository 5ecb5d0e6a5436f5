/*
 * faultshim.c - a fault-injection shim for the daemon, loaded with
 * LD_PRELOAD by the tests (tests/40-faults.sh): it makes one of the
 * daemon's flushes or writes to a chosen file fail as a failing disk
 * does, and lets every other call through.  Configured by environment
 * variables, read at each call:
 *
 *   KVFS_FAULT_CALL   fsync (fsync and fdatasync) or write (write, pwrite,
 *                     pwrite64, writev, pwritev)
 *   KVFS_FAULT_FILE   a pattern (fnmatch) for the file's base name, e.g.
 *                     data.mdb; any file if not set
 *   KVFS_FAULT_AT     the first matching call that fails (1 if not set)
 *   KVFS_FAULT_TIMES  how many calls from there fail (1; 0: every one)
 *   KVFS_FAULT_DO     eio, enospc (the call fails with that errno), short
 *                     (a write writes half its bytes and says so) or kill
 *                     (the process gets SIGKILL before the call)
 *   KVFS_FAULT_ARM    a path: calls count only while this file exists, so
 *                     a test can mount first and arm the fault after
 *   KVFS_FAULT_LOG    a path: one line per fault injected
 *
 * Without KVFS_FAULT_CALL the shim does nothing.  It is built without the
 * sanitizers and linked to nothing but libc, so that it loads into a
 * daemon built with them too (clang links their runtime into the
 * program, which then comes first whatever LD_PRELOAD says).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { FAULT_NONE, FAULT_ERRNO, FAULT_SHORT };

static unsigned long calls;

static void *next(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn)
		abort();
	return fn;
}

static void note(const char *call, const char *file, unsigned long n,
		 const char *what)
{
	const char *log = getenv("KVFS_FAULT_LOG");
	char line[PATH_MAX + 128];
	ssize_t (*wr)(int, const void *, size_t) = next("write");
	int fd, len;

	if (!log)
		return;
	len = snprintf(line, sizeof(line), "%s %s #%lu: %s\n", call, file, n,
		       what);
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (wr(fd, line, (size_t)len) < 0)
			len = 0;
		close(fd);
	}
}

/*
 * Is this call (kind "fsync" or "write", on fd) one that must fail?
 * FAULT_NONE, or FAULT_ERRNO with errno set, or FAULT_SHORT.
 */
static int fault(const char *kind, const char *call, int fd)
{
	const char *want = getenv("KVFS_FAULT_CALL");
	const char *pat = getenv("KVFS_FAULT_FILE");
	const char *arm = getenv("KVFS_FAULT_ARM");
	const char *act = getenv("KVFS_FAULT_DO");
	const char *s, *base;
	char link[64], path[PATH_MAX];
	unsigned long n, at, times;
	ssize_t len;

	if (!want || strcmp(want, kind))
		return FAULT_NONE;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len < 0)
		return FAULT_NONE;
	path[len] = '\0';
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (pat && fnmatch(pat, base, 0))
		return FAULT_NONE;
	if (arm && access(arm, F_OK))
		return FAULT_NONE;
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	s = getenv("KVFS_FAULT_AT");
	at = s ? strtoul(s, NULL, 10) : 1;
	s = getenv("KVFS_FAULT_TIMES");
	times = s ? strtoul(s, NULL, 10) : 1;
	if (n < at || (times && n >= at + times))
		return FAULT_NONE;
	act = act ? act : "eio";
	note(call, base, n, act);
	if (!strcmp(act, "kill"))
		raise(SIGKILL);
	if (!strcmp(act, "short") && !strcmp(kind, "write"))
		return FAULT_SHORT;
	errno = !strcmp(act, "enospc") ? ENOSPC : EIO;
	return FAULT_ERRNO;
}

int fsync(int fd)
{
	int (*real)(int) = next("fsync");

	if (fault("fsync", "fsync", fd) == FAULT_ERRNO)
		return -1;
	return real(fd);
}

int fdatasync(int fd)
{
	int (*real)(int) = next("fdatasync");

	if (fault("fsync", "fdatasync", fd) == FAULT_ERRNO)
		return -1;
	return real(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t (*real)(int, const void *, size_t) = next("write");

	switch (fault("write", "write", fd)) {
	case FAULT_ERRNO:
		return -1;
	case FAULT_SHORT:
		return real(fd, buf, n / 2);
	}
	return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t (*real)(int, const void *, size_t, off_t) = next("pwrite");

	switch (fault("write", "pwrite", fd)) {
	case FAULT_ERRNO:
		return -1;
	case FAULT_SHORT:
		return real(fd, buf, n / 2, off);
	}
	return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t (*real)(int, const void *, size_t, off_t) =
		next("pwrite64");

	switch (fault("write", "pwrite64", fd)) {
	case FAULT_ERRNO:
		return -1;
	case FAULT_SHORT:
		return real(fd, buf, n / 2, off);
	}
	return real(fd, buf, n, off);
}

/* The first half of an iovec's bytes: a short writev. */
static int half(const struct iovec *iov, int cnt, struct iovec *out)
{
	size_t total = 0, want;
	int i;

	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	want = total / 2;
	for (i = 0; i < cnt && want; i++) {
		out[i] = iov[i];
		if (out[i].iov_len > want)
			out[i].iov_len = want;
		want -= out[i].iov_len;
	}
	return i;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t (*real)(int, const struct iovec *, int) = next("writev");
	struct iovec part[IOV_MAX];

	switch (fault("write", "writev", fd)) {
	case FAULT_ERRNO:
		return -1;
	case FAULT_SHORT:
		if (cnt <= IOV_MAX)
			return real(fd, part, half(iov, cnt, part));
	}
	return real(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t (*real)(int, const struct iovec *, int, off_t) =
		next("pwritev");
	struct iovec part[IOV_MAX];

	switch (fault("write", "pwritev", fd)) {
	case FAULT_ERRNO:
		return -1;
	case FAULT_SHORT:
		if (cnt <= IOV_MAX)
			return real(fd, part, half(iov, cnt, part), off);
	}
	return real(fd, iov, cnt, off);
}
