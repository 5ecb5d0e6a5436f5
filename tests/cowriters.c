/*
 * cowriters.c - two writers of one key, each in a process of its own,
 * taking each step at the main process's word, so that a test sets the
 * order of their opens, writes and closes exactly.
 *
 *   cowriters PATH STEP...
 *
 * Both workers, A and B, start before the first step: neither holds a
 * copy of the other's descriptor (a process forked after an open holds
 * one, and its close of it, at its exit or its exec for a close-on-exec
 * descriptor, is a close(2) of that file).  A step is ACTOR=OP[:ARG]:
 *   A=open:FLAGS   open PATH with FLAGS, fsop's names (wronly,trunc)
 *   A=write:TEXT   write TEXT at the descriptor's offset
 *   A=close        close(2) the descriptor
 *   A=fstat        its size by fstat: "n"
 *   A=fork-close   a child of the worker closes the copy of the
 *                  descriptor it was forked with, and exits
 *   A=dup-close    the worker closes a duplicate of the descriptor
 *   M=unlink       the main process unlinks PATH
 *   M=rename:FROM  renames FROM over PATH
 *   M=put:TEXT     writes TEXT to PATH (open O_CREAT|O_TRUNC, close)
 * B takes the same steps as A.  Prints each step's result on a line of
 * its own: "OK", the errno's name, or fstat's size; exits 0, or 2 on a
 * bad step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oflags.h"

#define LINE_MAX_	4096

struct worker {
	pid_t pid;
	FILE *to;		/* its steps */
	FILE *from;		/* its results */
};

static void say(FILE *out, int rc)
{
	const char *name = strerrorname_np(errno);

	if (rc < 0)
		fprintf(out, "%s\n", name ? name : "UNKNOWN");
	else
		fprintf(out, "OK\n");
	fflush(out);
}

/* A child forked now closes its copy of fd: 0, or -1 and errno. */
static int fork_close(int fd)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(close(fd) ? errno : 0);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
		return -1;
	}
	return 0;
}

/* A worker: one step a line from in, its result a line to out. */
static void work(const char *path, FILE *in, FILE *out)
{
	char line[LINE_MAX_];
	struct stat st;
	int fd = -1;

	while (fgets(line, sizeof(line), in)) {
		char *arg = strchr(line, ':');

		line[strcspn(line, "\n")] = '\0';
		if (arg)
			*arg++ = '\0';
		if (!strcmp(line, "open") && arg) {
			fd = open(path, oflags_parse(arg), 0644);
			say(out, fd);
		} else if (!strcmp(line, "write") && arg) {
			ssize_t n = write(fd, arg, strlen(arg));

			if (n >= 0 && (size_t)n != strlen(arg)) {
				n = -1;
				errno = EIO;
			}
			say(out, (int)n);
		} else if (!strcmp(line, "close")) {
			say(out, close(fd));
			fd = -1;
		} else if (!strcmp(line, "fstat")) {
			if (fstat(fd, &st))
				say(out, -1);
			else
				fprintf(out, "%lld\n", (long long)st.st_size);
			fflush(out);
		} else if (!strcmp(line, "fork-close")) {
			say(out, fork_close(fd));
		} else if (!strcmp(line, "dup-close")) {
			int copy = dup(fd);

			say(out, copy < 0 ? copy : close(copy));
		} else {
			fprintf(out, "BAD\n");
			fflush(out);
		}
	}
	_exit(0);
}

static int start(struct worker *w, const char *path, struct worker *other)
{
	int to[2], from[2];

	if (pipe(to) || pipe(from))
		return -1;
	w->pid = fork();
	if (w->pid < 0)
		return -1;
	if (w->pid == 0) {
		if (other && other->to) {
			fclose(other->to);
			fclose(other->from);
		}
		close(to[1]);
		close(from[0]);
		work(path, fdopen(to[0], "r"), fdopen(from[1], "w"));
	}
	close(to[0]);
	close(from[1]);
	w->to = fdopen(to[1], "w");
	w->from = fdopen(from[0], "r");
	return w->to && w->from ? 0 : -1;
}

/* A step of the main process: its result. */
static int main_step(const char *path, const char *op, const char *arg)
{
	int fd, rc;

	if (!strcmp(op, "unlink"))
		return unlink(path);
	if (!strcmp(op, "rename") && arg)
		return rename(arg, path);
	if (!strcmp(op, "put") && arg) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -1;
		rc = write(fd, arg, strlen(arg)) == (ssize_t)strlen(arg)
			? 0 : -1;
		if (close(fd))
			rc = -1;
		return rc;
	}
	errno = EINVAL;
	return -2;
}

int main(int argc, char **argv)
{
	struct worker w[2] = { { 0 }, { 0 } };
	char line[LINE_MAX_];
	int i, j, bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: cowriters PATH STEP...\n");
		return 2;
	}
	if (start(&w[0], argv[1], NULL) || start(&w[1], argv[1], &w[0])) {
		perror("cowriters");
		return 2;
	}
	for (i = 2; i < argc && !bad; i++) {
		const char *s = argv[i], *op = s + 2;
		struct worker *to;

		if ((s[0] != 'A' && s[0] != 'B' && s[0] != 'M') ||
		    s[1] != '=') {
			bad = 1;
			break;
		}
		if (s[0] == 'M') {
			char name[64];
			const char *arg = strchr(op, ':');
			size_t len = arg ? (size_t)(arg - op) : strlen(op);
			int rc;

			snprintf(name, sizeof(name), "%.*s", (int)len, op);
			rc = main_step(argv[1], name, arg ? arg + 1 : NULL);
			if (rc == -2) {
				bad = 1;
				break;
			}
			say(stdout, rc);
			continue;
		}
		if (!strncmp(op, "open:", 5) &&
		    oflags_parse(op + 5) < 0) {
			bad = 1;
			break;
		}
		to = &w[s[0] == 'B'];
		fprintf(to->to, "%s\n", op);
		fflush(to->to);
		if (!fgets(line, sizeof(line), to->from) ||
		    !strcmp(line, "BAD\n")) {
			bad = 1;
			break;
		}
		fputs(line, stdout);
	}
	for (j = 0; j < 2; j++) {
		fclose(w[j].to);
		fclose(w[j].from);
		waitpid(w[j].pid, NULL, 0);
	}
	if (bad) {
		fprintf(stderr, "cowriters: bad step '%s'\n", argv[i]);
		return 2;
	}
	return 0;
}
