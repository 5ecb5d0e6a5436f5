/*
 * staging.c - the values this host stages in PostgreSQL, kept from the
 * sweeper while it does.
 *
 * A value written in transactions of its own before its key is (a stage,
 * store/stage.c, or a large put) leaves chunks in kvfs.chunks that no key
 * holds until the write that publishes it.  If the host never comes back
 * to publish or drop them, the sweeper deletes them (orphans.c): the
 * chunks of a generation no key holds, unless a session holds that
 * generation's advisory lock (STAGE_LOCK_BASE + gen).  So the first
 * transaction that writes chunks of a generation without its key takes
 * that lock for r->c's session, inside the transaction (before its chunks
 * are seen), and the write that publishes the value (its key) or drops
 * it releases it after its COMMIT, in the same pipeline.  A session that
 * ends (the host dies) releases its locks.  So does a connection made
 * again while staging: the sweeper may then take chunks still wanted,
 * so the publishing write checks, before it commits, that every byte of
 * the value is there (kvfs.stage_check, schema.c): else it fails with
 * KV002, -EIO for the writer, and nothing is published.  The next chunks
 * of a generation whose lock went take it again, and so does the write
 * that publishes it, before the check: a sweep of it under way ends
 * first, and the check sees what it deleted.  Taking the lock is a no-op
 * for a session that holds it already (a transaction that took it and
 * then failed), so that one release frees it.
 *
 * Each generation staged has an entry, under r->lock (the write path's):
 * staging_plan marks what a write's changes mean for them, staging_send
 * queues the statements of one step, staging_done keeps what committed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "remote/internal.h"

struct staged {
	uint64_t gen;
	uint64_t size;		/* published: the value's bytes */
	unsigned long epoch;	/* r->c_epoch its lock was taken in, 0:
				 * not held */
	bool lock, publish, drop;	/* what the write being sent does */
};

static struct staged *find(struct remote *r, uint64_t gen)
{
	size_t i;

	for (i = 0; i < r->nstaged; i++)
		if (r->staged[i].gen == gen)
			return &r->staged[i];
	return NULL;
}

static struct staged *add(struct remote *r, uint64_t gen)
{
	struct staged *e = find(r, gen);

	if (e)
		return e;
	if (r->nstaged == r->capstaged) {
		size_t cap = r->capstaged ? r->capstaged * 2 : 8;

		e = realloc(r->staged, cap * sizeof(*e));
		if (!e)
			return NULL;
		r->staged = e;
		r->capstaged = cap;
	}
	e = &r->staged[r->nstaged++];
	*e = (struct staged){ .gen = gen };
	return e;
}

bool staging_publishes(struct remote *r, uint64_t gen)
{
	struct staged *e = find(r, gen);

	return e && e->publish;
}

/* Whether changes ch write the key that holds generation gen. */
static bool publishes(const struct store_change *ch, size_t n, uint64_t gen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ch[i].kind == STORE_CHANGE_KEY && !ch[i].deleted &&
		    ch[i].chunked && ch[i].a.gen == gen)
			return true;
	return false;
}

int staging_plan(struct remote *r, const struct store_change *ch, size_t n)
{
	struct staged *e;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct store_change *c = &ch[i];

		switch (c->kind) {
		case STORE_CHANGE_CHUNK:
			if (publishes(ch, n, c->gen))
				break;
			e = add(r, c->gen);
			if (!e) {
				snprintf(r->msg, sizeof(r->msg),
					 "out of memory");
				return -ENOMEM;
			}
			e->lock = e->epoch != r->c_epoch;
			break;
		case STORE_CHANGE_KEY:
			if (c->deleted || !c->chunked ||
			    !(e = find(r, c->a.gen)))
				break;
			e->publish = true;
			e->size = c->a.size;
			/* its lock went with a connection made again: taken
			 * again, so that a sweep under way ends before the
			 * check reads the chunks */
			if (e->epoch != r->c_epoch)
				e->lock = true;
			break;
		case STORE_CHANGE_DROP:
			if ((e = find(r, c->gen)))
				e->drop = true;
			break;
		default:
			break;
		}
	}
	return 0;
}

int staging_send(struct remote *r, enum staging_step step, int *q)
{
	char gen[24], size[24];
	const char *params[] = { gen, size };
	int rc = 0;
	size_t i;

	for (i = 0; !rc && i < r->nstaged; i++) {
		struct staged *e = &r->staged[i];
		enum rows_stmt s;

		if (step == STAGING_LOCK && e->lock)
			s = ROWS_STAGE_LOCK;
		else if (step == STAGING_CHECK && e->publish)
			s = ROWS_STAGE_CHECK;
		else if (step == STAGING_UNLOCK && (e->publish || e->drop) &&
			 (e->epoch == r->c_epoch || e->lock))
			s = ROWS_STAGE_UNLOCK;
		else
			continue;
		snprintf(gen, sizeof(gen), "%llu", (unsigned long long)e->gen);
		snprintf(size, sizeof(size), "%llu",
			 (unsigned long long)e->size);
		rc = rows_send(r->c, s, s == ROWS_STAGE_CHECK ? 2 : 1, params,
			       NULL, NULL, 0, r->msg, sizeof(r->msg));
		if (!rc)
			(*q)++;
	}
	return rc;
}

void staging_done(struct remote *r, bool committed)
{
	size_t i = 0;

	while (i < r->nstaged) {
		struct staged *e = &r->staged[i];

		if (committed && (e->publish || e->drop)) {
			*e = r->staged[--r->nstaged];
			continue;
		}
		if (committed && e->lock)
			e->epoch = r->c_epoch;
		e->lock = e->publish = e->drop = false;
		i++;
	}
}

void staging_free(struct remote *r)
{
	free(r->staged);
	r->staged = NULL;
	r->nstaged = r->capstaged = 0;
}
