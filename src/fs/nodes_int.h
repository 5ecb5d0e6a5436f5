/*
 * nodes_int.h - what the three files of the node table share (nodes.c,
 * nodes_open.c, nodes_name.c): the table itself, and the core's helpers.
 *
 * The core (nodes.c) owns the hashes by name and by inode number, the
 * ring of live nodes, their freeing, the stamps of changes at names and
 * the table of writers sent back; nodes_open.c and nodes_name.c call it
 * and never each other.  The helpers on the hot path of every lookup and
 * open are static inline here; every helper runs with the table's lock
 * held unless it says otherwise.
 */
#ifndef KVFS_NODES_INT_H
#define KVFS_NODES_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "fs/nodes.h"

struct opener {
	struct node_open *o;
	int pid;
	struct opener *next;
};

/*
 * A writer sent back with -ESTALE from a name whose node readers held
 * through the page cache: until it opens again (or for SENT_BACK_MS), no
 * reader of that name reads through the page cache, so that the new node
 * the kernel looks up for it has no such reader when it arrives; nor
 * does any reader open the node its retry's lookup gave it, at whatever
 * name (a rename may have moved the node it was sent back from).
 */
#define SENT_BACK	64
#define SENT_BACK_MS	5000

struct sent_back {
	const struct node *parent;
	char *name;		/* NULL: a free entry */
	size_t len;
	int pid;
	const struct node *node; /* the retry's node, kept for it */
	int64_t until;		/* CLOCK_MONOTONIC, in ms */
};

/* Changes at names, counted in a few slots that names share. */
#define STAMPS		256

struct nodes {
	pthread_mutex_t lock;
	struct node root;	/* also the head of the ring of live nodes */
	struct node **buckets;
	size_t nbuckets, count;	/* count: nodes hashed */
	struct node **ibuckets;	/* every node but the root, by inode number */
	size_t nibuckets;
	size_t live;		/* nodes allocated (changed under lock,
				 * read without) */
	pthread_rwlock_t paths;	/* written by a rename, read by an operation
				 * on a name in a directory (nodes.h) */
	uint64_t version;	/* renames finished so far */
	unsigned renaming;	/* renames under way: the store moved, the
				 * nodes maybe not yet */
	pthread_cond_t renamed;	/* signalled as each of them ends */
	pthread_cond_t put;	/* signalled as a found open file is put */
	uint64_t stamps[STAMPS]; /* the last change of the nodes at names,
				  * by hash: a value of seq */
	uint64_t seq;		/* changes at all names so far */
	struct sent_back sent[SENT_BACK];
};

static inline size_t nt_hash(const struct node *parent, const char *name,
			     size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (uintptr_t)parent;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

static inline struct node **nt_ibucket(struct nodes *t, uint64_t ino)
{
	return &t->ibuckets[(ino * 0x9e3779b97f4a7c15ull >> 20) %
			    t->nibuckets];
}

/* The chain that holds (parent, name). */
static inline struct node **nt_bucket(struct nodes *t,
				      const struct node *parent,
				      const char *name, size_t len)
{
	return &t->buckets[nt_hash(parent, name, len) % t->nbuckets];
}

static inline bool nt_named(const struct node *n, const struct node *parent,
			    const char *name, size_t len)
{
	return n->parent == parent && n->namelen == len &&
	       !memcmp(n->name, name, len);
}

static inline int64_t nt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When the nodes at (parent, name) last changed (a value of seq); lock
 * held. */
static inline uint64_t *nt_stamp_of(struct nodes *t,
				    const struct node *parent,
				    const char *name, size_t len)
{
	return &t->stamps[nt_hash(parent, name, len) % STAMPS];
}

/* The nodes at (parent, name) change now; lock held. */
static inline void nt_stamp(struct nodes *t, const struct node *parent,
			    const char *name, size_t len)
{
	*nt_stamp_of(t, parent, name, len) = ++t->seq;
}

/* Whether a reader has n open (or a lookup's retry offer holds it). */
static inline bool nt_read_open(const struct node *n)
{
	return n->opens > n->writers;
}

/* Take n out of the ring of live nodes. */
void nt_unlink_node(struct node *n);

/* Put n at the front of the ring: the most recently used. */
void nt_link_front(struct nodes *t, struct node *n);

/* Add n to the inode number hash. */
void nt_iadd(struct nodes *t, struct node *n);

/* The current node at (parent, name), or NULL. */
struct node *nt_find(struct nodes *t, const struct node *parent,
		     const char *name, size_t len);

/* Take n out of the name hash: it has no name any more. */
void nt_unhash(struct nodes *t, struct node *n);

/*
 * The nodes at (parent, name) lose it: all of them (keep NULL: the key is
 * gone), or those of another inode than *keep (nodes.c).
 */
void nt_clear_name(struct nodes *t, const struct node *parent,
		   const char *name, size_t len, const uint64_t *keep);

/* Put n in the name hash at its name, current (attached) or not. */
void nt_rehash(struct nodes *t, struct node *n, bool attached);

/* Free n, and parents it kept alive, once nothing needs them. */
void nt_maybe_free(struct nodes *t, struct node *n);

/*
 * The live entry of thread pid if n is NULL, else of any thread at n's
 * name, in the table of writers sent back; expired ones go.
 */
struct sent_back *nt_sent_back(struct nodes *t, const struct node *n,
			       int pid);

/* Is n the node a writer sent back looked up for its retry? */
bool nt_kept_for_writer(struct nodes *t, const struct node *n);

/* The nodes at n's name change (a new value, none). */
void nt_touch(struct nodes *t, const struct node *n);

#endif
