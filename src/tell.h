/*
 * tell.h - the daemon's dentry notifications, sent from a thread of their
 * own (a worker, worker.h) rather than from the request that caused them.
 *
 * Dropping a dentry (FUSE_NOTIFY_INVAL_ENTRY) takes its directory's lock
 * in the kernel.  A request that holds the file's lock until its reply
 * (fsync, setxattr) must not wait for it, since a rename holding the
 * directory waits for the file's lock: a deadlock.  Nor should a release,
 * which no caller waits for.  The teller waits instead, while the loop
 * goes on.  A flush drops its dentry itself before replying (ops_file.c),
 * for close-to-open consistency.
 */
#ifndef KVFS_TELL_H
#define KVFS_TELL_H

#include <time.h>

struct kvfs;
struct inval;

/* The job of fs->teller: send what was queued; {0, 0}, until kicked. */
struct timespec tell_run(void *arg);

/* Queue the dentry in inv (taken from it, if any) and kick the teller. */
void tell_later(struct kvfs *fs, struct inval *inv);

/* Forget what is left to tell (at unmount, the teller stopped). */
void tell_forget(struct kvfs *fs);

#endif
