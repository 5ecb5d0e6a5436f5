/*
 * internal.h - what the files of src/remote share; no one outside
 * includes it.
 */
#ifndef KVFS_REMOTE_INTERNAL_H
#define KVFS_REMOTE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "remote/remote.h"
#include "store/store.h"

struct listener;
struct staged;
struct vcache;

/* A whole copy's progress, shown on a terminal (progress.c). */
struct progress {
	const char *doing, *done;	/* "copying", "copied" */
	uint64_t keys, bytes;
	struct timespec start, last;
	bool shown;
};

/* A replica bound to the shared store (replica.c). */
struct remote {
	PGconn *c;		/* writes': guarded by lock, as what
				 * follows */
	pthread_mutex_t lock;
	pthread_mutex_t feed_lock;	/* one round of the feed at a time
					 * (recursive: feed.c) */
	struct store *st;
	char *conninfo;		/* for the listener's connection */
	unsigned timeout_s;
	unsigned long catchups;	/* rounds of the feed applied */
	unsigned long resyncs;	/* copies made anew (resync.c) */
	unsigned long tombstone_s;	/* deletions kept this long, if
					 * this host sweeps (purge.c) */
	bool session_ok;	/* the session's settings are made */
	atomic_int write_pid;	/* r->c's server process, whose
				 * notifications the listener skips */
	bool up;		/* the last exchange went through */
	bool held;		/* a transaction is open, holding the
				 * store's lock, for a write that found
				 * the replica behind (feed.c) */
	uint64_t rev;		/* the newest revision applied or written */
	struct timespec current; /* when the replica last held every
				  * commit (CLOCK_MONOTONIC), 0: never */
	char msg[REMOTE_MSG_MAX];	/* the last failure */
	remote_applied_fn applied;	/* remote_set_applied */
	void *applied_ctx;
	struct listener *listener;	/* listen.c */
	PGconn *feed;		/* the feed's, under feed_lock (feed.c) */
	bool feed_session_ok;
	struct vcache *vcache;	/* -o value_cache (vcache.c), or NULL:
				 * every value kept */
	void (*wake)(void *ctx);	/* the listener's: wakes the
					 * follower (remote_listen_start) */
	void *wake_ctx;
	unsigned long c_epoch;	/* moves each time r->c is made again
				 * (session.c): its session locks went */
	struct staged *staged;	/* generations this host stages
				 * (staging.c), under lock */
	size_t nstaged, capstaged;
	int progress_fd;	/* a terminal, during remote_open; or -1 */
	struct progress prog;	/* under feed_lock */
};

/*
 * Under r->lock (conn.c): remote_session makes the session's settings
 * (statement_timeout = the timeout); remote_usable gives the
 * connection, made again if it broke, with them: 0 or -EIO.
 */
int remote_session(struct remote *r);
int remote_usable(struct remote *r);
/* Begin a transaction on r->c, usable as remote_usable: 0 or -EIO
 * (r->lock held). */
int remote_begin(struct remote *r);
/* The session's settings on connection c: 0 or -EIO (r->lock held);
 * idle_limit: a transaction left idle ends after the timeout too. */
int remote_session_on(struct remote *r, PGconn *c, bool idle_limit);

/*
 * Snapshots as text (snap.c): snap_add writes into out (len bytes) the
 * snapshot snap with transaction xid made visible: 0, -EINVAL (not a
 * snapshot), -ENAMETOOLONG.
 */
int snap_add(const char *snap, uint64_t xid, char *out, size_t len);

/*
 * Rows (rows.c).  rows_write: write change ch into the database in the
 * transaction open on c, with revision rev: 0 or -EIO (message in msg);
 * on a connection in pipeline mode, the statement is queued, and its
 * result comes with remote_pipeline_end.
 * The readers turn a row of the result of ROWS_NS_SELECT or
 * ROWS_KEY_SELECT (binary format) into a change pointing into r: 0, or
 * -EIO for a row out of range.
 */
int rows_write(PGconn *c, const struct store_change *ch, const char *rev,
	       char *msg, size_t len);
/*
 * The write path's statements, prepared on a connection by rows_prepare
 * (0 or -EIO); rows_send queues one on a connection in pipeline mode.
 * ROWS_BEGIN ($1 the position, $2-$4 the replica's next inode number,
 * generation and namespace id): kvfs.write_begin (schema.c), the lock
 * and the check, SQLSTATE KV001 if the replica is behind, else the
 * transaction, its snapshot and the revision; ROWS_NOTIFY: the
 * listeners'.  rows_write with rev NULL: the revision ROWS_BEGIN drew.
 */
