/*
 * tell.h - the daemon's dentry notifications, sent from a thread of their
 * own (a worker, worker.h) rather than from the request that caused them.
 *
 * Dropping a dentry (FUSE_NOTIFY_INVAL_ENTRY) takes its directory's lock
 * in the kernel.  A request that holds the file's lock until its reply
 * (fsync, setxattr) must not wait for it, since a rename holding the
 * directory waits for the file's lock: a deadlock.  Nor should a release,
 * which no caller waits for, nor a flush: a create or lookup holds its
 * directory's lock while it waits for a daemon thread, and with every
 * thread in a flush waiting for that lock the mount would hang.  The
 * teller waits instead, while the loop goes on; a flush's reply waits
 * for its notification in the teller's queue (close-to-open: close(2)
 * returns once the dentry is dropped), and the kernel holds no lock of the
 * file while it waits for that reply.
 */
#ifndef KVFS_TELL_H
#define KVFS_TELL_H

#include <time.h>

struct kvfs;
struct inval;
struct fuse_req;

/* The job of fs->teller: send what was queued; {0, 0}, until kicked. */
struct timespec tell_run(void *arg);

/* Queue the dentry in inv (taken from it, if any) and kick the teller. */
void tell_later(struct kvfs *fs, struct inval *inv);

/*
 * Reply err to the flush req once the dentry in inv (taken from it) is
 * dropped, by the teller; at once if there is none.
 */
void tell_then_reply(struct kvfs *fs, struct inval *inv, struct fuse_req *req,
		     int err);

/*
 * Once the request loop has stopped: answer every flush queued or being
 * told, and tell no more (the mount is to go).
 */
void tell_forget(struct kvfs *fs);

#endif
