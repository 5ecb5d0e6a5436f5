/*
 * stressload.c - processes doing random operations on one set of keys,
 * with a model that checks every read (fsstress's mix, written here).
 *
 *   stressload DIR SECS PROCS SEED [MODEL]
 *   stressload check DIR MODEL
 *
 * PROCS processes (0: the directories alone) work SECS seconds on the keys DIR/dD/kK (4 directories
 * of 8 keys that stay) and DIR/eD/kK (4 directories of 4 keys, which the
 * processes also make and remove): writes (a third of them as dd and a
 * shell's > write, through a dup of a descriptor opened O_TRUNC whose
 * original is closed first, some writing nothing), appends, reads
 * through read(2) and through a map sized by fstat, deletes, renames
 * (plain and RENAME_NOREPLACE), stats, listings, metadata set and read,
 * fsyncs.  Beside them the processes of stresstree.c rename directories
 * while making and looking up entries in them.  Then one process reads
 * every key again with nothing else running, and the tree is checked
 * against its model, which is written to MODEL for "stressload check"
 * after a remount.  Prints the counts and "OK", or the first problems
 * (which operation, which key, what was expected and what was found),
 * how many of each kind, and exits 1; a process still working 60 s after
 * SECS is reported as hung.
 *
 * A value is a run of blocks, each written whole by one write or append
 * operation: a header (magic, length, the operation's number) and bytes
 * that are a function of that number, so that a torn, mixed or foreign
 * value shows.  Every operation is recorded in shared memory before it
 * starts and when it ends, with stamps of one clock shared by all the
 * processes.  A read that started at r0 and ended at r1 may see a value
 * (or no value) made by an operation C that started before r1, unless
 * another operation on that key started after C ended and ended before
 * r0: then what the read saw was already replaced when it began.  It may
 * see an empty value only if one was written, or a writer that made the
 * key by its open was running: a truncation by O_TRUNC shows with the
 * opener's content, also when the opener closed a duplicate first.  One
 * descriptor gives one value: its fstat (before and after the reads,
 * inode and size), its reads and its map agree, with no SIGBUS.
 */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

struct shared *sh;
const char *root;
static unsigned char *rbuf, *rbuf2, *wbuf;
double started;

static const char *count_names[] = { "reads", "mapped reads",
	"absent reads", "writes", "writes through a dup",
	"empty writes through a dup", "appends", "deletes", "renames",
	"stats", "listings", "metadata sets", "metadata reads",
	"mkdir/rmdir", "fsyncs", "bytes verified" };

/* ---- the operations ---- */

static bool allowed(int err, int e1, int e2)
{
	return err == e1 || err == e2;
}

static void unexpected(const char *what, int k, int err)
{
	char p[512];

	key_path(p, sizeof(p), k);
	problem("%s %s: %s", what, p, strerror(err));
}

/* Open k for reading; 0 when it is absent (and that was checked). */
static int open_to_read(int k, const char *p, uint64_t r0)
{
	const char *why;
	uint64_t r1;
	int fd = open(p, O_RDONLY);

	if (fd >= 0)
		return fd;
	r1 = stamp();
	if (errno != ENOENT) {
		unexpected("open", k, errno);
		return -1;
	}
	if ((why = check_absent(k, r0, r1))) {
		snprintf(detail, sizeof(detail), " (read %llu..%llu)",
			 (unsigned long long)r0, (unsigned long long)r1);
		describe_last(detail, sizeof(detail), k, r1, 4);
		problem("read %s: %s%s", p, why, detail);
	}
	count(C_ABSENT, 1);
	return -1;
}

