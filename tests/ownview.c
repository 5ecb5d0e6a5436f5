/*
 * ownview.c - what a writer sees of a file through its own descriptor,
 * and what another process sees meanwhile, one line a step.
 *
 *   ownview view PATH rdwr|wronly
 *	creates PATH (O_TRUNC) and, after a write of 11 bytes, an
 *	ftruncate to 20 and an fsync, prints the size by fstat, by
 *	lseek(SEEK_END) and by pread ("-" for wronly) on the descriptor,
 *	and by stat(2) of PATH in another process ("other"); then unlinks
 *	PATH and prints fstat's link count and size, and what a write, a
 *	pread and an ftruncate to 30 through the descriptor give.
 *   ownview mapstat PATH
 *	creates PATH O_RDWR, sizes it 4096, fills a shared mapping of it
 *	with 'X', and before msync prints the size another process's
 *	stat(2) and another thread's fstat(2) give ("other 4096 thread
 *	4096"); then unmaps and closes.
 *   ownview appends PATH N
 *	opens PATH O_WRONLY|O_APPEND and N times appends "line I" and a
 *	newline and fsyncs, printing fstat's size and another process's
 *	stat(2) size after each ("12 12").
 *   ownview append-trunc PATH TEXT SIZE
 *	opens PATH O_WRONLY|O_APPEND, appends TEXT, truncates to SIZE and
 *	prints fstat's size ("fstat 7").
 *   ownview mode PATH TEXT
 *	opens PATH O_WRONLY, writes TEXT, prints the mode by fstat before
 *	close ("fstat 4755") and by stat after ("stat 755").
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int die(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	return 1;
}

/*
 * Another process, started before the file is opened (a child that
 * inherited the descriptor would flush it when it exits): it answers each
 * request with the size stat(2) gives it, or -errno.
 */
static int to_other[2] = { -1, -1 }, from_other[2] = { -1, -1 };

static void start_other(const char *path)
{
	long long size;
	char c;

	if (pipe(to_other) < 0 || pipe(from_other) < 0)
		exit(die("pipe"));
	switch (fork()) {
	case -1:
		exit(die("fork"));
	case 0:
		close(to_other[1]);
		close(from_other[0]);
		while (read(to_other[0], &c, 1) == 1) {
			struct stat st;

			size = stat(path, &st) < 0 ? -errno
						   : (long long)st.st_size;
			if (write(from_other[1], &size, sizeof(size)) !=
			    sizeof(size))
				_exit(1);
		}
		_exit(0);
	}
	close(to_other[0]);
	close(from_other[1]);
}

static long long other_size(void)
{
	long long size;

	if (write(to_other[1], "?", 1) != 1 ||
	    read(from_other[0], &size, sizeof(size)) != sizeof(size))
		return -EIO;
	return size;
}

static void report(const char *step, int fd, bool readable)
{
	char buf[64];
	struct stat st;
	long long fsize = fstat(fd, &st) < 0 ? -errno : (long long)st.st_size;
	long long end = lseek(fd, 0, SEEK_END);

	printf("%s: fstat %lld lseek %lld pread ", step, fsize, end);
	if (readable)
		printf("%zd", pread(fd, buf, sizeof(buf), 0));
	else
		printf("-");
	printf(" other %lld\n", other_size());
}

