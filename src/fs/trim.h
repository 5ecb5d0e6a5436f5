/*
 * trim.h - the node cache's bound: the job of a worker (worker.h) that
 * asks the kernel to forget the least recently used names once the daemon
 * holds more than node_cache nodes, so that the daemon's memory is set by
 * that option, not by the number of keys a user walks through.
 */
#ifndef KVFS_TRIM_H
#define KVFS_TRIM_H

#include <time.h>

struct kvfs;

/*
 * One pass over the store of arg (a struct kvfs, fs->se set): drop the
 * kernel's dentries of up to TRIM_BATCH of the oldest nodes it may
 * forget, if there are more than node_cache; return when to look again.
 */
struct timespec trim_run(void *arg);

/* After a lookup: kick the trim if the nodes are past node_cache. */
void trim_check(struct kvfs *fs);

#endif
