/*
 * hostload.c - one writer of random operations on a namespace that other
 * hosts write too (tests/55-remote-converge.sh), logging each with when
 * it began and when its call returned, for a model of the commit order.
 *
 *   hostload NSDIR TAG SECS NKEYS LOG
 *
 * Keys k0..k(NKEYS-1) get puts (O_TRUNC writes, mostly small, one in 40
 * of 1.5 MiB: chunked), deletes and metadata; keys r0..r(NKEYS-1) get
 * puts and renames between them.  A put's value starts with its id, TAG
 * and a sequence number, on a line of its own.  Each line of LOG is
 *
 *   OP KEY ID START_US END_US RESULT
 *
 * OP: P put, D delete, M metadata, R rename (KEY "from>to"); ID: the
 * put's or metadata's id, "-" for the others; RESULT: OK or the errno's
 * name.  Times are CLOCK_REALTIME, shared by every process here.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* Microseconds: exact in awk's doubles, which the test's model uses. */
static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case EAGAIN: return "EAGAIN";
	case ESTALE: return "ESTALE";
	case EEXIST: return "EEXIST";
	case ENOSPC: return "ENOSPC";
	default: return "E?";
	}
}

/* O_TRUNC write of id's value, size bytes: 0 or an errno. */
static int put(const char *path, const char *id, size_t size)
{
	static char buf[1536 * 1024];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\n", id), off = 0;
	int fd, rc = 0;

	if (size < n)
		size = n;
	memset(buf + n, 'a' + (int)(size % 26), size - n);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return errno;
	while (off < size) {
		ssize_t w = write(fd, buf + off, size - off);

		if (w < 0) {
			rc = errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 && !rc)
		rc = errno;
	return rc;
}

int main(int argc, char **argv)
{
	char key[64], key2[64], path[4096], path2[4096], id[64], meta[96];
	unsigned long seq = 0, nkeys;
	uint64_t end, t0, t1;
	FILE *log;

	if (argc != 6) {
		fprintf(stderr, "usage: hostload NSDIR TAG SECS NKEYS LOG\n");
		return 2;
	}
	nkeys = strtoul(argv[4], NULL, 10);
	log = fopen(argv[5], "w");
	if (!log || !nkeys) {
		perror("hostload");
		return 2;
	}
	srandom((unsigned)(now_us() ^ (uint64_t)getpid()));
	end = now_us() + strtoull(argv[3], NULL, 10) * 1000000u;
	while (now_us() < end) {
		long r = random() % 100;
		bool rkey = random() % 4 == 0;
		int rc;

		snprintf(key, sizeof(key), "%c%lu", rkey ? 'r' : 'k',
			 (unsigned long)random() % nkeys);
		snprintf(path, sizeof(path), "%s/%s", argv[1], key);
		snprintf(id, sizeof(id), "%s-%lu", argv[2], ++seq);
		t0 = now_us();
		if (r < 60 || (rkey && r < 75)) {
			rc = put(path, id, random() % 40 == 0 ? 1536 * 1024
				 : (size_t)(random() % 6000));
			t1 = now_us();
			fprintf(log, "P %s %s %llu %llu %s\n", key, id,
				(unsigned long long)t0,
				(unsigned long long)t1, errname(rc));
		} else if (rkey) {
			snprintf(key2, sizeof(key2), "r%lu",
				 (unsigned long)random() % nkeys);
			snprintf(path2, sizeof(path2), "%s/%s", argv[1], key2);
			rc = rename(path, path2) < 0 ? errno : 0;
			t1 = now_us();
			fprintf(log, "R %s>%s - %llu %llu %s\n", key, key2,
				(unsigned long long)t0,
				(unsigned long long)t1, errname(rc));
		} else if (r < 80) {
			rc = unlink(path) < 0 ? errno : 0;
			t1 = now_us();
			fprintf(log, "D %s - %llu %llu %s\n", key,
				(unsigned long long)t0,
				(unsigned long long)t1, errname(rc));
		} else {
			snprintf(meta, sizeof(meta), "{\"by\":\"%s\"}", id);
			rc = setxattr(path, "user.kv.metadata", meta,
				      strlen(meta), 0) < 0 ? errno : 0;
			t1 = now_us();
			fprintf(log, "M %s %s %llu %llu %s\n", key, id,
				(unsigned long long)t0,
				(unsigned long long)t1, errname(rc));
		}
	}
	return fclose(log) ? 1 : 0;
}
