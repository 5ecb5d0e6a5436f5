/*
 * xattr.h - the extended attributes of a key (SPEC section 4): their
 * names, and the checks and conversions of their values.
 *
 * Pure functions over byte strings: no FUSE, no storage, so that the unit
 * tests and fuzzers drive them directly.
 */
#ifndef KVFS_KVXATTR_H
#define KVFS_KVXATTR_H

#include <stddef.h>
#include <stdint.h>

#define KVX_METADATA		"user.kv.metadata"
#define KVX_EXPIRATION		"user.kv.expiration"
#define KVX_EXPIRATION_TTL	"user.kv.expiration_ttl"
/* The root's, read only and not listed: where the mount stands, as JSON
 * (kvctl status). */
#define KVX_STATUS		"user.kv.status"

enum kvx_name {
	KVX_NONE,		/* any other name: nothing kvfs keeps */
	KVX_NAME_METADATA,
	KVX_NAME_EXPIRATION,
	KVX_NAME_TTL,
};

/* Which of a key's attributes name is. */
enum kvx_name kvx_classify(const char *name);

/*
 * Metadata: at most max bytes (else -ERANGE) of one valid JSON value of
 * any type, checked with jansson (else -EINVAL), its numbers any RFC 8259
 * allows, whatever their size (1e400, 10000000000000000000).  -ENOMEM if
 * it cannot be checked.
 */
int kvx_check_metadata(const void *value, size_t len, uint64_t max);

/*
 * A count of seconds: decimal digits only, no sign, no space, at most
 * INT64_MAX.  Returns 0 or -EINVAL.
 */
int kvx_parse_seconds(const void *value, size_t len, int64_t *out);

/*
 * The absolute expiration set by value written to attribute which (an
 * expiration or a TTL) at Unix second now: it must be at least min_ttl
 * seconds ahead.  Returns 0 or -EINVAL.
 */
int kvx_expiration(enum kvx_name which, const void *value, size_t len,
		   int64_t now, uint64_t min_ttl, int64_t *out);

/*
 * The text of an expiration as attribute which reads it at now (the
 * absolute second, or the seconds left): returns its length, written to
 * buf (at least 21 bytes) without a terminating NUL.
 */
size_t kvx_format(enum kvx_name which, int64_t expiration, int64_t now,
		  char *buf);

#endif
