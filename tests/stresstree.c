/*
 * stresstree.c - the directories' half of stressload: whole directories
 * renamed back and forth (mv A B) while other processes create, look up,
 * list and delete files and directories in them, through directory
 * descriptors opened before the renames and through paths, and while the
 * kernel is made to forget its dentries now and then, so that lookups
 * reach kvfs for the first time again.
 *
 * Group g is one directory under DIR, named tga or tgb as the renamer
 * moves it, holding files fN and a directory sub with files fN and
 * directories mN.  The model says which name each group has (and whether
 * a rename of it is under way) and every entry a creator made, with its
 * state.  An entry belongs to its group whatever the group's name was
 * when it was made: at any moment, an entry made and not deleted is found
 * through a descriptor of its directory and through the group's name (the
 * other name while a rename runs); a listing shows no name no one made
 * and every name it shows stats and opens; and at the end (and after a
 * remount, from the model written to a file) the tree holds exactly the
 * model's entries under each group's current name, and the other name is
 * not there.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"
#include "stresstree.h"

struct tshared *ts;

static void tcount(enum tcount c)
{
	__atomic_add_fetch(&ts->counts[c], 1, __ATOMIC_RELAXED);
}

static int populate(void);

int tree_init(void)
{
	char p[512];
	int g;

	ts = mmap(NULL, sizeof(*ts), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ts == MAP_FAILED)
		return -1;
	for (g = 0; g < GROUPS; g++) {
		snprintf(p, sizeof(p), "%s/t%da", root, g);
		if (mkdir(p, 0755) < 0) {
			perror(p);
			return -1;
		}
		snprintf(p, sizeof(p), "%s/t%da/sub", root, g);
		if (mkdir(p, 0755) < 0) {
			perror(p);
			return -1;
		}
	}
	return populate();
}

uint32_t ent_id(int c, uint32_t i)
{
	return (uint32_t)(c + 1) * ID_BASE + i;
}

static struct tent *ent_of(uint32_t id, int *c, uint32_t *i)
{
	if (id < ID_BASE || id / ID_BASE > OWNERS ||
	    id % ID_BASE >= TENTS)
		return NULL;
	*c = (int)(id / ID_BASE) - 1;
	*i = id % ID_BASE;
	return &ts->ent[*c][*i];
}

static uint8_t ent_state(const struct tent *e)
{
	return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
}

size_t file_len(uint32_t id)
{
	return 24 + (size_t)((id * 2654435761u) % (TMAX - 24));
}

/* The entry's path under the group's name n, and its name alone. */
static void ent_path(char *out, size_t size, int g, int n, int where,
		     int kind, uint32_t id)
{
	snprintf(out, size, "%s/t%d%c%s/%c%u", root, g, n ? 'b' : 'a',
		 where == W_SUB ? "/sub" : "", kind == T_DIR ? 'm' : 'f', id);
}

static void ent_name(char *out, size_t size, int kind, uint32_t id)
{
	snprintf(out, size, "%c%u", kind == T_DIR ? 'm' : 'f', id);
}

/* The entry's path under the group's name, as its report says it. */
static const char *ent_where(const struct tent *e, uint32_t id)
{
	static char p[128];

	snprintf(p, sizeof(p), "t%d?%s/%c%u (made through a %s)", e->group,
		 e->where == W_SUB ? "/sub" : "", e->kind == T_DIR ? 'm' : 'f',
		 id, e->how ? "path" : "directory descriptor");
	return p;
}

static uint32_t gen_of(int g)
{
	return __atomic_load_n(&ts->gen[g], __ATOMIC_ACQUIRE);
}

int cur_of(int g)
{
	return (int)__atomic_load_n(&ts->cur[g], __ATOMIC_ACQUIRE);
}

/*
 * Do fn on the path of an entry of group g, under the group's current
 * name and then the other, until it gives something other than ENOENT
 * or it gave ENOENT under both with no rename of the group about (then
 * ENOENT is its answer).  Returns fn's result; *used says the name.
 */
static int on_path(int g, int where, int kind, uint32_t id,
		   int (*fn)(const char *, void *), void *arg, int *used)
{
	char p[512];
	int tries, j, rc = -ENOENT;

	for (tries = 0; tries < 100; tries++) {
		uint32_t g0 = gen_of(g);
		int n = cur_of(g);

		for (j = 0; j < 2; j++) {
			ent_path(p, sizeof(p), g, n ^ j, where, kind, id);
			rc = fn(p, arg);
			*used = n ^ j;
			if (rc != -ENOENT)
				return rc;
		}
		if (!(g0 & 1) && gen_of(g) == g0)
			return -ENOENT;
	}
	return rc;
}

