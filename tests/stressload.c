/*
 * stressload.c - processes doing random operations on one set of keys,
 * with a model that checks every read (fsstress's mix, written here).
 *
 *   stressload DIR SECS PROCS SEED [MODEL]
 *   stressload check DIR MODEL
 *
 * PROCS processes (0: the directories alone) work SECS seconds on the keys DIR/dD/kK (4 directories
 * of 8 keys that stay) and DIR/eD/kK (4 directories of 4 keys, which the
 * processes also make and remove): writes (a third of them as dd and a
 * shell's > write, through a dup of a descriptor opened O_TRUNC whose
 * original is closed first, some writing nothing), appends, reads
 * through read(2) and through a map sized by fstat, deletes, renames
 * (plain and RENAME_NOREPLACE), stats, listings, metadata set and read,
 * fsyncs.  Beside them the processes of stresstree.c rename directories
 * while making and looking up entries in them.  Then one process reads
 * every key again with nothing else running, and the tree is checked
 * against its model, which is written to MODEL for "stressload check"
 * after a remount.  Prints the counts and "OK", or the first problems
 * (which operation, which key, what was expected and what was found),
 * how many of each kind, and exits 1; a process still working 60 s after
 * SECS is reported as hung.
 *
 * A value is a run of blocks, each written whole by one write or append
 * operation: a header (magic, length, the operation's number) and bytes
 * that are a function of that number, so that a torn, mixed or foreign
 * value shows.  Every operation is recorded in shared memory before it
 * starts and when it ends, with stamps of one clock shared by all the
 * processes.  A read that started at r0 and ended at r1 may see a value
 * (or no value) made by an operation C that started before r1, unless
 * another operation on that key started after C ended and ended before
 * r0: then what the read saw was already replaced when it began.  It may
 * see an empty value only if one was written, or a writer that made the
 * key by its open was running: a truncation by O_TRUNC shows with the
 * opener's content, also when the opener closed a duplicate first.  One
 * descriptor gives one value: its fstat (before and after the reads,
 * inode and size), its reads and its map agree, with no SIGBUS.
 */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

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

static struct shared *sh;
const char *root;
static unsigned char *rbuf, *rbuf2, *wbuf;
static double started;

enum count { C_READ, C_MAP_READ, C_ABSENT, C_WRITE, C_DUP_WRITE,
	     C_EMPTY_WRITE, C_APPEND, C_UNLINK, C_RENAME, C_STAT, C_LIST,
	     C_META_SET, C_META_GET, C_DIR, C_FSYNC, C_VERIFIED };
static const char *count_names[] = { "reads", "mapped reads",
	"absent reads", "writes", "writes through a dup",
	"empty writes through a dup", "appends", "deletes", "renames",
	"stats", "listings", "metadata sets", "metadata reads",
	"mkdir/rmdir", "fsyncs", "bytes verified" };

static uint64_t stamp(void)
{
	return __atomic_add_fetch(&sh->clock, 1, __ATOMIC_SEQ_CST);
}

