/*
 * mountpoint.c - the directory kvfs mounts on, and its own mount.
 *
 * Before anything is created, the MOUNTPOINT must be a directory: the
 * kernel would mount a FUSE root on a regular file too, with the file's
 * type, and every access would fail.  A mountpoint left by a FUSE daemon
 * that died answers ENOTCONN to everything, a stat included; its entry in
 * /proc/self/mountinfo says whose it was (fuse.kvfs, and the store as its
 * source), so that kvfs can clear its own and name the command for any
 * other, and tell a kvfs of its store that serves a mount from one that
 * was unmounted and is still exiting.  The same table gives the number
 * of kvfs's connection, by which a stop that hangs aborts it (stop.c);
 * the same number names the mount's backing device in sysfs, whose
 * read-ahead kvfs raises so that large reads come in large READs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/mountpoint.h"

extern char **environ;

/* One line of /proc/self/mountinfo, the fields kvfs reads. */
struct mount_entry {
	unsigned major, minor;
	char point[PATH_MAX];
	char fstype[64];
	char source[PATH_MAX];
};

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* Copy field src, unescaped, to dst of size bytes: false if too long. */
static bool copy_field(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size)
		return false;
	strcpy(dst, src);
	unescape(dst);
	return true;
}

/*
 * Parse one line: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE
 * SOURCE SUPER".  Returns false for a line it cannot read.
 */
static bool parse_line(char *line, struct mount_entry *m)
{
	char *sep = strstr(line, " - "), *save, *tok;
	int i;

	if (!sep)
		return false;
	*sep = '\0';
	tok = strtok_r(line, " ", &save);
	for (i = 0; tok && i < 4; i++) {
		if (i == 2 && sscanf(tok, "%u:%u", &m->major, &m->minor) != 2)
			return false;
		tok = strtok_r(NULL, " ", &save);
	}
	if (!tok || !copy_field(m->point, sizeof(m->point), tok))
		return false;
	tok = strtok_r(sep + 3, " \n", &save);
	if (!tok || !copy_field(m->fstype, sizeof(m->fstype), tok))
		return false;
	tok = strtok_r(NULL, " \n", &save);
	return tok && copy_field(m->source, sizeof(m->source), tok);
}

/* The newest mount at path: 0, -ENOENT if none, or -errno. */
static int find_mount(const char *path, struct mount_entry *m)
{
	struct mount_entry cur;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (parse_line(line, &cur) && !strcmp(cur.point, path)) {
			*m = cur;
			rc = 0;	/* a later line is a mount on top of it */
		}
	}
	free(line);
	fclose(f);
	return rc;
}

bool mountpoint_store_mounted(const char *store)
{
	struct mount_entry cur;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = parse_line(line, &cur) &&
			!strcmp(cur.fstype, "fuse.kvfs") &&
			!strcmp(cur.source, store);
	free(line);
	fclose(f);
	return found;
}

/* The connection number: the kernel's dev_t of the mount. */
static long conn_of(const struct mount_entry *m)
{
	return (long)(((unsigned long)m->major << 20) | m->minor);
}

/* Are a and b the same directory? */
static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The absolute path of arg whose last component cannot be resolved (a
 * dead mount): its directory resolved, and its name.  NULL if there is no
 * such name ("/", ".", "..") or the directory cannot be resolved either.
 */
static char *unresolved_path(const char *arg)
{
	char *copy = strdup(arg), *slash, *dir, *base, *out = NULL;
	size_t len;

	if (!copy)
		return NULL;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		base = copy;
		dir = realpath(".", NULL);
	} else {
		base = slash + 1;
		if (slash == copy)
			dir = realpath("/", NULL);
		else {
			*slash = '\0';
			dir = realpath(copy, NULL);
		}
	}
	if (dir && *base && strcmp(base, ".") && strcmp(base, "..")) {
		out = malloc(strlen(dir) + strlen(base) + 2);
		if (out)
			sprintf(out, "%s/%s", strcmp(dir, "/") ? dir : "", base);
	}
	free(dir);
	free(copy);
	return out;
}

int mountpoint_check(const char *arg, const char *store, char **path,
		     bool *own)
{
	struct mount_entry m;
	struct stat sb;
	int err;

	*own = false;
	*path = realpath(arg, NULL);
	if (*path) {
		/* a dead mount resolves (it is no link), but stat fails */
		if (stat(*path, &sb) == 0)
			return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
		err = errno;
	} else {
		err = errno;
		if (err == ENOTCONN)
			*path = unresolved_path(arg);
	}
	if (err != ENOTCONN)
		return -err;
	/* the dead mount is arg itself, not a directory above it */
	if (*path && find_mount(*path, &m) == 0) {
		*own = !strcmp(m.fstype, "fuse.kvfs") &&
		       same_dir(m.source, store);
	} else {
		free(*path);
		*path = NULL;
	}
	return -ENOTCONN;
}

int mountpoint_detach(const char *path)
{
	char *const argv[] = { (char *)"fusermount3", (char *)"-u",
			       (char *)"-q", (char *)"-z", (char *)"--",
			       (char *)path, NULL };
	pid_t pid;
	int status, rc;

	if (umount2(path, MNT_DETACH) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	/* a user's own FUSE mount: fusermount3 is set-user-ID root */
	rc = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
	if (rc)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

long mountpoint_conn(const char *path)
{
	struct mount_entry m;

	if (find_mount(path, &m) || strncmp(m.fstype, "fuse", 4))
		return -1;
	return conn_of(&m);
}

/* Is connection conn still mounted at path? */
static bool mounted_at(long conn, const char *path)
{
	struct mount_entry m;

	return find_mount(path, &m) == 0 && conn_of(&m) == conn;
}

int mountpoint_abort(long conn, const char *path)
{
	char file[64];
	int fd, rc;

	if (conn < 0)
		return -ENOENT;
	snprintf(file, sizeof(file), "/sys/fs/fuse/connections/%ld/abort",
		 conn);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		rc = write(fd, "1", 1) == 1 ? 0 : -errno;
		close(fd);
	} else {
		rc = -errno;
	}
	if (rc && mounted_at(conn, path)) {
		/* no fusectl: a forced unmount aborts the connection too */
		if (umount2(path, MNT_FORCE) == 0)
			return 0;
		if (errno != EBUSY)
			return rc;
		rc = 0;
	}
	/* what is still inside keeps the mount until it leaves; if this
	 * fails, the next kvfs of the store clears the dead mount */
	if (!rc && mounted_at(conn, path))
		mountpoint_detach(path);
	return rc;
}

int mountpoint_readahead(long conn, unsigned kb)
{
	char file[80], buf[32];
	unsigned long now;
	ssize_t n;
	int fd, rc = 0;

	if (conn < 0)
		return -ENOENT;
	snprintf(file, sizeof(file), "/sys/class/bdi/%lu:%lu/read_ahead_kb",
		 (unsigned long)conn >> 20, (unsigned long)conn & 0xfffff);
	fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = '\0';
		now = strtoul(buf, NULL, 10);
		if (now >= kb) {
			close(fd);
			return 0;
		}
	}
	n = snprintf(buf, sizeof(buf), "%u", kb);
	if (pwrite(fd, buf, (size_t)n, 0) != n)
		rc = -errno;
	close(fd);
	return rc;
}
