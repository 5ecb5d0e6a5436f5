/*
 * internal.h - what the store's LMDB files share and nobody else sees.
 *
 * Layout of the LMDB environment (one named database each):
 *   info  counters and the root's attributes
 *   ns    namespace name -> namespace record (a record, type KV_DIR,
 *         whose inode number carries the namespace id)
 *   keys  (namespace id, key) -> key record, through store/index.c
 *   data  (generation, chunk index) -> a chunk of a large value
 *   gc    generation -> nothing: chunks to delete once no reader pins them
 *         (also a stage's, until its switch: store/stage.c)
 *   expiry  (expiration, inode number) -> (namespace id, key): the keys
 *         that expire, in the order they do, for the sweep
 */
#ifndef KVFS_STORE_INT_H
#define KVFS_STORE_INT_H

#include <pthread.h>

#include <lmdb.h>

#include "common/names.h"
#include "store/store.h"

/* Values up to this size live in their key's record. */
#define STORE_INLINE_MAX	4096u
/* A large value is written in transactions of at most this many bytes. */
#define STORE_TXN_BYTES		(4u << 20)
/*
 * The checkpoint thread is woken after this many commits (or a second):
 * the pages freed meanwhile wait for a checkpoint before they are used
 * again.
 */
#define CKPT_COMMITS		64
/*
 * Writers wait before a new transaction while this many commits have no
 * checkpoint yet, so that a slow disk cannot make the store grow with
 * pages held back for the checkpoint.
 */
#define CKPT_BEHIND_MAX		(2 * CKPT_COMMITS)

/* Inode numbers of namespaces and of directories without a marker. */
#define STORE_NS_INO		(1ull << 62)
#define STORE_IMPLIED_INO	(1ull << 63)
/* The namespace id a namespace's inode number carries. */
#define NSID(ino)	((uint32_t)((ino) & 0xffffffffu))

/* Bytes of a key of the expiry table: expiration, inode number. */
#define EXP_KEY_SIZE	16

struct group_write;
struct pin;
struct rec;

/*
 * The changes of the write transaction being made, for the capture's
 * callback (store/capture.c); guarded by write_lock.  own[i] is the
 * memory ch[i] points into.
 */
struct capture {
	store_capture_fn fn;
	store_catchup_fn catchup;
	store_release_fn release;
	void *ctx;
	MDB_txn *txn;			/* being committed, in fn */
	struct store_ids before;	/* the next ids when it began */
	struct store_change *ch;
	void **own;
	size_t n, cap;
	bool off;			/* store_apply's transaction */
};

struct store {
	MDB_env *env;
	MDB_dbi info, ns, keys, data, gc, expiry;
	int lockfd;
	size_t chunk;			/* bytes of value per chunk */
	struct store_limits limits;

	/* Held shared by every transaction, exclusively to grow the map. */
	pthread_rwlock_t map_lock;
	size_t mapsize;

	/*
	 * Writers waiting for their commit (store_write, env.c): urgent
	 * ones and the others, each in the order they came, and whether
	 * one of them leads a group commit now.
	 */
	pthread_mutex_t group_lock;
	pthread_cond_t group_cond;
	struct group_write *urgent_head, **urgent_tail;
	struct group_write *normal_head, **normal_tail;
	bool group_leading;

	/* Serialises write transactions; guards the counters below. */
	pthread_mutex_t write_lock;
	uint64_t next_ino, next_gen, next_nsid, used_bytes, nns;
	struct kv_attr root;
	struct capture cap;

	/* Reset read transactions, ready for mdb_txn_renew. */
	pthread_mutex_t pool_lock;
	MDB_txn **pool;
	size_t npool, cappool;

	/*
	 * Checkpoints (store/checkpoint.c).  One is taken at a time: by the
	 * checkpoint thread or store_sync() holding ckpt_lock (then
	 * write_lock, briefly, to pin the state, and map_lock shared until it
	 * is recorded), or by ckpt_open(), grow_map() and ckpt_stop() holding
	 * write_lock with no other running.  snap changes under ckpt_lock
	 * with map_lock shared, or map_lock exclusive.  ckpt_mx guards the
	 * counts of commits (made, and covered by the last checkpoint), the
	 * sticky error, unpinned and the thread's wake-up; it is taken last.
	 */
	pthread_mutex_t ckpt_lock;
	MDB_txn *snap;			/* the checkpoint's state, pinned */
	int ckpt_fd;			/* kvfs.sync */
	size_t psize;
	char boot_id[40];
	uint64_t ckpt_seq;
	uint64_t commits;		/* made since the store opened */
	uint64_t ckpt_commits;		/* covered by the last checkpoint */
	uint64_t ckpt_tried;		/* ... by the last one tried */
	size_t ckpt_txnid;		/* the last one's transaction */
	int sync_err;			/* a flush failed: -EIO for good */
	bool unpinned;			/* snap lost: writes wait for one */
	pthread_t ckpt_tid;
	pthread_mutex_t ckpt_mx;
	pthread_cond_t ckpt_cond;	/* wakes the thread */
	pthread_cond_t ckpt_done;	/* a checkpoint was recorded */
	bool ckpt_wanted, ckpt_stop, ckpt_running;

