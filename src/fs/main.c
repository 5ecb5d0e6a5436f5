/*
 * main.c - the daemon: options, the store, the mount, the request loop.
 *
 *     kvfs [options] STORE MOUNTPOINT
 *
 * Options are parsed with fuse_opt; kvfs's own (SPEC section 1), the
 * FUSE ones and the MOUNTPOINT are checked before anything is created or
 * mounted, and a bad one stops the program with a one-line message and
 * status 1.  Unless -f is given the daemon forks first and the parent
 * waits to learn whether the store opened and the mount succeeded, so
 * that errors reach the terminal and the exit status (and `mount -t
 * fuse.kvfs`) tells the truth.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "fs/follow.h"
#include "fs/mountpoint.h"
#include "fs/retry.h"
#include "fs/ops.h"
#include "fs/ratelimit.h"
#include "fs/splice.h"
#include "fs/stop.h"
#include "fs/syncer.h"
#include "fs/sweep.h"
#include "fs/tell.h"
#include "fs/trim.h"
#include "fs/worker.h"
#include "remote/remote.h"

/* What the kernel may cache; kvfs is the only writer of its store. */
#define ENTRY_TIMEOUT		86400.0
#define ATTR_TIMEOUT		86400.0
#define DIR_ATTR_TIMEOUT	1.0

/*
 * How long the kernel may remember that a name is absent, in seconds: a
 * second, as a directory's attributes.  An entry found is kept long, as
 * every change to it comes through the mount; an absence is asked again
 * soon, so that an answer of "absent" holds at most a second past the
 * moment it was true, while a program that looks for the same absent
 * names over and over still has most answers from the kernel.  A
 * replica caches no absence: a name another host creates is dropped from
 * the kernel by the follower (follow.c) once applied, but a lookup that
 * read the store before it could still answer "absent" after it.
 */
#define NEGATIVE_TIMEOUT	1.0

/* How long a replica waits for PostgreSQL unless -o remote_timeout. */
#define REMOTE_TIMEOUT_S	5
#define REMOTE_TIMEOUT_MAX	3600
/* The longest -o tombstones: ten years of seconds. */
#define TOMBSTONES_MAX		315360000ul

/*
 * A kvfs unmounted by fusermount3 -u holds its store until it has written
 * its last checkpoint and exited, a moment after the unmount returns: a
 * new kvfs of the store waits for it up to STORE_WAIT_MS, saying so after
 * STORE_SAY_MS, and polls every STORE_POLL_MS.
 */
#define STORE_WAIT_MS		10000
#define STORE_SAY_MS		1000
#define STORE_POLL_MS		50

/*
 * Threads of the request loop, unless -o max_threads says otherwise:
 * libfuse's default of 10.  No request waits for a notification to the
 * kernel (tell.h), nor for the disk to flush (syncer.h), so a few threads
 * keep up with hundreds of processes closing keys in one directory
 * (tests/35-closers.sh) and answer reads while fsyncs wait
 * (tests/51-fsync-wait.sh).  Past a burst, threads beyond
 * KVFS_IDLE_THREADS idle ones end, with their 1 MiB request buffers.
 */
#define KVFS_MAX_THREADS	10
#define KVFS_IDLE_THREADS	10

enum { KEY_HELP, KEY_VERSION, KEY_KVOPT, KEY_ALLOW_OTHER, KEY_MAX_THREADS,
       KEY_IDLE_THREADS, KEY_REMOTE, KEY_REMOTE_TIMEOUT, KEY_TOMBSTONES,
       KEY_REMOTE_PUSH, KEY_VALUE_CACHE };

/* The options of a replica (-o remote=...). */
struct remote_args {
	const char *conninfo;
	unsigned timeout_s;
	unsigned long tombstone_s;	/* 0: not given */
	bool push;			/* -o remote_push */
	uint64_t value_cache;		/* bytes, 0: every value */
};

struct cli {
	char *store;
	char *mountpoint;	/* as given, unless /dev/fd/N (libfuse's) */
	bool help, version, bad;
	bool allow_other;	/* then the kernel checks permissions */
	bool max_threads, idle_threads;	/* -o max_(idle_)threads given */
	struct kvfs_opts opts;
	char *remote;		/* -o remote=CONNINFO */
	uint64_t remote_timeout;	/* seconds, 0: not given */
	uint64_t tombstones;		/* seconds, 0: not given */
	bool remote_push;		/* -o remote_push */
	uint64_t value_cache;		/* bytes, 0: not given */
};

