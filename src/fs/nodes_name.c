/*
 * nodes_name.c - the names of the nodes: lookups and forgets, the path a
 * node stands for, the rename lock, and what renames, unlinks, commits
 * and expirations do to the nodes at a name.
 *
 * A lookup gives the current node at a name if it is of the same inode
 * and generation, else a new one that supersedes it; a superseded node
 * keeps its name (and follows it through renames) until the kernel drops
 * its dentry.  A node's path is built by walking up its parents under the
 * table's lock; renames are counted (version) so that an operation that
 * found its key gone can tell whether to try the new path (nodes_moved).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hooks.h"
#include "fs/nodes.h"
#include "fs/nodes_int.h"

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

static struct node *lookup(struct nodes *t, struct node *parent,
			   const char *name, size_t len, uint64_t ino,
			   uint64_t gen, uint64_t size, const uint64_t *stamp,
			   bool reader, int pid, bool *stale)
{
	struct sent_back *writer;
	struct node *n, *old;

	pthread_mutex_lock(&t->lock);
	if (stamp && *nt_stamp_of(t, parent, name, len) > *stamp) {
		*stale = true;
		pthread_mutex_unlock(&t->lock);
		return NULL;
	}
	old = nt_find(t, parent, name, len);
	/*
	 * A writer sent back (nodes_open) looks the name up again: it gets
	 * a node without readers, even if one came to the name meanwhile by
	 * a rename, or it was sent back from another name (its node was
	 * renamed away); a reader sent back, one without writers.
	 */
	writer = pid ? nt_sent_back(t, NULL, pid) : NULL;
	if (old && old->ino == ino && old->gen == gen &&
	    !(nt_read_open(old) && (nt_sent_back(t, old, 0) || writer)) &&
	    !(reader && (old->writers || nt_sent_back(t, old, 0) ||
			 nt_kept_for_writer(t, old)))) {
		old->nlookup++;
		old->told++;	/* the entry replied (nodes_told) */
		nt_unlink_node(old);
		nt_link_front(t, old);
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
	nt_clear_name(t, parent, name, len, &ino);
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->namelen = len;
	n->parent = parent;
	n->ino = ino;
	n->gen = gen;
	n->size = size;
	n->nlookup = 1;
	n->told = 1;
	parent->children++;
	nt_link_front(t, n);
	__atomic_add_fetch(&t->live, 1, __ATOMIC_RELAXED);
	nt_iadd(t, n);
	nt_rehash(t, n, true);
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
	nt_maybe_free(t, n);
	pthread_mutex_unlock(&t->lock);
}