static void count(enum count c, uint64_t n)
{
	__atomic_add_fetch(&sh->counts[c], n, __ATOMIC_RELAXED);
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print the first problems, at most 3 of a kind (of one format) and 60
 * in all, with the time into the run: what went wrong, and how soon. */
void problem(const char *fmt, ...)
{
	uintptr_t f = (uintptr_t)fmt;
	va_list ap;
	int i;

	for (i = 0; i < 63; i++) {
		uintptr_t none = 0;

		if (__atomic_load_n(&sh->kinds[i], __ATOMIC_ACQUIRE) == f ||
		    __atomic_compare_exchange_n(&sh->kinds[i], &none, f, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST) ||
		    none == f)
			break;
	}
	__atomic_add_fetch(&sh->problems, 1, __ATOMIC_SEQ_CST);
	if (__atomic_add_fetch(&sh->kind_n[i], 1, __ATOMIC_SEQ_CST) > 3 ||
	    __atomic_add_fetch(&sh->printed, 1, __ATOMIC_SEQ_CST) > 60)
		return;
	printf("[%.1f s] ", now() - started);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void key_path(char *out, size_t n, int k)
{
	if (k < NDDIRS * DKEYS)
		snprintf(out, n, "%s/d%d/k%d", root, k / DKEYS, k % DKEYS);
	else
		snprintf(out, n, "%s/e%d/k%d", root,
			 (k - NDDIRS * DKEYS) / EKEYS,
			 (k - NDDIRS * DKEYS) % EKEYS);
}

static bool in_edir(int k)
{
	return k >= NDDIRS * DKEYS;
}

/* ---- the record of operations ---- */

static void klog_add(int k, uint32_t id)
{
	uint32_t i = __atomic_fetch_add(&sh->klog_n[k], 1, __ATOMIC_SEQ_CST);

	if (i >= KLOG) {
		sh->full = 1;
		return;
	}
	__atomic_store_n(&sh->klog[k][i], id, __ATOMIC_RELEASE);
}

/* Record an operation about to start; 0 when the record is full. */
static uint32_t op_begin(enum kind kind, int k, int k2, int flags)
{
	uint32_t id = __atomic_add_fetch(&sh->nops, 1, __ATOMIC_SEQ_CST);
	struct op *o;

	if (id >= MAXOPS) {
		sh->full = 1;
		return 0;
	}
	o = &sh->ops[id];
	o->kind = (uint8_t)kind;
	o->key = (uint16_t)k;
	o->key2 = (uint16_t)k2;
	o->flags = (uint8_t)flags;
	o->start = stamp();
	klog_add(k, id);
	if (kind == K_RENAME)
		klog_add(k2, id);
	return id;
}

static void op_end(uint32_t id, bool done)
{
	struct op *o = &sh->ops[id];

	__atomic_store_n(&o->state, done ? S_DONE : S_FAILED, __ATOMIC_SEQ_CST);
	__atomic_store_n(&o->end, stamp(), __ATOMIC_SEQ_CST);
}

/* Does operation id change what key k holds (its value, or whether it
 * has one)?  Metadata does not. */
static bool changes(const struct op *o, int k)
{
	if (o->kind == K_RENAME)
		return o->key == k || o->key2 == k;
	return o->key == k && o->kind != K_META;
}

/*
 * The latest start of an operation that changed key k and ended before
 * stamp r0: a state made by an operation that ended before that start
 * was replaced before a read beginning at r0.
 */
static uint64_t replaced_after(int k, uint64_t r0)
{
	uint32_t n = __atomic_load_n(&sh->klog_n[k], __ATOMIC_ACQUIRE), i;
	uint64_t latest = 0;

	for (i = 0; i < n && i < KLOG; i++) {
		uint32_t w = __atomic_load_n(&sh->klog[k][i], __ATOMIC_ACQUIRE);
		const struct op *o = &sh->ops[w];
		uint64_t end;

		if (!w || !changes(o, k) ||
		    __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != S_DONE)
			continue;
		end = __atomic_load_n(&o->end, __ATOMIC_ACQUIRE);
		if (end && end < r0 && o->start > latest)
			latest = o->start;
	}
	return latest;
}

/*
 * Could a read of a key ending at stamp r1 see the state made by
 * operation c (0: the empty start), given the key's replaced_after()?
 * Not if c started after the read ended, failed, or ended before a
 * change that ended before the read began.
 */
static bool current(uint32_t c, uint64_t latest, uint64_t r1)
{
	const struct op *o = &sh->ops[c];
	uint64_t end;

	if (!c)
		return latest == 0;
	if (o->start > r1 ||
	    __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) == S_FAILED)
		return false;
	end = __atomic_load_n(&o->end, __ATOMIC_ACQUIRE);
	return !end || end > latest;
}

/* Is an operation of kind kind on k (for renames: onto k, or when
 * removed, off k) current? */
static bool some_current(int k, enum kind kind, bool removed,
			 uint64_t latest, uint64_t r1)
{
	uint32_t n = __atomic_load_n(&sh->klog_n[k], __ATOMIC_ACQUIRE), i;

	for (i = 0; i < n && i < KLOG; i++) {
		uint32_t w = __atomic_load_n(&sh->klog[k][i], __ATOMIC_ACQUIRE);
		const struct op *o = &sh->ops[w];

		if (!w || o->kind != kind)
			continue;
		if (kind == K_RENAME && (removed ? o->key : o->key2) != k)
			continue;
		if (current(w, latest, r1))
			return true;
	}
	return false;
}

/* ---- values ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void gen(unsigned char *out, size_t len, uint32_t id)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t v = mix((uint64_t)id << 32 | i);

		memcpy(out + i, &v, len - i < 8 ? len - i : 8);
	}
}

size_t make_block(unsigned char *out, size_t len, uint32_t id)
{
	struct block b = { BLOCK_MAGIC, (uint32_t)len, id };

	memcpy(out, &b, sizeof(b));
	gen(out + sizeof(b), len - sizeof(b), id);
	return len;
}

/*
 * Check a value read of key k: every block whole and made by a write or
 * append that had started, and the state current.  Returns the problem,
 * or NULL.
 */
/*
 * Did renames carry the key that write w opened (key a) to key k while w
 * ran, at most depth of them in a row?  Then its close commits there: a
 * write to an open file follows the file's renames.
 */
static bool carried(uint32_t w, int a, int k, int depth)
{
	uint32_t n = __atomic_load_n(&sh->klog_n[a], __ATOMIC_ACQUIRE), i;
	const struct op *o = &sh->ops[w];
	uint64_t wend = __atomic_load_n(&o->end, __ATOMIC_ACQUIRE);

	for (i = 0; i < n && i < KLOG; i++) {
		uint32_t r = __atomic_load_n(&sh->klog[a][i], __ATOMIC_ACQUIRE);
		const struct op *m = &sh->ops[r];
		uint64_t mend = __atomic_load_n(&m->end, __ATOMIC_ACQUIRE);

		if (!r || m->kind != K_RENAME || m->key != a ||
		    __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == S_FAILED ||
		    (wend && m->start > wend) || (mend && mend < o->start))
			continue;
		if (m->key2 == k ||
		    (depth > 1 && carried(w, m->key2, k, depth - 1)))
			return true;
	}
	return false;
}

/*
 * Did a read of k in [r0, r1] find k's file by name just before a rename
 * moved it to a?  Then, as on a local filesystem, it opened that file,
 * now a, and reads what was written to it there.
 */
static bool followed(int k, int a, uint64_t r0, uint64_t r1)
{
	uint32_t n = __atomic_load_n(&sh->klog_n[k], __ATOMIC_ACQUIRE), i;

	for (i = 0; i < n && i < KLOG; i++) {
		uint32_t r = __atomic_load_n(&sh->klog[k][i], __ATOMIC_ACQUIRE);
		const struct op *m = &sh->ops[r];
		uint64_t mend = __atomic_load_n(&m->end, __ATOMIC_ACQUIRE);

		if (r && m->kind == K_RENAME && m->key == k && m->key2 == a &&
		    __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != S_FAILED &&
		    m->start < r1 && (!mend || mend > r0))
			return true;
	}
	return false;
}

/* Is a write or append, of k or carried to k, running in [r0, r1]? */
static bool writer_running(int k, uint64_t r0, uint64_t r1)
{
	uint32_t n = __atomic_load_n(&sh->nops, __ATOMIC_ACQUIRE), w;

	if (n >= MAXOPS)
		n = MAXOPS - 1;
	for (w = n; w > 0; w--) {
		const struct op *o = &sh->ops[w];
		uint64_t end = __atomic_load_n(&o->end, __ATOMIC_ACQUIRE);

		if (o->kind != K_WRITE && o->kind != K_APPEND)
			continue;
		if (o->start >= r1 || (end && end <= r0))
			continue;
		if (o->key == k || carried(w, o->key, k, 3))
			return true;
	}
	return false;
}

static const char *check_absent(int k, uint64_t r0, uint64_t r1);

/*
 * Could key k read empty in [r0, r1]?  Yes if an empty write of it (or
 * carried to it) is current, or a writer of it (or carried to it) that
 * may have made the key by its open is running: a new key is empty from
 * its creation to its writer's close.  A writer that opened the key as
 * it was (O_TRUNC) does not make it empty, not even through a duplicate
 * of its descriptor whose original it closed: its truncation shows with
 * its content, at its last close.
 */
static bool empty_allowed(int k, uint64_t r0, uint64_t r1)
{
	uint32_t n = __atomic_load_n(&sh->nops, __ATOMIC_ACQUIRE), w;
	uint64_t latest = replaced_after(k, r0);

	/* a rename brought another key's value, as for any value */
	if (some_current(k, K_RENAME, false, latest, r1))
		return true;
	if (n >= MAXOPS)
		n = MAXOPS - 1;
	for (w = n; w > 0; w--) {
		const struct op *o = &sh->ops[w];
		uint64_t end = __atomic_load_n(&o->end, __ATOMIC_ACQUIRE);
		uint64_t opened = __atomic_load_n(&o->opened, __ATOMIC_ACQUIRE);

		if ((o->kind != K_WRITE && o->kind != K_APPEND) ||
		    o->start >= r1)
			continue;
		if (o->flags & F_EMPTY) {
			if (current(w, latest, r1) &&
			    (o->key == k || carried(w, o->key, k, 3)))
				return true;
			continue;
		}
		if (end && end <= r0)
			continue;
		if ((o->key == k || carried(w, o->key, k, 3)) &&
		    !check_absent(o->key, o->start, opened ? opened : r1))
			return true;
	}
	return false;
}

/* What a failed check found, to print with it. */
static char detail[2048];

static const char *kind_names[] = { "?", "write", "append", "unlink",
	"rename", "metadata" };

static void describe_op(char *out, size_t size, const char *what, uint32_t id)
{
	const struct op *o = &sh->ops[id];
	size_t len = strlen(out);

	snprintf(out + len, size - len, " %s op %u (%s%s key %u->%u state %u "
		 "%llu..%llu)", what, id, o->kind < 6 ? kind_names[o->kind] :
		 "?", o->flags & F_EMPTY ? " empty, dup" :
		 o->flags & F_DUP ? " through a dup" : "", o->key, o->key2,
		 __atomic_load_n(&o->state, __ATOMIC_ACQUIRE),
		 (unsigned long long)o->start,
		 (unsigned long long)__atomic_load_n(&o->end,
						     __ATOMIC_ACQUIRE));
}

/* Add the operations on k that started between t0 and t1 to out. */
static void describe_changes(char *out, size_t size, int k, uint64_t t0,
			     uint64_t t1)
{
	uint32_t n = __atomic_load_n(&sh->klog_n[k], __ATOMIC_ACQUIRE), i;

	for (i = 0; i < n && i < KLOG; i++) {
		uint32_t w = __atomic_load_n(&sh->klog[k][i], __ATOMIC_ACQUIRE);

		if (w && sh->ops[w].start > t0 && sh->ops[w].start < t1)
			describe_op(out, size, "then", w);
	}
}

static const char *check_value(int k, const unsigned char *v, size_t n,
			       uint64_t r0, uint64_t r1)
{
	static unsigned char *want;
	uint32_t last = 0;
	uint64_t latest;
	size_t off = 0;

	if (!want && !(want = malloc(VBUF)))
		return "out of memory";
	if (n == 0) {
		/* a new key between its creation and its writer's close */
		uint32_t cnt = __atomic_load_n(&sh->klog_n[k], __ATOMIC_ACQUIRE);
		uint32_t i;

		if (empty_allowed(k, r0, r1))
			return NULL;
		snprintf(detail, sizeof(detail), " (read %llu..%llu)",
			 (unsigned long long)r0, (unsigned long long)r1);
		for (i = cnt > 4 ? cnt - 4 : 0; i < cnt && i < KLOG; i++) {
			const struct op *o = &sh->ops[sh->klog[k][i]];
			uint32_t c2, j;

			describe_op(detail, sizeof(detail), "", sh->klog[k][i]);
			if (o->kind != K_RENAME || o->key2 != k)
				continue;
			/* what the source held: its last operations before */
			c2 = __atomic_load_n(&sh->klog_n[o->key], __ATOMIC_ACQUIRE);
			if (c2 > KLOG)
				c2 = KLOG;
			while (c2 && sh->ops[sh->klog[o->key][c2 - 1]].start >
			       o->start)
				c2--;
			for (j = c2 > 5 ? c2 - 5 : 0; j < c2; j++)
				describe_op(detail, sizeof(detail), "src",
					    sh->klog[o->key][j]);
		}
		return writer_running(k, r0, r1) ?
			"empty, but no empty value was written and the "
			"writers running had opened it existing" :
			"empty, and no writer of it was running";
	}
	while (off < n) {
		struct block b;
		const struct op *o;

		if (n - off < sizeof(b))
			return "a torn block header at the end";
		memcpy(&b, v + off, sizeof(b));
		if (b.magic != BLOCK_MAGIC || b.len < sizeof(b) ||
		    b.len > n - off || b.id == 0 || b.id >= MAXOPS) {
			snprintf(detail, sizeof(detail), " (at %zu: %08x %u "
				 "%llu; read %llu..%llu)", off, b.magic, b.len,
				 (unsigned long long)b.id,
				 (unsigned long long)r0,
				 (unsigned long long)r1);
			if (last)
				describe_op(detail, sizeof(detail), "after",
					    last);
			return "a block header that no writer wrote";
		}
		o = &sh->ops[b.id];
		if ((o->kind != K_WRITE && o->kind != K_APPEND) ||
		    o->start > r1)
			return "a block of an operation that wrote no value";
		gen(want, b.len - sizeof(b), (uint32_t)b.id);
		if (memcmp(v + off + sizeof(b), want, b.len - sizeof(b)))
			return "a block whose bytes differ from what was written";
		last = (uint32_t)b.id;
		off += b.len;
	}
	count(C_VERIFIED, n);
	latest = replaced_after(k, r0);
	if ((sh->ops[last].key == k || carried(last, sh->ops[last].key, k, 3)) &&
	    current(last, latest, r1))
		return NULL;
	if (some_current(k, K_RENAME, false, latest, r1))
		return NULL;
	if (sh->ops[last].start < r1 && followed(k, sh->ops[last].key, r0, r1))
		return NULL;
	snprintf(detail, sizeof(detail), " (read %llu..%llu, replaced at %llu)",
		 (unsigned long long)r0, (unsigned long long)r1,
		 (unsigned long long)latest);
	describe_op(detail, sizeof(detail), "last block of", last);
	describe_changes(detail, sizeof(detail), k, sh->ops[last].start, r1);
	return "a value already replaced when the read began";
}

static const char *check_absent(int k, uint64_t r0, uint64_t r1)
{
	uint64_t latest = replaced_after(k, r0);

	if (current(0, latest, r1) ||
	    some_current(k, K_RENAME, true, latest, r1) ||
	    some_current(k, K_UNLINK, false, latest, r1))
		return NULL;
	return "absent, but written and not deleted before the read began";
}

/* ---- the operations ---- */

static bool allowed(int err, int e1, int e2)
{
	return err == e1 || err == e2;
}

static void unexpected(const char *what, int k, int err)
{
	char p[512];

	key_path(p, sizeof(p), k);
	problem("%s %s: %s", what, p, strerror(err));
}

/* Say which operations made the value v: its first and last blocks. */
static const char *value_ops(char *out, size_t size, const unsigned char *v,
			     size_t n)
{
	uint32_t first = 0, last = 0;
	size_t off = 0;
	int blocks = 0;
	struct block b;

	while (n - off >= sizeof(b)) {
		memcpy(&b, v + off, sizeof(b));
		if (b.magic != BLOCK_MAGIC || b.len < sizeof(b) ||
		    b.len > n - off || !b.id || b.id >= MAXOPS)
			break;
		if (!first)
			first = (uint32_t)b.id;
		last = (uint32_t)b.id;
		blocks++;
		off += b.len;
	}
	snprintf(out, size, " (%d whole blocks, %zu bytes after them;",
		 blocks, n - off);
	if (first)
		describe_op(out, size, "first of", first);
	if (last != first)
		describe_op(out, size, "last of", last);
	snprintf(out + strlen(out), size - strlen(out), ")");
	return out;
}

/* Add the last n operations on k that started before t1 to out. */
static void describe_last(char *out, size_t size, int k, uint64_t t1,
			  unsigned n)
{
	uint32_t cnt = __atomic_load_n(&sh->klog_n[k], __ATOMIC_ACQUIRE), i;
	uint32_t pick[8], got = 0;

	if (cnt > KLOG)
		cnt = KLOG;
	for (i = cnt; i > 0 && got < n && got < 8; i--) {
		uint32_t w = __atomic_load_n(&sh->klog[k][i - 1],
					     __ATOMIC_ACQUIRE);

		if (w && sh->ops[w].start < t1)
			pick[got++] = w;
	}
	while (got > 0)
		describe_op(out, size, "", pick[--got]);
}

/* Open k for reading; 0 when it is absent (and that was checked). */
static int open_to_read(int k, const char *p, uint64_t r0)
{
	const char *why;
	uint64_t r1;
	int fd = open(p, O_RDONLY);

	if (fd >= 0)
		return fd;
	r1 = stamp();
	if (errno != ENOENT) {
		unexpected("open", k, errno);
		return -1;
	}
	if ((why = check_absent(k, r0, r1))) {
		snprintf(detail, sizeof(detail), " (read %llu..%llu)",
			 (unsigned long long)r0, (unsigned long long)r1);
		describe_last(detail, sizeof(detail), k, r1, 4);
		problem("read %s: %s%s", p, why, detail);
	}
	count(C_ABSENT, 1);
	return -1;
}

/* Read k; what the descriptor reads and its fstat say one value. */
static void do_read(int k)
{
	char p[512], ops[512];
	uint64_t r0, r1;
	const char *why;
	struct stat st, st2;
	size_t n = 0;
	ssize_t got = 0;
	int fd;

	key_path(p, sizeof(p), k);
	r0 = stamp();
	if ((fd = open_to_read(k, p, r0)) < 0)
		return;
	if (fstat(fd, &st) < 0) {
		unexpected("fstat", k, errno);
		st.st_size = -1;
	}
	while (n < VBUF && (got = read(fd, rbuf + n, VBUF - n)) > 0)
		n += (size_t)got;
	if (got < 0)
		unexpected("read", k, errno);
	/* the open file keeps its own inode and size, whatever its key
	 * went through meanwhile (held open a little longer, now and then,
	 * for a rename over it or a delete to come) */
	if (rand() % 4 == 0)
		usleep(2000);
	if (fstat(fd, &st2) < 0)
		problem("read %s: fstat after the reads: %s (the first gave "
			"inode %llu)", p, strerror(errno),
			(unsigned long long)st.st_ino);
	else if (st.st_size >= 0 && (st2.st_ino != st.st_ino ||
				     st2.st_size != st.st_size))
		problem("read %s: fstat of one descriptor gave inode %llu "
			"size %lld, then inode %llu size %lld", p,
			(unsigned long long)st.st_ino, (long long)st.st_size,
			(unsigned long long)st2.st_ino,
			(long long)st2.st_size);
	close(fd);
	r1 = stamp();
	if (got >= 0 && (why = check_value(k, rbuf, n, r0, r1)))
		problem("read %s: %zu bytes: %s%s", p, n, why, detail);
	else if (got >= 0 && st.st_size >= 0 && (size_t)st.st_size != n)
		problem("read %s: fstat of the reader's descriptor gives %lld "
			"bytes, its reads %zu%s", p, (long long)st.st_size, n,
			value_ops(ops, sizeof(ops), rbuf, n));
	count(C_READ, 1);
}

static sigjmp_buf bus_env;
static volatile sig_atomic_t in_map;

static void on_sigbus(int sig)
{
	if (in_map)
		siglongjmp(bus_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Copy a map of size bytes to out; false on a SIGBUS, *done the bytes
 * copied before it. */
static bool copy_map(unsigned char *out, const unsigned char *map,
		     size_t size, volatile size_t *done)
{
	if (sigsetjmp(bus_env, 1)) {
		in_map = 0;
		return false;
	}
	in_map = 1;
	while (*done < size) {
		size_t c = size - *done < 4096 ? size - *done : 4096;

		memcpy(out + *done, map + *done, c);
		*done += c;
	}
	in_map = 0;
	return true;
}

/*
 * Read k through a map sized by fstat (shared, or private where kvfs
 * reads around the page cache), then through read(2) on the same
 * descriptor: no SIGBUS, both the same bytes, and those a value the
 * model allows.
 */
static void do_map_read(int k)
{
	char p[512], ops[512], ops2[512];
	volatile size_t done = 0;
	uint64_t r0, r1;
	const char *why;
	unsigned char *map;
	struct stat st;
	size_t size, n = 0;
	ssize_t got = 0;
	int fd;

	key_path(p, sizeof(p), k);
	r0 = stamp();
	if ((fd = open_to_read(k, p, r0)) < 0)
		return;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > VBUF) {
		unexpected("fstat", k, errno);
		close(fd);
		return;
	}
	size = (size_t)st.st_size;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED && errno == ENODEV)
			map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			unexpected("mmap", k, errno);
			close(fd);
			return;
		}
		if (!copy_map(rbuf, map, size, &done)) {
			problem("mapped read %s: SIGBUS at byte %zu of the %zu "
				"that fstat gave%s", p, done, size,
				value_ops(ops, sizeof(ops), rbuf, done));
			munmap(map, size);
			close(fd);
			return;
		}
		munmap(map, size);
	}
	while (n < VBUF &&
	       (got = pread(fd, rbuf2 + n, VBUF - n, (off_t)n)) > 0)
		n += (size_t)got;
	if (got < 0)
		unexpected("read after mmap", k, errno);
	close(fd);
	r1 = stamp();
	if ((why = check_value(k, rbuf, size, r0, r1)))
		problem("mapped read %s: %zu bytes (fstat): %s%s", p, size,
			why, detail);
	else if (got >= 0 && (n != size || memcmp(rbuf, rbuf2, n)))
		problem("mapped read %s: the map of %zu bytes (fstat) and the "
			"%zu bytes read(2) gives on one descriptor differ; "
			"map:%s read:%s", p, size, n,
			value_ops(ops, sizeof(ops), rbuf, size),
			value_ops(ops2, sizeof(ops2), rbuf2, n));
	count(C_MAP_READ, 1);
}

