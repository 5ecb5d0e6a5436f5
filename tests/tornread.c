/*
 * tornread.c - readers that check every byte they get, and the size their
 * fstat gives, against the one value they opened, while a key is
 * rewritten beside them.
 *
 *   tornread gen I                 print value I
 *   tornread write KEY COUNT       COUNT times: open(O_TRUNC), write
 *                                  value I in one write, close
 *   tornread read KEY STOP READERS READERS processes read KEY until the
 *                                  file STOP exists, then print
 *                                  "reads N bad M"
 *   tornread desc DIR              a descriptor keeps its own file
 *                                  after a rename over its key and an
 *                                  unlink (prints what it saw)
 *   tornread stat KEY COUNT STATERS
 *                                  STATERS processes stat KEY while it
 *                                  is rewritten COUNT times: prints
 *                                  "wrong N", N the writer's stats after
 *                                  its close (and a moment later) that
 *                                  gave another size
 *   tornread trunc KEY COUNT       COUNT times: write a value; open
 *                                  for writing and close; truncate(KEY,
 *                                  0) at once, read KEY:
 *                                  prints "left N", N the truncates
 *                                  that left bytes
 *
 * Value I is "val IIIIIIII len LLLLLLLL\n" then letters that follow from
 * I and their offset, LLLLLLLL bytes in all (64 to some 40 KB, so both
 * the values a key's record holds and those in chunks).  Each reader, in
 * turn: opens, fstats, sometimes waits a moment (so that a writer commits
 * meanwhile), reads the whole file, maps it (MAP_PRIVATE, the size fstat
 * gave), reads it again and fstats again.  A read is bad if any of these
 * fails, gets bytes of two values or NULs, a length other than fstat's,
 * or SIGBUS; the first few are described on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEAD	26
#define MAXVAL	(64 * 1024)

static size_t value_size(unsigned long i)
{
	return 64 + (size_t)(i * 7919 % 40000);
}

static void make_value(unsigned long i, char *buf)
{
	size_t len = value_size(i), j;

	snprintf(buf, HEAD + 1, "val %08lu len %08zu\n", i, len);
	for (j = HEAD; j < len; j++)
		buf[j] = (char)('a' + (i + j) % 26);
}

/*
 * Which value buf (n bytes) is: its number, or 0 with why in *why if it
 * is not one whole value.
 */
static unsigned long which(const char *buf, size_t n, const char **why)
{
	unsigned long i;
	size_t len, j;

	*why = "short";
	if (n < HEAD)
		return 0;
	*why = "header";
	if (sscanf(buf, "val %8lu len %8zu\n", &i, &len) != 2 || !i ||
	    len != value_size(i))
		return 0;
	*why = "length";
	if (len != n)
		return 0;
	*why = "bytes";
	for (j = HEAD; j < len; j++)
		if (buf[j] != (char)('a' + (i + j) % 26))
			return 0;
	return i;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "tornread: %s %s: %s\n", what, path, strerror(errno));
	exit(2);
}

static int cmd_gen(unsigned long i)
{
	static char buf[MAXVAL];

	make_value(i, buf);
	return fwrite(buf, 1, value_size(i), stdout) == value_size(i) ? 0 : 1;
}

static int cmd_write(const char *key, unsigned long count)
{
	static char buf[MAXVAL];
	unsigned long i;
	int fd;

	for (i = 1; i <= count; i++) {
		make_value(i, buf);
		fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("open", key);
		if (write(fd, buf, value_size(i)) != (ssize_t)value_size(i))
			die("write", key);
		if (close(fd))
			die("close", key);
	}
	return 0;
}

static sigjmp_buf bus_jmp;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static long bad_count;

static void report(const char *key, const char *what, const char *why,
		   long size, long got)
{
	if (bad_count++ < 5)
		fprintf(stderr, "tornread: %s: %s: %s (fstat %ld, got %ld)\n",
			key, what, why, size, got);
}

