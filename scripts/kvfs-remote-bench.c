/*
 * kvfs-remote-bench.c - the measures of many hosts (scripts/bench-remote),
 * printing one "name value unit" line per figure.
 *
 *   kvfs-remote-bench propagate RATE SECS DIR1 DIR2 DIR3
 *       RATE writes a second in all, spread over three mounts of one
 *       remote store (DIRn: a namespace on each), for SECS seconds: each
 *       host overwrites keys of its own with a counter; for every write,
 *       each other host reads the key until it holds that counter (or a
 *       later one).  The time from the writer's close to that read: p50,
 *       p99 and the largest, in milliseconds.
 *   kvfs-remote-bench libpq CONNINFO COUNT SIZE THREADS
 *       PostgreSQL's own rate for what a kvfs create and overwrite write:
 *       THREADS connections, each of COUNT / THREADS transactions that
 *       take the store's row lock, upsert one key row (the columns of
 *       kvfs.keys, a value of SIZE bytes), notify and commit, in a schema
 *       of its own (kvfs_bench, made and dropped here); first the creates
 *       (new keys), then the overwrites (the same keys again); ops/s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "kvfs-remote-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- propagate ---- */

#define HOSTS		3
#define KEYS_PER_HOST	32
#define MAX_WRITES	200000

struct write {
	int host;		/* the writer */
	int key;
	long count;		/* the value written */
	double closed;		/* when its close returned */
};

static struct write *writes;
static long nwrites;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static bool writing = true;
static const char *dirs[HOSTS];
static double *delays[HOSTS];	/* per reader host, by write */

static long read_count(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static void key_path(char *buf, size_t len, int dir, int host, int key)
{
	snprintf(buf, len, "%s/h%dk%d", dirs[dir], host, key);
}

struct writer {
	int host;
	double rate, secs;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	double start = now_s(), next = start;
	long counts[KEYS_PER_HOST] = { 0 };
	unsigned seed = (unsigned)w->host * 7919u + 1;
	int key = 0;

	while (now_s() - start < w->secs) {
		char path[4096], val[32];
		struct write *wr;
		int fd, len;

		/* a Poisson-like spacing around 1 / rate */
		next += (0.5 + (double)(rand_r(&seed) % 1000) / 1000.0) /
			w->rate;
		while (now_s() < next)
			usleep(200);
		key = (key + 1) % KEYS_PER_HOST;
		len = snprintf(val, sizeof(val), "%ld\n", ++counts[key]);
		key_path(path, sizeof(path), w->host, w->host, key);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, val, (size_t)len) != len)
			die(path);
		if (close(fd) < 0)
			die(path);
		pthread_mutex_lock(&wlock);
		if (nwrites < MAX_WRITES) {
			wr = &writes[nwrites++];
			wr->host = w->host;
			wr->key = key;
			wr->count = counts[key];
			wr->closed = now_s();
		}
		pthread_cond_broadcast(&wcond);
		pthread_mutex_unlock(&wlock);
	}
	return NULL;
}

