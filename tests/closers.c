/*
 * closers.c - many processes closing keys they rewrote in one directory
 * while another creates keys there (the load that once hung the mount: a
 * flush waited for the directory's lock, which a create held while it
 * waited for a daemon thread), and a check of close-to-open.
 *
 *   closers run DIR N SECS STATE   N processes each rewrite DIR/wI (open
 *                                  O_TRUNC, write, close) for SECS
 *                                  seconds, one creates DIR/c0, c1, ...,
 *                                  all starting at once;
 *                                  STATE gets each key and the round its
 *                                  writer closed last
 *   closers check DIR STATE        every key holds the value of the round
 *                                  STATE gives it, byte for byte, and DIR
 *                                  holds no other key
 *   closers any DIR                every key of DIR holds the value of
 *                                  the round its bytes name, or nothing
 *                                  (as created), after a stop
 *   closers c2o DIR ROUNDS         a writer closes a new value of DIR/c2o
 *                                  and another process at once stats and
 *                                  reads it, holding the value before open
 *
 * run raises its soft limit of processes as far as it needs and may.
 * A value is its key's name and round, then a letter of the round up to a
 * length set by both (so that each close changes the size).  Each command
 * prints "OK ..." and exits 0, or prints what went wrong first and exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VALUE_MAX	4200

static size_t value(const char *name, long round, char *buf)
{
	unsigned long h = 5381;
	const char *p;
	size_t len, n;

	for (p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	len = 16 + (h * 131 + (unsigned long)round * 977) % 4000;
	n = (size_t)snprintf(buf, VALUE_MAX, "%s.%ld:", name, round);
	memset(buf + n, 'a' + (int)(round % 26), len - n);
	return len;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Write name's value of round r through a new descriptor: 0 or errno. */
static int put(const char *dir, const char *name, long r, int flags,
	       const char **op)
{
	char path[4096], buf[VALUE_MAX];
	size_t len = value(name, r, buf);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*op = "open";
	fd = open(path, flags | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	*op = "write";
	if (write(fd, buf, len) != (ssize_t)len) {
		int e = errno ? errno : EIO;

		close(fd);
		return e;
	}
	*op = "close";
	return close(fd) < 0 ? errno : 0;
}

/*
 * One process's loop, from when go is closed until SECS later; its last
 * line goes to out (one write: atomic).
 */
static void closer(const char *dir, int i, double secs, int go, int out)
{
	char name[32], line[128], c;
	const char *op = "";
	long r, last = 0;
	double end;
	int e = 0, n;

	if (read(go, &c, 1) < 0)
		_exit(3);
	end = now() + secs;
	if (i >= 0)
		snprintf(name, sizeof(name), "w%d", i);
	for (r = 1; !e && (r == 1 || now() < end); r++) {
		if (i >= 0) {
			e = put(dir, name, r, O_WRONLY | O_TRUNC, &op);
			if (!e)
				last = r;
		} else {
			snprintf(name, sizeof(name), "c%ld", r - 1);
			e = put(dir, name, 1, O_WRONLY | O_EXCL, &op);
			if (!e)
				last = r;
		}
	}
	if (e)
		n = snprintf(line, sizeof(line), "E %s %s: %s\n",
			     i >= 0 ? name : "creator", op, strerror(e));
	else if (i >= 0)
		n = snprintf(line, sizeof(line), "w %s %ld\n", name, last);
	else
		n = snprintf(line, sizeof(line), "c %ld\n", last);
	if (write(out, line, (size_t)n) != n)
		_exit(3);
	_exit(0);
}

static int run(const char *dir, int nproc, double secs, const char *state)
{
	char buf[65536], *line, *save;
	size_t have = 0;
	long closes = 0, created = -1, errors = 0, failed_close = 0;
	struct rlimit lim;
	FILE *st;
	ssize_t n;
	int fds[2], go[2], i;

	if (getrlimit(RLIMIT_NPROC, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    lim.rlim_cur < (rlim_t)nproc + 256) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NPROC, &lim);
	}
	if (pipe(fds) < 0 || pipe(go) < 0)
		return perror("closers: pipe"), 1;
	for (i = -1; i < nproc; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			printf("E fork %d: %s\n", i, strerror(errno));
			errors++;
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			close(go[1]);
			closer(dir, i, secs, go[0], fds[1]);
		}
	}
	/* all at once */
	close(go[0]);
	close(go[1]);
	close(fds[1]);
	while ((n = read(fds[0], buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	while (wait(NULL) > 0)
		;
	st = fopen(state, "w");
	if (!st)
		return perror("closers: state"), 1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		long r;

		if (sscanf(line, "w %31s %ld", name, &r) == 2) {
			fprintf(st, "%s %ld\n", name, r);
			closes += r;
		} else if (sscanf(line, "c %ld", &r) == 1) {
			for (i = 0; i < r; i++)
				fprintf(st, "c%d 1\n", i);
			created = r;
		} else {
			if (errors++ < 3)
				printf("%s\n", line);
			failed_close += strstr(line, " close: ") != NULL;
		}
	}
	fclose(st);
	if (errors || closes < nproc || created < 1) {
		printf("FAIL %ld errors (%ld in close), %ld closes, %ld "
		       "created\n", errors, failed_close, closes, created);
		return 1;
	}
	printf("OK %ld closes, %ld created\n", closes, created);
	return 0;
}

/* Does path hold name's value of round r (stat and read)?  0 or 1. */
static int holds(const char *path, const char *name, long r, const char *who)
{
	char want[VALUE_MAX], got[VALUE_MAX + 1];
	size_t len = value(name, r, want), have = 0;
	struct stat sb;
	ssize_t n;
	int fd;

	if (stat(path, &sb) < 0)
		return printf("FAIL %s: stat %s: %s\n", who, path,
			      strerror(errno)), 1;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return printf("FAIL %s: open %s: %s\n", who, path,
			      strerror(errno)), 1;
	while (have < sizeof(got) &&
	       (n = read(fd, got + have, sizeof(got) - have)) > 0)
		have += (size_t)n;
	close(fd);
	if ((size_t)sb.st_size == len && have == len && !memcmp(got, want, len))
		return 0;
	got[have < 24 ? have : 24] = '\0';
	printf("FAIL %s: %s: stat %lld, read %zu bytes \"%s...\"; want %zu "
	       "bytes \"%.24s...\"\n", who, path, (long long)sb.st_size, have,
	       got, len, want);
	return 1;
}

static int check(const char *dir, const char *state)
{
	char name[32], path[4096];
	long r, keys = 0, listed = 0;
	struct dirent *e;
	FILE *st = fopen(state, "r");
	DIR *d;

	if (!st)
		return perror("closers: state"), 1;
	while (fscanf(st, "%31s %ld", name, &r) == 2) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (holds(path, name, r, "check"))
			return 1;
		keys++;
	}
	fclose(st);
	d = opendir(dir);
	if (!d)
		return perror("closers: opendir"), 1;
	while ((e = readdir(d)))
		listed += e->d_name[0] != '.';
	closedir(d);
	if (listed != keys)
		return printf("FAIL %ld keys listed, %ld written\n", listed,
			      keys), 1;
	printf("OK %ld keys\n", keys);
	return 0;
}

