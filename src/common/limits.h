/*
 * limits.h - the limits of a store as a JSON object, as a shared store
 * records them (limits.c): so that every host of it enforces the same.
 */
#ifndef KVFS_LIMITS_H
#define KVFS_LIMITS_H

#include <stddef.h>

#include "common/options.h"

/*
 * The limits of opts (max_key_size, max_value_size, max_metadata_size,
 * min_expiration_ttl, max_namespaces, max_storage: numbers;
 * write_rate_limit: a boolean) as a JSON object: malloc'd, NULL when out
 * of memory.
 */
char *kvfs_limits_json(const struct kvfs_opts *opts);

/* Told of a limit whose value json gave differs from what opts had. */
typedef void (*kvfs_limit_told)(void *ctx, const char *name, const char *was,
				const char *now);

/*
 * Take the limits json records into opts, each checked as the option of
 * its name would be, calling told for each that differs: 0, or -EINVAL
 * with a one-line reason in why (why_len bytes) and opts as it was.
 * Members of another name are passed over (a newer kvfs may record
 * more).
 */
int kvfs_limits_take(struct kvfs_opts *opts, const char *json,
		     kvfs_limit_told told, void *ctx, char *why,
		     size_t why_len);

#endif
