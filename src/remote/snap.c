/*
 * snap.c - a replica's position in the change feed, a PostgreSQL
 * snapshot as text ("xmin:xmax:xip1,xip2,..."), with its own write made
 * visible in it once that committed.
 *
 * The write's transaction id may be past the snapshot's xmax (an id is
 * given when first needed, and xmax is one past the last that ended):
 * then xmax moves past it, and the ids between the old xmax and it are
 * listed as in progress, so that whatever they commit is still read.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

/* Append ",x" (or "x" first) to out at *n: 0 or -ENAMETOOLONG. */
static int put_xid(char *out, size_t len, size_t *n, bool first,
		   unsigned long long x)
{
	int w = snprintf(out + *n, len - *n, "%s%llu", first ? "" : ",", x);

	if (w < 0 || (size_t)w >= len - *n)
		return -ENAMETOOLONG;
	*n += (size_t)w;
	return 0;
}

int snap_add(const char *snap, uint64_t xid, char *out, size_t len)
{
	unsigned long long xmin, xmax, x, nmin, nmax;
	const char *p, *list;
	bool first = true;
	char *end;
	size_t n;
	int w, rc;

	errno = 0;
	xmin = strtoull(snap, &end, 10);
	if (*end != ':' || errno)
		return -EINVAL;
	xmax = strtoull(end + 1, &end, 10);
	if (*end != ':' || errno || xmax < xmin)
		return -EINVAL;
	list = end + 1;
	nmax = xid >= xmax ? xid + 1 : xmax;
	/* the new xmin: the first id still in progress, or the new xmax */
	nmin = xmax < xid ? xmax : nmax;
	for (p = list; *p; ) {
		x = strtoull(p, &end, 10);
		if (end == p || (*end && *end != ',') || errno)
			return -EINVAL;
		p = *end ? end + 1 : end;
		if (x != xid && x >= xmin && x < xmax && x < nmin)
			nmin = x;
	}
	w = snprintf(out, len, "%llu:%llu:", nmin, nmax);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	n = (size_t)w;
	for (p = list; *p; ) {
		x = strtoull(p, &end, 10);
		p = *end ? end + 1 : end;
		if (x == xid || x < xmin || x >= xmax)
			continue;
		rc = put_xid(out, len, &n, first, x);
		if (rc)
			return rc;
		first = false;
	}
	for (x = xmax; x < xid; x++) {
		rc = put_xid(out, len, &n, first, x);
		if (rc)
			return rc;
		first = false;
	}
	return 0;
}
