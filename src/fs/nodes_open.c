/*
 * nodes_open.c - open files on the nodes: how each handle uses its node
 * (cached, direct, writing), who opened it, the size a node shows its
 * readers, and an mtime set while it is open.
 *
 * Readers and writers do not share a node (nodes.h): an open that would
 * share one is sent back with -ESTALE, and a writer sent back is noted
 * in the core's table (nodes.c) so that its retry gets a node of its own.
 * The open files on a node answer a stat(2) that comes without a handle,
 * by the process that made it (nodes_find_open); the lock is dropped
 * while /proc is asked, with the candidates held.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/nodes.h"
#include "fs/nodes_int.h"

/* Note that pid was sent back from n's name (its entry is reused, else a
 * free one, else the one closest to expiring). */
static void send_back(struct nodes *t, const struct node *n, int pid)
{
	struct sent_back *e = nt_sent_back(t, NULL, pid), *old = &t->sent[0];
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
	e->until = nt_now_ms() + SENT_BACK_MS;
}

int nodes_open(struct nodes *t, struct node *n, enum node_use *use, int pid)
{
	struct node *cur;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	switch (*use) {
	case USE_CACHED:
	case USE_REREAD:
		if (!n->writers && !nt_sent_back(t, n, 0) &&
		    !nt_kept_for_writer(t, n)) {
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
		if (nt_read_open(n) && !(pid && nt_sent_back(t, NULL, pid))) {
			/* a new node for the name, and the writer to it */
			cur = nt_find(t, n->parent, n->name, n->namelen);
			if (cur)
				cur->attached = false;
			send_back(t, n, pid);
			rc = -ESTALE;
			break;
		}
		if (pid) {
			struct sent_back *e = nt_sent_back(t, NULL, pid);

			if (e) {
				free(e->name);
				e->name = NULL;
			}
		}
		n->writers++;
		/* its pages (an O_RDWR writer's) are not of a value */
		n->cache_gen = 0;
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
	nt_maybe_free(t, n);
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

bool nodes_keep_cache(struct nodes *t, struct node *n, uint64_t gen)
{
	bool keep;

	pthread_mutex_lock(&t->lock);
	keep = gen && n->cache_gen == gen;
	n->cache_gen = gen;
	pthread_mutex_unlock(&t->lock);
	return keep;
}

void nodes_told(struct nodes *t, struct node *n)
{
	pthread_mutex_lock(&t->lock);
	n->told++;
	pthread_mutex_unlock(&t->lock);
}

void nodes_writer_view(struct nodes *t, struct node *n, uint64_t *told,
		       uint64_t *size)
{
	pthread_mutex_lock(&t->lock);
	*told = n->told;
	*size = n->size;
	pthread_mutex_unlock(&t->lock);
}

bool nodes_writing(struct nodes *t, struct node *n)
{
	bool w;

	pthread_mutex_lock(&t->lock);
	w = n->writers > 0;
	pthread_mutex_unlock(&t->lock);
	return w;
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
