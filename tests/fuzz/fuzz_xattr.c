/*
 * fuzz_xattr.c - libFuzzer target for the attribute values of common/xattr.h:
 * metadata JSON, counts of seconds and expirations, and their text.
 *
 * The whole input is each kind of value in turn.  What is checked, from
 * SPEC section 4 and the README: metadata is refused with ERANGE past its
 * limit whatever it holds, and what is accepted is one JSON text (strict
 * UTF-8, nothing after it) that jansson reads back to the same value;
 * a number is decimal digits only, at most 2^63-1; an expiration is
 * accepted exactly when it is min_ttl seconds ahead, and the text getxattr
 * gives for it sets the same expiration again.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/xattr.h"
#include "common/options.h"
#include "fuzz.h"

/* time(NULL) of a running system is past 1970 */
static const int64_t nows[] = { 0, 1795339200, INT64_MAX - 60, INT64_MAX };
static const uint64_t min_ttls[] = { 0, 60, KVFS_TTL_CEIL, UINT64_MAX };

/* Strict UTF-8 without NUL, by the Unicode table of well-formed bytes. */
static bool utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;

	while (i < len) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (s[i] >= 0x01 && s[i] <= 0x7f) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4;
		else
			return false;
		lo = s[i] == 0xe0 ? 0xa0 : s[i] == 0xf0 ? 0x90 : 0x80;
		hi = s[i] == 0xed ? 0x9f : s[i] == 0xf4 ? 0x8f : 0xbf;
		if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k < n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n;
	}
	return true;
}

static void check_metadata(const char *buf, size_t len)
{
	json_error_t err;
	json_t *j, *back;
	char *text, *more;
	size_t n;
	int rc;

	/* the limit is checked first: too large is ERANGE even if not JSON */
	if (len > 0)
		FUZZ_CHECK(kvx_check_metadata(buf, len, len - 1) == -ERANGE);
	rc = kvx_check_metadata(buf, len, KVFS_METADATA_CEIL);
	if (len > KVFS_METADATA_CEIL) {
		FUZZ_CHECK(rc == -ERANGE);
		return;
	}
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(kvx_check_metadata(buf, len, len) == rc);
	if (rc)
		return;

	/* one JSON text: no stray NUL, UTF-8, not empty */
	FUZZ_CHECK(len > 0 && utf8_ok((const unsigned char *)buf, len));
	/* and nothing may follow it */
	more = malloc(len + 1);
	FUZZ_CHECK(more);
	memcpy(more, buf, len);
	more[len] = 'x';
	FUZZ_CHECK(kvx_check_metadata(more, len + 1, len + 1) == -EINVAL);
	free(more);

	/* it is a value jansson writes out and reads back the same, unless
	 * a number is past jansson's range (RFC 8259 sets none) */
	j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j) {
		FUZZ_CHECK(json_error_code(&err) ==
			   json_error_numeric_overflow);
		return;
	}
	text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	FUZZ_CHECK(text);
	n = strlen(text);
	back = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	FUZZ_CHECK(back && json_equal(j, back));
	/* and what jansson writes for it is metadata too */
	FUZZ_CHECK(kvx_check_metadata(text, n, n) == 0);
	json_decref(back);
	json_decref(j);
	free(text);
}

/* What kvx_parse_seconds() must say of the input. */
static bool seconds_ok(const char *s, size_t len, int64_t *out)
{
	static const char max[] = "9223372036854775807";
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	while (len > 1 && s[0] == '0') {
		s++;
		len--;
	}
	if (len > 19 || (len == 19 && memcmp(s, max, 19) > 0))
		return false;
	*out = 0;
	for (i = 0; i < len; i++)
		*out = *out * 10 + (s[i] - '0');
	return true;
}

/* The text getxattr gives for an expiration, set again: the same. */
static void check_format(enum kvx_name which, int64_t exp, int64_t now,
			 uint64_t min_ttl, int64_t v)
{
	char *buf = malloc(21), want[32];
	int64_t again = -1;
	size_t n;

	FUZZ_CHECK(buf);
	n = kvx_format(which, exp, now, buf);
	snprintf(want, sizeof(want), "%lld", (long long)v);
	FUZZ_CHECK(n == strlen(want) && !memcmp(buf, want, n));
	FUZZ_CHECK(kvx_expiration(which, buf, n, now, min_ttl, &again) == 0);
	FUZZ_CHECK(again == exp);
	free(buf);
}

