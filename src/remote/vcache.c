/*
 * vcache.c - the values a replica keeps when -o value_cache bounds them
 * (issue 18): every key's record is here, and of the values (those kept
 * in chunks: a value of up to 4 KiB lives in its record) only the most
 * recently used, up to the bound.
 *
 * A list holds the values here, the most recently used first, one entry
 * per key (by inode number: a key's value is one generation at a time),
 * with its bytes.  A value enters when this host writes it, when the feed
 * finds it here, or when it is fetched (fetch.c); it moves to the front
 * when a reader opens it (remote_value_used).  Past the bound the last
 * entries are evicted (store_value_evict), one trim at a time, but for
 * those a reader holds open (pinned: their entry goes to the front, as
 * in use).  A key deleted here or by another host leaves its entry
 * until the trim reaches it and finds nothing to evict, so the sum is
 * never below the bytes here.  At mount the list is made from the store
 * (vcache_load), in the store's order of keys.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

/* Keys read from the store at a time, at mount. */
#define LOAD_KEYS	256

struct ventry {
	uint64_t ino, gen, size;
	struct ventry *prev, *next;	/* prev: more recently used */
	struct ventry *hnext;
};

struct vcache {
	pthread_mutex_t lock;		/* what follows */
	pthread_mutex_t trim_lock;	/* one trim at a time */
	uint64_t max, bytes;
	size_t n, nbuckets;
	struct ventry **buckets;
	struct ventry *head, *tail;	/* most, least recently used */
};

int vcache_new(struct remote *r, uint64_t max)
{
	struct vcache *vc = calloc(1, sizeof(*vc));

	if (!vc)
		return -ENOMEM;
	vc->nbuckets = 4096;
	vc->buckets = calloc(vc->nbuckets, sizeof(*vc->buckets));
	if (!vc->buckets) {
		free(vc);
		return -ENOMEM;
	}
	pthread_mutex_init(&vc->lock, NULL);
	pthread_mutex_init(&vc->trim_lock, NULL);
	vc->max = max;
	r->vcache = vc;
	return 0;
}

void vcache_free(struct remote *r)
{
	struct vcache *vc = r->vcache;
	struct ventry *e, *next;

	if (!vc)
		return;
	for (e = vc->head; e; e = next) {
		next = e->next;
		free(e);
	}
	free(vc->buckets);
	pthread_mutex_destroy(&vc->lock);
	pthread_mutex_destroy(&vc->trim_lock);
	free(vc);
	r->vcache = NULL;
}

static struct ventry **slot(struct vcache *vc, uint64_t ino)
{
	struct ventry **pp = &vc->buckets[ino % vc->nbuckets];

	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->hnext;
	return pp;
}

/* Twice as many buckets, past one entry a bucket (vc->lock held). */
static void grow(struct vcache *vc)
{
	size_t nb = vc->nbuckets * 2;
	struct ventry **b = calloc(nb, sizeof(*b)), *e;

	if (!b)
		return;		/* longer chains, still correct */
	free(vc->buckets);
	vc->buckets = b;
	vc->nbuckets = nb;
	for (e = vc->head; e; e = e->next) {
		e->hnext = b[e->ino % nb];
		b[e->ino % nb] = e;
	}
}