bool nodes_named(struct nodes *t, struct node *n)
{
	bool named;

	pthread_mutex_lock(&t->lock);
	named = !n->parent || n->hashed;
	pthread_mutex_unlock(&t->lock);
	return named;
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
	cur = n->parent ? nt_find(t, n->parent, n->name, n->namelen) : NULL;
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
	nt_touch(t, n);
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

void nodes_hook(struct nodes *t, struct node *n, const char *point)
{
	uint64_t parent;
	char *name = NULL;
	size_t len;

	if (!hook_build())
		return;
	nodes_name(t, n, &parent, &name, &len);
	hook_hold(point, name);
	free(name);
}

int nodes_detach_path(struct nodes *t, const char *ns, const char *key,
		      size_t len, uint64_t *parent_id, char **name,
		      size_t *namelen)
{
	struct node *n;
	size_t off = 0;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->lock);
	n = nt_find(t, &t->root, ns, strlen(ns));
	while (n && off < len) {
		const char *seg = key + off, *end = memchr(seg, '/', len - off);
		size_t seglen = end ? (size_t)(end - seg) : len - off;

		n = nt_find(t, n, seg, seglen);
		off += seglen + (end ? 1 : 0);
	}
	if (n && len) {
		*parent_id = nodes_id(n->parent);
		*name = malloc(n->namelen + 1);
		rc = -ENOMEM;
		if (*name) {
			memcpy(*name, n->name, n->namelen + 1);
			*namelen = n->namelen;
			nt_touch(t, n);
			nt_clear_name(t, n->parent, n->name, n->namelen, NULL);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void nodes_changed_path(struct nodes *t, const char *ns, const char *key,
			size_t len, uint64_t ino, uint64_t gen, bool dir,
			struct inval *inv, uint64_t *parent_id,
			uint64_t *self_id)
{
	struct node *n;
	size_t off = 0;

	inv->name = NULL;
	*parent_id = *self_id = 0;
	pthread_mutex_lock(&t->lock);
	/*
	 * A name the kernel knows no node of moves its stamp too: a lookup
	 * that read the store before the change must not answer after it.
	 */
	n = nt_find(t, &t->root, ns, strlen(ns));
	if (!n) {
		nt_stamp(t, &t->root, ns, strlen(ns));
		if (!len)
			*parent_id = nodes_id(&t->root);
	}
	while (n && off < len) {
		const char *seg = key + off, *end = memchr(seg, '/', len - off);
		size_t seglen = end ? (size_t)(end - seg) : len - off;
		struct node *child = nt_find(t, n, seg, seglen);

		off += seglen + (end ? 1 : 0);
		if (!child) {
			nt_stamp(t, n, seg, seglen);
			if (off >= len)
				*parent_id = nodes_id(n);
		}
		n = child;
	}
	if (!n) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	*parent_id = nodes_id(n->parent);
	/* the same directory, or the same value: the node stays */
	if (ino && n->ino == ino && (dir || n->gen == gen))
		*self_id = nodes_id(n);
	if (!dir || !*self_id) {
		inv->parent = *parent_id;
		inv->name = malloc(n->namelen + 1);
		if (inv->name) {
			memcpy(inv->name, n->name, n->namelen + 1);
			inv->len = n->namelen;
		}
	}
	nt_touch(t, n);
	if (!*self_id) {
		struct node *m = *nt_bucket(t, n->parent, n->name, n->namelen);

		for (; m; m = m->hnext)
			if (nt_named(m, n->parent, n->name, n->namelen))
				m->elsewhere = true;
		nt_clear_name(t, n->parent, n->name, n->namelen, NULL);
	}
	pthread_mutex_unlock(&t->lock);
}

bool nodes_elsewhere(struct nodes *t, struct node *n)
{
	bool e;

	pthread_mutex_lock(&t->lock);
	e = n->elsewhere;
	pthread_mutex_unlock(&t->lock);
	return e;
}

void nodes_unlink(struct nodes *t, struct node *parent, const char *name,
		  size_t len)
{
	pthread_mutex_lock(&t->lock);
	nt_stamp(t, parent, name, len);
	nt_clear_name(t, parent, name, len, NULL);
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

	nt_unhash(t, n);
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
	nt_clear_name(t, newparent, newname, newlen, NULL);
	/*
	 * Every node of the key moves, whichever of them the kernel's dentry
	 * leads to, and whichever an open file holds: the current one, the
	 * superseded ones, and those a lookup that raced an earlier rename
	 * took the name from.
	 */
	pp = nt_bucket(t, parent, name, len);
	while ((n = *pp)) {
		if (nt_named(n, parent, name, len)) {
			pull(t, n);
			n->hnext = moving;
			moving = n;
		} else {
			pp = &n->hnext;
		}
	}
	for (n = ino ? *nt_ibucket(t, ino) : NULL; n; n = n->inext) {
		if (n->ino != ino || nt_named(n, parent, name, len))
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
		nt_rehash(t, n, n->attached);
		/* a parent left without children may be free to go */
		if (old != newparent)
			nt_maybe_free(t, old);
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
	n->cache_gen = 0;
	nt_touch(t, n);
	pthread_mutex_unlock(&t->lock);
}

bool nodes_rebind_current(struct nodes *t, struct node *n, uint64_t ino,
			  uint64_t gen, uint64_t size, uint64_t told,
			  uint64_t ksize)
{
	bool ok;

	pthread_mutex_lock(&t->lock);
	/*
	 * Generations are handed out in order, but a large value's is taken
	 * before its staging: one older than n's is a commit that another
	 * overtook, after which the key's value may be either; n is
	 * superseded then, as any node is whose value is not the key's.
	 */
	ok = n->parent && n->hashed && n->attached && n->ino == ino &&
	     gen > n->gen && !nt_read_open(n) && n->writers == 1 &&
	     n->told == told && ksize == size &&
	     nt_find(t, n->parent, n->name, n->namelen) == n &&
	     !nt_sent_back(t, n, 0) && !nt_kept_for_writer(t, n);
	if (ok) {
		n->gen = gen;
		n->size = size;
		n->cache_gen = 0;
		nt_touch(t, n);
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}
