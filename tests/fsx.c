/*
 * fsx.c - a random-operation checker of one file, after xfstests' fsx.
 *
 *   fsx [-n OPS] [-S SEED] [-l MAXLEN] [-o MAXOP] [-p EVERY] FILE
 *
 * Keeps a model of the file's bytes and size and applies to the file and
 * the model the same random operations: writes at any offset (holes
 * included), reads, truncations up and down, reads and writes through a
 * shared mapping, fsync, and closing and opening again, O_RDWR or
 * O_WRONLY.  After every operation the size is checked by fstat and by
 * lseek(SEEK_END) on the open descriptor (a writer sees its own writes);
 * reads compare bytes with the model, and every reopen first checks the
 * committed file whole through a new read-only descriptor, by read and by
 * mmap.  File sizes reach MAXLEN (4 MiB), operations MAXOP (1 MiB).
 * On the first difference it prints the last operations and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HISTORY	32

enum op { OP_WRITE, OP_READ, OP_MAPREAD, OP_MAPWRITE, OP_TRUNCATE,
	  OP_FSYNC, OP_REOPEN, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
	"write", "read", "mapread", "mapwrite", "truncate", "fsync", "reopen"
};

/* How often each is drawn, out of the sum. */
static const unsigned op_weights[OP_COUNT] = { 30, 15, 10, 10, 15, 4, 6 };

struct logent {
	uint64_t n;
	enum op op;
	uint64_t off, len, size;	/* size: the model's after it */
	int mode;
};

static const char *path;
static unsigned char *good, *buf;
static uint64_t size, maxlen = 4u << 20, maxop = 1u << 20;
static int fd = -1, mode;
static long pagesize;
static uint64_t opno;
static struct logent history[HISTORY];
static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: the same run for the same seed anywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void log_op(enum op op, uint64_t off, uint64_t len)
{
	struct logent *e = &history[opno % HISTORY];

	e->n = opno;
	e->op = op;
	e->off = off;
	e->len = len;
	e->size = size;
	e->mode = mode;
}

static void dump_history(void)
{
	uint64_t i = opno >= HISTORY ? opno - HISTORY + 1 : 0;

	fprintf(stderr, "fsx: the last operations (size after each):\n");
	for (; i <= opno; i++) {
		struct logent *e = &history[i % HISTORY];

		if (e->n != i || !i)
			continue;
		fprintf(stderr, "  %8" PRIu64 " %-8s %s off %" PRIu64
			" len %" PRIu64 " size %" PRIu64 "\n",
			e->n, op_names[e->op],
			e->mode == O_RDWR ? "rdwr" : "wronly",
			e->off, e->len, e->size);
	}
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fsx: %s: operation %" PRIu64 ": ", path, opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_history();
	exit(1);
}

static void check_bytes(const unsigned char *got, uint64_t off, uint64_t len,
			const char *how)
{
	uint64_t i;

	for (i = 0; i < len; i++) {
		if (got[i] != good[off + i])
			fail("%s: byte %" PRIu64 " is 0x%02x, want 0x%02x "
			     "(%" PRIu64 " bytes at %" PRIu64 ")", how,
			     off + i, got[i], good[off + i], len, off);
	}
}

static void check_size(void)
{
	struct stat st;
	off_t end;

	if (fstat(fd, &st) < 0)
		fail("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != size)
		fail("fstat size %jd, want %" PRIu64, (intmax_t)st.st_size,
		     size);
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		fail("lseek SEEK_END: %s", strerror(errno));
	if ((uint64_t)end != size)
		fail("lseek SEEK_END %jd, want %" PRIu64, (intmax_t)end, size);
}

static void full_pread(int f, unsigned char *p, uint64_t len, uint64_t off,
		       const char *how)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(f, p + done, len - done,
				  (off_t)(off + done));

		if (n < 0)
			fail("%s: pread: %s", how, strerror(errno));
		if (n == 0)
			fail("%s: pread: end of file at %" PRIu64 ", want %"
			     PRIu64, how, off + done, off + len);
		done += (uint64_t)n;
	}
}

