/*
 * attr.c - store attributes in stat(2) form, how long the kernel may cache
 * them, and the generation a node of them stands for.
 *
 * A key's cache timeouts end before its expiration, so that the kernel
 * never answers for a key past the second it expires; a directory's
 * attributes have a timeout of their own, as its mtime follows changes
 * anywhere below it.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "fs/attr.h"
#include "fs/fs.h"

void kv_to_stat(const struct kv_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = (a->type == KV_DIR ? S_IFDIR : a->type == KV_LINK
		       ? S_IFLNK : S_IFREG) | (a->mode & 07777);
	st->st_nlink = 1;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_atim = a->atime;
	st->st_mtim = a->mtime;
	st->st_ctim = a->ctime;
}

double cache_timeout(double base, const struct kv_attr *a)
{
	struct timespec now;
	double left;

	if (!a->expiration)
		return base;
	clock_gettime(CLOCK_REALTIME, &now);
	/* end a little early: the kernel counts from when the reply lands */
	left = (double)(a->expiration - now.tv_sec) - now.tv_nsec / 1e9 - 0.05;
	return left < 0 ? 0 : left < base ? left : base;
}

double attr_timeout(const struct kvfs *fs, const struct kv_attr *a)
{
	/* a directory's mtime follows changes anywhere below it */
	return cache_timeout(a->type == KV_DIR ? fs->dir_attr_timeout
					       : fs->attr_timeout, a);
}

uint64_t node_gen(const struct kv_attr *a)
{
	return a->type == KV_FILE ? a->gen : 0;
}
