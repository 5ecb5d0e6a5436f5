/*
 * crashimg.h - what crashimg's commands (crashimg.c) share with its log
 * reading and image building (crashbuild.c): the log's records, and the
 * files of a store as a crash image holds them.
 */
#ifndef KVFS_TESTS_CRASHIMG_H
#define KVFS_TESTS_CRASHIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crashrec.h"

#define MAX_FILES	64

struct file {
	uint64_t ino;
	char name[CR_NAME];	/* "" once unlinked */
	unsigned char *data;
	size_t size, cap;
	uint64_t cover;		/* writes recorded before this are on disk */
};

struct image {
	struct file f[MAX_FILES];
	int n;
	uint64_t cover;		/* for every file */
};

struct stats {
	size_t durable, pending, kept, torn;
};

/* The log's records in order (nrecs of them), after log_open. */
extern const struct crec **recs;
extern size_t nrecs;
/* The state of rng(), seeded by the commands. */
extern uint64_t rng_state;

uint64_t rng(void);
/* Read the log name: 0, or -1 if it cannot be read or is no such log. */
int log_open(const char *name);
/* The text of marker r, cut to n - 1 bytes, in buf. */
const char *mark_text(const struct crec *r, char *buf, size_t n);

/* The file named name in im, or NULL. */
struct file *by_name(struct image *im, const char *name);
void image_free(struct image *im);
/* Make im the files of dir, all on disk: 0 or -1. */
int load_dir(struct image *im, const char *dir);
/*
 * Build in im the files as a cut at record cut leaves them, from the
 * files in init and the log (mode "power": only what flushes covered is
 * sure; else every write): 0 or -1.
 */
int build(struct image *im, const char *init, size_t cut,
	  const char *mode, struct stats *st);
/* Write im's files to the directory out (lock.mdb if lock_kept). */
int image_write(struct image *im, const char *out, bool lock_kept);

#endif
