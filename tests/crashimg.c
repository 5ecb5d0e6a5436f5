/*
 * crashimg.c - crash images of a store from a tests/crashrec.c log, as
 * CrashMonkey and ALICE model a power cut.
 *
 *   crashimg info LOG               what the log holds; fails on a write
 *                                   it could not record (a shared writable
 *                                   mapping of a store file)
 *   crashimg dump LOG               every record, one a line
 *   crashimg plan LOG N SEED        N images to build: "CUT MODE BOOT SEED"
 *                                   (a quarter of the cuts while kvfs opens
 *                                   the store or after a failed flush
 *                                   before the next checkpoint, a quarter
 *                                   next to flushes; 70% power, 15% kill,
 *                                   15% killreboot, or only the kinds
 *                                   CRASHIMG_MODES names)
 *   crashimg build LOG INIT OUT CUT MODE SEED
 *                                   the store as a crash at record CUT
 *                                   leaves it, in OUT (INIT: the files
 *                                   when the log began)
 *   crashimg settle LOG INIT DIR    after a kill -9: appends to LOG, as
 *                                   writes, what the files in DIR hold
 *                                   that the log does not (a write the
 *                                   kill cut off between its return and
 *                                   its record, or halfway)
 *   crashimg verify LOG INIT        at each "SNAP dir" marker, the files
 *                                   rebuilt with every write are those
 *                                   copied to dir: the log missed nothing
 *
 * A cut keeps the records before it.  MODE power: a power cut there.  For
 * each file, what a completed fsync or fdatasync covered (the writes
 * recorded before that flush began; every write before an "A reboot"
 * marker, a clean shutdown) is on disk; of the later writes any subset
 * is (none, all, a prefix, a random part), each write kept whole or torn
 * into 4 KiB or 512 B pieces of which any subset is.  MODE kill and
 * killreboot: every write is there, as the page cache holds them after a
 * kill -9 (and after a clean reboot that follows it).  Creations, renames,
 * truncations and unlinks are kept in order (a journal).  lock.mdb, which
 * LMDB rebuilds when the first process opens the store, is left out or
 * kept as modelled (its content written through a mapping: zeros).
 *
 * The BOOT of a plan line is the boot id to mount the image with: a new
 * one after a power cut or a reboot, the recording's for kill.  "RESET
 * dir" markers (the store replaced by the files in dir, all on disk) let
 * a recording go on from a crash image.
 */
#include "config.h"

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

/* ---- commands ---- */

static int info(void)
{
	size_t counts[CR_FAULT + 1] = { 0 }, i, bytes = 0;
	int bad = 0;

	for (i = 0; i < nrecs; i++) {
		const struct crec *r = recs[i];

		if (r->type <= CR_FAULT)
			counts[r->type]++;
		if (r->type == CR_WRITE)
			bytes += r->len;
		if (r->type == CR_MMAP && (r->arg & PROT_WRITE) &&
		    (r->ret & MAP_SHARED) && strcmp(r->name, "lock.mdb")) {
			printf("a shared writable mapping of %s: its writes "
			       "are not in the log\n", r->name);
			bad = 1;
		}
		if ((r->type == CR_RENAME || r->type == CR_UNLINK) &&
		    strcmp(r->name, "kvfs.lock"))
			printf("record %zu: %s %s %s\n", i,
			       r->type == CR_RENAME ? "rename" : "unlink",
			       r->name, r->name2);
	}
	printf("records %zu: writes %zu (%zu bytes), opens %zu, truncates %zu, "
	       "fallocates %zu, flushes %zu, syncs %zu, renames %zu, "
	       "unlinks %zu, mmaps %zu, markers %zu, faults %zu\n", nrecs,
	       counts[CR_WRITE], bytes, counts[CR_OPEN], counts[CR_TRUNC],
	       counts[CR_FALLOC], counts[CR_FLUSH_END], counts[CR_SYNC_END],
	       counts[CR_RENAME], counts[CR_UNLINK], counts[CR_MMAP],
	       counts[CR_MARK], counts[CR_FAULT]);
	return bad;
}

