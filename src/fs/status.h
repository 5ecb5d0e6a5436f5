/*
 * status.h - where a mount stands, as the JSON of the root's
 * user.kv.status (status.c), which kvctl status prints.
 */
#ifndef KVFS_STATUS_H
#define KVFS_STATUS_H

struct kvfs;

/* The JSON object, malloc'd; NULL when out of memory. */
char *status_json(struct kvfs *fs);

#endif
