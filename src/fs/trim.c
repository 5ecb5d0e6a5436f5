/*
 * trim.c - keep the node table within node_cache nodes.
 *
 * The kernel keeps a dentry and inode for every name it looked up until
 * memory is short, and the daemon keeps a node for each (nodes.c): a walk
 * over a million keys would cost the daemon a node per key.  Past
 * node_cache nodes this job asks the kernel to drop the dentries of the
 * least recently looked-up ones (FUSE_NOTIFY_INVAL_ENTRY); the kernel
 * then evicts their inodes and sends FORGET, which frees the nodes.  A
 * name asked for again later is one LOOKUP away.  Open files and
 * directories with nodes below them are left alone; so are namespaces.
 *
 * The notifications are sent from the worker's own thread, holding no
 * lock, since the kernel takes the directory's lock to handle them.
 */
#include "config.h"

#include "common/log.h"
#include "fs/fs.h"
#include "fs/nodes.h"
#include "fs/notify.h"
#include "fs/trim.h"
#include "fs/worker.h"

#define TRIM_BATCH	256
/* How long the kernel's FORGETs may take to come before another pass. */
#define TRIM_PAUSE_NS	10000000L

struct timespec trim_run(void *arg)
{
	struct kvfs *fs = arg;
	struct inval inv[TRIM_BATCH];
	struct timespec next = { 0, 0 };
	size_t live = nodes_live(fs->nodes), n, i;

	if (live <= fs->opts.node_cache)
		return next;
	n = nodes_oldest(fs->nodes, TRIM_BATCH, inv);
	for (i = 0; i < n; i++)
		inval_send(fs, &inv[i]);
	kvfs_log(KVFS_DEBUG, "node cache: %zu nodes, asked the kernel to "
		 "forget %zu", live, n);
	if (n == 0)
		return next;	/* all in use: until the next lookup */
	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_nsec += TRIM_PAUSE_NS;
	if (next.tv_nsec >= 1000000000L) {
		next.tv_sec++;
		next.tv_nsec -= 1000000000L;
	}
	return next;
}

void trim_check(struct kvfs *fs)
{
	if (nodes_live(fs->nodes) > fs->opts.node_cache)
		worker_kick(fs->trimmer);
}