	/* The thread mapping cached pages after opening (store/warm.c). */
	pthread_t warm_tid;
	bool warm_running, warm_stop;

	/* Chunks were queued in gc since the last collection. */
	bool gc_queued;

	/* Work of the expiry sweep so far (guarded by write_lock). */
	uint64_t swept, sweep_visits;

	/* Generations pinned by open values. */
	pthread_mutex_t pin_lock;
	struct pin **pins;
	size_t npinbuckets;
};

/*
 * A write transaction body: returns 0, a negative errno, or an MDB_ error
 * code.  It may run more than once (after the map grows), so it changes
 * nothing outside the transaction but the store's counters, which the
 * caller restores when the transaction aborts.
 */
typedef int (*store_txn_fn)(struct store *st, MDB_txn *txn, void *arg);

/*
 * Run fn in a write transaction and commit it, growing the map as needed;
 * return once it committed (0) or failed (a negative errno).  Writers
 * that wait while a commit runs share the next one (a group commit), each
 * fn in a transaction nested in it, so that one failing takes back only
 * its own changes.
 */
int store_write(struct store *st, store_txn_fn fn, void *arg);

/*
 * The same for a body that writes a value's chunks (up to
 * STORE_TXN_BYTES): committed in a transaction of its own, so that a
 * group holds no more than that in memory.
 */
int store_write_alone(struct store *st, store_txn_fn fn, void *arg);

/*
 * The capture (store/capture.c): note a change of the replicated part
 * beside the write that makes it, when a callback is set.  cap_ns: a
 * namespace's record (NULL a: deleted); cap_key: a key's encoded record
 * (NULL rec: deleted); cap_gen: STORE_CHANGE_TRIM or _DROP.  0 or
 * -ENOMEM (-EIO for a record that does not decode).  cap_mark and
 * cap_rollback take back what was noted since the mark; cap_flush hands
 * the list to the callback (its result) before txn commits, which began
 * with the next identifiers before, if it changed any or took one
 * (*called); cap_free
 * empties it.  pos_put, pos_copy: a replica's position in txn (none:
 * empty; -ENAMETOOLONG past size - 1 bytes); pos_is: 0 if it is pos,
 * -EAGAIN if not.
 */
/* The fields of a KEY change a record rec (reclen bytes) holds,
 * pointing into it: 0, or -EIO if it is no record (capture.c). */
int rec_change(const void *rec, size_t reclen, struct store_change *ch);
int cap_root(struct store *st, const struct kv_attr *a);
int cap_ns(struct store *st, const char *ns, const struct kv_attr *a);
int cap_key(struct store *st, uint32_t nsid, const char *key, size_t len,
	    const void *rec, size_t reclen);
int cap_chunk(struct store *st, uint64_t gen, uint64_t idx,
	      const void *data, size_t size);
int cap_gen(struct store *st, enum store_change_kind kind, uint64_t gen,
	    uint64_t idx);
size_t cap_mark(const struct store *st);
void cap_rollback(struct store *st, size_t mark);
int cap_flush(struct store *st, MDB_txn *txn,
	      const struct store_ids *before, bool *called);
int pos_put(struct store *st, MDB_txn *txn, const char *pos);
int pos_copy(struct store *st, MDB_txn *txn, char *buf, size_t size);
int pos_is(struct store *st, MDB_txn *txn, const char *pos);
void cap_free(struct store *st);

/*
 * The environment (store/env.c).  env_open: lock the store, recover it
 * (ckpt_recover), open the environment and record the first checkpoint;
 * 0 or a negative errno, logged.  env_tables: in init's write
 * transaction, open the tables and read the counters: 0, MDB_NOTFOUND
 * for a new store, or an MDB_ error code.  env_free: close what env_open
 * opened and free st (no thread may run).
 */
int env_open(const char *path, const struct store_limits *limits,
	     struct store **out);
