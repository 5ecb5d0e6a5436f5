/*
 * fuzz_keys.c - libFuzzer target for the name rules of
 * common/names.h: namespace names, UTF-8, key segments and whole keys.
 *
 * Each rule is checked against a second, plainer reading of SPEC sections
 * 2 and 3 written here: the UTF-8 one follows the table of well-formed
 * byte sequences of Unicode (chapter 3, table 3-7) rather than decoding
 * code points as common/names.c does, so that a mistake in either shows up as a
 * disagreement.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/names.h"
#include "fuzz.h"

/* 3 to 63 characters of [A-Za-z0-9_-]. */
static bool ns_name_ok(const unsigned char *s, size_t len)
{
	static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "abcdefghijklmnopqrstuvwxyz"
				      "0123456789_-";
	size_t i;

	if (len < 3 || len > 63)
		return false;
	for (i = 0; i < len; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return false;
	return true;
}

/* Bytes of the well-formed sequence starting at s[0], or 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (s[0] >= 0x01 && s[0] <= 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;	/* NUL, continuation, C0, C1, F5..FF */
	/* the second byte's range excludes overlongs, surrogates, > 10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return n;
}

static bool utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq(s + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* What kvfs_check_segment() must answer. */
static int segment_rc(const unsigned char *s, size_t len)
{
	if (len == 0 || memchr(s, '/', len))
		return -EINVAL;
	if ((len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	return utf8_ok(s, len) ? 0 : -EILSEQ;
}

/* What kvfs_check_key() must answer: the first bad segment's error. */
static int key_rc(const unsigned char *s, size_t len, uint64_t max)
{
	const unsigned char *end = s + len, *slash;
	int rc;

	if (len > max)
		return -ENAMETOOLONG;
	for (;;) {
		slash = memchr(s, '/', (size_t)(end - s));
		rc = segment_rc(s, (size_t)((slash ? slash : end) - s));
		if (rc || !slash)
			return rc;
		s = slash + 1;
	}
}

static void check_key(const char *buf, size_t len, uint64_t max)
{
	const unsigned char *s = (const unsigned char *)buf;
	int rc = kvfs_check_key(buf, len, max);

	FUZZ_CHECK(rc == key_rc(s, len, max));
	if (rc == 0) {
		/* what a filesystem path needs, said again plainly */
		FUZZ_CHECK(len > 0 && len <= max);
		FUZZ_CHECK(s[0] != '/' && s[len - 1] != '/');
		FUZZ_CHECK(!memchr(s, '\0', len));
		FUZZ_CHECK(kvfs_check_utf8(buf, len) == 0);
	}
}

/*
 * A valid string cut before its last character is still valid; cut inside
 * that character (a truncated multibyte sequence) it is not.
 */
static void check_cut(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, n = 0, k;

	while (i + n < len) {
		i += n;
		n = utf8_seq(s + i, len - i);
	}
	FUZZ_CHECK(kvfs_check_utf8(buf, i) == 0);
	for (k = 1; k < n; k++)
		FUZZ_CHECK(kvfs_check_utf8(buf, i + k) == -EILSEQ);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size);
	const unsigned char *s = (const unsigned char *)buf;
	int rc;

	rc = kvfs_check_ns_name(buf, size);
	FUZZ_CHECK(rc == (ns_name_ok(s, size) ? 0 : -EINVAL));

	rc = kvfs_check_utf8(buf, size);
	FUZZ_CHECK(rc == (utf8_ok(s, size) ? 0 : -EILSEQ));
	if (rc == 0 && size > 0)
		check_cut(buf, size);

	rc = kvfs_check_segment(buf, size);
	FUZZ_CHECK(rc == segment_rc(s, size));

	check_key(buf, size, 512);		/* the default max_key_size */
	check_key(buf, size, size);		/* exactly at the limit */
	if (size > 0)
		check_key(buf, size, size - 1);	/* one byte over */

	free(buf);
	return 0;
}
