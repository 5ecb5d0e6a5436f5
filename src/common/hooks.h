/*
 * hooks.h - test hooks: what the test build of the daemon
 * (tests/kvfs-hooks, compiled with KVFS_TEST_HOOKS) reads from its
 * environment to stand for another machine or to hold a request at a
 * chosen point.  In kvfs itself every hook does nothing.
 */
#ifndef KVFS_HOOKS_H
#define KVFS_HOOKS_H

/* The value of the environment variable name in a test build, else NULL. */
const char *hook_env(const char *name);

/*
 * Hold a request at point (LOOKUP, OPEN, ...) on the file name: in a test
 * build whose environment has KVFS_HOOK_<point>=name and
 * KVFS_HOOK_<point>_ARM=FILE, the first such request after FILE is made
 * renames it to FILE.held and waits until FILE.held is removed (30 s at
 * most), so that a test can do what it wants done in that window, then
 * let the request go on.  One arming holds one request.
 */
void hook_hold(const char *point, const char *name);

/*
 * Note a request at point (LOOKUP, ...) on the file name: in a test
 * build whose environment has KVFS_HOOK_<point>_LOG=FILE, a line with
 * the name is appended to FILE, so that a test can count the requests
 * the kernel sent for a name.
 */
void hook_note(const char *point, const char *name);

/* Whether hooks are compiled in: a caller skips the work of naming. */
int hook_build(void);

#endif
