/*
 * sweep.h - the daemon's expiry sweep: the job of a worker (worker.h)
 * that deletes keys from the second they expire and drops the kernel's
 * dentries of them.
 */
#ifndef KVFS_SWEEP_H
#define KVFS_SWEEP_H

#include <time.h>

/*
 * Sweep what has expired in the store of arg (a struct kvfs, fs->se set);
 * return when to run again: the next expiration, or {0, 0} if no key
 * expires.  Kick the worker when an expiration is set.
 */
struct timespec sweep_run(void *arg);

#endif
