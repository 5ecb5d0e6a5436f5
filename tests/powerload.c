/*
 * powerload.c - the workload of the power-loss harness, its markers, and
 * the check of a mounted crash image against what the workload did.
 *
 *   powerload run DIR LOG SEED OPS MIX  OPS operations on DIR/k0..k63,
 *                                       each logged in LOG (crashrec.h)
 *   powerload mark LOG TEXT...          add a marker to LOG
 *   powerload flush-failed LOG          add a failed flush of kvfs.sync to
 *                                       LOG, as the recorder logs one
 *   powerload check DIR LOG CUT MODE    does DIR hold what the records
 *                                       before CUT promise?  MODE power:
 *                                       what fsync or a clean
 *                                       unmount ("A umount" with no
 *                                       failed flush since the mount:
 *                                       kvfs then marks it unclean) made
 *                                       durable (also after a kill -9
 *                                       then a reboot, "A reboot": kvfs
 *                                       goes back to its last
 *                                       checkpoint); MODE acked: every
 *                                       acknowledged operation (kill -9,
 *                                       same boot); a mount in a new boot
 *                                       after an unclean end went back to
 *                                       kvfs's checkpoint: any content
 *                                       from the durable one on
 *
 * The workload creates, overwrites, renames and deletes keys, fsyncs
 * some and sets short expirations on others (slots EXP_FIRST and up,
 * which may be absent at any time), with values of 64 B to 5 MiB (MIX:
 * small, up to 6 KiB; mixed, 8% of 1 to 5 MiB and 22% of 4 to 300 KiB;
 * large, 40% of 1 to 3 MiB; with "+nosync", no fsync).  Every value is
 * self-describing: "pl VERSION LENGTH\n" then bytes made from the
 * version, so that any value read can be told apart from every other one
 * and checked byte for byte.  Each operation is logged as a marker
 * "B id op args" before it and "E id" (or "F id errno") after it, in the
 * same log as the daemon's writes, so that a cut of the log says exactly
 * which operations had returned.
 *
 * The check replays the markers before CUT into a model: for each key
 * the list of contents it went through (a version, empty, absent), and
 * the first of them it may still hold (the one durable; or, in MODE
 * acked, the last acknowledged).  Every key must hold one of the
 * contents from that one on, and no other name may exist.  An operation
 * that failed may have changed nothing or anything it set out to do, so
 * a rename moves every content the source may hold since its last
 * acknowledged one; a put of a key with an expiration may first create
 * it empty (it may have expired).
 */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crashrec.h"

#define NSLOTS		64
#define EXP_FIRST	56	/* slots that get short expirations */
#define V_ABSENT	0ull
#define V_EMPTY		1ull	/* created by open(O_CREAT), not yet written */
#define HDR_MAX		64

static int logfd = -1;

static void mark(const char *text)
{
	struct crec r;
	struct iovec iov[2];

	memset(&r, 0, sizeof(r));
	r.magic = CR_MAGIC;
	r.type = CR_MARK;
	r.pid = (uint32_t)getpid();
	r.len = strlen(text);
	iov[0].iov_base = &r;
	iov[0].iov_len = sizeof(r);
	iov[1].iov_base = (void *)text;
	iov[1].iov_len = r.len;
	if (writev(logfd, iov, 2) != (ssize_t)(sizeof(r) + r.len)) {
		perror("powerload: log");
		exit(2);
	}
}

