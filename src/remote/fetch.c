/*
 * fetch.c - a value the replica holds only the record of, fetched from
 * PostgreSQL when a reader opens it (-o value_cache, vcache.c).
 *
 * Its chunks come FETCH_CHUNKS (4 MiB) at a time on the feed's
 * connection (under feed_lock: no round runs meanwhile), each batch
 * written at once (store_value_fill), so that memory holds one batch
 * however large the value.  The generation is pinned from before the room is made to the
 * end, so that no trim evicts it before its reader opens it.  A chunk
 * never changes once published, so the batches need no transaction of
 * their own: if another host replaced the value meanwhile, its chunks
 * are gone in PostgreSQL, the bytes fall short, and the caller catches
 * up and has the kernel look the key up again (-ESTALE).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "remote/internal.h"

#define FETCH_CHUNKS	4
#define STR_(x)		#x
#define STR(x)		STR_(x)

/* Fetch and write the chunks of gen from idx on, up to FETCH_CHUNKS:
 * how many (a hole ends them), their bytes added to *got, or -errno. */
static int fetch_batch(struct remote *r, const char *ns, const char *key,
		       size_t len, uint64_t gen, uint64_t idx, uint64_t *got)
{
	struct store_change ch[FETCH_CHUNKS];
	char sgen[24], sidx[24];
	const char *params[2] = { sgen, sidx };
	PGresult *res;
	int rc, i, n;

	snprintf(sgen, sizeof(sgen), "%llu", (unsigned long long)gen);
	snprintf(sidx, sizeof(sidx), "%llu", (unsigned long long)idx);
	/* the feed's connection, a batch at a time: rounds go on between */
	pthread_mutex_lock(&r->feed_lock);
	rc = feed_usable(r);
	res = rc ? NULL : feed_query(r, "SELECT gen, idx, data FROM"
				     " kvfs.chunks WHERE gen = $1 AND"
				     " idx >= $2 ORDER BY idx LIMIT "
				     STR(FETCH_CHUNKS), 2, params, 1);
	pthread_mutex_unlock(&r->feed_lock);
	if (!res)
		return -EIO;
	n = PQntuples(res);
	for (i = 0, rc = 0; !rc && i < n; i++) {
		rc = rows_chunk(res, i, &ch[i]);
		if (!rc && ch[i].idx != idx + (uint64_t)i)
			n = i;	/* a hole: the value is gone */
		else if (!rc)
			*got += ch[i].size;
	}
	if (!rc)
		rc = store_value_fill(r->st, ns, key, len, gen, ch,
				      (size_t)n);
	PQclear(res);
	return rc ? rc : n;
}

int remote_value_fetch(struct remote *r, const char *ns, const char *key,
		       size_t len, uint64_t ino, uint64_t gen, uint64_t size)
{
	uint64_t idx = 0, got = 0;
	int rc, n;

	rc = vcache_reserve(r, gen, size);
	if (rc)
		return rc == -EREMOTE ? -EAGAIN : rc;
	do {
		n = fetch_batch(r, ns, key, len, gen, idx, &got);
		if (n > 0)
			idx += (uint64_t)n;
	} while (n == FETCH_CHUNKS);
	rc = n < 0 ? n : got != size ? -ESTALE : 0;
	if (!rc) {
		vcache_put(r, ino, gen, size);
		return 0;	/* pinned: the caller opens it, then unpins */
	}
	store_gen_unpin(r->st, gen);
	/* what came before the failure is not counted: it goes (unless a
	 * reader pinned it meanwhile, after a fetch of its own) */
	if (idx)
		store_value_evict(r->st, gen);
	return rc;
}
