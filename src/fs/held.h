/*
 * held.h - whether a process holds a descriptor of a file of this mount
 * (held.c), asked of /proc when a close may not be the file's last.
 */
#ifndef KVFS_HELD_H
#define KVFS_HELD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Does process pid (a thread id will do) have a descriptor open on inode
 * ino of the mount whose device is conn (mountpoint_conn(); -1: any FUSE
 * mount)?  False when /proc cannot tell.
 */
bool held_by(int pid, long conn, uint64_t ino);

#endif
