/*
 * pending.c - a writer's content in memory or in a temporary file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/pending.h"

void pending_init(struct pending *p, int dirfd)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->dirfd = dirfd;
}

/* Move the content to a temporary file. */
static int spill(struct pending *p)
{
	size_t done = 0;
	int fd;

	fd = openat(p->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (done < p->size) {
		ssize_t n = pwrite(fd, p->buf + done, p->size - done,
				   (off_t)done);

		if (n < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		done += (size_t)n;
	}
	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
	p->fd = fd;
	return 0;
}

static int reserve(struct pending *p, uint64_t end)
{
	size_t cap;
	char *nb;

	if (end <= p->cap)
		return 0;
	cap = p->cap ? p->cap : 4096;
	while (cap < end)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (!nb)
		return -ENOMEM;
	memset(nb + p->cap, 0, cap - p->cap);
	p->buf = nb;
	p->cap = cap;
	return 0;
}

int pending_write(struct pending *p, const void *buf, size_t len, uint64_t off)
{
	uint64_t end = off + len;
	int rc;

	if (p->fd < 0 && end > PENDING_MEM_MAX) {
		rc = spill(p);
		if (rc)
			return rc;
	}
	if (p->fd >= 0) {
		const char *src = buf;

		while (len) {
			ssize_t n = pwrite(p->fd, src, len, (off_t)off);

			if (n < 0)
				return -errno;
			src += n;
			len -= (size_t)n;
			off += (uint64_t)n;
		}
	} else {
		rc = reserve(p, end);
		if (rc)
			return rc;
		memcpy(p->buf + off, buf, len);
	}
	if (end > p->size)
		p->size = end;
	return 0;
}

ssize_t pending_read(struct pending *p, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off >= p->size)
		return 0;
	if (len > p->size - off)
		len = (size_t)(p->size - off);
	if (p->fd < 0) {
		memcpy(buf, p->buf + off, len);
		return (ssize_t)len;
	}
	n = pread(p->fd, buf, len, (off_t)off);
	if (n < 0)
		return -errno;
	if ((size_t)n < len)	/* a hole past the file's end reads as zeros */
		memset((char *)buf + n, 0, len - (size_t)n);
	return (ssize_t)len;
}

int pending_truncate(struct pending *p, uint64_t size)
{
	if (p->fd < 0 && size > PENDING_MEM_MAX) {
		int rc = spill(p);

		if (rc)
			return rc;
	}
	if (p->fd >= 0) {
		if (ftruncate(p->fd, (off_t)size) < 0)
			return -errno;
	} else if (size > p->size) {
		int rc = reserve(p, size);

		if (rc)
			return rc;
	} else if (p->buf) {
		memset(p->buf + size, 0, p->size - size);
	}
	p->size = size;
	return 0;
}

void pending_free(struct pending *p)
{
	free(p->buf);
	if (p->fd >= 0)
		close(p->fd);
	pending_init(p, p->dirfd);
}
