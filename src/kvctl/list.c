/*
 * list.c - the keys of a namespace in byte order, and kvctl list.
 *
 * A directory's entries are sorted as the keys below them sort: a
 * subdirectory "a" as "a/", so that "a-b" comes before "a/x" ('-' < '/').
 * The walk starts at the deepest directory the prefix names and skips the
 * subdirectories that hold only keys at or before the cursor, so a page
 * costs the directories it reads, not the whole namespace.  The cursor is
 * the last key returned (in base64): it stays valid whatever is added or
 * removed meanwhile, and the next page starts after it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kvctl/kvctl.h"
#include "common/xattr.h"

struct walk {
	const char *nsdir;
	const char *prefix, *after;
	size_t plen;
	kc_walk_cb cb;
	void *ctx;
};

struct entry {
	char *sortname;		/* the name, with a '/' after a directory */
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->sortname,
		      ((const struct entry *)b)->sortname);
}

static int read_dir(const char *path, struct entry **out, size_t *count)
{
	struct entry *e = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir = opendir(path);

	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		size_t len = strlen(d->d_name);
		bool isdir = d->d_type == DT_DIR;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (d->d_type == DT_UNKNOWN) {
			struct stat sb;
			char *p = kc_path(path, d->d_name, len);

			isdir = lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
			free(p);
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			e = kc_realloc(e, cap * sizeof(*e));
		}
		e[n].sortname = kc_alloc(len + 2);
		memcpy(e[n].sortname, d->d_name, len);
		e[n].sortname[len] = isdir ? '/' : '\0';
		e[n].sortname[len + 1] = '\0';
		n++;
	}
	closedir(dir);
	if (n)	/* an empty directory: e is NULL, which qsort may not take */
		qsort(e, n, sizeof(*e), by_name);
	*out = e;
	*count = n;
	return 0;
}

static bool starts(const char *s, const char *pfx, size_t plen)
{
	return !strncmp(s, pfx, plen);
}

/* Walk the directory whose keys start with key (keylen bytes, '/'-ended
 * or empty). */
static int walk_dir(struct walk *w, const char *key, size_t keylen)
{
	char *path = keylen ? kc_path(w->nsdir, key, keylen - 1)
			    : kc_path(w->nsdir, "", 0);
	struct entry *e = NULL;
	size_t n = 0, i;
	int rc;

	rc = read_dir(path, &e, &n);
	free(path);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = 0;		/* nothing under this prefix */
	for (i = 0; i < n; i++) {
		size_t len = strlen(e[i].sortname);
		bool isdir = e[i].sortname[len - 1] == '/';
		char *full = kc_alloc(keylen + len + 1);

		memcpy(full, key, keylen);
		memcpy(full + keylen, e[i].sortname, len + 1);
		len += keylen;
		if (rc == 0 && isdir) {
			/* below: keys that may match the prefix and may come
			 * after the cursor */
			if ((starts(full, w->prefix, w->plen) ||
			     starts(w->prefix, full, len)) &&
			    (!w->after || strcmp(w->after, full) < 0 ||
			     starts(w->after, full, len)))
				rc = walk_dir(w, full, len);
		} else if (rc == 0 && starts(full, w->prefix, w->plen) &&
			   (!w->after || strcmp(full, w->after) > 0)) {
			char *p = kc_path(w->nsdir, full, len);

			rc = w->cb(w->ctx, full, p);
			free(p);
		}
		free(full);
		free(e[i].sortname);
	}
	free(e);
	return rc;
}

int kc_walk(const char *nsdir, const char *prefix, const char *after,
	    kc_walk_cb cb, void *ctx)
{
	struct walk w = { nsdir, prefix, after, strlen(prefix), cb, ctx };
	const char *slash = strrchr(prefix, '/');

	/* not through a link: no key of nsdir is below one (readdir's
	 * DT_LNK keeps the walk out of those it meets) */
	if (kc_check_parents(nsdir, prefix) == -ENOTDIR)
		return 0;
	/* start where the prefix's directories lead */
	return walk_dir(&w, prefix, slash ? (size_t)(slash - prefix) + 1 : 0);
}

