/*
 * sweep.h - the daemon's expiry sweeper: a thread that deletes keys from
 * the second they expire and drops the kernel's dentries of them.
 */
#ifndef KVFS_SWEEP_H
#define KVFS_SWEEP_H

struct kvfs;
struct sweeper;

/* Start sweeping fs's store (fs->se set): 0 or -errno. */
int sweeper_start(struct kvfs *fs, struct sweeper **out);

/* Stop the thread and free it (NULL is fine). */
void sweeper_stop(struct sweeper *sw);

/* An expiration was set: plan the next pass again. */
void sweeper_kick(struct sweeper *sw);

#endif
