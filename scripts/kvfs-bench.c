/*
 * kvfs-bench.c - the workloads of scripts/bench, run against one directory
 * (a kvfs namespace, a plain directory or a tmpfs), printing one
 * "name value unit" line per figure.
 *
 *   kvfs-bench small DIR COUNT SIZE THREADS [PHASE]
 *       COUNT files of SIZE bytes over 16 subdirectories, THREADS client
 *       threads: create (open, write, close), stat, hot read (open, read,
 *       close, on a second pass), overwrite (O_TRUNC), unlink; ops/s.
 *       With PHASE (create, stat, read, overwrite or unlink), that phase
 *       alone, once, on the files an earlier run left.
 *   kvfs-bench large DIR MIB
 *       one file of MIB MiB in 1 MiB blocks: write (to the close), first
 *       read (right after the close), hot read (a second pass); MiB/s.
 *   kvfs-bench write DIR MIB, kvfs-bench read DIR MIB
 *       one pass of `large` alone: the file is left for a later read.
 *   kvfs-bench fill DIR COUNT SIZE THREADS
 *       the creates of `small` only, and leave the files.
 *   kvfs-bench fill1 DIR COUNT
 *       COUNT files of 100 bytes in DIR itself, one thread.
 *   kvfs-bench list DIR COUNT
 *       what `ls -l` asks of the filesystem: readdir of DIR and an
 *       fstatat of each entry (fails unless there are COUNT); entries/s.
 *   kvfs-bench stat1 DIR COUNT
 *       stat of each file fill1 made, by name; ops/s.
 *   kvfs-bench latency DIR COUNT SAMPLES
 *       stat of SAMPLES files spread over the COUNT made by fill, then read
 *       (open, read, close) of SAMPLES others, each touched once (cold);
 *       mean microseconds each.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SUBDIRS	16
#define THREADS_MAX	64

enum phase { CREATE, STAT, READ, OVERWRITE, UNLINK };

static const char *const phase_names[] = {
	"create", "stat", "read", "overwrite", "unlink"
};
#define PHASES	(int)(sizeof(phase_names) / sizeof(phase_names[0]))

struct job {
	const char *dir;
	long count, size;
	int threads, id;
	enum phase phase;
	char *buf;
	int failed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "kvfs-bench: %s %s: %s\n", what, path,
		strerror(errno));
	exit(1);
}

static void name(char *p, size_t n, const char *dir, long i)
{
	snprintf(p, n, "%s/d%02ld/f%07ld", dir, i % SUBDIRS, i);
}

static int put(const char *path, const char *buf, long size, int flags)
{
	int fd = open(path, O_WRONLY | flags, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)size) != size) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int get(const char *path, char *buf, long size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, (size_t)size + 1);
	close(fd);
	return n == size ? 0 : -1;
}

static void *run(void *arg)
{
	struct job *j = arg;
	char path[4096];
	struct stat sb;
	long i;

	for (i = j->id; i < j->count; i += j->threads) {
		int rc = 0;

		name(path, sizeof(path), j->dir, i);
		switch (j->phase) {
		case CREATE:
			rc = put(path, j->buf, j->size, O_CREAT | O_TRUNC);
			break;
		case STAT:
			rc = stat(path, &sb);
			break;
		case READ:
			rc = get(path, j->buf, j->size);
			break;
		case OVERWRITE:
			rc = put(path, j->buf, j->size, O_TRUNC);
			break;
		case UNLINK:
			rc = unlink(path);
			break;
		}
		if (rc) {
			fprintf(stderr, "kvfs-bench: %s: %s\n", path,
				strerror(errno));
			j->failed = 1;
			break;
		}
	}
	return NULL;
}

/* Run a phase on every thread; its ops/s. */
static double phase(const char *dir, long count, long size, int threads,
		    enum phase ph)
{
	pthread_t tid[THREADS_MAX];
	struct job jobs[THREADS_MAX];
	double t0, t;
	int i, failed = 0;

