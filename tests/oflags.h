/*
 * oflags.h - open(2) flags by name, for the test programs that take them
 * on their command line (fsop, cowriters).
 */
#ifndef KVFS_TESTS_OFLAGS_H
#define KVFS_TESTS_OFLAGS_H

/*
 * "wronly,creat" -> O_WRONLY | O_CREAT (rdonly wronly rdwr creat excl
 * trunc append directory nofollow); -1 for an unknown name.
 */
int oflags_parse(const char *s);

#endif
