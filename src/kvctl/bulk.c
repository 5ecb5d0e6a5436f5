/*
 * bulk.c - kvctl import and export in Cloudflare's bulk format:
 *
 *   [{"key", "value", "expiration", "expiration_ttl", "metadata",
 *     "base64"}]
 *
 * Import writes each entry as kvctl put does (value, metadata and
 * expiration appear together; the metadata as given, compact), with
 * expiration_ttl winning over expiration, and reports
 * {"successful_key_count", "unsuccessful_keys", "errors"}: the keys it
 * could not write, with the reason, among them those a filesystem cannot
 * hold (an empty, "." or ".." segment; a key that is also the prefix of
 * another).  Export prints text values as strings and others in base64,
 * metadata as stored, one entry a line: importing an export stores the
 * same bytes.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvctl/kvctl.h"
#include "common/xattr.h"

struct item {
	const char *key;
	size_t index;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->key,
		      ((const struct item *)b)->key);
}

/* Is some key of the sorted items below key (key + "/...")? */
static bool is_prefix(const struct item *items, size_t n, const char *key)
{
	size_t len = strlen(key), lo = 0, hi = n;
	char *dir = kc_alloc(len + 2);
	bool found;

	memcpy(dir, key, len);
	memcpy(dir + len, "/", 2);
	while (lo < hi) {		/* the first item >= key + "/" */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(items[mid].key, dir) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	found = lo < n && !strncmp(items[lo].key, dir, len + 1);
	free(dir);
	return found;
}

/*
 * Seconds from a JSON number: 0, or -EINVAL.  With fraction (a TTL, as put
 * --expiration-ttl and the binding's expirationTtl take) its whole seconds
 * count: 90.5 is 90, 0.5 is none.
 */
static int json_seconds(json_t *j, bool fraction, int64_t *out)
{
	double d;

	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return *out > 0 ? 0 : -EINVAL;
	}
	if (!json_is_real(j))
		return -EINVAL;
	d = json_real_value(j);
	if (d < 1 || d > 9.2e18 || (!fraction && floor(d) != d))
		return -EINVAL;
	*out = (int64_t)floor(d);
	return 0;
}

/*
 * Turn an entry into what kc_put takes; *reason says why not.  *value
 * and *meta are malloc'd when set.
 */
static int parse_entry(json_t *e, struct kc_value *v, char **value,
		       char **meta, const char **reason)
{
	json_t *key = json_object_get(e, "key");
	json_t *val = json_object_get(e, "value");
	json_t *b64 = json_object_get(e, "base64");
	json_t *exp = json_object_get(e, "expiration");
	json_t *ttl = json_object_get(e, "expiration_ttl");
	json_t *md = json_object_get(e, "metadata");

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	*value = *meta = NULL;
	if (!json_is_string(key))
		return *reason = "the key is not a string", -EINVAL;
	if (kc_check_key(json_string_value(key), json_string_length(key),
			 reason))
		return -EINVAL;
	if (!json_is_string(val))
		return *reason = "the value is not a string", -EINVAL;
	if (b64 && !json_is_boolean(b64))
		return *reason = "base64 is not true or false", -EINVAL;
	if (json_is_true(b64)) {
		if (kc_base64_decode(json_string_value(val),
				     json_string_length(val), value, &v->len))
			return *reason = "the value is not base64", -EINVAL;
		v->data = *value;
	} else {
		v->data = json_string_value(val);
		v->len = json_string_length(val);
	}
	if (ttl && !json_is_null(ttl) && json_seconds(ttl, true, &v->ttl))
		return *reason = "expiration_ttl is not a number of seconds",
		       -EINVAL;
	if (!v->ttl && exp && !json_is_null(exp) &&
	    json_seconds(exp, false, &v->expiration))
		return *reason = "expiration is not a Unix time", -EINVAL;
	if (md && !json_is_null(md)) {
		/* the text as given, compact: a stand-in (stand_in_metadata) */
		*meta = kc_dumps(md, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!*meta)
			return *reason = "the metadata cannot be written",
			       -EINVAL;
		v->meta = *meta;
		v->metalen = strlen(*meta);
		/* as put --metadata: past 64 KiB no store takes it (and
		 * the kernel would say E2BIG) */
		if (v->metalen > 65536)
			return *reason = kc_put_reason(-ERANGE, "metadata"),
			       -ERANGE;
	}
	return 0;
}

