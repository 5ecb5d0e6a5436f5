/*
 * names.h - the rules for namespace names and keys (SPEC sections 2 and 3).
 *
 * The main header of src/common, the lowest layer: what every program of
 * kvfs uses (the daemon, the store, kvctl, the tests and the fuzz
 * targets).  It owns the rules of names and keys (names.c), the names and
 * values of the kv extended attributes (xattr.c), the store's limits and
 * their parsing (options.c), the one logging function (log.c) and the
 * test hooks (hooks.c).  It includes nothing of the project above it:
 * no store/, fs/ or kvctl/ header, and no FUSE or LMDB header (log.c
 * alone writes through fuse_log).  ARCHITECTURE has the whole map.
 *
 * Pure functions over byte strings: no FUSE, no storage.  Each returns 0
 * when the name is acceptable or the negative errno the spec gives.
 */
#ifndef KVFS_KEYS_H
#define KVFS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest namespace name. */
#define KVFS_NS_NAME_MAX	63
/*
 * The longest name (one segment of a key) kvfs takes, whatever
 * max_key_size: the most Linux passes to a FUSE filesystem (1024 bytes,
 * FUSE_NAME_MAX, until kernels that pass up to 4095), so that the limit
 * is the same on every kernel.
 */
#define KVFS_NAME_MAX		1024

/*
 * A namespace name: 3 to 63 characters of [A-Za-z0-9_-].
 * Returns 0 or -EINVAL.
 */
int kvfs_check_ns_name(const char *name, size_t len);

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF,
 * no NUL.  Returns 0 or -EILSEQ.
 */
int kvfs_check_utf8(const char *s, size_t len);

/*
 * One segment of a key (a file or directory name inside a namespace):
 * not empty, not "." or "..", no '/', valid UTF-8.
 * Returns 0, -EINVAL or -EILSEQ.
 */
int kvfs_check_segment(const char *name, size_t len);

/*
 * A whole key: at most max bytes (else -ENAMETOOLONG), segments separated
 * by single '/' each passing kvfs_check_segment().
 */
int kvfs_check_key(const char *key, size_t len, uint64_t max);

/*
 * The first byte of a temporary key's name.  No UTF-8 string holds the
 * byte 0xFF, so no key can start with it, and it sorts after the first
 * byte of every key: the temporary keys of a namespace are one range at
 * its end.
 */
#define KVFS_TEMP_BYTE	0xffu

/* The longest temporary key's name, whatever max_key_size is. */
#define KVFS_TEMP_NAME_MAX	255u

/*
 * A temporary key's name: KVFS_TEMP_BYTE, then the bytes of a valid
 * segment (kvfs_check_segment), at most KVFS_TEMP_NAME_MAX bytes.  It is
 * no key: kvfs takes one only directly in a namespace, to create, open,
 * write, give attributes, unlink and rename to a key (kvctl put writes
 * its value there first), never lists it, and deletes what is left of
 * them at the next mount.
 */
bool kvfs_is_temp_name(const char *name, size_t len);

#endif
