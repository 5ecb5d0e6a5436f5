/*
 * fsop.c - one system call from the shell, printing the errno name it
 * got ("OK" on success), so that tests can assert the exact error.
 *
 *   fsop rename-noreplace FROM TO     renameat2(RENAME_NOREPLACE)
 *   fsop rename-exchange FROM TO      renameat2(RENAME_EXCHANGE)
 *   fsop creat-excl PATH              open(O_CREAT|O_EXCL|O_WRONLY)
 *   fsop mkdir PATH | rmdir PATH | unlink PATH | rename FROM TO
 *   fsop link FROM TO | symlink TARGET PATH | mkfifo PATH
 *   fsop mknod-reg PATH | mknod-chr PATH | mknod-sock PATH
 *   fsop open PATH | open-w PATH | stat PATH
 *   fsop write PATH OFFSET BYTES      pwrite BYTES at OFFSET, then close
 *   fsop truncate PATH SIZE | ftruncate PATH SIZE
 *   fsop write-close PATH SIZE        write SIZE bytes, report close()
 *   fsop mmap-write PATH TEXT         write TEXT through a shared mmap
 *   fsop mmap-read PATH               print the file through mmap
 *   fsop put PATH TEXT [SECS]         O_TRUNC write of TEXT; open, write and
 *                                     close must all succeed for "OK"; with
 *                                     SECS, sleep that long before close
 *   fsop append PATH TEXT [SECS]      the same with O_APPEND
 *   fsop fill PATH CHAR SIZE          the same with SIZE bytes of CHAR
 *   fsop uniform PATH SIZE...         read it all: "OK" if every byte is the
 *                                     same and the size one of SIZE...
 *   fsop setxattr PATH NAME VALUE [create|replace]
 *   fsop getxattr PATH NAME SIZE      with a SIZE-byte buffer (0: the size
 *                                     query): "OK n" and n bytes returned
 *   fsop listxattr PATH SIZE          the same for the list of names
 *   fsop removexattr PATH NAME
 *   fsop fsync PATH                   open, fsync, close
 *   fsop populate DIR COUNT SIZE      create DIR/k0 ... of SIZE bytes each
 *   fsop expire DIR COUNT STEP TTL    set expiration_ttl TTL on DIR/k0 and
 *                                     every STEP-th key up to COUNT
 *   fsop flip A B SECS                rename A to B and back for SECS: "OK n"
 *   fsop churn DIR TAG SECS           create DIR/TAG-0, DIR/TAG-1 ... for
 *                                     SECS: "OK n"
 *   fsop close-to-open PATH COUNT     COUNT new values, each checked right
 *                                     after its close by stat, fstat, mmap
 *   fsop ttl-loop A B SECS            set expiration_ttl 3600 on A and on B
 *                                     for SECS (ENOENT ignored): "OK n"
 *   fsop resave PATH FIRST LAST SECS READY
 *                                     O_TRUNC write of FIRST, fsync, then
 *                                     truncate and write LAST, create the
 *                                     file READY, sleep SECS and close:
 *                                     "OK" if every call did
 *
 * FLAGS below is a comma-separated list of open(2) flags in lower case,
 * without O_: rdonly, wronly, rdwr, creat, excl, trunc, append, directory,
 * nofollow (e.g. "wronly,creat,excl"); files are created 0644.
 *   fsop openf PATH FLAGS             open with FLAGS, then close
 *   fsop seek-write PATH FLAGS OFF TEXT   lseek to OFF, write TEXT: "OK n"
 *                                     with n the offset after the write
 *   fsop pwrite PATH FLAGS OFF TEXT   pwrite TEXT at OFF, then close
 *   fsop pread PATH FLAGS OFF LEN     pread LEN bytes at OFF: "OK n BYTES"
 *   fsop ftrunc PATH FLAGS SIZE       ftruncate a descriptor open FLAGS
 *   fsop rename-held FROM TO          open TO for reading, rename FROM over
 *                                     it, then read the descriptor:
 *                                     "OK BYTES" (what TO held before)
 *   fsop utimens PATH ATIME MTIME     utimensat; each time is SEC[.NSEC],
 *                                     now (UTIME_NOW) or omit (UTIME_OMIT);
 *                                     "fsop utimens PATH null": times NULL
 *   fsop chmod PATH MODE              MODE in octal
 *   fsop chown PATH UID GID           -1 leaves one unchanged
 *   fsop lsetxattr PATH NAME VALUE    setxattr of the link itself
 *   fsop lgetxattr PATH NAME          its size query: "OK n"
 *   fsop llistxattr PATH              the same for the list of names
 *   fsop readdir DIR                  "NAME TYPE" a line, TYPE from d_type:
 *                                     dir, reg, lnk or other
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fsop.h"
#include "oflags.h"

int result(int rc)
{
	const char *name;

	if (rc == 0) {
		puts("OK");
		return 0;
	}
	name = strerrorname_np(errno);
	puts(name ? name : "UNKNOWN");
	return 1;
}

static int write_close(const char *path, long long size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char buf[65536];
	long long done = 0;

	if (fd < 0)
		return result(-1);
	memset(buf, 'w', sizeof(buf));
	while (done < size) {
		size_t n = size - done < (long long)sizeof(buf)
			? (size_t)(size - done) : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			printf("write ");
			result(-1);
			break;
		}
		done += w;
	}
	return result(close(fd));
}

static int sized(ssize_t n)
{
	if (n < 0)
		return result(-1);
	printf("OK %zd\n", n);
	return 0;
}

static int get_xattr(const char *path, const char *name, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n = getxattr(path, name, buf, size);
	int rc = sized(n);

	free(buf);
	return rc;
}

static int list_xattr(const char *path, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n = listxattr(path, buf, size);
	int rc = sized(n);

	free(buf);
	return rc;
}

static int list_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *d;

	if (!dir)
		return result(-1);
	while ((d = readdir(dir)))
		printf("%s %s\n", d->d_name, d->d_type == DT_DIR ? "dir"
		       : d->d_type == DT_REG ? "reg"
		       : d->d_type == DT_LNK ? "lnk" : "other");
	closedir(dir);
	return 0;
}

static int populate(const char *dir, long count, long size)
{
	char path[4096], *buf = calloc(1, size ? (size_t)size : 1);
	long i;

	for (i = 0; buf && i < count; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/k%ld", dir, i);
		memset(buf, 'a' + (int)(i % 26), (size_t)size);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, (size_t)size) != size ||
		    close(fd) < 0)
			break;
	}
	free(buf);
	if (i < count)
		printf("%s: ", path);
	return result(i < count ? -1 : 0);
}

static int expire(const char *dir, long count, long step, const char *ttl)
{
	char path[4096];
	long i;

	for (i = 0; i < count; i += step > 0 ? step : 1) {
		snprintf(path, sizeof(path), "%s/k%ld", dir, i);
		if (setxattr(path, "user.kv.expiration_ttl", ttl, strlen(ttl),
			     0) < 0) {
			printf("%s: ", path);
			return result(-1);
		}
	}
	return result(0);
}

static int mmap_write(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	char *p;

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		return result(-1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return result(-1);
	memcpy(p, text, len);
	if (msync(p, len, MS_SYNC) < 0)
		return result(-1);
	munmap(p, len);
	return result(close(fd));
}

static int mmap_read(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	char *p;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return result(-1);
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return result(-1);
	fwrite(p, 1, (size_t)sb.st_size, stdout);
	putchar('\n');
	munmap(p, (size_t)sb.st_size);
	close(fd);
	return 0;
}

/* Write size bytes of c (or text) with O_TRUNC and close, all checked. */
static double hold;	/* seconds to keep the file open after writing */

