/*
 * renamerace.c - names made and looked up in a directory, through a
 * descriptor of it, while a process renames a directory above it back and
 * forth: everything must land, and be found, where the directory is.
 *
 *   renamerace create NSDIR COUNT   NSDIR/A/sub exists; while a child
 *                                   renames NSDIR/A to NSDIR/B and back,
 *                                   make in sub, through a descriptor,
 *                                   COUNT keys fI (holding "fI"), and for
 *                                   every third I a directory dI, a link
 *                                   lI to "tI" and a key sI holding "rI"
 *                                   renamed to rI; then check as below
 *   renamerace check NSDIR COUNT    exactly one of NSDIR/A and NSDIR/B is
 *                                   there, and its sub holds what create
 *                                   made, and nothing else
 *   renamerace fill DIR COUNT SIZE  write COUNT keys kI of SIZE bytes
 *   renamerace lookup NSDIR COUNT   NSDIR/A/sub holds k0..kCOUNT-1, none
 *                                   looked up since the mount; while a
 *                                   child renames NSDIR/A to NSDIR/B and
 *                                   back, stat each key through a
 *                                   descriptor of sub (its first lookup);
 *                                   then every key sub lists must stat
 *                                   and open
 *   renamerace list NSDIR COUNT ROUNDS
 *                                   NSDIR/A/sub holds COUNT keys; while
 *                                   a child renames NSDIR/A to NSDIR/B
 *                                   and back, list sub ROUNDS times
 *                                   through one descriptor: every key
 *                                   each time
 *
 * Each command prints "OK" when all is well, else what went wrong (the
 * first few names on stderr).  The race starts once the renamer is under
 * way; it counts its renames (on stderr), and fewer than 10 is an error
 * too: nothing raced.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static long bad;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "renamerace: %s %s: %s\n", what, path,
		strerror(errno));
	exit(2);
}

static void note(const char *fmt, const char *name, int err)
{
	if (bad++ < 5) {
		fprintf(stderr, "# renamerace: ");
		fprintf(stderr, fmt, name);
		fprintf(stderr, ": %s\n", strerror(err));
	}
}

static char *join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		exit(2);
	return p;
}

/* The renamer's count of renames, shared with the parent. */
static volatile long *renames;
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Fork a child renaming nsdir/A to nsdir/B and back until SIGUSR1. */
static pid_t start_renamer(const char *nsdir)
{
	char *a = join(nsdir, "A"), *b = join(nsdir, "B");
	pid_t pid;

	renames = mmap(NULL, sizeof(*renames), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (renames == MAP_FAILED)
		die("mmap", "");
	*renames = 0;
	signal(SIGUSR1, on_stop);
	pid = fork();
	if (pid < 0)
		die("fork", "");
	if (pid == 0) {
		while (!stopping) {
			if (rename(a, b) < 0)
				die("rename", a);
			(*renames)++;
			if (rename(b, a) < 0)
				die("rename", b);
			(*renames)++;
		}
		_exit(0);
	}
	/* under way before the race starts */
	while (*renames < 2)
		usleep(1000);
	free(a);
	free(b);
	return pid;
}

static void stop_renamer(pid_t pid)
{
	int status;

	fprintf(stderr, "# renamerace: %ld renames\n", *renames);
	kill(pid, SIGUSR1);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "# renamerace: the renamer failed\n");
		bad++;
	}
	if (*renames < 10) {
		fprintf(stderr, "# renamerace: only %ld renames\n", *renames);
		bad++;
	}
}

/* The sub directory where the renames left it; the other name must go. */
static char *final_sub(const char *nsdir)
{
	char *a = join(nsdir, "A"), *b = join(nsdir, "B"), *sub;
	struct stat sa, sb;
	bool has_a = stat(a, &sa) == 0, has_b = stat(b, &sb) == 0;

	if (has_a == has_b) {
		fprintf(stderr, "# renamerace: A %s, B %s\n",
			has_a ? "there" : "absent", has_b ? "there" : "absent");
		bad++;
	}
	sub = join(has_a ? a : b, "sub");
	free(a);
	free(b);
	return sub;
}