int env_tables(struct store *st, MDB_txn *txn);
void env_free(struct store *st);

/* Begin and end a short read transaction, recycled through a pool. */
int store_read_begin(struct store *st, MDB_txn **out);
void store_read_end(struct store *st, MDB_txn *txn);

/*
 * Recovery (store/recover.c), before the environment opens.
 * ckpt_check_lmdb: refuse an LMDB whose meta page layout kvfs does not
 * know.  ckpt_recover: set the environment back to its last checkpoint
 * if the machine crashed since, and rewrite a meta page that cannot be
 * read.  0 or a negative errno.
 */
int ckpt_check_lmdb(void);
int ckpt_recover(const char *path);

/*
 * Checkpoints (store/checkpoint.c).  ckpt_open: right after the
 * environment opens, before anything is written, record and pin the
 * first checkpoint.  ckpt_start/ckpt_stop: the thread that takes the
 * others; the last, marked clean.  ckpt_take: flush and record the
 * current state there and then, write_lock held and no other checkpoint
 * running (map_lock held exclusively, or no other thread yet or still).
 * ckpt_resize: the same, then grow the map to size, the pin kept on that
 * state (map_lock held exclusively); if the checkpoint fails nothing
 * changes.  ckpt_sync: the same as ckpt_take with no lock held, the disk
 * flushing while commits go on; nothing to do if nothing was committed
 * since the last.  After a flush failed, both fail with EIO until the
 * store is opened again.  ckpt_pinned: -EIO while no state is pinned (a
 * write must wait for the next checkpoint).  ckpt_committed: count the
 * writes a commit made (write_lock held; each write of a group counts as
 * its own commit would), waking the thread every CKPT_COMMITS.
 * ckpt_throttle: wait, with no lock held, while CKPT_BEHIND_MAX commits
 * wait for a checkpoint (one that failed releases them too).
 * ckpt_release: let the pinned state go.  0 or a negative errno.
 */
int ckpt_open(struct store *st, const char *path);
int ckpt_start(struct store *st);
void ckpt_stop(struct store *st);
int ckpt_take(struct store *st, bool clean);
int ckpt_resize(struct store *st, size_t size);
int ckpt_pinned(struct store *st);
int ckpt_sync(struct store *st);
void ckpt_committed(struct store *st, unsigned writes);
void ckpt_throttle(struct store *st);
void ckpt_release(struct store *st);

/*
 * Map the pages of the store that the page cache holds, in a thread of
 * its own (store/warm.c): warm_start returns 0 or a negative errno;
 * warm_stop waits for the thread to end (it stops at the next chunk).
 */
int warm_start(struct store *st);
void warm_stop(struct store *st);

/* Map an LMDB or system error code to a negative errno (store/base.c). */
int store_err(int rc);

/* Take the next inode number or generation (inside a write transaction). */
uint64_t store_new_ino(struct store *st);
uint64_t store_new_gen(struct store *st);

void store_now(struct timespec *ts);
/* The current time in Unix seconds, as expirations count it. */
int64_t store_clock(void);

/* Big-endian 64-bit numbers, for LMDB keys that sort as numbers. */
static inline void be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Has a key with these attributes expired at time now? */
static inline bool attr_expired(const struct kv_attr *a, int64_t now)
{
	return a->expiration != 0 && a->expiration <= now;
}

/*
 * The root's record (store/root.c).  root_init: write that of a new
 * store, owned by uid and gid; an MDB_ error code.
 */
int root_init(struct store *st, MDB_txn *txn, uid_t uid, gid_t gid);
/* Write the root's attributes as they are. */
int root_set(struct store *st, MDB_txn *txn, const struct kv_attr *a);
/* Record a change of the root directory (a namespace came or went). */
int store_touch_root(struct store *st, MDB_txn *txn);
/* Change the root's attributes (a NULL: just mark it changed). */
int store_root_update(struct store *st, MDB_txn *txn, const struct kv_attr *a,
		      unsigned mask, struct kv_attr *out);

/*
 * Namespace records (store/nsrec.c).  ns_get: read and decode one
 * (MDB_NOTFOUND, MDB_CORRUPTED); ns_put: write one, with mdb_put's
 * flags; ns_del: delete one.  ns_find, ns_touch: find a namespace's id
 * and record, and bump its mtime after a change to one of its keys.
 * -ENOENT.
 */
int ns_get(struct store *st, MDB_txn *txn, const char *ns, struct rec *r);
int ns_put(struct store *st, MDB_txn *txn, const char *ns,
	   const struct rec *r, unsigned flags);