static int any(const char *dir)
{
	char path[4096], head[64], *dot;
	long keys = 0;
	struct dirent *e;
	struct stat sb;
	ssize_t n;
	DIR *d = opendir(dir);
	int fd;

	if (!d)
		return perror("closers: opendir"), 1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, head, sizeof(head) - 1);
		if (fd >= 0)
			close(fd);
		head[n > 0 ? n : 0] = '\0';
		dot = strchr(head, '.');
		if (n == 0 && stat(path, &sb) == 0 && sb.st_size == 0) {
			keys++;		/* as created */
			continue;
		}
		if (!dot || holds(path, e->d_name, atol(dot + 1), "any"))
			return closedir(d), printf("FAIL %s: \"%.20s\"\n",
						   e->d_name, head), 1;
		keys++;
	}
	closedir(d);
	printf("OK %ld keys\n", keys);
	return 0;
}

/*
 * The reader keeps the previous value open (its node stays in use) and
 * its dentry cached, so that only a dropped dentry leads it to the new
 * value.
 */
static int c2o(const char *dir, long rounds)
{
	char path[4096];
	int to_reader[2], to_writer[2], status;
	const char *op;
	long r, got;
	char ok;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/c2o", dir);
	if (pipe(to_reader) < 0 || pipe(to_writer) < 0)
		return perror("closers: pipe"), 1;
	pid = fork();
	if (pid < 0)
		return perror("closers: fork"), 1;
	if (pid == 0) {
		int held = -1;

		close(to_reader[1]);
		close(to_writer[0]);
		while (read(to_reader[0], &got, sizeof(got)) == sizeof(got)) {
			ok = !holds(path, "c2o", got, "c2o");
			if (held >= 0)
				close(held);
			held = open(path, O_RDONLY);
			if (write(to_writer[1], &ok, 1) != 1 || !ok)
				_exit(1);
		}
		_exit(0);
	}
	close(to_reader[0]);
	close(to_writer[1]);
	for (r = 1; r <= rounds; r++) {
		int e = put(dir, "c2o", r, (r % 2 ? O_WRONLY : O_RDWR) |
			    O_TRUNC, &op);

		if (e) {
			printf("FAIL c2o: %s %s: %s\n", op, path, strerror(e));
			break;
		}
		if (write(to_reader[1], &r, sizeof(r)) != sizeof(r) ||
		    read(to_writer[0], &ok, 1) != 1 || !ok)
			break;
	}
	close(to_reader[1]);
	waitpid(pid, &status, 0);
	if (r <= rounds)
		return 1;
	printf("OK %ld rounds\n", rounds);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && !strcmp(argv[1], "run"))
		return run(argv[2], atoi(argv[3]), atof(argv[4]), argv[5]);
	if (argc == 4 && !strcmp(argv[1], "check"))
		return check(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "any"))
		return any(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "c2o"))
		return c2o(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: closers run DIR N SECS STATE | check DIR STATE"
		" | any DIR | c2o DIR ROUNDS\n");
	return 2;
}
