/*
 * schema.c - the kvfs schema in the shared store's database: made in an
 * empty database, checked in one that has it, refused in any other.
 *
 * Everything lives in the PostgreSQL schema "kvfs":
 *
 *   store       one row: kind 'kvfs', the schema's version, the store's
 *               id, its limits (JSON, fixed when it was made),
 *               'purged', the newest transaction whose deletions are no
 *               longer kept (purge.c: a host whose position does not
 *               show it copies anew, resync.c), 'last_xid', the
 *               transaction of the last write (write.c: a host whose
 *               position does not show it is behind), and
 *               the next inode number, generation and namespace id any
 *               host may give (a stage's chunks carry a generation before
 *               any key row does); its lock orders the writes;
 *   rev         a sequence: a revision per write transaction;
 *   namespaces  a row per name, kept as a tombstone (deleted) when the
 *               namespace is deleted or renamed, the id (that of its
 *               keys) moving with it; the root's attributes under the
 *               name '' (id 0);
 *   keys        a row per key (value, directory marker or link): its
 *               attributes, metadata, expiration, and its value inline up
 *               to 4 KiB or in chunks under its generation (chunked); a
 *               deleted key stays as a tombstone (type 0) for the others
 *               to see.
 *               Inode numbers, generations and namespace ids are the
 *               writing host's, whose replica is current, ids included,
 *               when it writes (ARCHITECTURE), so hosts agree on them;
 *   chunks      the chunks of the values, of at most 1 MiB each.
 *
 * A row of namespaces or keys carries the revision of the write that made
 * it and that write's transaction id (xid8).  That is the change feed: a
 * host that saw the database as of snapshot S reads the rows whose
 * transaction S did not see but a new snapshot does, so a write that
 * commits after a later revision is not skipped (the applier, issue 18).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

/* The advisory lock two hosts making the schema at once take in turn. */
#define SCHEMA_LOCK	"7022963729735102561"	/* "a kvfs" as a number */

/*
 * A value a host staged in transactions of its own, checked as its key
 * is written (stage.c): every chunk is still there (the sweeper takes
 * the chunks of a generation no key holds and no session locks, and a
 * host whose connection broke while staging lost its lock); else
 * SQLSTATE KV002, and the write fails.  New in version 3, with the
 * locks of staged values.
 */
#define STAGE_CHECK_SQL \
	"CREATE FUNCTION kvfs.stage_check(g bigint, size bigint)" \
	" RETURNS void LANGUAGE plpgsql AS $f$" \
	" BEGIN" \
	"  IF (SELECT coalesce(sum(octet_length(data)), 0)" \
	"   FROM kvfs.chunks WHERE gen = g) <> size THEN" \
	"   RAISE EXCEPTION 'the chunks of a value being written are gone'" \
	"    USING ERRCODE = 'KV002';" \
	"  END IF;" \
	" END $f$;"

