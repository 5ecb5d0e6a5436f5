/*
 * notify.h - the kernel cache notifications of the daemon: a dentry to
 * drop, an inode's attributes to drop (notify.c).
 */
#ifndef KVFS_NOTIFY_H
#define KVFS_NOTIFY_H

#include <stdint.h>

struct kvfs;
struct inval;

/* Drop the dentry in inv now, and free its name: from a thread of the
 * daemon's own, never a request's (tell.h). */
void inval_send(struct kvfs *fs, struct inval *inv);

/* Drop the attributes the kernel keeps of inode ino (its page cache
 * stays). */
void inval_inode(struct kvfs *fs, uint64_t ino);

#endif
