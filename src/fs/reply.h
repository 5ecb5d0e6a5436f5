/*
 * reply.h - the attributes a reply gives: the entries of lookup-like
 * requests, and what the process holding an open file sees (reply.c).
 */
#ifndef KVFS_REPLY_H
#define KVFS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "fs/fs.h"
#include "fs/nodes.h"
#include "store/store.h"

/* The open file of n, of the kinds in how (nodes_find_open), that thread
 * pid sees n through, if any: its view. */
bool open_file_stat(struct kvfs *fs, struct node *n, int pid,
		    unsigned how, struct stat *st);

/* While a writer through the page cache has n open: its size in st. */
void paged_size(struct kvfs *fs, struct node *n, struct stat *st);

/*
 * The entry of node n, of attributes a read from the store, as a lookup
 * or a listing replies it in *e; keep: whether the kernel may cache it.
 */
void node_entry(struct kvfs *fs, struct node *n, const struct kv_attr *a,
		bool keep, struct fuse_entry_param *e);

/* Reply with node n (counted one lookup) of attributes a; keep: whether
 * the kernel may cache them. */
void reply_node(fuse_req_t req, struct node *n, const struct kv_attr *a,
		bool keep);

/* Reply to a lookup-like request with the node for parent/name. */
void reply_entry(fuse_req_t req, struct node *parent, const char *name,
		 size_t len, const struct kv_attr *a);

#endif