static const char schema_sql[] =
	"CREATE SCHEMA kvfs;"
	"COMMENT ON SCHEMA kvfs IS 'a kvfs store: keys and values that "
	"many hosts mount as files';"
	"CREATE TABLE kvfs.store ("
	" one boolean PRIMARY KEY DEFAULT true CHECK (one),"
	" kind text NOT NULL,"
	" version integer NOT NULL,"
	" id uuid NOT NULL DEFAULT gen_random_uuid(),"
	" created timestamptz NOT NULL DEFAULT now(),"
	" limits jsonb NOT NULL,"
	" purged xid8 NOT NULL DEFAULT '0',"
	" last_xid xid8 NOT NULL DEFAULT '0',"
	" next_ino bigint NOT NULL DEFAULT 0,"
	" next_gen bigint NOT NULL DEFAULT 0,"
	" next_nsid bigint NOT NULL DEFAULT 0);"
	"CREATE SEQUENCE kvfs.rev;"
	"CREATE TABLE kvfs.namespaces ("
	" name text PRIMARY KEY,"
	" id bigint NOT NULL,"
	" deleted boolean NOT NULL DEFAULT false,"
	" mode integer NOT NULL,"
	" uid bigint NOT NULL,"
	" gid bigint NOT NULL,"
	" atime bigint NOT NULL,"	/* nanoseconds since the epoch */
	" mtime bigint NOT NULL,"
	" ctime bigint NOT NULL,"
	" btime bigint NOT NULL,"
	" rev bigint NOT NULL,"
	" xid xid8 NOT NULL DEFAULT pg_current_xact_id(),"
	" changed timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX namespaces_xid ON kvfs.namespaces (xid);"
	"CREATE TABLE kvfs.keys ("
	" ns bigint NOT NULL,"
	" key bytea NOT NULL,"
	" type smallint NOT NULL CHECK (type BETWEEN 0 AND 3),"
	" ino bigint NOT NULL,"
	" mode integer NOT NULL,"
	" uid bigint NOT NULL,"
	" gid bigint NOT NULL,"
	" size bigint NOT NULL,"
	" atime bigint NOT NULL,"
	" mtime bigint NOT NULL,"
	" ctime bigint NOT NULL,"
	" btime bigint NOT NULL,"
	" expiration bigint NOT NULL DEFAULT 0,"
	" metadata text,"
	" value bytea CHECK (octet_length(value) <= 4096),"
	" gen bigint NOT NULL,"
	" chunked boolean NOT NULL DEFAULT false,"
	" rev bigint NOT NULL,"
	" xid xid8 NOT NULL DEFAULT pg_current_xact_id(),"
	" changed timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (ns, key));"
	"CREATE INDEX keys_xid ON kvfs.keys (xid);"
	"CREATE INDEX keys_gen ON kvfs.keys (gen) WHERE chunked;"
	"CREATE INDEX keys_tombstones ON kvfs.keys (changed) WHERE type = 0;"
	"CREATE INDEX keys_expiration ON kvfs.keys (expiration)"
	" WHERE expiration <> 0 AND type <> 0;"
	"CREATE TABLE kvfs.chunks ("
	" gen bigint NOT NULL,"
	" idx integer NOT NULL,"
	" data bytea NOT NULL CHECK (octet_length(data) <= 1048576),"
	" PRIMARY KEY (gen, idx));"
	/* a write's start (write.c): the store's lock, the check that the
	 * replica is current (its position pos shows the last write, its
	 * next identifiers are not behind), and what the write needs; one
	 * behind is told with SQLSTATE KV001.  FOR UPDATE returns the row
	 * as the last writer left it, and each statement after it sees
	 * that writer committed. */
	"CREATE FUNCTION kvfs.write_begin(pos text, ino bigint, gen bigint,"
	" nsid bigint, OUT xid text, OUT snap text, OUT rev bigint)"
	" LANGUAGE plpgsql AS $f$"
	" DECLARE s record;"
	" BEGIN"
	"  SELECT next_ino, next_gen, next_nsid, last_xid INTO s"
	"   FROM kvfs.store FOR UPDATE;"
	"  IF s.next_ino > ino OR s.next_gen > gen OR s.next_nsid > nsid OR"
	"   (CASE WHEN pos = '' THEN s.last_xid <> '0'"
	"   ELSE NOT pg_visible_in_snapshot(s.last_xid, pos::pg_snapshot)"
	"   END) THEN"
	"   RAISE EXCEPTION 'this replica is behind' USING ERRCODE = 'KV001';"
	"  END IF;"
	"  xid := pg_current_xact_id()::text;"
	"  snap := pg_current_snapshot()::text;"
	"  rev := nextval('kvfs.rev');"
	" END $f$;"
	STAGE_CHECK_SQL;

/* Relations in the database's own schemas (not PostgreSQL's). */
static const char user_relations_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE n.nspname <> 'information_schema'"
	" AND n.nspname !~ '^pg_'";