static void full_pwrite(const unsigned char *p, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done,
				   (off_t)(off + done));

		if (n < 0)
			fail("pwrite %" PRIu64 " at %" PRIu64 ": %s", len, off,
			     strerror(errno));
		done += (uint64_t)n;
	}
}

/* The committed file, whole, through a new read-only descriptor. */
static void check_committed(void)
{
	struct stat st;
	unsigned char tail;
	void *map;
	int r = open(path, O_RDONLY);

	if (r < 0)
		fail("open O_RDONLY: %s", strerror(errno));
	if (fstat(r, &st) < 0)
		fail("reader fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != size)
		fail("committed size %jd, want %" PRIu64,
		     (intmax_t)st.st_size, size);
	full_pread(r, buf, size, 0, "committed read");
	check_bytes(buf, 0, size, "committed read");
	if (pread(r, &tail, 1, (off_t)size) != 0)
		fail("committed read: bytes past %" PRIu64, size);
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, r, 0);
		if (map == MAP_FAILED && errno == ENODEV)
			map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, r, 0);
		if (map == MAP_FAILED)
			fail("committed mmap: %s", strerror(errno));
		check_bytes(map, 0, size, "committed mmap");
		munmap(map, size);
	}
	close(r);
}

static void do_open(int flags)
{
	fd = open(path, flags, 0644);
	if (fd < 0)
		fail("open: %s", strerror(errno));
	mode = flags & O_ACCMODE;
}

static void op_write(void)
{
	uint64_t off = rnd_below(maxlen), len = 1 + rnd_below(maxop), i;

	if (off + len > maxlen)
		len = maxlen - off;
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(rnd() >> 32);
	if (off > size)
		memset(good + size, 0, off - size);	/* a hole */
	memcpy(good + off, buf, len);
	if (off + len > size)
		size = off + len;
	log_op(OP_WRITE, off, len);
	full_pwrite(buf, len, off);
}

static void op_read(void)
{
	uint64_t off, len;

	if (!size)
		return log_op(OP_READ, 0, 0);
	off = rnd_below(size);
	len = 1 + rnd_below(maxop);
	if (off + len > size)
		len = size - off;
	log_op(OP_READ, off, len);
	full_pread(fd, buf, len, off, "read");
	check_bytes(buf, off, len, "read");
}

static void op_mapread(void)
{
	uint64_t off, len, pg;
	unsigned char *map;

	if (!size)
		return log_op(OP_MAPREAD, 0, 0);
	off = rnd_below(size);
	len = 1 + rnd_below(maxop);
	if (off + len > size)
		len = size - off;
	log_op(OP_MAPREAD, off, len);
	pg = off & ~(uint64_t)(pagesize - 1);
	map = mmap(NULL, off + len - pg, PROT_READ, MAP_SHARED, fd, (off_t)pg);
	if (map == MAP_FAILED)
		fail("mapread: mmap: %s", strerror(errno));
	check_bytes(map + (off - pg), off, len, "mapread");
	munmap(map, off + len - pg);
}

static void op_mapwrite(void)
{
	uint64_t off = rnd_below(maxlen), len = 1 + rnd_below(maxop), pg, i;
	unsigned char *map;

	if (off + len > maxlen)
		len = maxlen - off;
	if (off + len > size) {
		/* a mapping cannot grow a file: extend it first, as fsx */
		if (ftruncate(fd, (off_t)(off + len)) < 0)
			fail("mapwrite: ftruncate: %s", strerror(errno));
		memset(good + size, 0, off + len - size);
		size = off + len;
	}
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(rnd() >> 32);
	memcpy(good + off, buf, len);
	log_op(OP_MAPWRITE, off, len);
	pg = off & ~(uint64_t)(pagesize - 1);
	map = mmap(NULL, off + len - pg, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, (off_t)pg);
	if (map == MAP_FAILED)
		fail("mapwrite: mmap: %s", strerror(errno));
	memcpy(map + (off - pg), buf, len);
	if (msync(map, off + len - pg, MS_SYNC) < 0)
		fail("mapwrite: msync: %s", strerror(errno));
	munmap(map, off + len - pg);
}

