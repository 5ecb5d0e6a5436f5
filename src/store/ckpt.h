/*
 * ckpt.h - what the checkpoints (store/checkpoint.c) and the recovery at
 * open (store/recover.c) share: a slot of kvfs.sync, LMDB 0.9's meta page
 * as kvfs copies it, and the helpers reading them.
 *
 * kvfs.sync holds two slots, written in turn: each a checkpoint's
 * sequence number, transaction id, page size, boot id, whether the store
 * closed cleanly there, and a copy of its meta page, checksummed.  Only
 * those two files include this header.
 */
#ifndef KVFS_STORE_CKPT_H
#define KVFS_STORE_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKPT_MAGIC	0x4b56434bu	/* "KCVK" */
#define CKPT_VERSION	1
#define SLOT_SIZE	512
#define META_COPY	256

/* The start of an LMDB 0.9 meta page, after its page header. */
struct lmdb_db {
	uint32_t md_pad;
	uint16_t md_flags, md_depth;
	size_t md_branch_pages, md_leaf_pages, md_overflow_pages, md_entries;
	size_t md_root;
};

struct lmdb_meta {
	uint32_t mm_magic, mm_version;
	void *mm_address;
	size_t mm_mapsize;
	struct lmdb_db mm_dbs[2];
	size_t mm_last_pg;
	size_t mm_txnid;
};

struct slot {
	uint32_t magic, version;
	uint64_t seq, txnid;
	uint32_t psize, clean;
	char boot_id[40];
	unsigned char meta[META_COPY];
	uint64_t sum;
};

/* A checksum of n bytes at p (FNV-1a), as the slots carry. */
uint64_t ckpt_checksum(const void *p, size_t n);

/*
 * The machine's boot id: 0, or -EIO if it cannot be read (out is then
 * empty, which no comparison takes for the same boot).
 */
int ckpt_boot_id(char out[40]);

/* The newest valid slot of kvfs.sync: 0, or -ENOENT if there is none. */
int ckpt_slot_read(int fd, struct slot *out);

/* The LMDB meta at b (a copy of META_COPY bytes), as a struct. */
void ckpt_meta_get(const unsigned char *b, struct lmdb_meta *m);

/*
 * The two meta pages of data.mdb: their LMDB meta, whether each is one
 * (bad[i]), and the newest good one (-1: none).
 */
int ckpt_metas_read(int fd, size_t psize, unsigned char meta[2][META_COPY],
		    bool bad[2]);

#endif