static size_t value_size(void)
{
	int r = rand() % 100;

	if (r < 80)
		return 17 + (size_t)(rand() % 2000);
	if (r < 96)
		return 2048 + (size_t)(rand() % 62000);
	return 140000 + (size_t)(rand() % 260000);	/* staged in a file */
}

/*
 * Write k (a new value, or an append): one open, writes in chunks,
 * sometimes an fsync, one close; or, as dd and a shell's > do, an open
 * with O_TRUNC, a dup, a close of the original and the writes through the
 * duplicate, sometimes none (an empty value).
 */
static void do_write(int k, bool append)
{
	char p[512];
	size_t len = append ? 17 + (size_t)(rand() % 3000) : value_size();
	size_t off = 0;
	uint32_t id;
	int fd, err = 0, flags = 0;
	struct stat st;

	if (!append && rand() % 3 == 0)
		flags = rand() % 20 ? F_DUP : F_DUP | F_EMPTY;
	if (flags & F_EMPTY)
		len = 0;

	key_path(p, sizeof(p), k);
	if (append && stat(p, &st) == 0 && st.st_size > (1 << 20))
		append = false;	/* keep values small enough to check */
	id = op_begin(append ? K_APPEND : K_WRITE, k, 0, flags);
	if (!id)
		return;
	if (len)
		make_block(wbuf, len, id);
	fd = open(p, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
		  0644);
	if (fd < 0) {
		err = errno;
		op_end(id, false);
		if (!(err == ENOENT && in_edir(k)))
			unexpected("open for writing", k, err);
		return;
	}
	__atomic_store_n(&sh->ops[id].opened, stamp(), __ATOMIC_SEQ_CST);
	if (flags & F_DUP) {
		int d = dup(fd);

		if (d < 0 || close(fd) < 0)
			err = errno;
		fd = d < 0 ? fd : d;
	}
	while (off < len && !err) {
		size_t chunk = 1 + rand() % 65536;
		ssize_t w = write(fd, wbuf + off,
				  chunk < len - off ? chunk : len - off);

		if (w < 0)
			err = errno;
		else
			off += (size_t)w;
	}
	if (!err && rand() % 50 == 0) {
		if (fsync(fd) < 0)
			err = errno;
		count(C_FSYNC, 1);
	}
	/* the descriptor keeps its file, also if the key was deleted or
	 * renamed over meanwhile */
	if (!err && rand() % 10 == 0 && fchmod(fd, 0644) < 0)
		problem("fchmod of the writer of %s (op %u): %s", p, id,
			strerror(errno));
	if (close(fd) < 0 && !err)
		err = errno;
	op_end(id, !err);
	if (err)
		unexpected(append ? "append" : "write", k, err);
	count(append ? C_APPEND : flags & F_EMPTY ? C_EMPTY_WRITE :
	      flags & F_DUP ? C_DUP_WRITE : C_WRITE, 1);
}