/* One writer's two values: the first by fsync, the last by close. */
static int resave(const char *path, const char *first, const char *last,
		  double secs, const char *ready)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t n = strlen(last);

	if (fd < 0)
		return result(-1);
	if (write(fd, first, strlen(first)) != (ssize_t)strlen(first) ||
	    fsync(fd) || ftruncate(fd, 0) ||
	    pwrite(fd, last, n, 0) != (ssize_t)n ||
	    close(open(ready, O_WRONLY | O_CREAT, 0644))) {
		int e = errno;

		close(fd);
		errno = e;
		return result(-1);
	}
	usleep((useconds_t)(secs * 1e6));
	return result(close(fd));
}

static int put(const char *path, const char *text, int c, long long size,
	       int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | mode, 0644);
	static char buf[131072];
	long long done = 0;

	if (fd < 0)
		return result(-1);
	if (!text)
		memset(buf, c, sizeof(buf));
	while (done < size) {
		const char *src = text ? text + done : buf;
		size_t n = size - done < (long long)sizeof(buf)
			? (size_t)(size - done) : sizeof(buf);
		ssize_t w = write(fd, src, n);

		if (w < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return result(-1);
		}
		done += w;
	}
	if (hold > 0)
		usleep((useconds_t)(hold * 1e6));
	return result(close(fd));
}