static int check(const char *nsdir, long count)
{
	char *sub = final_sub(nsdir), name[64], buf[64];
	long i, want = 0, listed = 0;
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *d;
	int fd, dfd;

	dfd = open(sub, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open", sub);
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "f%ld", i);
		want++;
		fd = openat(dfd, name, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (fd < 0 || n != (ssize_t)strlen(name) ||
		    memcmp(buf, name, (size_t)n))
			note("key %s missing or wrong", name, fd < 0 ? errno
							      : EINVAL);
		if (fd >= 0)
			close(fd);
		if (i % 3)
			continue;
		want += 2;
		snprintf(name, sizeof(name), "d%ld", i);
		if (fstatat(dfd, name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			note("directory %s missing", name, errno);
		snprintf(name, sizeof(name), "l%ld", i);
		n = readlinkat(dfd, name, buf, sizeof(buf));
		snprintf(name, sizeof(name), "t%ld", i);
		if (n != (ssize_t)strlen(name) || memcmp(buf, name, (size_t)n))
			note("link to %s missing or wrong", name, errno);
		want++;
		snprintf(name, sizeof(name), "r%ld", i);
		fd = openat(dfd, name, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (fd < 0 || n != (ssize_t)strlen(name) ||
		    memcmp(buf, name, (size_t)n))
			note("renamed key %s missing or wrong", name,
			     fd < 0 ? errno : EINVAL);
		if (fd >= 0)
			close(fd);
	}
	d = fdopendir(dfd);
	if (!d)
		die("fdopendir", sub);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			listed++;
	closedir(d);
	if (listed != want) {
		fprintf(stderr, "# renamerace: %s lists %ld, not %ld\n", sub,
			listed, want);
		bad++;
	}
	free(sub);
	return bad ? 1 : 0;
}

static int create(const char *nsdir, long count)
{
	char *sub = join(nsdir, "A/sub"), name[64], target[64];
	pid_t pid;
	long i;
	int dfd, fd;

	dfd = open(sub, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open", sub);
	pid = start_renamer(nsdir);
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "f%ld", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, name, strlen(name)) !=
			      (ssize_t)strlen(name) || close(fd) < 0)
			note("create %s", name, errno);
		if (i % 3)
			continue;
		snprintf(name, sizeof(name), "d%ld", i);
		if (mkdirat(dfd, name, 0755) < 0)
			note("mkdir %s", name, errno);
		snprintf(name, sizeof(name), "l%ld", i);
		snprintf(target, sizeof(target), "t%ld", i);
		if (symlinkat(target, dfd, name) < 0)
			note("symlink %s", name, errno);
		/* an editor's save: a new name, renamed to the key's */
		snprintf(name, sizeof(name), "s%ld", i);
		snprintf(target, sizeof(target), "r%ld", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, target, strlen(target)) !=
			      (ssize_t)strlen(target) || close(fd) < 0)
			note("create %s", name, errno);
		if (renameat(dfd, name, dfd, target) < 0)
			note("rename to %s", target, errno);
	}
	stop_renamer(pid);
	close(dfd);
	free(sub);
	return check(nsdir, count);
}

static int fill(const char *dir, long count, size_t size)
{
	char *buf = malloc(size ? size : 1), *path;
	long i;
	int fd;

	if (!buf)
		return 2;
	for (i = 0; i < count; i++) {
		if (asprintf(&path, "%s/k%ld", dir, i) < 0)
			return 2;
		memset(buf, 'a' + (int)(i % 26), size);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, size) != (ssize_t)size ||
		    close(fd) < 0)
			die("write", path);
		free(path);
	}
	free(buf);
	return 0;
}

static int lookup(const char *nsdir, long count)
{
	char *sub = join(nsdir, "A/sub"), name[64];
	long i, listed = 0, missed = 0;
	struct dirent *de;
	struct stat st;
	pid_t pid;
	DIR *d;
	int dfd, fd;

	dfd = open(sub, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open", sub);
	pid = start_renamer(nsdir);
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "k%ld", i);
		if (fstatat(dfd, name, &st, 0) < 0) {
			note("first stat of %s", name, errno);
			missed++;
		}
	}
	stop_renamer(pid);
	d = fdopendir(dfd);
	if (!d)
		die("fdopendir", sub);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		listed++;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			note("stat of listed %s", de->d_name, errno);
			continue;
		}
		fd = openat(dirfd(d), de->d_name, O_RDONLY);
		if (fd < 0)
			note("open of listed %s", de->d_name, errno);
		else
			close(fd);
	}
	closedir(d);
	if (listed != count) {
		fprintf(stderr, "# renamerace: %s lists %ld, not %ld\n", sub,
			listed, count);
		bad++;
	}
	if (missed)
		fprintf(stderr, "# renamerace: %ld first lookups missed\n",
			missed);
	free(sub);
	return bad ? 1 : 0;
}

/*
 * Listings of NSDIR/A/sub (COUNT keys) through one descriptor, rewound
 * ROUNDS times while the renamer runs: each lists every key.
 */
static int list(const char *nsdir, long count, long rounds)
{
	char *sub = join(nsdir, "A/sub");
	long r, listed, short_lists = 0;
	struct dirent *de;
	pid_t pid;
	DIR *d;

	d = opendir(sub);
	if (!d)
		die("opendir", sub);
	pid = start_renamer(nsdir);
	for (r = 0; r < rounds; r++) {
		rewinddir(d);
		listed = 0;
		errno = 0;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				listed++;
		if (errno || listed != count) {
			if (short_lists++ < 3)
				fprintf(stderr, "# renamerace: listing %ld of "
					"sub: %ld keys, not %ld (%s)\n", r,
					listed, count,
					errno ? strerror(errno) : "no error");
			bad++;
		}
	}
	stop_renamer(pid);
	closedir(d);
	free(sub);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 4 && !strcmp(argv[1], "create"))
		rc = create(argv[2], atol(argv[3]));
	else if (argc == 4 && !strcmp(argv[1], "check"))
		rc = check(argv[2], atol(argv[3]));
	else if (argc == 5 && !strcmp(argv[1], "fill"))
		rc = fill(argv[2], atol(argv[3]), (size_t)atol(argv[4]));
	else if (argc == 4 && !strcmp(argv[1], "lookup"))
		rc = lookup(argv[2], atol(argv[3]));
	else if (argc == 5 && !strcmp(argv[1], "list"))
		rc = list(argv[2], atol(argv[3]), atol(argv[4]));
	else {
		fprintf(stderr, "usage: renamerace create|check NSDIR COUNT\n"
			"       renamerace fill DIR COUNT SIZE\n"
			"       renamerace lookup NSDIR COUNT\n"
			"       renamerace list NSDIR COUNT ROUNDS\n");
		return 2;
	}
	if (rc == 0)
		printf("OK\n");
	else if (rc == 1)
		printf("FAIL %ld\n", bad);
	return rc;
}