/* Read k; what the descriptor reads and its fstat say one value. */
static void do_read(int k)
{
	char p[512], ops[512];
	uint64_t r0, r1;
	const char *why;
	struct stat st, st2;
	size_t n = 0;
	ssize_t got = 0;
	int fd;

	key_path(p, sizeof(p), k);
	r0 = stamp();
	if ((fd = open_to_read(k, p, r0)) < 0)
		return;
	if (fstat(fd, &st) < 0) {
		unexpected("fstat", k, errno);
		st.st_size = -1;
	}
	while (n < VBUF && (got = read(fd, rbuf + n, VBUF - n)) > 0)
		n += (size_t)got;
	if (got < 0)
		unexpected("read", k, errno);
	/* the open file keeps its own inode and size, whatever its key
	 * went through meanwhile (held open a little longer, now and then,
	 * for a rename over it or a delete to come) */
	if (rand() % 4 == 0)
		usleep(2000);
	if (fstat(fd, &st2) < 0)
		problem("read %s: fstat after the reads: %s (the first gave "
			"inode %llu)", p, strerror(errno),
			(unsigned long long)st.st_ino);
	else if (st.st_size >= 0 && (st2.st_ino != st.st_ino ||
				     st2.st_size != st.st_size))
		problem("read %s: fstat of one descriptor gave inode %llu "
			"size %lld, then inode %llu size %lld", p,
			(unsigned long long)st.st_ino, (long long)st.st_size,
			(unsigned long long)st2.st_ino,
			(long long)st2.st_size);
	close(fd);
	r1 = stamp();
	if (got >= 0 && (why = check_value(k, rbuf, n, r0, r1)))
		problem("read %s: %zu bytes: %s%s", p, n, why, detail);
	else if (got >= 0 && st.st_size >= 0 && (size_t)st.st_size != n)
		problem("read %s: fstat of the reader's descriptor gives %lld "
			"bytes, its reads %zu%s", p, (long long)st.st_size, n,
			value_ops(ops, sizeof(ops), rbuf, n));
	count(C_READ, 1);
}

static sigjmp_buf bus_env;
static volatile sig_atomic_t in_map;

static void on_sigbus(int sig)
{
	if (in_map)
		siglongjmp(bus_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Copy a map of size bytes to out; false on a SIGBUS, *done the bytes
 * copied before it. */
static bool copy_map(unsigned char *out, const unsigned char *map,
		     size_t size, volatile size_t *done)
{
	if (sigsetjmp(bus_env, 1)) {
		in_map = 0;
		return false;
	}
	in_map = 1;
	while (*done < size) {
		size_t c = size - *done < 4096 ? size - *done : 4096;

		memcpy(out + *done, map + *done, c);
		*done += c;
	}
	in_map = 0;
	return true;
}

/*
 * Read k through a map sized by fstat (shared, or private where kvfs
 * reads around the page cache), then through read(2) on the same
 * descriptor: no SIGBUS, both the same bytes, and those a value the
 * model allows.
 */
static void do_map_read(int k)
{
	char p[512], ops[512], ops2[512];
	volatile size_t done = 0;
	uint64_t r0, r1;
	const char *why;
	unsigned char *map;
	struct stat st;
	size_t size, n = 0;
	ssize_t got = 0;
	int fd;

	key_path(p, sizeof(p), k);
	r0 = stamp();
	if ((fd = open_to_read(k, p, r0)) < 0)
		return;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > VBUF) {
		unexpected("fstat", k, errno);
		close(fd);
		return;
	}
	size = (size_t)st.st_size;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED && errno == ENODEV)
			map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			unexpected("mmap", k, errno);
			close(fd);
			return;
		}
		if (!copy_map(rbuf, map, size, &done)) {
			problem("mapped read %s: SIGBUS at byte %zu of the %zu "
				"that fstat gave%s", p, done, size,
				value_ops(ops, sizeof(ops), rbuf, done));
			munmap(map, size);
			close(fd);
			return;
		}
		munmap(map, size);
	}
	while (n < VBUF &&
	       (got = pread(fd, rbuf2 + n, VBUF - n, (off_t)n)) > 0)
		n += (size_t)got;
	if (got < 0)
		unexpected("read after mmap", k, errno);
	close(fd);
	r1 = stamp();
	if ((why = check_value(k, rbuf, size, r0, r1)))
		problem("mapped read %s: %zu bytes (fstat): %s%s", p, size,
			why, detail);
	else if (got >= 0 && (n != size || memcmp(rbuf, rbuf2, n)))
		problem("mapped read %s: the map of %zu bytes (fstat) and the "
			"%zu bytes read(2) gives on one descriptor differ; "
			"map:%s read:%s", p, size, n,
			value_ops(ops, sizeof(ops), rbuf, size),
			value_ops(ops2, sizeof(ops2), rbuf2, n));
	count(C_MAP_READ, 1);
}

