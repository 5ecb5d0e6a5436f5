/*
 * crashload.c - a writer for crash tests, and the check of what it left.
 *
 *   crashload run DIR W SEED LOG   writer W works on DIR/wW/ until an
 *                                  operation fails (the daemon was killed)
 *   crashload check DIR LOG...     "OK" if each writer's subtree is what
 *                                  its acknowledged operations made, or
 *                                  that and the one in flight; else what
 *                                  differs
 *
 * A writer creates, overwrites, appends to, renames, deletes and sets
 * the metadata of keys wW/dD/kK (4 directories of 16 keys), values of 1
 * byte to 64 KiB made from a seed, so that any byte of a value can be
 * checked.  Before each operation it logs "B op args", after it succeeds
 * "E": every E is an operation the filesystem acknowledged, and a B with
 * no E the one the kill interrupted, which may have happened whole or
 * not at all, never in part.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define NDIRS	4
#define NKEYS	16
#define NSLOTS	(NDIRS * NKEYS)
#define VMAX	65536
#define META	"user.kv.metadata"

struct slot {
	bool exists;
	size_t len;
	unsigned char *val;
	char meta[32];		/* "" for none */
};

struct model {
	struct slot s[NSLOTS];
};

static void key_path(char *out, size_t n, const char *dir, int w, int k)
{
	snprintf(out, n, "%s/w%d/d%d/k%d", dir, w, k / NKEYS, k % NKEYS);
}

/* The bytes of a value: a function of its seed and offset. */
static void gen(unsigned char *out, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (unsigned char)('a' + (seed * 31 + i * 7 + i / 251) %
				 26);
}

/* Apply one logged operation to the model. */
static int apply(struct model *m, const char *line)
{
	char op;
	int a, b;
	unsigned seed;
	size_t len;
	struct slot *s;

	if (sscanf(line, "B %c %d", &op, &a) != 2 || a < 0 || a >= NSLOTS)
		return -1;
	s = &m->s[a];
	switch (op) {
	case 'p':	/* put: O_CREAT|O_TRUNC write; keeps metadata */
	case 'a':	/* append */
		if (sscanf(line, "B %c %d %u %zu", &op, &a, &seed, &len) != 4 ||
		    len > VMAX)
			return -1;
		if (op == 'p' || !s->exists) {
			s->len = 0;
			if (!s->exists)
				s->meta[0] = '\0';
		}
		s->val = realloc(s->val, s->len + len + 1);
		gen(s->val + s->len, len, seed);
		s->len += len;
		s->exists = true;
		return 0;
	case 'r':	/* rename a over b */
		if (sscanf(line, "B %c %d %d", &op, &a, &b) != 3 || b < 0 ||
		    b >= NSLOTS || !s->exists)
			return -1;
		if (a == b)
			return 0;
		free(m->s[b].val);
		m->s[b] = *s;
		memset(s, 0, sizeof(*s));
		return 0;
	case 'd':
		free(s->val);
		memset(s, 0, sizeof(*s));
		return 0;
	case 'm':
		if (sscanf(line, "B %c %d %u", &op, &a, &seed) != 3 ||
		    !s->exists)
			return -1;
		snprintf(s->meta, sizeof(s->meta), "{\"n\":%u}", seed);
		return 0;
	}
	return -1;
}

static void model_free(struct model *m)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		free(m->s[i].val);
}

static void model_copy(struct model *to, const struct model *from)
{
	int i;

	*to = *from;
	for (i = 0; i < NSLOTS; i++)
		if (from->s[i].val) {
			to->s[i].val = malloc(from->s[i].len + 1);
			memcpy(to->s[i].val, from->s[i].val, from->s[i].len);
		}
}

/* ---- the writer ---- */

static FILE *logfp;

/* Log the operation about to be tried. */
static void intent(const char *line)
{
	fprintf(logfp, "%s\n", line);
	fflush(logfp);
}

static int put(const char *path, unsigned seed, size_t len, int flags)
{
	static unsigned char buf[VMAX];
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	gen(buf, len, seed);
	n = write(fd, buf, len);
	if (close(fd) < 0 || n != (ssize_t)len)
		return -1;
	return 0;
}

