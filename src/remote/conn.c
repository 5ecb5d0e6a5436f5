/*
 * conn.c - connecting to the shared store's PostgreSQL, running
 * statements and pipelines of them, and the one-line messages of what
 * went wrong (the write connection's session: session.c).
 *
 * The connection string is the user's (a libpq string or URI, several
 * hosts and target_session_attrs allowed, the password from it, .pgpass
 * or PGPASSFILE, TLS by sslmode): kvfs adds only how long to wait, TCP
 * keepalives and its name.  A message never repeats the string, and
 * every copy of the password in what libpq says is masked.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "remote/internal.h"

/*
 * Where the password lies in conninfo, if it holds one: after the
 * keyword password, or between ':' and '@' in a URI's user part.  *n is
 * its length.
 */
static const char *find_secret(const char *conninfo, const char *from,
			       size_t *n)
{
	const char *p = from, *at, *end, *colon;

	*n = 0;
	if (p == conninfo && (!strncmp(p, "postgresql://", 13) ||
			      !strncmp(p, "postgres://", 11))) {
		p = strstr(p, "//") + 2;
		end = p + strcspn(p, "/?");
		for (at = NULL; p < end; p++)
			if (*p == '@')
				at = p;
		p = strstr(conninfo, "//") + 2;
		colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
		if (colon && at > colon + 1) {
			*n = (size_t)(at - colon - 1);
			return colon + 1;
		}
	}
	while ((p = strstr(p, "password")) != NULL) {
		p += 8;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t");
		if (*p == '\'')
			p++;
		*n = strcspn(p, " \t'&");
		if (*n)
			return p;
	}
	return NULL;
}

/*
 * Copy src into msg as one line, after prefix: newlines become "; ",
 * the trailing ones go, and every copy of a password conninfo holds
 * becomes "***".
 */
static void one_line(char *msg, size_t len, const char *prefix,
		     const char *src, const char *conninfo)
{
	const char *secret[4];
	size_t slen[4], nsecret = 0, n, i;
	const char *from = conninfo;
	int w;

	if (!len)
		return;
	while (conninfo && nsecret < 4 &&
	       (secret[nsecret] = find_secret(conninfo, from,
					      &slen[nsecret])) != NULL) {
		from = secret[nsecret] + slen[nsecret];
		nsecret++;
	}
	w = snprintf(msg, len, "%s", prefix);
	n = w < 0 ? 0 : (size_t)w < len ? (size_t)w : len - 1;
	while (src && *src && n + 1 < len) {
		for (i = 0; i < nsecret; i++)
			if (!strncmp(src, secret[i], slen[i]))
				break;
		if (i < nsecret) {
			if (n + 4 < len) {
				memcpy(msg + n, "***", 3);
				n += 3;
			}
			src += slen[i];
			continue;
		}
		if (*src == '\n') {
			while (src[1] == ' ' || src[1] == '\t')
				src++;
			if (src[1] && src[1] != '\n' && n + 3 < len) {
				memcpy(msg + n, "; ", 2);
				n += 2;
			}
		} else {
			msg[n++] = *src == '\t' ? ' ' : *src;
		}
		src++;
	}
	msg[n] = '\0';
}

void remote_hide_secret(char *conninfo)
{
	const char *from = conninfo, *secret;
	size_t n;

	while ((secret = find_secret(conninfo, from, &n)) != NULL) {
		memset((char *)secret, '*', n);
		from = secret + n;
	}
}

int remote_connect(const char *conninfo, unsigned timeout_s, PGconn **out,
		   char *msg, size_t len)
{
	char secs[16], ms[24];
	const char *keys[] = {
		"dbname", "connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"client_encoding", "fallback_application_name", NULL
	};
	const char *vals[] = {
		conninfo, secs, "1", secs, "1", "3", ms, "UTF8", "kvfs", NULL
	};
	PQconninfoOption *opts;
	char *err = NULL;
	PGconn *c;

	*out = NULL;
	opts = PQconninfoParse(conninfo, &err);
	if (!opts) {
		if (!err) {
			one_line(msg, len, "", "out of memory", NULL);
			return -ENOMEM;
		}
		one_line(msg, len, "bad connection string: ", err, conninfo);
		PQfreemem(err);
		return -EINVAL;
	}
	PQconninfoFree(opts);
	if (timeout_s < 2)
		timeout_s = 2;
	snprintf(secs, sizeof(secs), "%u", timeout_s);
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)timeout_s * 1000);
	c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		one_line(msg, len, "", "out of memory", NULL);
		return -ENOMEM;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		one_line(msg, len, "", PQerrorMessage(c), conninfo);
		PQfinish(c);
		return -EIO;
	}
	*out = c;
	return 0;
}

void remote_say(char *msg, size_t len, const char *prefix, const PGresult *r,
		PGconn *c)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
			  : NULL;
	size_t n;

	if (!m)
		m = PQerrorMessage(c);
	snprintf(msg, len, "%s%s", prefix, m ? m : "");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (; n; n--)
		if (msg[n - 1] == '\n')
			msg[n - 1] = ' ';
}

int remote_exec(PGconn *c, const char *sql, ExecStatusType want,
		PGresult **out, char *msg, size_t len)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != want) {
		remote_say(msg, len, "the remote store: ", r, c);
		PQclear(r);
		return -EIO;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

int remote_send(PGconn *c, const char *sql, int n, const char *const *params,
		const int *lengths, const int *formats, int binary, char *msg,
		size_t len)
{
	if (PQsendQueryParams(c, sql, n, NULL, params, lengths, formats,
			      binary) == 1)
		return 0;
	remote_say(msg, len, "the remote store: ", NULL, c);
	return -EIO;
}

int remote_pipeline_end(PGconn *c, int n, PGresult **out, int nout,
			char *state, char *msg, size_t len)
{
	int i = 0, rc = 0;

	if (state)
		state[0] = '\0';
	if (PQpipelineSync(c) != 1) {
		remote_say(msg, len, "the remote store: ", NULL, c);
		rc = -EIO;
	}
	for (;;) {
		PGresult *r = PQgetResult(c);
		ExecStatusType st;

		if (!r) {
			/* the end of one query's results; past the last
			 * (a sync that never comes), or a broken connection:
			 * no more */
			if (PQstatus(c) != CONNECTION_OK || ++i > n) {
				if (!rc) {
					remote_say(msg, len, "the remote "
						   "store: ", NULL, c);
					rc = -EIO;
				}
				break;
			}
			continue;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !rc) {
			const char *s = PQresultErrorField(r,
							   PG_DIAG_SQLSTATE);

			remote_say(msg, len, "the remote store: ", r, c);
			if (state && s)
				snprintf(state, 6, "%s", s);
			rc = -EIO;
		}
		if (st == PGRES_TUPLES_OK && i < nout && !out[i]) {
			out[i] = r;
			continue;
		}
		PQclear(r);
	}
	if (PQpipelineStatus(c) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c)) {
		if (!rc)
			remote_say(msg, len, "the remote store: ", NULL, c);
		rc = -EIO;
	}
	return rc;
}
