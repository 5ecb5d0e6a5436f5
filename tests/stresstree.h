/*
 * stresstree.h - what the directories' model of tests/stressload shares
 * between its processes (stresstree.c) and its check at the end
 * (stresscheck.c): the groups, the entries and their record in shared
 * memory.
 */
#ifndef KVFS_TESTS_STRESSTREE_H
#define KVFS_TESTS_STRESSTREE_H

#include <stddef.h>
#include <stdint.h>

#include "stress.h"

#define GROUPS		3		/* the last made at the start only */
#define STATIC		(GROUPS - 1)
#define NSTATIC		150		/* its files and directories */
#define OWNERS		(TREE_CREATORS + 1)	/* the last: the start */
#define TENTS		(1u << 18)	/* entries a creator makes at most */
#define TLIVE		200		/* entries a creator keeps at most */
#define ID_BASE		1000000u
#define TMAX		4096		/* a file's size at most */

enum { T_NONE, T_CREATING, T_PRESENT, T_DELETING, T_GONE, T_FAILED };
enum { W_TOP, W_SUB };
enum { T_FILE, T_DIR };

struct tent {
	uint8_t group, where, kind, state;
	uint8_t how;			/* made through a path (1) or a fd */
};

/* The counts printed at the end (tcount_names in stresscheck.c). */
enum tcount { TC_RENAME, TC_CREATE, TC_MKDIR, TC_LOOKUP, TC_FIRST,
	      TC_LIST, TC_DELETE, TC_FORGET, TC_N };

struct tshared {
	uint32_t cur[GROUPS];		/* the group's name: 0 a, 1 b */
	uint32_t gen[GROUPS];		/* odd while a rename runs */
	uint32_t broken[GROUPS];	/* a rename failed: renamed no more */
	uint32_t n[OWNERS];	/* entries begun */
	uint32_t live[OWNERS][TLIVE];	/* present entries, 1-based */
	uint64_t counts[TC_N];
	struct tent ent[OWNERS][TENTS];
};

extern struct tshared *ts;
/* A file's bytes as written, and as read back. */
extern unsigned char tbuf[TMAX], tread[TMAX + 1];

/* The id of creator c's entry i. */
uint32_t ent_id(int c, uint32_t i);
/* The size of the file of entry id. */
size_t file_len(uint32_t id);
/* Which name group g has now: 0 for tGa, 1 for tGb. */
int cur_of(int g);
/* Up to 6 names in directory p, each after a space, in out ("" if it
 * cannot be opened). */
void list_some(char *out, size_t size, const char *p);

#endif
