/*
 * listen.c - the listener: a thread that hears other hosts' writes.
 *
 * Every write notifies the channel kvfs in its transaction (write.c), so
 * that listeners hear of it when it commits.  The listener keeps a
 * connection of its own (the replica's is taken by writes and the feed
 * in turns), LISTENs on it, and wakes the follower on each notification,
 * and each time it has just connected, since what came while it was away
 * was heard by no one; a notification of this host's own write
 * connection wakes no one, as its replica has that write.  A
 * connection that breaks (a server restarted, a
 * failover: libpq tries the hosts of the string again) is made again
 * every second.  Waking is all it does: the follower reads the feed, and
 * polls it every second anyway, so that a notification lost costs no
 * more than that second.
 *
 * The listener's session also decides which host sweeps expired keys
 * in PostgreSQL: the one whose listener holds the advisory lock
 * SWEEP_LOCK, tried on each connection and every second until taken.
 * Each host hides an expired key by the clock from its second; only
 * the sweeper deletes it, and the others get the deletion from the
 * feed.  A sweeper gone (its connection closed) frees the lock for
 * another within a second.  The sweeper also purges the deletions
 * older than its window (purge.c), every quarter of it, at least every
 * minute.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "remote/internal.h"

/* How long to wait before connecting, or trying the lock, again. */
#define LISTEN_RETRY_MS	1000

/* The advisory lock of the host that sweeps ("a kvfs" + 1, as a
 * number: schema.c's is the one before). */
#define SWEEP_LOCK	"7022963729735102562"

struct listener {
	struct remote *r;
	void (*wake)(void *ctx);
	void *ctx;
	pthread_t thread;
	int stop[2];		/* a pipe: readable once it is to stop */
	pthread_mutex_t lock;
	bool up;		/* connected and listening */
	bool sweeper;		/* holding SWEEP_LOCK */
	uint64_t orphans_after;	/* where the next sweep of orphan chunks
				 * starts (orphans.c) */
};

static void set_up(struct listener *l, bool up, bool sweeper)
{
	pthread_mutex_lock(&l->lock);
	l->up = up;
	l->sweeper = sweeper;
	pthread_mutex_unlock(&l->lock);
}

/* Wait up to ms for fd to be readable: -1 to stop, 1 readable, 0 not. */
static int wait_for(struct listener *l, int fd, int ms)
{
	struct pollfd p[2] = { { l->stop[0], POLLIN, 0 }, { fd, POLLIN, 0 } };

	while (poll(p, fd >= 0 ? 2 : 1, ms) < 0 && errno == EINTR)
		;
	if (p[0].revents)
		return -1;
	return fd >= 0 && p[1].revents;
}

/* Whether this session holds the sweeper's lock now (takes it if free). */
static bool try_sweeper(PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT pg_try_advisory_lock(" SWEEP_LOCK
			       ")");
	bool got = PQresultStatus(res) == PGRES_TUPLES_OK &&
		   !strcmp(PQgetvalue(res, 0, 0), "t");

	PQclear(res);
	return got;
}

/* Connect and listen: the connection, or NULL (said once per outage). */
static PGconn *listen_connect(struct listener *l, bool *said)
{
	char msg[REMOTE_MSG_MAX];
	PGconn *c;

	if (!remote_connect(l->r->conninfo, l->r->timeout_s, &c, msg,
			    sizeof(msg)) &&
	    !remote_exec(c, "LISTEN kvfs", PGRES_COMMAND_OK, NULL, msg,
			 sizeof(msg))) {
		if (*said)
			kvfs_log(KVFS_INFO, "listening to the remote store "
				 "again");
		*said = false;
		return c;
	}
	if (!*said)
		kvfs_log(KVFS_WARN, "cannot listen to the remote store (%s): "
			 "polling it every second", msg);
	*said = true;
	PQfinish(c);
	return NULL;
}

/* Purge, and collect orphan chunks, if the last purge is a quarter of
 * the window old (or a minute); at most once a second. */
