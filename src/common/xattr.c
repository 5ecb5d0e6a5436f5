/*
 * xattr.c - names and values of the kv extended attributes.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/xattr.h"

enum kvx_name kvx_classify(const char *name)
{
	if (!strcmp(name, KVX_METADATA))
		return KVX_NAME_METADATA;
	if (!strcmp(name, KVX_EXPIRATION))
		return KVX_NAME_EXPIRATION;
	if (!strcmp(name, KVX_EXPIRATION_TTL))
		return KVX_NAME_TTL;
	return KVX_NONE;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Does text (len bytes) match RFC 8259's number: -?int frac? exp? */
static bool is_number(const char *t, size_t len)
{
	size_t i = 0, d;

	if (i < len && t[i] == '-')
		i++;
	if (i < len && t[i] == '0')
		i++;
	else
		while (i < len && digit(t[i]))
			i++;
	if (i == 0 || !digit(t[i - 1]))
		return false;
	if (i < len && t[i] == '.') {
		for (d = ++i; i < len && digit(t[i]); i++)
			;
		if (i == d)
			return false;
	}
	if (i < len && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < len && (t[i] == '+' || t[i] == '-'))
			i++;
		for (d = i; i < len && digit(t[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == len;
}

/*
 * RFC 8259 sets no range on numbers, jansson does (int64, double): each
 * number outside strings becomes "0" padded with spaces, so that jansson
 * checks all else.  Runs of number characters that are no number stay,
 * for jansson to refuse.
 */
static void zero_numbers(char *t, size_t len)
{
	bool in_string = false;
	size_t i = 0, end;

	while (i < len) {
		if (in_string) {
			if (t[i] == '\\')
				i++;
			else if (t[i] == '"')
				in_string = false;
			i++;
			continue;
		}
		if (t[i] == '"') {
			in_string = true;
			i++;
			continue;
		}
		if (t[i] != '-' && !digit(t[i])) {
			i++;
			continue;
		}
		for (end = i; end < len && strchr("+-.eE0123456789", t[end]) &&
		     t[end]; end++)
			;
		if (is_number(t + i, end - i)) {
			t[i] = '0';
			memset(t + i + 1, ' ', end - i - 1);
		}
		i = end;
	}
}

int kvx_check_metadata(const void *value, size_t len, uint64_t max)
{
	json_error_t err;
	json_t *j;
	char *t;

	if (len > max)
		return -ERANGE;
	/* a raw NUL is never JSON text; jansson lets one pass after a
	 * number, true, false or null */
	if (memchr(value, '\0', len))
		return -EINVAL;
	t = malloc(len ? len : 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, value, len);
	zero_numbers(t, len);
	/* any JSON value, strings with \u0000 included; nothing after it */
	j = json_loadb(t, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	free(t);
	if (!j)
		return -EINVAL;
	json_decref(j);
	return 0;
}

int kvx_parse_seconds(const void *value, size_t len, int64_t *out)
{
	const unsigned char *p = value;
	int64_t v = 0;
	size_t i;

	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int d = p[i] - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int kvx_expiration(enum kvx_name which, const void *value, size_t len,
		   int64_t now, uint64_t min_ttl, int64_t *out)
{
	int64_t v;
	int rc;

	rc = kvx_parse_seconds(value, len, &v);
	if (rc)
		return rc;
	if (which == KVX_NAME_TTL) {
		if (v > INT64_MAX - now)
			return -EINVAL;
		v += now;
	} else if (which != KVX_NAME_EXPIRATION) {
		return -EINVAL;
	}
	if (min_ttl > (uint64_t)INT64_MAX || now > INT64_MAX - (int64_t)min_ttl
	    || v < now + (int64_t)min_ttl)
		return -EINVAL;
	*out = v;
	return 0;
}

size_t kvx_format(enum kvx_name which, int64_t expiration, int64_t now,
		  char *buf)
{
	int64_t v = expiration;
	char tmp[24];
	int n;

	if (which == KVX_NAME_TTL)
		v = expiration > now ? expiration - now : 0;
	n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	memcpy(buf, tmp, (size_t)n);
	return (size_t)n;
}
