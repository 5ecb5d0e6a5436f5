/*
 * warm.c - map the store's cached pages ahead of its readers.
 *
 * LMDB reads through a memory map, and the first touch of each page of it
 * is a page fault in the reading thread even when the page is in the
 * kernel's page cache: about 90 us a fault in the paravirtualised guest
 * the benchmarks ran on, so that the first lookups of a large store after
 * a mount cost several times the later ones.  After the store opens, this
 * thread maps the pages of data.mdb that the page cache already holds
 * (mincore), MADV_POPULATE_READ a chunk at a time, up to WARM_MAX bytes
 * of the store: it reads nothing from the disk, the mount does not wait
 * for it (300 MB take about 15 ms), and it holds map_lock shared for one
 * chunk at a time, so that the map can grow in between.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define WARM_CHUNK	(8u << 20)
/* Page tables cost 0.2% of what is mapped: at most 8 MiB of them. */
#define WARM_MAX	(4ull << 30)

/* Map the cached pages of [base, base + len): the number mapped. */
static size_t warm_range(char *base, size_t len, size_t page,
			 unsigned char *vec)
{
	size_t n = len / page, i = 0, mapped = 0;

	if (mincore(base, len, vec) < 0)
		return 0;
	while (i < n) {
		size_t j;

		for (; i < n && !(vec[i] & 1); i++)
			;
		for (j = i; j < n && (vec[j] & 1); j++)
			;
		if (j > i && madvise(base + i * page, (j - i) * page,
				     MADV_POPULATE_READ) == 0)
			mapped += j - i;
		i = j;
	}
	return mapped;
}

/*
 * Where LMDB mapped data.mdb (it does not say, unless MDB_FIXEDMAP): the
 * mapping of the file's device and inode at offset 0 in /proc/self/maps.
 * map_lock held.  NULL if not found.
 */
static char *map_base(struct store *st, size_t *size)
{
	char line[4096], *base = NULL;
	uintmax_t lo, hi, off, ino;
	unsigned maj, mnr;
	struct stat sb;
	FILE *f;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) || fstat(fd, &sb) < 0)
		return NULL;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return NULL;
	while (!base && fgets(line, sizeof(line), f))
		if (sscanf(line, "%jx-%jx %*s %jx %x:%x %ju", &lo, &hi, &off,
			   &maj, &mnr, &ino) == 6 && off == 0 &&
		    ino == (uintmax_t)sb.st_ino &&
		    makedev(maj, mnr) == sb.st_dev) {
			base = (char *)(uintptr_t)lo;
			*size = (size_t)(hi - lo);
		}
	fclose(f);
	return base;
}

static void *warm_thread(void *arg)
{
	struct store *st = arg;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off = 0, mapped = 0;
	unsigned char *vec = malloc(WARM_CHUNK / page);
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (vec && !__atomic_load_n(&st->warm_stop, __ATOMIC_ACQUIRE)) {
		MDB_envinfo info;
		size_t end, len, size = 0;
		char *base;

		pthread_rwlock_rdlock(&st->map_lock);
		mdb_env_info(st->env, &info);
		base = map_base(st, &size);
		end = (info.me_last_pgno + 1) * st->psize;
		if (end > size)
			end = size;
		if (end > WARM_MAX)
			end = WARM_MAX;
		if (!base || off >= end) {
			pthread_rwlock_unlock(&st->map_lock);
			break;
		}
		len = end - off < WARM_CHUNK ? end - off : WARM_CHUNK;
		len -= len % page;
		if (len == 0) {
			pthread_rwlock_unlock(&st->map_lock);
			break;
		}
		mapped += warm_range(base + off, len, page, vec);
		pthread_rwlock_unlock(&st->map_lock);
		off += len;
	}
	free(vec);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kvfs_log(KVFS_DEBUG, "store: %zu cached pages mapped ahead in %.0f ms",
		 mapped, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		 (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return NULL;
}

int warm_start(struct store *st)
{
	int rc = pthread_create(&st->warm_tid, NULL, warm_thread, st);

	if (rc)
		return -rc;
	st->warm_running = true;
	return 0;
}

void warm_stop(struct store *st)
{
	if (!st->warm_running)
		return;
	__atomic_store_n(&st->warm_stop, true, __ATOMIC_RELEASE);
	pthread_join(st->warm_tid, NULL);
	st->warm_running = false;
}
