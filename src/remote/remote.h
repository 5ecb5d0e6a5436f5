/*
 * remote.h - the shared store of many hosts, in PostgreSQL.
 *
 * The main header of src/remote: the connection to the PostgreSQL
 * database that holds the truth of a store many hosts mount (conn.c) and
 * the schema kvfs keeps in it (schema.c).  It includes common/ and libpq,
 * never a FUSE or LMDB header.  Issue 18 builds the rest on it: writes
 * that commit here before the local replica (src/store), and the change
 * feed that brings other hosts' writes to it.  ARCHITECTURE has the map.
 *
 * Every function returns 0 on success and a negative errno on failure,
 * with a one-line message for the user in msg (never the connection
 * string, which may hold a password):
 *   -EIO       the server could not be reached, refused the login, or
 *              failed a statement;
 *   -EPROTO    the database is not one kvfs can use (another kind of
 *              database, or a kvfs schema newer than this kvfs);
 *   -EINVAL    the connection string does not parse;
 *   -ENOMEM.
 */
#ifndef KVFS_REMOTE_H
#define KVFS_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* The version of the schema this kvfs creates and uses (2: the last
 * write's transaction in kvfs.store and kvfs.write_begin, by which a
 * replica knows it is behind, and the index of tombstones; 3:
 * kvfs.stage_check, and hosts that lock what they stage, which the
 * sweeper of orphan chunks relies on: a store of version 2, whose hosts
 * do not, is refused rather than upgraded under them). */
#define REMOTE_SCHEMA_VERSION	3

/* Room for a message: one line, libpq's included. */
#define REMOTE_MSG_MAX	512

/*
 * Connect to the database conninfo names (a libpq connection string or
 * URI, several hosts allowed), giving up on each host after timeout_s
 * seconds (at least 2: libpq's floor), with keepalives so that a server
 * gone silent is noticed.  The application name is "kvfs" unless
 * conninfo sets one.  *out is the connection, to be closed with PQfinish.
 */
int remote_connect(const char *conninfo, unsigned timeout_s, PGconn **out,
		   char *msg, size_t len);

/*
 * Open the kvfs store of the database c is connected to, creating its
 * schema (version REMOTE_SCHEMA_VERSION) if the database is empty.  A new
 * store records limits (a JSON object: the limits it is created with);
 * *stored gets the limits the store records (malloc'd, the caller frees
 * it), which are the store's whatever this host asked for.  Refused with
 * -EPROTO: a database holding tables of something else, or a kvfs schema
 * of another version.  Two hosts opening an empty database at once make
 * one schema: the first takes an advisory lock, the second waits for it.
 */
int remote_schema_open(PGconn *c, const char *limits, char **stored,
		       char *msg, size_t len);

struct store;
struct store_change;
struct remote;

/* How a replica is opened. */
struct remote_options {
	unsigned timeout_s;	/* to wait for the server (at least 2) */
	int progress_fd;	/* a terminal to show a whole copy's progress
				 * on (progress.c), or -1 */
	bool push;		/* a local store (namespaces of its own, no
				 * position) is pushed into an empty shared
				 * store (push.c), to become its first host */
	uint64_t value_cache;	/* bytes of values kept here (vcache.c),
				 * 0: every value */
};

/*
 * Make store st a replica of the shared store conninfo names (replica.c):
 * connect, open the schema (limits as remote_schema_open), copy into st
 * what it has not seen yet, and from then on commit every write of st in
 * PostgreSQL first (write.c: st's capture).  *stored as for
 * remote_schema_open.  st must be a replica already, or empty (no
 * namespace), or pushed (o->push; the shared store must then be empty):
 * else -EEXIST.  remote_close: st writes alone again, the connection
 * closes.
 */
int remote_open(const char *conninfo, const struct remote_options *o,
		struct store *st, const char *limits, char **stored,
		struct remote **out, char *msg, size_t len);
void remote_close(struct remote *r);

/*
 * Apply to the replica what other hosts committed since it last did
 * (feed.c): 0, -EIO (the server, with remote_msg saying why), or an
 * error of the store.  Also what the store calls when a write finds it
 * behind.
 */
