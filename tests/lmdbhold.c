/*
 * lmdbhold.c - hold the write lock of a store's LMDB environment, so that
 * the daemon's next commit waits for it: how a test keeps a request of
 * kvfs busy, at a point it chooses, for as long as it needs.
 *
 *   lmdbhold STORE    begin a write transaction on STORE's environment,
 *                     print "held", and abort it (changing nothing) when
 *                     standard input ends
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <lmdb.h>

int main(int argc, char *argv[])
{
	MDB_env *env;
	MDB_txn *txn;
	char buf[64];
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: lmdbhold STORE\n");
		return 2;
	}
	if ((rc = mdb_env_create(&env)) ||
	    (rc = mdb_env_set_maxdbs(env, 8)) ||
	    (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0600)) ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn))) {
		fprintf(stderr, "lmdbhold: %s: %s\n", argv[1],
			mdb_strerror(rc));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}