static void do_unlink(int k)
{
	char p[512];
	uint32_t id = op_begin(K_UNLINK, k, 0, 0);
	int rc;

	if (!id)
		return;
	key_path(p, sizeof(p), k);
	rc = unlink(p);
	op_end(id, rc == 0);
	if (rc < 0 && errno != ENOENT)
		unexpected("unlink", k, errno);
	count(C_UNLINK, 1);
}

static void do_rename(int a, int b, bool noreplace)
{
	char p[512], q[512];
	uint32_t id;
	int rc;

	if (a == b)
		return;
	key_path(p, sizeof(p), a);
	key_path(q, sizeof(q), b);
	if (!(id = op_begin(K_RENAME, a, b, 0)))
		return;
	rc = renameat2(AT_FDCWD, p, AT_FDCWD, q,
		       noreplace ? RENAME_NOREPLACE : 0);
	op_end(id, rc == 0);
	if (rc < 0 && !allowed(errno, ENOENT, noreplace ? EEXIST : ENOENT))
		unexpected("rename", a, errno);
	count(C_RENAME, 1);
}

static void do_stat(int k)
{
	char p[512];
	struct stat st;

	key_path(p, sizeof(p), k);
	if (stat(p, &st) < 0) {
		if (errno != ENOENT)
			unexpected("stat", k, errno);
	} else if (!S_ISREG(st.st_mode)) {
		problem("stat %s: not a regular file", p);
	}
	count(C_STAT, 1);
}

