/*
 * kvctl.h - what the kvctl commands share.
 *
 * The main header of src/kvctl, the command-line program: main.c
 * dispatches, one file holds each group of commands (put.c, get.c,
 * list.c, ns.c, bulk.c) and util.c and mount.c what they share.  kvctl
 * works on a mounted kvfs through system calls only, so it includes
 * common/ and jansson, and nothing of store/ or fs/.
 *
 * kvctl speaks the Workers KV / Azion KV API in the shell, on a mounted
 * kvfs: a namespace is a directory NSDIR, a key the path below it, its
 * metadata and expiration the xattrs of SPEC section 4.  Every command is
 * a function taking its own argv and returning the exit status: 0, 1 for
 * an error (said on stderr), 2 for a usage error (a bad option value, a
 * key that is none).
 */
#ifndef KVFS_KVCTL_H
#define KVFS_KVCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define KC_USAGE	2

/* The commands. */
int kc_cmd_get(int argc, char **argv);
int kc_cmd_put(int argc, char **argv);
int kc_cmd_delete(int argc, char **argv);
int kc_cmd_list(int argc, char **argv);
int kc_cmd_namespace(int argc, char **argv);
int kc_cmd_import(int argc, char **argv);
int kc_cmd_export(int argc, char **argv);
int kc_cmd_status(int argc, char **argv);

/* Print "kvctl: " and the message to stderr; return 1. */
int kc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a usage line and the hint to see --help; return KC_USAGE. */
int kc_usage(const char *usage);

/* A bad argument (an option's value, a key that is none): print
 * as kc_error() does; return KC_USAGE. */
int kc_bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Is mount the root of a kvfs mount, nsdir a namespace in one
 * (kvctl/mount.c)?  0, or 1 with the reason said on stderr: not on a kvfs
 * mount, the root given for a namespace, no such namespace.
 */
int kc_check_mount(const char *mount);
int kc_check_nsdir(const char *nsdir);

/* Print j (consumed) to stdout with a newline, indented if pretty: 0/1. */
int kc_print(json_t *j, bool pretty);

/* JSON text without the white space between its tokens, malloc'd (the
 * form JSON.stringify gives, numbers and escapes spelled as they are). */
char *kc_json_compact(const char *text, size_t len);

/*
 * Valid JSON as a stand-in value that kc_print and kc_dumps write as the
 * text itself, compact (or indented as the rest of an indented output,
 * its tokens untouched): for JSON jansson cannot hold (a number past int64
 * or double), or that is to be written byte for byte (0.1, not jansson's
 * 0.10000000000000001).  The stand-in is a string that carries the text,
 * freed with the tree; NULL if out of memory.
 */
json_t *kc_raw_json(const char *text, size_t len);

/* json_dumps, with the stand-ins of kc_raw_json written out. */
char *kc_dumps(json_t *j, size_t flags);

/* "dir/key", malloc'd (aborts when out of memory, as every kc_ alloc). */
char *kc_path(const char *dir, const char *key, size_t keylen);
void *kc_alloc(size_t n);
void *kc_realloc(void *p, size_t n);
char *kc_strdup(const char *s);

/* Text being written, malloc'd, with a NUL past its end. */
struct kc_text {
	char *buf;
	size_t len, cap;
};

/* Add n bytes of p to t (aborts when out of memory, as kc_realloc). */
void kc_text_add(struct kc_text *t, const char *p, size_t n);

/* All of a file's bytes (fd or path; a NUL is kept past the end): 0 or
 * -errno. */
int kc_read_fd(int fd, char **buf, size_t *len);
int kc_read_path(const char *path, char **buf, size_t *len);

/* Base64 (RFC 4648, with padding).  Decoding returns -EINVAL on bad
 * input; both return malloc'd buffers. */
char *kc_base64_encode(const void *data, size_t len);
int kc_base64_decode(const char *text, size_t len, char **out,
		     size_t *outlen);

/* Is this valid UTF-8 that a JSON string can carry? */
bool kc_is_text(const char *data, size_t len);