enum rows_stmt {
	ROWS_NS_PUT, ROWS_NS_DEL, ROWS_KEY_PUT, ROWS_KEY_DEL, ROWS_CHUNK_PUT,
	ROWS_CHUNK_TRIM, ROWS_CHUNK_DROP, ROWS_IDS, ROWS_BEGIN, ROWS_NOTIFY,
	ROWS_STAGE_LOCK, ROWS_STAGE_CHECK, ROWS_STAGE_UNLOCK,
	ROWS_STMTS
};
/*
 * The advisory lock of a generation being staged ($1, stage.c) is
 * STAGE_LOCK_BASE + the generation ("stage" and three zero bytes: above
 * the schema's and the sweeper's locks, so no generation meets them);
 * ROWS_STAGE_LOCK and ROWS_STAGE_UNLOCK take and release it for the
 * session, ROWS_STAGE_CHECK ($1, $2 the value's size) is
 * kvfs.stage_check.
 */
#define STAGE_LOCK_BASE	"8319381508364173312"
/* The SQLSTATE of ROWS_BEGIN for a replica behind, of ROWS_STAGE_CHECK
 * for a staged value whose chunks went. */
#define ROWS_BEHIND	"KV001"
#define ROWS_STAGE_GONE	"KV002"
int rows_prepare(PGconn *c, char *msg, size_t len);
/* The next identifiers given out, at least ids; with last, the write's
 * transaction as kvfs.store.last_xid (it wrote key or namespace rows):
 * as rows_write.  rows_write of an IDS change is this with last. */
int rows_write_ids(PGconn *c, const struct store_ids *ids, bool last,
		   char *msg, size_t len);
int rows_send(PGconn *c, enum rows_stmt q, int n, const char *const *params,
	      const int *lengths, const int *formats, int binary, char *msg,
	      size_t len);
#define ROWS_NS_SELECT	"SELECT name, id, deleted, mode, uid, gid, atime," \
	" mtime, ctime, btime, rev FROM kvfs.namespaces"
#define ROWS_KEY_SELECT	"SELECT ns, key, type, ino, mode, uid, gid, size," \
	" atime, mtime, ctime, btime, expiration, metadata, value, gen," \
	" chunked, rev FROM kvfs.keys"
int rows_ns(const PGresult *r, int row, struct store_change *ch);
int rows_key(const PGresult *r, int row, struct store_change *ch);
/* The revision of row row of such a result (its last column). */
uint64_t rows_rev(const PGresult *r, int row);
/* A row of "SELECT gen, idx, data FROM kvfs.chunks" (binary). */
int rows_chunk(const PGresult *r, int row, struct store_change *ch);
/* The row of ROWS_IDS_SELECT (binary): the next identifiers. */
#define ROWS_IDS_SELECT	"SELECT next_ino, next_gen, next_nsid FROM kvfs.store"
int rows_ids(const PGresult *r, int row, struct store_change *ch);

/*
 * On the feed's connection, under feed_lock (feedconn.c): a query whose
 * result is rows (NULL on failure, the message in r->msg), a command (0
 * or -EIO); feed_usable: the connection, made again if it broke, with
 * the feed's session (0 or -EIO).
 */
PGresult *feed_query(struct remote *r, const char *sql, int n,
		     const char *const *params, int binary);
int feed_command(struct remote *r, const char *sql, int n,
		 const char *const *params);
int feed_usable(struct remote *r);

/*
 * A replica away longer than deletions are kept (resync.c): delete what
 * it holds that the store does not hold live, if its position is still
 * pos: 0, -EAGAIN (moved), -EIO, or the store's error.  A round reading
 * every row follows (feed.c).
 */
int remote_resync(struct remote *r, const char *pos);

/*
 * Push the local store r->st, which holds namespaces and no position,
 * into the shared store, which must be empty (push.c): 0, -EEXIST (not
 * empty), -EIO, with the message in r->msg; the local store is then a
 * replica.
 */
int remote_push(struct remote *r);

/*
 * The sweeper's purge (purge.c), on connection c: delete the tombstones
 * older than keep_s seconds, and record the newest transaction whose
 * tombstones went (kvfs.store.purged): how many went, or -EIO with the
 * message in msg.
 */
long remote_purge(PGconn *c, unsigned long keep_s, char *msg, size_t len);

/*
 * A round that copies the whole store shows its progress on
 * r->progress_fd, if set (progress.c): progress_start as it begins,
 * progress_add with each batch applied, progress_end once over.
 */
