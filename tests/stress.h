/*
 * stress.h - what the two halves of tests/stressload share: the keys'
 * model (stressload.c) and the directories' model (stresstree.c) report
 * problems, stamp and make values the same way.
 */
#ifndef KVFS_TESTS_STRESS_H
#define KVFS_TESTS_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The directory the processes work in. */
extern const char *root;

/* Count a problem (the run fails) and print it, the first 3 of its
 * kind and 60 in all. */
void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double now(void);
/* A block of len bytes (header included) made from id, as a value is. */
size_t make_block(unsigned char *out, size_t len, uint32_t id);

#endif
