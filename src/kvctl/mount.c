/*
 * mount.c - where a kvctl path lies.  The namespace commands work on
 * the root of a kvfs mount (MOUNT), the key commands on a namespace in it
 * (NSDIR), and neither on anything else: a mistyped path is refused with
 * one line, before anything is read or written.
 *
 * A path is on a kvfs mount when /proc/self/mountinfo lists its device
 * number with the type fuse.kvfs (kvfs mounts with the subtype kvfs, and
 * mount -t fuse.kvfs gives the same).  statfs cannot tell: its f_type is
 * FUSE_SUPER_MAGIC for every FUSE filesystem.  The root of the mount is
 * inode 1, as FUSE numbers it; a namespace is a directory whose parent
 * ("..", as the kernel resolves it) is that root.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kvctl/kvctl.h"

#define ROOT_INO	1	/* FUSE_ROOT_ID */

/* Is the filesystem of device dev a kvfs? */
static bool on_kvfs(dev_t dev)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		unsigned int major, minor;
		const char *sep = strstr(line, " - ");

		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ... - TYPE SOURCE ... */
		if (sep && sscanf(line, "%*u %*u %u:%u", &major, &minor) == 2)
			found = makedev(major, minor) == dev &&
				!strncmp(sep + 3, "fuse.kvfs ", 10);
	}
	free(line);
	fclose(f);
	return found;
}

static bool is_root(const struct stat *sb)
{
	return S_ISDIR(sb->st_mode) && sb->st_ino == ROOT_INO &&
	       on_kvfs(sb->st_dev);
}

/* The directory holding path, malloc'd: "a/b/" -> "a", "b" -> ".". */
static char *parent_of(const char *path)
{
	char *p = kc_strdup(path), *slash;
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	slash = strrchr(p, '/');
	if (!slash) {
		free(p);
		return kc_strdup(".");
	}
	if (slash == p)
		slash[1] = '\0';	/* "/x" -> "/" */
	else
		*slash = '\0';
	return p;
}

int kc_check_mount(const char *mount)
{
	struct stat sb;

	if (stat(mount, &sb) < 0)
		return kc_error("%s: %s", mount, strerror(errno));
	if (!on_kvfs(sb.st_dev))
		return kc_error("%s: not a kvfs mount", mount);
	if (!is_root(&sb))
		return kc_error("%s: not the root of a kvfs mount (MOUNT is "
				"where kvfs is mounted)", mount);
	return 0;
}

/* nsdir does not exist: say why in the words of where it would be. */
static int missing(const char *nsdir)
{
	char *parent = parent_of(nsdir);
	struct stat up;
	int rc;

	if (stat(parent, &up) < 0)
		rc = kc_error("%s: %s", nsdir, strerror(ENOENT));
	else if (is_root(&up))
		rc = kc_error("%s: no such namespace", nsdir);
	else if (on_kvfs(up.st_dev))
		rc = kc_error("%s: not a namespace of a kvfs mount (NSDIR is "
			      "MOUNT/NAME)", nsdir);
	else
		rc = kc_error("%s: not on a kvfs mount", nsdir);
	free(parent);
	return rc;
}

int kc_check_nsdir(const char *nsdir)
{
	struct stat sb, up;
	char *parent;
	bool ns;

	if (stat(nsdir, &sb) < 0)
		return errno == ENOENT ? missing(nsdir)
				       : kc_error("%s: %s", nsdir,
						  strerror(errno));
	if (!on_kvfs(sb.st_dev))
		return kc_error("%s: not on a kvfs mount", nsdir);
	if (is_root(&sb))
		return kc_error("%s: the root of a kvfs mount, not a namespace "
				"(NSDIR is MOUNT/NAME)", nsdir);
	parent = kc_path(nsdir, "..", 2);
	ns = S_ISDIR(sb.st_mode) && stat(parent, &up) == 0 &&
	     up.st_dev == sb.st_dev && up.st_ino == ROOT_INO;
	free(parent);
	return ns ? 0 : kc_error("%s: not a namespace of a kvfs mount (NSDIR "
				 "is MOUNT/NAME)", nsdir);
}
