/*
 * fsrace.c - fsop's commands that loop or race: rename-held, flip and
 * ttl-loop, close-to-open and churn (their usage is at the top of
 * fsop.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fsop.h"

int rename_held(const char *from, const char *to)
{
	int fd = open(to, O_RDONLY);
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return result(-1);
	if (rename(from, to) < 0)
		return fd_fail(fd);
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return fd_fail(fd);
	close(fd);
	printf("OK %.*s\n", (int)n, buf);
	return 0;
}

/*
 * For secs seconds, rename a to b and back (flip) or set an expiration
 * on a and on b (ttl-loop), whichever exists: "OK n", n the operations
 * that succeeded, or the first errno other than ENOENT.
 */
int race_loop(const char *a, const char *b, long secs, bool flip)
{
	time_t end = time(NULL) + secs;
	unsigned long n = 0;
	int i, rc;

	while (time(NULL) < end) {
		for (i = 0; i < 2; i++) {
			if (flip)
				rc = i ? rename(b, a) : rename(a, b);
			else
				rc = setxattr(i ? b : a,
					      "user.kv.expiration_ttl",
					      "3600", 4, 0);
			if (rc < 0 && errno != ENOENT)
				return result(rc);
			n += rc == 0;
		}
	}
	printf("OK %lu\n", n);
	return 0;
}

/*
 * count times, give path a new value of 5000 or 100 bytes (alternately,
 * of one repeated byte, new each time) and right after the close check
 * what stat, fstat of a new open and a private mmap show: "OK", or the
 * first that differs.
 */
int close_to_open(const char *path, long count)
{
	static char buf[5000];
	long i;

	for (i = 0; i < count; i++) {
		size_t n = i % 2 ? 100 : sizeof(buf);
		char c = (char)('a' + i % 26);
		struct stat st, fst;
		char *m;
		int fd;

		memset(buf, c, n);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, n) != (ssize_t)n || close(fd) < 0)
			return result(-1);
		if (stat(path, &st) < 0 || (fd = open(path, O_RDONLY)) < 0)
			return result(-1);
		if (fstat(fd, &fst) < 0)
			return fd_fail(fd);
		if ((size_t)st.st_size != n || (size_t)fst.st_size != n) {
			close(fd);
			printf("round %ld: wrote %zu bytes; stat %lld, fstat "
			       "%lld\n", i, n, (long long)st.st_size,
			       (long long)fst.st_size);
			return 1;
		}
		m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			return result(-1);
		if (m[0] != c || m[n - 1] != c) {
			printf("round %ld: wrote %zu bytes of %c; mmap %c..%c\n",
			       i, n, c, m[0], m[n - 1]);
			munmap(m, n);
			return 1;
		}
		munmap(m, n);
	}
	puts("OK");
	return 0;
}

/* For secs seconds, create DIR/TAG-n with a few bytes, n = 0, 1, ...:
 * "OK n", n the files made, or the first errno. */
int churn(const char *dir, const char *tag, long secs)
{
	time_t end = time(NULL) + secs;
	char path[4096];
	unsigned long n;

	for (n = 0; time(NULL) < end; n++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s-%lu", dir, tag, n);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, tag, strlen(tag)) < 0 || close(fd) < 0)
			return result(-1);
	}
	printf("OK %lu\n", n);
	return 0;
}
