/*
 * replica.c - a store bound to the shared store as its replica: open
 * (connect, schema, first copy, capture), close, the last message, where
 * it stands.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote/internal.h"

static int any_ns(void *ctx, const char *name, size_t len,
		  const struct kv_attr *attr, const char *pos, size_t poslen)
{
	(void)name;
	(void)len;
	(void)attr;
	(void)pos;
	(void)poslen;
	*(bool *)ctx = true;
	return 1;
}

/*
 * A replica, or an empty store that becomes one: 0; a store of its own
 * (namespaces, no position): *push if push, else -EEXIST.
 */
static int replica_or_empty(struct store *st, bool push, bool *pushing,
			    char *msg, size_t len)
{
	char pos[STORE_POS_MAX + 1];
	bool some = false;
	int rc;

	*pushing = false;
	rc = store_apply_pos(st, pos, sizeof(pos));
	if (!rc && !pos[0])
		rc = store_ns_list(st, "", any_ns, &some);
	if (rc < 0) {
		snprintf(msg, len, "the local store: %s", strerror(-rc));
		return rc;
	}
	if (!pos[0] && some) {
		*pushing = push;
		if (push)
			return 0;
		snprintf(msg, len, "the local store has namespaces of its own "
			 "and is no replica: a replica starts empty (or push "
			 "it into an empty shared store: -o remote_push)");
		return -EEXIST;
	}
	return 0;
}

int remote_open(const char *conninfo, const struct remote_options *o,
		struct store *st, const char *limits, char **stored,
		struct remote **out, char *msg, size_t len)
{
	struct remote *r = calloc(1, sizeof(*r));
	unsigned timeout_s = o->timeout_s;
	pthread_mutexattr_t attr;
	bool pushing;
	int rc;

	*stored = NULL;
	if (!r) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	rc = replica_or_empty(st, o->push, &pushing, msg, len);
	if (rc) {
		free(r);
		return rc;
	}
	pthread_mutex_init(&r->lock, NULL);
	/* a round's apply collects what it replaced, a write that may find
	 * the replica behind and catch up, in the same thread */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&r->feed_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	r->st = st;
	r->conninfo = strdup(conninfo);
	if (!r->conninfo) {
		snprintf(msg, len, "out of memory");
		pthread_mutex_destroy(&r->lock);
		pthread_mutex_destroy(&r->feed_lock);
		free(r);
		return -ENOMEM;
	}
	r->timeout_s = timeout_s < 2 ? 2 : timeout_s;
	r->tombstone_s = REMOTE_TOMBSTONES_DEFAULT;
	r->progress_fd = o->progress_fd;
	r->c_epoch = 1;
	rc = o->value_cache ? vcache_new(r, o->value_cache) : 0;
	if (rc)
		snprintf(msg, len, "out of memory");
	if (!rc)
		rc = remote_connect(conninfo, timeout_s, &r->c, msg, len);
	if (!rc)
		rc = remote_schema_open(r->c, limits, stored, msg, len);
	if (!rc && (rc = remote_session(r)))
		snprintf(msg, len, "%s", r->msg);
	/* the feed reads on a connection of its own, in long transactions */
	if (!rc)
		rc = remote_connect(conninfo, timeout_s, &r->feed, msg, len);
	if (!rc && pushing && (rc = remote_push(r)))
		snprintf(msg, len, "%s", r->msg[0] ? r->msg : strerror(-rc));
	if (!rc) {
		rc = remote_catchup(r);
		if (rc)
			snprintf(msg, len, "%s", r->msg[0] ?
				 r->msg : strerror(-rc));
	}
	/* the values a mount before kept, past the bound now evicted */
	if (!rc && (rc = vcache_load(r)))
		snprintf(msg, len, "cannot read the replica: %s",
			 strerror(-rc));
	if (!rc)
		remote_cache_trim(r);
	if (rc) {
		vcache_free(r);
		free(*stored);
		*stored = NULL;
		PQfinish(r->c);
		PQfinish(r->feed);
		pthread_mutex_destroy(&r->lock);
		pthread_mutex_destroy(&r->feed_lock);
		free(r->conninfo);
		free(r);
		return rc;
	}
	r->progress_fd = -1;	/* the mount has returned */
	store_set_capture(st, remote_capture, remote_catchup_write,
			  remote_release, r);
	/* what a write killed here left, dropped in PostgreSQL too */
	store_collect(st);
	*out = r;
	return 0;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	remote_listen_stop(r);
	store_set_capture(r->st, NULL, NULL, NULL, NULL);
	PQfinish(r->c);
	PQfinish(r->feed);
	vcache_free(r);
	staging_free(r);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->feed_lock);
	free(r->conninfo);
	free(r);
}

void remote_set_applied(struct remote *r, remote_applied_fn fn, void *ctx)
{
	r->applied = fn;
	r->applied_ctx = ctx;
}

void remote_set_tombstones(struct remote *r, unsigned long secs)
{
	r->tombstone_s = secs;
}

void remote_state(struct remote *r, struct remote_state *out)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&r->lock);
	out->connected = r->up;
	out->rev = r->rev;
	out->rounds = r->catchups;
	out->resyncs = r->resyncs;
	vcache_state(r, &out->cache_max, &out->cache_bytes,
		     &out->cache_values);
	out->lag = r->current.tv_sec || r->current.tv_nsec ?
		   (double)(now.tv_sec - r->current.tv_sec) +
		   (double)(now.tv_nsec - r->current.tv_nsec) / 1e9 : -1;
	pthread_mutex_unlock(&r->lock);
	remote_listener_state(r, &out->listening, &out->sweeper);
}

void remote_msg_copy(struct remote *r, char *buf, size_t len)
{
	pthread_mutex_lock(&r->lock);
	snprintf(buf, len, "%s", r->msg);
	pthread_mutex_unlock(&r->lock);
}

unsigned long remote_catchups(struct remote *r)
{
	unsigned long n;

	pthread_mutex_lock(&r->lock);
	n = r->catchups;
	pthread_mutex_unlock(&r->lock);
	return n;
}