static void do_list(int d)
{
	char p[512];
	struct dirent *e;
	DIR *dir;
	int max = d < NDDIRS ? DKEYS : EKEYS;

	snprintf(p, sizeof(p), "%s/%c%d", root, d < NDDIRS ? 'd' : 'e',
		 d % NDDIRS);
	if (!(dir = opendir(p))) {
		if (!(errno == ENOENT && d >= NDDIRS))
			problem("opendir %s: %s", p, strerror(errno));
		return;
	}
	while ((e = readdir(dir))) {
		int i;
		char tail;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (sscanf(e->d_name, "k%d%c", &i, &tail) != 1 || i < 0 ||
		    i >= max)
			problem("%s lists \"%s\", which no one made", p,
				e->d_name);
	}
	closedir(dir);
	count(C_LIST, 1);
}

static void do_meta_set(int k)
{
	char p[512], json[32];
	uint32_t id = op_begin(K_META, k, 0, 0);
	int rc;

	if (!id)
		return;
	key_path(p, sizeof(p), k);
	snprintf(json, sizeof(json), "{\"op\":%u}", id);
	rc = setxattr(p, META, json, strlen(json), 0);
	op_end(id, rc == 0);
	if (rc < 0 && errno != ENOENT)
		unexpected("setxattr", k, errno);
	count(C_META_SET, 1);
}