static int dump(void)
{
	static const char *names[] = { "?", "open", "write", "trunc",
		"falloc", "flush-begin", "flush-end", "sync-begin",
		"sync-end", "rename", "unlink", "mmap", "mark", "fault" };
	char text[256];
	size_t i;

	for (i = 0; i < nrecs; i++) {
		const struct crec *r = recs[i];

		printf("%zu %u %s %s ino %llu off %llu len %llu flags %u arg %d "
		       "ret %d%s%s\n", i, r->pid,
		       r->type <= CR_FAULT ? names[r->type] : "?", r->name,
		       (unsigned long long)r->ino, (unsigned long long)r->off,
		       (unsigned long long)r->len, r->flags, r->arg, r->ret,
		       r->type == CR_MARK ? ": " : "",
		       r->type == CR_MARK ? mark_text(r, text, sizeof(text))
					  : "");
	}
	return 0;
}

/* Where cut falls: which mount, and the last event before it. */
static void where(size_t cut, char *out, size_t n)
{
	char text[256], last[128] = "start", boot[64] = "none";
	int mounts = 0;
	size_t i;

	for (i = 0; i < cut; i++) {
		const struct crec *r = recs[i];

		if (r->type == CR_FAULT) {
			snprintf(last, sizeof(last), "failed %.20s of %.20s",
				 r->name2, r->name);
			continue;
		}
		if (r->type != CR_MARK)
			continue;
		mark_text(r, text, sizeof(text));
		if (text[0] == 'B' || text[0] == 'E' || text[0] == 'F' ||
		    !strncmp(text, "SNAP", 4))
			continue;
		if (!strncmp(text, "MOUNT ", 6)) {
			mounts++;
			snprintf(boot, sizeof(boot), "%.60s", text + 6);
			snprintf(last, sizeof(last), "opening");
		} else if (!strcmp(text, "MOUNTED")) {
			snprintf(last, sizeof(last), "mounted");
		} else {
			snprintf(last, sizeof(last), "%.100s", text);
		}
	}
	snprintf(out, n, "mount %d (%s), %s", mounts, boot, last);
}

/* The boot id of the mount that was running (or last ran) at cut. */
static void boot_at(size_t cut, char *out, size_t n)
{
	char text[256];
	size_t i;

	snprintf(out, n, "none");
	for (i = 0; i < cut; i++)
		if (recs[i]->type == CR_MARK &&
		    !strncmp(mark_text(recs[i], text, sizeof(text)),
			     "MOUNT ", 6))
			snprintf(out, n, "%.100s", text + 6);
}

static bool interesting(const struct crec *r)
{
	char text[16];

	if (r->type == CR_MARK) {
		mark_text(r, text, sizeof(text));
		return text[0] != 'B' && text[0] != 'E' && text[0] != 'F';
	}
	return r->type == CR_FLUSH_BEGIN || r->type == CR_FLUSH_END ||
	       r->type == CR_FAULT || r->type == CR_OPEN;
}

