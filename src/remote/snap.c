/*
 * snap.c - a replica's position in the change feed, a PostgreSQL
 * snapshot as text ("xmin:xmax:xip1,xip2,..."), with its own write made
 * visible in it once that committed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

int snap_add(const char *snap, uint64_t xid, char *out, size_t len)
{
	unsigned long long xmin, xmax, x, first;
	const char *p;
	char *end;
	size_t n;
	int w;

	errno = 0;
	xmin = strtoull(snap, &end, 10);
	if (*end != ':' || errno)
		return -EINVAL;
	xmax = strtoull(end + 1, &end, 10);
	if (*end != ':' || errno || xmax < xmin)
		return -EINVAL;
	p = end + 1;
	/* the in-progress list without xid; xmin: the first left, or xmax */
	first = xmax;
	for (n = 0; *p; ) {
		x = strtoull(p, &end, 10);
		if (end == p || (*end && *end != ',') || errno)
			return -EINVAL;
		p = *end ? end + 1 : end;
		if (x == xid || x < xmin || x >= xmax)
			continue;
		if (x < first)
			first = x;
	}
	w = snprintf(out, len, "%llu:%llu:", first, xmax);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	n = (size_t)w;
	for (p = strchr(strchr(snap, ':') + 1, ':') + 1; *p; ) {
		x = strtoull(p, &end, 10);
		p = *end ? end + 1 : end;
		if (x == xid || x < xmin || x >= xmax)
			continue;
		w = snprintf(out + n, len - n, "%s%llu",
			     out[n - 1] == ':' ? "" : ",", x);
		if (w < 0 || (size_t)w >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	return 0;
}
