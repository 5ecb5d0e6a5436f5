/*
 * store.h - the key-value store behind kvfs.
 *
 * The main header of src/store: the store on LMDB, with its records
 * (record.c), the ordered index (index.c), values and their chunks,
 * namespaces, expiry and the sweep, temporary keys and checkpoints.  It
 * includes common/ and LMDB, never a FUSE header and nothing of fs/ or
 * kvctl/; its own files share store/internal.h, which no one outside
 * includes.  The daemon (src/fs) reaches the data only through this
 * header.  ARCHITECTURE has the whole map.
 *
 * A store holds namespaces; a namespace holds keys; a key holds a value,
 * its file attributes, its metadata (JSON bytes) and its expiration, all
 * in one record found by (namespace, key).  From the second a key expires
 * it is absent to every function here; store_sweep() reclaims its space.
 * Keys are byte strings ordered bytewise; a "directory" is a key prefix
 * ending in '/', and an empty one is kept by a directory marker record.
 * This interface includes no FUSE header: the filesystem is one front end
 * of it and a second backend (a distributed engine) can stand behind it
 * later.
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure; the errors each can return are listed with it.  -EIO means the
 * storage itself failed; -ENOSPC that the disk or max_storage is full.
 * Every change is committed before the function returns: it survives a
 * crash of the process, and after store_sync() a crash of the machine.
 */
#ifndef KVFS_STORE_H
#define KVFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct store;
struct store_value;

enum kv_type {
	KV_FILE = 1,	/* a key with a value */
	KV_DIR = 2,	/* a directory: a marker, or implied by keys below it */
	KV_LINK = 3,	/* a symbolic link: a key whose value is its target */
};

/* The attributes of a namespace, key or directory. */
struct kv_attr {
	uint64_t ino;		/* stable while the key exists, kept by rename */
	uint64_t gen;		/* changes with every new value of the key */
	uint64_t size;		/* bytes of the value */
	uint32_t type;		/* enum kv_type */
	uint32_t mode;		/* permission bits only */
	uint32_t uid, gid;
	struct timespec atime, mtime, ctime, btime;
	int64_t expiration;	/* Unix seconds, 0 = never */
};

/* What store_setattr() changes. */
#define KV_SET_MODE	(1u << 0)
#define KV_SET_UID	(1u << 1)
#define KV_SET_GID	(1u << 2)
#define KV_SET_ATIME	(1u << 3)
#define KV_SET_MTIME	(1u << 4)

/* Flags of store_rename(). */
#define KV_RENAME_NOREPLACE	(1u << 0)

/* Limits the store enforces itself; the front end checks names and sizes. */
struct store_limits {
	uint64_t max_key_size;		/* keys moved by a rename: -ENAMETOOLONG */
	uint64_t max_namespaces;	/* past it: -EDQUOT */
	uint64_t max_storage;		/* bytes of values, 0 = none: -ENOSPC */
};

/*
 * Open (creating if needed, mode 0700) the store in directory path and lock
 * it against a second user.  A new store gets the namespace default_ns
 * (NULL for none), owned by uid/gid.  The temporary keys left in any
 * namespace (names from the byte 0xFF on, common/names.h) are deleted.  Errors:
 * -EBUSY if another process has the store open, -ENOTDIR, -EACCES, -EIO,
 * -ENOMEM.
 */
int store_open(const char *path, const struct store_limits *limits,
	       const char *default_ns, uid_t uid, gid_t gid,
	       struct store **out);

/*
 * Collect the chunks that wait in the store's queue and that no reader
 * holds (store_open does so, but for a replica: store_collect once its
 * capture is set, so that the store it copies drops them too, as what a
 * write killed on this host left there).
 */
void store_collect(struct store *st);

/*
 * Enforce limits from now on instead of those store_open was given: a
 * replica takes the shared store's (before other threads use st).
 */
void store_set_limits(struct store *st, const struct store_limits *limits);

/* Name and version of the storage engine, for --version. */
const char *store_backend_version(void);

/* Close the store: every change is already durable against a crash. */
void store_close(struct store *st);

/* Flush every committed change to stable storage (fsync, syncfs). */
int store_sync(struct store *st);

/*
 * The calling thread's commits go ahead of those of threads that are not
 * urgent, from store_urgent(true) to store_urgent(false): for a request
 * that others wait behind (one holding a directory's lock in the kernel),
 * while many commit at once.
 */