/* One reader's pass; 0 or 1 (bad). */
static int read_once(const char *key, char *buf, unsigned seed)
{
	volatile unsigned long first = 0;
	struct stat st, st2;
	const char *why = "";
	size_t n = 0;
	ssize_t r;
	char *map;
	int fd;

	fd = open(key, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;	/* not written yet */
		report(key, "open", strerror(errno), -1, -1);
		return 1;
	}
	if (fstat(fd, &st)) {
		report(key, "fstat", strerror(errno), -1, -1);
		close(fd);
		return 1;
	}
	if (seed % 3 == 0)
		usleep(seed % 2000);
	while (n < MAXVAL && (r = pread(fd, buf + n, MAXVAL - n,
					(off_t)n)) > 0)
		n += (size_t)r;
	why = "not fstat's size";
	if ((off_t)n != st.st_size || !(first = which(buf, n, &why))) {
		report(key, "read", why, (long)st.st_size, (long)n);
		close(fd);
		return 1;
	}
	map = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ,
				MAP_PRIVATE, fd, 0) : NULL;
	if (map == MAP_FAILED) {
		report(key, "mmap", strerror(errno), (long)st.st_size, -1);
		close(fd);
		return 1;
	}
	if (map) {
		if (sigsetjmp(bus_jmp, 1)) {
			report(key, "mmap", "SIGBUS", (long)st.st_size, -1);
			munmap(map, (size_t)st.st_size);
			close(fd);
			return 1;
		}
		memcpy(buf, map, (size_t)st.st_size);
		munmap(map, (size_t)st.st_size);
		if (which(buf, (size_t)st.st_size, &why) != first) {
			report(key, "mmap", why[0] ? why : "another value",
			       (long)st.st_size, (long)st.st_size);
			close(fd);
			return 1;
		}
	}
	for (n = 0; n < MAXVAL && (r = pread(fd, buf + n, MAXVAL - n,
					     (off_t)n)) > 0;)
		n += (size_t)r;
	if (which(buf, n, &why) != first) {
		report(key, "read again", why[0] ? why : "another value",
		       (long)st.st_size, (long)n);
		close(fd);
		return 1;
	}
	if (fstat(fd, &st2) || st2.st_size != st.st_size ||
	    st2.st_ino != st.st_ino) {
		report(key, "fstat again", "changed", (long)st.st_size,
		       (long)st2.st_size);
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int cmd_read(const char *key, const char *stop, int readers)
{
	int p, status, bad = 0;
	long reads = 0;

	for (p = 0; p < readers; p++) {
		int fds[2];

		if (pipe(fds))
			die("pipe", key);
		if (fork() == 0) {
			char *buf = malloc(MAXVAL);
			long counts[2] = { 0, 0 };
			unsigned seed = (unsigned)getpid();

			signal(SIGBUS, on_bus);
			close(fds[0]);
			while (access(stop, F_OK)) {
				seed = seed * 1103515245u + 12345u;
				counts[1] += read_once(key, buf, seed >> 8);
				counts[0]++;
			}
			if (write(fds[1], counts, sizeof(counts)) < 0)
				_exit(2);
			_exit(0);
		}
		close(fds[1]);
		/* collected below, in order */
		if (dup2(fds[0], 100 + p) < 0)
			die("dup2", key);
		close(fds[0]);
	}
	for (p = 0; p < readers; p++) {
		long counts[2] = { 0, 0 };

		if (read(100 + p, counts, sizeof(counts)) != sizeof(counts))
			bad++;
		reads += counts[0];
		bad += (int)counts[1];
	}
	while (wait(&status) > 0)
		;
	printf("reads %s bad %d\n", reads > 0 ? "some" : "none", bad);
	if (getenv("TORNREAD_COUNT"))
		fprintf(stderr, "tornread: %ld reads\n", reads);
	return 0;
}

/* What a descriptor of a key that was renamed over, then of one unlinked,
 * sees. */
static int cmd_desc(const char *dir)
{
	char k[4096], o[4096], buf[64];
	struct stat before, st, other;
	ssize_t n;
	int fd;

	snprintf(k, sizeof(k), "%s/desc", dir);
	snprintf(o, sizeof(o), "%s/desc-new", dir);
	fd = open(k, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "first", 5) != 5 || close(fd))
		die("write", k);
	fd = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "the other one", 13) != 13 || close(fd))
		die("write", o);
	fd = open(k, O_RDONLY);
	if (fd < 0 || fstat(fd, &before))
		die("open", k);
	if (rename(o, k))
		die("rename", o);
	if (stat(k, &other) || fstat(fd, &st))
		die("stat", k);
	n = pread(fd, buf, sizeof(buf), 0);
	printf("renamed over: own inode %s, size %ld, nlink %ld, reads %.*s; "
	       "the name: size %ld\n",
	       st.st_ino == before.st_ino && st.st_ino != other.st_ino
	       ? "yes" : "no", (long)st.st_size, (long)st.st_nlink,
	       (int)(n > 0 ? n : 0), buf, (long)other.st_size);
	close(fd);

	fd = open(k, O_RDWR);
	if (fd < 0 || fstat(fd, &before))
		die("open", k);
	if (unlink(k))
		die("unlink", k);
	if (fstat(fd, &st))
		die("fstat", k);
	printf("unlinked: own inode %s, size %ld, nlink %ld",
	       st.st_ino == before.st_ino ? "yes" : "no", (long)st.st_size,
	       (long)st.st_nlink);
	printf(", ftruncate %s", ftruncate(fd, 4) ? strerror(errno) : "ok");
	printf(", fchmod %s", fchmod(fd, 0600) ? strerror(errno) : "ok");
	if (fstat(fd, &st))
		die("fstat", k);
	n = pread(fd, buf, sizeof(buf), 0);
	printf(", then size %ld mode %o reads %.*s\n", (long)st.st_size,
	       (unsigned)(st.st_mode & 07777), (int)(n > 0 ? n : 0), buf);
	close(fd);
	return 0;
}

