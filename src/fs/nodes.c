/*
 * nodes.c - the node table: a hash of (parent, name) over nodes that live
 * while the kernel remembers them, a handle is open on them, or a child
 * needs them for its path.
 *
 * One mutex guards the table; every critical section is a few pointer
 * moves or a path copy, never storage work.  A read-write lock, held
 * across storage work, orders renames with what is done to names in the
 * directories they move (nodes_hold_paths).  A node's id for the kernel
 * is its address, as in libfuse's passthrough_ll.
 *
 * This file is the table's core: the hashes by name and by inode number,
 * the ring of live nodes, their freeing, the stamps of changes at names,
 * and the writers sent back.  What opens do to nodes is nodes_open.c's,
 * what names do nodes_name.c's; both call only the core (nodes_int.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/nodes.h"
#include "fs/nodes_int.h"

int nodes_new(struct nodes **out)
{
	struct nodes *t = calloc(1, sizeof(*t));
	pthread_rwlockattr_t rwa;

	if (!t)
		return -ENOMEM;
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->nibuckets = 1024;
	t->ibuckets = calloc(t->nibuckets, sizeof(*t->ibuckets));
	if (!t->buckets || !t->ibuckets) {
		free(t->buckets);
		free(t->ibuckets);
		free(t);
		return -ENOMEM;
	}
	pthread_rwlockattr_init(&rwa);
	/* a rename waits for the operations under way, not for later ones */
	pthread_rwlockattr_setkind_np(&rwa,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->paths, &rwa);
	pthread_rwlockattr_destroy(&rwa);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->renamed, NULL);
	pthread_cond_init(&t->put, NULL);
	t->root.nlookup = 1;
	t->root.attached = true;
	t->root.name = (char *)"";
	t->root.ino = 1;
	t->root.prev = t->root.next = &t->root;
	*out = t;
	return 0;
}