/*
 * A key's metadata (NULL if none) and expiration (0 if none): 0 or -errno
 * (-ENOENT, or -EINVAL for metadata that is not JSON).  The metadata is
 * a stand-in of its text as stored, compact (kc_raw_json), so that it is
 * printed with its numbers and escapes as they are; json null for null.
 */
int kc_meta(const char *path, json_t **out);
int kc_expiration(const char *path, int64_t *out);

/*
 * A key's value, metadata and expiration as one version of it (of a
 * symbolic link: its target, and neither metadata nor expiration): a put
 * replaces the key (a new inode number), so they are read again until the
 * key's inode number is the same before and after.  0 or -errno (-ENOENT,
 * -EISDIR, -EINVAL for metadata that is not JSON, -EAGAIN if it never
 * held still).  meta and exp may be NULL; meta as kc_meta gives it.
 */
int kc_read_key(const char *path, char **data, size_t *len, json_t **meta,
		int64_t *exp);

/* "2025-01-24T14:15:22Z" */
json_t *kc_iso8601(time_t t);

/* What a key's value, metadata and expiration are to become. */
struct kc_value {
	const char *data;	/* the value, len bytes ... */
	size_t len;
	int fd;			/* ... or read from fd to its end (-1: data) */
	const char *meta;	/* metadata JSON, metalen bytes, or NULL */
	size_t metalen;
	int64_t expiration;	/* absolute, or 0 ... */
	int64_t ttl;		/* ... seconds from now (wins), or 0 */
};

/*
 * Put key in nsdir atomically: value, metadata and expiration are written
 * to a temporary key at the top of the namespace (a name no key can
 * have, common/names.h), which is renamed over the key once whole, after
 * the directories the key needs are made.  If that fails, the temporary key and the
 * directories made go.  0 or -errno, with the step that failed in *what.
 */
int kc_put(const char *nsdir, const char *key, const struct kc_value *v,
	   const char **what);

/* Why a put or delete failed with err at step what; or say it on stderr
 * (and return 1). */
const char *kc_put_reason(int err, const char *what);
int kc_put_error(const char *key, int err, const char *what);

/*
 * Every key of nsdir that starts with prefix and sorts after `after` (NULL:
 * from the start), in byte order of the whole key, until cb returns
 * non-zero (which kc_walk returns) or the keys run out (0), or -errno.
 */
typedef int (*kc_walk_cb)(void *ctx, const char *key, const char *path);
int kc_walk(const char *nsdir, const char *prefix, const char *after,
	    kc_walk_cb cb, void *ctx);

/*
 * Is a directory on the way to key in nsdir a symbolic link?  The kernel
 * would follow it, out of the namespace perhaps, where no key of this one
 * can be (a key below a key): -ENOTDIR if so, else 0 (or what lstat says).
 */
int kc_check_parents(const char *nsdir, const char *key);

/* Check a key before use: 0, or -errno with a reason. */
int kc_check_key(const char *key, size_t len, const char **why);

/*
 * Is key within the store's max_key_size?  0 or -ENAMETOOLONG, for get
 * and delete to refuse what put refuses, whether its directories exist
 * or not.  This only applies when max_key_size is under KVFS_NAME_MAX
 * (1024): statvfs of a namespace gives it as f_namemax then, and
 * KVFS_NAME_MAX for any larger one, which kvctl cannot tell apart.  With
 * such a store this returns 0 and kvfs checks the key on each lookup, so
 * a key too long below a directory that does not exist is no key to get
 * ("no such key") and delete (nothing deleted), as any missing key.
 */
int kc_check_key_size(const char *nsdir, const char *key);

/*
 * Can a key start with prefix (--prefix)?  A prefix is a byte string, not
 * a path: it selects the keys whose name starts with it, byte for byte.
 * Its part before the last '/' must then be a key's directories (no empty,
 * "." or ".." segment, UTF-8) and it no longer than a key; the rest may
 * be any start of a segment ("", "." or ".." too: ".." starts "..x").  A
 * prefix no key can start with lists nothing.
 */
bool kc_prefix_can_start(const char *prefix, size_t len);

#endif
