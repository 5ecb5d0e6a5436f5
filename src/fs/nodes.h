/*
 * nodes.h - the inodes the kernel knows, and the paths they stand for.
 *
 * The kernel names a file by a node id it got from a lookup; a node here
 * holds its parent and its name, so that its namespace and key follow by
 * walking up, and a rename is one node moved.  A node of a key is bound
 * to one generation of the key's value at a time.  When a writer commits
 * a new value, no reader holds the node and the kernel's inode already
 * has the new size, the node is rebound to the new generation in place
 * (nodes_rebind_current): the kernel keeps its dentry and inode, and
 * drops only the inode's attributes, and its page cache is not reused by
 * the next reader (nodes_keep_cache).  Otherwise the node is superseded
 * and the kernel's dentry dropped, so that later lookups get a fresh
 * inode (and a fresh page cache) while readers of the old value keep
 * theirs, as after a rename over the file.  Until the kernel has dropped
 * it, its dentry still leads to the superseded node, which therefore
 * keeps the name (and follows it through renames).  A node's page cache
 * only ever holds bytes of its own generation, and every reader of a
 * node reads that generation: an open by a superseded node gets it from
 * a handle still holding it, or is sent back with -ESTALE so that the
 * kernel looks the name up again (ops_file.c).  Once no handle holds a
 * superseded node, a stat by it gives the key's current size
 * (nodes_own_size).
 */
#ifndef KVFS_NODES_H
#define KVFS_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/options.h"
#include "store/store.h"

struct opener;
struct inval;

/*
 * An open file as its node knows it (embedded in the handle), and by which
 * process: so that a stat(2) of that process, which the kernel sends with
 * no handle and with the calling thread's id, answers what that process
 * wrote (nodes_find_open).
 */
struct node_open {
	struct node_open *next;
	int pid;		/* the opening thread */
	int last;		/* the last thread to write through it */
	bool writer;
	bool paged;		/* a writer through the page cache */
	bool clean;		/* a writer around it, all committed */
	uint64_t gen;		/* a reader: the value generation it holds */
	unsigned refs;		/* taken by nodes_find_open(), not yet put */
};

struct node {
	uint64_t nlookup;	/* lookups the kernel has not forgotten */
	unsigned opens;		/* open file and directory handles: */
	unsigned cached;	/* readers through the page cache */
	unsigned writers;	/* writers */
	unsigned children;	/* nodes whose parent this is */
	struct node *parent;	/* NULL for the root */
	struct node *hnext;	/* chain in the (parent, name) hash */
	struct node *inext;	/* chain in the inode number hash */
	struct node *prev, *next; /* every live node, to free at unmount */
	bool elsewhere;		/* another host deleted or replaced its
				 * key (nodes_changed_path) */
	bool hashed;		/* reachable by (parent, name): ... */
	bool attached;		/* ... as its current node */
	uint64_t gen;		/* value generation (keys) ... */
	uint64_t size;		/* ... and its size */
	uint64_t cache_gen;	/* the generation the kernel's page cache
				 * may hold, 0: unknown (nodes_keep_cache) */
	uint64_t told;		/* replies begun that may set the kernel's
				 * size of it (nodes_told) */
	uint64_t ino;		/* the stored inode number */
	struct timespec set_mtime; /* set by utimensat while open ... */
	bool has_set_mtime;	/* ... and not written since */
	struct opener *openers;	/* writer files just opened */
	struct node_open *files; /* open files, for answers by process */
	size_t namelen;
	char *name;
};

/* What a node is: the root, a namespace, or a key or directory in one. */
enum node_level { LEVEL_ROOT, LEVEL_NS, LEVEL_KEY };

static inline enum node_level node_level(const struct node *n)
{
	return !n->parent ? LEVEL_ROOT : !n->parent->parent ? LEVEL_NS
							     : LEVEL_KEY;
}

/* A node's place in the store: namespace and key. */
struct kpath {
	enum node_level level;
	char ns[64];
	size_t len;
	char key[KVFS_KEY_SIZE_CEIL + 2];
};

struct nodes;

int nodes_new(struct nodes **out);
void nodes_free(struct nodes *t);

struct node *nodes_root(struct nodes *t);
uint64_t nodes_id(const struct node *n);
struct node *nodes_get(struct nodes *t, uint64_t id);

/*
 * The node for name in parent after a successful lookup: the attached one
 * if it has the same inode number and generation, else a new one that
 * replaces it.  Counts one lookup.  NULL when out of memory.
 */
struct node *nodes_lookup(struct nodes *t, struct node *parent,
			  const char *name, size_t len, uint64_t ino,
			  uint64_t gen, uint64_t size);

