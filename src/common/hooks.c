/*
 * hooks.c - the test hooks (hooks.h): compiled in only with
 * KVFS_TEST_HOOKS, and then only acting when their variables are set.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hooks.h"
#include "common/log.h"

#define HOLD_MAX_MS	30000
#define HOLD_STEP_MS	10

int hook_build(void)
{
#ifdef KVFS_TEST_HOOKS
	return 1;
#else
	return 0;
#endif
}

const char *hook_env(const char *name)
{
#ifdef KVFS_TEST_HOOKS
	return getenv(name);
#else
	(void)name;
	return NULL;
#endif
}

void hook_hold(const char *point, const char *name)
{
#ifdef KVFS_TEST_HOOKS
	char var[64], held[4096];
	const char *want, *arm;
	struct timespec step = { 0, HOLD_STEP_MS * 1000000L };
	int waited;

	snprintf(var, sizeof(var), "KVFS_HOOK_%s", point);
	want = getenv(var);
	snprintf(var, sizeof(var), "KVFS_HOOK_%s_ARM", point);
	arm = getenv(var);
	if (!name || !want || !arm || strcmp(want, name))
		return;
	snprintf(held, sizeof(held), "%s.held", arm);
	if (rename(arm, held))
		return;		/* not armed, or another request took it */
	kvfs_log(KVFS_INFO, "hook: %s of \"%s\" held", point, name);
	for (waited = 0; waited < HOLD_MAX_MS && !access(held, F_OK);
	     waited += HOLD_STEP_MS)
		nanosleep(&step, NULL);
	kvfs_log(KVFS_INFO, "hook: %s of \"%s\" let go after %d ms", point,
		 name, waited);
#else
	(void)point;
	(void)name;
#endif
}

void hook_note(const char *point, const char *name)
{
#ifdef KVFS_TEST_HOOKS
	char var[64];
	const char *log;
	FILE *f;

	snprintf(var, sizeof(var), "KVFS_HOOK_%s_LOG", point);
	log = getenv(var);
	if (!name || !log)
		return;
	f = fopen(log, "a");
	if (!f)
		return;
	fprintf(f, "%s\n", name);
	fclose(f);
#else
	(void)point;
	(void)name;
#endif
}
