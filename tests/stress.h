/*
 * stress.h - what the parts of tests/stressload share: the keys'
 * operations (stressload.c) and their model (stressmodel.c), and the
 * directories' model (stresstree.c, stresscheck.c) report problems,
 * stamp and make values the same way.
 */
#ifndef KVFS_TESTS_STRESS_H
#define KVFS_TESTS_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The directory the processes work in. */
extern const char *root;

/* Count a problem (the run fails) and print it, the first 3 of its
 * kind and 60 in all. */
void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double now(void);
/* A block of len bytes (header included) made from id, as a value is. */
size_t make_block(unsigned char *out, size_t len, uint32_t id);

/* The directories' model: set up before the processes start, then the
 * processes' loops, then the check of what they left. */
int tree_init(void);
int tree_renamer(unsigned seed, double until);
int tree_worker(int c, unsigned seed, double until);
int tree_forgetter(double until);
/* Check the tree against the model, and write the model to file (if not
 * NULL) for tree_check_file after a remount. */
void tree_check(const char *file);
void tree_check_file(const char *file);
void tree_counts(void);

#define TREE_CREATORS	3

/* The keys' model (stressmodel.c): the keys and what is recorded of the
 * operations on them, in shared memory. */
#define NDDIRS		4
#define DKEYS		8
#define NEDIRS		4
#define EKEYS		4
#define NK		(NDDIRS * DKEYS + NEDIRS * EKEYS)
#define KLOG		16384		/* operations per key */
#define MAXOPS		(1u << 20)
#define VBUF		(8u << 20)	/* a value read back at most */
#define BLOCK_MAGIC	0x4b565342u
#define META		"user.kv.metadata"

enum kind { K_WRITE = 1, K_APPEND, K_UNLINK, K_RENAME, K_META };
/* How a write wrote: through a duplicate of its descriptor, whose
 * original it closed first (as dd and a shell's > do), and nothing (an
 * empty value). */
#define F_DUP		1
#define F_EMPTY		2
enum state { S_RUNNING, S_DONE, S_FAILED };

struct op {
	uint64_t start, end;	/* stamps; end is 0 while running */
	uint64_t opened;	/* a write's stamp after its open, or 0 */
	uint16_t key, key2;	/* key2: a rename's target */
	uint8_t kind, state, flags;
};

struct block {
	uint32_t magic, len;	/* len counts the header */
	uint64_t id;
};

struct shared {
	uint64_t clock;
	uint32_t nops;
	uint32_t full;		/* a log filled up: stop early */
	uint64_t counts[32];
	uint64_t problems, printed;
	uintptr_t kinds[64];	/* the problems' formats, and how many */
	uint32_t kind_n[64];
	uint32_t klog_n[NK];
	uint32_t klog[NK][KLOG];
	struct op ops[MAXOPS];
};

/* The counts printed at the end (count_names in stressload.c). */
enum count { C_READ, C_MAP_READ, C_ABSENT, C_WRITE, C_DUP_WRITE,
	     C_EMPTY_WRITE, C_APPEND, C_UNLINK, C_RENAME, C_STAT, C_LIST,
	     C_META_SET, C_META_GET, C_DIR, C_FSYNC, C_VERIFIED };

extern struct shared *sh;
/* When the run started, for the times in problems. */
extern double started;
/* What a failed check found, to print with it. */
extern char detail[2048];

/* The next stamp of the clock all the processes share. */
uint64_t stamp(void);
void count(enum count c, uint64_t n);
/* The path of key k (0 .. NK - 1) under root. */
void key_path(char *out, size_t n, int k);
/* Is k in one of the directories the processes make and remove? */
bool in_edir(int k);
/* Record an operation about to start, and its end; op_begin returns 0
 * when the record is full. */
uint32_t op_begin(enum kind kind, int k, int k2, int flags);
void op_end(uint32_t id, bool done);
/* Check a value (n bytes at v), or the absence, that a read of key k
 * between stamps r0 and r1 saw: NULL, or the problem (and detail). */
const char *check_value(int k, const unsigned char *v, size_t n,
			uint64_t r0, uint64_t r1);
const char *check_absent(int k, uint64_t r0, uint64_t r1);
/* Say which operations made the value v, in out. */
const char *value_ops(char *out, size_t size, const unsigned char *v,
		      size_t n);
/* Add the last n operations on k that started before t1 to out. */
void describe_last(char *out, size_t size, int k, uint64_t t1,
		   unsigned n);

#endif