void store_urgent(bool on);

/* Attributes of the store's root (the directory holding the namespaces). */
void store_root_attr(struct store *st, struct kv_attr *out);

/* Bytes used by values and pages used by the store, for statfs. */
int store_usage(struct store *st, uint64_t *value_bytes, uint64_t *file_bytes);

/*
 * Namespaces.  Names are checked by the caller (common/names.h).
 * store_ns_stat: -ENOENT.
 * store_ns_create: -EEXIST, -EDQUOT.
 * store_ns_delete: -ENOENT, -ENOTEMPTY (temporary keys do not count).
 * store_ns_rename: -ENOENT; to exists: -EEXIST with KV_RENAME_NOREPLACE,
 *   else it is replaced if empty, -ENOTEMPTY if not.
 * store_ns_setattr: as store_setattr; the namespace "" is the root.
 */
int store_ns_stat(struct store *st, const char *ns, struct kv_attr *out);
int store_ns_create(struct store *st, const char *ns, const struct kv_attr *a);
int store_ns_delete(struct store *st, const char *ns);
int store_ns_rename(struct store *st, const char *from, const char *to,
		    unsigned flags);
int store_ns_setattr(struct store *st, const char *ns, const struct kv_attr *a,
		     unsigned mask, struct kv_attr *out);

/*
 * Called for each entry of a listing, inside a read transaction (so it must
 * not block or reply to anyone).  pos (poslen bytes) is where a later
 * listing may resume, passed back as `after`.  Return 0 to go on, 1 to
 * stop, or a negative errno to abort the listing with it.
 */
typedef int (*store_list_cb)(void *ctx, const char *name, size_t len,
			     const struct kv_attr *attr, const char *pos,
			     size_t poslen);

/* List the namespaces whose name sorts after `after` ("" for all). */
int store_ns_list(struct store *st, const char *after, store_list_cb cb,
		  void *ctx);

/*
 * The name of the namespace whose id is nsid (a change's, store_change),
 * into name (size bytes): 0, -ENOENT, -ENAMETOOLONG.
 */
int store_ns_name(struct store *st, uint32_t nsid, char *name, size_t size);

/*
 * Keys.  key is the key string (no leading or trailing '/'), len bytes;
 * keys are checked by the caller.  An empty key names the namespace root.
 *
 * store_stat: the key's attributes; a directory marker or a prefix of
 *   other keys is a KV_DIR.  -ENOENT.
 * store_list: the entries directly below directory dir (dirlen bytes, ""
 *   for the namespace root), from the start or after position `after`
 *   (afterlen bytes, as given to a callback): keys, markers and implied
 *   directories, each once, in key order; never a temporary key.
 *   -ENOENT (no namespace).
 * store_create: a new key with an empty value (type KV_FILE) or a
 *   directory marker (KV_DIR), attributes from a; in a set-group-ID
 *   directory it takes the directory's group (a directory, the bit too).
 *   -EEXIST, -ENOENT (no namespace, or the directory that would hold the
 *   key is not there), -ENOTDIR (that directory's name is a key's).
 * store_create, store_unlink, store_rmdir and store_rename move the mtime
 *   and ctime of the directory whose names they change, if it has a
 *   marker, and the mtime of its namespace.
 * store_unlink: delete a key and its value.  -ENOENT, -EISDIR.
 * store_rmdir: delete an empty directory.  -ENOENT, -ENOTDIR, -ENOTEMPTY.
 * store_rename: move a key, or a directory with every key below it, in
 *   one transaction, within or across namespaces.  The target is replaced
 *   as rename(2) does (a key by a key, an empty directory by a directory);
 *   -EEXIST (NOREPLACE), -ENOTDIR, -EISDIR, -ENOTEMPTY, -ENOENT (also
 *   when the directory that would hold the target is not there), -EINVAL
 *   (a directory into itself).  *ino (if not NULL) receives the inode
 *   number of what moved.
 * store_setattr: change the attributes named by mask.  -ENOENT.
 */
int store_stat(struct store *st, const char *ns, const char *key, size_t len,
	       struct kv_attr *out);
int store_list(struct store *st, const char *ns, const char *dir,
	       size_t dirlen, const char *after, size_t afterlen,
	       store_list_cb cb, void *ctx);
int store_create(struct store *st, const char *ns, const char *key,
		 size_t len, const struct kv_attr *a, struct kv_attr *out);
