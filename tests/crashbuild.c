/*
 * crashbuild.c - crashimg's log reading and image building: the records
 * of a tests/crashrec.c log, and the files of a store as a crash at a
 * record leaves them (the model is at the top of crashimg.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashimg.h"

static const unsigned char *logmap;
static size_t loglen;
const struct crec **recs;	/* aligned copies of the headers */
static struct crec *hdrs;
static const unsigned char **datas;	/* each one's bytes in the log */
size_t nrecs;
uint64_t rng_state;

uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

int log_open(const char *name)
{
	struct stat sb;
	size_t off = 0, cap = 0, i;
	int fd = open(name, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		perror(name);
		return -1;
	}
	loglen = (size_t)sb.st_size;
	logmap = loglen ? mmap(NULL, loglen, PROT_READ, MAP_PRIVATE, fd, 0)
			: NULL;
	close(fd);
	if (loglen && logmap == MAP_FAILED)
		return -1;
	while (off + sizeof(struct crec) <= loglen) {
		struct crec r;

		/* payloads have any length: headers are copied, not cast */
		memcpy(&r, logmap + off, sizeof(r));
		if (r.magic != CR_MAGIC ||
		    off + sizeof(r) + cr_payload(&r) > loglen) {
			fprintf(stderr, "%s: bad record at %zu\n", name, off);
			return -1;
		}
		if (nrecs == cap) {
			cap = cap ? cap * 2 : 4096;
			hdrs = realloc(hdrs, cap * sizeof(*hdrs));
			datas = realloc(datas, cap * sizeof(*datas));
			if (!hdrs || !datas)
				abort();
		}
		hdrs[nrecs] = r;
		datas[nrecs++] = logmap + off + sizeof(r);
		off += sizeof(r) + cr_payload(&r);
	}
	recs = malloc((nrecs + 1) * sizeof(*recs));
	if (!recs)
		abort();
	for (i = 0; i < nrecs; i++)
		recs[i] = &hdrs[i];
	return 0;
}

/* The bytes that follow record r in the log. */
static const unsigned char *payload(const struct crec *r)
{
	return datas[r - hdrs];
}

const char *mark_text(const struct crec *r, char *buf, size_t n)
{
	size_t len = r->len < n - 1 ? r->len : n - 1;

	memcpy(buf, payload(r), len);
	buf[len] = '\0';
	return buf;
}

/* ---- files ---- */

struct file *by_name(struct image *im, const char *name)
{
	int i;

	for (i = 0; i < im->n; i++)
		if (!strcmp(im->f[i].name, name))
			return &im->f[i];
	return NULL;
}

static struct file *by_ino(struct image *im, uint64_t ino)
{
	int i;

	for (i = 0; i < im->n; i++)
		if (im->f[i].ino == ino && im->f[i].ino)
			return &im->f[i];
	return NULL;
}

static struct file *add(struct image *im, const char *name, uint64_t ino)
{
	struct file *f;

	if (im->n == MAX_FILES) {
		fprintf(stderr, "crashimg: too many files\n");
		exit(2);
	}
	f = &im->f[im->n++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, CR_NAME, "%.63s", name);
	f->ino = ino;
	return f;
}

static void resize(struct file *f, size_t size)
{
	if (size > f->cap) {
		size_t cap = f->cap ? f->cap : 65536;

		while (cap < size)
			cap *= 2;
		f->data = realloc(f->data, cap);
		if (!f->data)
			abort();
		f->cap = cap;
	}
	if (size > f->size)
		memset(f->data + f->size, 0, size - f->size);
	f->size = size;
}

static void put_bytes(struct file *f, uint64_t off, const unsigned char *p,
		      size_t len)
{
	if (off + len > f->size)
		resize(f, off + len);
	memcpy(f->data + off, p, len);
}

void image_free(struct image *im)
{
	int i;

	for (i = 0; i < im->n; i++)
		free(im->f[i].data);
	im->n = 0;
}

/* The files of dir, all on disk; inode numbers learnt at their opens. */
int load_dir(struct image *im, const char *dir)
{
	char p[4096];
	struct dirent *de;
	DIR *d = opendir(dir);

	image_free(im);
	if (!d) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat sb;
		struct file *f;
		int fd;

		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		f = add(im, de->d_name, 0);
		resize(f, (size_t)sb.st_size);
		fd = open(p, O_RDONLY);
		if (fd < 0 || read(fd, f->data, f->size) != (ssize_t)f->size) {
			perror(p);
			closedir(d);
			return -1;
		}
		close(fd);
	}
	closedir(d);
	return 0;
}

/* ---- what a cut keeps ---- */

/*
 * For each file, the writes its last completed flush before cut covered;
 * and those of the last "A reboot" marker.
 */
static void find_covers(struct image *im, size_t cut, uint64_t *cover_ino,
			size_t *nino, uint64_t *all)
{
	size_t i, j;

	*all = 0;
	*nino = 0;
	for (i = 0; i < cut; i++) {
		const struct crec *r = recs[i];
		char text[64];

		if (r->type == CR_MARK &&
		    !strncmp(mark_text(r, text, sizeof(text)), "A reboot", 8))
			*all = i;
		if (r->type == CR_SYNC_END && r->ret == 0) {
			for (j = i; j-- > 0;)
				if (recs[j]->type == CR_SYNC_BEGIN &&
				    recs[j]->pid == r->pid)
					break;
			if (j != (size_t)-1)
				*all = j;
		}
		if (r->type != CR_FLUSH_END || r->ret != 0 ||
		    (r->arg != CR_FSYNC && r->arg != CR_FDATASYNC))
			continue;
		for (j = i; j-- > 0;)
			if (recs[j]->type == CR_FLUSH_BEGIN &&
			    recs[j]->pid == r->pid && recs[j]->off == r->off &&
			    recs[j]->ino == r->ino)
				break;
		if (j == (size_t)-1)
			continue;
		/* cover_ino holds pairs ino, cover */
		{
			size_t k;

			for (k = 0; k < *nino; k += 2)
				if (cover_ino[k] == r->ino)
					break;
			if (k == *nino) {
				if (k + 2 > 2 * MAX_FILES)
					continue;
				cover_ino[k] = r->ino;
				*nino += 2;
			}
			cover_ino[k + 1] = j;
		}
	}
	(void)im;
}