/* Log a failed fdatasync of kvfs.sync, as the recorder logs one. */
static void flush_failed(void)
{
	struct crec r;

	memset(&r, 0, sizeof(r));
	r.magic = CR_MAGIC;
	r.type = CR_FLUSH_END;
	r.pid = (uint32_t)getpid();
	r.arg = CR_FDATASYNC;
	r.ret = -EIO;
	snprintf(r.name, sizeof(r.name), "kvfs.sync");
	if (write(logfd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		perror("powerload: log");
		exit(2);
	}
}

/* The bytes of version ver, length len. */
static void gen(unsigned char *out, size_t len, uint64_t ver)
{
	size_t i, h;

	h = (size_t)snprintf((char *)out, len < HDR_MAX ? len : HDR_MAX,
			     "pl %llu %zu\n", (unsigned long long)ver, len);
	if (len < HDR_MAX && h >= len)
		h = len;
	for (i = h; i < len; i++)
		out[i] = (unsigned char)('a' + (ver * 31 + i * 7 + i / 509) %
				 26);
}

static void key_path(char *out, size_t n, const char *dir, int k)
{
	snprintf(out, n, "%s/k%d", dir, k);
}

/* ---- the workload ---- */

static unsigned char *buf;

static int put(const char *path, uint64_t ver, size_t len)
{
	size_t done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	gen(buf, len, ver);
	while (done < len) {
		size_t n = len - done > (1 << 20) ? (1 << 20) : len - done;
		ssize_t w = write(fd, buf + done, n);

		if (w <= 0) {
			int err = w < 0 ? errno : EIO;

			close(fd);
			return -err;
		}
		done += (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int sync_key(const char *path)
{
	int fd = open(path, O_RDONLY), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static size_t value_len(const char *mix)
{
	long r = random() % 100;
	bool large = !strncmp(mix, "large", 5);

	if (large && r < 40)
		return (1 << 20) + (size_t)random() % (2 << 20);
	if (!strncmp(mix, "mixed", 5) && r >= 92)
		return (1 << 20) + (size_t)random() % (4 << 20);
	if (!strncmp(mix, "small", 5) || r < 70)
		return HDR_MAX + (size_t)random() % 6000;
	return 4096 + (size_t)random() % 300000;
}

static int run(const char *dir, uint64_t seed, long ops, const char *mix)
{
	bool exists[NSLOTS] = { false };
	char p[4096], q[4096], line[256];
	uint64_t ver = seed * 1000000 + 2;
	DIR *d;
	struct dirent *de;
	long i, nok = 0;
	bool nosync = strstr(mix, "+nosync") != NULL;

	buf = malloc(6 << 20);
	if (!buf)
		return 2;
	srandom((unsigned)seed);
	/* the keys there already (this log's earlier runs made them) */
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] == 'k' && atoi(de->d_name + 1) < NSLOTS)
			exists[atoi(de->d_name + 1)] = true;
	if (d)
		closedir(d);
	for (i = 0; i < ops; i++) {
		int a = (int)(random() % NSLOTS), b = (int)(random() % NSLOTS);
		int op = (int)(random() % 20), rc;
		size_t len = value_len(mix);
		uint64_t id = seed * 1000000 + (uint64_t)i;

		key_path(p, sizeof(p), dir, a);
		key_path(q, sizeof(q), dir, b);
		if (!exists[a] || op < 9) {
			ver++;
			snprintf(line, sizeof(line), "B %llu put %d %llu %zu",
				 (unsigned long long)id, a,
				 (unsigned long long)ver, len);
			mark(line);
			rc = put(p, ver, len);
			if (!rc && a >= EXP_FIRST) {
				char ttl[] = "1";

				rc = setxattr(p, "user.kv.expiration_ttl", ttl,
					      1, 0) < 0 ? -errno : 0;
			}
			if (!rc)
				exists[a] = true;
		} else if (op < 12 && a != b && b < EXP_FIRST &&
			   a < EXP_FIRST) {
			snprintf(line, sizeof(line), "B %llu ren %d %d",
				 (unsigned long long)id, a, b);
			mark(line);
			rc = rename(p, q) < 0 ? -errno : 0;
			if (!rc) {
				exists[b] = true;
				exists[a] = false;
			}
		} else if (op < 15) {
			snprintf(line, sizeof(line), "B %llu del %d",
				 (unsigned long long)id, a);
			mark(line);
			rc = unlink(p) < 0 ? -errno : 0;
			if (!rc || rc == -ENOENT)
				exists[a] = false;
		} else if (nosync) {
			continue;
		} else {
			snprintf(line, sizeof(line), "B %llu fsync %d",
				 (unsigned long long)id, a);
			mark(line);
			rc = sync_key(p);
			if (rc == -ENOENT)
				exists[a] = false;
		}
		if (rc)
			snprintf(line, sizeof(line), "F %llu %d",
				 (unsigned long long)id, -rc);
		else
			snprintf(line, sizeof(line), "E %llu",
				 (unsigned long long)id);
		mark(line);
		if (!rc)
			nok++;
		else if (rc == -ENOTCONN || rc == -ECONNABORTED)
			break;	/* the daemon is gone */
	}
	printf("%ld\n", nok);
	free(buf);
	return 0;
}

/* ---- the model ---- */

struct slot {
	uint64_t *v;		/* contents in order: versions, V_EMPTY, V_ABSENT */
	size_t n, cap;
	size_t first;		/* the first it may still hold */
	size_t acked;		/* the last acknowledged */
};

struct model {
	struct slot s[NSLOTS];
	char op[256];		/* the operation in flight */
	size_t moved;		/* where a rename in flight put its source's
				 * contents in the target's list */
};

static void push(struct slot *s, uint64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			abort();
	}
	s->v[s->n++] = v;
}

static uint64_t current(const struct slot *s)
{
	return s->v[s->n - 1];
}

static void begin(struct model *m, const char *line)
{
	unsigned long long id, ver;
	int a, b;
	size_t len;

	snprintf(m->op, sizeof(m->op), "%.255s", line);
	if (sscanf(line, "B %llu put %d %llu %zu", &id, &a, &ver, &len) == 4 &&
	    a >= 0 && a < NSLOTS) {
		/* a key with an expiration may have gone: the open then
		 * creates it, empty */
		if (current(&m->s[a]) == V_ABSENT || a >= EXP_FIRST)
			push(&m->s[a], V_EMPTY);
		push(&m->s[a], ver);
	} else if (sscanf(line, "B %llu ren %d %d", &id, &a, &b) == 3 &&
		   a >= 0 && a < NSLOTS && b >= 0 && b < NSLOTS && a != b) {
		size_t i;

		/* the target gets whatever the source may hold: its last
		 * acknowledged contents, or any an operation that failed
		 * since may have left (a failed operation may have changed
		 * nothing) */
		m->moved = m->s[b].n;
		for (i = m->s[a].acked; i < m->s[a].n; i++)
			push(&m->s[b], m->s[a].v[i]);
		push(&m->s[a], V_ABSENT);
	} else if (sscanf(line, "B %llu del %d", &id, &a) == 2 && a >= 0 &&
		   a < NSLOTS) {
		push(&m->s[a], V_ABSENT);
	}
}

/* The operation in flight returned (ok) or failed. */
static void end(struct model *m, bool ok)
{
	unsigned long long id;
	int a, b;

	if (!ok && sscanf(m->op, "B %llu put %d", &id, &a) == 2) {
		/* a failed write may still be committed, truncated, by the
		 * close: a value the key had */
		push(&m->s[a], V_EMPTY);
	}
	if (!ok || !m->op[0]) {
		m->op[0] = '\0';
		return;
	}
	if (sscanf(m->op, "B %llu ren %d %d", &id, &a, &b) == 3) {
		m->s[a].acked = m->s[a].n - 1;
		m->s[b].acked = m->moved;
	} else if (sscanf(m->op, "B %llu fsync %d", &id, &a) == 2) {
		m->s[a].first = m->s[a].acked;
	} else if (sscanf(m->op, "B %llu %*s %d", &id, &a) == 2) {
		m->s[a].acked = m->s[a].n - 1;
	}
	m->op[0] = '\0';
}

/* Everything acknowledged so far is durable. */
static void all_durable(struct model *m)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		m->s[i].first = m->s[i].acked;
}

/*
 * A mount in a new boot after an unclean end (a kill -9, or an unmount
 * after a failed flush): kvfs went back to its last checkpoint, somewhere
 * between what was durable and what was acknowledged, and each key may
 * hold any of its contents from the durable one on, for the operations
 * that follow to build on.  After a clean end the two are the same.
 */
static void rolled_back(struct model *m)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		m->s[i].acked = m->s[i].first;
}