static void do_meta_get(int k)
{
	char p[512], json[64];
	uint64_t r1;
	ssize_t n;
	unsigned id;
	int end = 0;

	key_path(p, sizeof(p), k);
	n = getxattr(p, META, json, sizeof(json) - 1);
	r1 = stamp();
	if (n < 0) {
		if (!allowed(errno, ENOENT, ENODATA))
			unexpected("getxattr", k, errno);
		return;
	}
	json[n] = '\0';
	if (sscanf(json, "{\"op\":%u}%n", &id, &end) != 1 || end != n ||
	    !id || id >= MAXOPS || sh->ops[id].kind != K_META ||
	    sh->ops[id].start > r1)
		problem("getxattr %s: \"%s\", which no one set", p, json);
	count(C_META_GET, 1);
}

static void do_dir(int d)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/e%d", root, d);
	if (rand() % 2) {
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			problem("mkdir %s: %s", p, strerror(errno));
	} else if (rmdir(p) < 0 && !allowed(errno, ENOENT, ENOTEMPTY)) {
		problem("rmdir %s: %s", p, strerror(errno));
	}
	count(C_DIR, 1);
}

static void one_op(void)
{
	int r = rand() % 100, k = rand() % NK;

	if (r < 20)
		do_read(k);
	else if (r < 28)
		do_map_read(k);
	else if (r < 44)
		do_write(k, false);
	else if (r < 54)
		do_write(k, true);
	else if (r < 61)
		do_unlink(k);
	else if (r < 69)
		do_rename(k, rand() % NK, false);
	else if (r < 72)
		do_rename(k, rand() % NK, true);
	else if (r < 80)
		do_stat(k);
	else if (r < 84)
		do_list(rand() % (NDDIRS + NEDIRS));
	else if (r < 90)
		do_meta_set(k);
	else if (r < 97)
		do_meta_get(k);
	else
		do_dir(rand() % NEDIRS);
}

