/*
 * fuzz_options.c - libFuzzer target for the option parsers of common/options.h.
 *
 * The whole input is given to each value parser as a C string, and, cut
 * at its first '=' as fs/main.c cuts "-o name=value", to kvfs_opts_set().
 * Each answer is checked against SPEC section 1 and the header read
 * plainly: a size is decimal digits and one optional K, M, G or T (powers
 * of 1024), -ERANGE only when it does not fit in 64 bits; a setting that is
 * accepted is the parsed value, within its bounds, and nothing else in
 * the options changes; a refused one changes nothing and says why.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/names.h"
#include "common/options.h"
#include "fuzz.h"

/*
 * What a count of the digits s[0..len) must parse to: 0 and *out, -EINVAL
 * if it is empty or not all digits, -ERANGE past UINT64_MAX.  For a text
 * that is both (digits too many for 64 bits, then a letter), which error
 * comes first is the parser's choice: *either is then set.
 */
static int count_rc(const char *s, size_t len, uint64_t *out, bool *either)
{
	unsigned __int128 v = 0;
	bool big = false;
	size_t i;

	*either = false;
	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*either = big;
			return -EINVAL;
		}
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > UINT64_MAX) {
			big = true;
			v = (unsigned __int128)UINT64_MAX + 1;
		}
	}
	if (big)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

static int size_rc(const char *s, uint64_t *out, bool *either)
{
	size_t len = strlen(s);
	unsigned shift = 0;
	uint64_t v;
	int rc;

	if (len && strchr("kK", s[len - 1]))
		shift = 10;
	else if (len && strchr("mM", s[len - 1]))
		shift = 20;
	else if (len && strchr("gG", s[len - 1]))
		shift = 30;
	else if (len && strchr("tT", s[len - 1]))
		shift = 40;
	rc = count_rc(s, len - (shift ? 1 : 0), &v, either);
	if (rc)
		return rc;
	if (v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* rc is what want says, or -ERANGE where either error may come first */
static bool same_rc(int rc, int want, bool either)
{
	return rc == want || (either && rc == -ERANGE);
}

static int bool_rc(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "1", "yes", "true" };
	static const char *const no[] = { "off", "0", "no", "false" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*out = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

static void check_parsers(const char *s)
{
	uint64_t got = 12345, want = 54321;
	bool b = false, wb = true, either;
	int rc;

	rc = kvfs_parse_count(s, &got);
	FUZZ_CHECK(same_rc(rc, count_rc(s, strlen(s), &want, &either),
			   either));
	FUZZ_CHECK(rc || got == want);
	FUZZ_CHECK(!rc || got == 12345);	/* untouched when refused */

	got = 12345;
	rc = kvfs_parse_size(s, &got);
	FUZZ_CHECK(same_rc(rc, size_rc(s, &want, &either), either));
	FUZZ_CHECK(rc || got == want);
	FUZZ_CHECK(!rc || got == 12345);

	rc = kvfs_parse_bool(s, &b);
	FUZZ_CHECK(rc == bool_rc(s, &wb));
	FUZZ_CHECK(rc || b == wb);
}

/* The options, their kinds and their bounds as SPEC and options.h say. */
enum kind { SIZE, COUNT, BOOL, NAME };

static const struct {
	const char *name;
	enum kind kind;
	uint64_t min, max;
} known[] = {
	{ "max_key_size", SIZE, 1, KVFS_KEY_SIZE_CEIL },
	{ "max_value_size", SIZE, 1, KVFS_VALUE_SIZE_CEIL },
	{ "max_metadata_size", SIZE, 2, KVFS_METADATA_CEIL },
	{ "min_expiration_ttl", COUNT, 0, KVFS_TTL_CEIL },
	{ "max_namespaces", COUNT, 1, KVFS_NAMESPACES_CEIL },
	{ "max_storage", SIZE, 0, KVFS_STORAGE_CEIL },
	{ "write_rate_limit", BOOL, 0, 1 },
	{ "node_cache", COUNT, KVFS_NODE_CACHE_MIN, KVFS_NODE_CACHE_CEIL },
	{ "default_namespace", NAME, 0, 0 },
};

/* The field of opts called name, or -1. */
static int find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].name, name))
			return (int)i;
	return -1;
}

/* Set field i of opts to what value must give; false if it is refused. */
static bool expect(struct kvfs_opts *o, int i, const char *value)
{
	uint64_t v = 0;
	bool b, either;
	uint64_t *fields[] = {
		&o->max_key_size, &o->max_value_size, &o->max_metadata_size,
		&o->min_expiration_ttl, &o->max_namespaces, &o->max_storage,
		NULL, &o->node_cache, NULL,
	};

	switch (known[i].kind) {
	case BOOL:
		if (bool_rc(value, &b))
			return false;
		o->write_rate_limit = b;
		return true;
	case NAME:
		if (strlen(value) >= sizeof(o->default_namespace) ||
		    kvfs_check_ns_name(value, strlen(value)))
			return false;
		strcpy(o->default_namespace, value);
		return true;
	case SIZE:
	case COUNT:
		if ((known[i].kind == SIZE ? size_rc(value, &v, &either)
					   : count_rc(value, strlen(value), &v,
						      &either)) ||
		    v < known[i].min || v > known[i].max)
			return false;
		*fields[i] = v;
		return true;
	}
	return false;
}

/* kvfs_opts_set() of name=value on the defaults, with why_len bytes. */
static void check_set(const char *name, const char *value, size_t why_len)
{
	struct kvfs_opts got, want;
	char *why = malloc(why_len ? why_len : 1);
	int i = find(name), rc;

	FUZZ_CHECK(why);
	memset(why, 0x55, why_len ? why_len : 1);
	kvfs_opts_defaults(&got);
	kvfs_opts_defaults(&want);
	rc = kvfs_opts_set(&got, name, value, why, why_len);
	if (i < 0) {
		FUZZ_CHECK(rc == -ENOENT);
	} else if (expect(&want, i, value)) {
		FUZZ_CHECK(rc == 0);
	} else {
		FUZZ_CHECK(rc == -EINVAL);
		/* one line saying what was expected, cut to fit why */
		if (why_len) {
			FUZZ_CHECK(memchr(why, '\0', why_len));
			FUZZ_CHECK(why_len == 1 || why[0] != '\0');
			FUZZ_CHECK(!strchr(why, '\n'));
		}
	}
	/* padding aside, the fields are compared one by one */
	FUZZ_CHECK(got.max_key_size == want.max_key_size);
	FUZZ_CHECK(got.max_value_size == want.max_value_size);
	FUZZ_CHECK(got.max_metadata_size == want.max_metadata_size);
	FUZZ_CHECK(got.min_expiration_ttl == want.min_expiration_ttl);
	FUZZ_CHECK(got.max_namespaces == want.max_namespaces);
	FUZZ_CHECK(got.max_storage == want.max_storage);
	FUZZ_CHECK(got.write_rate_limit == want.write_rate_limit);
	FUZZ_CHECK(got.node_cache == want.node_cache);
	FUZZ_CHECK(!strcmp(got.default_namespace, want.default_namespace));
	free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *eq;

	check_parsers(s);

	/* as fs/main.c passes -o name=value, and "on" for a bare name */
	eq = strchr(s, '=');
	if (eq)
		*eq = '\0';
	check_set(s, eq ? eq + 1 : "on", size % 97);
	check_set(s, eq ? eq + 1 : "on", 128);

	free(s);
	return 0;
}
