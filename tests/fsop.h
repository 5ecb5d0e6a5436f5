/*
 * fsop.h - what fsop.c (one system call from the shell) shares with
 * fsrace.c (its commands that loop or race).
 */
#ifndef KVFS_TESTS_FSOP_H
#define KVFS_TESTS_FSOP_H

#include <stdbool.h>

/* Print "OK" if rc is 0, else the name of errno: 0, or 1. */
int result(int rc);
/* The errno of a failed call on fd, reported after closing fd. */
int fd_fail(int fd);

int rename_held(const char *from, const char *to);
int race_loop(const char *a, const char *b, long secs, bool flip);
int close_to_open(const char *path, long count);
int churn(const char *dir, const char *tag, long secs);

#endif
