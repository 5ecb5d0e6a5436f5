/*
 * crashrec.h - the log format shared by tests/crashrec.c (the recorder
 * loaded into kvfs), tests/crashimg.c (which builds crash images from the
 * log) and tests/powerload.c (the workload, which adds its markers).
 *
 * The log is one file every process appends to with O_APPEND, one
 * write(2) per record, so that a record's place in the file is its
 * sequence number: the order in which the calls returned (a flush gets a
 * record before it starts and one after it returns, so that the writes a
 * flush covers are exactly those recorded before its start).  A record is
 * a struct crec followed by len bytes if it is a CR_WRITE (the bytes
 * written) or a CR_MARK (a marker's text); others have none (len is the
 * length of a mapping, a range).
 */
#ifndef KVFS_CRASHREC_H
#define KVFS_CRASHREC_H

#include <stdint.h>

#define CR_MAGIC	0x43524543u	/* "CERC" */
#define CR_NAME		64

enum cr_type {
	CR_OPEN = 1,	/* name, ino; flags: CR_F_CREATED, CR_F_TRUNC */
	CR_WRITE,	/* ino, off, len bytes follow; CR_F_SYNC if O_(D)SYNC */
	CR_TRUNC,	/* ino, off = the new size */
	CR_FALLOC,	/* ino, off, len; arg = mode */
	CR_FLUSH_BEGIN,	/* ino; arg = which call (enum cr_flush), off = a
			 * token that pairs it with its end in this pid */
	CR_FLUSH_END,	/* ino, off, arg as above; ret = 0 or -errno */
	CR_SYNC_BEGIN,	/* sync(2), syncfs(2): every file */
	CR_SYNC_END,
	CR_RENAME,	/* name -> name2 */
	CR_UNLINK,	/* name */
	CR_MMAP,	/* ino, off, len; arg = prot, ret = flags */
	CR_MARK,	/* len bytes of text follow */
	CR_FAULT,	/* a failure injected: arg = which call, ret = -errno */
};

enum cr_flush {
	CR_FSYNC = 1,
	CR_FDATASYNC,
	CR_MSYNC,
	CR_SYNC_FILE_RANGE,
};

#define CR_F_CREATED	1u
#define CR_F_TRUNC	2u
#define CR_F_SYNC	4u

struct crec {
	uint32_t magic;
	uint32_t type;
	uint64_t ino;
	uint64_t off;
	uint64_t len;
	uint32_t flags;
	uint32_t pid;
	int32_t arg;
	int32_t ret;
	char name[CR_NAME];
	char name2[CR_NAME];
};

static inline uint64_t cr_payload(const struct crec *r)
{
	return r->type == CR_WRITE || r->type == CR_MARK ? r->len : 0;
}

#endif