static int plan(long n, uint64_t seed)
{
	size_t *hot = malloc(nrecs * sizeof(*hot)), nhot = 0, i;
	size_t *win = malloc(nrecs * sizeof(*win)), nwin = 0;
	char boot[128], text[16];
	bool opening = false, failed = false;
	const char *modes = getenv("CRASHIMG_MODES");
	long k;

	rng_state = seed * 2654435761u + 1;
	for (i = 0; i < nrecs; i++) {
		if (interesting(recs[i]))
			hot[nhot++] = i;
		if (recs[i]->type == CR_MARK) {
			mark_text(recs[i], text, sizeof(text));
			if (!strncmp(text, "MOUNT ", 6))
				opening = true;
			else if (!strcmp(text, "MOUNTED"))
				opening = false;
		}
		/* from a failure to the next checkpoint recorded */
		if (recs[i]->type == CR_FAULT)
			failed = true;
		else if (recs[i]->type == CR_FLUSH_END && recs[i]->ret == 0 &&
			 !strcmp(recs[i]->name, "kvfs.sync"))
			failed = false;
		if (opening || failed)
			win[nwin++] = i;
	}
	for (k = 0; k < n && nrecs; k++) {
		size_t cut;
		unsigned m = (unsigned)(rng() % 100), w = (unsigned)(rng() % 4);
		const char *mode = m < 70 ? "power" :
				   m < 85 ? "kill" : "killreboot";

		if (modes && !strstr(modes, mode)) {
			/* not asked for: the first kind that is */
			mode = strstr(modes, "power") ? "power" :
			       strstr(modes, "killreboot") ? "killreboot" :
			       "kill";
		}

		/* a quarter in the mounts' openings and after failures, a
		 * quarter next to flushes, faults and markers, the rest
		 * anywhere */
		if (nwin && w == 0)
			cut = win[rng() % nwin] + 1;
		else if (nhot && w == 1)
			cut = hot[rng() % nhot] + 1 + rng() % 6;
		else
			cut = 1 + rng() % nrecs;
		if (cut > nrecs)
			cut = nrecs;
		boot_at(cut, boot, sizeof(boot));
		if (strcmp(mode, "kill"))
			snprintf(boot, sizeof(boot), "after-%lu-%ld",
				 (unsigned long)seed, k);
		printf("%zu %s %s %llu\n", cut, mode, boot,
		       (unsigned long long)(rng() % 1000000000));
	}
	free(hot);
	free(win);
	return 0;
}