static const struct fuse_opt cli_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("max_key_size=", KEY_KVOPT),
	FUSE_OPT_KEY("max_value_size=", KEY_KVOPT),
	FUSE_OPT_KEY("max_metadata_size=", KEY_KVOPT),
	FUSE_OPT_KEY("min_expiration_ttl=", KEY_KVOPT),
	FUSE_OPT_KEY("max_namespaces=", KEY_KVOPT),
	FUSE_OPT_KEY("max_storage=", KEY_KVOPT),
	FUSE_OPT_KEY("write_rate_limit", KEY_KVOPT),
	FUSE_OPT_KEY("write_rate_limit=", KEY_KVOPT),
	FUSE_OPT_KEY("default_namespace=", KEY_KVOPT),
	FUSE_OPT_KEY("node_cache=", KEY_KVOPT),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("max_threads=", KEY_MAX_THREADS),
	FUSE_OPT_KEY("max_idle_threads=", KEY_IDLE_THREADS),
	FUSE_OPT_KEY("remote=", KEY_REMOTE),
	FUSE_OPT_KEY("remote_timeout=", KEY_REMOTE_TIMEOUT),
	FUSE_OPT_KEY("tombstones=", KEY_TOMBSTONES),
	FUSE_OPT_KEY("remote_push", KEY_REMOTE_PUSH),
	FUSE_OPT_KEY("value_cache=", KEY_VALUE_CACHE),
	FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s [options] STORE MOUNTPOINT\n\n"
	       "Mount the key-value store in directory STORE (created if missing)\n"
	       "at MOUNTPOINT: one directory per namespace, one file per key.\n\n"
	       "kvfs options:\n"
	       "    -o max_key_size=N         bytes of a key (default 512)\n"
	       "    -o max_value_size=N       bytes of a value (default 25M)\n"
	       "    -o max_metadata_size=N    bytes of metadata JSON (default 1024)\n"
	       "    -o min_expiration_ttl=N   seconds, nearest expiry (default 60)\n"
	       "    -o max_namespaces=N       namespaces in the store (default 1000)\n"
	       "    -o max_storage=N          bytes of values, 0 = none (default 0)\n"
	       "    -o write_rate_limit=on    one write per key per second (default off)\n"
	       "    -o default_namespace=NAME created with a new store (default \"default\")\n"
	       "    -o node_cache=N           names the daemon keeps for the kernel's\n"
	       "                              cache (default 100000)\n"
	       "    -o remote=CONNINFO        STORE is this host's replica of the store\n"
	       "                              in PostgreSQL that CONNINFO (a libpq string\n"
	       "                              or URI, commas as \\,) names\n"
	       "    -o remote_timeout=N       seconds to wait for PostgreSQL (default %d)\n"
	       "    -o remote_push            STORE, a local store, becomes the first host\n"
	       "                              of an empty shared store\n"
	       "    -o tombstones=N           seconds the store keeps deletions for hosts\n"
	       "                              away, when this host purges (default 7 days)\n"
	       "    -o value_cache=N          bytes of values this host keeps, the most\n"
	       "                              recently used; the others are fetched when\n"
	       "                              opened (default: every value)\n"
	       "Sizes take K, M, G and T suffixes (powers of 1024).\n"
	       "allow_other turns on default_permissions: kvfs checks none itself.\n\n"
	       "FUSE options:\n"
	       "    -h   --help            print help\n"
	       "    -V   --version         print version\n"
	       "    -d   -o debug          enable debug output (implies -f)\n"
	       "    -f                     foreground operation\n"
	       "    -s                     disable multi-threaded operation\n"
	       "    -o clone_fd            use separate fuse device fd for each thread\n"
	       "    -o max_threads=N       request threads at most (default %d)\n"
	       "    -o max_idle_threads=N  idle request threads kept (default %d)\n",
	       prog, REMOTE_TIMEOUT_S, KVFS_MAX_THREADS, KVFS_IDLE_THREADS);
}

