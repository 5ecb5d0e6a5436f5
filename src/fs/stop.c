/*
 * stop.c - a stop that does not hang on a notification.
 *
 * A notification that drops a dentry (FUSE_NOTIFY_INVAL_ENTRY) waits in
 * the kernel for the lock of the dentry's directory.  While the request
 * loop runs, a request holding that lock is answered and lets it go.
 * Once a signal has stopped the loop, a request that took the lock just
 * before is never read, so a thread whose notification waits behind it
 * waits for ever: the teller, the trimmer or the sweeper, which kvfs
 * joins after the loop (tell.h, trim.c, sweep.c; no request waits for a
 * notification).  Nothing but the connection's end wakes them.
 *
 * So a guard thread watches the stop.  If the threads are not all joined
 * STOP_GRACE_MS after it began (a stop signal, or the loop's end for any
 * reason), it aborts the connection (mountpoint.c): the kernel fails the
 * requests still waiting with ECONNABORTED, their locks go, the
 * notifications return and the stop goes on.  What was acknowledged
 * before is committed already; the requests that fail were never
 * answered.  A stop with nothing blocked ends well within the grace (5 s:
 * long enough for a commit of the largest value under load, whose writer
 * would otherwise be told its close failed), and kvfs then unmounts as it
 * always has.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "fs/mountpoint.h"
#include "fs/stop.h"

#define STOP_GRACE_MS	5000

struct stop {
	pthread_t thread;
	int pipe[2];		/* 's': the stop began, 'd': it is done */
	int devfd;		/* the session's /dev/fuse */
	long conn;		/* its number, -1 if unknown */
	char *mountpoint;
	bool aborted;
};

/* The signals libfuse stops the loop on, and its handlers for them. */
static const int stop_signals[] = { SIGHUP, SIGINT, SIGTERM };
#define NSTOP	(sizeof(stop_signals) / sizeof(stop_signals[0]))
static struct sigaction fuse_actions[NSTOP];
static bool chained[NSTOP];
static volatile sig_atomic_t signal_fd = -1;

static void on_signal(int sig)
{
	int saved = errno;
	size_t i;
	ssize_t n;

	for (i = 0; i < NSTOP; i++)
		if (stop_signals[i] == sig && chained[i])
			fuse_actions[i].sa_handler(sig);
	if (signal_fd >= 0) {
		n = write(signal_fd, "s", 1);	/* full: one is there */
		(void)n;
	}
	errno = saved;
}

static void tell_guard(struct stop *s, char what)
{
	ssize_t n = write(s->pipe[1], &what, 1);

	(void)n;
}

/* Has the kernel not ended the connection yet (no unmount, no abort)? */
static bool connected(int devfd)
{
	struct pollfd p = { .fd = devfd, .events = 0 };

	return poll(&p, 1, 0) == 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void *guard(void *arg)
{
	struct stop *s = arg;
	struct pollfd p = { .fd = s->pipe[0], .events = POLLIN };
	struct timespec began;
	bool stopping = false;
	int n, rc;
	char c;

	for (;;) {
		int wait = -1;

		if (stopping) {
			wait = STOP_GRACE_MS - (int)ms_since(&began);
			if (wait <= 0)
				break;
		}
		n = poll(&p, 1, wait);
		if (n < 0 && errno != EINTR)
			return NULL;
		if (n <= 0 || read(s->pipe[0], &c, 1) != 1)
			continue;
		if (c == 'd')
			return NULL;
		if (!stopping)
			clock_gettime(CLOCK_MONOTONIC, &began);
		stopping = true;
	}
	if (!connected(s->devfd))
		return NULL;	/* what waited was answered by the end */
	kvfs_log(KVFS_WARN, "stop: threads still wait for the kernel after "
		 "%d ms: aborting the connection", STOP_GRACE_MS);
	rc = mountpoint_abort(s->conn, s->mountpoint);
	if (rc)
		kvfs_log(KVFS_ERR, "cannot abort the connection of '%s': %s",
			 s->mountpoint, strerror(-rc));
	else
		s->aborted = true;
	return NULL;
}

static void stop_free(struct stop *s)
{
	if (s->pipe[0] >= 0)
		close(s->pipe[0]);
	if (s->pipe[1] >= 0)
		close(s->pipe[1]);
	free(s->mountpoint);
	free(s);
}

int stop_watch(int devfd, const char *mountpoint, struct stop **out)
{
	struct stop *s = calloc(1, sizeof(*s));
	struct sigaction sa;
	sigset_t all, old;
	size_t i;
	int rc;

	if (!s)
		return -ENOMEM;
	s->pipe[0] = s->pipe[1] = -1;
	s->devfd = devfd;
	s->conn = mountpoint_conn(mountpoint);
	s->mountpoint = strdup(mountpoint);
	if (!s->mountpoint) {
		stop_free(s);
		return -ENOMEM;
	}
	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		stop_free(s);
		return rc;
	}
	/* the guard takes no signal: they must wake the loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&s->thread, NULL, guard, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		stop_free(s);
		return -rc;
	}
	signal_fd = s->pipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSTOP; i++) {
		/* only where libfuse handles it: else it was left alone */
		if (sigaction(stop_signals[i], NULL, &fuse_actions[i]) < 0 ||
		    (fuse_actions[i].sa_flags & SA_SIGINFO) ||
		    fuse_actions[i].sa_handler == SIG_DFL ||
		    fuse_actions[i].sa_handler == SIG_IGN)
			continue;
		chained[i] = sigaction(stop_signals[i], &sa, NULL) == 0;
	}
	*out = s;
	return 0;
}

void stop_begin(struct stop *s)
{
	if (s)
		tell_guard(s, 's');
}

bool stop_done(struct stop *s)
{
	bool aborted;
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < NSTOP; i++) {
		if (chained[i])
			sigaction(stop_signals[i], &fuse_actions[i], NULL);
		chained[i] = false;
	}
	signal_fd = -1;
	tell_guard(s, 'd');
	pthread_join(s->thread, NULL);
	aborted = s->aborted;
	stop_free(s);
	return aborted;
}