/* Check the store row of an existing schema; *stored gets its limits. */
static int check_store(PGconn *c, char **stored, char *msg, size_t len)
{
	PGresult *r = PQexec(c, "SELECT kind, version, limits::text"
				" FROM kvfs.store");
	const char *state;
	long version;
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* a table kvfs.store of another shape: not ours */
		if (state && (!strcmp(state, "42703") ||
			      !strcmp(state, "42804"))) {
			snprintf(msg, len, "the database holds a schema "
				 "\"kvfs\" that is not a kvfs store");
			rc = -EPROTO;
		} else {
			remote_say(msg, len, "the remote store: ", r, c);
			rc = -EIO;
		}
	} else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0) ||
		   strcmp(PQgetvalue(r, 0, 0), "kvfs")) {
		snprintf(msg, len, "the database holds a schema \"kvfs\" "
			 "that is not a kvfs store");
		rc = -EPROTO;
	} else {
		version = strtol(PQgetvalue(r, 0, 1), NULL, 10);
		if (version > REMOTE_SCHEMA_VERSION) {
			snprintf(msg, len, "the remote store's schema is "
				 "version %ld, newer than this kvfs knows (%d):"
				 " upgrade kvfs", version,
				 REMOTE_SCHEMA_VERSION);
			rc = -EPROTO;
		} else if (version < REMOTE_SCHEMA_VERSION) {
			snprintf(msg, len, "the remote store's schema is "
				 "version %ld, older than this kvfs's (%d), "
				 "and kvfs has no upgrade for it", version,
				 REMOTE_SCHEMA_VERSION);
			rc = -EPROTO;
		} else if (!(*stored = strdup(PQgetvalue(r, 0, 2)))) {
			snprintf(msg, len, "out of memory");
			rc = -ENOMEM;
		}
	}
	PQclear(r);
	return rc;
}

/* Make the schema in this (empty) database, recording limits. */
static int create_store(PGconn *c, const char *limits, char **stored,
			char *msg, size_t len)
{
	char version[16];
	const char *params[] = { version, limits };
	PGresult *r;
	int rc;

	rc = remote_exec(c, schema_sql, PGRES_COMMAND_OK, NULL, msg, len);
	if (rc)
		return rc;
	snprintf(version, sizeof(version), "%d", REMOTE_SCHEMA_VERSION);
	r = PQexecParams(c, "INSERT INTO kvfs.store (kind, version, limits)"
			 " VALUES ('kvfs', $1::integer, $2::jsonb)"
			 " RETURNING limits::text", 2, NULL, params, NULL,
			 NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		remote_say(msg, len, "the remote store's limits: ", r, c);
		PQclear(r);
		return -EIO;
	}
	*stored = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*stored) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* In the transaction: open the store, or make it in an empty database. */
static int open_txn(PGconn *c, const char *limits, char **stored,
		    char *msg, size_t len)
{
	PGresult *r;
	bool have;
	int rc;

	rc = remote_exec(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")",
			 PGRES_TUPLES_OK, NULL, msg, len);
	if (rc)
		return rc;
	rc = remote_exec(c, "SELECT to_regclass('kvfs.store') IS NOT NULL",
			 PGRES_TUPLES_OK, &r, msg, len);
	if (rc)
		return rc;
	have = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	if (have)
		return check_store(c, stored, msg, len);
	rc = remote_exec(c, user_relations_sql, PGRES_TUPLES_OK, &r, msg, len);
	if (rc)
		return rc;
	have = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	PQclear(r);
	if (have) {
		snprintf(msg, len, "the database \"%s\" is neither empty nor "
			 "a kvfs store: give kvfs a database of its own",
			 PQdb(c));
		return -EPROTO;
	}
	return create_store(c, limits, stored, msg, len);
}

int remote_schema_open(PGconn *c, const char *limits, char **stored,
		       char *msg, size_t len)
{
	int rc;

	*stored = NULL;
	if (PQserverVersion(c) < 130000) {
		const char *v = PQparameterStatus(c, "server_version");

		snprintf(msg, len, "the remote store needs PostgreSQL 13 or "
			 "later; the server is %s", v ? v : "older");
		return -EPROTO;
	}
	rc = remote_exec(c, "BEGIN", PGRES_COMMAND_OK, NULL, msg, len);
	if (rc)
		return rc;
	rc = open_txn(c, limits, stored, msg, len);
	if (!rc)
		rc = remote_exec(c, "COMMIT", PGRES_COMMAND_OK, NULL, msg, len);
	if (rc) {
		PQclear(PQexec(c, "ROLLBACK"));
		free(*stored);
		*stored = NULL;
	}
	return rc;
}