static uint64_t cover_of(const uint64_t *cover_ino, size_t nino, uint64_t ino)
{
	size_t k;

	for (k = 0; k < nino; k += 2)
		if (cover_ino[k] == ino)
			return cover_ino[k + 1];
	return 0;
}

/* Apply the part of a pending write this image keeps. */
static void write_part(struct file *f, const struct crec *r, int strategy,
		       double p, size_t prefix_left, struct stats *st)
{
	const unsigned char *data = payload(r);
	bool keep;

	st->pending++;
	switch (strategy) {
	case 0: keep = false; break;
	case 1: keep = true; break;
	case 2: keep = prefix_left > 0; break;
	default: keep = (double)(rng() % 1000000) / 1e6 < p; break;
	}
	if (!keep)
		return;
	st->kept++;
	if (r->len > 512 && rng() % 5 == 0) {
		uint64_t g = rng() % 2 ? 4096 : 512, off = r->off;
		int kept = 0, dropped = 0;

		st->torn++;
		while (off < r->off + r->len) {
			uint64_t end = (off / g + 1) * g;

			if (end > r->off + r->len)
				end = r->off + r->len;
			/* never all: that would not be torn */
			if (rng() % 2 && !(dropped == 0 &&
					   end == r->off + r->len)) {
				put_bytes(f, off, data + (off - r->off),
					  end - off);
				kept++;
			} else {
				dropped++;
			}
			off = end;
		}
		(void)kept;
		return;
	}
	put_bytes(f, r->off, data, r->len);
}

/*
 * Build the files as a cut at record cut leaves them (mode "power": only
 * what flushes covered is sure; else every write).
 */
int build(struct image *im, const char *init, size_t cut,
	  const char *mode, struct stats *st)
{
	uint64_t cover_ino[2 * MAX_FILES], all;
	size_t nino, i, npending = 0, prefix = 0;
	bool power = !strcmp(mode, "power");
	int strategy = 1;
	double p = 0.5;

	memset(st, 0, sizeof(*st));
	if (load_dir(im, init))
		return -1;
	find_covers(im, cut, cover_ino, &nino, &all);
	if (power) {
		strategy = (int)(rng() % 5);
		p = (double)(rng() % 1000) / 1000.0;
		if (strategy == 2) {
			for (i = 0; i < cut; i++)
				if (recs[i]->type == CR_WRITE &&
				    i >= all && i >= cover_of(cover_ino, nino,
							      recs[i]->ino))
					npending++;
			prefix = npending ? rng() % (npending + 1) : 0;
		}
	}
	for (i = 0; i < cut; i++) {
		const struct crec *r = recs[i];
		struct file *f, *g;
		char text[4096];

		switch (r->type) {
		case CR_MARK:
			mark_text(r, text, sizeof(text));
			if (!strncmp(text, "RESET ", 6) &&
			    load_dir(im, text + 6))
				return -1;
			break;
		case CR_OPEN:
			f = by_ino(im, r->ino);
			if (!f) {
				g = by_name(im, r->name);
				if (g && !g->ino && !(r->flags & CR_F_CREATED)) {
					g->ino = r->ino;	/* from init */
					f = g;
				} else {
					if (g)
						g->name[0] = '\0';
					f = add(im, r->name, r->ino);
				}
			}
			if (r->flags & CR_F_TRUNC)
				f->size = 0;
			break;
		case CR_WRITE:
			f = by_ino(im, r->ino);
			if (!f)
				break;
			if (!power || i < all || (r->flags & CR_F_SYNC) ||
			    i < cover_of(cover_ino, nino, r->ino)) {
				st->durable++;
				put_bytes(f, r->off,
					  payload(r),
					  r->len);
			} else {
				write_part(f, r, strategy, p, prefix, st);
				if (prefix)
					prefix--;
			}
			break;
		case CR_TRUNC:
			f = by_ino(im, r->ino);
			if (f)
				resize(f, r->off);
			break;
		case CR_FALLOC:
			f = by_ino(im, r->ino);
			if (f && !(r->arg & 1) && r->off + r->len > f->size)
				resize(f, r->off + r->len);
			break;
		case CR_RENAME:
			f = by_name(im, r->name);
			g = by_name(im, r->name2);
			if (g && g != f)
				g->name[0] = '\0';
			if (f)
				snprintf(f->name, CR_NAME, "%s", r->name2);
			break;
		case CR_UNLINK:
			f = by_name(im, r->name);
			if (f)
				f->name[0] = '\0';
			break;
		default:
			break;
		}
	}
	return 0;
}

int image_write(struct image *im, const char *out, bool lock_kept)
{
	char p[4096];
	int i;

	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		perror(out);
		return -1;
	}
	for (i = 0; i < im->n; i++) {
		const struct file *f = &im->f[i];
		int fd;

		if (!f->name[0] || (!strcmp(f->name, "lock.mdb") && !lock_kept))
			continue;
		snprintf(p, sizeof(p), "%s/%s", out, f->name);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || (f->size &&
			       write(fd, f->data, f->size) != (ssize_t)f->size)) {
			perror(p);
			return -1;
		}
		close(fd);
	}
	return 0;
}
