/*
 * notify.c - the kernel cache notifications of the daemon: every one it
 * sends goes through here.
 *
 * Dropping a dentry (FUSE_NOTIFY_INVAL_ENTRY) takes its directory's lock
 * in the kernel, so it is sent from a thread of the daemon's own (the
 * teller, the trim, the sweep), never from a request (tell.h).  Dropping
 * an inode's attributes (FUSE_NOTIFY_INVAL_INODE, offset -1: the page
 * cache stays) takes no such lock, and is sent from the request that
 * changed them.
 */
#include "config.h"

#include <stdlib.h>

#include "fs/fs.h"
#include "fs/nodes.h"
#include "fs/notify.h"

void inval_send(struct kvfs *fs, struct inval *inv)
{
	if (!inv->name)
		return;
	fuse_lowlevel_notify_inval_entry(fs->se, inv->parent, inv->name,
					 inv->len);
	free(inv->name);
	inv->name = NULL;
}

void inval_inode(struct kvfs *fs, uint64_t ino)
{
	fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
}