/* Take n out of the ring of live nodes. */
void nt_unlink_node(struct node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

/* Put n at the front of the ring: the most recently used. */
void nt_link_front(struct nodes *t, struct node *n)
{
	n->prev = &t->root;
	n->next = t->root.next;
	n->next->prev = n;
	t->root.next = n;
}

/* Double the inode number hash, when it can. */
static void igrow(struct nodes *t)
{
	size_t nb = t->nibuckets * 2, i;
	struct node **b = calloc(nb, sizeof(*b)), **old = t->ibuckets, *n;
	size_t oldn = t->nibuckets;

	if (!b)
		return;
	t->ibuckets = b;
	t->nibuckets = nb;
	for (i = 0; i < oldn; i++) {
		while ((n = old[i])) {
			struct node **pp = nt_ibucket(t, n->ino);

			old[i] = n->inext;
			n->inext = *pp;
			*pp = n;
		}
	}
	free(old);
}

void nt_iadd(struct nodes *t, struct node *n)
{
	struct node **pp = nt_ibucket(t, n->ino);

	n->inext = *pp;
	*pp = n;
	if (t->live > t->nibuckets * 2)
		igrow(t);
}

static void idel(struct nodes *t, struct node *n)
{
	struct node **pp = nt_ibucket(t, n->ino);

	while (*pp && *pp != n)
		pp = &(*pp)->inext;
	if (*pp)
		*pp = n->inext;
}

static void free_node(struct nodes *t, struct node *n)
{
	if (n->parent)
		idel(t, n);
	while (n->openers) {
		struct opener *o = n->openers;

		n->openers = o->next;
		free(o);
	}
	nt_unlink_node(n);
	__atomic_sub_fetch(&t->live, 1, __ATOMIC_RELAXED);
	free(n->name);
	free(n);
}

void nodes_free(struct nodes *t)
{
	size_t i;

	for (i = 0; i < SENT_BACK; i++)
		free(t->sent[i].name);
	/* at unmount every node goes, whatever the kernel still held */
	while (t->root.next != &t->root)
		free_node(t, t->root.next);
	free(t->buckets);
	free(t->ibuckets);
	pthread_cond_destroy(&t->renamed);
	pthread_cond_destroy(&t->put);
	pthread_mutex_destroy(&t->lock);
	pthread_rwlock_destroy(&t->paths);
	free(t);
}

struct node *nodes_root(struct nodes *t)
{
	return &t->root;
}

uint64_t nodes_id(const struct node *n)
{
	return n->parent ? (uint64_t)(uintptr_t)n : 1;
}

struct node *nodes_get(struct nodes *t, uint64_t id)
{
	return id == 1 ? &t->root : (struct node *)(uintptr_t)id;
}

/* The current node at (parent, name), or NULL. */
struct node *nt_find(struct nodes *t, const struct node *parent,
		     const char *name, size_t len)
{
	struct node *n = *nt_bucket(t, parent, name, len);

	while (n && !(n->attached && nt_named(n, parent, name, len)))
		n = n->hnext;
	return n;
}

void nt_unhash(struct nodes *t, struct node *n)
{
	struct node **pp;

	if (!n->hashed)
		return;
	pp = nt_bucket(t, n->parent, n->name, n->namelen);
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->hnext = NULL;
	n->hashed = n->attached = false;
	t->count--;
}

/*
 * The nodes at (parent, name) lose it: all of them (keep NULL: the key is
 * gone), or those of another inode than *keep, while the older nodes of
 * inode *keep stay there, superseded, for the kernel's dentries not yet
 * dropped.
 */
void nt_clear_name(struct nodes *t, const struct node *parent,
		   const char *name, size_t len, const uint64_t *keep)
{
	struct node **pp = nt_bucket(t, parent, name, len), *n;

	while ((n = *pp)) {
		if (!nt_named(n, parent, name, len)) {
			pp = &n->hnext;
		} else if (keep && n->ino == *keep) {
			n->attached = false;
			pp = &n->hnext;
		} else {
			nt_unhash(t, n);
		}
	}
}

static void grow(struct nodes *t)
{
	size_t nb = t->nbuckets * 2, i;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		struct node *n = t->buckets[i], *next;

		for (; n; n = next) {
			size_t h = nt_hash(n->parent, n->name, n->namelen) % nb;

			next = n->hnext;
			n->hnext = b[h];
			b[h] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

void nt_rehash(struct nodes *t, struct node *n, bool attached)
{
	struct node **pp = nt_bucket(t, n->parent, n->name, n->namelen);

	n->hnext = *pp;
	*pp = n;
	n->hashed = true;
	n->attached = attached;
	if (++t->count > t->nbuckets * 2)
		grow(t);
}

/* Free n, and parents it kept alive, once nothing needs them. */
/* n goes: no entry keeps it for a writer any more (an address reused
 * would look kept). */
static void forget_kept(struct nodes *t, const struct node *n)
{
	size_t i;

	for (i = 0; i < SENT_BACK; i++)
		if (t->sent[i].node == n)
			t->sent[i].node = NULL;
}

void nt_maybe_free(struct nodes *t, struct node *n)
{
	while (n && n->parent && !n->nlookup && !n->opens && !n->children) {
		struct node *parent = n->parent;

		nt_unhash(t, n);
		forget_kept(t, n);
		free_node(t, n);
		parent->children--;
		n = parent;
	}
}

/*
 * The live entry of thread pid if n is NULL (the kernel retries by the
 * path the program gave, which may no longer be n's: a rename may have
 * moved n), else of any thread at n's name; expired ones go.
 */
struct sent_back *nt_sent_back(struct nodes *t, const struct node *n,
			       int pid)
{
	int64_t now = nt_now_ms();
	size_t i;

	for (i = 0; i < SENT_BACK; i++) {
		struct sent_back *e = &t->sent[i];

		if (e->name && e->until <= now) {
			free(e->name);
			e->name = NULL;
		}
		if (!e->name)
			continue;
		if (n ? e->parent == n->parent && e->len == n->namelen &&
			!memcmp(e->name, n->name, n->namelen)
		      : e->pid == pid)
			return e;
	}
	return NULL;
}

/* Is n the node a writer sent back looked up for its retry? */
bool nt_kept_for_writer(struct nodes *t, const struct node *n)
{
	int64_t now = nt_now_ms();
	size_t i;

	for (i = 0; i < SENT_BACK; i++)
		if (t->sent[i].name && t->sent[i].node == n &&
		    t->sent[i].until > now)
			return true;
	return false;
}

/* The nodes at n's name change (a new value, none); lock held. */
void nt_touch(struct nodes *t, const struct node *n)
{
	if (n && n->parent)
		nt_stamp(t, n->parent, n->name, n->namelen);
}

uint64_t nodes_stamp(struct nodes *t, const struct node *parent,
		     const char *name, size_t len)
{
	uint64_t s;

	pthread_mutex_lock(&t->lock);
	s = *nt_stamp_of(t, parent, name, len);
	pthread_mutex_unlock(&t->lock);
	return s;
}

uint64_t nodes_stamp_all(struct nodes *t)
{
	uint64_t s;

	pthread_mutex_lock(&t->lock);
	s = t->seq;
	pthread_mutex_unlock(&t->lock);
	return s;
}

size_t nodes_live(struct nodes *t)
{
	/* read on every lookup: no lock, a count a moment old will do */
	return __atomic_load_n(&t->live, __ATOMIC_RELAXED);
}

size_t nodes_oldest(struct nodes *t, size_t max, struct inval *out)
{
	struct node *n, *prev;
	size_t seen, found = 0;

	pthread_mutex_lock(&t->lock);
	for (n = t->root.prev, seen = 0; n != &t->root && seen < max &&
	     seen < t->live;
	     n = prev, seen++) {
		prev = n->prev;
		/* looked at: not again before the others */
		nt_unlink_node(n);
		nt_link_front(t, n);
		if (!n->hashed || !n->nlookup || n->opens || n->children ||
		    node_level(n) != LEVEL_KEY)
			continue;
		/* with its NUL: the kernel is sent namelen + 1 bytes */
		out[found].name = strndup(n->name, n->namelen);
		if (!out[found].name)
			break;
		out[found].len = n->namelen;
		out[found].parent = nodes_id(n->parent);
		found++;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}
