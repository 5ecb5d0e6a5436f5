/*
 * rows.c - a store's changes as rows of the kvfs schema (schema.c), and
 * rows read back as changes: what the write path writes and the feed
 * reads.
 *
 * Namespaces are rows by name (the root is the name ''), keys rows by
 * (namespace id, key), a deleted one a tombstone (deleted, type 0) that
 * carries the revision and transaction of its deletion; chunks are rows
 * by (generation, index).  Times are nanoseconds since the epoch.
 * Numbers and names go as text (NUL-terminated strings, as libpq reads
 * text), bytes (keys, values, chunks, metadata) in binary format.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "remote/internal.h"

/* Parameters of one statement, numbers formatted in place. */
struct params {
	const char *val[20];
	int len[20], fmt[20];
	char num[20][24];
	int n;
};

/* A NUL-terminated string of len bytes, in text format. */
static void p_str(struct params *p, const char *s, size_t len)
{
	p->val[p->n] = s;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 0;
	p->n++;
}

static void p_bytes(struct params *p, const void *b, size_t len)
{
	p->val[p->n] = b ? b : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

static void p_null(struct params *p)
{
	p->val[p->n] = NULL;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

static void p_int(struct params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, v);
	p_str(p, p->num[p->n], strlen(p->num[p->n]));
}

/* The revision rev, or NULL for the write's (REV). */
static void p_rev(struct params *p, const char *rev)
{
	if (rev)
		p_str(p, rev, strlen(rev));
	else
		p_null(p);
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void p_times(struct params *p, const struct kv_attr *a)
{
	p_int(p, ns_of(&a->atime));
	p_int(p, ns_of(&a->mtime));
	p_int(p, ns_of(&a->ctime));
	p_int(p, ns_of(&a->btime));
}

/* The revision: the one given ($n), or else the write's (write_begin's
 * nextval, in the same session). */
#define REV(n)	"COALESCE($" #n "::bigint, currval('kvfs.rev'))"

static const char ns_put_sql[] =
	"INSERT INTO kvfs.namespaces (name, id, deleted, mode, uid, gid,"
	" atime, mtime, ctime, btime, rev) VALUES ($1, $2, false, $3, $4, $5,"
	" $6, $7, $8, $9, " REV(10) ") ON CONFLICT (name) DO UPDATE SET"
	" id = EXCLUDED.id, deleted = false, mode = EXCLUDED.mode,"
	" uid = EXCLUDED.uid, gid = EXCLUDED.gid, atime = EXCLUDED.atime,"
	" mtime = EXCLUDED.mtime, ctime = EXCLUDED.ctime,"
	" btime = EXCLUDED.btime, rev = EXCLUDED.rev,"
	" xid = pg_current_xact_id(), changed = now()";

static const char ns_del_sql[] =
	"UPDATE kvfs.namespaces SET deleted = true, rev = " REV(2) ","
	" xid = pg_current_xact_id(), changed = now() WHERE name = $1";

static const char key_put_sql[] =
	"INSERT INTO kvfs.keys (ns, key, type, ino, mode, uid, gid, size,"
	" atime, mtime, ctime, btime, expiration, metadata, value, gen,"
	" chunked, rev) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	" $12, $13, $14, $15, $16, $17, " REV(18) ") ON CONFLICT (ns, key) DO UPDATE"
	" SET type = EXCLUDED.type, ino = EXCLUDED.ino, mode = EXCLUDED.mode,"
	" uid = EXCLUDED.uid, gid = EXCLUDED.gid, size = EXCLUDED.size,"
	" atime = EXCLUDED.atime, mtime = EXCLUDED.mtime,"
	" ctime = EXCLUDED.ctime, btime = EXCLUDED.btime,"
	" expiration = EXCLUDED.expiration, metadata = EXCLUDED.metadata,"
	" value = EXCLUDED.value, gen = EXCLUDED.gen,"
	" chunked = EXCLUDED.chunked, rev = EXCLUDED.rev,"
	" xid = pg_current_xact_id(), changed = now()";

static const char key_del_sql[] =
	"UPDATE kvfs.keys SET type = 0, metadata = NULL, value = NULL,"
	" chunked = false, expiration = 0, rev = " REV(3) ","
	" xid = pg_current_xact_id(), changed = now()"
	" WHERE ns = $1 AND key = $2";

static const char chunk_put_sql[] =
	"INSERT INTO kvfs.chunks (gen, idx, data) VALUES ($1, $2, $3)"
	" ON CONFLICT (gen, idx) DO UPDATE SET data = EXCLUDED.data";

static const char chunk_trim_sql[] =
	"DELETE FROM kvfs.chunks WHERE gen = $1 AND idx >= $2";

/* never the chunks of a value a key holds (a drop after a failure) */
static const char chunk_drop_sql[] =
	"DELETE FROM kvfs.chunks WHERE gen = $1 AND NOT EXISTS"
	" (SELECT 1 FROM kvfs.keys WHERE gen = $1 AND chunked AND type = 1)";

/* each write's, under the store's lock: last_xid is the last writer of
 * key or namespace rows ($4) */
static const char ids_sql[] =
	"UPDATE kvfs.store SET next_ino = GREATEST(next_ino, $1),"
	" next_gen = GREATEST(next_gen, $2),"
	" next_nsid = GREATEST(next_nsid, $3),"
	" last_xid = CASE WHEN $4::boolean THEN pg_current_xact_id()"
	" ELSE last_xid END";

/*
 * The write path's statements, prepared once on each connection of
 * writes (rows_prepare, from remote_session): a write is a few of them,
 * and PostgreSQL would otherwise parse and plan each every time, which
 * costs it more than running them.
 */
static const struct {
	const char *name, *sql;
} stmts[ROWS_STMTS] = {
	[ROWS_NS_PUT] = { "kvfs_ns_put", ns_put_sql },
	[ROWS_NS_DEL] = { "kvfs_ns_del", ns_del_sql },
	[ROWS_KEY_PUT] = { "kvfs_key_put", key_put_sql },
	[ROWS_KEY_DEL] = { "kvfs_key_del", key_del_sql },
	[ROWS_CHUNK_PUT] = { "kvfs_chunk_put", chunk_put_sql },
	[ROWS_CHUNK_TRIM] = { "kvfs_chunk_trim", chunk_trim_sql },
	[ROWS_CHUNK_DROP] = { "kvfs_chunk_drop", chunk_drop_sql },
	[ROWS_IDS] = { "kvfs_ids", ids_sql },
	[ROWS_BEGIN] = { "kvfs_begin", "SELECT xid, snap, rev::text FROM"
			 " kvfs.write_begin($1, $2, $3, $4)" },
	[ROWS_NOTIFY] = { "kvfs_notify", "SELECT pg_notify('kvfs', '')" },
	/* once per session: a lock held already is not counted twice */
	[ROWS_STAGE_LOCK] = { "kvfs_stage_lock", "SELECT pg_advisory_lock(k)"
			      " FROM (SELECT " STAGE_LOCK_BASE " + $1::bigint"
			      " AS k) s WHERE NOT EXISTS (SELECT 1 FROM"
			      " pg_locks WHERE locktype = 'advisory' AND"
			      " pid = pg_backend_pid() AND objsubid = 1 AND"
			      " classid = (s.k >> 32)::oid AND"
			      " objid = (s.k & 4294967295)::oid)" },
	[ROWS_STAGE_CHECK] = { "kvfs_stage_check", "SELECT kvfs.stage_check("
			       "$1::bigint, $2::bigint)" },
	[ROWS_STAGE_UNLOCK] = { "kvfs_stage_unlock", "SELECT"
				" pg_advisory_unlock(" STAGE_LOCK_BASE
				" + $1::bigint)" },
};

int rows_prepare(PGconn *c, char *msg, size_t len)
{
	int i, rc;

	/* a session set up again (after a failure) has some already */
	rc = remote_exec(c, "DEALLOCATE ALL", PGRES_COMMAND_OK, NULL, msg,
			 len);
	for (i = 0; !rc && i < ROWS_STMTS; i++) {
		PGresult *r = PQprepare(c, stmts[i].name, stmts[i].sql, 0,
					NULL);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			remote_say(msg, len, "the remote store: ", r, c);
			rc = -EIO;
		}
		PQclear(r);
	}
	return rc;
}