static int same_file(const struct file *f, const char *path)
{
	struct stat sb;
	unsigned char *buf;
	int fd, rc = 1;

	if (stat(path, &sb) < 0)
		return f->size == 0 ? 0 : 1;
	if ((size_t)sb.st_size != f->size)
		return 1;
	buf = malloc(f->size + 1);
	fd = open(path, O_RDONLY);
	if (buf && fd >= 0 && read(fd, buf, f->size) == (ssize_t)f->size)
		rc = memcmp(buf, f->data, f->size) != 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int verify(const char *init)
{
	struct image im;
	struct stats st;
	char text[4096], p[8192];
	size_t i;
	int bad = 0, n = 0, k;

	memset(&im, 0, sizeof(im));
	for (i = 0; i < nrecs; i++) {
		if (recs[i]->type != CR_MARK ||
		    strncmp(mark_text(recs[i], text, sizeof(text)), "SNAP ",
			    5))
			continue;
		if (build(&im, init, i, "kill", &st))
			return 2;
		n++;
		for (k = 0; k < im.n; k++) {
			const struct file *f = &im.f[k];

			if (!f->name[0] || !strcmp(f->name, "lock.mdb") ||
			    !strcmp(f->name, "kvfs.lock"))
				continue;
			snprintf(p, sizeof(p), "%s/%s", text + 5, f->name);
			if (same_file(f, p)) {
				printf("record %zu: %s rebuilt (%zu bytes) is "
				       "not %s\n", i, f->name, f->size, p);
				bad = 1;
			}
		}
	}
	image_free(&im);
	if (!bad)
		printf("OK %d snapshots\n", n);
	return bad;
}

/* One record appended to the log, as tests/crashrec.c writes them. */
static int append(int fd, struct crec *r, const unsigned char *p)
{
	size_t len = cr_payload(r);

	r->magic = CR_MAGIC;
	if (write(fd, r, sizeof(*r)) != (ssize_t)sizeof(*r) ||
	    (len && (!p || write(fd, p, len) != (ssize_t)len))) {
		perror("crashimg: log");
		return -1;
	}
	return 0;
}

/*
 * The writes a kill -9 cut off: what each file in dir holds that the log
 * rebuilt with every write does not, appended as writes (whole 4 KiB
 * pages that differ, in runs) and a truncation if the file is shorter.
 * They are no flush's: a power cut keeps any part of them.
 */
static int settle(const char *log, const char *init, const char *dir)
{
	static struct image im;
	struct stats st;
	size_t runs = 0, bytes = 0;
	int fd, k, rc = 0;

	if (build(&im, init, nrecs, "kill", &st))
		return 2;
	fd = open(log, O_WRONLY | O_APPEND);
	if (fd < 0) {
		perror(log);
		return 2;
	}
	for (k = 0; k < im.n && !rc; k++) {
		const struct file *f = &im.f[k];
		struct file now;
		struct image one;
		char p[8192];
		size_t off, end;

		if (!f->name[0] || !strcmp(f->name, "lock.mdb") ||
		    !strcmp(f->name, "kvfs.lock"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, f->name);
		if (!same_file(f, p))
			continue;
		if (!f->ino) {
			fprintf(stderr, "crashimg: %s changed but was never "
				"opened in the log\n", f->name);
			rc = 2;
			break;
		}
		memset(&one, 0, sizeof(one));
		if (load_dir(&one, dir) || !by_name(&one, f->name)) {
			fprintf(stderr, "crashimg: cannot read %s\n", p);
			rc = 2;
			break;
		}
		now = *by_name(&one, f->name);
		for (off = 0; off < now.size && !rc; off = end) {
			struct crec r;

			end = off + 4096 < now.size ? off + 4096 : now.size;
			if (end <= f->size &&
			    !memcmp(now.data + off, f->data + off, end - off))
				continue;
			/* a run of pages that differ, or lie past the end */
			while (end < now.size) {
				size_t e = end + 4096 < now.size ? end + 4096
								 : now.size;

				if (e <= f->size && !memcmp(now.data + end,
							    f->data + end,
							    e - end))
					break;
				end = e;
			}
			memset(&r, 0, sizeof(r));
			r.type = CR_WRITE;
			r.ino = f->ino;
			memcpy(r.name, f->name, CR_NAME);
			r.off = off;
			r.len = end - off;
			rc = append(fd, &r, now.data + off) ? 2 : 0;
			runs++;
			bytes += end - off;
		}
		if (!rc && now.size < f->size) {
			struct crec r;

			memset(&r, 0, sizeof(r));
			r.type = CR_TRUNC;
			r.ino = f->ino;
			memcpy(r.name, f->name, CR_NAME);
			r.off = now.size;
			rc = append(fd, &r, NULL) ? 2 : 0;
		}
		image_free(&one);
	}
	close(fd);
	image_free(&im);
	if (!rc)
		printf("settled: %zu writes, %zu bytes in flight at the kill\n",
		       runs, bytes);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3 || log_open(argv[2]))
		goto usage;
	if (argc == 3 && !strcmp(argv[1], "info"))
		return info();
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return dump();
	if (argc == 5 && !strcmp(argv[1], "plan"))
		return plan(atol(argv[3]), strtoull(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return verify(argv[3]);
	if (argc == 5 && !strcmp(argv[1], "settle"))
		return settle(argv[2], argv[3], argv[4]);
	if (argc == 8 && !strcmp(argv[1], "build")) {
		static struct image im;
		struct stats st;
		size_t cut = strtoull(argv[5], NULL, 10);

		rng_state = strtoull(argv[7], NULL, 10) * 2654435761u + 7;
		if (cut > nrecs)
			cut = nrecs;
		if (build(&im, argv[3], cut, argv[6], &st) ||
		    image_write(&im, argv[4], rng() % 2))
			return 2;
		char w[256];

		where(cut, w, sizeof(w));
		printf("cut %zu of %zu, %s: %zu writes on disk, %zu of %zu "
		       "later ones kept, %zu torn\n", cut, nrecs, w, st.durable,
		       st.kept, st.pending, st.torn);
		return 0;
	}
usage:
	fprintf(stderr, "usage: crashimg info LOG | plan LOG N SEED | "
		"build LOG INIT OUT CUT MODE SEED | verify LOG INIT | "
		"settle LOG INIT DIR\n");
	return 2;
}