/* ---- making and deleting ---- */

struct made {
	uint32_t id;
	int fd;
};

static int create_at_path(const char *p, void *arg)
{
	struct made *m = arg;

	m->fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	return m->fd < 0 ? -errno : 0;
}

static int mkdir_at_path(const char *p, void *arg)
{
	(void)arg;
	return mkdir(p, 0755) < 0 ? -errno : 0;
}

static int stat_at_path(const char *p, void *arg)
{
	return stat(p, arg) < 0 ? -errno : 0;
}

static int open_at_path(const char *p, void *arg)
{
	int fd = open(p, O_RDONLY);

	if (fd < 0)
		return -errno;
	*(int *)arg = fd;
	return 0;
}

static int unlink_at_path(const char *p, void *arg)
{
	int kind = *(int *)arg;

	return (kind == T_DIR ? rmdir(p) : unlink(p)) < 0 ? -errno : 0;
}

/* The worker's descriptors of each group's directories, opened once,
 * before the renamer has done much. */
static int dfd[GROUPS][2];

static int open_dirs(void)
{
	int g, w;

	for (g = 0; g < GROUPS; g++)
		for (w = 0; w < 2; w++) {
			char p[512];
			int j, n = cur_of(g);

			dfd[g][w] = -1;
			for (j = 0; j < 20 && dfd[g][w] < 0; j++) {
				snprintf(p, sizeof(p), "%s/t%d%c%s", root, g,
					 (n ^ j) & 1 ? 'b' : 'a',
					 w == W_SUB ? "/sub" : "");
				dfd[g][w] = open(p, O_RDONLY | O_DIRECTORY);
			}
			if (dfd[g][w] < 0) {
				problem("open t%d?%s: %s", g,
					w == W_SUB ? "/sub" : "",
					strerror(errno));
				return -1;
			}
		}
	return 0;
}

unsigned char tbuf[TMAX], tread[TMAX + 1];

/* Write the file's content through fd; check fstat; close. */
static int fill(int fd, uint32_t id, const char *p)
{
	size_t len = file_len(id);
	struct stat st;
	int err = 0;

	make_block(tbuf, len, id);
	if (write(fd, tbuf, len) != (ssize_t)len)
		err = errno ? errno : EIO;
	else if (fstat(fd, &st) < 0)
		err = errno;
	else if ((size_t)st.st_size != len)
		problem("create %s: fstat of the writer gives %lld bytes after "
			"it wrote %zu", p, (long long)st.st_size, len);
	if (close(fd) < 0 && !err)
		err = errno;
	return -err;
}

/* Add entry i of creator c to the live list, or take it off. */
static void live_set(int c, uint32_t i, bool on)
{
	int s;

	for (s = 0; s < TLIVE; s++) {
		uint32_t v = ts->live[c][s];

		if (on ? v == 0 : v == i + 1) {
			__atomic_store_n(&ts->live[c][s], on ? i + 1 : 0,
					 __ATOMIC_RELEASE);
			return;
		}
	}
}

static int live_count(int c)
{
	int s, n = 0;

	for (s = 0; s < TLIVE; s++)
		n += ts->live[c][s] != 0;
	return n;
}

/* The files and directories of the last group, made before the renames
 * and the processes start: what lookups of names the kernel forgot find. */
static int populate(void)
{
	char p[512];
	uint32_t i;

	for (i = 0; i < NSTATIC; i++) {
		struct tent *e = &ts->ent[TREE_CREATORS][i];
		uint32_t id = ent_id(TREE_CREATORS, i);
		int fd, rc;

		e->group = STATIC;
		e->where = i % 2;
		e->kind = i % 10 == 9 ? T_DIR : T_FILE;
		e->how = 1;
		ent_path(p, sizeof(p), STATIC, 0, e->where, e->kind, id);
		if (e->kind == T_DIR) {
			rc = mkdir(p, 0755) < 0 ? -errno : 0;
		} else {
			fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
			rc = fd < 0 ? -errno : fill(fd, id, p);
		}
		if (rc) {
			fprintf(stderr, "%s: %s\n", p, strerror(-rc));
			return -1;
		}
		e->state = T_PRESENT;
		ts->live[TREE_CREATORS][i] = i + 1;
	}
	ts->n[TREE_CREATORS] = NSTATIC;
	return 0;
}

