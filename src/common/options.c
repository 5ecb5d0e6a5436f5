/*
 * options.c - defaults, parsers and range checks for the store's limits.
 *
 * Every option of SPEC section 1 is described once in the table below,
 * with its kind and its bounds; kvfs_opts_set() is the only way a value
 * gets in, so that a bad value is refused the same way whatever its source.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "common/options.h"

void kvfs_opts_defaults(struct kvfs_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_key_size = 512;
	opts->max_value_size = 25ull << 20;
	opts->max_metadata_size = 1024;
	opts->min_expiration_ttl = 60;
	opts->max_namespaces = 1000;
	opts->max_storage = 0;
	opts->write_rate_limit = false;
	opts->node_cache = 100000;
	strcpy(opts->default_namespace, "default");
}

int kvfs_parse_count(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!text || !*text)
		return -EINVAL;
	for (p = text; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int kvfs_parse_size(const char *text, uint64_t *out)
{
	char *digits;
	size_t len;
	unsigned shift = 0;
	uint64_t v;
	int rc;

	if (!text || !(len = strlen(text)))
		return -EINVAL;
	switch (text[len - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: break;
	}
	/* any length: leading zeros are digits too */
	digits = strndup(text, shift ? len - 1 : len);
	if (!digits)
		return -ENOMEM;
	rc = kvfs_parse_count(digits, &v);
	free(digits);
	if (rc)
		return rc;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int kvfs_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "on", "1", "yes", "true" };
	static const char *const no[] = { "off", "0", "no", "false" };
	size_t i;

	if (!text)
		return -EINVAL;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(text, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(text, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

enum opt_kind { OPT_SIZE, OPT_COUNT, OPT_BOOL, OPT_NAME };

struct opt_desc {
	const char *name;
	enum opt_kind kind;
	size_t offset;
	uint64_t min, max;
};

#define OPT(n, k, lo, hi) { #n, k, offsetof(struct kvfs_opts, n), lo, hi }

static const struct opt_desc opt_table[] = {
	OPT(max_key_size, OPT_SIZE, 1, KVFS_KEY_SIZE_CEIL),
	OPT(max_value_size, OPT_SIZE, 1, KVFS_VALUE_SIZE_CEIL),
	OPT(max_metadata_size, OPT_SIZE, 2, KVFS_METADATA_CEIL),
	OPT(min_expiration_ttl, OPT_COUNT, 0, KVFS_TTL_CEIL),
	OPT(max_namespaces, OPT_COUNT, 1, KVFS_NAMESPACES_CEIL),
	OPT(max_storage, OPT_SIZE, 0, KVFS_STORAGE_CEIL),
	OPT(write_rate_limit, OPT_BOOL, 0, 1),
	OPT(node_cache, OPT_COUNT, KVFS_NODE_CACHE_MIN, KVFS_NODE_CACHE_CEIL),
	OPT(default_namespace, OPT_NAME, 0, 0),
};

int kvfs_opts_set(struct kvfs_opts *opts, const char *name, const char *value,
		  char *why, size_t why_len)
{
	const struct opt_desc *d = NULL;
	char *field;
	uint64_t v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		if (!strcmp(opt_table[i].name, name))
			d = &opt_table[i];
	if (!d)
		return -ENOENT;
	field = (char *)opts + d->offset;

	switch (d->kind) {
	case OPT_BOOL:
		if (kvfs_parse_bool(value, (bool *)field) == 0)
			return 0;
		snprintf(why, why_len, "expected on or off");
		return -EINVAL;
	case OPT_NAME:
		if (value && kvfs_check_ns_name(value, strlen(value)) == 0) {
			strcpy(field, value);
			return 0;
		}
		snprintf(why, why_len,
			 "expected 3 to 63 characters of A-Z a-z 0-9 _ -");
		return -EINVAL;
	case OPT_SIZE:
	case OPT_COUNT:
		rc = d->kind == OPT_SIZE ? kvfs_parse_size(value, &v)
					 : kvfs_parse_count(value, &v);
		if (rc == 0 && v >= d->min && v <= d->max) {
			*(uint64_t *)field = v;
			return 0;
		}
		snprintf(why, why_len, "expected %s from %llu to %llu",
			 d->kind == OPT_SIZE ? "a size (K, M, G, T suffixes)"
					     : "a whole number",
			 (unsigned long long)d->min,
			 (unsigned long long)d->max);
		return -EINVAL;
	}
	return -EINVAL;
}