/*
 * The same for the lookup by thread pid of attributes read from the store
 * after nodes_stamp() gave *stamp: 0 with *out, -ENOMEM, or -EAGAIN if a
 * commit, truncation, expiry or unlink at that name has touched the nodes
 * since (the attributes may be of a value the key no longer has: read them
 * again); stamp NULL: not checked.  reader: the lookup of a reader sent
 * back, which gets a node no writer holds; a writer sent back (thread pid,
 * 0 for a directory, whose node must stay the one its children hang from)
 * gets one no reader holds.
 */
uint64_t nodes_stamp(struct nodes *t, const struct node *parent,
		     const char *name, size_t len);
/*
 * A stamp that stands for every name at once, as nodes_stamp() would give
 * for each: for a listing, whose names are known only once it has read
 * the store.
 */
uint64_t nodes_stamp_all(struct nodes *t);
int nodes_lookup_since(struct nodes *t, struct node *parent,
		       const char *name, size_t len, uint64_t ino,
		       uint64_t gen, uint64_t size, const uint64_t *stamp,
		       bool reader, int pid, struct node **out);

/* The kernel forgets nlookup lookups of n. */
void nodes_forget(struct nodes *t, struct node *n, uint64_t nlookup);

/*
 * How a handle uses its node.  The kernel keeps one page cache and one
 * size per node, and a writer's writes, truncations and the answers to
 * its process's stat move that size off the value that readers of the
 * node opened (an mmap sized by fstat would be cut short); so readers and
 * writers do not share a node.  One that opens a node the other kind
 * holds is sent back with -ESTALE, the node is superseded, and the
 * kernel, which retries an open or a truncate that failed so once, looks
 * the name up again and finds a new node.  A writer sent back keeps
 * readers off the name until the writer of process pid has opened the
 * new node (or for some seconds, if it never does).  A reader sent back
 * is not sent back again (USE_REREAD; retry.h).  Readers read through
 * the page cache (USE_CACHED) unless such a retry shares a writer's node.
 */
enum node_use { USE_DIRECT, USE_CACHED, USE_WRITE, USE_REREAD };

/*
 * Count an open handle on n that would use it as *use: USE_CACHED may fail
 * with -ESTALE; USE_REREAD becomes USE_CACHED, or USE_DIRECT where
 * USE_CACHED would fail; USE_WRITE may fail with -ESTALE.  pid: the
 * opener.
 */
int nodes_open(struct nodes *t, struct node *n, enum node_use *use,
	       int pid);
/* Its release. */
void nodes_release(struct nodes *t, struct node *n, enum node_use use);

/*
 * An open file on n, opened by thread pid, and its release (which waits
 * for those who found it with nodes_find_open() or nodes_take_opener() to
 * put it).  paged: a writer whose writes go through the kernel's page
 * cache; gen: a reader's value generation.
 */
void nodes_add_open(struct nodes *t, struct node *n, struct node_open *o,
		    int pid, bool writer, bool paged, uint64_t gen);
void nodes_del_open(struct nodes *t, struct node *n, struct node_open *o);

/* Thread pid writes through o (no lock: one word). */
void nodes_open_used(struct node_open *o, int pid);

/*
 * Whether o, a writer around the page cache (whose writes all reach the
 * daemon), holds nothing uncommitted: its content is then a value the
 * key had, and its process sees the key's (OPEN_OWN passes it over), so
 * that a writer closed but not yet released does not answer for a value
 * committed since.  No lock: one word.
 */
void nodes_open_clean(struct node_open *o, bool clean);

/* Which open file nodes_find_open() looks for, in this order: */
#define OPEN_OWN	(1u << 0)  /* a writer of thread pid's process,
				    * not clean */
#define OPEN_PAGED	(1u << 1)  /* a writer through the page cache */
#define OPEN_ANY	(1u << 2)  /* any writer, then any reader */
#define OPEN_GEN	(1u << 3)  /* a reader of n's own generation */

/*
 * An open file on n to answer thread pid from, of the kinds in how, held
 * until nodes_put_open(); NULL if none.
 */
struct node_open *nodes_find_open(struct nodes *t, struct node *n, int pid,
				  unsigned how);
void nodes_put_open(struct nodes *t, struct node_open *o);

/*
 * At unmount: the open files still on any node (the kernel sends no
 * release after an aborted connection), taken off their nodes, chained by
 * their next.
 */
struct node_open *nodes_take_all_open(struct nodes *t);

/* Whether n still has a name (a key unlinked or replaced has none). */
bool nodes_named(struct nodes *t, struct node *n);

