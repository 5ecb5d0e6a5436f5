/*
 * tell.c - dentry notifications, queued by requests and sent by the
 * teller's thread (tell.h says why).
 *
 * Until the kernel drops a dentry of a key given a new value, the dentry
 * leads to the superseded node, whose opens read the current value
 * around its page cache (nodes.h), and whose stat gives the old size,
 * uncached, only while a handle still holds it (nodes_own_size): a
 * notification that comes late, or misses a dentry a rename moved, leaves
 * no wrong size behind.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "ops.h"
#include "tell.h"

struct told {
	struct told *next;
	struct inval inv;
};

void tell_later(struct kvfs *fs, struct inval *inv)
{
	struct told *t;

	if (!inv->name)
		return;
	t = malloc(sizeof(*t));
	if (!t) {
		/* the dentry keeps its node, which reads the current value */
		kvfs_log(KVFS_WARN, "out of memory: the kernel keeps an old "
			 "entry for %s", inv->name);
		free(inv->name);
		inv->name = NULL;
		return;
	}
	t->inv = *inv;
	inv->name = NULL;
	pthread_mutex_lock(&fs->told_lock);
	t->next = fs->told;
	fs->told = t;
	pthread_mutex_unlock(&fs->told_lock);
	worker_kick(fs->teller);
}

/* Send (or with send false, drop) what is queued. */
static void tell(struct kvfs *fs, bool send)
{
	struct told *t, *next;

	pthread_mutex_lock(&fs->told_lock);
	t = fs->told;
	fs->told = NULL;
	pthread_mutex_unlock(&fs->told_lock);
	for (; t; t = next) {
		next = t->next;
		if (send)
			inval_send(fs, &t->inv);
		free(t->inv.name);
		free(t);
	}
}

struct timespec tell_run(void *arg)
{
	struct timespec next = { 0, 0 };

	tell(arg, true);
	return next;
}

void tell_forget(struct kvfs *fs)
{
	tell(fs, false);
}
