/*
 * names.c - validation of namespace names and keys.
 *
 * A key must be something both a KV store and a filesystem can hold: UTF-8
 * (as Workers KV and Azion require), within the configured length, made of
 * path segments that a directory can list.  A temporary key's name is
 * none of these on purpose: it starts with a byte UTF-8 never holds.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/names.h"

int kvfs_check_ns_name(const char *name, size_t len)
{
	size_t i;

	if (len < 3 || len > KVFS_NS_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int kvfs_check_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned need, k;
		uint32_t cp;

		if (c == 0)
			return -EILSEQ;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return -EILSEQ;	/* continuation, overlong lead, > F4 */
		}
		if (len - i <= need)
			return -EILSEQ;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -EILSEQ;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return -EILSEQ;
		i += need + 1;
	}
	return 0;
}

int kvfs_check_segment(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return kvfs_check_utf8(name, len);
}

int kvfs_check_key(const char *key, size_t len, uint64_t max)
{
	size_t start = 0, i;
	int rc;

	if (len > max)
		return -ENAMETOOLONG;
	for (i = 0; i <= len; i++) {
		if (i < len && key[i] != '/')
			continue;
		rc = kvfs_check_segment(key + start, i - start);
		if (rc)
			return rc;
		start = i + 1;
	}
	return 0;
}

bool kvfs_is_temp_name(const char *name, size_t len)
{
	return len >= 2 && len <= KVFS_TEMP_NAME_MAX &&
	       (unsigned char)name[0] == KVFS_TEMP_BYTE &&
	       kvfs_check_segment(name + 1, len - 1) == 0;
}