struct report {
	json_t *bad, *errors;
	size_t good;
};

static void failed(struct report *r, json_t *e, size_t index,
		   const char *reason)
{
	json_t *key = json_object_get(e, "key");

	if (json_is_string(key))
		json_array_append(r->bad, key);
	json_array_append_new(r->errors,
			      json_pack("{s:I,s:O,s:s}", "index",
					(json_int_t)index, "key",
					json_is_string(key) ? key : json_null(),
					"reason", reason));
}

static void progress(size_t done, size_t total)
{
	static size_t shown = (size_t)-1;

	if (total < 1000 || !isatty(2) || done * 100 / total == shown)
		return;
	shown = done * 100 / total;
	fprintf(stderr, "\rimporting: %zu of %zu keys (%zu%%)%s", done, total,
		shown, done == total ? "\n" : "");
}

static int import(const char *nsdir, json_t *all, bool pretty)
{
	size_t n = json_array_size(all), i, nitems = 0;
	struct item *items = kc_alloc(n * sizeof(*items));
	struct report r = { json_array(), json_array(), 0 };
	json_t *e;

	/* which keys lie below others: a filesystem cannot hold both */
	json_array_foreach(all, i, e) {
		json_t *key = json_object_get(e, "key");

		if (json_is_string(key))
			items[nitems++] = (struct item){ json_string_value(key),
							 i };
	}
	qsort(items, nitems, sizeof(*items), by_key);
	json_array_foreach(all, i, e) {
		const char *reason = NULL, *what;
		struct kc_value v;
		char *value, *meta;
		int rc;

		progress(i, n);
		if (!json_is_object(e)) {
			failed(&r, e, i, "the entry is not an object");
			continue;
		}
		rc = parse_entry(e, &v, &value, &meta, &reason);
		if (!rc && is_prefix(items, nitems,
				     json_string_value(json_object_get(e,
								       "key"))))
			rc = -EEXIST, reason = "the key is also the prefix of "
					       "another key";
		if (!rc) {
			rc = kc_put(nsdir, json_string_value(
					json_object_get(e, "key")), &v, &what);
			if (rc)
				reason = kc_put_reason(rc, what);
		}
		if (rc)
			failed(&r, e, i, reason);
		else
			r.good++;
		free(value);
		free(meta);
	}
	progress(n, n);
	free(items);
	i = json_array_size(r.bad) || json_array_size(r.errors);
	if (kc_print(json_pack("{s:I,s:o,s:o}", "successful_key_count",
			       (json_int_t)r.good, "unsuccessful_keys", r.bad,
			       "errors", r.errors), pretty))
		return 1;
	return i ? 1 : 0;
}

/*
 * Import stores each entry's metadata as given, compact, as put --metadata
 * does, where jansson would refuse a number past int64 or double and write
 * others its own way (0.1 as 0.10000000000000001).  So, before jansson
 * reads the file, the text of each entry's "metadata" that is valid JSON
 * (any RFC 8259 number) is replaced by its stand-in (kc_raw_json), a
 * string that parse_entry's kc_dumps writes back as that text, compact.
 * The newlines the text held follow the stand-in, so that jansson's line
 * numbers stay the file's.  What is not JSON stays as it is, for jansson
 * to refuse.
 */
struct edit {
	const char *text;
	size_t len, copied;	/* text[0..copied) is in out */
	struct kc_text out;
};

static size_t skip_space(const struct edit *ed, size_t i)
{
	while (i < ed->len && (ed->text[i] == ' ' || ed->text[i] == '\t' ||
			       ed->text[i] == '\n' || ed->text[i] == '\r'))
		i++;
	return i;
}