static void t_create(int c, bool dir)
{
	uint32_t i = ts->n[c], id = ent_id(c, i);
	struct tent *e;
	struct made m = { id, -1 };
	char name[32], p[512];
	int g = rand() % STATIC, where, rc, used = 0;
	struct stat st;

	if (i >= TENTS || live_count(c) >= TLIVE)
		return;
	e = &ts->ent[c][i];
	where = dir ? W_SUB : rand() % 2;
	e->group = (uint8_t)g;
	e->where = (uint8_t)where;
	e->kind = dir ? T_DIR : T_FILE;
	e->how = (uint8_t)(rand() % 2);
	__atomic_store_n(&e->state, T_CREATING, __ATOMIC_RELEASE);
	__atomic_store_n(&ts->n[c], i + 1, __ATOMIC_RELEASE);
	ent_name(name, sizeof(name), e->kind, id);
	if (rand() % 3 == 0) {
		/* a first lookup of a fresh name, as a shell's test -e does */
		if (fstatat(dfd[g][where], name, &st, 0) == 0)
			problem("first lookup of %s, which no one has made: "
				"it is there", ent_where(e, id));
		else if (errno != ENOENT)
			problem("first lookup of %s, which no one has made: %s",
				ent_where(e, id), strerror(errno));
		tcount(TC_FIRST);
	}
	if (e->how) {
		rc = on_path(g, where, e->kind, id,
			     dir ? mkdir_at_path : create_at_path, &m, &used);
	} else if (dir) {
		rc = mkdirat(dfd[g][where], name, 0755) < 0 ? -errno : 0;
	} else {
		m.fd = openat(dfd[g][where], name,
			      O_WRONLY | O_CREAT | O_EXCL, 0644);
		rc = m.fd < 0 ? -errno : 0;
	}
	snprintf(p, sizeof(p), "%s", ent_where(e, id));
	if (rc == 0 && !dir)
		rc = fill(m.fd, id, p);
	__atomic_store_n(&e->state, rc ? T_FAILED : T_PRESENT,
			 __ATOMIC_RELEASE);
	if (rc) {
		problem("%s %s: %s%s", dir ? "mkdir" : "create", p,
			strerror(-rc), e->how && rc == -ENOENT ?
			", under both names with no rename running" : "");
		return;
	}
	live_set(c, i, true);
	tcount(dir ? TC_MKDIR : TC_CREATE);
}