static void op_truncate(void)
{
	uint64_t to = rnd_below(maxlen + 1);

	if (to > size)
		memset(good + size, 0, to - size);
	size = to;
	log_op(OP_TRUNCATE, 0, to);
	if (ftruncate(fd, (off_t)to) < 0)
		fail("ftruncate %" PRIu64 ": %s", to, strerror(errno));
}

static void op_fsync(void)
{
	log_op(OP_FSYNC, 0, 0);
	if (fsync(fd) < 0)
		fail("fsync: %s", strerror(errno));
}

static void op_reopen(void)
{
	int flags = rnd_below(2) ? O_RDWR : O_WRONLY;

	log_op(OP_REOPEN, 0, 0);
	if (close(fd) < 0)
		fail("close: %s", strerror(errno));
	fd = -1;
	check_committed();
	do_open(flags);
	history[opno % HISTORY].mode = mode;
}

static enum op draw(void)
{
	unsigned total = 0, r, i;

	for (i = 0; i < OP_COUNT; i++)
		total += op_weights[i];
	for (;;) {
		r = (unsigned)rnd_below(total);
		for (i = 0; r >= op_weights[i]; i++)
			r -= op_weights[i];
		/* a write-only descriptor cannot be read or mapped */
		if (mode == O_WRONLY && (i == OP_READ || i == OP_MAPREAD ||
					 i == OP_MAPWRITE))
			continue;
		return (enum op)i;
	}
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || !v) {
		fprintf(stderr, "fsx: bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t ops = 10000, every = 0, seed = (uint64_t)time(NULL) ^
					      ((uint64_t)getpid() << 32);
	int c;

	while ((c = getopt(argc, argv, "n:S:l:o:p:")) != -1) {
		switch (c) {
		case 'n': ops = strtoull(optarg, NULL, 10); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 'l': maxlen = parse_size(optarg); break;
		case 'o': maxop = parse_size(optarg); break;
		case 'p': every = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: fsx [-n OPS] [-S SEED] "
				"[-l MAXLEN] [-o MAXOP] [-p EVERY] FILE\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "fsx: one FILE expected\n");
		return 2;
	}
	path = argv[optind];
	if (maxop > maxlen)
		maxop = maxlen;
	rng_state = seed ? seed : 1;
	pagesize = sysconf(_SC_PAGESIZE);
	good = calloc(1, maxlen);
	buf = malloc(maxlen);
	if (!good || !buf) {
		fprintf(stderr, "fsx: out of memory\n");
		return 1;
	}
	printf("fsx: %s: seed %" PRIu64 ", %" PRIu64 " operations, "
	       "sizes to %" PRIu64 ", operations to %" PRIu64 "\n",
	       path, seed, ops, maxlen, maxop);
	fflush(stdout);
	do_open(O_RDWR | O_CREAT | O_TRUNC);
	check_size();
	for (opno = 1; opno <= ops; opno++) {
		switch (draw()) {
		case OP_WRITE: op_write(); break;
		case OP_READ: op_read(); break;
		case OP_MAPREAD: op_mapread(); break;
		case OP_MAPWRITE: op_mapwrite(); break;
		case OP_TRUNCATE: op_truncate(); break;
		case OP_FSYNC: op_fsync(); break;
		case OP_REOPEN: op_reopen(); break;
		default: break;
		}
		check_size();
		if (every && opno % every == 0) {
			printf("fsx: %" PRIu64 " operations\n", opno);
			fflush(stdout);
		}
	}
	opno--;
	if (close(fd) < 0)
		fail("close: %s", strerror(errno));
	check_committed();
	printf("fsx: %" PRIu64 " operations clean\n", ops);
	return 0;
}
