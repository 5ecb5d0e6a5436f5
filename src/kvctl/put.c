/*
 * put.c - kvctl put and delete.
 *
 * A put writes the value, metadata and expiration on a temporary key at
 * the top of the namespace and renames it over the target, so a reader
 * sees the old key or the whole new one.  The temporary key's name starts
 * with the byte 0xFF, which no key can (common/names.h): it reserves no name a
 * user could write, kvfs lists none, and the next mount deletes any a
 * killed put left.  Keys are KV keys, not paths: a put makes the
 * directories its key needs, and a delete removes those it leaves empty.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/names.h"
#include "kvctl/kvctl.h"
#include "common/xattr.h"

/* "\xffkvctl-put.PID.N": N counts the names this process tried */
#define TEMP_NAME	"%ckvctl-put.%d.%u"

/*
 * mkdir -p of the directories above key in nsdir; made[] receives the
 * length of each one this call made (*nmade of them, shallowest first).
 */
static int make_parents(const char *nsdir, const char *key, size_t *made,
			size_t *nmade)
{
	const char *slash;

	*nmade = 0;
	for (slash = strchr(key, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t len = (size_t)(slash - key);
		char *dir = kc_path(nsdir, key, len);
		int rc = 0;

		if (mkdir(dir, 0777) == 0)
			made[(*nmade)++] = len;
		else if (errno != EEXIST)
			rc = -errno;
		free(dir);
		if (rc)
			return rc;
	}
	return 0;
}

/* Undo make_parents(): remove what it made, deepest first. */
static void remove_made(const char *nsdir, const char *key,
			const size_t *made, size_t nmade)
{
	while (nmade > 0) {
		char *dir = kc_path(nsdir, key, made[--nmade]);

		rmdir(dir);
		free(dir);
	}
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int copy_fd(int to, int from)
{
	static char buf[1 << 20];

	for (;;) {
		ssize_t r = read(from, buf, sizeof(buf));
		int rc;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : 0;
		rc = write_all(to, buf, (size_t)r);
		if (rc)
			return rc;
	}
}

/* Attributes first, so that the value's commit at close is the last. */
static int fill(int fd, const struct kc_value *v, const char **what)
{
	char num[24];
	int rc;

	if (v->meta && fsetxattr(fd, KVX_METADATA, v->meta, v->metalen, 0)) {
		*what = "metadata";
		return -errno;
	}
	if (v->ttl || v->expiration) {
		snprintf(num, sizeof(num), "%lld",
			 (long long)(v->ttl ? v->ttl : v->expiration));
		if (fsetxattr(fd, v->ttl ? KVX_EXPIRATION_TTL : KVX_EXPIRATION,
			      num, strlen(num), 0)) {
			*what = "expiration";
			return -errno;
		}
	}
	*what = "value";
	rc = v->fd >= 0 ? copy_fd(fd, v->fd) : write_all(fd, v->data, v->len);
	return rc;
}

int kc_put(const char *nsdir, const char *key, const struct kc_value *v,
	   const char **what)
{
	static unsigned int seq;
	char name[64], *tmp = NULL, *target;
	size_t *made = kc_alloc(strlen(key) * sizeof(*made)), nmade = 0;
	int fd = -1, rc, tries;

	*what = "temporary key";
	for (tries = 0; fd < 0 && tries < 100; tries++) {
		snprintf(name, sizeof(name), TEMP_NAME, (int)KVFS_TEMP_BYTE,
			 (int)getpid(), seq++);
		free(tmp);
		tmp = kc_path(nsdir, name, strlen(name));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	rc = fd < 0 ? -errno : fill(fd, v, what);
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;	/* the value's commit failed (EFBIG, ENOSPC) */
	if (!rc) {
		*what = "directories";
		rc = kc_check_parents(nsdir, key);
	}
	if (!rc)
		rc = make_parents(nsdir, key, made, &nmade);
	target = kc_path(nsdir, key, strlen(key));
	if (!rc) {
		*what = "rename";
		if (rename(tmp, target) < 0)
			rc = -errno;
	}
	if (rc && fd >= 0)
		unlink(tmp);
	if (rc)
		remove_made(nsdir, key, made, nmade);
	free(made);
	free(tmp);
	free(target);
	return rc;
}

const char *kc_put_reason(int err, const char *what)
{
	const char *why = strerror(-err);

	switch (-err) {
	case ERANGE:
		if (!strcmp(what, "metadata"))
			why = "the metadata is larger than the store's "
			      "max_metadata_size";
		break;
	case EINVAL:
		if (!strcmp(what, "metadata"))
			why = "the metadata is not valid JSON";
		else if (!strcmp(what, "expiration"))
			why = "the expiration is nearer than the store's "
			      "min_expiration_ttl (60 s unless set)";
		break;
	case EFBIG:
		why = "the value is larger than the store's max_value_size";
		break;
	case ENAMETOOLONG:
		why = "the key is longer than the store's max_key_size";
		break;
	case EISDIR:
		why = "a directory has the key's name (it is a prefix of "
		      "other keys)";
		break;
	case ENOTDIR:
		why = "a prefix of the key is itself a key";
		break;
	case EEXIST:
		if (!strcmp(what, "directories"))
			why = "a prefix of the key is itself a key";
		break;
	case EAGAIN:
		if (!strcmp(what, "rename"))
			why = "the key was written less than a second ago "
			      "(write_rate_limit)";
		break;
	default:
		break;
	}
	return why;
}

int kc_put_error(const char *key, int err, const char *what)
{
	return kc_error("%s: %s", key, kc_put_reason(err, what));
}

static const char put_usage[] =
	"put [--metadata JSON] [--expiration T] [--expiration-ttl S]\n"
	"           [--file F] NSDIR [--] KEY [VALUE | -]";

/* A number of seconds from the command line: 0, or a usage error. */
static int seconds(const char *text, int64_t *out)
{
	return kvx_parse_seconds(text, strlen(text), out) || *out == 0
		? -EINVAL : 0;
}

/*
 * A TTL may have a fraction, as the binding's expirationTtl: its whole
 * seconds count (90.5 is 90), as the binding keeps them.
 */
static int ttl_seconds(const char *text, int64_t *out)
{
	size_t whole = strcspn(text, ".");
	const char *frac = text + whole;

	if (*frac && (!frac[1] ||
		      strspn(frac + 1, "0123456789") != strlen(frac + 1)))
		return -EINVAL;
	return kvx_parse_seconds(text, whole, out) || *out == 0
		? -EINVAL : 0;
}

int kc_cmd_put(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "metadata", required_argument, NULL, 'm' },
		{ "expiration", required_argument, NULL, 'e' },
		{ "expiration-ttl", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kc_value v = { .fd = -1 };
	const char *file = NULL, *what, *why;
	char *meta = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "f:m:e:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'm': v.meta = optarg; v.metalen = strlen(optarg); break;
		case 'e':
			if (seconds(optarg, &v.expiration))
				return kc_bad_arg("--expiration: not a number "
						  "of seconds: '%s'", optarg);
			break;
		case 't':
			if (ttl_seconds(optarg, &v.ttl))
				return kc_bad_arg("--expiration-ttl: not a "
						  "number of seconds: '%s'",
						  optarg);
			break;
		case 'h':
			printf("usage: kvctl %s\n\n"
			       "Write KEY in the namespace directory NSDIR: its "
			       "value, metadata and\nexpiration appear together. "
			       "The value comes from VALUE, the file F (with\n"
			       "--file F, no VALUE), or standard input (-). "
			       "With both --expiration and\n"
			       "--expiration-ttl, the TTL wins. Keys starting "
			       "with '-' follow '--', after\nthe options: "
			       "kvctl put NSDIR --metadata M -- -KEY VALUE.\n",
			       put_usage);
			return 0;
		default:
			return kc_usage(put_usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3 || (argc == 3) == (file != NULL))
		return kc_usage(put_usage);
	/* both: the TTL wins, as in the binding and kvctl import */
	if (v.ttl)
		v.expiration = 0;
	if (kc_check_key(argv[1], strlen(argv[1]), &why))
		return kc_bad_arg("%s: %s", argv[1], why);
	/* valid as given; stored compact, as the binding stores
	 * JSON.stringify's output, so that size counts against the store's
	 * max_metadata_size */
	rc = v.meta ? kvx_check_metadata(v.meta, v.metalen, SIZE_MAX) : 0;
	if (!rc && v.meta) {
		meta = kc_json_compact(v.meta, v.metalen);
		v.meta = meta;
		v.metalen = strlen(meta);
		rc = kvx_check_metadata(v.meta, v.metalen, 65536);
	}
	if (rc) {
		free(meta);
		return kc_put_error(argv[1], rc, "metadata");
	}
	if (kc_check_nsdir(argv[0]))
		rc = 1;
	else if (kc_check_key_size(argv[0], argv[1]))
		rc = kc_put_error(argv[1], -ENAMETOOLONG, "put");
	else if (file && (v.fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		rc = kc_error("%s: %s", file, strerror(errno));
	if (rc) {
		free(meta);
		return rc;
	}
	if (!file && !strcmp(argv[2], "-"))
		v.fd = 0;
	else if (!file) {
		v.data = argv[2];
		v.len = strlen(argv[2]);
	}
	rc = kc_put(argv[0], argv[1], &v, &what);
	free(meta);
	if (v.fd > 0)
		close(v.fd);
	return rc ? kc_put_error(argv[1], rc, what) : 0;
}

/* Remove the directories above key that the delete left empty. */
static void remove_empty_parents(const char *nsdir, const char *key)
{
	size_t len = strlen(key);

	while (len > 0) {
		char *dir;
		int gone;

		while (len > 0 && key[len - 1] != '/')
			len--;
		if (len == 0)
			break;
		len--;		/* the '/' */
		dir = kc_path(nsdir, key, len);
		gone = rmdir(dir) == 0;
		free(dir);
		if (!gone)
			break;
	}
}

static const char delete_usage[] = "delete NSDIR [--] KEY...";

int kc_cmd_delete(int argc, char **argv)
{
	int i, status = 0;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		printf("usage: kvctl %s\n\nDelete each KEY of the namespace "
		       "directory NSDIR, and the directories\nit leaves empty. "
		       "A key that does not exist is not an error.\nKeys "
		       "starting with '-' may follow '--': kvctl delete NSDIR "
		       "-- -KEY.\n", delete_usage);
		return 0;
	}
	/*
	 * "--" ends the options there are none of, before NSDIR or after it,
	 * as getopt lets the others take it
	 */
	for (i = 1; i < argc && i <= 2; i++) {
		if (!strcmp(argv[i], "--")) {
			memmove(argv + i, argv + i + 1,
				(size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			break;
		}
	}
	if (argc < 3)
		return kc_usage(delete_usage);
	for (i = 2; i < argc; i++) {
		const char *why;

		if (kc_check_key(argv[i], strlen(argv[i]), &why))
			return kc_bad_arg("%s: %s", argv[i], why);
	}
	if (kc_check_nsdir(argv[1]))
		return 1;
	for (i = 2; i < argc; i++)
		if (kc_check_key_size(argv[1], argv[i]))
			return kc_put_error(argv[i], -ENAMETOOLONG, "delete");
	for (i = 2; i < argc; i++) {
		char *path;

		if (kc_check_parents(argv[1], argv[i]) == -ENOTDIR)
			continue;	/* below a link: no such key */
		path = kc_path(argv[1], argv[i], strlen(argv[i]));
		/* a directory, or a name below a key, is no key: missing */
		if (unlink(path) == 0)
			remove_empty_parents(argv[1], argv[i]);
		else if (errno != ENOENT && errno != EISDIR &&
			 errno != ENOTDIR)
			status = kc_put_error(argv[i], -errno, "delete");
		free(path);
	}
	return status;
}
