/*
 * stop.h - a stop of the daemon that does not hang on a notification
 * (stop.c says how one would).
 */
#ifndef KVFS_STOP_H
#define KVFS_STOP_H

#include <stdbool.h>

struct stop;

/*
 * Watch the stop of the FUSE session whose /dev/fuse is devfd, mounted at
 * mountpoint: after the signal handlers of libfuse
 * (fuse_set_signal_handlers) and the mount, and before the request loop.
 * Starts the guard's thread.  Returns 0 or -errno.
 */
int stop_watch(int devfd, const char *mountpoint, struct stop **out);

/* The request loop has ended: the stop has begun (NULL is fine). */
void stop_begin(struct stop *s);

/*
 * Every thread that sends notifications is joined: end the guard, put
 * libfuse's signal handlers back and free s.  Returns true if the guard
 * had to abort the connection, which it also unmounted (NULL: false).
 */
bool stop_done(struct stop *s);

#endif