int store_unlink(struct store *st, const char *ns, const char *key,
		 size_t len);
int store_rmdir(struct store *st, const char *ns, const char *key, size_t len);
int store_rename(struct store *st, const char *ns, const char *key, size_t len,
		 const char *tons, const char *tokey, size_t tolen,
		 unsigned flags, uint64_t *ino);
int store_setattr(struct store *st, const char *ns, const char *key,
		  size_t len, const struct kv_attr *a, unsigned mask,
		  struct kv_attr *out);

/*
 * Symbolic links: a key of type KV_LINK whose value is the link's target,
 * made whole in one transaction and never rewritten (a new target is a
 * new link).  Everything else treats it as a key: it is listed, renamed,
 * unlinked, its attributes changed, its bytes counted by max_storage.
 *
 * store_symlink: a new link to target (tlen bytes, checked by the caller),
 *   attributes from a, as store_create makes a key.  -EEXIST, -ENOENT,
 *   -ENOTDIR (as store_create), -ENOSPC (max_storage).
 * store_readlink: the link's target, copied to buf when it fits in size
 *   bytes; returns its length.  -ENOENT, -EINVAL (not a link).
 */
int store_symlink(struct store *st, const char *ns, const char *key,
		  size_t len, const struct kv_attr *a, const char *target,
		  size_t tlen, struct kv_attr *out);
ssize_t store_readlink(struct store *st, const char *ns, const char *key,
		       size_t len, char *buf, size_t size);

/*
 * Values.
 *
 * store_value_open: pin the key's current value so that it can be read
 *   whole and unchanged however the key changes meanwhile; attr receives
 *   the key's attributes.  -ENOENT, -EISDIR.
 * store_value_read: read up to len bytes at off; returns the count (0 at
 *   the end).
 * store_value_dup: another handle on the same value, v's generation,
 *   pinned again (it is while v is): 0 or -ENOMEM.
 * store_value_close: release the pin.
 */
int store_value_open(struct store *st, const char *ns, const char *key,
		     size_t len, struct store_value **out, struct kv_attr *attr);
ssize_t store_value_read(struct store *st, struct store_value *v, void *buf,
			 size_t len, off_t off);
uint64_t store_value_size(const struct store_value *v);

/* A run of bytes in one of the store's files: for splice(2). */
struct store_extent {
	int fd;
	uint64_t off;
	size_t len;
};

/*
 * Where bytes [off, off + len) of v (len > 0, within the value) lie in
 * the store's files, for a reader that would rather move them from there
 * than copy them: up to max extents, in order, in ext, *n of them.
 * Returns how many bytes from off they cover: all, or fewer where a
 * piece lies elsewhere (an inline value, a small last chunk kept in an
 * index page), for the caller to read with store_value_read(); or -errno.
 * The bytes stay in place, unchanged, while v is open; the files are the
 * store's, open until store_close().
 */
ssize_t store_value_extents(struct store *st, const struct store_value *v,
			    uint64_t off, size_t len,
			    struct store_extent *ext, unsigned max,
			    unsigned *n);
uint64_t store_value_gen(const struct store_value *v);
/* Whether v is kept in chunks (else inline in its key's record). */
bool store_value_chunked(const struct store_value *v);
int store_value_dup(struct store *st, const struct store_value *v,
		    struct store_value **out);
void store_value_close(struct store *st, struct store_value *v);

/* Where store_value_put() reads the new value from. */
struct store_src {
	/* Read up to len bytes at off; return the count or a negative errno. */
	ssize_t (*read)(void *ctx, void *buf, size_t len, off_t off);
	void *ctx;
	uint64_t size;
};

/* Flags of store_value_put(). */
#define KV_PUT_KILL_SUIDGID	(1u << 0)	/* an unprivileged writer's */

/*
 * Give the key a new value, read from src, in a way no reader sees half of.
 * The key must still be the one with inode number ino (a key deleted or
 * replaced meanwhile is left alone: -ESTALE).  mtime is the time of the
 * last write; the other attributes are kept, except that with
 * KV_PUT_KILL_SUIDGID the set-user-ID bit is cleared, and the
 * set-group-ID bit of a group-executable key, as a local filesystem does
 * on a write by a process without CAP_FSETID.  out receives the new
 * attributes.  Errors: -ESTALE, -ENOSPC, -EIO, or what src->read returned.
 */