static int cli_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *c = data;
	char name[64], why[128];
	const char *eq;
	size_t nlen;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		c->help = true;
		return 0;
	case KEY_VERSION:
		c->version = true;
		return 0;
	case KEY_ALLOW_OTHER:
		c->allow_other = true;
		return 1;	/* for the kernel too */
	case KEY_MAX_THREADS:
		c->max_threads = true;
		return 1;	/* for fuse_parse_cmdline */
	case KEY_IDLE_THREADS:
		c->idle_threads = true;
		return 1;
	case KEY_REMOTE:
		free(c->remote);
		c->remote = strdup(arg + strlen("remote="));
		if (!c->remote || !*c->remote) {
			fprintf(stderr, "kvfs: invalid value '' for option "
				"'remote': a connection string\n");
			c->bad = true;
			return -1;
		}
		return 0;
	case KEY_REMOTE_TIMEOUT:
		if (kvfs_parse_count(arg + strlen("remote_timeout="),
				     &c->remote_timeout) ||
		    c->remote_timeout < 1 ||
		    c->remote_timeout > REMOTE_TIMEOUT_MAX) {
			fprintf(stderr, "kvfs: invalid value '%s' for option "
				"'remote_timeout': seconds from 1 to %d\n",
				arg + strlen("remote_timeout="),
				REMOTE_TIMEOUT_MAX);
			c->bad = true;
			return -1;
		}
		return 0;
	case KEY_REMOTE_PUSH:
		c->remote_push = true;
		return 0;
	case KEY_TOMBSTONES:
		if (kvfs_parse_count(arg + strlen("tombstones="),
				     &c->tombstones) ||
		    c->tombstones < 1 || c->tombstones > TOMBSTONES_MAX) {
			fprintf(stderr, "kvfs: invalid value '%s' for option "
				"'tombstones': seconds from 1 to %lu\n",
				arg + strlen("tombstones="), TOMBSTONES_MAX);
			c->bad = true;
			return -1;
		}
		return 0;
	case KEY_VALUE_CACHE:
		if (kvfs_parse_size(arg + strlen("value_cache="),
				    &c->value_cache) || !c->value_cache ||
		    c->value_cache > KVFS_STORAGE_CEIL) {
			fprintf(stderr, "kvfs: invalid value '%s' for option "
				"'value_cache': a size of at least 1 byte\n",
				arg + strlen("value_cache="));
			c->bad = true;
			return -1;
		}
		return 0;
	case KEY_KVOPT:
		eq = strchr(arg, '=');
		nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		if (nlen >= sizeof(name))
			nlen = sizeof(name) - 1;
		memcpy(name, arg, nlen);
		name[nlen] = '\0';
		if (kvfs_opts_set(&c->opts, name, eq ? eq + 1 : "on", why,
				  sizeof(why))) {
			fprintf(stderr, "kvfs: invalid value '%s' for option "
				"'%s': %s\n", eq ? eq + 1 : "", name, why);
			c->bad = true;
			return -1;
		}
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (!c->store) {
			c->store = strdup(arg);
			return 0;
		}
		/* an open /dev/fuse passed by a mounting parent */
		if (!c->mountpoint && !strncmp(arg, "/dev/fd/", 8))
			return 1;
		if (!c->mountpoint) {
			c->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "kvfs: unexpected argument '%s' (see kvfs "
			"--help)\n", arg);
		c->bad = true;
		return -1;
	default:
		return 1;
	}
}

/* STORE as an absolute path: the daemon leaves its working directory. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	out = malloc(strlen(cwd) + strlen(path) + 2);
	if (out)
		sprintf(out, "%s/%s", cwd, path);
	return out;
}

static void kvfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct kvfs *fs = userdata;

	/*
	 * With atomic_o_trunc the kernel zeroes the inode's size at an
	 * open(O_TRUNC), under readers of the old value; without it the
	 * truncation comes as a SETATTR that kvfs gives to the opener alone
	 * (ops_entry.c, reply_open_trunc).
	 */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* the kernel's write cache would own writes kvfs must see */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* directory entries carry stable inode numbers and cache well */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/*
	 * Every page of a listing with attributes (ops_dir.c), not the
	 * first alone: with readdirplus_auto, find and du look each key up
	 * after the first page; ls without -l pays a node a key instead.
	 */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* READ replies spliced from data.mdb (splice.c) */
	fs->splice = conn->capable & FUSE_CAP_SPLICE_WRITE;
	if (fs->splice)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
}