static int view(const char *path, const char *how)
{
	bool rdwr = !strcmp(how, "rdwr");
	struct stat st;
	char buf[64];
	int fd;

	start_other(path);
	fd = open(path, (rdwr ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return die("open");
	if (write(fd, "hello world", 11) != 11)
		return die("write");
	report("write", fd, rdwr);
	if (ftruncate(fd, 20) < 0)
		return die("ftruncate");
	report("ftruncate", fd, rdwr);
	if (fsync(fd) < 0)
		return die("fsync");
	report("fsync", fd, rdwr);
	if (unlink(path) < 0)
		return die("unlink");
	if (fstat(fd, &st) < 0)
		return die("fstat after unlink");
	printf("unlink: nlink %lu size %lld\n", (unsigned long)st.st_nlink,
	       (long long)st.st_size);
	printf("after: write %zd", pwrite(fd, "!", 1, 20));
	if (rdwr)
		printf(" pread %zd", pread(fd, buf, sizeof(buf), 0));
	printf(" fstat %lld", fstat(fd, &st) < 0 ? -1LL
						 : (long long)st.st_size);
	printf(" ftruncate %d", ftruncate(fd, 30) < 0 ? -errno : 0);
	printf(" fstat %lld\n", fstat(fd, &st) < 0 ? -1LL
						   : (long long)st.st_size);
	if (close(fd) < 0)
		return die("close");
	close(to_other[1]);
	wait(NULL);
	return 0;
}

static int appends(const char *path, int n)
{
	char line[32];
	struct stat st;
	int fd, i;

	start_other(path);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return die("open");
	for (i = 1; i <= n; i++) {
		int len = snprintf(line, sizeof(line), "line %d\n", i);

		if (write(fd, line, (size_t)len) != len)
			return die("write");
		if (fsync(fd) < 0)
			return die("fsync");
		if (fstat(fd, &st) < 0)
			return die("fstat");
		printf("%lld %lld\n", (long long)st.st_size, other_size());
	}
	if (close(fd) < 0)
		return die("close");
	close(to_other[1]);
	wait(NULL);
	return 0;
}

static int append_trunc(const char *path, const char *text, off_t size)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd < 0)
		return die("open");
	if (write(fd, text, strlen(text)) < 0)
		return die("write");
	if (ftruncate(fd, size) < 0)
		return die("ftruncate");
	if (fstat(fd, &st) < 0)
		return die("fstat");
	printf("fstat %lld\n", (long long)st.st_size);
	if (close(fd) < 0)
		return die("close");
	return 0;
}

static int map_fd = -1;

static void *thread_fstat(void *arg)
{
	struct stat st;

	*(long long *)arg = fstat(map_fd, &st) < 0 ? -errno
						   : (long long)st.st_size;
	return NULL;
}

static int mapstat(const char *path)
{
	long long other, thread = 0;
	pthread_t tid;
	char *m;

	start_other(path);
	map_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (map_fd < 0)
		return die("open");
	if (ftruncate(map_fd, 4096) < 0)
		return die("ftruncate");
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (m == MAP_FAILED)
		return die("mmap");
	memset(m, 'X', 4096);
	other = other_size();
	if (pthread_create(&tid, NULL, thread_fstat, &thread) ||
	    pthread_join(tid, NULL))
		return die("pthread");
	printf("other %lld thread %lld\n", other, thread);
	if (msync(m, 4096, MS_SYNC) < 0)
		return die("msync");
	munmap(m, 4096);
	if (close(map_fd) < 0)
		return die("close");
	close(to_other[1]);
	wait(NULL);
	return 0;
}

static int mode(const char *path, const char *text)
{
	struct stat st;
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return die("open");
	if (write(fd, text, strlen(text)) < 0)
		return die("write");
	if (fstat(fd, &st) < 0)
		return die("fstat");
	printf("fstat %o\n", (unsigned)st.st_mode & 07777);
	if (close(fd) < 0)
		return die("close");
	if (stat(path, &st) < 0)
		return die("stat");
	printf("stat %o\n", (unsigned)st.st_mode & 07777);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "view"))
		return view(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "mapstat"))
		return mapstat(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "appends"))
		return appends(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "append-trunc"))
		return append_trunc(argv[2], argv[3], atoll(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "mode"))
		return mode(argv[2], argv[3]);
	fprintf(stderr, "usage: ownview view PATH rdwr|wronly | "
		"ownview appends PATH N | "
		"ownview append-trunc PATH TEXT SIZE | ownview mapstat PATH | "
		"ownview mode PATH TEXT\n");
	return 2;
}