/* The end of the JSON value at i (strings and nesting followed, nothing
 * checked), or 0 if none ends there. */
static size_t value_end(const struct edit *ed, size_t i)
{
	size_t start = i, depth = 0;
	bool in_string = false;

	for (; i < ed->len; i++) {
		char c = ed->text[i];

		if (in_string) {
			if (c == '\\') {
				i++;
			} else if (c == '"') {
				in_string = false;
				if (!depth)
					return i + 1;
			}
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (!depth)
				return i > start ? i : 0;
			if (!--depth)
				return i + 1;
		} else if (!depth && strchr(", \t\n\r", c)) {
			return i > start ? i : 0;
		}
	}
	return in_string || depth || i == start ? 0 : i;
}

/* Is the string token text[from..to) "metadata"? */
static bool is_metadata(const struct edit *ed, size_t from, size_t to)
{
	json_t *s;
	bool yes;

	if (!memchr(ed->text + from, '\\', to - from))
		return to - from == 10 &&
		       !memcmp(ed->text + from, "\"metadata\"", 10);
	s = json_loadb(ed->text + from, to - from, JSON_DECODE_ANY, NULL);
	yes = json_string_length(s) == 8 &&
	      !memcmp(json_string_value(s), "metadata", 8);
	json_decref(s);
	return yes;
}

/* Put the stand-in of the metadata text[from..to) in out. */
static void stand_in(struct edit *ed, size_t from, size_t to)
{
	const char *t = ed->text + from;
	json_t *j;
	char *s;
	size_t i;

	/* null is no metadata, as jansson reads it */
	if ((to - from == 4 && !memcmp(t, "null", 4)) ||
	    kvx_check_metadata(t, to - from, SIZE_MAX))
		return;
	j = kc_raw_json(t, to - from);
	s = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s)
		return;
	kc_text_add(&ed->out, ed->text + ed->copied, from - ed->copied);
	kc_text_add(&ed->out, s, strlen(s));
	free(s);
	for (i = from; i < to; i++)
		if (ed->text[i] == '\n')
			kc_text_add(&ed->out, "\n", 1);
	ed->copied = to;
}

/* The members of the entry whose '{' is before i: past its '}', or 0. */
static size_t edit_entry(struct edit *ed, size_t i)
{
	for (;;) {
		size_t key, value, end;

		i = skip_space(ed, i);
		if (i < ed->len && ed->text[i] == '}')
			return i + 1;
		if (i >= ed->len || ed->text[i] != '"' ||
		    !(end = value_end(ed, i)))
			return 0;
		key = i;
		i = skip_space(ed, end);
		if (i >= ed->len || ed->text[i] != ':')
			return 0;
		value = skip_space(ed, i + 1);
		i = value_end(ed, value);
		if (!i)
			return 0;
		if (is_metadata(ed, key, end))
			stand_in(ed, value, i);
		i = skip_space(ed, i);
		if (i < ed->len && ed->text[i] == ',')
			i++;
		else if (i < ed->len && ed->text[i] == '}')
			return i + 1;
		else
			return 0;
	}
}

/* The file's text with each entry's metadata a stand-in, malloc'd in
 * *out; NULL there when no metadata needed one. */
static void stand_in_metadata(const char *text, size_t len, char **out,
			      size_t *outlen)
{
	struct edit ed = { text, len, 0, { NULL, 0, 0 } };
	size_t i = skip_space(&ed, 0);

	if (i < len && text[i] == '[') {
		do {
			i = skip_space(&ed, i + 1);
			if (i < len && text[i] == '{')
				i = edit_entry(&ed, i + 1);
			else
				i = value_end(&ed, i);
			if (i)
				i = skip_space(&ed, i);
		} while (i && i < len && text[i] == ',');
	}
	if (ed.out.buf)
		kc_text_add(&ed.out, text + ed.copied, len - ed.copied);
	*out = ed.out.buf;
	*outlen = ed.out.len;
}

static const char import_usage[] = "import NSDIR FILE|- [--pretty]";

