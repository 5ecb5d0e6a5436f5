/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share: copies of the
 * input sized exactly, so that AddressSanitizer sees a parser read one
 * byte past what it was given, and an assertion that names the property
 * that failed before it aborts (libFuzzer then saves the input).
 */
#ifndef KVFS_FUZZ_H
#define KVFS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input as a buffer of exactly len bytes (at least one allocated). */
static inline char *fuzz_copy(const void *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	if (!p)
		abort();
	memcpy(p, data, len);
	return p;
}

/* The input as a C string: len bytes and a NUL, nothing more. */
static inline char *fuzz_cstr(const void *data, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		abort();
	memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: property failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#endif
