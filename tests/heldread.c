/*
 * heldread.c - a reader that holds a file open across a change, then
 * reads it every way: for tests of what an open reader keeps.
 *
 *   heldread PATH READY GO
 *
 * Opens PATH for reading, creates the file READY, waits until the file GO
 * exists (30 s at most), then prints what it sees through the descriptor
 * it held: "fstat SIZE mmap C*N read C*N", where SIZE is what fstat(2)
 * gives, the mmap of SIZE bytes holds N bytes all C ("mixed" if they
 * differ; "SIGBUS at byte I" if one faults), and read(2) from 0 to the
 * end gives N bytes all C.  Exit status 0 if every call succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf bus_jmp;
static volatile size_t bus_at;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/* What n bytes of buf are: "C*N", or "mixed*N". */
static void describe(const unsigned char *buf, size_t n, char *out,
		     size_t outsize)
{
	size_t i;

	for (i = 1; i < n && buf[i] == buf[0]; i++)
		;
	if (n && i < n)
		snprintf(out, outsize, "mixed*%zu", n);
	else
		snprintf(out, outsize, "%c*%zu", n ? buf[0] : '-', n);
}

/* What the mmap of size bytes of fd holds, into out: 0, or 1 if the
 * mmap failed. */
static int map_check(int fd, size_t size, char *out, size_t outsize)
{
	unsigned char *map;

	snprintf(out, outsize, "-*0");
	if (!size)
		return 0;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		printf("mmap %s\n", strerror(errno));
		return 1;
	}
	signal(SIGBUS, on_bus);
	if (sigsetjmp(bus_jmp, 1)) {
		snprintf(out, outsize, "SIGBUS at byte %zu", (size_t)bus_at);
	} else {
		for (bus_at = 0; bus_at < size; bus_at++)
			if (map[bus_at] != map[0])
				break;
		describe(map, size, out, outsize);
	}
	munmap(map, size);
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec step = { 0, 10000000L };
	char mapped[64], got[64];
	unsigned char *buf;
	size_t size, i, n = 0;
	struct stat st;
	ssize_t r;
	int fd, w;

	if (argc != 4) {
		fprintf(stderr, "usage: heldread PATH READY GO\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open %s\n", strerror(errno));
		return 1;
	}
	w = open(argv[2], O_WRONLY | O_CREAT, 0644);
	if (w < 0)
		return 1;
	close(w);
	for (i = 0; i < 3000 && access(argv[3], F_OK); i++)
		nanosleep(&step, NULL);
	if (fstat(fd, &st)) {
		printf("fstat %s\n", strerror(errno));
		return 1;
	}
	size = (size_t)st.st_size;
	if (map_check(fd, size, mapped, sizeof(mapped)))
		return 1;
	buf = malloc(size + 65536);
	if (!buf)
		return 1;
	while ((r = pread(fd, buf + n, size + 65536 - n, (off_t)n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		printf("read %s\n", strerror(errno));
		return 1;
	}
	describe(buf, n, got, sizeof(got));
	printf("fstat %zu mmap %s read %s\n", size, mapped, got);
	free(buf);
	close(fd);
	return 0;
}
