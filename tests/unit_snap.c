/*
 * unit_snap.c - a replica's position with its own write made visible
 * (src/remote/snap.c), on snapshots as PostgreSQL writes them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "remote/internal.h"
#include "tap.h"

static void is_snap(const char *snap, uint64_t xid, const char *want)
{
	char out[128];
	int rc = snap_add(snap, xid, out, sizeof(out));

	ok(rc == 0 && !strcmp(out, want), "%s + %llu: %s", snap,
	   (unsigned long long)xid, want);
	if (rc || strcmp(out, want))
		printf("#   got %d '%s'\n", rc, rc ? "" : out);
}

int main(void)
{
	char small[8];

	/* the id in progress in the snapshot leaves the list */
	is_snap("10:20:12,15", 15, "12:20:12");
	is_snap("10:20:10,15", 10, "15:20:15");
	is_snap("10:20:10", 10, "20:20:");
	/* the id past xmax (given after the snapshot was taken) */
	is_snap("725:725:", 725, "726:726:");
	is_snap("725:725:", 727, "725:728:725,726");
	is_snap("100:110:100,105", 112, "100:113:100,105,110,111");
	/* an id the snapshot already shows: nothing changes but xmin */
	is_snap("100:110:100", 50, "100:110:100");
	is_int(snap_add("abc", 1, small, sizeof(small)), -EINVAL,
	       "not a snapshot: EINVAL");
	is_int(snap_add("10:5:", 1, small, sizeof(small)), -EINVAL,
	       "xmax below xmin: EINVAL");
	is_int(snap_add("100:110:100,105", 112, small, sizeof(small)),
	       -ENAMETOOLONG, "no room: ENAMETOOLONG");
	return tap_done();
}
