/*
 * feedconn.c - the feed's own connection (r->feed, under feed_lock): its
 * session, made again if it broke, and its queries, whose failures say
 * why in r->msg.  The rounds (feed.c) and a resynchronisation
 * (resync.c) read through it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "remote/internal.h"

/* The message of a failed result on the feed's connection. */
static void feed_say(struct remote *r, const PGresult *res)
{
	pthread_mutex_lock(&r->lock);
	remote_say(r->msg, sizeof(r->msg), "the remote store: ", res,
		   r->feed);
	pthread_mutex_unlock(&r->lock);
}

PGresult *feed_query(struct remote *r, const char *sql, int n,
		     const char *const *params, int binary)
{
	PGresult *res = PQexecParams(r->feed, sql, n, NULL, params, NULL, NULL,
				     binary);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		feed_say(r, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

int feed_command(struct remote *r, const char *sql, int n,
		 const char *const *params)
{
	PGresult *res = PQexecParams(r->feed, sql, n, NULL, params, NULL, NULL,
				     0);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;

	if (rc)
		feed_say(r, res);
	PQclear(res);
	return rc;
}

/* The feed's connection, made again if it broke: 0 or -EIO. */
int feed_usable(struct remote *r)
{
	int rc = 0;

	if (PQstatus(r->feed) != CONNECTION_OK ||
	    PQtransactionStatus(r->feed) != PQTRANS_IDLE) {
		PQreset(r->feed);
		r->feed_session_ok = false;
		if (PQstatus(r->feed) != CONNECTION_OK) {
			feed_say(r, NULL);
			return -EIO;
		}
	}
	if (!r->feed_session_ok) {
		pthread_mutex_lock(&r->lock);
		/* idle in a round while the store applies a batch: no limit */
		rc = remote_session_on(r, r->feed, false);
		/*
		 * A round reads the rows of the transactions since its
		 * position: few, found through the index on xid, but the
		 * planner, with no statistics of xid8 values newer than its
		 * last ANALYZE, guesses a third of the table and scans it
		 * all, on every round of every host.
		 */
		if (!rc)
			rc = remote_exec(r->feed, "SET enable_seqscan = off",
					 PGRES_COMMAND_OK, NULL, r->msg,
					 sizeof(r->msg));
		pthread_mutex_unlock(&r->lock);
		r->feed_session_ok = rc == 0;
	}
	return rc;
}

