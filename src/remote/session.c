/*
 * session.c - the write connection's session: its settings and prepared
 * statements, made again when the connection broke (a server restarted,
 * a failover), and the transactions begun on it.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "remote/internal.h"

/* The session's settings: a statement waits no longer than a connect. */
int remote_session_on(struct remote *r, PGconn *c, bool idle_limit)
{
	char sql[128];

	/* a host stopped while it holds the store's lock (write.c) holds
	 * the others no longer than this either; and statements of a few
	 * rows each: compiling one (JIT) would cost a hundred times more
	 * than running it */
	snprintf(sql, sizeof(sql), "SET statement_timeout = %u;"
		 "SET idle_in_transaction_session_timeout = %u; SET jit = off",
		 r->timeout_s * 1000, idle_limit ? r->timeout_s * 1000 : 0);
	return remote_exec(c, sql, PGRES_COMMAND_OK, NULL, r->msg,
			   sizeof(r->msg));
}

int remote_session(struct remote *r)
{
	int rc = remote_session_on(r, r->c, true);

	if (!rc)
		rc = rows_prepare(r->c, r->msg, sizeof(r->msg));
	atomic_store(&r->write_pid, PQbackendPID(r->c));
	r->session_ok = rc == 0;
	return rc;
}

/*
 * Whether an idle connection is still there: a server that closed it (a
 * restart, a failover) has said so on its socket, which libpq reads only
 * when asked.  Asked before a write is sent, since once it is sent a
 * broken connection cannot tell whether the write was committed.
 */
static bool alive(PGconn *c)
{
	struct pollfd p = { PQsocket(c), POLLIN, 0 };
	int i;

	if (PQstatus(c) != CONNECTION_OK || p.fd < 0)
		return false;
	/* a server closing it sends its message, then the end: both */
	for (i = 0; i < 2 && poll(&p, 1, 0) > 0; i++)
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
			return false;
	return true;
}

int remote_usable(struct remote *r)
{
	if (alive(r->c) && PQtransactionStatus(r->c) == PQTRANS_IDLE)
		return r->session_ok ? 0 : remote_session(r);
	PQreset(r->c);
	r->c_epoch++;		/* its advisory locks went (staging.c) */
	if (PQstatus(r->c) != CONNECTION_OK) {
		remote_say(r->msg, sizeof(r->msg), "the remote store: ", NULL,
			   r->c);
		return -EIO;
	}
	return remote_session(r);
}

int remote_begin(struct remote *r)
{
	int rc = remote_usable(r);

	if (!rc)
		rc = remote_exec(r->c, "BEGIN", PGRES_COMMAND_OK, NULL, r->msg,
				 sizeof(r->msg));
	/* a connection the server closed (a restart, a failover) shows
	 * only when used: once more on a new one, nothing done yet */
	if (rc == -EIO && PQstatus(r->c) != CONNECTION_OK) {
		rc = remote_usable(r);
		if (!rc)
			rc = remote_exec(r->c, "BEGIN", PGRES_COMMAND_OK, NULL,
					 r->msg, sizeof(r->msg));
	}
	return rc;
}