/* Whether a writer has n open. */
bool nodes_writing(struct nodes *t, struct node *n);

/*
 * Where n is now, and the rename count at that moment: an operation that
 * failed with -ENOENT may retry if nodes_moved() says a rename came in
 * between.  -ENAMETOOLONG if the path does not fit.
 */
int nodes_path(struct nodes *t, struct node *n, struct kpath *p,
	       uint64_t *version);
/*
 * Whether a rename has ended since version was read, first waiting for
 * those under way: one may have moved the key in the store already and
 * not yet moved its nodes.
 */
bool nodes_moved(struct nodes *t, uint64_t version);

/*
 * A rename runs between these two, from reading its paths through the
 * store's commit to nodes_rename() if that succeeded: operations that
 * found the key gone from the path they took wait for its end.
 */
void nodes_rename_begin(struct nodes *t);
void nodes_rename_end(struct nodes *t);

/*
 * An operation on a name in a directory (lookup, create, mkdir, symlink,
 * unlink, rmdir) runs between these two, from reading the name's path to
 * the store's answer or commit, and no rename runs meanwhile: it finds
 * the directory where the store has it, as before a rename or as after,
 * and its new name goes there.  Not taken twice by one thread, nor
 * around anything that waits for the kernel.
 */
void nodes_hold_paths(struct nodes *t);
void nodes_release_paths(struct nodes *t);

/* Path of the child name of parent (for lookup, create, rename). */
int nodes_child_path(struct nodes *t, struct node *parent, const char *name,
		     size_t len, struct kpath *p);

/*
 * Supersede the current node at n's name, n or a newer one (the key was
 * given a new value): its id, or 0 if none was current.  With parent_id
 * and name non-NULL, give what the kernel's dentry is called so the
 * caller can invalidate it: *name is malloc'd (NULL if n has no name, or
 * out of memory).
 */
uint64_t nodes_detach(struct nodes *t, struct node *n, uint64_t *parent_id,
		  char **name, size_t *namelen);

/*
 * What the kernel's dentry of n is called now, if n has a name, as
 * nodes_detach() returns it, superseding nothing: for a dentry to drop
 * when the key's value did not change (an expiration), or changed
 * before a rename that moved the dentry (an fsync's commit, at flush).
 */
void nodes_name(struct nodes *t, struct node *n, uint64_t *parent_id,
		char **name, size_t *namelen);

/* Test builds: hold a request at point by the name n has now (hooks.h). */
void nodes_hook(struct nodes *t, struct node *n, const char *point);

/*
 * The key (len bytes) in namespace ns is gone (expired): its nodes, if the
 * kernel has one, lose the name; return its dentry as nodes_detach() does:
 * 0, -ENOENT (no node), -ENOMEM.
 */
int nodes_detach_path(struct nodes *t, const char *ns, const char *key,
		      size_t len, uint64_t *parent_id, char **name,
		      size_t *namelen);

/*
 * A rename of the key with inode number ino: move its nodes, current,
 * superseded or not hashed at all (a lookup that raced a rename may have
 * put another in its place), and any other node at (parent, name), to
 * (newparent, newname), whose nodes lose it.
 */
int nodes_rename(struct nodes *t, struct node *parent, const char *name,
		 size_t len, struct node *newparent, const char *newname,
		 size_t newlen, uint64_t ino);

/*
 * Another host changed the key (len bytes; 0: the namespace ns itself),
 * and the store has applied it (fs/follow.c): it is gone (ino 0), or its
 * record is new, with inode number ino, value generation gen (node_gen),
 * and dir if it is a directory.  A node of the same inode and value (a
 * directory, whose children hang from it, or a key whose metadata,
 * expiration or mode changed) stays, and *self_id is it, whose
 * attributes to drop; else its nodes lose the name, as after an unlink
 * or a new value.  *inv gets the kernel's dentry to drop, but a
 * directory's that stays (name NULL if none, or out of memory).
 * *parent_id: the node of the directory the name is in, whose attributes
 * changed too (0: the kernel knows none).
 */
void nodes_changed_path(struct nodes *t, const char *ns, const char *key,
			size_t len, uint64_t ino, uint64_t gen, bool dir,
			struct inval *inv, uint64_t *parent_id,
			uint64_t *self_id);

/* Whether another host deleted or replaced the key n stood for. */
bool nodes_elsewhere(struct nodes *t, struct node *n);

/* The key at (parent, name) is gone: its nodes lose the name. */
void nodes_unlink(struct nodes *t, struct node *parent, const char *name,
		  size_t len);

