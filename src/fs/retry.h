/*
 * retry.h - readers sent back from a superseded node, and the value the
 * kernel's retry of their open is to get (retry.c).
 *
 * A node stands for one generation of its key's value (nodes.h).  An
 * open that reaches a node whose generation the key no longer has takes
 * that generation from a handle still holding it; when none does, it is
 * sent back with -ESTALE, and the kernel looks the name up again and
 * retries the open, once.  A commit may supersede the node that lookup
 * gives before the open comes, so the lookup opens the value it finds for
 * that reader and leaves it here, and the retried open of that node takes
 * it: the node's own generation, whatever was committed in between.
 *
 * The retry is known by its thread alone: the kernel retries the open in
 * the same system call, by the same thread, along the path the program
 * gave, whose names the daemon does not know (a rename may have moved the
 * node sent back, and another key taken its name).  The next lookups of
 * keys by that thread are the retry's.
 */
#ifndef KVFS_RETRY_H
#define KVFS_RETRY_H

#include <stdbool.h>

#include "fs/nodes.h"
#include "store/store.h"

struct kvfs;
struct retries;

int retry_new(struct retries **out);
/* Close what is left (at unmount, before the store and nodes go). */
void retry_free(struct kvfs *fs, struct retries *r);

/* Thread pid was sent back from an open. */
void retry_note(struct kvfs *fs, int pid);

/* Is a lookup or an open by thread pid the retry of an open sent back? */
bool retry_wanted(struct kvfs *fs, int pid);

/*
 * A lookup by thread pid gave node n, of the generation of v (with
 * attributes a): kept, with n counted open, for pid's open of n, in place
 * of what an earlier lookup of the retry left (v is taken, or closed if
 * no retry waits for it any more).
 */
void retry_offer(struct kvfs *fs, int pid, struct node *n,
		 struct store_value *v, const struct kv_attr *a);

/*
 * An open of n by thread pid: the value a lookup left for it, with its
 * attributes, and n still counted open for it (nodes_release(USE_DIRECT)
 * once the open has counted itself); NULL if none.  Whatever else pid had
 * waiting goes.
 */
struct store_value *retry_take(struct kvfs *fs, struct node *n, int pid,
			       struct kv_attr *a);

#endif