static int model_load(struct model *m, const char *logname, long cut,
		      bool acked)
{
	char boot[4096] = "";
	struct crec r;
	char text[4096];
	long n = 0;
	int i;
	bool broken = false;	/* a flush failed since the last mount */
	FILE *f = fopen(logname, "r");

	if (!f)
		return -1;
	memset(m, 0, sizeof(*m));
	for (i = 0; i < NSLOTS; i++)
		push(&m->s[i], V_ABSENT);
	while (n < cut && fread(&r, sizeof(r), 1, f) == 1) {
		n++;
		if (r.magic != CR_MAGIC) {
			fclose(f);
			return -1;
		}
		if (r.type == CR_FLUSH_END && r.ret < 0)
			broken = true;
		if (r.type != CR_MARK) {
			fseeko(f, (off_t)cr_payload(&r), SEEK_CUR);
			continue;
		}
		if (r.len >= sizeof(text) ||
		    fread(text, 1, r.len, f) != r.len)
			break;
		text[r.len] = '\0';
		if (text[0] == 'B')
			begin(m, text);
		else if (text[0] == 'E')
			end(m, true);
		else if (text[0] == 'F')
			end(m, false);
		else if (!strncmp(text, "MOUNT ", 6)) {
			if (boot[0] && strcmp(boot, text + 6))
				rolled_back(m);
			snprintf(boot, sizeof(boot), "%s", text + 6);
			broken = false;
		}
		else if (!strcmp(text, "A umount") && !broken)
			/* after a failed flush the unmount is not clean */
			all_durable(m);
	}
	fclose(f);
	if (acked)
		all_durable(m);
	return 0;
}

