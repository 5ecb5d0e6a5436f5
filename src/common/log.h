/*
 * log.h - the daemon's one logging function, over fuse_log.
 *
 * Messages are lowercase, without a trailing period, and quote their
 * subject.  Debug messages appear only when the daemon runs with -d.
 */
#ifndef KVFS_LOG_H
#define KVFS_LOG_H

#include <stdbool.h>

enum kvfs_log_level { KVFS_ERR, KVFS_WARN, KVFS_INFO, KVFS_DEBUG };

/* Turn debug messages on or off (the -d flag). */
void kvfs_log_set_debug(bool on);

/* Is debug logging on? Lets callers skip work done only for a message. */
bool kvfs_log_debug(void);

/* Log a printf-style message at the given level. */
void kvfs_log(enum kvfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