static int worker(unsigned seed, double until)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	sigaction(SIGBUS, &sa, NULL);
	srand(seed);
	while (now() < until && !sh->full)
		one_op();
	return 0;
}

static int setup(void)
{
	char p[512];
	int d;

	for (d = 0; d < NDDIRS + NEDIRS; d++) {
		snprintf(p, sizeof(p), "%s/%c%d", root, d < NDDIRS ? 'd' : 'e',
			 d % NDDIRS);
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			perror(p);
			return -1;
		}
	}
	return 0;
}

/* Wait for the workers; report any still running 60 s after the end. */
static int reap(pid_t *pids, int n, double until)
{
	int left = n, i, status, rc = 0;

	while (left) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				problem("worker %d ended with status 0x%x",
					(int)pid, status);
			for (i = 0; i < n; i++)
				if (pids[i] == pid)
					pids[i] = 0;
			continue;
		}
		if (now() > until + 60) {
			for (i = 0; i < n; i++)
				if (pids[i]) {
					problem("worker %d hung", (int)pids[i]);
					kill(pids[i], SIGKILL);
				}
			rc = -1;
			break;
		}
		usleep(20000);
	}
	return rc;
}

/* How many problems of each kind (the start of its message). */
static void print_kinds(void)
{
	int i;

	printf("%llu problems:\n", (unsigned long long)sh->problems);
	for (i = 0; i < 64 && sh->kinds[i]; i++)
		printf("  %u of \"%.50s\"\n", sh->kind_n[i],
		       (const char *)sh->kinds[i]);
	printf("PROBLEMS\n");
}

