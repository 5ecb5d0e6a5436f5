/*
 * ops.h - what the FUSE operations (ops_*.c) and fs/main.c share: the
 * operation tables, an open file's handle, and the handles to free at
 * unmount.  The mounted filesystem's state is fs.h's; open files are
 * handle.h's.
 *
 * Only ops_*.c and fs/main.c include this header.  The operations turn
 * the store's results into replies, and the store's negative errnos into
 * the errno of each reply.
 */
#ifndef KVFS_OPS_H
#define KVFS_OPS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs/fs.h"
#include "fs/nodes.h"
#include "common/options.h"
#include "fs/handle.h"
#include "fs/pending.h"
#include "store/store.h"
#include "fs/worker.h"

static inline struct handle *fi_handle(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/*
 * At unmount, free the handles the kernel never released (an aborted
 * connection): what their writers had not committed is dropped, as for
 * a writer that never closed.
 */
void ops_file_free_all(struct kvfs *fs);

/* The same for the directories the kernel never released. */
void ops_dir_free_all(struct kvfs *fs);

/* The operation tables. */
void ops_entry_init(struct fuse_lowlevel_ops *ops);
void ops_file_init(struct fuse_lowlevel_ops *ops);
void ops_dir_init(struct fuse_lowlevel_ops *ops);
void ops_xattr_init(struct fuse_lowlevel_ops *ops);
void ops_link_init(struct fuse_lowlevel_ops *ops);

#endif