static void list_del(struct vcache *vc, struct ventry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		vc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		vc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_front(struct vcache *vc, struct ventry *e)
{
	e->prev = NULL;
	e->next = vc->head;
	if (vc->head)
		vc->head->prev = e;
	else
		vc->tail = e;
	vc->head = e;
}

static void list_back(struct vcache *vc, struct ventry *e)
{
	e->next = NULL;
	e->prev = vc->tail;
	if (vc->tail)
		vc->tail->next = e;
	else
		vc->head = e;
	vc->tail = e;
}

/* Take entry e out (vc->lock held; *pp is e's slot). */
static void take(struct vcache *vc, struct ventry **pp, struct ventry *e)
{
	*pp = e->hnext;
	list_del(vc, e);
	vc->bytes -= e->size;
	vc->n--;
}

/* Key ino's value is generation gen of size bytes, here: front unless
 * keep_place and it was here already (vc->lock held). */
static void put_locked(struct vcache *vc, uint64_t ino, uint64_t gen,
		       uint64_t size, bool keep_place)
{
	struct ventry **pp = slot(vc, ino), *e = *pp;

	if (e) {
		if (e->gen == gen && keep_place)
			return;
		vc->bytes -= e->size;
		vc->bytes += size;
		e->gen = gen;
		e->size = size;
		list_del(vc, e);
		list_front(vc, e);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;		/* not counted: the next load counts it */
	e->ino = ino;
	e->gen = gen;
	e->size = size;
	e->hnext = *pp;
	*pp = e;
	list_front(vc, e);
	vc->bytes += size;
	if (++vc->n > vc->nbuckets)
		grow(vc);
}

void vcache_put(struct remote *r, uint64_t ino, uint64_t gen, uint64_t size)
{
	struct vcache *vc = r->vcache;

	if (!vc)
		return;
	pthread_mutex_lock(&vc->lock);
	put_locked(vc, ino, gen, size, false);
	pthread_mutex_unlock(&vc->lock);
}

void remote_value_used(struct remote *r, uint64_t ino, uint64_t gen,
		       uint64_t size)
{
	vcache_put(r, ino, gen, size);
}

/* A key's value the replica holds only the record of: its entry goes. */
static void forget_locked(struct vcache *vc, uint64_t ino)
{
	struct ventry **pp = slot(vc, ino), *e = *pp;

	if (e) {
		take(vc, pp, e);
		free(e);
	}
}

/* Whether changes ch write chunks of generation gen. */
static bool writes_chunks(const struct store_change *ch, size_t n,
			  uint64_t gen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ch[i].kind == STORE_CHANGE_CHUNK && ch[i].gen == gen)
			return true;
	return false;
}

bool vcache_seen(struct remote *r, const struct store_change *ch, size_t n,
		 bool own)
{
	struct vcache *vc = r->vcache;
	bool over;
	size_t i;

	if (!vc)
		return false;
	for (i = 0; i < n; i++) {
		const struct store_change *c = &ch[i];
		bool here;

		if (c->kind != STORE_CHANGE_KEY || c->deleted ||
		    c->a.type != KV_FILE || !c->chunked)
			continue;
		/*
		 * Its chunks are here if the same changes write them (a
		 * value this host writes) or this host staged them; else,
		 * for this host's write (a rename, a new mode), its entry
		 * says (under the store's write lock, which this runs in,
		 * the store is not read).  For the feed's, if the store has
		 * them (a value kept and renamed elsewhere, a write
		 * PostgreSQL committed and this replica did not); else only
		 * the record is here.
		 */
		here = writes_chunks(ch, n, c->a.gen) ||
		       (own ? staging_publishes(r, c->a.gen) :
			store_gen_whole(r->st, c->a.gen, c->a.size));
		pthread_mutex_lock(&vc->lock);
		if (here)
			put_locked(vc, c->a.ino, c->a.gen, c->a.size, true);
		else if (!own)
			forget_locked(vc, c->a.ino);
		pthread_mutex_unlock(&vc->lock);
	}
	pthread_mutex_lock(&vc->lock);
	over = vc->bytes > vc->max;
	pthread_mutex_unlock(&vc->lock);
	return over;
}

/* Where the walk of the store's keys is (vcache_load), and the values
 * found there in part (a fetch cut short by a crash). */
struct load {
	struct remote *r;
	uint32_t nsid;
	char *key;
	size_t len;
	uint64_t *part;
	size_t npart, cappart;
};

static int load_cb(void *ctx, const struct store_change *c)
{
	struct load *l = ctx;
	char *k;

	vcache_seen(l->r, c, 1, false);
	if (c->kind == STORE_CHANGE_KEY && !c->deleted && c->chunked &&
	    c->a.type == KV_FILE && store_gen_whole(l->r->st, c->a.gen, 1) &&
	    !store_gen_whole(l->r->st, c->a.gen, c->a.size)) {
		if (l->npart == l->cappart) {
			size_t cap = l->cappart ? l->cappart * 2 : 16;
			uint64_t *p = realloc(l->part, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			l->part = p;
			l->cappart = cap;
		}
		l->part[l->npart++] = c->a.gen;
	}
	k = realloc(l->key, c->len + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, c->name, c->len);
	k[c->len] = '\0';
	l->key = k;
	l->len = c->len;
	l->nsid = c->nsid;
	return 0;
}

int vcache_load(struct remote *r)
{
	struct load l = { .r = r };
	size_t i;
	int got;

	if (!r->vcache)
		return 0;
	do
		got = store_keys_after(r->st, l.nsid, l.key ? l.key : "",
				       l.len, LOAD_KEYS, load_cb, &l);
	while (got == LOAD_KEYS);
	/* outside the walk's read transaction */
	for (i = 0; got >= 0 && i < l.npart; i++)
		store_value_evict(r->st, l.part[i]);
	free(l.part);
	free(l.key);
	return got < 0 ? got : 0;
}

/*
 * Evict the least recently used values until room more bytes fit under
 * the bound, or every entry was tried once (vc->trim_lock held).  An
 * entry is out of the list while its value is evicted, so that a reader
 * opening it meanwhile (and fetching it again) enters it anew.
 */
static void trim(struct remote *r, uint64_t room)
{
	struct vcache *vc = r->vcache;
	size_t tries;

	pthread_mutex_lock(&vc->lock);
	tries = vc->n;
	while (tries-- && vc->tail && vc->bytes + room > vc->max) {
		struct ventry *e = vc->tail, **pp;
		int64_t got;

		take(vc, slot(vc, e->ino), e);
		pthread_mutex_unlock(&vc->lock);
		got = store_value_evict(r->st, e->gen);
		pthread_mutex_lock(&vc->lock);
		pp = slot(vc, e->ino);
		if (got >= 0 || *pp) {
			free(e);	/* gone, or entered anew meanwhile */
			continue;
		}
		/* a reader holds it open: kept, as in use; or the store
		 * failed: kept where it was, for the next trim */
		e->hnext = NULL;
		*pp = e;
		vc->bytes += e->size;
		vc->n++;
		if (got == -EBUSY) {
			list_front(vc, e);
			continue;
		}
		list_back(vc, e);
		break;
	}
	pthread_mutex_unlock(&vc->lock);
}

void remote_cache_trim(struct remote *r)
{
	struct vcache *vc = r->vcache;

	if (!vc)
		return;
	pthread_mutex_lock(&vc->trim_lock);
	trim(r, 0);
	pthread_mutex_unlock(&vc->trim_lock);
}

int vcache_reserve(struct remote *r, uint64_t gen, uint64_t size)
{
	struct vcache *vc = r->vcache;
	int rc;

	if (!vc)
		return store_gen_pin(r->st, gen);
	/* no eviction runs between the room made and the pin */
	pthread_mutex_lock(&vc->trim_lock);
	trim(r, size);
	rc = store_gen_pin(r->st, gen);
	pthread_mutex_unlock(&vc->trim_lock);
	return rc;
}

void vcache_state(struct remote *r, uint64_t *max, uint64_t *bytes,
		  uint64_t *values)
{
	struct vcache *vc = r->vcache;

	*max = *bytes = *values = 0;
	if (!vc)
		return;
	pthread_mutex_lock(&vc->lock);
	*max = vc->max;
	*bytes = vc->bytes;
	*values = vc->n;
	pthread_mutex_unlock(&vc->lock);
}
