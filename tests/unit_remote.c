/*
 * unit_remote.c - replicas through PostgreSQL (src/remote): stores A and
 * B, each bound to the shared store CONNINFO names (an empty database),
 * take random operations in turn and from threads at once, each write
 * committed there first and a replica that is behind catching up; after
 * each round both are the same; a transaction that commits after a later
 * one is not skipped; a new store copies the whole; a replica reopened
 * catches up; with the server stopped, a write fails with EIO and
 * changes nothing, reads go on, and once it is back the write goes
 * through and the other replica sees it.
 *
 *   unit_remote CONNINFO STOP_CMD START_CMD
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "remote/remote.h"
#include "store/store.h"
#include "storeops.h"
#include "tap.h"

static const struct store_limits lim = { .max_key_size = 4096,
					 .max_namespaces = 100 };
static const char *conninfo;
static const struct remote_options ropts = { .timeout_s = 5,
					     .progress_fd = -1 };

static int bind(const char *dir, struct store **st, struct remote **r)
{
	char msg[REMOTE_MSG_MAX], *stored;
	int rc;

	rc = store_open(dir, &lim, NULL, 0, 0, st);
	if (rc)
		return rc;
	rc = remote_open(conninfo, &ropts, *st, "{}", &stored, r, msg,
			 sizeof(msg));
	if (rc)
		printf("# %s\n", msg);
	free(stored);
	return rc;
}

struct stepper {
	struct store *st;
	unsigned seed;
	int steps;
};

static void *stepper(void *arg)
{
	struct stepper *s = arg;
	int i;

	ops_seed = s->seed;
	for (i = 0; i < s->steps; i++)
		ops_step(s->st);
	return NULL;
}

/*
 * A source that, when first read (inside the transactions of a put on
 * one store), puts 2 MiB into key ry on another: both take a generation
 * at once.
 */
struct racing {
	struct ops_mem m;
	struct store *other;
	uint64_t ino;
	int done, rc;
	struct kv_attr out;
};

static ssize_t racing_read(void *ctx, void *buf, size_t len, off_t off)
{
	struct racing *rs = ctx;

	if (!rs->done) {
		struct ops_mem m = { ops_big + 11 };
		struct store_src src = { ops_mem_read, &m, 2u << 20 };
		struct timespec now;

		rs->done = 1;
		clock_gettime(CLOCK_REALTIME, &now);
		rs->rc = store_value_put(rs->other, "alpha1", "ry", 2, rs->ino,
					 &src, &now, 0, &rs->out);
	}
	return ops_mem_read(&rs->m, buf, len, off);
}