int ns_del(struct store *st, MDB_txn *txn, const char *ns);
int ns_find(struct store *st, MDB_txn *txn, const char *ns, uint32_t *nsid,
	    struct kv_attr *attr);
int ns_touch(struct store *st, MDB_txn *txn, const char *ns);

/*
 * Temporary keys (temp.c): names from the byte KVFS_TEMP_BYTE on
 * (common/names.h), the last range of each namespace.  They are no keys:
 * none lies below a prefix (key_live_below), so a namespace holding only
 * them is empty.  temp_drop_all: delete every one, in every namespace id
 * that holds keys, those of namespaces deleted since included
 * (store_open).
 */
static inline bool key_is_temp(const char *key, size_t len)
{
	return len && (unsigned char)key[0] == KVFS_TEMP_BYTE;
}

int temp_drop_all(struct store *st);

/*
 * Key records (store/keyrec.c) for the other store files.  key_get: a
 * key's record, expired or not (r points into the map until the next
 * write); key_put: write one.  key_live_below: does a key that has not
 * expired lie below prefix?  0 (yes), MDB_NOTFOUND (no).  key_drop:
 * delete a key's record, its value and its expiry entry.
 */
int key_get(struct store *st, MDB_txn *txn, uint32_t nsid, const char *key,
	    size_t len, struct rec *r);
int key_put(struct store *st, MDB_txn *txn, uint32_t nsid, const char *key,
	    size_t len, const struct rec *r);
/* The index's put and delete of a record, noted for the capture. */
int key_put_raw(struct store *st, MDB_txn *txn, uint32_t nsid,
		const char *key, size_t len, const void *rec, size_t reclen);
int key_del_raw(struct store *st, MDB_txn *txn, uint32_t nsid,
		const char *key, size_t len);
int key_live_below(struct store *st, MDB_txn *txn, uint32_t nsid,
		   const char *prefix, size_t len, int64_t now);
int key_drop(struct store *st, MDB_txn *txn, uint32_t nsid, const char *key,
	     size_t len, const struct rec *r);

/*
 * The expiry index (store/expiry.c): note that the key (nsid, key) with
 * inode number ino expires at exp, or forget it.  Forgetting an entry
 * that is not there is not an error.
 */
int expiry_put(struct store *st, MDB_txn *txn, int64_t exp, uint64_t ino,
	       uint32_t nsid, const char *key, size_t len);
int expiry_del(struct store *st, MDB_txn *txn, int64_t exp, uint64_t ino);
/* Forget the entry (exp, ino) if it is the key (nsid, key)'s. */
int expiry_del_if(struct store *st, MDB_txn *txn, int64_t exp, uint64_t ino,
		  uint32_t nsid, const char *key, size_t len);

/* Apply the attribute changes named by mask, set ctime (store/base.c). */
void attr_apply(struct kv_attr *dst, const struct kv_attr *src,
		unsigned mask);

/*
 * Chunks (store/chunks.c): queue those of a generation no longer current
 * for collection, and collect (in transactions of their own, after the
 * commit that made them stale) those no reader pins.  pin_get: pin a
 * generation (-ENOMEM); pin_put: release a pin, true if it was the last.
 */
int value_drop(struct store *st, MDB_txn *txn, uint64_t gen);
/* Take gen off the collection queue: a key holds it. */
int gc_forget(struct store *st, MDB_txn *txn, uint64_t gen);
/* Delete the chunks of gen from index from on. */
int chunks_delete(struct store *st, MDB_txn *txn, uint64_t gen,
		  uint64_t from);
void value_collect(struct store *st);
void value_collect_queued(struct store *st);
int pin_get(struct store *st, uint64_t gen);
bool pin_put(struct store *st, uint64_t gen);
/*
 * An eviction (store/cache.c) of gen's chunks: pin_evict_begin fails with
 * -EBUSY while gen is pinned, else pin_get of gen fails with -EREMOTE
 * until pin_evict_end, and it is not collected meanwhile.
 */
int pin_evict_begin(struct store *st, uint64_t gen);
void pin_evict_end(struct store *st, uint64_t gen);
/* Whether txn holds every chunk of gen, a value of size bytes. */
bool gen_here(struct store *st, MDB_txn *txn, uint64_t gen, uint64_t size);
/* The record of key key of namespace ns, a value (store/value.c):
 * -EISDIR for a directory or a link, MDB_NOTFOUND for none (or expired). */
int value_rec(struct store *st, MDB_txn *txn, const char *ns,
	      const char *key, size_t len, uint32_t *nsid, struct rec *r);
