/*
 * limits.c - a store's limits to JSON and back.
 *
 * A value read back goes through kvfs_opts_set(), as an option on the
 * command line would: a database holding a limit out of range is refused
 * the same way.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/limits.h"

/* The limits, and where each lives in struct kvfs_opts (NULL: the
 * boolean write_rate_limit). */
static const char *const names[] = {
	"max_key_size", "max_value_size", "max_metadata_size",
	"min_expiration_ttl", "max_namespaces", "max_storage",
	"write_rate_limit"
};
#define NLIMITS (sizeof(names) / sizeof(names[0]))

static uint64_t *field(struct kvfs_opts *o, size_t i)
{
	uint64_t *f[] = {
		&o->max_key_size, &o->max_value_size, &o->max_metadata_size,
		&o->min_expiration_ttl, &o->max_namespaces, &o->max_storage,
		NULL
	};

	return f[i];
}

/* Limit i of o as an option's text. */
static void text_of(struct kvfs_opts *o, size_t i, char *buf, size_t len)
{
	uint64_t *f = field(o, i);

	if (f)
		snprintf(buf, len, "%" PRIu64, *f);
	else
		snprintf(buf, len, "%s", o->write_rate_limit ? "on" : "off");
}

char *kvfs_limits_json(const struct kvfs_opts *opts)
{
	struct kvfs_opts o = *opts;
	json_t *j = json_object();
	char *s = NULL;
	size_t i;

	if (!j)
		return NULL;
	for (i = 0; i < NLIMITS; i++) {
		uint64_t *f = field(&o, i);
		json_t *v = f ? json_integer((json_int_t)*f)
			      : json_boolean(o.write_rate_limit);

		if (json_object_set_new(j, names[i], v))
			goto out;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(j);
	return s;
}

int kvfs_limits_take(struct kvfs_opts *opts, const char *json,
		     kvfs_limit_told told, void *ctx, char *why,
		     size_t why_len)
{
	struct kvfs_opts o = *opts;
	json_error_t err;
	json_t *j = json_loads(json, 0, &err);
	char was[32], now[32], reason[128];
	size_t i;
	int rc = 0;

	if (!json_is_object(j)) {
		snprintf(why, why_len, "the store's limits are not a JSON "
			 "object");
		json_decref(j);
		return -EINVAL;
	}
	for (i = 0; !rc && i < NLIMITS; i++) {
		json_t *v = json_object_get(j, names[i]);

		if (!v)
			continue;
		if (field(&o, i) && json_is_integer(v) &&
		    json_integer_value(v) >= 0)
			snprintf(now, sizeof(now), "%" PRIu64,
				 (uint64_t)json_integer_value(v));
		else if (!field(&o, i) && json_is_boolean(v))
			snprintf(now, sizeof(now), "%s",
				 json_is_true(v) ? "on" : "off");
		else
			now[0] = '\0';
		if (!now[0] || kvfs_opts_set(&o, names[i], now, reason,
					     sizeof(reason))) {
			snprintf(why, why_len, "the store's %s is not valid",
				 names[i]);
			rc = -EINVAL;
		}
	}
	if (!rc) {
		for (i = 0; i < NLIMITS; i++) {
			text_of(opts, i, was, sizeof(was));
			text_of(&o, i, now, sizeof(now));
			if (strcmp(was, now) && told)
				told(ctx, names[i], was, now);
		}
		*opts = o;
	}
	json_decref(j);
	return rc;
}
