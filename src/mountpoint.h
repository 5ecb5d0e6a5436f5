/*
 * mountpoint.h - what kvfs asks of the directory it mounts on: checked
 * before anything is created, and a dead FUSE mount there found in
 * /proc/self/mountinfo and cleared.
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
 * Detach the mount at path (umount2 with MNT_DETACH, or fusermount3 -u -z
 * for a user who may not): processes inside it keep it until they leave.
 * Returns 0 or -errno.
 */
int mountpoint_detach(const char *path);

#endif
