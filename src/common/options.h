/*
 * options.h - the limits and settings of a kvfs store (SPEC section 1) and
 * the parsers for their values.
 *
 * The parsers take the text of one option value and either fill in the
 * setting or return -EINVAL and a one-line reason; they know nothing of
 * FUSE, so that the fuzzers and unit tests can drive them directly.
 */
#ifndef KVFS_OPTIONS_H
#define KVFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvfs_opts {
	uint64_t max_key_size;		/* bytes of a key, UTF-8 */
	uint64_t max_value_size;	/* bytes of a value */
	uint64_t max_metadata_size;	/* bytes of the metadata JSON */
	uint64_t min_expiration_ttl;	/* seconds */
	uint64_t max_namespaces;
	uint64_t max_storage;		/* bytes of values, 0 = no limit */
	bool write_rate_limit;		/* one write per key per second */
	uint64_t node_cache;		/* names the daemon keeps for the kernel */
	char default_namespace[64];
};

/* Upper bounds of the settings, so that every limit stays meaningful. */
#define KVFS_KEY_SIZE_CEIL	4096u		/* PATH_MAX */
#define KVFS_VALUE_SIZE_CEIL	(1ull << 40)	/* 1 TiB */
#define KVFS_METADATA_CEIL	65536u		/* XATTR_SIZE_MAX */
#define KVFS_TTL_CEIL		(100ull * 365 * 86400)
#define KVFS_NAMESPACES_CEIL	1000000u
#define KVFS_STORAGE_CEIL	(1ull << 62)
#define KVFS_NODE_CACHE_MIN	100u
#define KVFS_NODE_CACHE_CEIL	100000000u

/* Fill opts with the defaults of SPEC section 1. */
void kvfs_opts_defaults(struct kvfs_opts *opts);

/*
 * Parse a size: decimal digits with an optional K, M, G or T suffix (powers
 * of 1024, either case).  Returns 0, or -EINVAL if the text is not a size or
 * -ERANGE if it does not fit in 64 bits.
 */
int kvfs_parse_size(const char *text, uint64_t *out);

/* Parse a plain decimal count: 0, -EINVAL or -ERANGE as above. */
int kvfs_parse_count(const char *text, uint64_t *out);

/* Parse on/off (also 1/0, yes/no, true/false): 0 or -EINVAL. */
int kvfs_parse_bool(const char *text, bool *out);

/*
 * Set the option called name from its text value, checking its range.
 * Returns 0, -ENOENT if no option has that name, or -EINVAL with a
 * description of what was expected written to why (of why_len bytes).
 */
int kvfs_opts_set(struct kvfs_opts *opts, const char *name, const char *value,
		  char *why, size_t why_len);

#endif