static int run(const char *dir, int w, unsigned seed, const char *logname)
{
	struct model m;
	char p[4096], q[4096];
	unsigned long i;
	int k;

	memset(&m, 0, sizeof(m));
	srandom(seed);
	logfp = fopen(logname, "w");
	if (!logfp)
		return 2;
	snprintf(p, sizeof(p), "%s/w%d", dir, w);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return 1;
	for (k = 0; k < NDIRS; k++) {
		snprintf(p, sizeof(p), "%s/w%d/d%d", dir, w, k);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return 1;
	}
	for (i = 0;; i++) {
		int a = (int)(random() % NSLOTS), b = (int)(random() % NSLOTS);
		unsigned s = (unsigned)random();
		size_t len = random() % 4 ? 1 + random() % 6000
					  : 1 + random() % VMAX;
		int op = (int)(random() % 10), rc;
		char line[128];

		key_path(p, sizeof(p), dir, w, a);
		key_path(q, sizeof(q), dir, w, b);
		if (!m.s[a].exists || op < 3) {
			snprintf(line, sizeof(line), "B p %d %u %zu", a, s,
				 len);
			intent(line);
			rc = put(p, s, len, O_TRUNC);
		} else if (op < 5) {
			len = 1 + len % 4000;
			snprintf(line, sizeof(line), "B a %d %u %zu", a, s,
				 len);
			intent(line);
			rc = put(p, s, len, O_APPEND);
		} else if (op < 7) {
			snprintf(line, sizeof(line), "B r %d %d", a, b);
			intent(line);
			rc = rename(p, q);
		} else if (op < 8) {
			snprintf(line, sizeof(line), "B d %d", a);
			intent(line);
			rc = unlink(p);
		} else {
			char json[32];

			snprintf(json, sizeof(json), "{\"n\":%u}", s);
			snprintf(line, sizeof(line), "B m %d %u", a, s);
			intent(line);
			rc = setxattr(p, META, json, strlen(json), 0);
		}
		if (rc < 0)
			break;	/* the daemon is gone: this one is in flight */
		apply(&m, line);
		fputs("E\n", logfp);
		fflush(logfp);
	}
	fclose(logfp);
	model_free(&m);
	printf("%lu\n", i);
	return 0;
}

/* ---- the check ---- */

/* Does writer w's subtree hold exactly m?  Describe the first difference. */
static bool matches(const char *dir, int w, const struct model *m, char *why,
		    size_t whylen)
{
	static unsigned char buf[VMAX * 64];
	char p[4096], meta[64];
	int k;

	for (k = 0; k < NSLOTS; k++) {
		const struct slot *s = &m->s[k];
		ssize_t n, ml;
		int fd;

		key_path(p, sizeof(p), dir, w, k);
		fd = open(p, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT && !s->exists)
				continue;
			snprintf(why, whylen, "%.300s: %s, expected %s", p,
				 strerror(errno), s->exists ? "a value"
							    : "none");
			return false;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (!s->exists) {
			snprintf(why, whylen, "%.300s: exists, expected none", p);
			return false;
		}
		if (n != (ssize_t)s->len ||
		    (s->len && memcmp(buf, s->val, s->len))) {
			snprintf(why, whylen, "%.300s: %zd bytes differ from the "
				 "%zu expected", p, n, s->len);
			return false;
		}
		ml = getxattr(p, META, meta, sizeof(meta) - 1);
		meta[ml > 0 ? ml : 0] = '\0';
		if (strcmp(meta, s->meta)) {
			snprintf(why, whylen, "%.300s: metadata '%s', expected "
				 "'%s'", p, meta, s->meta);
			return false;
		}
	}
	return true;
}

static int check_one(const char *dir, const char *logname, char *why,
		     size_t whylen, unsigned long *acked)
{
	struct model done, next;
	char line[256], pending[256] = "";
	int w;
	bool ok;
	FILE *f = fopen(logname, "r");
	const char *base = strrchr(logname, '/');

	if (!f || sscanf(base ? base + 1 : logname, "w%d", &w) != 1) {
		snprintf(why, whylen, "%.300s: cannot read", logname);
		return -1;
	}
	memset(&done, 0, sizeof(done));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == 'B') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(pending, sizeof(pending), "%s", line);
		} else if (line[0] == 'E' && pending[0]) {
			if (apply(&done, pending)) {
				snprintf(why, whylen, "bad log line %s",
					 pending);
				fclose(f);
				return -1;
			}
			pending[0] = '\0';
			(*acked)++;
		}
	}
	fclose(f);
	ok = matches(dir, w, &done, why, whylen);
	if (!ok && pending[0]) {
		char why2[512] = "", why3[512] = "";
		int a;

		model_copy(&next, &done);
		ok = apply(&next, pending) == 0 &&
		     matches(dir, w, &next, why2, sizeof(why2));
		model_free(&next);
		/* a put of a new key can stop after its open(O_CREAT): the
		 * key exists, empty, as on any filesystem */
		if (!ok && sscanf(pending, "B p %d", &a) == 1 &&
		    !done.s[a].exists) {
			model_copy(&next, &done);
			next.s[a].exists = true;
			ok = matches(dir, w, &next, why3, sizeof(why3));
			model_free(&next);
		}
		if (!ok) {
			size_t n = strlen(why);

			snprintf(why + n, whylen - n, "; with the operation "
				 "in flight (%.40s): %.200s%s%.200s", pending,
				 why2, why3[0] ? "; created empty: " : "",
				 why3);
		}
	}
	model_free(&done);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "run"))
		return run(argv[2], atoi(argv[3]),
			   (unsigned)strtoul(argv[4], NULL, 10), argv[5]);
	if (argc >= 4 && !strcmp(argv[1], "check")) {
		unsigned long acked = 0;
		char why[2048];
		int i;

		for (i = 3; i < argc; i++)
			if (check_one(argv[2], argv[i], why, sizeof(why),
				      &acked)) {
				printf("%s\n", why);
				return 1;
			}
		printf("OK %lu\n", acked);
		return 0;
	}
	fprintf(stderr, "usage: crashload run DIR W SEED LOG | "
		"check DIR LOG...\n");
	return 2;
}