int kc_cmd_import(int argc, char **argv)
{
	json_error_t err;
	json_t *all;
	char *text, *edited;
	size_t len, editedlen;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		printf("usage: kvctl %s\n\n"
		       "Write the keys of a Cloudflare bulk JSON file (an "
		       "array of {\"key\", \"value\",\n\"expiration\", "
		       "\"expiration_ttl\", \"metadata\", \"base64\"}) into "
		       "NSDIR. Prints\n{\"successful_key_count\", "
		       "\"unsuccessful_keys\", \"errors\"}; exit status 1 "
		       "if a key\nfailed.\n", import_usage);
		return 0;
	}
	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--pretty")))
		return kc_usage(import_usage);
	if (kc_check_nsdir(argv[1]))
		return 1;
	rc = strcmp(argv[2], "-") ? kc_read_path(argv[2], &text, &len)
				  : kc_read_fd(0, &text, &len);
	if (rc)
		return kc_error("%s: %s", argv[2], strerror(-rc));
	stand_in_metadata(text, len, &edited, &editedlen);
	if (edited) {
		free(text);
		text = edited;
		len = editedlen;
	}
	all = json_loadb(text, len, JSON_ALLOW_NUL, &err);
	free(text);
	if (!all)
		return kc_error("%s: line %d: %s", argv[2], err.line,
				err.text);
	if (!json_is_array(all)) {
		json_decref(all);
		return kc_error("%s: not a JSON array of keys", argv[2]);
	}
	rc = import(argv[1], all, argc == 4);
	json_decref(all);
	return rc;
}

struct export {
	size_t count;
	int error;
};

static int export_one(void *ctx, const char *key, const char *path)
{
	struct export *x = ctx;
	json_t *e, *meta = NULL;
	int64_t exp = 0;
	char *data, *out;
	size_t len;
	int rc;

	/* the metadata as stored, for import to store the same bytes */
	rc = kc_read_key(path, &data, &len, &meta, &exp);
	if (rc == -ENOENT)
		return 0;	/* deleted or expired meanwhile */
	if (rc) {
		x->error = kc_error("%s: %s", key, strerror(-rc));
		return 1;
	}
	if (kc_is_text(data, len)) {
		e = json_pack("{s:s,s:s%}", "key", key, "value", data, len);
	} else {
		char *b = kc_base64_encode(data, len);

		e = json_pack("{s:s,s:s,s:b}", "key", key, "value", b,
			      "base64", 1);
		free(b);
	}
	free(data);
	if (exp)
		json_object_set_new(e, "expiration", json_integer(exp));
	if (meta)
		json_object_set_new(e, "metadata", meta);
	out = kc_dumps(e, JSON_COMPACT);
	json_decref(e);
	if (!out) {
		x->error = kc_error("out of memory");
		return 1;
	}
	printf("%s%s", x->count++ ? ",\n" : "[\n", out);
	free(out);
	return 0;
}

static const char export_usage[] = "export NSDIR [--prefix P]";

int kc_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct export x = { 0, 0 };
	const char *prefix = "";
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prefix = optarg; break;
		case 'h':
			printf("usage: kvctl %s\n\n"
			       "Print the keys of NSDIR (those starting with "
			       "the prefix) in Cloudflare's bulk\nJSON format, "
			       "values that are not UTF-8 text in base64.\n",
			       export_usage);
			return 0;
		default:
			return kc_usage(export_usage);
		}
	}
	if (argc - optind != 1)
		return kc_usage(export_usage);
	if (kc_check_nsdir(argv[optind]))
		return 1;
	if (kc_prefix_can_start(prefix, strlen(prefix)))
		rc = kc_walk(argv[optind], prefix, NULL, export_one, &x);
	if (rc < 0)
		return kc_error("%s: %s", argv[optind], strerror(-rc));
	if (x.error)
		return x.error;
	printf("%s]\n", x.count ? "\n" : "[");
	return fflush(stdout) ? kc_error("cannot write the output") : 0;
}
