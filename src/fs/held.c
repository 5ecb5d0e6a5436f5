/*
 * held.c - a process's descriptors of a file of this mount, from
 * /proc/PID/fdinfo (each descriptor's mount id and inode number) and
 * /proc/PID/mountinfo (each mount id's device and type).
 *
 * Nothing here touches the mount itself: following /proc/PID/fd/N would
 * send the daemon a request from within one.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/held.h"

#define MAX_MOUNTS	8	/* mount ids of candidate descriptors */

/*
 * The mount id and inode number of descriptor fd of pid, if it is open
 * for writing (a reader of the key does not hold its writer's file): 0,
 * or -1 (not a writer, or not known).
 */
static int fd_info(int pid, const char *fd, int *mnt, uint64_t *ino)
{
	char path[320], line[256];
	unsigned flags = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (found != 7 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "mnt_id: %d", mnt) == 1)
			found |= 1;
		else if (sscanf(line, "ino: %" SCNu64, ino) == 1)
			found |= 2;
		else if (sscanf(line, "flags: %o", &flags) == 1)
			found |= 4;
	}
	fclose(f);
	return found == 7 && (flags & O_ACCMODE) != O_RDONLY ? 0 : -1;
}

/* Is one of the mounts ids[] of pid's the mount conn (a FUSE mount)? */
static bool ours(int pid, const int *ids, size_t count, long conn)
{
	char path[64], *line = NULL;
	bool found = false;
	size_t cap = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		unsigned major, minor;
		char *type = strstr(line, " - ");
		int id;

		if (!type || sscanf(line, "%d %*d %u:%u", &id, &major,
				    &minor) != 3)
			continue;
		for (i = 0; i < count && ids[i] != id; i++)
			;
		if (i == count || strncmp(type + 3, "fuse", 4))
			continue;
		found = conn < 0 ||
			(long)(((unsigned long)major << 20) | minor) == conn;
	}
	free(line);
	fclose(f);
	return found;
}

bool held_by(int pid, long conn, uint64_t ino)
{
	int ids[MAX_MOUNTS], mnt;
	size_t count = 0, i;
	char path[64];
	struct dirent *d;
	uint64_t fino;
	DIR *dir;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (count < MAX_MOUNTS && (d = readdir(dir))) {
		if (d->d_name[0] == '.' ||
		    fd_info(pid, d->d_name, &mnt, &fino) || fino != ino)
			continue;
		for (i = 0; i < count && ids[i] != mnt; i++)
			;
		if (i == count)
			ids[count++] = mnt;
	}
	closedir(dir);
	return count && ours(pid, ids, count, conn);
}