	for (i = 0; i < threads; i++) {
		jobs[i] = (struct job){ dir, count, size, threads, i, ph,
					calloc(1, (size_t)size + 1), 0 };
		memset(jobs[i].buf, 'a' + i, (size_t)size);
	}
	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, run, &jobs[i]);
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		failed |= jobs[i].failed;
		free(jobs[i].buf);
	}
	t = now() - t0;
	if (failed)
		exit(1);
	return count / t;
}

static void subdirs(const char *dir)
{
	char path[4096];
	int i;

	for (i = 0; i < SUBDIRS; i++) {
		snprintf(path, sizeof(path), "%s/d%02d", dir, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die("mkdir", path);
	}
}

static void small(const char *dir, long count, long size, int threads)
{
	subdirs(dir);
	printf("create %.0f ops/s\n", phase(dir, count, size, threads, CREATE));
	printf("stat %.0f ops/s\n", phase(dir, count, size, threads, STAT));
	phase(dir, count, size, threads, READ);	/* the first pass */
	printf("read %.0f ops/s\n", phase(dir, count, size, threads, READ));
	printf("overwrite %.0f ops/s\n",
	       phase(dir, count, size, threads, OVERWRITE));
	printf("unlink %.0f ops/s\n", phase(dir, count, size, threads, UNLINK));
}

/* One phase of small alone, named: 0, or -1 for an unknown name. */
static int small_phase(const char *dir, long count, long size, int threads,
		       const char *which)
{
	int ph;

	for (ph = 0; ph < PHASES; ph++)
		if (!strcmp(which, phase_names[ph]))
			break;
	if (ph == PHASES)
		return -1;
	if (ph == CREATE)
		subdirs(dir);
	printf("%s %.0f ops/s\n", which,
	       phase(dir, count, size, threads, (enum phase)ph));
	return 0;
}

static double stream(const char *path, long mib, bool writing)
{
	size_t block = 1 << 20;
	char *buf = malloc(block);
	double t0 = now();
	long i;
	int fd;

	memset(buf, 'x', block);
	fd = writing ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)
		     : open(path, O_RDONLY);
	if (fd < 0)
		die("open", path);
	for (i = 0; i < mib; i++) {
		ssize_t n = writing ? write(fd, buf, block)
				    : read(fd, buf, block);

		if (n != (ssize_t)block)
			die(writing ? "write" : "read", path);
	}
	if (close(fd) < 0)
		die("close", path);
	free(buf);
	return mib / (now() - t0);
}

static void large_path(char *p, size_t n, const char *dir)
{
	snprintf(p, n, "%s/large", dir);
}

static void large(const char *dir, long mib)
{
	char path[4096];

	large_path(path, sizeof(path), dir);
	printf("write %.1f MiB/s\n", stream(path, mib, true));
	printf("first_read %.1f MiB/s\n", stream(path, mib, false));
	printf("read %.1f MiB/s\n", stream(path, mib, false));
	unlink(path);
}

/* One pass of large: write leaves the file, read reads it once. */
static void large_pass(const char *dir, long mib, bool writing)
{
	char path[4096];

	large_path(path, sizeof(path), dir);
	printf("%s %.1f MiB/s\n", writing ? "write" : "read",
	       stream(path, mib, writing));
}

static void name1(char *p, size_t n, const char *dir, long i)
{
	snprintf(p, n, "%s/k%07ld", dir, i);
}

/* COUNT keys of 100 bytes in one directory. */
static void fill1(const char *dir, long count)
{
	char path[4096], buf[100];
	long i;

	memset(buf, 'k', sizeof(buf));
	for (i = 0; i < count; i++) {
		name1(path, sizeof(path), dir, i);
		if (put(path, buf, sizeof(buf), O_CREAT | O_TRUNC) < 0)
			die("create", path);
	}
}