static size_t value_size(void)
{
	int r = rand() % 100;

	if (r < 80)
		return 17 + (size_t)(rand() % 2000);
	if (r < 96)
		return 2048 + (size_t)(rand() % 62000);
	return 140000 + (size_t)(rand() % 260000);	/* staged in a file */
}

/*
 * Write k (a new value, or an append): one open, writes in chunks,
 * sometimes an fsync, one close; or, as dd and a shell's > do, an open
 * with O_TRUNC, a dup, a close of the original and the writes through the
 * duplicate, sometimes none (an empty value).
 */
static void do_write(int k, bool append)
{
	char p[512];
	size_t len = append ? 17 + (size_t)(rand() % 3000) : value_size();
	size_t off = 0;
	uint32_t id;
	int fd, err = 0, flags = 0;
	struct stat st;

	if (!append && rand() % 3 == 0)
		flags = rand() % 20 ? F_DUP : F_DUP | F_EMPTY;
	if (flags & F_EMPTY)
		len = 0;

	key_path(p, sizeof(p), k);
	if (append && stat(p, &st) == 0 && st.st_size > (1 << 20))
		append = false;	/* keep values small enough to check */
	id = op_begin(append ? K_APPEND : K_WRITE, k, 0, flags);
	if (!id)
		return;
	if (len)
		make_block(wbuf, len, id);
	fd = open(p, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
		  0644);
	if (fd < 0) {
		err = errno;
		op_end(id, false);
		if (!(err == ENOENT && in_edir(k)))
			unexpected("open for writing", k, err);
		return;
	}
	__atomic_store_n(&sh->ops[id].opened, stamp(), __ATOMIC_SEQ_CST);
	if (flags & F_DUP) {
		int d = dup(fd);

		if (d < 0 || close(fd) < 0)
			err = errno;
		fd = d < 0 ? fd : d;
	}
	while (off < len && !err) {
		size_t chunk = 1 + rand() % 65536;
		ssize_t w = write(fd, wbuf + off,
				  chunk < len - off ? chunk : len - off);

		if (w < 0)
			err = errno;
		else
			off += (size_t)w;
	}
	if (!err && rand() % 50 == 0) {
		if (fsync(fd) < 0)
			err = errno;
		count(C_FSYNC, 1);
	}
	/* the descriptor keeps its file, also if the key was deleted or
	 * renamed over meanwhile */
	if (!err && rand() % 10 == 0 && fchmod(fd, 0644) < 0)
		problem("fchmod of the writer of %s (op %u): %s", p, id,
			strerror(errno));
	if (close(fd) < 0 && !err)
		err = errno;
	op_end(id, !err);
	if (err)
		unexpected(append ? "append" : "write", k, err);
	count(append ? C_APPEND : flags & F_EMPTY ? C_EMPTY_WRITE :
	      flags & F_DUP ? C_DUP_WRITE : C_WRITE, 1);
}

static void do_unlink(int k)
{
	char p[512];
	uint32_t id = op_begin(K_UNLINK, k, 0, 0);
	int rc;

	if (!id)
		return;
	key_path(p, sizeof(p), k);
	rc = unlink(p);
	op_end(id, rc == 0);
	if (rc < 0 && errno != ENOENT)
		unexpected("unlink", k, errno);
	count(C_UNLINK, 1);
}

static void do_rename(int a, int b, bool noreplace)
{
	char p[512], q[512];
	uint32_t id;
	int rc;

	if (a == b)
		return;
	key_path(p, sizeof(p), a);
	key_path(q, sizeof(q), b);
	if (!(id = op_begin(K_RENAME, a, b, 0)))
		return;
	rc = renameat2(AT_FDCWD, p, AT_FDCWD, q,
		       noreplace ? RENAME_NOREPLACE : 0);
	op_end(id, rc == 0);
	if (rc < 0 && !allowed(errno, ENOENT, noreplace ? EEXIST : ENOENT))
		unexpected("rename", a, errno);
	count(C_RENAME, 1);
}