static void purge_due(struct listener *l, PGconn *c, struct timespec *last)
{
	unsigned long every = l->r->tombstone_s / 4;
	char msg[REMOTE_MSG_MAX];
	struct timespec now;

	if (every > 60)
		every = 60;
	if (every < 1)
		every = 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (last->tv_sec && now.tv_sec - last->tv_sec < (time_t)every)
		return;
	*last = now;
	if (remote_purge(c, l->r->tombstone_s, msg, sizeof(msg)) < 0)
		kvfs_log(KVFS_WARN, "%s", msg);
	/* what hosts that never came back staged (orphans.c) */
	else if (remote_sweep_orphans(c, &l->orphans_after, msg,
				      sizeof(msg)) < 0)
		kvfs_log(KVFS_WARN, "%s", msg);
}

static void *listen_thread(void *arg)
{
	struct listener *l = arg;
	PGconn *c = NULL;
	bool said = false, sweeper = false;
	struct timespec purged = { 0, 0 };
	sigset_t all;

	/* signals are for the request loop's thread (fs/stop.c) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		PGnotify *n;
		bool heard = false;
		int ready;

		if (!c) {
			c = listen_connect(l, &said);
			if (!c) {
				if (wait_for(l, -1, LISTEN_RETRY_MS) < 0)
					break;
				continue;
			}
			sweeper = try_sweeper(c);
			set_up(l, true, sweeper);
			l->wake(l->ctx);
		}
		ready = wait_for(l, PQsocket(c), LISTEN_RETRY_MS);
		if (ready < 0)
			break;
		if (!ready && !sweeper && (sweeper = try_sweeper(c)))
			set_up(l, true, true);
		if (sweeper)
			purge_due(l, c, &purged);
		/* notifications a statement above read are in libpq's
		 * queue now, not on the socket: they are drained below */
		if ((ready && !PQconsumeInput(c)) ||
		    PQstatus(c) != CONNECTION_OK) {
			kvfs_log(KVFS_WARN, "lost the connection listening to "
				 "the remote store");
			said = true;
			sweeper = false;
			set_up(l, false, false);
			PQfinish(c);
			c = NULL;
			l->wake(l->ctx);
			continue;
		}
		/* not this host's own writes: its replica has them */
		while ((n = PQnotifies(c)) != NULL) {
			heard |= n->be_pid != atomic_load(&l->r->write_pid);
			PQfreemem(n);
		}
		if (heard)
			l->wake(l->ctx);
	}
	set_up(l, false, false);
	PQfinish(c);
	return NULL;
}

int remote_listen_start(struct remote *r, void (*wake)(void *ctx), void *ctx)
{
	struct listener *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	if (pipe2(l->stop, O_CLOEXEC) < 0) {
		rc = -errno;
		free(l);
		return rc;
	}
	l->r = r;
	l->wake = wake;
	l->ctx = ctx;
	/* a write past value_cache wakes the follower too (write.c) */
	r->wake = wake;
	r->wake_ctx = ctx;
	pthread_mutex_init(&l->lock, NULL);
	rc = -pthread_create(&l->thread, NULL, listen_thread, l);
	if (rc) {
		close(l->stop[0]);
		close(l->stop[1]);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return rc;
	}
	r->listener = l;
	return 0;
}

void remote_listen_stop(struct remote *r)
{
	struct listener *l = r->listener;

	if (!l)
		return;
	if (write(l->stop[1], "", 1) != 1)
		kvfs_log(KVFS_WARN, "cannot stop the listener");
	pthread_join(l->thread, NULL);
	close(l->stop[0]);
	close(l->stop[1]);
	pthread_mutex_destroy(&l->lock);
	free(l);
	r->listener = NULL;
}

void remote_listener_state(struct remote *r, bool *up, bool *sweeper)
{
	struct listener *l = r->listener;

	*up = *sweeper = false;
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	*up = l->up;
	*sweeper = l->sweeper;
	pthread_mutex_unlock(&l->lock);
}

bool remote_sweeper(struct remote *r)
{
	bool up, sweeper;

	remote_listener_state(r, &up, &sweeper);
	return sweeper;
}