static void t_delete(int c)
{
	uint32_t i = ts->live[c][rand() % TLIVE], id;
	struct tent *e;
	char name[32];
	int rc, used, kind;

	if (!i--)
		return;
	e = &ts->ent[c][i];
	id = ent_id(c, i);
	kind = e->kind;
	live_set(c, i, false);
	__atomic_store_n(&e->state, T_DELETING, __ATOMIC_RELEASE);
	ent_name(name, sizeof(name), kind, id);
	if (rand() % 2)
		rc = on_path(e->group, e->where, kind, id, unlink_at_path,
			     &kind, &used);
	else
		rc = unlinkat(dfd[e->group][e->where], name,
			      kind == T_DIR ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
	if (rc) {
		problem("delete %s: %s", ent_where(e, id), strerror(-rc));
		__atomic_store_n(&e->state, T_FAILED, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&e->state, T_GONE, __ATOMIC_RELEASE);
	tcount(TC_DELETE);
}

/* ---- looking up ---- */

/* Check a file's bytes read through fd. */
static void check_content(int fd, uint32_t id, const char *how,
			  const struct tent *e)
{
	size_t len = file_len(id), n = 0;
	ssize_t got;
	struct stat st;

	if (fstat(fd, &st) < 0) {
		problem("fstat %s %s: %s", ent_where(e, id), how,
			strerror(errno));
		return;
	}
	while (n < sizeof(tread) && (got = read(fd, tread + n,
						sizeof(tread) - n)) > 0)
		n += (size_t)got;
	make_block(tbuf, len, id);
	if (n != len || memcmp(tread, tbuf, len) || (size_t)st.st_size != len)
		problem("read %s %s: %zu bytes (fstat %lld), not the %zu it "
			"was made with%s", ent_where(e, id), how, n,
			(long long)st.st_size, len,
			n == len ? " (the bytes differ)" : "");
}

/* Look up a live entry of any creator, through the descriptor of its
 * directory or through its path; an answer is checked only if the entry
 * stayed present all along. */
static void t_lookup(void)
{
	int c = rand() % OWNERS, rc, used = 0, fd = -1;
	uint32_t i = __atomic_load_n(&ts->live[c][rand() % TLIVE],
				     __ATOMIC_ACQUIRE), id;
	const struct tent *e;
	bool by_fd = rand() % 2, open_it = rand() % 2;
	char name[32];
	struct stat st;

	if (!i--)
		return;
	e = &ts->ent[c][i];
	id = ent_id(c, i);
	if (ent_state(e) != T_PRESENT)
		return;
	ent_name(name, sizeof(name), e->kind, id);
	if (by_fd && open_it) {
		fd = openat(dfd[e->group][e->where], name, O_RDONLY);
		rc = fd < 0 ? -errno : 0;
	} else if (by_fd) {
		rc = fstatat(dfd[e->group][e->where], name, &st, 0) < 0 ?
			-errno : 0;
	} else if (open_it) {
		rc = on_path(e->group, e->where, e->kind, id, open_at_path,
			     &fd, &used);
	} else {
		rc = on_path(e->group, e->where, e->kind, id, stat_at_path,
			     &st, &used);
	}
	if (ent_state(e) != T_PRESENT) {
		if (fd >= 0)
			close(fd);
		return;
	}
	tcount(TC_LOOKUP);
	if (rc) {
		problem("%s %s through %s: %s, but it was made and not deleted",
			open_it ? "open" : "stat", ent_where(e, id),
			by_fd ? "its directory's descriptor" :
			"the group's names", strerror(-rc));
		return;
	}
	if (fd >= 0) {
		if (e->kind == T_FILE)
			check_content(fd, id, by_fd ? "opened through its "
				      "directory's descriptor" :
				      "opened by path", e);
		close(fd);
	} else if ((e->kind == T_DIR) != S_ISDIR(st.st_mode) ||
		   (e->kind == T_FILE && (size_t)st.st_size != file_len(id))) {
		problem("stat %s: mode 0%o size %lld, not a %s of %zu bytes",
			ent_where(e, id), st.st_mode, (long long)st.st_size,
			e->kind == T_DIR ? "directory" : "file",
			e->kind == T_DIR ? (size_t)0 : file_len(id));
	}
}

/* List one of a group's directories through its descriptor: every name
 * one a creator made there, stat'ing and opening while it is present;
 * every entry present all along listed. */
static void t_list(void)
{
	int g = rand() % GROUPS, where = rand() % 2, c, s, fd;
	uint32_t before[OWNERS][TLIVE];
	static uint8_t seen[OWNERS][TENTS];
	static uint32_t marked[OWNERS * TENTS];
	size_t nmarked = 0, j;
	struct dirent *d;
	DIR *dir;

	for (c = 0; c < OWNERS; c++)
		for (s = 0; s < TLIVE; s++)
			before[c][s] = __atomic_load_n(&ts->live[c][s],
						       __ATOMIC_ACQUIRE);
	fd = openat(dfd[g][where], ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || !(dir = fdopendir(fd))) {
		problem("open t%d?%s to list it: %s", g,
			where == W_SUB ? "/sub" : "", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		const struct tent *e;
		uint32_t id, i;
		char kind, tail;
		struct stat st;
		int fc;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") ||
		    (where == W_TOP && !strcmp(d->d_name, "sub")))
			continue;
		if (sscanf(d->d_name, "%c%u%c", &kind, &id, &tail) != 2 ||
		    (kind != 'f' && kind != 'm') ||
		    !(e = ent_of(id, &fc, &i)) || ent_state(e) == T_NONE ||
		    e->group != g || e->where != where ||
		    (kind == 'm') != (e->kind == T_DIR)) {
			problem("t%d?%s lists \"%s\", which no one made there",
				g, where == W_SUB ? "/sub" : "", d->d_name);
			continue;
		}
		if (!seen[fc][i] && nmarked < OWNERS * TENTS)
			marked[nmarked++] = id;
		seen[fc][i] = 1;
		if (ent_state(e) != T_PRESENT)
			continue;
		if (fstatat(dirfd(dir), d->d_name, &st, 0) < 0 &&
		    ent_state(e) == T_PRESENT)
			problem("t%d?%s lists %s, which stat does not find: %s",
				g, where == W_SUB ? "/sub" : "", ent_where(e, id),
				strerror(errno));
		if (e->kind == T_FILE) {
			int f = openat(dirfd(dir), d->d_name, O_RDONLY);

			if (f >= 0)
				close(f);
			else if (ent_state(e) == T_PRESENT)
				problem("t%d?%s lists %s, which open does not "
					"find: %s", g,
					where == W_SUB ? "/sub" : "",
					ent_where(e, id), strerror(errno));
		}
	}
	closedir(dir);
	for (c = 0; c < OWNERS; c++)
		for (s = 0; s < TLIVE; s++) {
			uint32_t i = before[c][s];
			const struct tent *e;

			if (!i--)
				continue;
			e = &ts->ent[c][i];
			if (e->group == g && e->where == where &&
			    ent_state(e) == T_PRESENT && !seen[c][i] &&
			    __atomic_load_n(&ts->live[c][s],
					    __ATOMIC_ACQUIRE) == i + 1)
				problem("a listing of t%d?%s misses %s, there "
					"all along", g,
					where == W_SUB ? "/sub" : "",
					ent_where(e, ent_id(c, i)));
		}
	for (j = 0; j < nmarked; j++)
		seen[marked[j] / ID_BASE - 1][marked[j] % ID_BASE] = 0;
	tcount(TC_LIST);
}

int tree_worker(int c, unsigned seed, double until)
{
	srand(seed);
	if (open_dirs() < 0)
		return 1;
	while (now() < until) {
		int r = rand() % 100;

		if (r < 40 && live_count(c) >= TLIVE)
			t_delete(c);
		if (r < 34)
			t_create(c, false);
		else if (r < 40)
			t_create(c, true);
		else if (r < 75)
			t_lookup();
		else if (r < 87)
			t_list();
		else
			t_delete(c);
	}
	return 0;
}

/* ---- renaming, forgetting ---- */

void list_some(char *out, size_t size, const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	size_t len = 0;
	int n = 0;

	out[0] = '\0';
	if (!d)
		return;
	while ((e = readdir(d)) && n < 6) {
		if (e->d_name[0] == '.')
			continue;
		len += (size_t)snprintf(out + len, size - len, " %s",
					e->d_name);
		if (len >= size)
			break;
		n++;
	}
	closedir(d);
}

int tree_renamer(unsigned seed, double until)
{
	char a[512], b[512], some[256];
	unsigned n = 0;

	srand(seed);
	while (now() < until) {
		int g = rand() % GROUPS, cur = cur_of(g);
		struct stat st;

		usleep((useconds_t)(rand() % 4000));
		if (ts->broken[g])
			continue;
		snprintf(a, sizeof(a), "%s/t%d%c", root, g, cur ? 'b' : 'a');
		snprintf(b, sizeof(b), "%s/t%d%c", root, g, cur ? 'a' : 'b');
		if (n++ % 8 == 0 && lstat(b, &st) == 0) {
			list_some(some, sizeof(some), b);
			problem("%s is there beside %s, the group's one name "
				"(it holds:%s)", b + strlen(root) + 1,
				a + strlen(root) + 1, some);
			ts->broken[g] = 1;
			continue;
		}
		__atomic_add_fetch(&ts->gen[g], 1, __ATOMIC_SEQ_CST);
		if (rename(a, b) < 0) {
			int err = errno;

			list_some(some, sizeof(some), b);
			problem("rename %s -> %s: %s (the model has %s absent;"
				" it holds:%s)", a + strlen(root) + 1,
				b + strlen(root) + 1, strerror(err),
				b + strlen(root) + 1, some);
			ts->broken[g] = 1;
		} else {
			__atomic_store_n(&ts->cur[g], (uint32_t)!cur,
					 __ATOMIC_SEQ_CST);
			tcount(TC_RENAME);
		}
		__atomic_add_fetch(&ts->gen[g], 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

/* Make the kernel forget dentries and inodes now and then, so that
 * lookups reach kvfs as first lookups (needs root; else does nothing). */
int tree_forgetter(double until)
{
	while (now() < until) {
		int fd;

		usleep(500000 + (useconds_t)(rand() % 1500000));
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (fd < 0)
			return 0;
		if (write(fd, "2", 1) == 1)
			tcount(TC_FORGET);
		close(fd);
	}
	return 0;
}