/* readdir of DIR and an fstatat of each entry, as ls -l does. */
static void list(const char *dir, long count)
{
	struct dirent *de;
	struct stat sb;
	double t0 = now();
	long n = 0;
	DIR *d = opendir(dir);

	if (!d)
		die("opendir", dir);
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) < 0)
			die("fstatat", de->d_name);
		n++;
	}
	if (errno)
		die("readdir", dir);
	closedir(d);
	if (n != count) {
		fprintf(stderr, "kvfs-bench: %s: %ld entries, not %ld\n", dir,
			n, count);
		exit(1);
	}
	printf("list %.0f entries/s\n", n / (now() - t0));
}

/* stat of each key fill1 made, by name. */
static void stat1(const char *dir, long count)
{
	char path[4096];
	struct stat sb;
	double t0 = now();
	long i;

	for (i = 0; i < count; i++) {
		name1(path, sizeof(path), dir, i);
		if (stat(path, &sb) < 0)
			die("stat", path);
	}
	printf("stat %.0f ops/s\n", count / (now() - t0));
}

/* Files i * STRIDE % count for i in [from, from + n): distinct while
 * from + n <= count, since STRIDE is a prime no count here divides. */
#define STRIDE	7919

static double timed(const char *dir, long count, long from, long n,
		    bool reading)
{
	char path[4096], buf[65536];
	struct stat sb;
	double t0 = now();
	long i;

	for (i = from; i < from + n; i++) {
		name(path, sizeof(path), dir, (long)((i * STRIDE) % count));
		if (!reading) {
			if (stat(path, &sb) < 0)
				die("stat", path);
		} else {
			int fd = open(path, O_RDONLY);

			if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
				die("read", path);
			close(fd);
		}
	}
	return (now() - t0) / n * 1e6;
}

/* Cold latency: each file is touched once, stats and reads on different
 * files. */
static void latency(const char *dir, long count, long samples)
{
	if (samples > count / 2)
		samples = count / 2;
	printf("stat_latency %.1f us\n", timed(dir, count, 0, samples, false));
	printf("read_latency %.1f us\n",
	       timed(dir, count, samples, samples, true));
}

static void usage(void)
{
	fprintf(stderr, "usage: kvfs-bench small DIR COUNT SIZE THREADS "
		"[PHASE] | large DIR MIB\n"
		"       | write DIR MIB | read DIR MIB\n"
		"       | fill DIR COUNT SIZE THREADS | latency DIR "
		"COUNT SAMPLES\n"
		"       | fill1 DIR COUNT | list DIR COUNT | stat1 DIR COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	int threads = argc > 5 ? atoi(argv[5]) : 0;

	if ((!strcmp(op, "small") || !strcmp(op, "fill")) && argc >= 6 &&
	    (threads < 1 || threads > THREADS_MAX))
		usage();
	if (!strcmp(op, "small") && argc == 6)
		small(argv[2], atol(argv[3]), atol(argv[4]), threads);
	else if (!strcmp(op, "small") && argc == 7) {
		if (small_phase(argv[2], atol(argv[3]), atol(argv[4]),
				threads, argv[6]) < 0)
			usage();
	} else if (!strcmp(op, "large") && argc == 4)
		large(argv[2], atol(argv[3]));
	else if (!strcmp(op, "write") && argc == 4)
		large_pass(argv[2], atol(argv[3]), true);
	else if (!strcmp(op, "read") && argc == 4)
		large_pass(argv[2], atol(argv[3]), false);
	else if (!strcmp(op, "fill1") && argc == 4)
		fill1(argv[2], atol(argv[3]));
	else if (!strcmp(op, "list") && argc == 4)
		list(argv[2], atol(argv[3]));
	else if (!strcmp(op, "stat1") && argc == 4)
		stat1(argv[2], atol(argv[3]));
	else if (!strcmp(op, "fill") && argc == 6)
		small_phase(argv[2], atol(argv[3]), atol(argv[4]), threads,
			    "create");
	else if (!strcmp(op, "latency") && argc == 5)
		latency(argv[2], atol(argv[3]), atol(argv[4]));
	else
		usage();
	return 0;
}
