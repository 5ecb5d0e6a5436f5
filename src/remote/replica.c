/*
 * replica.c - a store bound to the shared store as its replica: open
 * (connect, schema, first copy, capture), close, the last message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/internal.h"

static int catchup(void *ctx)
{
	return remote_catchup(ctx);
}

int remote_open(const char *conninfo, unsigned timeout_s, struct store *st,
		const char *limits, char **stored, struct remote **out,
		char *msg, size_t len)
{
	struct remote *r = calloc(1, sizeof(*r));
	char sql[64];
	int rc;

	*stored = NULL;
	if (!r) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->st = st;
	rc = remote_connect(conninfo, timeout_s, &r->c, msg, len);
	if (!rc)
		rc = remote_schema_open(r->c, limits, stored, msg, len);
	if (!rc) {
		/* a statement waits no longer than a connection */
		snprintf(sql, sizeof(sql), "SET statement_timeout = %u",
			 (timeout_s < 2 ? 2 : timeout_s) * 1000);
		PQclear(PQexec(r->c, sql));
		rc = remote_catchup(r);
		if (rc)
			snprintf(msg, len, "%s", r->msg[0] ?
				 r->msg : strerror(-rc));
	}
	if (rc) {
		free(*stored);
		*stored = NULL;
		PQfinish(r->c);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return rc;
	}
	store_set_capture(st, remote_capture, catchup, r);
	*out = r;
	return 0;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	store_set_capture(r->st, NULL, NULL, NULL);
	PQfinish(r->c);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const char *remote_msg(struct remote *r)
{
	return r->msg;
}