/* n now stands for generation gen of its key (changed in place). */
void nodes_rebind(struct nodes *t, struct node *n, uint64_t gen,
		  uint64_t size);

/*
 * A reply that may set the kernel's size of n is on its way: attributes
 * (getattr, setattr, an entry of a lookup or a listing) or a reader's
 * READ that reaches past the value's end (a short one cuts the size).
 * Counted before the store is read, or, for an entry, when its node is
 * found (a commit's rebind after the read sends the lookup back,
 * nodes_lookup_since).  The kernel takes the size of each reply it
 * applies as the inode's; one sent before an invalidation but applied
 * after it does not change it.
 */
void nodes_told(struct nodes *t, struct node *n);

/*
 * What a writer opening n (or creating it) starts from: the count of
 * replies told of n so far (*told) and n's size (*size), which is the
 * kernel's inode size while no writer has n open and the key's value is
 * n's generation.
 */
void nodes_writer_view(struct nodes *t, struct node *n, uint64_t *told,
		       uint64_t *size);

/*
 * A writer on n committed generation gen (size bytes) of the key with
 * inode number ino: rebind n to it in place, if n is the current node at
 * its name, no reader holds it (nor a lookup's retry offer), no writer
 * was sent back from it, gen is newer than n's, the writer is n's only
 * one, and the kernel's inode already has the new size: no reply of n's
 * attributes went out but the writer's own (n's count is still told),
 * and its own replies and writes left the kernel's size at ksize, which
 * is size.  The kernel fills a stat from its cache without its lock, so a
 * stat beside the reply that brings the new attributes in can see some of
 * them and some of the old ones: with the size already right, never an
 * old size.  Then the kernel's dentry stays, leading to n, which stands
 * for the new value; its cached attributes must be dropped (inval_inode)
 * and its page cache is not reused (nodes_keep_cache).  false: nothing
 * changed, supersede n (nodes_detach), which gives the name a new inode.
 */
bool nodes_rebind_current(struct nodes *t, struct node *n, uint64_t ino,
			  uint64_t gen, uint64_t size, uint64_t told,
			  uint64_t ksize);

/*
 * A reader through the page cache opens generation gen of n: whether the
 * kernel may keep n's cached pages (they are of gen, since nothing but
 * readers of gen filled them), noting gen as the generation they are of
 * from now on.  A writer's open, or a rebind, makes it unknown.
 */
bool nodes_keep_cache(struct nodes *t, struct node *n, uint64_t gen);

/*
 * A key's attributes a (from the store) as node n shows them.  When the
 * key has moved on from n's generation and a handle is still open on n,
 * the size of n's generation, so that readers still holding n read the
 * whole of the value they opened: true, and the reply must not let the
 * kernel cache it.  Otherwise the key's size as it is: once no handle
 * holds a superseded node it stands for the key's current value, which
 * is what its dentry, if the kernel still has one, leads stat and open
 * to.
 */
bool nodes_own_size(struct nodes *t, struct node *n, struct kv_attr *a);

/*
 * An mtime set explicitly while n is open outlives the writes before it:
 * note it (ts) or forget it (NULL, on a write); take it at commit.
 */
void nodes_note_mtime(struct nodes *t, struct node *n,
		      const struct timespec *ts);
bool nodes_take_mtime(struct nodes *t, struct node *n, struct timespec *ts);

/*
 * The writers just opened on n (open files added by nodes_add_open), and
 * by which thread, to which the truncation of an open(O_TRUNC) that
 * follows belongs: add one, take the one of thread pid (once; held until
 * nodes_put_open(), so that its release waits), or clear o once it
 * writes, flushes or closes.  nodes_set_opener returns -ENOMEM or 0.
 */
int nodes_set_opener(struct nodes *t, struct node *n, struct node_open *o,
		     int pid);
struct node_open *nodes_take_opener(struct nodes *t, struct node *n,
				    int pid);
void nodes_clear_opener(struct nodes *t, struct node *n,
			struct node_open *o);

/* A kernel dentry to drop once no lock is held: parent's id and a name. */
struct inval {
	uint64_t parent;
	char *name;	/* malloc'd, len bytes and a NUL */
	size_t len;
};

/* How many nodes the table holds. */
size_t nodes_live(struct nodes *t);

/*
 * The dentries of the least recently looked-up of the max oldest nodes
 * that the kernel may forget (keys and directories below a namespace, with
 * no open handle and no child node), in out[] (room for max): their count.
 * Each node looked at counts as used, so that one the kernel keeps is not
 * asked for again before the others.
 */
size_t nodes_oldest(struct nodes *t, size_t max, struct inval *out);

#endif