static void do_stat(int k)
{
	char p[512];
	struct stat st;

	key_path(p, sizeof(p), k);
	if (stat(p, &st) < 0) {
		if (errno != ENOENT)
			unexpected("stat", k, errno);
	} else if (!S_ISREG(st.st_mode)) {
		problem("stat %s: not a regular file", p);
	}
	count(C_STAT, 1);
}

static void do_list(int d)
{
	char p[512];
	struct dirent *e;
	DIR *dir;
	int max = d < NDDIRS ? DKEYS : EKEYS;

	snprintf(p, sizeof(p), "%s/%c%d", root, d < NDDIRS ? 'd' : 'e',
		 d % NDDIRS);
	if (!(dir = opendir(p))) {
		if (!(errno == ENOENT && d >= NDDIRS))
			problem("opendir %s: %s", p, strerror(errno));
		return;
	}
	while ((e = readdir(dir))) {
		int i;
		char tail;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (sscanf(e->d_name, "k%d%c", &i, &tail) != 1 || i < 0 ||
		    i >= max)
			problem("%s lists \"%s\", which no one made", p,
				e->d_name);
	}
	closedir(dir);
	count(C_LIST, 1);
}

static void do_meta_set(int k)
{
	char p[512], json[32];
	uint32_t id = op_begin(K_META, k, 0, 0);
	int rc;

	if (!id)
		return;
	key_path(p, sizeof(p), k);
	snprintf(json, sizeof(json), "{\"op\":%u}", id);
	rc = setxattr(p, META, json, strlen(json), 0);
	op_end(id, rc == 0);
	if (rc < 0 && errno != ENOENT)
		unexpected("setxattr", k, errno);
	count(C_META_SET, 1);
}

static void do_meta_get(int k)
{
	char p[512], json[64];
	uint64_t r1;
	ssize_t n;
	unsigned id;
	int end = 0;

	key_path(p, sizeof(p), k);
	n = getxattr(p, META, json, sizeof(json) - 1);
	r1 = stamp();
	if (n < 0) {
		if (!allowed(errno, ENOENT, ENODATA))
			unexpected("getxattr", k, errno);
		return;
	}
	json[n] = '\0';
	if (sscanf(json, "{\"op\":%u}%n", &id, &end) != 1 || end != n ||
	    !id || id >= MAXOPS || sh->ops[id].kind != K_META ||
	    sh->ops[id].start > r1)
		problem("getxattr %s: \"%s\", which no one set", p, json);
	count(C_META_GET, 1);
}

static void do_dir(int d)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/e%d", root, d);
	if (rand() % 2) {
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			problem("mkdir %s: %s", p, strerror(errno));
	} else if (rmdir(p) < 0 && !allowed(errno, ENOENT, ENOTEMPTY)) {
		problem("rmdir %s: %s", p, strerror(errno));
	}
	count(C_DIR, 1);
}

static void one_op(void)
{
	int r = rand() % 100, k = rand() % NK;

	if (r < 20)
		do_read(k);
	else if (r < 28)
		do_map_read(k);
	else if (r < 44)
		do_write(k, false);
	else if (r < 54)
		do_write(k, true);
	else if (r < 61)
		do_unlink(k);
	else if (r < 69)
		do_rename(k, rand() % NK, false);
	else if (r < 72)
		do_rename(k, rand() % NK, true);
	else if (r < 80)
		do_stat(k);
	else if (r < 84)
		do_list(rand() % (NDDIRS + NEDIRS));
	else if (r < 90)
		do_meta_set(k);
	else if (r < 97)
		do_meta_get(k);
	else
		do_dir(rand() % NEDIRS);
}

