/*
 * stresscheck.c - the end of stressload's directories' model: its counts,
 * and the check that the tree holds exactly the model's entries, at the
 * end of the run and (from the model written to a file) after a remount.
 */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stress.h"
#include "stresstree.h"

static const char *tcount_names[] = { "directory renames",
	"creates in them", "mkdirs in them", "lookups in them",
	"first lookups", "listings of them", "deletes in them",
	"cache drops" };

void tree_counts(void)
{
	int i;

	for (i = 0; i < TC_N; i++)
		printf("%s %llu %s", i ? "," : "",
		       (unsigned long long)ts->counts[i], tcount_names[i]);
	printf("\n");
}

/* ---- the end: the tree against the model ---- */

struct want {
	char path[64];		/* under DIR */
	uint32_t id;		/* a file's, 0 for a directory */
	bool found;
};

struct model {
	struct want *w;
	size_t n, cap;
	char absent[GROUPS * 2][16];
	int nabsent;
	char groups[GROUPS * 2][16];
	int ngroups;
};

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->path,
		      ((const struct want *)b)->path);
}

static void want_add(struct model *m, const char *path, uint32_t id)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->w = realloc(m->w, m->cap * sizeof(*m->w));
		if (!m->w)
			abort();
	}
	snprintf(m->w[m->n].path, sizeof(m->w[m->n].path), "%s", path);
	m->w[m->n].id = id;
	m->w[m->n].found = false;
	m->n++;
}

static struct want *want_find(struct model *m, const char *path)
{
	struct want key;

	snprintf(key.path, sizeof(key.path), "%s", path);
	return bsearch(&key, m->w, m->n, sizeof(*m->w), want_cmp);
}

/* Walk dir (a path under DIR): every entry wanted, with its kind, and
 * every file's bytes as made. */
static void walk(struct model *m, const char *rel)
{
	char p[1200], sub[600];
	struct dirent *d;
	DIR *dir;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (!(dir = opendir(p))) {
		problem("at the end: opendir %s: %s", rel, strerror(errno));
		return;
	}
	while ((d = readdir(dir))) {
		struct want *w;
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, d->d_name);
		w = want_find(m, sub);
		if (!w) {
			problem("at the end: %s is there, which the model does "
				"not have (not made, deleted, or made under "
				"another name)", sub);
			continue;
		}
		w->found = true;
		snprintf(p, sizeof(p), "%s/%s", root, sub);
		if (stat(p, &st) < 0) {
			problem("at the end: %s is listed, but stat gives %s",
				sub, strerror(errno));
			continue;
		}
		if (w->id == 0) {
			if (!S_ISDIR(st.st_mode))
				problem("at the end: %s is not a directory",
					sub);
			else
				walk(m, sub);
		} else {
			int fd = open(p, O_RDONLY);
			size_t len = file_len(w->id), n = 0;
			ssize_t got;

			if (fd < 0) {
				problem("at the end: %s is listed, but open "
					"gives %s", sub, strerror(errno));
				continue;
			}
			while (n < sizeof(tread) &&
			       (got = read(fd, tread + n,
					   sizeof(tread) - n)) > 0)
				n += (size_t)got;
			close(fd);
			make_block(tbuf, len, w->id);
			if (n != len || memcmp(tread, tbuf, len) ||
			    (size_t)st.st_size != len)
				problem("at the end: %s holds %zu bytes (stat "
					"%lld), not the %zu it was made with",
					sub, n, (long long)st.st_size, len);
		}
	}
	closedir(dir);
}

static void check_model(struct model *m)
{
	char p[600];
	size_t i;
	int j;

	qsort(m->w, m->n, sizeof(*m->w), want_cmp);
	for (j = 0; j < m->nabsent; j++) {
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", root, m->absent[j]);
		if (lstat(p, &st) == 0 || errno != ENOENT) {
			char some[256];

			list_some(some, sizeof(some), p);
			problem("at the end: %s is there (it holds:%s), but "
				"its group was renamed away from it",
				m->absent[j], some);
		}
	}
	for (j = 0; j < m->ngroups; j++) {
		struct want *w = want_find(m, m->groups[j]);

		if (w)
			w->found = true;
		walk(m, m->groups[j]);
	}
	for (i = 0; i < m->n; i++)
		if (!m->w[i].found)
			problem("at the end: %s is missing: it was made and "
				"not deleted", m->w[i].path);
}

void tree_check(const char *file)
{
	struct model m = { 0 };
	FILE *f = NULL;
	char p[64];
	int g, c;
	uint32_t i;

	for (g = 0; g < GROUPS; g++) {
		int n = cur_of(g);

		snprintf(m.groups[m.ngroups++], 16, "t%d%c", g, n ? 'b' : 'a');
		snprintf(m.absent[m.nabsent++], 16, "t%d%c", g, n ? 'a' : 'b');
		snprintf(p, sizeof(p), "t%d%c", g, n ? 'b' : 'a');
		want_add(&m, p, 0);
		snprintf(p, sizeof(p), "t%d%c/sub", g, n ? 'b' : 'a');
		want_add(&m, p, 0);
	}
	for (c = 0; c < OWNERS; c++)
		for (i = 0; i < ts->n[c] && i < TENTS; i++) {
			const struct tent *e = &ts->ent[c][i];
			uint32_t id = ent_id(c, i);

			if (e->state != T_PRESENT) {
				if (e->state != T_GONE && e->state != T_FAILED)
					goto unfinished;
				continue;
			}
			snprintf(p, sizeof(p), "t%d%c%s/%c%u", e->group,
				 cur_of(e->group) ? 'b' : 'a',
				 e->where == W_SUB ? "/sub" : "",
				 e->kind == T_DIR ? 'm' : 'f', id);
			want_add(&m, p, e->kind == T_DIR ? 0 : id);
		}
	if (file && !(f = fopen(file, "w")))
		perror(file);
	for (g = 0; f && g < m.nabsent; g++)
		fprintf(f, "A %s\nG %s\n", m.absent[g], m.groups[g]);
	for (i = 0; f && i < m.n; i++)
		fprintf(f, "%c %s %u\n", m.w[i].id ? 'F' : 'D', m.w[i].path,
			m.w[i].id);
	if (f)
		fclose(f);
	check_model(&m);
	free(m.w);
	return;
unfinished:
	printf("a directories' worker did not finish: no check of the tree\n");
	free(m.w);
}

void tree_check_file(const char *file)
{
	struct model m = { 0 };
	char line[128], path[64], type;
	unsigned id;
	FILE *f = fopen(file, "r");

	if (!f) {
		problem("%s: %s", file, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		id = 0;
		if (sscanf(line, "%c %63s %u", &type, path, &id) < 2)
			continue;
		if (type == 'A' && m.nabsent < GROUPS * 2)
			snprintf(m.absent[m.nabsent++], 16, "%.15s", path);
		else if (type == 'G' && m.ngroups < GROUPS * 2)
			snprintf(m.groups[m.ngroups++], 16, "%.15s", path);
		else if (type == 'F' || type == 'D')
			want_add(&m, path, type == 'F' ? id : 0);
	}
	fclose(f);
	check_model(&m);
	free(m.w);
}
