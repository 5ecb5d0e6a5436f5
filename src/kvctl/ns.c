/*
 * ns.c - kvctl namespace create|list|get|delete, shaped as the
 * Azion namespace API: {"name", "created_at", "last_modified"}, and a list
 * {"count", "results"} paginated by --page and --page-size.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/names.h"
#include "kvctl/kvctl.h"

static const char ns_usage[] =
	"namespace create|get|delete MOUNT NAME [--pretty]\n"
	"       kvctl namespace list MOUNT [--page N] [--page-size M] [--pretty]";

/* A namespace as the API shows it: 0, or -errno. */
static int ns_json(const char *mount, const char *name, json_t **out)
{
	char *path = kc_path(mount, name, strlen(name));
	struct stat sb;
	int rc = stat(path, &sb) < 0 ? -errno : 0;

	free(path);
	if (rc)
		return rc;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	/* a namespace's ctime is its creation, its mtime the last change of
	 * any of its keys (SPEC 2) */
	*out = json_pack("{s:s,s:o,s:o}", "name", name, "created_at",
			 kc_iso8601(sb.st_ctime), "last_modified",
			 kc_iso8601(sb.st_mtime));
	return 0;
}

static int ns_error(const char *name, int err)
{
	switch (err) {
	case EINVAL:
		return kc_error("%s: a namespace name is 3 to 63 characters "
				"of A-Z a-z 0-9 _ -", name);
	case EEXIST:
		return kc_error("%s: the namespace exists", name);
	case EDQUOT:
		return kc_error("%s: the store has max_namespaces namespaces "
				"already", name);
	case ENOENT:
		return kc_error("%s: no such namespace", name);
	case ENOTEMPTY:
		return kc_error("%s: the namespace holds keys (delete them, "
				"or use --force)", name);
	default:
		return kc_error("%s: %s", name, strerror(err));
	}
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ns_list(const char *mount, long page, long size, bool pretty)
{
	json_t *results = json_array();
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	DIR *dir = opendir(mount);

	if (!dir)
		return kc_error("%s: %s", mount, strerror(errno));
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = kc_realloc(names, cap * sizeof(*names));
		}
		names[n++] = kc_strdup(d->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), by_str);
	for (i = 0; i < n; i++) {
		json_t *ns;

		if (i >= (size_t)((page - 1) * size) &&
		    i < (size_t)(page * size) &&
		    ns_json(mount, names[i], &ns) == 0)
			json_array_append_new(results, ns);
		free(names[i]);
	}
	free(names);
	return kc_print(json_pack("{s:I,s:o}", "count", (json_int_t)n,
				  "results", results), pretty);
}

/* rm -r of a namespace's content, for delete --force. */
static int remove_tree(const char *path)
{
	struct dirent *d;
	DIR *dir = opendir(path);
	int rc = 0;

	if (!dir)
		return -errno;
	while (!rc && (d = readdir(dir))) {
		char *p;
		struct stat sb;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		p = kc_path(path, d->d_name, strlen(d->d_name));
		if (lstat(p, &sb) < 0)
			rc = errno == ENOENT ? 0 : -errno;
		else if (S_ISDIR(sb.st_mode))
			rc = remove_tree(p);
		else if (unlink(p) < 0 && errno != ENOENT)
			rc = -errno;
		free(p);
	}
	closedir(dir);
	if (!rc && rmdir(path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

static long number(const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	return errno || *end || v < 1 || v > 1000000 ? -1 : v;
}

int kc_cmd_namespace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "page", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "pretty", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long page = 1, size = 50;
	bool pretty = false, force = false;
	const char *op, *mount, *name;
	json_t *ns;
	char *path;
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:s:fPh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((page = number(optarg)) < 0)
				return kc_bad_arg("--page: a number from 1, "
						  "not '%s'", optarg);
			break;
		case 's':
			if ((size = number(optarg)) < 0)
				return kc_bad_arg("--page-size: a number from "
						  "1, not '%s'", optarg);
			break;
		case 'f': force = true; break;
		case 'P': pretty = true; break;
		case 'h':
			printf("usage: kvctl %s\n\n"
			       "The namespaces of the kvfs mounted at MOUNT, as "
			       "{\"name\", \"created_at\",\n\"last_modified\"}. "
			       "list prints {\"count\", \"results\"}, --page-size "
			       "(50) a page.\ndelete refuses a namespace that "
			       "holds keys unless --force.\n", ns_usage);
			return 0;
		default:
			return kc_usage(ns_usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return kc_usage(ns_usage);
	op = argv[0];
	mount = argv[1];
	if (!strcmp(op, "list")) {
		if (argc != 2)
			return kc_usage(ns_usage);
		return kc_check_mount(mount) ? 1
					     : ns_list(mount, page, size,
						       pretty);
	}
	if (argc != 3 || (strcmp(op, "create") && strcmp(op, "delete") &&
			  strcmp(op, "get")))
		return kc_usage(ns_usage);
	name = argv[2];
	if (kvfs_check_ns_name(name, strlen(name)))
		return ns_error(name, EINVAL);
	if (kc_check_mount(mount))
		return 1;
	path = kc_path(mount, name, strlen(name));
	if (!strcmp(op, "create"))
		rc = mkdir(path, 0777) < 0 ? errno : 0;
	else if (!strcmp(op, "delete"))
		rc = force ? -remove_tree(path) : rmdir(path) < 0 ? errno : 0;
	else
		rc = 0;
	free(path);
	if (rc)
		return ns_error(name, rc);
	if (!strcmp(op, "delete"))
		return 0;
	rc = ns_json(mount, name, &ns);
	return rc ? ns_error(name, -rc) : kc_print(ns, pretty);
}