/* Run a statement on c; 0 if it did what it should. */
static int sql(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		 PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		printf("# %s: %s", q, PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	char da[] = "/tmp/unit_remote_a.XXXXXX";
	char db[] = "/tmp/unit_remote_b.XXXXXX";
	char dc[] = "/tmp/unit_remote_c.XXXXXX";
	struct store *A, *B, *C;
	struct remote *ra, *rb, *rc;
	struct kv_attr a, out;
	char cmd[160], buf[16];
	int i, diverged = -1;
	size_t j;
	PGconn *held;

	if (argc != 4)
		return 2;
	conninfo = argv[1];
	ops_big = malloc(OPS_BIG_MAX + 1000);
	if (!ops_big || !mkdtemp(da) || !mkdtemp(db) || !mkdtemp(dc))
		return 1;
	for (j = 0; j < OPS_BIG_MAX + 1000; j++)
		ops_big[j] = (char)ops_rnd(256);
	is_int(bind(da, &A, &ra), 0, "A is bound to the shared store");
	is_int(bind(db, &B, &rb), 0, "B too");

	memset(&a, 0, sizeof(a));
	a.mode = 0755;
	is_int(store_ns_create(A, "alpha1", &a), 0, "a namespace on A");
	is_int(remote_catchup(rb), 0, "B catches up");
	ok(ops_same(A, B), "B has it");
	a.mode = 0700;
	is_int(store_ns_create(B, "beta22", &a), 0,
	       "a namespace on B, which was current");
	is_int(store_ns_create(A, "gamma3", &a), 0,
	       "one on A, which was behind: caught up and written");
	is_int(store_ns_stat(A, "beta22", &out), 0, "A has B's now");

	/* in turn, compared every 25 steps */
	for (i = 0; i < 600; i++) {
		ops_step(i % 2 ? A : B);
		if (i % 25 == 24) {
			if (remote_catchup(ra) || remote_catchup(rb)) {
				char ma[REMOTE_MSG_MAX], mb[REMOTE_MSG_MAX];

				remote_msg_copy(ra, ma, sizeof(ma));
				remote_msg_copy(rb, mb, sizeof(mb));
				printf("# catchup: %s %s\n", ma, mb);
			}
			if (diverged < 0 && !ops_same(A, B))
				diverged = i;
		}
	}
	is_int(diverged, -1, "A and B the same through 600 steps in turn");

	/* two threads on each at once */
	{
		struct stepper s[4] = { { A, 11, 150 }, { A, 12, 150 },
					{ B, 13, 150 }, { B, 14, 150 } };
		pthread_t t[4];

		for (i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, stepper, &s[i]);
		for (i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		ok(remote_catchup(ra) == 0 && remote_catchup(rb) == 0,
		   "both catch up");
		ok(ops_same(A, B), "and are the same after 2 threads on each");
	}

	/* a transaction that drew its revision first commits last */
	store_ns_create(A, "alpha1", &a);
	held = PQconnectdb(conninfo);
	ok(PQstatus(held) == CONNECTION_OK &&
	   sql(held, "BEGIN") == 0 &&
	   sql(held, "INSERT INTO kvfs.keys (ns, key, type, ino, mode, uid,"
	       " gid, size, atime, mtime, ctime, btime, value, gen, rev)"
	       " SELECT id, 'held', 1, 4000000000, 420, 0, 0, 5, 0, 0, 0, 0,"
	       " 'held!', 4000000000, nextval('kvfs.rev') FROM"
	       " kvfs.namespaces WHERE name = 'alpha1'") == 0,
	   "a transaction writes key held with an early revision, open");
	a.type = KV_FILE;
	a.mode = 0644;
	store_unlink(A, "alpha1", "later", 5);
	is_int(store_create(A, "alpha1", "later", 5, &a, &out), 0,
	       "A writes key later meanwhile, committed first");
	is_int(remote_catchup(rb), 0, "B catches up");
	ok(store_stat(B, "alpha1", "later", 5, &out) == 0 &&
	   store_stat(B, "alpha1", "held", 4, &out) == -ENOENT,
	   "B has later, not held yet");
	ok(sql(held, "COMMIT") == 0, "the early transaction commits");
	PQfinish(held);
	is_int(remote_catchup(rb), 0, "B catches up again");
	{
		struct store_value *v;
		ssize_t n = -1;

		if (store_value_open(B, "alpha1", "held", 4, &v, &out) == 0) {
			n = store_value_read(B, v, buf, sizeof(buf), 0);
			store_value_close(B, v);
		}
		ok(n == 5 && !memcmp(buf, "held!", 5),
		   "B has held, as it was written");
	}
	ok(remote_catchup(ra) == 0 && ops_same(A, B), "and A too");

	/* a replica's own writes do not find it behind */
	{
		unsigned long before = remote_catchups(ra);
		char name[8];

		ok(remote_catchup(ra) == 0, "A is current");
		before = remote_catchups(ra);
		for (i = 0; i < 5; i++) {
			snprintf(name, sizeof(name), "own%d", i);
			store_unlink(A, "alpha1", name, 4);
			store_create(A, "alpha1", name, 4, &a, &out);
		}
		is_int(remote_catchups(ra) - before, 0,
		       "10 writes in a row on A: no catching up");
	}

	/* a stage on A and a value on B at once take different
	 * generations, though the stage's chunks show in no row yet */
	{
		struct ops_mem m = { ops_big + 3 };
		struct store_src src = { ops_mem_read, &m, 3u << 20 };
		struct kv_attr sa, sb, ka, kb;
		struct store_stage *sg;
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		store_unlink(A, "alpha1", "sa", 2);
		store_unlink(A, "alpha1", "sb", 2);
		ok(store_create(A, "alpha1", "sa", 2, &a, &sa) == 0 &&
		   store_create(A, "alpha1", "sb", 2, &a, &sb) == 0 &&
		   remote_catchup(rb) == 0, "keys sa and sb");
		ok(store_stage_open(A, &sg) == 0 &&
		   store_stage_write(sg, ops_big, 6u << 20, 0) == 0,
		   "A stages 6 MiB for sa, chunks sent");
		is_int(store_value_put(B, "alpha1", "sb", 2, sb.ino, &src,
				       &now, 0, &kb), 0,
		       "B puts 3 MiB in sb meanwhile");
		is_int(store_value_put_stage(A, "alpha1", "sa", 2, sa.ino, sg,
					     &now, 0, &ka, NULL), 0,
		       "A switches sa to its stage");
		store_stage_close(sg);
		ok(store_stat(A, "alpha1", "sb", 2, &kb) == 0 &&
		   ka.gen != kb.gen, "sa and sb hold different generations "
		   "(%llu, %llu)", (unsigned long long)ka.gen,
		   (unsigned long long)kb.gen);
		ok(remote_catchup(ra) == 0 && remote_catchup(rb) == 0 &&
		   ops_same(A, B), "both replicas read both values the same");
		is_int(store_unlink(B, "alpha1", "sa", 2), 0,
		       "B deletes sa");
		ok(remote_catchup(ra) == 0 && remote_catchup(rb) == 0 &&
		   ops_same(A, B), "sb is whole on both still");
	}

	/* a put of 6 MiB on B takes its generation in a transaction of its
	 * own; a put on A while B writes its chunks takes another */
	{
		struct racing rs = { .m = { ops_big + 5 } };
		struct store_src src = { racing_read, &rs, 6u << 20 };
		struct kv_attr x, y;
		struct timespec now;

		store_unlink(A, "alpha1", "rx", 2);
		store_unlink(A, "alpha1", "ry", 2);
		ok(store_create(A, "alpha1", "rx", 2, &a, &x) == 0 &&
		   store_create(A, "alpha1", "ry", 2, &a, &y) == 0 &&
		   remote_catchup(rb) == 0, "keys rx and ry");
		rs.other = A;
		rs.ino = y.ino;
		clock_gettime(CLOCK_REALTIME, &now);
		is_int(store_value_put(B, "alpha1", "rx", 2, x.ino, &src, &now,
				       0, &x), 0, "B puts 6 MiB in rx");
		is_int(rs.rc, 0, "A put 2 MiB in ry meanwhile");
		ok(x.gen != rs.out.gen, "rx and ry hold different generations "
		   "(%llu, %llu)", (unsigned long long)x.gen,
		   (unsigned long long)rs.out.gen);
		ok(remote_catchup(ra) == 0 && remote_catchup(rb) == 0 &&
		   ops_same(A, B), "both replicas read both values the same");
		ok(store_unlink(A, "alpha1", "rx", 2) == 0 &&
		   remote_catchup(ra) == 0 && remote_catchup(rb) == 0 &&
		   ops_same(A, B), "rx deleted, ry is whole on both");
	}

	/* a store of its own cannot become a replica */
	{
		char dd[] = "/tmp/unit_remote_d.XXXXXX";
		char msg[REMOTE_MSG_MAX], *stored;
		struct remote *rd;
		struct store *D = NULL;

		ok(mkdtemp(dd) &&
		   store_open(dd, &lim, "default", 0, 0, &D) == 0,
		   "a store with a namespace of its own");
		if (D) {
			is_int(remote_open(conninfo, &ropts, D, "{}", &stored, &rd,
					   msg, sizeof(msg)), -EEXIST,
			       "is refused as a replica: %s", msg);
			store_close(D);
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dd);
		if (system(cmd))
			return 1;
	}

	/* a new replica copies the whole; one reopened catches up */
	is_int(bind(dc, &C, &rc), 0, "a new store C is bound");
	ok(ops_same(A, C), "and is a copy of A");
	remote_close(rb);
	store_close(B);
	for (i = 0; i < 50; i++)
		ops_step(A);
	is_int(bind(db, &B, &rb), 0, "B, closed while A wrote, is bound again");
	ok(ops_same(A, B), "and has caught up");
	ok(remote_catchup(rc) == 0 && ops_same(A, C), "so does C");

	/* the server stopped: writes fail and change nothing, reads go on */
	a.type = KV_FILE;
	a.mode = 0644;
	store_unlink(A, "alpha1", "down", 4);
	ok(remote_catchup(rb) == 0 && system(argv[2]) == 0,
	   "the server stops");
	is_int(store_create(A, "alpha1", "down", 4, &a, &out), -EIO,
	       "a create on A fails with EIO");
	is_int(store_stat(A, "alpha1", "down", 4, &out), -ENOENT,
	       "and A has no such key");
	is_int(store_stat(A, "alpha1", "later", 5, &out), 0,
	       "A still answers a stat");
	is_int(remote_catchup(rb), -EIO, "B cannot catch up: EIO");
	ok(system(argv[3]) == 0, "the server starts again");
	is_int(store_create(A, "alpha1", "down", 4, &a, &out), 0,
	       "the create on A goes through");
	ok(remote_catchup(rb) == 0 &&
	   store_stat(B, "alpha1", "down", 4, &out) == 0,
	   "and B has the key");

	remote_close(ra);
	remote_close(rb);
	remote_close(rc);
	store_close(A);
	store_close(B);
	store_close(C);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s", da, db, dc);
	if (system(cmd))
		return 1;
	free(ops_big);
	return tap_done();
}
