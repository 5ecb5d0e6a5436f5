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
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	uint64_t stamps[STAMPS]; /* changes of the nodes at names, by hash */
	struct sent_back sent[SENT_BACK];
};

static size_t hash(const struct node *parent, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (uintptr_t)parent;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

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
static void unlink_node(struct node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

/* Put n at the front of the ring: the most recently used. */
static void link_front(struct nodes *t, struct node *n)
{
	n->prev = &t->root;
	n->next = t->root.next;
	n->next->prev = n;
	t->root.next = n;
}

static struct node **ibucket(struct nodes *t, uint64_t ino)
{
	return &t->ibuckets[(ino * 0x9e3779b97f4a7c15ull >> 20) %
			    t->nibuckets];
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
			struct node **pp = ibucket(t, n->ino);

			old[i] = n->inext;
			n->inext = *pp;
			*pp = n;
		}
	}
	free(old);
}

static void iadd(struct nodes *t, struct node *n)
{
	struct node **pp = ibucket(t, n->ino);

	n->inext = *pp;
	*pp = n;
	if (t->live > t->nibuckets * 2)
		igrow(t);
}

static void idel(struct nodes *t, struct node *n)
{
	struct node **pp = ibucket(t, n->ino);

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
	unlink_node(n);
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

/* The chain that holds (parent, name). */
static struct node **bucket(struct nodes *t, const struct node *parent,
			    const char *name, size_t len)
{
	return &t->buckets[hash(parent, name, len) % t->nbuckets];
}

static bool named(const struct node *n, const struct node *parent,
		  const char *name, size_t len)
{
	return n->parent == parent && n->namelen == len &&
	       !memcmp(n->name, name, len);
}

/* The current node at (parent, name), or NULL. */
static struct node *find(struct nodes *t, const struct node *parent,
			 const char *name, size_t len)
{
	struct node *n = *bucket(t, parent, name, len);

	while (n && !(n->attached && named(n, parent, name, len)))
		n = n->hnext;
	return n;
}

static void unhash(struct nodes *t, struct node *n)
{
	struct node **pp;

	if (!n->hashed)
		return;
	pp = bucket(t, n->parent, n->name, n->namelen);
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
static void clear_name(struct nodes *t, const struct node *parent,
		       const char *name, size_t len, const uint64_t *keep)
{
	struct node **pp = bucket(t, parent, name, len), *n;

	while ((n = *pp)) {
		if (!named(n, parent, name, len)) {
			pp = &n->hnext;
		} else if (keep && n->ino == *keep) {
			n->attached = false;
			pp = &n->hnext;
		} else {
			unhash(t, n);
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
			size_t h = hash(n->parent, n->name, n->namelen) % nb;

			next = n->hnext;
			n->hnext = b[h];
			b[h] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static void rehash(struct nodes *t, struct node *n, bool attached)
{
	struct node **pp = bucket(t, n->parent, n->name, n->namelen);

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

static void maybe_free(struct nodes *t, struct node *n)
{
	while (n && n->parent && !n->nlookup && !n->opens && !n->children) {
		struct node *parent = n->parent;

		unhash(t, n);
		forget_kept(t, n);
		free_node(t, n);
		parent->children--;
		n = parent;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The live entry of thread pid if n is NULL (the kernel retries by the
 * path the program gave, which may no longer be n's: a rename may have
 * moved n), else of any thread at n's name; expired ones go.
 */
static struct sent_back *sent_back(struct nodes *t, const struct node *n,
				   int pid)
{
	int64_t now = now_ms();
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
static bool kept_for_writer(struct nodes *t, const struct node *n)
{
	int64_t now = now_ms();
	size_t i;

	for (i = 0; i < SENT_BACK; i++)
		if (t->sent[i].name && t->sent[i].node == n &&
		    t->sent[i].until > now)
			return true;
	return false;
}

/* The change count at (parent, name); lock held. */
static uint64_t *stamp_of(struct nodes *t, const struct node *parent,
			  const char *name, size_t len)
{
	return &t->stamps[hash(parent, name, len) % STAMPS];
}

/* The nodes at n's name change (a new value, none); lock held. */
static void touch(struct nodes *t, const struct node *n)
{
	if (n && n->parent)
		++*stamp_of(t, n->parent, n->name, n->namelen);
}

uint64_t nodes_stamp(struct nodes *t, const struct node *parent,
		     const char *name, size_t len)
{
	uint64_t s;

	pthread_mutex_lock(&t->lock);
	s = *stamp_of(t, parent, name, len);
	pthread_mutex_unlock(&t->lock);
	return s;
}

static struct node *lookup(struct nodes *t, struct node *parent,
			   const char *name, size_t len, uint64_t ino,
			   uint64_t gen, uint64_t size, const uint64_t *stamp,
			   bool reader, int pid, bool *stale);

struct node *nodes_lookup(struct nodes *t, struct node *parent,
			  const char *name, size_t len, uint64_t ino,
			  uint64_t gen, uint64_t size)
{
	return lookup(t, parent, name, len, ino, gen, size, NULL, false, 0,
		      NULL);
}

int nodes_lookup_since(struct nodes *t, struct node *parent,
		       const char *name, size_t len, uint64_t ino,
		       uint64_t gen, uint64_t size, const uint64_t *stamp,
		       bool reader, int pid, struct node **out)
{
	bool stale = false;

	*out = lookup(t, parent, name, len, ino, gen, size, stamp, reader,
		      pid, &stale);
	return *out ? 0 : stale ? -EAGAIN : -ENOMEM;
}

/* Whether a reader has n open (or a lookup's retry offer holds it). */
static bool read_open(const struct node *n)
{
	return n->opens > n->writers;
}

static struct node *lookup(struct nodes *t, struct node *parent,
			   const char *name, size_t len, uint64_t ino,
			   uint64_t gen, uint64_t size, const uint64_t *stamp,
			   bool reader, int pid, bool *stale)
{
	struct sent_back *writer;
	struct node *n, *old;

	pthread_mutex_lock(&t->lock);
	if (stamp && *stamp != *stamp_of(t, parent, name, len)) {
		*stale = true;
		pthread_mutex_unlock(&t->lock);
		return NULL;
	}
	old = find(t, parent, name, len);
	/*
	 * A writer sent back (nodes_open) looks the name up again: it gets
	 * a node without readers, even if one came to the name meanwhile by
	 * a rename, or it was sent back from another name (its node was
	 * renamed away); a reader sent back, one without writers.
	 */
	writer = pid ? sent_back(t, NULL, pid) : NULL;
	if (old && old->ino == ino && old->gen == gen &&
	    !(read_open(old) && (sent_back(t, old, 0) || writer)) &&
	    !(reader && (old->writers || sent_back(t, old, 0) ||
			 kept_for_writer(t, old)))) {
		old->nlookup++;
		unlink_node(old);
		link_front(t, old);
		if (writer)
			writer->node = old;
		pthread_mutex_unlock(&t->lock);
		return old;
	}
	n = calloc(1, sizeof(*n));
	if (n)
		n->name = malloc(len + 1);
	if (!n || !n->name) {
		free(n);
		pthread_mutex_unlock(&t->lock);
		return NULL;
	}
	clear_name(t, parent, name, len, &ino);
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->namelen = len;
	n->parent = parent;
	n->ino = ino;
	n->gen = gen;
	n->size = size;
	n->nlookup = 1;
	parent->children++;
	link_front(t, n);
	__atomic_add_fetch(&t->live, 1, __ATOMIC_RELAXED);
	iadd(t, n);
	rehash(t, n, true);
	if (writer)
		writer->node = n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void nodes_forget(struct nodes *t, struct node *n, uint64_t nlookup)
{
	if (!n->parent)
		return;
	pthread_mutex_lock(&t->lock);
	n->nlookup = nlookup < n->nlookup ? n->nlookup - nlookup : 0;
	maybe_free(t, n);
	pthread_mutex_unlock(&t->lock);
}

/* Note that pid was sent back from n's name (its entry is reused, else a
 * free one, else the one closest to expiring). */
static void send_back(struct nodes *t, const struct node *n, int pid)
{
	struct sent_back *e = sent_back(t, NULL, pid), *old = &t->sent[0];
	char *name;
	size_t i;

	if (!e) {
		for (i = 0; i < SENT_BACK && t->sent[i].name; i++)
			if (t->sent[i].until < old->until)
				old = &t->sent[i];
		e = i < SENT_BACK ? &t->sent[i] : old;
	}
	name = malloc(n->namelen + 1);
	if (!name)
		return;		/* the writer may be sent back twice */
	memcpy(name, n->name, n->namelen + 1);
	free(e->name);
	e->name = name;
	e->len = n->namelen;
	e->parent = n->parent;
	e->pid = pid;
	e->node = NULL;
	e->until = now_ms() + SENT_BACK_MS;
}

int nodes_open(struct nodes *t, struct node *n, enum node_use *use, int pid)
{
	struct node *cur;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	switch (*use) {
	case USE_CACHED:
	case USE_REREAD:
		if (!n->writers && !sent_back(t, n, 0) &&
		    !kept_for_writer(t, n)) {
			*use = USE_CACHED;
			n->cached++;
		} else if (*use == USE_REREAD) {
			*use = USE_DIRECT;
		} else {
			/* its retry's lookup gives it a node of its own */
			rc = -ESTALE;
		}
		break;
	case USE_WRITE:
		/* sent back once already: not again (it shares the node) */
		if (read_open(n) && !(pid && sent_back(t, NULL, pid))) {
			/* a new node for the name, and the writer to it */
			cur = find(t, n->parent, n->name, n->namelen);
			if (cur)
				cur->attached = false;
			send_back(t, n, pid);
			rc = -ESTALE;
			break;
		}
		if (pid) {
			struct sent_back *e = sent_back(t, NULL, pid);

			if (e) {
				free(e->name);
				e->name = NULL;
			}
		}
		n->writers++;
		break;
	case USE_DIRECT:
		break;
	}
	if (!rc)
		n->opens++;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void nodes_release(struct nodes *t, struct node *n, enum node_use use)
{
	pthread_mutex_lock(&t->lock);
	if (use == USE_CACHED)
		n->cached--;
	else if (use == USE_WRITE)
		n->writers--;
	n->opens--;
	maybe_free(t, n);
	pthread_mutex_unlock(&t->lock);
}

/*
 * Whether threads a and b are of one process: FUSE requests carry the
 * calling thread's id, and /proc/A/task lists the threads of A's process.
 */
static bool same_process(int a, int b)
{
	char path[64];

	if (a == b)
		return true;
	if (a <= 0 || b <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", a, b);
	return access(path, F_OK) == 0;
}

void nodes_add_open(struct nodes *t, struct node *n, struct node_open *o,
		    int pid, bool writer, bool paged, uint64_t gen)
{
	o->pid = o->last = pid;
	o->writer = writer;
	o->paged = writer && paged;
	o->clean = writer && !paged;
	o->gen = writer ? 0 : gen;
	o->refs = 0;
	pthread_mutex_lock(&t->lock);
	o->next = n->files;
	n->files = o;
	pthread_mutex_unlock(&t->lock);
}

void nodes_del_open(struct nodes *t, struct node *n, struct node_open *o)
{
	struct node_open **pp;

	pthread_mutex_lock(&t->lock);
	for (pp = &n->files; *pp && *pp != o; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = o->next;
	while (o->refs)
		pthread_cond_wait(&t->put, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

void nodes_open_clean(struct node_open *o, bool clean)
{
	clean = clean && !o->paged;
	if (__atomic_load_n(&o->clean, __ATOMIC_RELAXED) != clean)
		__atomic_store_n(&o->clean, clean, __ATOMIC_RELAXED);
}

void nodes_open_used(struct node_open *o, int pid)
{
	/* read under the table's lock by nodes_find_open(); one word */
	if (pid && __atomic_load_n(&o->last, __ATOMIC_RELAXED) != pid)
		__atomic_store_n(&o->last, pid, __ATOMIC_RELAXED);
}

/* Drop a reference taken under the lock; lock held. */
static void unref(struct nodes *t, struct node_open *o)
{
	if (--o->refs == 0)
		pthread_cond_broadcast(&t->put);
}

#define OWN_CANDIDATES	8

/*
 * A writer on n of thread pid's process, found by thread first; else its
 * process is asked of /proc for each writer (at most OWN_CANDIDATES), with
 * the lock dropped and the writers held meanwhile.  Lock held; NULL if
 * none.  The result is held.
 */
static struct node_open *find_own(struct nodes *t, struct node *n, int pid)
{
	struct node_open *o, *held[OWN_CANDIDATES], *found = NULL;
	size_t count = 0, i;

	for (o = n->files; o; o = o->next)
		if (o->writer && !__atomic_load_n(&o->clean, __ATOMIC_RELAXED) &&
		    (o->pid == pid ||
		     __atomic_load_n(&o->last, __ATOMIC_RELAXED) == pid)) {
			o->refs++;
			return o;
		}
	for (o = n->files; o && count < OWN_CANDIDATES; o = o->next)
		if (o->writer && !__atomic_load_n(&o->clean, __ATOMIC_RELAXED)) {
			o->refs++;
			held[count++] = o;
		}
	if (!count)
		return NULL;
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < count && !found; i++)
		if (same_process(held[i]->pid, pid) ||
		    same_process(__atomic_load_n(&held[i]->last,
						 __ATOMIC_RELAXED), pid))
			found = held[i];
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < count; i++)
		if (held[i] != found)
			unref(t, held[i]);
	return found;
}

struct node_open *nodes_find_open(struct nodes *t, struct node *n, int pid,
				  unsigned how)
{
	struct node_open *o, *found = NULL;

	pthread_mutex_lock(&t->lock);
	if (how & OPEN_OWN)
		found = find_own(t, n, pid);	/* held already */
	if (!found) {
		for (o = n->files; (how & OPEN_GEN) && o && !found;
		     o = o->next)
			if (!o->writer && o->gen == n->gen)
				found = o;
		for (o = n->files; (how & OPEN_PAGED) && o && !found;
		     o = o->next)
			if (o->paged)
				found = o;
		for (o = n->files; (how & OPEN_ANY) && o && !found;
		     o = o->next)
			if (o->writer)
				found = o;
		if ((how & OPEN_ANY) && !found)
			found = n->files;
		if (found)
			found->refs++;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

void nodes_put_open(struct nodes *t, struct node_open *o)
{
	pthread_mutex_lock(&t->lock);
	unref(t, o);
	pthread_mutex_unlock(&t->lock);
}

struct node_open *nodes_take_all_open(struct nodes *t)
{
	struct node_open *all = NULL, *o;
	struct node *n;

	pthread_mutex_lock(&t->lock);
	for (n = t->root.next; n != &t->root; n = n->next) {
		while ((o = n->files)) {
			n->files = o->next;
			o->next = all;
			all = o;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return all;
}

bool nodes_named(struct nodes *t, struct node *n)
{
	bool named;

	pthread_mutex_lock(&t->lock);
	named = !n->parent || n->hashed;
	pthread_mutex_unlock(&t->lock);
	return named;
}

bool nodes_writing(struct nodes *t, struct node *n)
{
	bool w;

	pthread_mutex_lock(&t->lock);
	w = n->writers > 0;
	pthread_mutex_unlock(&t->lock);
	return w;
}

/* Copy the namespace and key of n into p; lock held. */
static int build_path(const struct node *n, struct kpath *p)
{
	const struct node *c;
	size_t len = 0, pos;

	p->level = node_level(n);
	p->ns[0] = '\0';
	p->len = 0;
	p->key[0] = '\0';
	if (p->level == LEVEL_ROOT)
		return 0;
	for (c = n; c->parent->parent; c = c->parent)
		len += c->namelen + 1;
	if (len)
		len--;
	if (len > KVFS_KEY_SIZE_CEIL || c->namelen >= sizeof(p->ns))
		return -ENAMETOOLONG;
	memcpy(p->ns, c->name, c->namelen + 1);
	pos = len;
	for (c = n; c->parent->parent; c = c->parent) {
		pos -= c->namelen;
		memcpy(p->key + pos, c->name, c->namelen);
		if (pos)
			p->key[--pos] = '/';
	}
	p->len = len;
	p->key[len] = '\0';
	return 0;
}

int nodes_path(struct nodes *t, struct node *n, struct kpath *p,
	       uint64_t *version)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = build_path(n, p);
	if (version)
		*version = t->version;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

bool nodes_moved(struct nodes *t, uint64_t version)
{
	bool moved;

	pthread_mutex_lock(&t->lock);
	while (t->renaming && t->version == version)
		pthread_cond_wait(&t->renamed, &t->lock);
	moved = t->version != version;
	pthread_mutex_unlock(&t->lock);
	return moved;
}

void nodes_rename_begin(struct nodes *t)
{
	pthread_rwlock_wrlock(&t->paths);
	pthread_mutex_lock(&t->lock);
	t->renaming++;
	pthread_mutex_unlock(&t->lock);
}

void nodes_rename_end(struct nodes *t)
{
	pthread_mutex_lock(&t->lock);
	t->renaming--;
	t->version++;
	pthread_cond_broadcast(&t->renamed);
	pthread_mutex_unlock(&t->lock);
	pthread_rwlock_unlock(&t->paths);
}

void nodes_hold_paths(struct nodes *t)
{
	pthread_rwlock_rdlock(&t->paths);
}

void nodes_release_paths(struct nodes *t)
{
	pthread_rwlock_unlock(&t->paths);
}

int nodes_child_path(struct nodes *t, struct node *parent, const char *name,
		     size_t len, struct kpath *p)
{
	int rc = nodes_path(t, parent, p, NULL);

	if (rc)
		return rc;
	p->level = node_level(parent) == LEVEL_ROOT ? LEVEL_NS : LEVEL_KEY;
	if (p->level == LEVEL_NS) {
		if (len >= sizeof(p->ns))
			return -ENAMETOOLONG;
		memcpy(p->ns, name, len);
		p->ns[len] = '\0';
		return 0;
	}
	if (p->len + (p->len > 0) + len > KVFS_KEY_SIZE_CEIL)
		return -ENAMETOOLONG;
	if (p->len)
		p->key[p->len++] = '/';
	memcpy(p->key + p->len, name, len);
	p->len += len;
	p->key[p->len] = '\0';
	return 0;
}

/* The name of the kernel's dentry of n (NULL: none); lock held. */
static void dentry_of(const struct node *n, uint64_t *parent_id,
		      char **name, size_t *namelen)
{
	*name = n ? strndup(n->name, n->namelen) : NULL;
	if (*name) {
		*parent_id = nodes_id(n->parent);
		*namelen = n->namelen;
	}
}

uint64_t nodes_detach(struct nodes *t, struct node *n, uint64_t *parent_id,
		      char **name, size_t *namelen)
{
	struct node *cur;
	uint64_t id = 0;

	pthread_mutex_lock(&t->lock);
	/* the node now at n's name: n, or a newer one a lookup made since */
	cur = n->parent ? find(t, n->parent, n->name, n->namelen) : NULL;
	/*
	 * The name's dentry leads to cur, or to n itself when n had stopped
	 * being current without losing its name (a writer sent back from
	 * it, another handle's commit): drop it either way.  Left in place,
	 * it leads to n, now of an older value, under any name a rename
	 * gives it, for as long as the kernel keeps it.
	 */
	if (name)
		dentry_of(cur ? cur : n->hashed ? n : NULL, parent_id, name,
			  namelen);
	/* superseded: a dentry not yet dropped may still lead the kernel
	 * to it by this name, and a rename of that name moves it too */
	if (cur) {
		cur->attached = false;
		id = nodes_id(cur);
	}
	touch(t, n);
	pthread_mutex_unlock(&t->lock);
	return id;
}

void nodes_name(struct nodes *t, struct node *n, uint64_t *parent_id,
		char **name, size_t *namelen)
{
	pthread_mutex_lock(&t->lock);
	dentry_of(n->hashed ? n : NULL, parent_id, name, namelen);
	pthread_mutex_unlock(&t->lock);
}

int nodes_detach_path(struct nodes *t, const char *ns, const char *key,
		      size_t len, uint64_t *parent_id, char **name,
		      size_t *namelen)
{
	struct node *n;
	size_t off = 0;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->lock);
	n = find(t, &t->root, ns, strlen(ns));
	while (n && off < len) {
		const char *seg = key + off, *end = memchr(seg, '/', len - off);
		size_t seglen = end ? (size_t)(end - seg) : len - off;

		n = find(t, n, seg, seglen);
		off += seglen + (end ? 1 : 0);
	}
	if (n && len) {
		*parent_id = nodes_id(n->parent);
		*name = malloc(n->namelen + 1);
		rc = -ENOMEM;
		if (*name) {
			memcpy(*name, n->name, n->namelen + 1);
			*namelen = n->namelen;
			touch(t, n);
			clear_name(t, n->parent, n->name, n->namelen, NULL);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void nodes_unlink(struct nodes *t, struct node *parent, const char *name,
		  size_t len)
{
	pthread_mutex_lock(&t->lock);
	++*stamp_of(t, parent, name, len);
	clear_name(t, parent, name, len, NULL);
	pthread_mutex_unlock(&t->lock);
}

/* Give n (out of the hash) the name newname in newparent; lock held. */
static void move(struct node *n, struct node *newparent, char *newname,
		 size_t newlen)
{
	free(n->name);
	n->name = newname;
	n->namelen = newlen;
	if (newparent != n->parent) {
		n->parent->children--;
		newparent->children++;
		n->parent = newparent;
	}
}

/* Take n out of the name hash, keeping whether it was current. */
static void pull(struct nodes *t, struct node *n)
{
	bool attached = n->attached;

	unhash(t, n);
	n->attached = attached;
}

int nodes_rename(struct nodes *t, struct node *parent, const char *name,
		 size_t len, struct node *newparent, const char *newname,
		 size_t newlen, uint64_t ino)
{
	struct node **pp, *n, *moving = NULL, *old;
	char *copy;

	if (parent == newparent && len == newlen && !memcmp(name, newname, len))
		return 0;
	pthread_mutex_lock(&t->lock);
	clear_name(t, newparent, newname, newlen, NULL);
	/*
	 * Every node of the key moves, whichever of them the kernel's dentry
	 * leads to, and whichever an open file holds: the current one, the
	 * superseded ones, and those a lookup that raced an earlier rename
	 * took the name from.
	 */
	pp = bucket(t, parent, name, len);
	while ((n = *pp)) {
		if (named(n, parent, name, len)) {
			pull(t, n);
			n->hnext = moving;
			moving = n;
		} else {
			pp = &n->hnext;
		}
	}
	for (n = ino ? *ibucket(t, ino) : NULL; n; n = n->inext) {
		if (n->ino != ino || named(n, parent, name, len))
			continue;
		if (!n->hashed)
			n->attached = false;
		pull(t, n);
		n->hnext = moving;
		moving = n;
	}
	while ((n = moving)) {
		moving = n->hnext;
		n->hnext = NULL;
		copy = malloc(newlen + 1);
		if (!copy) {
			/* out of memory: it keeps its old name, unreachable */
			n->attached = false;
			continue;
		}
		memcpy(copy, newname, newlen);
		copy[newlen] = '\0';
		old = n->parent;
		move(n, newparent, copy, newlen);
		rehash(t, n, n->attached);
		/* a parent left without children may be free to go */
		if (old != newparent)
			maybe_free(t, old);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void nodes_rebind(struct nodes *t, struct node *n, uint64_t gen,
		  uint64_t size)
{
	pthread_mutex_lock(&t->lock);
	n->gen = gen;
	n->size = size;
	touch(t, n);
	pthread_mutex_unlock(&t->lock);
}

bool nodes_own_size(struct nodes *t, struct node *n, struct kv_attr *a)
{
	bool own = false;

	pthread_mutex_lock(&t->lock);
	/*
	 * The kernel keeps what a reply says for the attribute timeout, and a
	 * superseded node's dentry may outlive every invalidation sent for it
	 * (one sent after the reply, by a name a rename has since moved it
	 * from): an older value's size, given with that timeout to a node
	 * that the key's name still leads to, became the key's size for good.
	 * So the older size goes only to the readers that hold it, uncached
	 * (a writer's process gets the writer's view, and others the key's
	 * value, which the writer's commit made).
	 */
	if (a->type == KV_FILE && a->gen != n->gen && n->opens > n->writers) {
		a->size = n->size;
		own = true;
	}
	pthread_mutex_unlock(&t->lock);
	return own;
}

void nodes_note_mtime(struct nodes *t, struct node *n,
		      const struct timespec *ts)
{
	pthread_mutex_lock(&t->lock);
	n->has_set_mtime = ts != NULL;
	if (ts)
		n->set_mtime = *ts;
	pthread_mutex_unlock(&t->lock);
}

bool nodes_take_mtime(struct nodes *t, struct node *n, struct timespec *ts)
{
	bool has;

	pthread_mutex_lock(&t->lock);
	has = n->has_set_mtime;
	if (has)
		*ts = n->set_mtime;
	n->has_set_mtime = false;
	pthread_mutex_unlock(&t->lock);
	return has;
}


int nodes_set_opener(struct nodes *t, struct node *n, struct node_open *o,
		     int pid)
{
	struct opener *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->o = o;
	e->pid = pid;
	pthread_mutex_lock(&t->lock);
	e->next = n->openers;
	n->openers = e;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* Unlink and return the first opener matching o (or, o NULL, pid). */
static struct node_open *take(struct node *n, struct node_open *o, int pid)
{
	struct opener **pp, *e;
	struct node_open *found;

	for (pp = &n->openers; *pp; pp = &(*pp)->next) {
		e = *pp;
		if (o ? e->o == o : e->pid == pid) {
			*pp = e->next;
			found = e->o;
			free(e);
			return found;
		}
	}
	return NULL;
}

struct node_open *nodes_take_opener(struct nodes *t, struct node *n,
				    int pid)
{
	struct node_open *o;

	pthread_mutex_lock(&t->lock);
	/* held: its release, which clears it first, waits for the put */
	o = take(n, NULL, pid);
	if (o)
		o->refs++;
	pthread_mutex_unlock(&t->lock);
	return o;
}

void nodes_clear_opener(struct nodes *t, struct node *n,
			struct node_open *o)
{
	pthread_mutex_lock(&t->lock);
	take(n, o, 0);
	pthread_mutex_unlock(&t->lock);
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
		unlink_node(n);
		link_front(t, n);
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