static int uniform(const char *path, int nsizes, char **sizes)
{
	static char buf[65536];
	long long total = 0;
	int fd = open(path, O_RDONLY), first = -1, i;
	ssize_t n;

	if (fd < 0)
		return result(-1);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (first < 0)
				first = (unsigned char)buf[i];
			if ((unsigned char)buf[i] != first) {
				printf("MIX at %lld\n", total + i);
				close(fd);
				return 1;
			}
		}
		total += n;
	}
	close(fd);
	if (n < 0)
		return result(-1);
	for (i = 0; i < nsizes; i++)
		if (total == strtoll(sizes[i], NULL, 10))
			return result(0);
	printf("SIZE %lld\n", total);
	return 1;
}

/* open PATH with FLAGS, or exit 2 on a bad FLAGS; -1 and errno on failure */
static int open_flags_or_die(const char *path, const char *flags)
{
	int f = oflags_parse(flags);

	if (f < 0) {
		fprintf(stderr, "fsop: unknown flag in '%s'\n", flags);
		exit(2);
	}
	return open(path, f, 0644);
}

/* The errno of a failed call on fd, reported after closing fd. */
int fd_fail(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
	return result(-1);
}

static int seek_write(const char *path, const char *flags, long long off,
		      const char *text)
{
	int fd = open_flags_or_die(path, flags);
	off_t pos;

	if (fd < 0)
		return result(-1);
	if (lseek(fd, (off_t)off, SEEK_SET) < 0 ||
	    write(fd, text, strlen(text)) < 0 ||
	    (pos = lseek(fd, 0, SEEK_CUR)) < 0)
		return fd_fail(fd);
	if (close(fd) < 0)
		return result(-1);
	printf("OK %lld\n", (long long)pos);
	return 0;
}

static int pwrite_flags(const char *path, const char *flags, long long off,
			const char *text)
{
	int fd = open_flags_or_die(path, flags);

	if (fd < 0)
		return result(-1);
	if (pwrite(fd, text, strlen(text), (off_t)off) < 0)
		return fd_fail(fd);
	return result(close(fd));
}

static int pread_flags(const char *path, const char *flags, long long off,
		       size_t len)
{
	int fd = open_flags_or_die(path, flags);
	char *buf = malloc(len ? len : 1);
	ssize_t n;

	if (fd < 0)
		return result(-1);
	n = pread(fd, buf, len, (off_t)off);
	if (n < 0) {
		free(buf);
		return fd_fail(fd);
	}
	close(fd);
	printf("OK %zd ", n);
	fwrite(buf, 1, (size_t)n, stdout);
	putchar('\n');
	free(buf);
	return 0;
}

static int ftrunc(const char *path, const char *flags, long long size)
{
	int fd = open_flags_or_die(path, flags);

	if (fd < 0)
		return result(-1);
	if (ftruncate(fd, (off_t)size) < 0)
		return fd_fail(fd);
	return result(close(fd));
}

/* SEC[.NSEC] (NSEC as 9 digits), now or omit */
static struct timespec parse_time(const char *s)
{
	struct timespec ts = { 0, 0 };
	char *end;

