/*
 * mountpoint.h - what kvfs asks of the directory it mounts on, and of its
 * own mount: checked before anything is created, found in
 * /proc/self/mountinfo, aborted and unmounted when a stop hangs, its
 * read-ahead raised.
 */
#ifndef KVFS_MOUNTPOINT_H
#define KVFS_MOUNTPOINT_H

#include <stdbool.h>

/*
 * Resolve the MOUNTPOINT argument arg to an absolute path, returned in
 * *path (malloc'd, NULL if it could not be made), and check that kvfs can
 * mount there.  Returns 0 for a directory, -ENOTDIR for anything else that
 * exists, -ENOTCONN for a FUSE mount whose daemon is gone ("Transport
 * endpoint is not connected"), with *own set when that was a kvfs mount of
 * store (an absolute path), or the -errno of resolving arg.
 */
int mountpoint_check(const char *arg, const char *store, char **path,
		     bool *own);

/*
 * Whether a kvfs of store (an absolute path, as kvfs gives it as the
 * mount's source) is mounted anywhere in this mount namespace.
 */
bool mountpoint_store_mounted(const char *store);

/*
 * Detach the mount at path (umount2 with MNT_DETACH, or fusermount3 -u -z
 * for a user who may not): processes inside it keep it until they leave.
 * Returns 0 or -errno.
 */
int mountpoint_detach(const char *path);

/*
 * The number of the FUSE connection mounted at path (its directory under
 * /sys/fs/fuse/connections), from the newest mount there in
 * /proc/self/mountinfo, or -1 if there is none.
 */
long mountpoint_conn(const char *path);

/*
 * Abort FUSE connection conn, mounted at path, and unmount it: the kernel
 * fails every request still waiting for the daemon.  Through fusectl
 * (/sys/fs/fuse/connections/conn/abort, writable by the mount's owner), or
 * for root by a forced unmount.  Returns 0 once the connection is aborted
 * (then the mount is detached as well as may be), or -errno.
 */
int mountpoint_abort(long conn, const char *path);

/*
 * Let the kernel read ahead up to kb KiB at once on connection conn's
 * mount (its backing device's read_ahead_kb in sysfs, writable by root),
 * so that a large value is read in READ requests of that size; a mount
 * already reading ahead more is left so.  Returns 0 or -errno.
 */
int mountpoint_readahead(long conn, unsigned kb);

#endif
