/*
 * heldread.c - a reader that holds a file open across a change, then
 * reads it every way: for tests of what an open reader keeps.
 *
 *   heldread PATH READY GO
 *   heldread -w PATH CHAR SIZE READY GO
 *
 * Opens PATH for reading, creates the file READY, waits until the file GO
 * exists (30 s at most), then prints what it sees through the descriptor
 * it held: "fstat SIZE mmap C*N read C*N", where SIZE is what fstat(2)
 * gives, the mmap of SIZE bytes holds N bytes all C ("mixed" if they
 * differ; "SIGBUS at byte I" if one faults), and read(2) from 0 to the
 * end gives N bytes all C.  Exit status 0 if every call succeeded.
 *
 * With -w, a writer held open instead: opens PATH with O_WRONLY|O_TRUNC
 * (no O_CREAT, which would wait for the directory's lock), writes SIZE
 * bytes of CHAR, creates READY, waits for GO, closes, and prints "OK" if
 * every call succeeded.
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

/* Create the file ready, then wait until the file go exists (30 s). */
static int signal_and_wait(const char *ready, const char *go)
{
	struct timespec step = { 0, 10000000L };
	int fd, i;

	fd = open(ready, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	for (i = 0; i < 3000 && access(go, F_OK); i++)
		nanosleep(&step, NULL);
	return 0;
}

static int held_writer(char **argv)
{
	size_t size = strtoul(argv[4], NULL, 10), off;
	char buf[65536];
	ssize_t r;
	int fd;

	memset(buf, argv[3][0], sizeof(buf));
	fd = open(argv[2], O_WRONLY | O_TRUNC);
	if (fd < 0) {
		printf("open %s\n", strerror(errno));
		return 1;
	}
	for (off = 0; off < size; off += (size_t)r) {
		r = write(fd, buf, size - off < sizeof(buf) ? size - off
							   : sizeof(buf));
		if (r <= 0) {
			printf("write %s\n", strerror(errno));
			return 1;
		}
	}
	if (signal_and_wait(argv[5], argv[6]))
		return 1;
	if (close(fd)) {
		printf("close %s\n", strerror(errno));
		return 1;
	}
	printf("OK\n");
	return 0;
}

int main(int argc, char **argv)
{
	char mapped[64], got[64];
	unsigned char *buf;
	size_t size, n = 0;
	struct stat st;
	ssize_t r;
	int fd;

	if (argc == 7 && !strcmp(argv[1], "-w"))
		return held_writer(argv);
	if (argc != 4) {
		fprintf(stderr, "usage: heldread PATH READY GO\n"
			"       heldread -w PATH CHAR SIZE READY GO\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open %s\n", strerror(errno));
		return 1;
	}
	if (signal_and_wait(argv[2], argv[3]))
		return 1;
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