int rows_send(PGconn *c, enum rows_stmt q, int n, const char *const *params,
	      const int *lengths, const int *formats, int binary, char *msg,
	      size_t len)
{
	if (PQsendQueryPrepared(c, stmts[q].name, n, params, lengths, formats,
				binary) == 1)
		return 0;
	remote_say(msg, len, "the remote store: ", NULL, c);
	return -EIO;
}

/* Run statement q (a command), or queue it on a connection in pipeline
 * mode. */
static int run(PGconn *c, enum rows_stmt q, struct params *p, char *msg,
	       size_t len)
{
	PGresult *r;
	int rc = 0;

	if (PQpipelineStatus(c) != PQ_PIPELINE_OFF)
		return rows_send(c, q, p->n, p->val, p->len, p->fmt, 0, msg,
				 len);
	r = PQexecPrepared(c, stmts[q].name, p->n, p->val, p->len, p->fmt, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		remote_say(msg, len, "the remote store: ", r, c);
		rc = -EIO;
	}
	PQclear(r);
	return rc;
}

static int write_ns(PGconn *c, const char *name, size_t namelen,
		    const struct store_change *ch, const char *rev, char *msg,
		    size_t len)
{
	struct params p = { .n = 0 };
	const struct kv_attr *a = &ch->a;

	p_str(&p, name, namelen);
	if (ch->deleted) {
		p_rev(&p, rev);
		return run(c, ROWS_NS_DEL, &p, msg, len);
	}
	p_int(&p, ch->kind == STORE_CHANGE_ROOT ? 0 : (int64_t)ch->nsid);
	p_int(&p, a->mode);
	p_int(&p, a->uid);
	p_int(&p, a->gid);
	p_times(&p, a);
	p_rev(&p, rev);
	return run(c, ROWS_NS_PUT, &p, msg, len);
}