/* Setting the input at now with min_ttl, its seconds v if ok. */
static void check_set(const char *buf, size_t len, bool ok, int64_t v,
		      int64_t now, uint64_t min_ttl)
{
	__int128 at = (__int128)now + v;
	int64_t out = -1;
	int rc;

	/* neither another name nor metadata sets an expiration */
	FUZZ_CHECK(kvx_expiration(KVX_NONE, buf, len, now, min_ttl,
				  &out) == -EINVAL);
	FUZZ_CHECK(kvx_expiration(KVX_NAME_METADATA, buf, len, now, min_ttl,
				  &out) == -EINVAL);
	FUZZ_CHECK(out == -1);

	/* absolute: at least min_ttl seconds ahead */
	rc = kvx_expiration(KVX_NAME_EXPIRATION, buf, len, now, min_ttl,
			    &out);
	if (ok && (__int128)v >= (__int128)now + min_ttl) {
		FUZZ_CHECK(rc == 0 && out == v);
		check_format(KVX_NAME_EXPIRATION, out, now, min_ttl, v);
	} else {
		FUZZ_CHECK(rc == -EINVAL && out == -1);
	}

	/* from now: at least min_ttl, and a second a signed 64 bits holds */
	out = -1;
	rc = kvx_expiration(KVX_NAME_TTL, buf, len, now, min_ttl, &out);
	if (ok && (uint64_t)v >= min_ttl && at <= INT64_MAX) {
		FUZZ_CHECK(rc == 0 && out == (int64_t)at);
		check_format(KVX_NAME_TTL, out, now, min_ttl, v);
	} else {
		FUZZ_CHECK(rc == -EINVAL && out == -1);
	}
}

static void check_expiration(const char *buf, size_t len)
{
	int64_t v = -1, out = -1;
	bool ok = seconds_ok(buf, len, &v);
	size_t i, k;

	FUZZ_CHECK(kvx_parse_seconds(buf, len, &out) == (ok ? 0 : -EINVAL));
	FUZZ_CHECK(out == v);	/* and untouched when refused */
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
		for (k = 0; k < sizeof(min_ttls) / sizeof(min_ttls[0]); k++)
			check_set(buf, len, ok, v, nows[i], min_ttls[k]);
}

/* Any expiration as text: the second, or the seconds left (0 if past). */
static void check_any_format(const uint8_t *data, size_t size)
{
	char *buf = malloc(21), want[32];
	int64_t exp, now = 1795339200;
	size_t n;

	FUZZ_CHECK(buf);
	if (size < sizeof(exp)) {
		free(buf);
		return;
	}
	memcpy(&exp, data, sizeof(exp));
	n = kvx_format(KVX_NAME_EXPIRATION, exp, now, buf);
	snprintf(want, sizeof(want), "%lld", (long long)exp);
	FUZZ_CHECK(n == strlen(want) && !memcmp(buf, want, n));
	n = kvx_format(KVX_NAME_TTL, exp, now, buf);
	snprintf(want, sizeof(want), "%lld",
		 (long long)(exp > now ? exp - now : 0));
	FUZZ_CHECK(n == strlen(want) && !memcmp(buf, want, n));
	free(buf);
}

static void check_classify(const char *s)
{
	enum kvx_name want = KVX_NONE;

	if (!strcmp(s, "user.kv.metadata"))
		want = KVX_NAME_METADATA;
	else if (!strcmp(s, "user.kv.expiration"))
		want = KVX_NAME_EXPIRATION;
	else if (!strcmp(s, "user.kv.expiration_ttl"))
		want = KVX_NAME_TTL;
	FUZZ_CHECK(kvx_classify(s) == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), *name = fuzz_cstr(data, size);

	check_metadata(buf, size);
	check_expiration(buf, size);
	check_any_format(data, size);
	check_classify(name);
	free(name);
	free(buf);
	return 0;
}
