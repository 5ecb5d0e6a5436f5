/*
 * status.c - where a mount stands: the JSON of the root's user.kv.status.
 *
 *   mode           "local", or "remote" (a replica of a shared store)
 *   value_bytes    bytes of values this host holds
 *   values_cached  "all": every value is kept here; under -o value_cache
 *                  the count of values kept (those of more than 4 KiB,
 *                  in chunks: smaller ones live in their keys' records)
 * and for a replica:
 *   value_cache    -o value_cache's bytes, or null (every value)
 *   cached_bytes   bytes of the values kept (at most: a key deleted
 *                  counts until its entry is trimmed), or null
 *   connected      the last exchange with PostgreSQL went through
 *   listening      the listener's connection is up
 *   sweeper        this host deletes expired keys in PostgreSQL
 *   revision       the newest revision the replica holds
 *   lag_seconds    seconds since the replica was last known to hold
 *                  every commit (null: never)
 *   rounds         rounds of the feed that brought changes
 *   resyncs        copies made anew, away longer than the store keeps
 *                  deletions (remote/resync.c)
 */
#include "config.h"

#include <jansson.h>

#include "fs/fs.h"
#include "fs/status.h"
#include "remote/remote.h"
#include "store/store.h"

static int add(json_t *j, const char *key, json_t *v)
{
	return json_object_set_new(j, key, v);
}

char *status_json(struct kvfs *fs)
{
	json_t *j = json_object();
	uint64_t values = 0, file = 0;
	struct remote_state rs;
	char *s = NULL;
	int rc;

	if (!j)
		return NULL;
	if (store_usage(fs->st, &values, &file))
		values = 0;
	if (fs->remote)
		remote_state(fs->remote, &rs);
	rc = add(j, "mode", json_string(fs->remote ? "remote" : "local")) |
	     add(j, "value_bytes", json_integer((json_int_t)values)) |
	     add(j, "values_cached", fs->remote && rs.cache_max ?
		 json_integer((json_int_t)rs.cache_values) :
		 json_string("all"));
	if (fs->remote) {
		bool bound = rs.cache_max != 0;

		rc |= add(j, "value_cache", bound ?
			  json_integer((json_int_t)rs.cache_max) : json_null()) |
		      add(j, "cached_bytes", bound ?
			  json_integer((json_int_t)rs.cache_bytes) :
			  json_null()) |
		      add(j, "connected", json_boolean(rs.connected)) |
		      add(j, "listening", json_boolean(rs.listening)) |
		      add(j, "sweeper", json_boolean(rs.sweeper)) |
		      add(j, "revision", json_integer((json_int_t)rs.rev)) |
		      add(j, "lag_seconds", rs.lag < 0 ? json_null() :
			  json_real(rs.lag)) |
		      add(j, "rounds", json_integer((json_int_t)rs.rounds)) |
		      add(j, "resyncs", json_integer((json_int_t)rs.resyncs));
	}
	if (!rc)
		s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}