/* ---- the check ---- */

static bool allowed(const struct slot *s, int k, uint64_t v)
{
	size_t i;

	if (v == V_ABSENT && k >= EXP_FIRST)
		return true;	/* it may have expired */
	for (i = s->first; i < s->n; i++)
		if (s->v[i] == v)
			return true;
	return false;
}

static void describe(const struct slot *s, char *out, size_t n)
{
	size_t i, o = 0;

	o += (size_t)snprintf(out + o, n - o, "allowed");
	for (i = s->first; i < s->n && o < n - 24; i++)
		o += (size_t)snprintf(out + o, n - o, " %s%llu",
				      s->v[i] == V_ABSENT ? "absent/" :
				      s->v[i] == V_EMPTY ? "empty/" : "",
				      (unsigned long long)s->v[i]);
	if (s->first > 0)
		snprintf(out + o, n - o, " (before: %llu)",
			 (unsigned long long)s->v[s->first - 1]);
}

/* What key k holds: a version, V_EMPTY, V_ABSENT; or 1 with why set. */
static int read_key(const char *path, uint64_t *v, char *why, size_t n)
{
	static unsigned char *got, *want;
	unsigned long long ver;
	size_t len, done = 0;
	struct stat sb;
	int fd;

	if (!got) {
		got = malloc(8 << 20);
		want = malloc(8 << 20);
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT) {
			*v = V_ABSENT;
			return 0;
		}
		snprintf(why, n, "open: %s", strerror(errno));
		return 1;
	}
	if (fstat(fd, &sb) < 0 || sb.st_size > (8 << 20)) {
		snprintf(why, n, "fstat: %s, size %lld", strerror(errno),
			 (long long)sb.st_size);
		close(fd);
		return 1;
	}
	for (;;) {
		ssize_t r = read(fd, got + done, (8 << 20) - done);

		if (r < 0) {
			snprintf(why, n, "read at %zu: %s", done,
				 strerror(errno));
			close(fd);
			return 1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	if (done != (size_t)sb.st_size) {
		snprintf(why, n, "read %zu bytes, stat says %lld", done,
			 (long long)sb.st_size);
		return 1;
	}
	if (!done) {
		*v = V_EMPTY;
		return 0;
	}
	{
		char hdr[HDR_MAX];

		memcpy(hdr, got, done < HDR_MAX ? done : HDR_MAX);
		hdr[(done < HDR_MAX ? done : HDR_MAX) - 1] = '\0';
		if (sscanf(hdr, "pl %llu %zu", &ver, &len) != 2 || ver < 2) {
			char *c;

			for (c = hdr; *c; c++)
				if (*c < ' ' || *c > '~')
					*c = '?';
			snprintf(why, n, "%zu bytes of no version: '%.20s'",
				 done, hdr);
			return 1;
		}
	}
	if (len != done) {
		snprintf(why, n, "version %llu: %zu bytes, not %zu", ver, done,
			 len);
		return 1;
	}
	gen(want, len, ver);
	if (memcmp(got, want, len)) {
		size_t i = 0;

		while (got[i] == want[i])
			i++;
		snprintf(why, n, "version %llu, %zu bytes: byte %zu is %02x, "
			 "not %02x", ver, len, i, got[i], want[i]);
		return 1;
	}
	*v = ver;
	return 0;
}

static int check(const char *dir, const char *logname, long cut,
		 const char *mode)
{
	struct model m;
	char p[4096], why[512], allow[1024];
	int k, bad = 0;
	DIR *d;
	struct dirent *de;

	if (model_load(&m, logname, cut, !strcmp(mode, "acked"))) {
		printf("cannot read the log %s\n", logname);
		return 2;
	}
	for (k = 0; k < NSLOTS; k++) {
		uint64_t v = 0;

		key_path(p, sizeof(p), dir, k);
		if (read_key(p, &v, why, sizeof(why))) {
			printf("k%d: %s\n", k, why);
			bad++;
			continue;
		}
		if (!allowed(&m.s[k], k, v)) {
			describe(&m.s[k], allow, sizeof(allow));
			printf("k%d: holds %s%llu; %s\n", k,
			       v == V_ABSENT ? "absent/" :
			       v == V_EMPTY ? "empty/" : "",
			       (unsigned long long)v, allow);
			bad++;
		}
	}
	d = opendir(dir);
	if (!d) {
		printf("%s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] != 'k' || atoi(de->d_name + 1) >= NSLOTS ||
		    atoi(de->d_name + 1) < 0) {
			char *c;

			/* a broken store may give any bytes */
			for (c = de->d_name; *c; c++)
				if (*c < ' ' || *c > '~')
					*c = '?';
			printf("%.60s: a name nobody made\n", de->d_name);
			bad++;
		}
	}
	closedir(d);
	for (k = 0; k < NSLOTS; k++)
		free(m.s[k].v);
	if (!bad)
		printf("OK\n");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && (!strcmp(argv[1], "run") ||
			  !strcmp(argv[1], "mark") ||
			  !strcmp(argv[1], "flush-failed"))) {
		logfd = open(argv[2 + !strcmp(argv[1], "run")],
			     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (logfd < 0) {
			perror("powerload: log");
			return 2;
		}
	}
	if (argc == 7 && !strcmp(argv[1], "run"))
		return run(argv[2], strtoull(argv[4], NULL, 10),
			   atol(argv[5]), argv[6]);
	if (argc >= 4 && !strcmp(argv[1], "mark")) {
		char text[4096] = "";
		int i;

		for (i = 3; i < argc; i++)
			snprintf(text + strlen(text),
				 sizeof(text) - strlen(text), "%s%s",
				 i > 3 ? " " : "", argv[i]);
		mark(text);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "flush-failed")) {
		flush_failed();
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "check"))
		return check(argv[2], argv[3], atol(argv[4]), argv[5]);
	fprintf(stderr, "usage: powerload run DIR LOG SEED OPS MIX | "
		"mark LOG TEXT... | flush-failed LOG | "
		"check DIR LOG CUT power|acked\n");
	return 2;
}