int store_value_put(struct store *st, const char *ns, const char *key,
		    size_t len, uint64_t ino, const struct store_src *src,
		    const struct timespec *mtime, unsigned flags,
		    struct kv_attr *out);

/*
 * store_value_put() on the condition that the key's value is still the
 * generation gen: -EBUSY if another has replaced it since, for a writer
 * whose new value was built on that one (an append).
 */
int store_value_put_if(struct store *st, const char *ns, const char *key,
		       size_t len, uint64_t ino, uint64_t gen,
		       const struct store_src *src,
		       const struct timespec *mtime, unsigned flags,
		       struct kv_attr *out);

/*
 * A value being written, streamed into the store as it comes, before it is
 * any key's value (store/stage.c).  Its chunks are under a generation of
 * their own that no key holds and no reader sees; memory holds at most
 * a few chunks (about 4 MiB), the rest is written in transactions of
 * about that size as the writes come.  Until it is published it is
 * queued for collection: a crash or kill of the process leaves nothing
 * once the store is next opened, and store_stage_close drops it, its
 * space back.  One thread at a time uses a stage.
 *
 * store_stage_open: an empty stage.  0 or -ENOMEM.
 * store_stage_write: write len bytes at off (any offset; a hole reads as
 *   zeros): 0, -ENOSPC, -EIO, -ENOMEM.
 * store_stage_read: up to len bytes at off: the count, 0 at the end, or a
 *   negative errno.
 * store_stage_truncate: cut or extend (zeros) to size bytes.
 * store_stage_size: its size.
 * store_stage_close: free it; if it was never published its chunks are
 *   dropped.
 * store_value_put_stage, _if: store_value_put(), _if() with the stage as
 *   the new value, made the key's in one small transaction (a value of
 *   up to 4 KiB is copied into the record).  The stage can then only be
 *   closed; val (if not NULL) receives the new value, opened (as
 *   store_value_open would).  On an error the stage is as it was.
 */
struct store_stage;

int store_stage_open(struct store *st, struct store_stage **out);
int store_stage_write(struct store_stage *sg, const void *buf, size_t len,
		      uint64_t off);
ssize_t store_stage_read(struct store_stage *sg, void *buf, size_t len,
			 uint64_t off);
int store_stage_truncate(struct store_stage *sg, uint64_t size);
uint64_t store_stage_size(const struct store_stage *sg);
void store_stage_close(struct store_stage *sg);
int store_value_put_stage(struct store *st, const char *ns, const char *key,
			  size_t len, uint64_t ino, struct store_stage *sg,
			  const struct timespec *mtime, unsigned flags,
			  struct kv_attr *out, struct store_value **val);
int store_value_put_stage_if(struct store *st, const char *ns,
			     const char *key, size_t len, uint64_t ino,
			     uint64_t gen, struct store_stage *sg,
			     const struct timespec *mtime, unsigned flags,
			     struct kv_attr *out, struct store_value **val);

/* Flags of store_meta_set() and store_expire_set(), as setxattr(2)'s. */
#define KV_XATTR_CREATE		(1u << 0)	/* -EEXIST if set already */
#define KV_XATTR_REPLACE	(1u << 1)	/* -ENODATA if not set */

/*
 * Metadata and expiration of a key (directories have neither).  With ino
 * not 0 they fail with -ESTALE if the key is no longer the one with that
 * inode number (a rename replaced it), so that a caller holding an old
 * version does not read or change the new one.
 *
 * store_meta_get: the metadata's length; its bytes are copied to buf when
 *   it fits in size bytes.  -ENODATA (none, or a directory), -ENOENT.
 * store_meta_set: set the metadata to the len bytes at json (checked by
 *   the caller), or remove it (json NULL).  -ENOENT, -EISDIR, -ENODATA
 *   (removing none), -EEXIST/-ENODATA per flags.
 * store_expire_set: make the key expire at Unix second expiration (0:
 *   never), out receiving its attributes.  Errors as store_meta_set.
 * Both keep the value and change ctime.
 */
int store_meta_get(struct store *st, const char *ns, const char *key,
		   size_t len, uint64_t ino, void *buf, size_t size);
int store_meta_set(struct store *st, const char *ns, const char *key,
		   size_t len, uint64_t ino, const void *json, size_t jsonlen,
		   unsigned flags);
