/*
 * sizerace.c - the write patterns that once left a key's stat at a size
 * its bytes do not have, with processes stat'ing the key beside them.
 *
 *   sizerace put DIR COUNT STATERS     COUNT times what kvctl put
 *                                      --expiration-ttl does: create
 *                                      DIR/.tmp-I (O_EXCL), fsetxattr
 *                                      user.kv.expiration_ttl, write, close,
 *                                      rename over DIR/put-I, stat it
 *   sizerace meta DIR COUNT STATERS    COUNT times printf > DIR/meta-I;
 *                                      setfattr -n user.kv.metadata
 *   sizerace fsync DIR COUNT STATERS   COUNT times: create DIR/.tmp-I,
 *                                      write, fsync, rename over
 *                                      DIR/fsync-I, close, stat it
 *   sizerace check DIR                 every key of DIR: stat, then read
 *
 * Each key I gets a value of its own length (I % 97 + 1 bytes, so that a
 * stale size never matches by chance), written in one write.  STATERS
 * processes stat the key being written (and its temporary name) all the
 * while.  Every command prints "OK n" with n the keys whose size by
 * stat(2) differs from the bytes a read returns (for put, meta and fsync:
 * also a value of the wrong length), naming the first few on stderr.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_STATERS 8

static const char *dir;
static long bad;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "sizerace: %s %s: %s\n", what, path, strerror(errno));
	exit(2);
}

static size_t value_len(long i)
{
	return (size_t)(i % 97) + 1;
}

/* Compare a key's size by stat with the bytes a read gets: 0 or 1. */
static int check_key(const char *path, size_t want)
{
	char buf[65536];
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (stat(path, &sb) < 0)
		die("stat", path);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	if (n < 0)
		die("read", path);
	close(fd);
	if ((size_t)sb.st_size == got && (!want || got == want))
		return 0;
	if (bad < 5)
		fprintf(stderr, "# sizerace: %s: stat %lld, read %zu bytes\n",
			path, (long long)sb.st_size, got);
	bad++;
	return 1;
}

/* The key being written, shared with the stat'ers: -1 tells them to end. */
static volatile long *current;

static void stater(const char *kind)
{
	char path[4096], tmp[4096];
	struct stat sb;
	long i;

	while ((i = *current) >= 0) {
		snprintf(path, sizeof(path), "%s/%s-%ld", dir, kind, i);
		snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld", dir, i);
		stat(path, &sb);
		stat(tmp, &sb);
	}
	_exit(0);
}

static void write_value(int fd, const char *path, long i)
{
	char buf[128];
	size_t len = value_len(i);

	memset(buf, 'a' + (int)(i % 26), len);
	if (write(fd, buf, len) != (ssize_t)len)
		die("write", path);
}

/* kvctl put --expiration-ttl 3600, by its system calls. */
static void put(long i, const char *path, const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die("create", tmp);
	if (fsetxattr(fd, "user.kv.expiration_ttl", "3600", 4, 0) < 0)
		die("fsetxattr", tmp);
	write_value(fd, tmp, i);
	if (close(fd) < 0)
		die("close", tmp);
	if (rename(tmp, path) < 0)
		die("rename", tmp);
}

/* printf ... > key; setfattr -n user.kv.metadata -v '{"i":I}' key */
static void meta(long i, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char json[32];

	if (fd < 0)
		die("open", path);
	write_value(fd, path, i);
	if (close(fd) < 0)
		die("close", path);
	snprintf(json, sizeof(json), "{\"i\":%ld}", i);
	if (setxattr(path, "user.kv.metadata", json, strlen(json), 0) < 0)
		die("setxattr", path);
}

/* An editor's save: the new file is renamed in place before its close. */
static void fsynced(long i, const char *path, const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die("create", tmp);
	write_value(fd, tmp, i);
	if (fsync(fd) < 0)
		die("fsync", tmp);
	if (rename(tmp, path) < 0)
		die("rename", tmp);
	if (close(fd) < 0)
		die("close", tmp);
}

static int run(const char *kind, long count, int staters)
{
	pid_t pids[MAX_STATERS];
	char path[4096], tmp[4096];
	long i;
	int s;

	current = mmap(NULL, sizeof(*current), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (current == MAP_FAILED)
		die("mmap", "");
	*current = 0;
	for (s = 0; s < staters; s++) {
		pids[s] = fork();
		if (pids[s] < 0)
			die("fork", "");
		if (pids[s] == 0)
			stater(kind);
	}
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s-%ld", dir, kind, i);
		snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld", dir, i);
		*current = i;
		if (!strcmp(kind, "put"))
			put(i, path, tmp);
		else if (!strcmp(kind, "meta"))
			meta(i, path);
		else
			fsynced(i, path, tmp);
		/* as kvctl's caller does next: stat, while the others do */
		check_key(path, value_len(i));
	}
	*current = -1;
	for (s = 0; s < staters; s++)
		waitpid(pids[s], NULL, 0);
	printf("OK %ld\n", bad);
	return 0;
}

static int check_dir(void)
{
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		die("opendir", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		check_key(path, 0);
	}
	closedir(d);
	printf("OK %ld\n", bad);
	return 0;
}

int main(int argc, char **argv)
{
	long count;
	int staters;

	if (argc == 3 && !strcmp(argv[1], "check")) {
		dir = argv[2];
		return check_dir();
	}
	if (argc != 5 || (strcmp(argv[1], "put") && strcmp(argv[1], "meta") &&
			  strcmp(argv[1], "fsync"))) {
		fprintf(stderr, "usage: sizerace put|meta|fsync DIR COUNT "
			"STATERS | check DIR\n");
		return 2;
	}
	dir = argv[2];
	count = atol(argv[3]);
	staters = atoi(argv[4]);
	if (staters < 0 || staters > MAX_STATERS)
		staters = MAX_STATERS;
	return run(argv[1], count, staters);
}
