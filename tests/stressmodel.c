/*
 * stressmodel.c - the keys' model of stressload: the record of every
 * operation in shared memory, the values' blocks, and the check of what a
 * read saw against what the operations did when (the rules are at the top
 * of stressload.c).
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

uint64_t stamp(void)
{
	return __atomic_add_fetch(&sh->clock, 1, __ATOMIC_SEQ_CST);
}

void count(enum count c, uint64_t n)
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

void key_path(char *out, size_t n, int k)
{
	if (k < NDDIRS * DKEYS)
		snprintf(out, n, "%s/d%d/k%d", root, k / DKEYS, k % DKEYS);
	else
		snprintf(out, n, "%s/e%d/k%d", root,
			 (k - NDDIRS * DKEYS) / EKEYS,
			 (k - NDDIRS * DKEYS) % EKEYS);
}

bool in_edir(int k)
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
uint32_t op_begin(enum kind kind, int k, int k2, int flags)
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

void op_end(uint32_t id, bool done)
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
char detail[2048];

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

const char *check_value(int k, const unsigned char *v, size_t n,
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

const char *check_absent(int k, uint64_t r0, uint64_t r1)
{
	uint64_t latest = replaced_after(k, r0);

	if (current(0, latest, r1) ||
	    some_current(k, K_RENAME, true, latest, r1) ||
	    some_current(k, K_UNLINK, false, latest, r1))
		return NULL;
	return "absent, but written and not deleted before the read began";
}

/* Say which operations made the value v: its first and last blocks. */
const char *value_ops(char *out, size_t size, const unsigned char *v,
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
void describe_last(char *out, size_t size, int k, uint64_t t1,
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
