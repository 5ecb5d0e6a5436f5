/*
 * tell.h - the daemon's dentry notifications, sent from a thread of their
 * own (a worker, worker.h) rather than from the request that caused them.
 *
 * Dropping a dentry (FUSE_NOTIFY_INVAL_ENTRY) takes its directory's lock
 * in the kernel.  A request's thread must not wait for it: the kernel may
 * hold the file locked until the reply while a rename holding the
 * directory waits for the file (a deadlock), and requests that wait for
 * a directory held by a create or rename could take every thread of the
 * loop, leaving none to answer the create.  The teller waits instead,
 * for as long as the directory is held, while the loop goes on.
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