/* A CHUNK change written (store/apply.c); with STORE_APPLY_FEED a chunk
 * already there is kept. */
int apply_chunk(struct store *st, MDB_txn *txn, const struct store_change *c,
		unsigned flags);

/*
 * A value being written (store/stage.c): chunks of a generation no key
 * holds yet, queued in gc from its first flush until the switch makes it
 * a key's value (or until it is dropped).  Up to STAGE_CACHE chunks are
 * in memory (cache); the others are in the data table (have) or holes.
 */
#define STAGE_CACHE	(STORE_TXN_BYTES / (256u << 10))

/* The chunks a stage keeps in memory: STORE_TXN_BYTES of them, 1 at least
 * (chunks are 256 KiB with 4 KiB pages, larger with larger pages). */
static inline unsigned stage_cache(const struct store *st)
{
	size_t n = STORE_TXN_BYTES / st->chunk;

	return n < 1 ? 1 : n > STAGE_CACHE ? STAGE_CACHE : (unsigned)n;
}

struct stage_buf {
	uint64_t idx;
	char *data;		/* st->chunk bytes ... */
	size_t fill;		/* ... of which those past fill read as zeros */
};

struct store_stage {
	struct store *st;
	uint64_t gen;		/* 0 until the first flush */
	bool gen_committed;	/* gen and its gc entry are committed */
	bool published;		/* gen is a key's value now */
	uint64_t size;
	uint64_t last;		/* the chunk written last: kept at a flush */
	uint64_t short_idx;	/* a chunk stored shorter than a chunk */
	unsigned char *have;	/* bit per chunk: in the data table */
	size_t havecap;		/* bytes of have */
	struct stage_buf cache[STAGE_CACHE];
	unsigned ncache;
	/* the chunks a flush writes, for its transaction */
	unsigned nflush;
	struct stage_buf *flush[STAGE_CACHE];
};

/*
 * Make the stage's chunks what the switch needs (stage.c): every chunk
 * below its size in the data table, full but the last, which is exact,
 * and the generation committed in gc.  0 or a negative errno.
 */
int stage_finish(struct store_stage *sg);

/* The key of chunk idx of generation gen in the data table. */
static inline void chunk_key(unsigned char kb[12], uint64_t gen, uint64_t idx)
{
	be64(kb, gen);
	kb[8] = (unsigned char)(idx >> 24);
	kb[9] = (unsigned char)(idx >> 16);
	kb[10] = (unsigned char)(idx >> 8);
	kb[11] = (unsigned char)idx;
}

/* Record layout (record.c). */
struct rec {
	struct kv_attr a;
	bool chunked;		/* value in the data table under a.gen */
	const void *inl;	/* else the value itself, a.size bytes */
	const void *meta;	/* the metadata JSON, metalen bytes (0: none) */
	size_t metalen;
};

/* Decode a record; -EIO if it is not one. */
int rec_decode(const void *buf, size_t len, struct rec *out);
/* Bytes needed to encode r with an inline value of inl_len bytes. */
size_t rec_size(const struct rec *r, size_t inl_len);
/* Encode into buf (rec_size() bytes); copies the metadata and inl_len
 * bytes of r->inl. */
void rec_encode(const struct rec *r, size_t inl_len, void *buf);

/* The ordered (namespace id, key) -> record index (store/index.c). */
int kvi_get(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, const char *key,
	    size_t len, MDB_val *rec);
int kvi_put(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, const char *key,
	    size_t len, const void *rec, size_t reclen);
int kvi_del(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, const char *key,
	    size_t len);

struct kvi_cursor {
	MDB_cursor *c;
	uint32_t nsid;
	MDB_val mk, mv;		/* the LMDB entry under the cursor */
	size_t boff;		/* offset in a bucket, if mk is one */
	char key[4096 + 8];	/* full key of the current entry */
	size_t keylen;
	MDB_val rec;		/* its record */
};

int kvi_open(MDB_txn *txn, MDB_dbi dbi, uint32_t nsid, struct kvi_cursor *cur);
/* The first namespace id >= from that has keys in the index: MDB_NOTFOUND. */
int kvi_next_ns(MDB_txn *txn, MDB_dbi dbi, uint32_t from, uint32_t *nsid);
void kvi_close(struct kvi_cursor *cur);
/* Move to the first key >= key in the cursor's namespace: MDB_NOTFOUND. */
int kvi_seek(struct kvi_cursor *cur, const char *key, size_t len);
int kvi_next(struct kvi_cursor *cur);

#endif
