/*
 * bigread.c - reads of large values checked byte for byte against the
 * pattern they were written with: at many offsets and sizes, through the
 * page cache, O_DIRECT and mmap, and by a reader that holds a value while
 * the key is replaced.
 *
 *   bigread write FILE SIZE SEED   write pattern SEED, SIZE bytes, in
 *                                  writes of 1 MiB
 *   bigread check FILE SIZE SEED   read FILE and compare: whole, in
 *                                  reads of 1 MiB and of odd sizes; by
 *                                  O_DIRECT preads at and across every
 *                                  chunk's edges, near the end, past it
 *                                  and at random places (each READ then
 *                                  has that offset and size); by preads
 *                                  of the page cache after dropping the
 *                                  file's pages (READs of odd sizes at
 *                                  page offsets); and through mmap
 *   bigread rw FILE SIZE SEED      open FILE for reading and writing,
 *                                  write 200 'Z's across the first
 *                                  chunk edge, read them back from that
 *                                  descriptor (O_DIRECT), close, check
 *   bigread hold FILE SIZE SEED READY GO
 *                                  open FILE, read its first MiB, create
 *                                  READY, wait until GO exists, then
 *                                  read all of it from that descriptor
 *                                  (preads and mmap) and compare
 *
 * Every read must return exactly min(asked, SIZE - offset) bytes and the
 * pattern's bytes; fstat must give SIZE.  Prints "ok", or the first
 * difference on stderr and exits 1.  The chunk size of a store with 4 KiB
 * pages is 262128 bytes (64 pages less the page header): the edges are
 * taken from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK	262128ull
#define MIB	(1ull << 20)
#define BUFMAX	(2 * MIB)

static uint64_t size, seed;
static const char *file;
static char *buf;
static sigjmp_buf bus_jmp;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* rw: bytes written as 'Z' over the pattern */
static uint64_t zoff, zlen;

/* The pattern's byte at offset o. */
static unsigned char pat(uint64_t o)
{
	if (o - zoff < zlen)
		return 'Z';
	return (unsigned char)(mix((o >> 3) ^ (seed << 40)) >> ((o & 7) * 8));
}

static void fill(unsigned char *p, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pat(off + i);
}

static void die(const char *what)
{
	fprintf(stderr, "bigread: %s %s: %s\n", what, file, strerror(errno));
	exit(1);
}

/* Compare n bytes read at off; how says which read. */
static void same(const unsigned char *p, uint64_t off, size_t n,
		 const char *how)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pat(off + i)) {
			fprintf(stderr, "bigread: %s: byte %" PRIu64 " of %s "
				"is %02x, not %02x\n", how, off + i, file,
				p[i], pat(off + i));
			exit(1);
		}
}

/* pread exactly what is there of [off, off + len) and compare. */
static void check_at(int fd, uint64_t off, size_t len, const char *how)
{
	size_t want = off >= size ? 0 : (len < size - off ? len : size - off);
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0)
		die(how);
	if ((size_t)n != want) {
		fprintf(stderr, "bigread: %s: %zu bytes at %" PRIu64 " of %s "
			"gave %zd, not %zu\n", how, len, off, file, n, want);
		exit(1);
	}
	same((unsigned char *)buf, off, want, how);
}

static void check_size(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		die("fstat");
	if ((uint64_t)sb.st_size != size) {
		fprintf(stderr, "bigread: %s has size %jd, not %" PRIu64 "\n",
			file, (intmax_t)sb.st_size, size);
		exit(1);
	}
}

/* Read all of fd from the start in reads of bs bytes. */
static void check_stream(int fd, size_t bs, const char *how)
{
	uint64_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, bs, (off_t)off)) > 0) {
		same((unsigned char *)buf, off, (size_t)n, how);
		off += (uint64_t)n;
	}
	if (n < 0)
		die(how);
	if (off != size) {
		fprintf(stderr, "bigread: %s: %" PRIu64 " bytes of %s, not %"
			PRIu64 "\n", how, off, file, size);
		exit(1);
	}
}

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static void check_mmap(int fd)
{
	volatile uint64_t at = 0;
	unsigned char *m;

	if (!size)
		return;
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	signal(SIGBUS, on_bus);
	if (sigsetjmp(bus_jmp, 1)) {
		fprintf(stderr, "bigread: mapped read of %s: SIGBUS at byte "
			"%" PRIu64 "\n", file, (uint64_t)at);
		exit(1);
	}
	for (at = 0; at < size; at += 4096) {
		size_t n = size - at < 4096 ? size - at : 4096;

		same(m + at, at, n, "mapped read");
	}
	signal(SIGBUS, SIG_DFL);
	munmap(m, size);
}

