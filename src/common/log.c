/*
 * log.c - logging through libfuse's fuse_log, so that messages follow the
 * daemon to syslog when it runs in the background and to stderr with -f.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include <fuse_log.h>

#include "common/log.h"

static bool debug_on;

void kvfs_log_set_debug(bool on)
{
	debug_on = on;
}

bool kvfs_log_debug(void)
{
	return debug_on;
}

void kvfs_log(enum kvfs_log_level level, const char *fmt, ...)
{
	static const enum fuse_log_level map[] = {
		[KVFS_ERR] = FUSE_LOG_ERR,
		[KVFS_WARN] = FUSE_LOG_WARNING,
		[KVFS_INFO] = FUSE_LOG_INFO,
		[KVFS_DEBUG] = FUSE_LOG_DEBUG,
	};
	char line[1024];
	va_list ap;

	if (level == KVFS_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fuse_log(map[level], "kvfs: %s\n", line);
}