/*
 * Resolve and check the MOUNTPOINT argument into *path: 0, or 1 after a
 * one-line message.  *dead: it is a dead mount of this store, to clear.
 */
static int check_mountpoint(const char *arg, const char *store, char **path,
			    bool *dead)
{
	bool own;
	int rc = mountpoint_check(arg, store, path, &own);

	*dead = rc == -ENOTCONN && *path && own;
	if (*dead)
		return 0;
	if (rc == -ENOTCONN && *path)
		fprintf(stderr, "kvfs: mountpoint '%s' is a dead FUSE mount "
			"(%s): run 'fusermount3 -u %s'\n", *path,
			strerror(ENOTCONN), *path);
	else if (rc == -ENOTDIR)
		fprintf(stderr, "kvfs: mountpoint '%s' is not a directory\n",
			arg);
	else if (rc)
		fprintf(stderr, "kvfs: cannot use mountpoint '%s': %s\n", arg,
			strerror(-rc));
	return rc ? 1 : 0;
}

/* Tell the waiting parent how starting went; stop talking to the tty. */
static void report(int *fd, int status)
{
	char c = (char)status;
	int null;

	if (*fd < 0)
		return;
	if (write(*fd, &c, 1) != 1)
		kvfs_log(KVFS_WARN, "cannot report start-up status");
	close(*fd);
	*fd = -1;
	if (status)
		return;
	if (chdir("/") < 0)
		kvfs_log(KVFS_WARN, "cannot leave the working directory");
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

/* Fork; the parent waits for the child's report and exits with it. */
static int background(void)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds) < 0) {
		perror("kvfs: pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("kvfs: fork");
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			c = 1;
		_exit(c);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

/* Mount and serve until unmounted or stopped: 0 or 1. */
static int run(struct kvfs *fs, struct fuse_cmdline_opts *fo, int *report_fd)
{
	struct fuse_loop_config *cfg;
	struct stop *stop = NULL;
	int rc = 1;

	/* a shell starts background jobs with SIGINT ignored; kvfs is asked
	 * for a clean unmount on it wherever it was started from */
	signal(SIGINT, SIG_DFL);
	if (fuse_set_signal_handlers(fs->se) != 0)
		return 1;
	if (fuse_session_mount(fs->se, fo->mountpoint) != 0)
		goto out_signals;
	fs->conn = mountpoint_conn(fo->mountpoint);
	/* the kernel's 128 KiB would cut a large read into small READs */
	if (mountpoint_readahead(fs->conn, SPLICE_READ_KB))
		kvfs_log(KVFS_DEBUG, "cannot raise the mount's read-ahead");
	/* what another host changes drops the kernel's caches of it */
	if (fs->remote)
		remote_set_applied(fs->remote, follow_applied, fs);
	rc = stop_watch(fuse_session_fd(fs->se), fo->mountpoint, &stop);
	if (!rc)
		rc = worker_start(sweep_run, fs, &fs->sweeper);
	if (!rc)
		rc = worker_start(trim_run, fs, &fs->trimmer);
	if (!rc)
		rc = worker_start(tell_run, fs, &fs->teller);
	if (!rc)
		rc = syncer_start(fs->st, &fs->syncer);
	if (!rc && fs->remote)
		rc = worker_start(follow_run, fs, &fs->follower);
	if (!rc && fs->remote)
		rc = remote_listen_start(fs->remote, follow_wake, fs);
	if (rc) {
		fprintf(stderr, "kvfs: cannot start a thread: %s\n",
			strerror(-rc));
		rc = 1;
		goto out_workers;
	}
	report(report_fd, 0);
	if (fo->singlethread) {
		rc = fuse_session_loop(fs->se);
	} else {
		cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, (unsigned)fo->clone_fd);
		if (fo->max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(cfg,
						       fo->max_idle_threads);
		if (fo->max_threads != UINT_MAX)
			fuse_loop_cfg_set_max_threads(cfg, fo->max_threads);
		rc = fuse_session_loop_mt(fs->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	/* the loop reports the signal that ended it: a requested exit */
	if (rc == SIGTERM || rc == SIGINT || rc == SIGHUP)
		rc = 0;
	stop_begin(stop);
	/* the flushes still queued are answered before the session ends,
	 * without waiting for the teller */
	tell_forget(fs);
out_workers:
	if (fs->remote)
		remote_listen_stop(fs->remote);
	worker_stop(fs->follower);
	fs->follower = NULL;
	syncer_stop(fs->syncer);
	fs->syncer = NULL;
	worker_stop(fs->teller);
	worker_stop(fs->trimmer);
	worker_stop(fs->sweeper);
	fs->teller = fs->trimmer = fs->sweeper = NULL;
	if (stop_done(stop))
		kvfs_log(KVFS_WARN, "aborted the connection to stop: requests "
			 "still waiting failed");
	/* after an abort the mount is detached already, and this skips it */
	fuse_session_unmount(fs->se);
out_signals:
	fuse_remove_signal_handlers(fs->se);
	return rc ? 1 : 0;
}

/*
 * Clear what a kvfs of the same store that died left at the mountpoint
 * (its fstype and source in mountinfo say so): 0, or 1 after a message.
 */
static int clear_dead_mount(const char *store, const char *mountpoint)
{
	int rc = mountpoint_detach(mountpoint);

	if (rc) {
		fprintf(stderr, "kvfs: cannot unmount the dead mount at '%s' "
			"(%s): run 'fusermount3 -u %s'\n", mountpoint,
			strerror(-rc), mountpoint);
		return 1;
	}
	fprintf(stderr, "kvfs: unmounted '%s', left by a kvfs of '%s' that "
		"died\n", mountpoint, store);
	return 0;
}

/*
 * Open the store; while another kvfs holds it, wait for that one to exit
 * (STORE_WAIT_MS), unless it still serves a mount of the store: -EBUSY
 * then.  A replica (remote) starts with no namespace: it gets the shared
 * store's.
 */
static int open_store(const char *store, const struct store_limits *limits,
		      const char *remote, const struct kvfs_opts *opts,
		      struct store **st)
{
	int rc, waited;

	for (waited = 0;; waited += STORE_POLL_MS) {
		rc = store_open(store, limits,
				remote ? NULL : opts->default_namespace,
				getuid(), getgid(), st);
		if (rc != -EBUSY || waited >= STORE_WAIT_MS ||
		    mountpoint_store_mounted(store))
			return rc;
		if (waited == STORE_SAY_MS)
			fprintf(stderr, "kvfs: waiting for the kvfs still "
				"using '%s' to exit\n", store);
		usleep(STORE_POLL_MS * 1000);
	}
}

static void limit_told(void *ctx, const char *name, const char *was,
		       const char *now)
{
	(void)ctx;
	fprintf(stderr, "kvfs: the remote store's %s is %s, not %s: using "
		"%s\n", name, now, was, now);
}

/*
 * Make fs->st a replica of the shared store conninfo names, copying what
 * it lacks, and take that store's limits: 0, or 1 after a one-line
 * message.
 */
static int open_remote(struct kvfs *fs, const struct remote_args *ra)
{
	char msg[REMOTE_MSG_MAX], why[128], *stored = NULL;
	struct remote_options ro;
	char *limits = kvfs_limits_json(&fs->opts);
	struct store_limits sl;
	int rc;

	if (!limits) {
		fprintf(stderr, "kvfs: out of memory\n");
		return 1;
	}
	ro.timeout_s = ra->timeout_s;
	ro.progress_fd = isatty(STDERR_FILENO) ? STDERR_FILENO : -1;
	ro.push = ra->push;
	ro.value_cache = ra->value_cache;
	rc = remote_open(ra->conninfo, &ro, fs->st, limits, &stored,
			 &fs->remote, msg, sizeof(msg));
	free(limits);
	if (rc) {
		fprintf(stderr, "kvfs: cannot open the remote store: %s\n",
			msg);
		return 1;
	}
	rc = kvfs_limits_take(&fs->opts, stored, limit_told, NULL, why,
			      sizeof(why));
	free(stored);
	if (rc) {
		fprintf(stderr, "kvfs: cannot open the remote store: %s\n",
			why);
		remote_close(fs->remote);
		fs->remote = NULL;
		return 1;
	}
	sl.max_key_size = fs->opts.max_key_size;
	sl.max_namespaces = fs->opts.max_namespaces;
	sl.max_storage = fs->opts.max_storage;
	store_set_limits(fs->st, &sl);
	if (ra->tombstone_s)
		remote_set_tombstones(fs->remote, ra->tombstone_s);
	return 0;
}

/*
 * Open the store, mount and serve until unmounted: the exit status.  With
 * dead, the mountpoint is a dead mount of this store, cleared first.
 * With remote, the store is a replica of a shared store.
 */
static int serve(const struct kvfs_opts *opts, const char *store,
		 const struct remote_args *remote,
		 struct fuse_args *args, struct fuse_cmdline_opts *fo,
		 bool dead)
{
	struct fuse_lowlevel_ops ops;
	struct store_limits limits;
	struct kvfs fs;
	int rc, report_fd = -1;

	memset(&fs, 0, sizeof(fs));
	fs.storefd = -1;
	memset(&ops, 0, sizeof(ops));
	ops.init = kvfs_init;
	ops_entry_init(&ops);
	ops_file_init(&ops);
	ops_dir_init(&ops);
	ops_xattr_init(&ops);
	ops_link_init(&ops);
	/* it refuses the FUSE options it does not know: before anything */
	fs.se = fuse_session_new(args, &ops, sizeof(ops), &fs);
	if (!fs.se)
		return 1;
	if (dead && clear_dead_mount(store, fo->mountpoint)) {
		fuse_session_destroy(fs.se);
		return 1;
	}
	pthread_mutex_init(&fs.told_lock, NULL);
	pthread_mutex_init(&fs.dirs_lock, NULL);
	kvfs_log_set_debug(fo->debug);
	if (!fo->foreground)
		report_fd = background();

	limits.max_key_size = opts->max_key_size;
	limits.max_namespaces = opts->max_namespaces;
	limits.max_storage = opts->max_storage;
	fs.opts = *opts;
	rc = open_store(store, &limits, remote ? remote->conninfo : NULL, opts,
			&fs.st);
	if (rc == -EBUSY)
		fprintf(stderr, "kvfs: store '%s' is in use by another kvfs\n",
			store);
	else if (rc)
		fprintf(stderr, "kvfs: cannot open store '%s': %s\n", store,
			strerror(-rc));
	if (!rc && remote && open_remote(&fs, remote)) {
		store_close(fs.st);
		rc = -EIO;
	}
	if (rc) {
		report(&report_fd, 1);
		fuse_session_destroy(fs.se);
		pthread_mutex_destroy(&fs.told_lock);
		pthread_mutex_destroy(&fs.dirs_lock);
		return 1;
	}
	fs.entry_timeout = ENTRY_TIMEOUT;
	fs.negative_timeout = remote ? 0 : NEGATIVE_TIMEOUT;
	fs.attr_timeout = ATTR_TIMEOUT;
	fs.dir_attr_timeout = DIR_ATTR_TIMEOUT;
	fs.storefd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = fs.storefd < 0 ? -errno : nodes_new(&fs.nodes);
	if (!rc)
		rc = retry_new(&fs.retries);
	if (!rc && fs.opts.write_rate_limit)
		rc = ratelimit_new(&fs.rl);
	if (!rc)
		rc = run(&fs, fo, &report_fd);
	else
		fprintf(stderr, "kvfs: cannot start: %s\n", strerror(-rc));
	report(&report_fd, rc ? 1 : 0);
	fuse_session_destroy(fs.se);

	if (fs.nodes) {
		ops_file_free_all(&fs);
		ops_dir_free_all(&fs);
		retry_free(&fs, fs.retries);
		nodes_free(fs.nodes);
	}
	ratelimit_free(fs.rl);
	if (fs.storefd >= 0)
		close(fs.storefd);
	remote_close(fs.remote);
	store_close(fs.st);
	pthread_mutex_destroy(&fs.told_lock);
	pthread_mutex_destroy(&fs.dirs_lock);
	return rc ? 1 : 0;
}

/*
 * Each request thread that splices a READ keeps a pipe, two descriptors,
 * beside the writers' temporary files: the soft limit on descriptors
 * (often 1024) goes up to the hard one, as passthrough_hp does.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fo;
	struct remote_args ra;
	struct cli c;
	char *store = NULL, fsname[PATH_MAX + 16];
	bool dead = false;
	int status = 1, i;

	/*
	 * A large value is committed in transactions of 4 MiB whose dirty
	 * pages LMDB mallocs and frees: by default glibc hands each buffer
	 * back to the kernel and the next transaction faults it in again,
	 * page by page.  Kept in the heap instead, they cost no faults.
	 * Two arenas for all threads, so that what the heaps keep does not
	 * grow with the number of threads that ever ran a commit.
	 */
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	mallopt(M_ARENA_MAX, 2);
	raise_fd_limit();
	memset(&c, 0, sizeof(c));
	memset(&fo, 0, sizeof(fo));
	kvfs_opts_defaults(&c.opts);
	if (fuse_opt_parse(&args, &c, cli_spec, cli_proc) != 0) {
		if (!c.bad)
			fprintf(stderr, "kvfs: cannot parse the options\n");
		goto out;
	}
	/* ps shows the arguments: no password there once they are read */
	for (i = 1; i < argc; i++)
		if (strstr(argv[i], "remote="))
			remote_hide_secret(argv[i]);
	if (c.help || c.version) {
		if (c.help) {
			/* kvfs's thread defaults, not fuse_cmdline_help()'s */
			usage(argv[0]);
			fuse_lowlevel_help();
		} else {
			printf("kvfs %s\n", PACKAGE_VERSION);
			printf("FUSE library %s, %s\n", fuse_pkgversion(),
			       store_backend_version());
		}
		status = 0;
		goto out;
	}
	if (!c.store) {
		fprintf(stderr, "kvfs: missing STORE and MOUNTPOINT "
			"(see kvfs --help)\n");
		goto out;
	}
	store = absolute(c.store);
	if (!store || strchr(store, ',')) {
		fprintf(stderr, "kvfs: unusable store path\n");
		goto out;
	}
	snprintf(fsname, sizeof(fsname), "-ofsname=%s", store);
	/*
	 * kvfs checks no permission itself: a mount other users may enter
	 * has the kernel check each key's stored mode and owner, or they
	 * could read and change anyone's keys.
	 */
	if (c.allow_other &&
	    fuse_opt_add_arg(&args, "-odefault_permissions"))
		goto out;
	if (fuse_opt_add_arg(&args, fsname) ||
	    fuse_opt_add_arg(&args, "-osubtype=kvfs") ||
	    fuse_parse_cmdline(&args, &fo) != 0)
		goto out;
	if (c.mountpoint &&
	    check_mountpoint(c.mountpoint, store, &fo.mountpoint, &dead))
		goto out;
	if (!fo.mountpoint) {
		fprintf(stderr, "kvfs: missing MOUNTPOINT (see kvfs --help)\n");
		goto out;
	}
	if (!c.max_threads)
		fo.max_threads = KVFS_MAX_THREADS;
	if (!c.idle_threads)
		fo.max_idle_threads = KVFS_IDLE_THREADS;
	if ((c.remote_timeout || c.tombstones || c.remote_push ||
	     c.value_cache) && !c.remote) {
		fprintf(stderr, "kvfs: %s needs remote=CONNINFO\n",
			c.remote_timeout ? "remote_timeout" :
			c.tombstones ? "tombstones" :
			c.remote_push ? "remote_push" : "value_cache");
		goto out;
	}
	ra.conninfo = c.remote;
	ra.timeout_s = c.remote_timeout ? (unsigned)c.remote_timeout
					: REMOTE_TIMEOUT_S;
	ra.tombstone_s = (unsigned long)c.tombstones;
	ra.push = c.remote_push;
	ra.value_cache = c.value_cache;
	status = serve(&c.opts, store, c.remote ? &ra : NULL, &args, &fo,
		       dead);
out:
	free(c.store);
	free(c.mountpoint);
	free(c.remote);
	free(store);
	free(fo.mountpoint);
	fuse_opt_free_args(&args);
	return status;
}