/* The reads at and across the chunks' edges, and near the end. */
static void check_edges(int fd, const char *how)
{
	static const long deltas[] = { -4097, -17, -16, -1, 0, 1, 15, 16,
				       4095, 4096 };
	static const size_t lens[] = { 1, 17, 4096, 65539, 131072, 262128,
				       300000, 524288, 524289, 1048576 };
	uint64_t n = size / CHUNK, ks[] = { 0, 1, 2, 3, n / 2, n - 1, n,
					     n + 1 }, edge;
	size_t d, l, k;

	for (k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
		/* the first four are taken already; n - 1 of n = 0 is none */
		if (ks[k] > n + 1 || (k >= 4 && ks[k] <= 3))
			continue;
		edge = ks[k] * CHUNK;
		for (d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
			long long at = (long long)edge + deltas[d];

			if (at < 0)
				continue;
			for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
				check_at(fd, (uint64_t)at, lens[l], how);
		}
	}
	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		if (lens[l] <= size)
			check_at(fd, size - lens[l], lens[l], how);
		if (lens[l] < size)
			check_at(fd, size - lens[l], 2 * lens[l], how);
		check_at(fd, size, lens[l], how);
	}
}

static void check_random(int fd, int count, bool pages, const char *how)
{
	int i;

	for (i = 0; i < count; i++) {
		uint64_t r = mix(seed * 1000 + (uint64_t)i);
		uint64_t off = size ? r % (size + 1) : 0;
		size_t len = 1 + (size_t)((r >> 32) % BUFMAX);

		if (pages) {
			/* only the pages asked for: READs of this size */
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
		}
		check_at(fd, off, len, how);
	}
}

static int check(void)
{
	int fd = open(file, O_RDONLY), dfd;

	if (fd < 0)
		die("open");
	check_size(fd);
	check_stream(fd, MIB, "1 MiB reads");
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	check_stream(fd, 100003, "reads of 100003 bytes");
	check_mmap(fd);
	check_random(fd, 40, true, "page cache reads");
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	dfd = open(file, O_RDONLY | O_DIRECT);
	if (dfd < 0)
		die("open O_DIRECT");
	check_edges(dfd, "O_DIRECT reads");
	check_random(dfd, 200, false, "O_DIRECT reads");
	check_stream(dfd, 524288, "O_DIRECT 512 KiB reads");
	close(dfd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	check_edges(fd, "reads");
	close(fd);
	return 0;
}

static int write_file(void)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t off;

	if (fd < 0)
		die("open");
	for (off = 0; off < size; off += MIB) {
		size_t n = size - off < MIB ? size - off : MIB;

		fill((unsigned char *)buf, off, n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			die("write");
	}
	if (close(fd) < 0)
		die("close");
	return 0;
}

static int hold(const char *ready, const char *go)
{
	int fd = open(file, O_RDONLY), rfd;

	if (fd < 0)
		die("open");
	check_at(fd, 0, MIB, "first read");
	rfd = open(ready, O_WRONLY | O_CREAT, 0644);
	if (rfd < 0)
		die("create READY");
	close(rfd);
	while (access(go, F_OK) < 0)
		usleep(10000);
	check_size(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	check_stream(fd, MIB, "held reads");
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	check_mmap(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	check_random(fd, 20, true, "held page reads");
	close(fd);
	return 0;
}

/* A writer reads its own content: 'Z's over the chunks' first edge. */
static int rw(void)
{
	int fd = open(file, O_RDWR | O_DIRECT);

	if (fd < 0)
		die("open O_RDWR");
	memset(buf, 'Z', 200);
	if (pwrite(fd, buf, 200, (off_t)(CHUNK - 100)) != 200)
		die("write");
	zoff = CHUNK - 100;
	zlen = 200;
	check_at(fd, 0, 524288, "the writer's read");
	check_at(fd, CHUNK - 4096, 524288, "the writer's read");
	check_size(fd);
	if (close(fd) < 0)
		die("close");
	return check();
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc < 5)
		goto usage;
	file = argv[2];
	size = strtoull(argv[3], NULL, 10);
	seed = strtoull(argv[4], NULL, 10);
	if (posix_memalign((void **)&buf, 4096, BUFMAX * 2))
		return 1;
	if (!strcmp(argv[1], "write") && argc == 5)
		rc = write_file();
	else if (!strcmp(argv[1], "check") && argc == 5)
		rc = check();
	else if (!strcmp(argv[1], "rw") && argc == 5)
		rc = rw();
	else if (!strcmp(argv[1], "hold") && argc == 7)
		rc = hold(argv[5], argv[6]);
	else
		goto usage;
	free(buf);
	if (!rc)
		puts("ok");
	return rc;
usage:
	fprintf(stderr, "usage: bigread write|check|rw FILE SIZE SEED\n"
		"       bigread hold FILE SIZE SEED READY GO\n");
	return 2;
}
