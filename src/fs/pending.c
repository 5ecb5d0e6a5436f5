/*
 * pending.c - a writer's content in memory or in a stage of the store.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/pending.h"

void pending_init(struct pending *p, struct store *st)
{
	memset(p, 0, sizeof(*p));
	p->st = st;
}

/* Move the content to a stage. */
static int spill(struct pending *p)
{
	struct store_stage *sg;
	int rc;

	rc = store_stage_open(p->st, &sg);
	if (rc)
		return rc;
	rc = store_stage_write(sg, p->buf, (size_t)p->size, 0);
	if (rc) {
		store_stage_close(sg);
		return rc;
	}
	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
	p->stage = sg;
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

	if (!p->stage && end > PENDING_MEM_MAX) {
		rc = spill(p);
		if (rc)
			return rc;
	}
	if (p->stage) {
		rc = store_stage_write(p->stage, buf, len, off);
		if (rc)
			return rc;
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
	if (off >= p->size)
		return 0;
	if (len > p->size - off)
		len = (size_t)(p->size - off);
	if (p->stage)
		return store_stage_read(p->stage, buf, len, off);
	memcpy(buf, p->buf + off, len);
	return (ssize_t)len;
}

int pending_truncate(struct pending *p, uint64_t size)
{
	if (!p->stage && size > PENDING_MEM_MAX) {
		int rc = spill(p);

		if (rc)
			return rc;
	}
	if (p->stage) {
		int rc = store_stage_truncate(p->stage, size);

		if (rc)
			return rc;
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
	store_stage_close(p->stage);
	pending_init(p, p->st);
}
