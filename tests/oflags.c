/*
 * oflags.c - open(2) flags by name (oflags.h).
 */
#include <fcntl.h>
#include <string.h>

#include "oflags.h"

static const struct {
	const char *name;
	int flag;
} oflags[] = {
	{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
	{ "creat", O_CREAT }, { "excl", O_EXCL }, { "trunc", O_TRUNC },
	{ "append", O_APPEND }, { "directory", O_DIRECTORY },
	{ "nofollow", O_NOFOLLOW },
};

int oflags_parse(const char *s)
{
	size_t n = sizeof(oflags) / sizeof(oflags[0]);
	int flags = 0;

	while (*s) {
		size_t len = strcspn(s, ","), i;

		for (i = 0; i < n; i++)
			if (strlen(oflags[i].name) == len &&
			    !strncmp(oflags[i].name, s, len))
				break;
		if (i == n)
			return -1;
		flags |= oflags[i].flag;
		s += len + (s[len] == ',');
	}
	return flags;
}