int store_expire_set(struct store *st, const char *ns, const char *key,
		     size_t len, uint64_t ino, int64_t expiration, unsigned flags,
		     struct kv_attr *out);

/*
 * Expired keys.  Called after the sweep has deleted a key, outside any
 * transaction; ns is NULL if the key's namespace is gone.
 */
typedef void (*store_expired_cb)(void *ctx, const char *ns, const char *key,
				 size_t len);

/* What the sweep has done since the store was opened. */
struct store_sweep_stats {
	uint64_t deleted;	/* expired keys deleted */
	uint64_t visited;	/* expiry index entries looked at */
};

/*
 * Delete at most max keys that expired at or before Unix second now, in
 * one transaction, finding them through the expiry index (never a scan of
 * the keys); cb (if not NULL) hears of each.  Returns the number deleted
 * or a negative errno.
 */
int store_sweep(struct store *st, int64_t now, unsigned max,
		store_expired_cb cb, void *ctx);

/* The earliest expiration of any key (Unix seconds), 0 if none expires. */
int64_t store_next_expiry(struct store *st);

void store_sweep_stats(struct store *st, struct store_sweep_stats *out);

/*
 * Replication (issue 18: a replica of a store PostgreSQL holds).  A
 * store's replicated part is its root's attributes, its namespaces, its
 * keys' records and its values' chunks; the expiry index, the counters
 * and the collection queue follow from them on each store.  A change to
 * it is one of these:
 */
enum store_change_kind {
	STORE_CHANGE_ROOT = 1,	/* the root's attributes: a */
	STORE_CHANGE_NS,	/* namespace name, id nsid: a */
	STORE_CHANGE_KEY,	/* key name in namespace nsid: its record */
	STORE_CHANGE_CHUNK,	/* chunk idx of generation gen: data */
	STORE_CHANGE_TRIM,	/* generation gen's chunks idx and on: gone */
	STORE_CHANGE_DROP,	/* generation gen: no key holds it, collect */
	STORE_CHANGE_IDS,	/* the next identifiers are at least ids */
};

/* The next inode number, value generation and namespace id. */
struct store_ids {
	uint64_t ino, gen, nsid;
};

struct store_change {
	enum store_change_kind kind;
	bool deleted;		/* NS, KEY: gone */
	uint32_t nsid;		/* NS: its id; KEY: its namespace's */
	const char *name;	/* NS: the namespace, KEY: the key */
	size_t len;		/* bytes of name */
	struct kv_attr a;	/* ROOT, NS, KEY (not deleted) */
	bool chunked;		/* KEY: the value is chunks of a.gen */
	const void *data;	/* KEY: the value inline (a.size bytes, */
	size_t size;		/*   none for a directory); CHUNK: bytes */
	const void *meta;	/* KEY: the metadata JSON (metalen bytes) */
	size_t metalen;
	uint64_t gen, idx;	/* CHUNK, TRIM, DROP */
	struct store_ids ids;	/* IDS (store_apply only) */
};

/*
 * The keys the store holds (temporary ones too), in the order of
 * (namespace id, key bytes), from the first after (nsid, key) (len 0:
 * from the first of namespace nsid): cb for each, with the change (a
 * KEY) that makes it as it is, valid until cb returns, up to max of
 * them, until cb returns nonzero (a negative errno is returned).
 * Returns how many cb saw, or a negative errno.  For a replica comparing
 * itself with the store it copies, whose order is the same, and a store
 * pushed into an empty one.  store_chunks_each: the chunks of generation
 * gen, as CHUNK changes, in order.
 */
typedef int (*store_key_cb)(void *ctx, const struct store_change *ch);
int store_keys_after(struct store *st, uint32_t nsid, const char *key,
		     size_t len, unsigned max, store_key_cb cb, void *ctx);
int store_chunks_each(struct store *st, uint64_t gen, store_key_cb cb,
		      void *ctx);

/*
 * Hear of every change a write transaction makes to the replicated part,
 * in the order it made them, before it commits: fn returns 0 to let it
 * commit, -EAGAIN if this store is behind the one it copies (catchup is
 * then called, outside any transaction, and the writes run again unless
 * it fails, up to 10 times; after each catchup, release if not NULL,
 * once the write has run again or catchup failed: catchup may hold,
 * until then, what lets the write through), or another negative errno,
 * which aborts it and is what each write in it returns.  fn runs under
 * the store's write lock, one transaction at a time; what ch points to
 * lives until fn
 * returns, and fn may record the position that commits with the
 * transaction (store_capture_pos).  A transaction that changes none of
 * it and takes no identifier does not call fn (one that takes one, as a
 * put taking its generation, calls it with n = 0).  NULL fn: no capture
 * (the default, which costs nothing).  Set before other threads use the
 * store.
 */