static int worker(unsigned seed, double until)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	sigaction(SIGBUS, &sa, NULL);
	srand(seed);
	while (now() < until && !sh->full)
		one_op();
	return 0;
}

static int setup(void)
{
	char p[512];
	int d;

	for (d = 0; d < NDDIRS + NEDIRS; d++) {
		snprintf(p, sizeof(p), "%s/%c%d", root, d < NDDIRS ? 'd' : 'e',
			 d % NDDIRS);
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			perror(p);
			return -1;
		}
	}
	return 0;
}

/* Wait for the workers; report any still running 60 s after the end. */
static int reap(pid_t *pids, int n, double until)
{
	int left = n, i, status, rc = 0;

	while (left) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				problem("worker %d ended with status 0x%x",
					(int)pid, status);
			for (i = 0; i < n; i++)
				if (pids[i] == pid)
					pids[i] = 0;
			continue;
		}
		if (now() > until + 60) {
			for (i = 0; i < n; i++)
				if (pids[i]) {
					problem("worker %d hung", (int)pids[i]);
					kill(pids[i], SIGKILL);
				}
			rc = -1;
			break;
		}
		usleep(20000);
	}
	return rc;
}

/* How many problems of each kind (the start of its message). */
static void print_kinds(void)
{
	int i;

	printf("%llu problems:\n", (unsigned long long)sh->problems);
	for (i = 0; i < 64 && sh->kinds[i]; i++)
		printf("  %u of \"%.50s\"\n", sh->kind_n[i],
		       (const char *)sh->kinds[i]);
	printf("PROBLEMS\n");
}

static void *shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	double secs, until;
	int procs, nproc, i, k;
	unsigned seed;
	pid_t *pids;

	started = now();
	if (argc == 4 && !strcmp(argv[1], "check")) {
		/* after a remount: the tree as the model file says */
		root = argv[2];
		if (!(sh = shared_map(sizeof(*sh))))
			return 2;
		tree_check_file(argv[3]);
		if (sh->problems)
			print_kinds();
		else
			printf("OK\n");
		return sh->problems ? 1 : 0;
	}
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: stressload DIR SECS PROCS SEED [MODEL]\n"
			"       stressload check DIR MODEL\n");
		return 2;
	}
	root = argv[1];
	secs = atof(argv[2]);
	procs = atoi(argv[3]);
	seed = (unsigned)strtoul(argv[4], NULL, 10);
	nproc = procs + 2 + TREE_CREATORS;
	sh = shared_map(sizeof(*sh));
	rbuf = malloc(VBUF);
	rbuf2 = malloc(VBUF);
	wbuf = malloc(VBUF);
	pids = calloc((size_t)nproc, sizeof(*pids));
	if (!sh || !rbuf || !rbuf2 || !wbuf || !pids || procs < 0 ||
	    setup() < 0 || tree_init() < 0)
		return 2;
	until = now() + secs;
	for (i = 0; i < nproc; i++) {
		unsigned s = seed * 1000 + (unsigned)i;

		if ((pids[i] = fork()) < 0)
			return 2;
		if (pids[i] == 0)
			_exit(i < procs ? worker(s, until) :
			      i == procs ? tree_renamer(s, until) :
			      i == procs + 1 ? tree_forgetter(until) :
			      tree_worker(i - procs - 2, s, until));
	}
	if (reap(pids, nproc, until) == 0) {
		for (k = 0; k < NK && procs; k++)	/* alone now: all current */
			do_read(k);
		tree_check(argc == 6 ? argv[5] : NULL);
	}
	if (sh->full)
		printf("the record filled: stopped early\n");
	printf("%u operations:", sh->nops);
	for (i = 0; i <= C_VERIFIED; i++)
		printf("%s %llu %s", i ? "," : "",
		       (unsigned long long)sh->counts[i], count_names[i]);
	printf("\n");
	tree_counts();
	if (sh->problems)
		print_kinds();
	else
		printf("OK\n");
	fflush(stdout);
	free(pids);
	free(rbuf);
	free(rbuf2);
	free(wbuf);
	return sh->problems ? 1 : 0;
}
