/*
 * worker.h - a background thread that runs one job of the daemon when it
 * is kicked, or at the time the job last asked to run again.
 */
#ifndef KVFS_WORKER_H
#define KVFS_WORKER_H

#include <time.h>

struct worker;

/*
 * The job: runs with no lock of the worker held, and returns when to run
 * again (CLOCK_REALTIME): {0, 0} only when kicked, a time already past at
 * once.
 */
typedef struct timespec (*worker_fn)(void *arg);

/* Start a thread that runs fn(arg) once now, then as fn asks: 0 or -errno. */
int worker_start(worker_fn fn, void *arg, struct worker **out);

/* Run the job again soon (NULL is fine). */
void worker_kick(struct worker *w);

/* Stop the thread, after the run under way if any, and free it (NULL is
 * fine). */
void worker_stop(struct worker *w);

#endif