struct page {
	json_t *keys;
	size_t limit, count;
	char *last;
	bool more;
	int error;
};

static int list_one(void *ctx, const char *key, const char *path)
{
	struct page *pg = ctx;
	json_t *k, *meta = NULL;
	int64_t exp = 0;
	int rc;

	if (pg->count == pg->limit) {
		pg->more = true;
		return 1;
	}
	rc = kc_expiration(path, &exp);
	if (!rc)
		rc = kc_meta(path, &meta);
	if (rc == -ENOENT)
		return 0;	/* deleted or expired since the listing */
	if (rc) {
		pg->error = kc_error("%s: %s", key, strerror(-rc));
		return 1;
	}
	k = json_pack("{s:s}", "name", key);
	if (exp)
		json_object_set_new(k, "expiration", json_integer(exp));
	/* as the binding: metadata null is none */
	if (meta && !json_is_null(meta))
		json_object_set_new(k, "metadata", meta);
	else
		json_decref(meta);
	json_array_append_new(pg->keys, k);
	free(pg->last);
	pg->last = kc_strdup(key);
	pg->count++;
	return 0;
}

static const char list_usage[] =
	"list NSDIR [--prefix P] [--limit N] [--cursor C] [--pretty]";

int kc_cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'l' },
		{ "cursor", required_argument, NULL, 'c' },
		{ "pretty", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct page pg = { .limit = 1000 };
	const char *prefix = "", *cursor = NULL;
	char *after = NULL, *end;
	bool pretty = false;
	size_t alen;
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:l:c:Ph", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prefix = optarg; break;
		case 'l':
			errno = 0;
			pg.limit = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg ||
			    optarg[0] == '-' || pg.limit > 1000)
				return kc_bad_arg("--limit: 0 to 1000, not "
						  "'%s'", optarg);
			/* as the binding: 0 is the default */
			if (pg.limit == 0)
				pg.limit = 1000;
			break;
		case 'c': cursor = optarg; break;
		case 'P': pretty = true; break;
		case 'h':
			printf("usage: kvctl %s\n\n"
			       "The keys of NSDIR in byte order, at most --limit "
			       "(1000) a page, with their\nexpiration and "
			       "metadata: {\"keys\": [{\"name\", \"expiration\", "
			       "\"metadata\"}],\n\"list_complete\", \"cursor\"}; "
			       "expiration and metadata only where set, the\n"
			       "cursor only when list_complete is false: pass it "
			       "back for the next page.\n",
			       list_usage);
			return 0;
		default:
			return kc_usage(list_usage);
		}
	}
	if (argc - optind != 1)
		return kc_usage(list_usage);
	if (cursor && *cursor &&
	    (kc_base64_decode(cursor, strlen(cursor), &after, &alen) ||
	     memchr(after, '\0', alen))) {
		free(after);
		return kc_bad_arg("--cursor: not a cursor of kvctl list: "
				  "'%s'", cursor);
	}
	if (kc_check_nsdir(argv[optind])) {
		free(after);
		return 1;
	}
	pg.keys = json_array();
	rc = 0;
	if (kc_prefix_can_start(prefix, strlen(prefix)))
		rc = kc_walk(argv[optind], prefix, after, list_one, &pg);
	free(after);
	if (rc < 0 || pg.error) {
		json_decref(pg.keys);
		free(pg.last);
		return pg.error ? pg.error
				: kc_error("%s: %s", argv[optind],
					   strerror(-rc));
	}
	{
		char *cur = pg.more ? kc_base64_encode(pg.last,
						       strlen(pg.last))
				    : NULL;
		json_t *out = json_pack("{s:o,s:b}", "keys", pg.keys,
					"list_complete", !pg.more);

		/* as the binding: a cursor only when there is more */
		if (cur)
			json_object_set_new(out, "cursor", json_string(cur));

		free(cur);
		free(pg.last);
		return kc_print(out, pretty);
	}
}