/* STATERS processes stat KEY while it is rewritten COUNT times; after each
 * close, and again a moment later, the writer's stat must give the size
 * it wrote. */
static int cmd_stat(const char *key, unsigned long count, int staters)
{
	static char buf[MAXVAL];
	unsigned long i, wrong = 0;
	pid_t pids[16];
	struct stat st;
	int p, fd, k;

	for (p = 0; p < staters && p < 16; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			for (;;)
				stat(key, &st);
		}
	}
	for (i = 1; i <= count; i++) {
		make_value(i, buf);
		fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, value_size(i)) !=
		    (ssize_t)value_size(i) || close(fd))
			die("write", key);
		for (k = 0; k < 2; k++) {
			if (k)
				usleep(i % 500);
			if (stat(key, &st))
				die("stat", key);
			if ((size_t)st.st_size != value_size(i) &&
			    wrong++ < 3)
				fprintf(stderr, "tornread: %s: stat %ld after "
					"writing %zu\n", key,
					(long)st.st_size, value_size(i));
		}
	}
	for (p = 0; p < staters && p < 16; p++) {
		kill(pids[p], SIGKILL);
		waitpid(pids[p], NULL, 0);
	}
	printf("wrong %lu\n", wrong);
	return 0;
}

static int cmd_trunc(const char *key, unsigned long count)
{
	unsigned long i, left = 0;
	char buf[64];
	ssize_t n;
	struct stat st;
	int fd;

	for (i = 0; i < count; i++) {
		fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "old bytes", 9) != 9 || close(fd))
			die("write", key);
		/* a plain close: opened for writing, nothing written */
		fd = open(key, O_WRONLY);
		if (fd < 0 || close(fd))
			die("open", key);
		if (truncate(key, 0))
			die("truncate", key);
		fd = open(key, O_RDONLY);
		if (fd < 0)
			die("open", key);
		n = read(fd, buf, sizeof(buf));
		if (n != 0 || fstat(fd, &st) || st.st_size != 0) {
			if (left++ < 3)
				fprintf(stderr, "tornread: %s: read %zd "
					"bytes, fstat %ld after truncate\n",
					key, n, (long)st.st_size);
		}
		close(fd);
	}
	printf("left %lu\n", left);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "gen"))
		return cmd_gen(strtoul(argv[2], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "read"))
		return cmd_read(argv[2], argv[3], atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "desc"))
		return cmd_desc(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "stat"))
		return cmd_stat(argv[2], strtoul(argv[3], NULL, 10),
				atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "trunc"))
		return cmd_trunc(argv[2], strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: tornread gen I | write KEY COUNT | "
		"read KEY STOP READERS | desc DIR | trunc KEY COUNT\n");
	return 2;
}