static int write_key(PGconn *c, const struct store_change *ch,
		     const char *rev, char *msg, size_t len)
{
	struct params p = { .n = 0 };
	const struct kv_attr *a = &ch->a;

	p_int(&p, ch->nsid);
	p_bytes(&p, ch->name, ch->len);
	if (ch->deleted) {
		p_rev(&p, rev);
		return run(c, ROWS_KEY_DEL, &p, msg, len);
	}
	p_int(&p, a->type);
	p_int(&p, (int64_t)a->ino);
	p_int(&p, a->mode);
	p_int(&p, a->uid);
	p_int(&p, a->gid);
	p_int(&p, (int64_t)a->size);
	p_times(&p, a);
	p_int(&p, a->expiration);
	if (ch->meta)
		p_bytes(&p, ch->meta, ch->metalen);	/* text, as bytes */
	else
		p_null(&p);
	if (a->type != KV_DIR && !ch->chunked)
		p_bytes(&p, ch->data, ch->size);
	else
		p_null(&p);
	p_int(&p, (int64_t)a->gen);
	p_str(&p, ch->chunked ? "true" : "false", ch->chunked ? 4 : 5);
	p_rev(&p, rev);
	return run(c, ROWS_KEY_PUT, &p, msg, len);
}

int rows_write(PGconn *c, const struct store_change *ch, const char *rev,
	       char *msg, size_t len)
{
	struct params p = { .n = 0 };

	switch (ch->kind) {
	case STORE_CHANGE_ROOT:
		return write_ns(c, "", 0, ch, rev, msg, len);
	case STORE_CHANGE_NS:
		return write_ns(c, ch->name, ch->len, ch, rev, msg, len);
	case STORE_CHANGE_KEY:
		return write_key(c, ch, rev, msg, len);
	case STORE_CHANGE_CHUNK:
		p_int(&p, (int64_t)ch->gen);
		p_int(&p, (int64_t)ch->idx);
		p_bytes(&p, ch->data, ch->size);
		return run(c, ROWS_CHUNK_PUT, &p, msg, len);
	case STORE_CHANGE_TRIM:
		p_int(&p, (int64_t)ch->gen);
		p_int(&p, (int64_t)ch->idx);
		return run(c, ROWS_CHUNK_TRIM, &p, msg, len);
	case STORE_CHANGE_DROP:
		p_int(&p, (int64_t)ch->gen);
		return run(c, ROWS_CHUNK_DROP, &p, msg, len);
	case STORE_CHANGE_IDS:
		return rows_write_ids(c, &ch->ids, true, msg, len);
	}
	snprintf(msg, len, "the remote store: a change of no known kind");
	return -EIO;
}

int rows_write_ids(PGconn *c, const struct store_ids *ids, bool last,
		   char *msg, size_t len)
{
	struct params p = { .n = 0 };

	p_int(&p, (int64_t)ids->ino);
	p_int(&p, (int64_t)ids->gen);
	p_int(&p, (int64_t)ids->nsid);
	p_str(&p, last ? "true" : "false", last ? 4 : 5);
	return run(c, ROWS_IDS, &p, msg, len);
}