	if (!strcmp(s, "now")) {
		ts.tv_nsec = UTIME_NOW;
	} else if (!strcmp(s, "omit")) {
		ts.tv_nsec = UTIME_OMIT;
	} else {
		ts.tv_sec = (time_t)strtoll(s, &end, 10);
		if (*end == '.')
			ts.tv_nsec = strtol(end + 1, NULL, 10);
	}
	return ts;
}

static int utimens(const char *path, int argc, char **argv)
{
	struct timespec ts[2];

	if (!strcmp(argv[0], "null"))
		return result(utimensat(AT_FDCWD, path, NULL, 0));
	if (argc < 2) {
		fprintf(stderr, "fsop: utimens PATH ATIME MTIME\n");
		return 2;
	}
	ts[0] = parse_time(argv[0]);
	ts[1] = parse_time(argv[1]);
	return result(utimensat(AT_FDCWD, path, ts, 0));
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	const char *a = argc > 2 ? argv[2] : "";
	const char *b = argc > 3 ? argv[3] : "";
	struct stat sb;
	int fd;

	if (!strcmp(op, "rename-noreplace"))
		return result(renameat2(AT_FDCWD, a, AT_FDCWD, b,
					RENAME_NOREPLACE));
	if (!strcmp(op, "rename-exchange"))
		return result(renameat2(AT_FDCWD, a, AT_FDCWD, b,
					RENAME_EXCHANGE));
	if (!strcmp(op, "rename"))
		return result(rename(a, b));
	if (!strcmp(op, "creat-excl")) {
		fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
		return result(fd < 0 ? -1 : close(fd));
	}
	if (!strcmp(op, "mkdir"))
		return result(mkdir(a, 0755));
	if (!strcmp(op, "rmdir"))
		return result(rmdir(a));
	if (!strcmp(op, "unlink"))
		return result(unlink(a));
	if (!strcmp(op, "link"))
		return result(link(a, b));
	if (!strcmp(op, "symlink"))
		return result(symlink(a, b));
	if (!strcmp(op, "mkfifo"))
		return result(mkfifo(a, 0644));
	if (!strcmp(op, "mknod-reg"))
		return result(mknod(a, S_IFREG | 0644, 0));
	if (!strcmp(op, "mknod-chr"))
		return result(mknod(a, S_IFCHR | 0644, makedev(1, 3)));
	if (!strcmp(op, "mknod-sock"))
		return result(mknod(a, S_IFSOCK | 0644, 0));
	if (!strcmp(op, "stat"))
		return result(stat(a, &sb));
	if (!strcmp(op, "open")) {
		fd = open(a, O_RDONLY);
		return result(fd < 0 ? -1 : close(fd));
	}
	if (!strcmp(op, "open-w")) {
		fd = open(a, O_WRONLY);
		return result(fd < 0 ? -1 : close(fd));
	}
	if (!strcmp(op, "write")) {
		fd = open(a, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return result(-1);
		if (pwrite(fd, argv[4], strlen(argv[4]),
			   strtoll(b, NULL, 10)) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return result(-1);
		}
		return result(close(fd));
	}
	if (!strcmp(op, "truncate"))
		return result(truncate(a, strtoll(b, NULL, 10)));
	if (!strcmp(op, "ftruncate")) {
		fd = open(a, O_WRONLY);
		if (fd < 0)
			return result(-1);
		if (ftruncate(fd, strtoll(b, NULL, 10)) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return result(-1);
		}
		return result(close(fd));
	}
	if (!strcmp(op, "write-close"))
		return write_close(a, strtoll(b, NULL, 10));
	if (!strcmp(op, "mmap-write"))
		return mmap_write(a, b);
	if (!strcmp(op, "mmap-read"))
		return mmap_read(a);
	if ((!strcmp(op, "put") || !strcmp(op, "append")) && argc > 4)
		hold = strtod(argv[4], NULL);
	if (!strcmp(op, "put"))
		return put(a, b, 0, (long long)strlen(b), O_TRUNC);
	if (!strcmp(op, "append"))
		return put(a, b, 0, (long long)strlen(b), O_APPEND);
	if (!strcmp(op, "fill") && argc > 4)
		return put(a, NULL, b[0], strtoll(argv[4], NULL, 10), O_TRUNC);
	if (!strcmp(op, "uniform"))
		return uniform(a, argc - 3, argv + 3);
	if (!strcmp(op, "setxattr") && argc > 4) {
		int flags = argc < 6 ? 0 : !strcmp(argv[5], "create")
			? XATTR_CREATE : XATTR_REPLACE;

		return result(setxattr(a, b, argv[4], strlen(argv[4]), flags));
	}
	if (!strcmp(op, "getxattr") && argc > 4)
		return get_xattr(a, b, strtoul(argv[4], NULL, 10));
	if (!strcmp(op, "listxattr"))
		return list_xattr(a, strtoul(b, NULL, 10));
	if (!strcmp(op, "removexattr"))
		return result(removexattr(a, b));
	if (!strcmp(op, "fsync")) {
		fd = open(a, O_RDONLY);
		if (fd < 0 || fsync(fd) < 0)
			return result(-1);
		return result(close(fd));
	}
	if (!strcmp(op, "resave") && argc > 6)
		return resave(argv[2], argv[3], argv[4], atof(argv[5]),
			      argv[6]);
	if (!strcmp(op, "populate") && argc > 4)
		return populate(a, strtol(b, NULL, 10),
				strtol(argv[4], NULL, 10));
	if (!strcmp(op, "expire") && argc > 5)
		return expire(a, strtol(b, NULL, 10), strtol(argv[4], NULL, 10),
			      argv[5]);
	if (!strcmp(op, "openf") && argc > 3) {
		fd = open_flags_or_die(a, b);
		return result(fd < 0 ? -1 : close(fd));
	}
	if (!strcmp(op, "seek-write") && argc > 5)
		return seek_write(a, b, strtoll(argv[4], NULL, 10), argv[5]);
	if (!strcmp(op, "pwrite") && argc > 5)
		return pwrite_flags(a, b, strtoll(argv[4], NULL, 10), argv[5]);
	if (!strcmp(op, "pread") && argc > 5)
		return pread_flags(a, b, strtoll(argv[4], NULL, 10),
				   strtoul(argv[5], NULL, 10));
	if (!strcmp(op, "ftrunc") && argc > 4)
		return ftrunc(a, b, strtoll(argv[4], NULL, 10));
	if (!strcmp(op, "churn") && argc > 4)
		return churn(a, b, strtol(argv[4], NULL, 10));
	if (!strcmp(op, "close-to-open") && argc > 3)
		return close_to_open(a, strtol(b, NULL, 10));
	if ((!strcmp(op, "flip") || !strcmp(op, "ttl-loop")) && argc > 4)
		return race_loop(a, b, strtol(argv[4], NULL, 10),
				 !strcmp(op, "flip"));
	if (!strcmp(op, "rename-held") && argc > 3)
		return rename_held(a, b);
	if (!strcmp(op, "utimens") && argc > 3)
		return utimens(a, argc - 3, argv + 3);
	if (!strcmp(op, "chmod") && argc > 3)
		return result(chmod(a, (mode_t)strtoul(b, NULL, 8)));
	if (!strcmp(op, "chown") && argc > 4)
		return result(chown(a, (uid_t)strtol(b, NULL, 10),
				    (gid_t)strtol(argv[4], NULL, 10)));
	if (!strcmp(op, "lsetxattr") && argc > 4)
		return result(lsetxattr(a, b, argv[4], strlen(argv[4]), 0));
	if (!strcmp(op, "lgetxattr") && argc > 3)
		return sized(lgetxattr(a, b, NULL, 0));
	if (!strcmp(op, "llistxattr"))
		return sized(llistxattr(a, NULL, 0));
	if (!strcmp(op, "readdir"))
		return list_dir(a);
	fprintf(stderr, "fsop: unknown operation '%s'\n", op);
	return 2;
}
