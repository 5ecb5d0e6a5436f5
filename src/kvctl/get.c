/*
 * get.c - kvctl get: one key's value as it is, or several keys as
 * one JSON object, like get(key) and get(keys[]) of Workers KV, with
 * getWithMetadata's {"value", "metadata"} on --with-metadata.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvctl/kvctl.h"
#include "common/xattr.h"

/* The most keys of one bulk get, as the binding's get(keys[]) takes. */
#define GET_MAX_KEYS	100

enum type { TYPE_TEXT, TYPE_JSON, TYPE_BINARY };

struct get_opts {
	enum type type;
	bool with_metadata, pretty;
};

/* The value as JSON: a string (text), the value as stored (json) or
 * base64 (binary).  NULL with *why set if it cannot be. */
static json_t *value_json(const char *data, size_t len, enum type type,
			  const char **why)
{
	json_t *j;
	char *b;

	switch (type) {
	case TYPE_JSON:
		/* as stored, compact: numbers as written (0.1, 1e400) */
		*why = "the value is not JSON (try --type text)";
		if (kvx_check_metadata(data, len, UINT64_MAX))
			return NULL;
		b = kc_json_compact(data, len);
		j = kc_raw_json(b, strlen(b));
		free(b);
		return j;
	case TYPE_BINARY:
		b = kc_base64_encode(data, len);
		j = json_string(b);
		free(b);
		return j;
	default:
		j = json_stringn(data, len);
		*why = "the value is not UTF-8 text (try --type binary)";
		return j;
	}
}

/* One key as JSON; *missing when it does not exist (j NULL, no error). */
static int get_json(const char *nsdir, const char *key,
		    const struct get_opts *o, json_t **out, bool *missing)
{
	char *path = kc_path(nsdir, key, strlen(key)), *data = NULL;
	const char *why = NULL;
	json_t *val = NULL, *meta = NULL;
	bool binary = false;
	size_t len;
	int rc;

	*out = NULL;
	*missing = false;
	rc = kc_check_parents(nsdir, key);
	if (!rc)
		rc = kc_read_key(path, &data, &len,
				 o->with_metadata ? &meta : NULL, NULL);
	if (rc == -ENOENT || rc == -EISDIR || rc == -ENOTDIR) {
		*missing = true;
		rc = 0;
		goto out;
	}
	if (rc) {
		rc = kc_error("%s: %s", key, rc == -EINVAL
			      ? "the metadata is not JSON"
			      : kc_put_reason(rc, "get"));
		goto out;
	}
	val = value_json(data, len, o->type, &why);
	if (!val && o->type == TYPE_TEXT) {
		/* not UTF-8: in base64, and marked so */
		val = value_json(data, len, TYPE_BINARY, &why);
		binary = true;
	}
	if (!val) {
		json_decref(meta);
		rc = kc_error("%s: %s", key, why);
		goto out;
	}
	if (o->with_metadata && binary)
		*out = json_pack("{s:o,s:s,s:o}", "value", val, "encoding",
				 "base64", "metadata",
				 meta ? meta : json_null());
	else if (o->with_metadata)
		*out = json_pack("{s:o,s:o}", "value", val, "metadata",
				 meta ? meta : json_null());
	else if (binary)
		*out = json_pack("{s:o,s:s}", "value", val, "encoding",
				 "base64");
	else
		*out = val;
out:
	free(data);
	free(path);
	return rc;
}

/* One key without metadata, not as JSON: its bytes as they are, UTF-8
 * or not. */
static int get_raw(const char *nsdir, const char *key)
{
	char *path = kc_path(nsdir, key, strlen(key)), *data = NULL;
	size_t len;
	int rc;

	rc = kc_check_parents(nsdir, key);
	if (!rc)
		rc = kc_read_key(path, &data, &len, NULL, NULL);
	free(path);
	if (rc == -ENOENT || rc == -EISDIR || rc == -ENOTDIR)
		return kc_error("%s: no such key", key);
	if (rc)
		return kc_put_error(key, rc, "get");
	rc = fwrite(data, 1, len, stdout) != len || fflush(stdout);
	free(data);
	return rc ? kc_error("cannot write the output") : 0;
}

static const char get_usage[] =
	"get [--type text|json|binary] [--with-metadata] [--pretty]\n"
	"           NSDIR [--] KEY...";

int kc_cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "with-metadata", no_argument, NULL, 'm' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct get_opts o = { TYPE_TEXT, false, false };
	json_t *all, *j;
	bool missing;
	int c, i, rc;

	while ((c = getopt_long(argc, argv, "t:mph", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!strcmp(optarg, "text"))
				o.type = TYPE_TEXT;
			else if (!strcmp(optarg, "json"))
				o.type = TYPE_JSON;
			else if (!strcmp(optarg, "binary"))
				o.type = TYPE_BINARY;
			else
				return kc_bad_arg("--type: text, json or "
						  "binary, not '%s'", optarg);
			break;
		case 'm': o.with_metadata = true; break;
		case 'p': o.pretty = true; break;
		case 'h':
			printf("usage: kvctl %s\n\n"
			       "One KEY: its value (text and binary: its bytes as "
			       "they are; json parsed and\nprinted compact, or "
			       "indented with --pretty); exit status 1 if it does "
			       "not\nexist. Several (at most 100): one JSON object "
			       "{key: value or null}.\n--with-metadata: "
			       "{\"value\", \"metadata\"} for each key.\n"
			       "In JSON, --type binary gives every value in "
			       "base64; with text, a value that is\nnot UTF-8 "
			       "is {\"value\": BASE64, \"encoding\": \"base64\"} "
			       "(with \"metadata\" too on\n--with-metadata).\n"
			       "Keys starting with '-' follow '--', after the "
			       "options: kvctl get NSDIR -- -KEY.\n",
			       get_usage);
			return 0;
		default:
			return kc_usage(get_usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return kc_usage(get_usage);
	if (argc - 1 > GET_MAX_KEYS)
		return kc_bad_arg("at most %d keys at once, as the bulk get "
				  "of Workers KV, not %d", GET_MAX_KEYS,
				  argc - 1);
	for (i = 1; i < argc; i++) {
		const char *why;

		if (kc_check_key(argv[i], strlen(argv[i]), &why))
			return kc_bad_arg("%s: %s", argv[i], why);
	}
	if (kc_check_nsdir(argv[0]))
		return 1;
	for (i = 1; i < argc; i++)
		if (kc_check_key_size(argv[0], argv[i]))
			return kc_put_error(argv[i], -ENAMETOOLONG, "get");
	if (argc == 2 && !o.with_metadata && o.type != TYPE_JSON)
		return get_raw(argv[0], argv[1]);
	if (argc == 2) {
		rc = get_json(argv[0], argv[1], &o, &j, &missing);
		if (missing)
			return kc_error("%s: no such key", argv[1]);
		return rc ? rc : kc_print(j, o.pretty);
	}
	all = json_object();
	for (i = 1; i < argc; i++) {
		rc = get_json(argv[0], argv[i], &o, &j, &missing);
		if (rc) {
			json_decref(all);
			return rc;
		}
		json_object_set_new(all, argv[i], missing ? json_null() : j);
	}
	return kc_print(all, o.pretty);
}