/* Binary results: big-endian integers of 1, 4 or 8 bytes. */
static int64_t get_int(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col), i;
	uint64_t v = 0;

	for (i = 0; i < len; i++)
		v = v << 8 | p[i];
	if (len == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static void get_time(const PGresult *r, int row, int col, struct timespec *ts)
{
	int64_t ns = get_int(r, row, col);

	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000;
		ts->tv_sec--;
	}
}

static void get_attr(const PGresult *r, int row, int col,
		     struct kv_attr *a)
{
	a->mode = (uint32_t)get_int(r, row, col);
	a->uid = (uint32_t)get_int(r, row, col + 1);
	a->gid = (uint32_t)get_int(r, row, col + 2);
}

int rows_ns(const PGresult *r, int row, struct store_change *ch)
{
	struct kv_attr *a = &ch->a;
	int64_t id;

	memset(ch, 0, sizeof(*ch));
	ch->name = PQgetvalue(r, row, 0);
	ch->len = (size_t)PQgetlength(r, row, 0);
	id = get_int(r, row, 1);
	ch->kind = ch->len ? STORE_CHANGE_NS : STORE_CHANGE_ROOT;
	ch->deleted = get_int(r, row, 2) != 0;
	if (ch->deleted && !ch->len)
		return -EIO;		/* the root is never deleted */
	if (id < 0 || id > 0xffffffffll)
		return -EIO;
	ch->nsid = (uint32_t)id;
	a->type = KV_DIR;
	get_attr(r, row, 3, a);
	get_time(r, row, 6, &a->atime);
	get_time(r, row, 7, &a->mtime);
	get_time(r, row, 8, &a->ctime);
	get_time(r, row, 9, &a->btime);
	return 0;
}

uint64_t rows_rev(const PGresult *r, int row)
{
	int64_t rev = get_int(r, row, PQnfields(r) - 1);

	return rev > 0 ? (uint64_t)rev : 0;
}

int rows_ids(const PGresult *r, int row, struct store_change *ch)
{
	int64_t ino = get_int(r, row, 0), gen = get_int(r, row, 1),
		nsid = get_int(r, row, 2);

	memset(ch, 0, sizeof(*ch));
	if (ino < 0 || gen < 0 || nsid < 0)
		return -EIO;
	ch->kind = STORE_CHANGE_IDS;
	ch->ids.ino = (uint64_t)ino;
	ch->ids.gen = (uint64_t)gen;
	ch->ids.nsid = (uint64_t)nsid;
	return 0;
}

int rows_chunk(const PGresult *r, int row, struct store_change *ch)
{
	int64_t gen = get_int(r, row, 0), idx = get_int(r, row, 1);

	memset(ch, 0, sizeof(*ch));
	if (gen < 0 || idx < 0)
		return -EIO;
	ch->kind = STORE_CHANGE_CHUNK;
	ch->gen = (uint64_t)gen;
	ch->idx = (uint64_t)idx;
	ch->data = PQgetvalue(r, row, 2);
	ch->size = (size_t)PQgetlength(r, row, 2);
	return 0;
}

int rows_key(const PGresult *r, int row, struct store_change *ch)
{
	struct kv_attr *a = &ch->a;
	int64_t ns = get_int(r, row, 0), type = get_int(r, row, 2);

	memset(ch, 0, sizeof(*ch));
	ch->kind = STORE_CHANGE_KEY;
	if (ns < 0 || ns > 0xffffffffll || type < 0 || type > KV_LINK)
		return -EIO;
	ch->nsid = (uint32_t)ns;
	ch->name = PQgetvalue(r, row, 1);
	ch->len = (size_t)PQgetlength(r, row, 1);
	ch->deleted = type == 0;
	if (ch->deleted)
		return 0;
	a->type = (uint32_t)type;
	a->ino = (uint64_t)get_int(r, row, 3);
	get_attr(r, row, 4, a);
	a->size = (uint64_t)get_int(r, row, 7);
	get_time(r, row, 8, &a->atime);
	get_time(r, row, 9, &a->mtime);
	get_time(r, row, 10, &a->ctime);
	get_time(r, row, 11, &a->btime);
	a->expiration = get_int(r, row, 12);
	if (!PQgetisnull(r, row, 13)) {
		ch->meta = PQgetvalue(r, row, 13);
		ch->metalen = (size_t)PQgetlength(r, row, 13);
	}
	if (!PQgetisnull(r, row, 14)) {
		ch->data = PQgetvalue(r, row, 14);
		ch->size = (size_t)PQgetlength(r, row, 14);
	}
	a->gen = (uint64_t)get_int(r, row, 15);
	ch->chunked = get_int(r, row, 16) != 0;
	return 0;
}