int remote_catchup(struct remote *r);

/* The message of the last failure, into buf (len bytes). */
void remote_msg_copy(struct remote *r, char *buf, size_t len);

/* How many rounds of the feed brought something to the replica. */
unsigned long remote_catchups(struct remote *r);

/*
 * Hear of what each round of the feed applied, once the replica has
 * committed it: the changes as store_apply took them (KEY, NS and ROOT
 * the ones that name something), valid until fn returns.  fn runs in the
 * thread that caught up: the follower, or a write that found the replica
 * behind; it must not wait for a request.  Set before other threads use
 * r.
 */
typedef void (*remote_applied_fn)(void *ctx, const struct store_change *ch,
				  size_t n);
void remote_set_applied(struct remote *r, remote_applied_fn fn, void *ctx);

/*
 * Listen for other hosts' writes (listen.c): a thread with a connection
 * of its own LISTENs on the store's channel and calls wake(ctx) on each
 * notification, and whenever it has just connected (what came while it
 * was away); it connects again every second while it cannot.  wake must
 * not block.  remote_listen_stop: stop it and close its connection
 * (before remote_close).  0 or -errno.
 */
int remote_listen_start(struct remote *r, void (*wake)(void *ctx),
			void *ctx);
void remote_listen_stop(struct remote *r);

/*
 * Whether this host is the one that deletes expired keys in PostgreSQL
 * (its listener holds the sweeper's advisory lock, listen.c).  The
 * others hide them by the clock and get the deletions from the feed.
 */
bool remote_sweeper(struct remote *r);

/*
 * How long deletions stay in the shared store as tombstones, for the
 * hosts to hear of them, when this host is the sweeper, which purges
 * the older ones (purge.c); a host away for longer copies the store
 * anew when it comes back (resync.c).  Set before remote_listen_start.
 */
#define REMOTE_TOMBSTONES_DEFAULT	(7ul * 24 * 3600)
void remote_set_tombstones(struct remote *r, unsigned long secs);

/*
 * -o value_cache: the replica keeps every key's record but only the most
 * recently used values, up to remote_options.value_cache bytes
 * (vcache.c); the others are fetched when opened (fetch.c).
 * remote_value_fetch: fetch the value of key ns/key (inode ino,
 * generation gen, size bytes), which store_value_open found missing
 * (-EREMOTE): 0, with generation gen pinned (store_gen_pin) until the
 * caller has opened it and calls store_gen_unpin; -ESTALE if the key no
 * longer holds it here or in PostgreSQL (catch up, then look it up
 * again); -EAGAIN while it is being evicted (open it again); -EIO.  Without value_cache it fetches
 * too (a value the replica lacks).  remote_value_used: a reader opened
 * that value (it is the most recently used).  remote_cache_trim: evict
 * what is past the bound (the follower, every round).
 */
int remote_value_fetch(struct remote *r, const char *ns, const char *key,
		       size_t len, uint64_t ino, uint64_t gen, uint64_t size);
void remote_value_used(struct remote *r, uint64_t ino, uint64_t gen,
		       uint64_t size);
void remote_cache_trim(struct remote *r);

/* Where a replica stands (remote_state). */
struct remote_state {
	bool connected;		/* the last exchange with the server went
				 * through */
	bool listening;		/* the listener's connection is up */
	bool sweeper;		/* it deletes expired keys (remote_sweeper) */
	uint64_t rev;		/* the newest revision the replica holds */
	double lag;		/* seconds since the replica was last known
				 * to hold every commit; -1: never */
	unsigned long rounds;	/* rounds of the feed that applied changes */
	unsigned long resyncs;	/* times it was copied anew, away longer
				 * than deletions are kept */
	uint64_t cache_max;	/* -o value_cache, 0: every value kept */
	uint64_t cache_bytes;	/* bytes of the values kept (at most) */
	uint64_t cache_values;	/* values kept (of more than 4 KiB) */
};
void remote_state(struct remote *r, struct remote_state *out);

/*
 * Overwrite with '*' each password conninfo holds, in place: for the
 * copy of it in the program's arguments, which ps shows.
 */
void remote_hide_secret(char *conninfo);

#endif