/* Reader host g: every write of another host, in order, read on g. */
static void *reader_thread(void *arg)
{
	int g = (int)(long)arg;
	long i = 0;

	for (;;) {
		struct write wr;
		char path[4096];

		pthread_mutex_lock(&wlock);
		while (i == nwrites && writing)
			pthread_cond_wait(&wcond, &wlock);
		if (i == nwrites) {
			pthread_mutex_unlock(&wlock);
			break;
		}
		wr = writes[i];
		pthread_mutex_unlock(&wlock);
		if (wr.host != g) {
			key_path(path, sizeof(path), g, wr.host, wr.key);
			while (read_count(path) < wr.count) {
				if (now_s() - wr.closed > 30) {
					fprintf(stderr, "kvfs-remote-bench: "
						"%s never reached %ld\n", path,
						wr.count);
					exit(1);
				}
				usleep(100);
			}
			delays[g][i] = (now_s() - wr.closed) * 1000;
		} else {
			delays[g][i] = -1;
		}
		i++;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int propagate(double rate, double secs, char **d)
{
	pthread_t wt[HOSTS], rt[HOSTS];
	struct writer w[HOSTS];
	double *all;
	long n = 0, i;
	int h;

	writes = calloc(MAX_WRITES, sizeof(*writes));
	all = calloc((size_t)MAX_WRITES * HOSTS, sizeof(*all));
	if (!writes || !all)
		die("calloc");
	for (h = 0; h < HOSTS; h++) {
		dirs[h] = d[h];
		delays[h] = calloc(MAX_WRITES, sizeof(double));
		if (!delays[h])
			die("calloc");
	}
	for (h = 0; h < HOSTS; h++) {
		w[h].host = h;
		w[h].rate = rate / HOSTS;
		w[h].secs = secs;
		if (pthread_create(&rt[h], NULL, reader_thread, (void *)(long)h))
			die("pthread_create");
	}
	for (h = 0; h < HOSTS; h++)
		if (pthread_create(&wt[h], NULL, writer_thread, &w[h]))
			die("pthread_create");
	for (h = 0; h < HOSTS; h++)
		pthread_join(wt[h], NULL);
	pthread_mutex_lock(&wlock);
	writing = false;
	pthread_cond_broadcast(&wcond);
	pthread_mutex_unlock(&wlock);
	for (h = 0; h < HOSTS; h++)
		pthread_join(rt[h], NULL);
	for (h = 0; h < HOSTS; h++)
		for (i = 0; i < nwrites; i++)
			if (delays[h][i] >= 0)
				all[n++] = delays[h][i];
	if (!n) {
		fprintf(stderr, "kvfs-remote-bench: no write\n");
		return 1;
	}
	qsort(all, (size_t)n, sizeof(*all), cmp_double);
	printf("writes %ld count\n", nwrites);
	printf("write_rate %.1f ops/s\n", (double)nwrites / secs);
	printf("propagation_p50 %.2f ms\n", all[n / 2]);
	printf("propagation_p99 %.2f ms\n", all[(n * 99) / 100]);
	printf("propagation_max %.2f ms\n", all[n - 1]);
	return 0;
}

/* ---- libpq ---- */

static const char *conninfo;
static long per_thread, value_size;

static const char schema_sql[] =
	"DROP SCHEMA IF EXISTS kvfs_bench CASCADE;"
	"CREATE SCHEMA kvfs_bench;"
	"CREATE TABLE kvfs_bench.store (one boolean PRIMARY KEY);"
	"INSERT INTO kvfs_bench.store VALUES (true);"
	"CREATE SEQUENCE kvfs_bench.rev;"
	"CREATE TABLE kvfs_bench.keys ("
	" ns bigint NOT NULL, key bytea NOT NULL, type smallint NOT NULL,"
	" ino bigint NOT NULL, mode integer NOT NULL, uid bigint NOT NULL,"
	" gid bigint NOT NULL, size bigint NOT NULL, atime bigint NOT NULL,"
	" mtime bigint NOT NULL, ctime bigint NOT NULL, btime bigint NOT NULL,"
	" expiration bigint NOT NULL DEFAULT 0, metadata text, value bytea,"
	" gen bigint NOT NULL, chunked boolean NOT NULL DEFAULT false,"
	" rev bigint NOT NULL,"
	" xid xid8 NOT NULL DEFAULT pg_current_xact_id(),"
	" changed timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (ns, key));"
	"CREATE INDEX ON kvfs_bench.keys (xid);";

static const char upsert_sql[] =
	"INSERT INTO kvfs_bench.keys (ns, key, type, ino, mode, uid, gid, size,"
	" atime, mtime, ctime, btime, value, gen, rev) VALUES (1, $1, 1, $2,"
	" 420, 0, 0, $3, $4, $4, $4, $4, $5, $2, nextval('kvfs_bench.rev'))"
	" ON CONFLICT (ns, key) DO UPDATE SET size = EXCLUDED.size,"
	" mtime = EXCLUDED.mtime, ctime = EXCLUDED.ctime,"
	" value = EXCLUDED.value, gen = EXCLUDED.gen, rev = EXCLUDED.rev,"
	" xid = pg_current_xact_id(), changed = now()";

static void check(PGconn *c, PGresult *r, ExecStatusType want)
{
	if (PQresultStatus(r) != want) {
		fprintf(stderr, "kvfs-remote-bench: %s",
			PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
}

static void *pq_thread(void *arg)
{
	long id = (long)arg, i;
	PGconn *c = PQconnectdb(conninfo);
	char key[64], ino[32], size[32], t[32];
	char *value = malloc((size_t)value_size + 1);
	const char *params[5] = { key, ino, size, t, value };

	if (PQstatus(c) != CONNECTION_OK || !value) {
		fprintf(stderr, "kvfs-remote-bench: %s", PQerrorMessage(c));
		exit(1);
	}
	memset(value, 'v', (size_t)value_size);
	value[value_size] = '\0';
	snprintf(size, sizeof(size), "%ld", value_size);
	for (i = 0; i < per_thread; i++) {
		snprintf(key, sizeof(key), "t%ld/k%ld", id, i);
		snprintf(ino, sizeof(ino), "%ld", id * 10000000 + i + 100);
		snprintf(t, sizeof(t), "%.0f", now_s() * 1e9);
		check(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK);
		check(c, PQexec(c, "SELECT 1 FROM kvfs_bench.store FOR UPDATE"),
		      PGRES_TUPLES_OK);
		check(c, PQexecParams(c, upsert_sql, 5, NULL, params, NULL,
				      NULL, 0), PGRES_COMMAND_OK);
		check(c, PQexec(c, "SELECT pg_notify('kvfs_bench', '')"),
		      PGRES_TUPLES_OK);
		check(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK);
	}
	free(value);
	PQfinish(c);
	return NULL;
}

static double pq_phase(int threads)
{
	pthread_t t[64];
	double start = now_s();
	long i;

	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, pq_thread, (void *)i))
			die("pthread_create");
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (double)(per_thread * threads) / (now_s() - start);
}

static int libpq(const char *ci, long count, long size, int threads)
{
	PGconn *c = PQconnectdb(ci);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "kvfs-remote-bench: %s", PQerrorMessage(c));
		return 1;
	}
	if (threads < 1 || threads > 64 || size > 4096 || count < threads) {
		fprintf(stderr, "kvfs-remote-bench: bad arguments\n");
		return 2;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	check(c, PQexec(c, schema_sql), PGRES_COMMAND_OK);
	conninfo = ci;
	per_thread = count / threads;
	value_size = size;
	printf("create %.0f ops/s\n", pq_phase(threads));
	printf("overwrite %.0f ops/s\n", pq_phase(threads));
	check(c, PQexec(c, "DROP SCHEMA kvfs_bench CASCADE"),
	      PGRES_COMMAND_OK);
	PQfinish(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "propagate"))
		return propagate(atof(argv[2]), atof(argv[3]), argv + 4);
	if (argc == 6 && !strcmp(argv[1], "libpq"))
		return libpq(argv[2], atol(argv[3]), atol(argv[4]),
			     atoi(argv[5]));
	fprintf(stderr, "usage: kvfs-remote-bench propagate RATE SECS DIR1 "
		"DIR2 DIR3\n       kvfs-remote-bench libpq CONNINFO COUNT SIZE "
		"THREADS\n");
	return 2;
}