static void *shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	double secs, until;
	int procs, nproc, i, k;
	unsigned seed;
	pid_t *pids;

	started = now();
	if (argc == 4 && !strcmp(argv[1], "check")) {
		/* after a remount: the tree as the model file says */
		root = argv[2];
		if (!(sh = shared_map(sizeof(*sh))))
			return 2;
		tree_check_file(argv[3]);
		if (sh->problems)
			print_kinds();
		else
			printf("OK\n");
		return sh->problems ? 1 : 0;
	}
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: stressload DIR SECS PROCS SEED [MODEL]\n"
			"       stressload check DIR MODEL\n");
		return 2;
	}
	root = argv[1];
	secs = atof(argv[2]);
	procs = atoi(argv[3]);
	seed = (unsigned)strtoul(argv[4], NULL, 10);
	nproc = procs + 2 + TREE_CREATORS;
	sh = shared_map(sizeof(*sh));
	rbuf = malloc(VBUF);
	rbuf2 = malloc(VBUF);
	wbuf = malloc(VBUF);
	pids = calloc((size_t)nproc, sizeof(*pids));
	if (!sh || !rbuf || !rbuf2 || !wbuf || !pids || procs < 0 ||
	    setup() < 0 || tree_init() < 0)
		return 2;
	until = now() + secs;
	for (i = 0; i < nproc; i++) {
		unsigned s = seed * 1000 + (unsigned)i;

		if ((pids[i] = fork()) < 0)
			return 2;
		if (pids[i] == 0)
			_exit(i < procs ? worker(s, until) :
			      i == procs ? tree_renamer(s, until) :
			      i == procs + 1 ? tree_forgetter(until) :
			      tree_worker(i - procs - 2, s, until));
	}
	if (reap(pids, nproc, until) == 0) {
		for (k = 0; k < NK && procs; k++)	/* alone now: all current */
			do_read(k);
		tree_check(argc == 6 ? argv[5] : NULL);
	}
	if (sh->full)
		printf("the record filled: stopped early\n");
	printf("%u operations:", sh->nops);
	for (i = 0; i <= C_VERIFIED; i++)
		printf("%s %llu %s", i ? "," : "",
		       (unsigned long long)sh->counts[i], count_names[i]);
	printf("\n");
	tree_counts();
	if (sh->problems)
		print_kinds();
	else
		printf("OK\n");
	fflush(stdout);
	free(pids);
	free(rbuf);
	free(rbuf2);
	free(wbuf);
	return sh->problems ? 1 : 0;
}
