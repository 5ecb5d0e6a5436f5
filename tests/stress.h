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

/* The directories' model: set up before the processes start, then the
 * processes' loops, then the check of what they left. */
int tree_init(void);
int tree_renamer(unsigned seed, double until);
int tree_worker(int c, unsigned seed, double until);
int tree_forgetter(double until);
/* Check the tree against the model, and write the model to file (if not
 * NULL) for tree_check_file after a remount. */
void tree_check(const char *file);
void tree_check_file(const char *file);
void tree_counts(void);

#define TREE_CREATORS	3

#endif