typedef int (*store_capture_fn)(void *ctx, const struct store_change *ch,
				size_t n);
typedef int (*store_catchup_fn)(void *ctx);
typedef void (*store_release_fn)(void *ctx);
void store_set_capture(struct store *st, store_capture_fn fn,
		       store_catchup_fn catchup, store_release_fn release,
		       void *ctx);

/*
 * Whether the store holds every chunk of generation gen, a value of size
 * bytes, as a feed applies them (in order): a replica fetches only the
 * values it lacks.
 */
bool store_gen_whole(struct store *st, uint64_t gen, uint64_t size);

/*
 * A replica that keeps only some values (-o value_cache; store/cache.c):
 * every key's record stays, a value's chunks may not be here, and then
 * store_value_open fails with -EREMOTE, its attr giving the key's inode
 * number, generation and size.  store_value_fill writes chunks of
 * generation gen fetched from the store it copies (CHUNK changes, in
 * order, a chunk already here kept) while key ns/key still holds gen:
 * else -ESTALE, nothing written.  store_value_evict deletes the chunks of
 * generation gen: the bytes deleted (0: none were here), -EBUSY while a
 * reader pins it.  Neither is captured: what a host keeps is its own.
 * store_gen_pin holds gen's chunks against eviction (and collection)
 * until store_gen_unpin: 0, -EREMOTE (being evicted), -ENOMEM.
 */
int store_value_fill(struct store *st, const char *ns, const char *key,
		     size_t len, uint64_t gen, const struct store_change *ch,
		     size_t n);
int64_t store_value_evict(struct store *st, uint64_t gen);
int store_gen_pin(struct store *st, uint64_t gen);
void store_gen_unpin(struct store *st, uint64_t gen);

/*
 * A replica's position in what it copies (an opaque string of up to
 * STORE_POS_MAX bytes, "" for none): store_capture_pos, only inside the
 * capture's callback, records it with the transaction being committed;
 * store_apply records one with the changes it applies; store_apply_pos
 * reads the last committed (-ENAMETOOLONG, -EIO).
 */
#define STORE_POS_MAX	4000
int store_capture_pos(struct store *st, const char *pos);
int store_apply_pos(struct store *st, char *buf, size_t size);

/*
 * Only inside the capture's callback: the position recorded before this
 * transaction (as store_apply_pos), and the next identifiers before and
 * after it: those it may have given out lie between.
 */
int store_capture_pos_get(struct store *st, char *buf, size_t size);
void store_capture_ids(struct store *st, struct store_ids *before,
		       struct store_ids *after);

/* The next identifiers, while no write runs (a store being pushed into
 * an empty shared store before it is served). */
void store_next_ids(struct store *st, struct store_ids *out);

/*
 * Apply changes captured from another store, in order, in one write
 * transaction (not captured in turn), keeping the expiry index and the
 * counters, and collecting a dropped generation once no reader here pins
 * it, with pos (if not NULL) as the new position; with from not NULL,
 * only if the store's position is still from (else -EAGAIN, nothing
 * applied: another applied or committed meanwhile).  The store's next
 * inode number, generation and namespace id move past those the changes
 * carry.  With STORE_APPLY_FEED the changes are states rather than
 * steps (a feed of the records as they are now, without the drops): the
 * generation of a value a change replaces or deletes is dropped here,
 * unless a key of the same changes holds it (a rename), and a chunk
 * already here is kept (a published chunk never changes, and a reader
 * may be reading its pages).  With STORE_APPLY_NOCOLLECT, what was
 * dropped waits in the queue for a later store_apply (or write) to
 * collect it: a feed applying in parts collects at its end.  -EIO on a
 * change that does not fit (a chunk of no size or too large, a key's
 * value of the wrong size), -ENOSPC.
 */
#define STORE_APPLY_FEED	(1u << 0)
#define STORE_APPLY_NOCOLLECT	(1u << 1)
int store_apply(struct store *st, const struct store_change *ch, size_t n,
		const char *from, const char *pos, unsigned flags);

#endif
