/*
 * remotecheck.c - open the remote store a connection string names, as a
 * mount of it will (src/remote): print "ok LIMITS" with the limits the
 * store records, or "EPROTO: MESSAGE" (the errno's name, then the one-line
 * message) and exit 1.
 *
 *   remotecheck CONNINFO [TIMEOUT_S [LIMITS_JSON]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "remote/remote.h"

static const char *errname(int e)
{
	switch (e) {
	case EIO: return "EIO";
	case EPROTO: return "EPROTO";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	default: return "E?";
	}
}

int main(int argc, char **argv)
{
	char msg[REMOTE_MSG_MAX], *stored;
	PGconn *c;
	int rc;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: remotecheck CONNINFO [TIMEOUT_S "
			"[LIMITS_JSON]]\n");
		return 2;
	}
	rc = remote_connect(argv[1], argc > 2 ? (unsigned)atoi(argv[2]) : 5,
			    &c, msg, sizeof(msg));
	if (!rc) {
		rc = remote_schema_open(c, argc > 3 ? argv[3] : "{}", &stored,
					msg, sizeof(msg));
		PQfinish(c);
	}
	if (rc) {
		printf("%s: %s\n", errname(-rc), msg);
		return 1;
	}
	printf("ok %s\n", stored);
	free(stored);
	return 0;
}