void progress_start(struct remote *r, const char *doing, const char *done);
void progress_add(struct remote *r, uint64_t keys, uint64_t bytes);
void progress_end(struct remote *r, bool done);

/* Whether the listener's connection is up, and it holds the sweeper's
 * lock (listen.c). */
void remote_listener_state(struct remote *r, bool *up, bool *sweeper);

/*
 * The values kept under -o value_cache (vcache.c).  vcache_new: r keeps
 * at most max bytes of them; vcache_load enters those the store holds
 * (at mount); vcache_put: key ino's value (generation gen, size bytes)
 * is here, most recently used; vcache_seen: what changes applied (own:
 * committed by this host, between staging_plan and staging_done) mean
 * for them, true if past the bound (a trim is due); vcache_reserve: room made for size more bytes, then gen pinned
 * (store_gen_pin) against the trims; vcache_state: the bound, the bytes
 * and values kept.  Without value_cache (r->vcache NULL) they do
 * nothing, but vcache_reserve pins.
 */
int vcache_new(struct remote *r, uint64_t max);
void vcache_free(struct remote *r);
int vcache_load(struct remote *r);
void vcache_put(struct remote *r, uint64_t ino, uint64_t gen, uint64_t size);
bool vcache_seen(struct remote *r, const struct store_change *ch, size_t n,
		 bool own);
int vcache_reserve(struct remote *r, uint64_t gen, uint64_t size);
void vcache_state(struct remote *r, uint64_t *max, uint64_t *bytes,
		  uint64_t *values);

/*
 * The generations this host stages, and their advisory locks (staging.c,
 * under r->lock): staging_plan marks what a write's changes do to them
 * (0, -ENOMEM); staging_send queues on r->c, in pipeline mode, the
 * statements of one step of the write (*q counts them): STAGING_LOCK
 * after write_begin, STAGING_CHECK before the COMMIT, STAGING_UNLOCK
 * after it; staging_done: the write committed or not.
 */
enum staging_step { STAGING_LOCK, STAGING_CHECK, STAGING_UNLOCK };
int staging_plan(struct remote *r, const struct store_change *ch, size_t n);
int staging_send(struct remote *r, enum staging_step step, int *q);
void staging_done(struct remote *r, bool committed);
/* Between staging_plan and staging_done: whether the write publishes
 * generation gen, which this host staged (its chunks are here). */
bool staging_publishes(struct remote *r, uint64_t gen);
void staging_free(struct remote *r);

/*
 * The sweeper's collection of orphan chunks (orphans.c), on connection
 * c: those of generations no key holds and no session stages (their
 * host died before it published or dropped them), up to 256 of them
 * after generation *after, which it moves for the next sweep: how many
 * generations went, or -EIO with the message in msg.
 */
long remote_sweep_orphans(PGconn *c, uint64_t *after, char *msg,
			  size_t len);

/* The store's capture callback: the write committed here first. */
int remote_capture(void *ctx, const struct store_change *ch, size_t n);

/*
 * The store's catch-up for a write it found behind, and its release once
 * the write has run again (feed.c): the catch-up takes the store's lock
 * in a transaction it leaves open (r->held) for the write, and holds
 * feed_lock until the release.
 */
int remote_catchup_write(void *ctx);
void remote_release(void *ctx);

/*
 * A one-line message into msg: prefix, then PostgreSQL's primary message
 * of the failed result r, or the connection's (conn.c).
 */
void remote_say(char *msg, size_t len, const char *prefix, const PGresult *r,
		PGconn *c);

/*
 * Pipelines (conn.c), for a write's few round trips: remote_send queues
 * a query on c, in pipeline mode (PQenterPipelineMode); remote_pipeline_end
 * sends the sync, reads the results of the n queries queued, keeping
 * those with rows of the first nout in out[i] (the caller clears them),
 * and leaves pipeline mode: 0 if every query succeeded, else -EIO with
 * the first failure's message in msg and, if state is not NULL, its
 * SQLSTATE in state (6 bytes; "" if none).
 */
int remote_send(PGconn *c, const char *sql, int n, const char *const *params,
		const int *lengths, const int *formats, int binary, char *msg,
		size_t len);
int remote_pipeline_end(PGconn *c, int n, PGresult **out, int nout,
			char *state, char *msg, size_t len);

/*
 * Run sql on c, expecting status want: 0 (the result in *out if out is
 * not NULL, for the caller to clear), or -EIO with the message (conn.c).
 */
int remote_exec(PGconn *c, const char *sql, ExecStatusType want,
		PGresult **out, char *msg, size_t len);

#endif
