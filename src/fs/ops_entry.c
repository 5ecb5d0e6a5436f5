/*
 * ops_entry.c - FUSE operations on names: lookup, forget, getattr,
 * setattr, mkdir, mknod, unlink, rmdir, rename, link, statfs.
 *
 * The root holds namespaces and nothing else; below a namespace every
 * name is a key segment, but for the temporary keys of kvctl put directly
 * in a namespace (common/names.h), which only create makes.  A name longer than
 * any in its directory can be (statfs's f_namelen), or whose key would
 * pass max_key_size, is ENAMETOOLONG on every operation, lookups
 * included, as on ext4.  The other rules of names (common/names.c) are checked
 * only when something is created under one: a lookup of a name no key
 * could have is ENOENT, as on any filesystem.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/hooks.h"
#include "common/names.h"
#include "fs/attr.h"
#include "fs/ops.h"
#include "fs/path.h"
#include "fs/ratelimit.h"
#include "fs/reply.h"
#include "fs/retry.h"

/*
 * What a lookup of p finds: its attributes, and for the retry of a reader
 * sent back (retry.h) the value they are of, in *v.
 */
static int lookup_attr(struct kvfs *fs, const struct kpath *p, size_t len,
		       int pid, struct kv_attr *a, struct store_value **v)
{
	int rc;

	*v = NULL;
	if (p->level == LEVEL_NS)
		return kvfs_check_ns_name(p->ns, len) ? -ENOENT
			: store_ns_stat(fs->st, p->ns, a);
	/* not a key's value (a directory, implied ones included): a stat */
	if (retry_wanted(fs, pid)) {
		rc = store_value_open(fs->st, p->ns, p->key, p->len, v, a);
		if (!rc)
			return 0;
		*v = NULL;
	}
	return store_stat(fs->st, p->ns, p->key, p->len, a);
}

#define LOOKUP_TRIES	8

/*
 * A lookup's attributes are read again while a commit at the name
 * overtakes them (nodes_lookup_since): a node made for a value the key
 * no longer has, with its size cached for the attribute timeout, would
 * give stat that size for as long.  If commits keep coming, the reply
 * is not cached.
 */
static void kvfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct kvfs *fs = req_fs(req);
	struct node *dir = nodes_get(fs->nodes, parent);
	int pid = fuse_req_ctx(req)->pid;
	size_t len = strlen(name);
	struct store_value *v = NULL;
	struct node *n = NULL;
	bool keep = true;
	uint64_t stamp;
	struct kv_attr a;
	struct kpath p;
	int rc, tries;

	hook_note("LOOKUP", name);
	nodes_hold_paths(fs->nodes);
	store_urgent(true);
	rc = child_path(fs, dir, name, len, &p);
	for (tries = 0; !rc; tries++) {
		stamp = nodes_stamp(fs->nodes, dir, name, len);
		rc = lookup_attr(fs, &p, len, pid, &a, &v);
		if (rc)
			break;
		/* commits keep coming: a node for what was read, uncached */
		if (tries == LOOKUP_TRIES)
			keep = false;
		/* a key only: a directory node stays the one its children
		 * hang from, whatever the thread (nodes_lookup_since) */
		rc = nodes_lookup_since(fs->nodes, dir, name, len, a.ino,
					node_gen(&a), a.size,
					keep ? &stamp : NULL, v != NULL,
					a.type == KV_FILE ? pid : 0, &n);
		if (rc != -EAGAIN)
			break;
		if (v)
			store_value_close(fs->st, v);
		v = NULL;
		rc = 0;
	}
	store_urgent(false);
	nodes_release_paths(fs->nodes);
	if (rc && v)
		store_value_close(fs->st, v);
	if (rc == -ENOENT) {
		struct fuse_entry_param e;

		/* test builds: another host can make the key here */
		hook_hold("LOOKUP_ABSENT", name);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->negative_timeout;
		return (void)fuse_reply_entry(req, &e);
	}
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	if (v)
		retry_offer(fs, pid, n, v, &a);
	/* test builds: a commit at the name can overtake the reply here */
	hook_hold("LOOKUP", name);
	reply_node(req, n, &a, keep);
}

static void kvfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct kvfs *fs = req_fs(req);

	nodes_forget(fs->nodes, nodes_get(fs->nodes, ino), nlookup);
	fuse_reply_none(req);
}

static void kvfs_forget_multi(fuse_req_t req, size_t count,
			      struct fuse_forget_data *forgets)
{
	struct kvfs *fs = req_fs(req);
	size_t i;

	for (i = 0; i < count; i++)
		nodes_forget(fs->nodes, nodes_get(fs->nodes, forgets[i].ino),
			     forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * The kernel asks for a file's attributes with its handle only from some
 * calls (lseek, a read past the size it knows); fstat(2) comes without,
 * and with the calling thread's id.  A process with a writer open on the
 * node sees that writer's content, as it would on a local filesystem;
 * others see the committed value until the writer closes (but for the
 * size of a writer through the page cache: paged_size()), so while a
 * writer is open nothing is cached.  An open file whose key went
 * (unlinked, replaced) answers for itself, with no link.
 */
static void kvfs_getattr(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	int pid = fuse_req_ctx(req)->pid;
	struct kv_attr a;
	struct node *n;
	struct stat st;
	double timeout;
	int rc;

	n = nodes_get(fs->nodes, ino);
	nodes_told(fs->nodes, n);
	if (fi && fi->fh) {
		handle_stat(fs, fi_handle(fi), &st);
		return (void)fuse_reply_attr(req, &st, 0);
	}
	if (open_file_stat(fs, n, pid, OPEN_OWN, &st))
		return (void)fuse_reply_attr(req, &st, 0);
	rc = node_stat(fs, n, &a);
	if ((rc == -ENOENT || (!rc && a.type == KV_FILE && a.ino != n->ino)) &&
	    open_file_stat(fs, n, pid, OPEN_ANY, &st))
		return (void)fuse_reply_attr(req, &st, 0);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	/* an older value's size is for its readers only, and not kept */
	timeout = nodes_own_size(fs->nodes, n, &a) ? 0 : attr_timeout(fs, &a);
	kv_to_stat(&a, &st);
	if (a.type == KV_FILE && nodes_writing(fs->nodes, n)) {
		paged_size(fs, n, &st);
		timeout = 0;
	}
	/* test builds: a commit can overtake the reply here */
	nodes_hook(fs->nodes, n, "GETATTR");
	fuse_reply_attr(req, &st, timeout);
}

struct setattr_arg {
	struct kv_attr a;
	unsigned mask;
	struct kv_attr out;
};

static int setattr_fn(struct kvfs *fs, const struct kpath *p, void *arg)
{
	struct setattr_arg *sa = arg;

	switch (p->level) {
	case LEVEL_ROOT:
		return store_ns_setattr(fs->st, "", &sa->a, sa->mask,
					&sa->out);
	case LEVEL_NS:
		return store_ns_setattr(fs->st, p->ns, &sa->a, sa->mask,
					&sa->out);
	default:
		return store_setattr(fs->st, p->ns, p->key, p->len, &sa->a,
				     sa->mask, &sa->out);
	}
}

/*
 * Truncate by path: a new value, committed at once.  It changes the
 * node's size as a writer does, so it too is sent to a new node when
 * readers hold this one through the page cache (nodes_open).
 */
static int truncate_now(struct kvfs *fs, struct node *n, uint64_t size,
			int pid, struct kv_attr *out)
{
	enum node_use use = USE_WRITE;
	struct handle h;
	int rc;

	rc = nodes_open(fs->nodes, n, &use, pid);
	if (rc)
		return rc;
	memset(&h, 0, sizeof(h));
	pthread_mutex_init(&h.lock, NULL);
	h.node = n;
	pending_init(&h.pend, fs->st);
	rc = handle_open_value(fs, &h);
	if (!rc)
		rc = handle_truncate(fs, &h, size);
	if (!rc) {
		h.error = 0;
		rc = handle_commit(fs, &h, NULL);
	}
	if (!rc)
		nodes_rebind(fs->nodes, n, h.attr.gen, h.attr.size);
	*out = h.attr;
	handle_close(fs, &h);
	nodes_release(fs->nodes, n, use);
	return rc;
}

/*
 * A writer's own request is answered with attributes st (its truncation,
 * or a setattr by its descriptor): the kernel takes st's size, and the
 * reply is the writer's (nodes_rebind_current).
 */
static void own_reply(struct handle *h, const struct stat *st)
{
	pthread_mutex_lock(&h->lock);
	h->told++;
	if (h->ksize != KSIZE_UNKNOWN)
		h->ksize = (uint64_t)st->st_size;
	pthread_mutex_unlock(&h->lock);
}

/*
 * Without atomic_o_trunc the kernel truncates an open(O_TRUNC) with a
 * SETATTR of size 0, without a handle, from the opening process, right
 * after OPEN.  It belongs to the writer that process just opened and has
 * not written through yet: its content starts empty and is committed at
 * close.  (A truncate(2) to 0 by a process between its own open for
 * writing and its first write is taken the same way: it too becomes
 * visible when that writer closes.)  Readers of the
 * same inode keep the size of the value they read: an O_WRONLY writer
 * never reads through the page cache, so the reply keeps the size of the
 * node's value (nodes_own_size); an O_RDWR writer reads its own content
 * through it.
 */
static void reply_open_trunc(fuse_req_t req, struct kvfs *fs, struct node *n,
			     struct handle *h)
{
	struct kv_attr a;
	struct stat st;
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = handle_truncate(fs, h, 0);
	a = h->attr;
	if ((h->flags & O_ACCMODE) == O_RDWR)
		a.size = 0;
	pthread_mutex_unlock(&h->lock);
	/* a writer that opened a superseded node: the readers of its
	 * generation keep their size */
	if ((h->flags & O_ACCMODE) != O_RDWR)
		nodes_own_size(fs->nodes, n, &a);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	kv_to_stat(&a, &st);
	own_reply(h, &st);
	fuse_reply_attr(req, &st, 0);
}

/*
 * A key gone (unlinked, renamed over) has its attributes only in the files
 * still open on it: a chmod, chown or utimens by such a descriptor
 * (fchmod(2) comes without its handle) changes the open file's, which its
 * fstat shows (open_file_stat).  0, or -ENOENT if none is open.
 */
static int setattr_orphan(struct kvfs *fs, struct node *n, int pid,
			  const struct setattr_arg *sa, struct stat *st)
{
	struct node_open *o;
	struct handle *h;
	struct kv_attr *a;

	o = nodes_find_open(fs->nodes, n, pid, OPEN_OWN | OPEN_ANY);
	if (!o)
		return -ENOENT;
	h = container_of(o, struct handle, file);
	pthread_mutex_lock(&h->lock);
	a = &h->attr;
	if (sa->mask & KV_SET_MODE)
		a->mode = sa->a.mode;
	if (sa->mask & KV_SET_UID)
		a->uid = sa->a.uid;
	if (sa->mask & KV_SET_GID)
		a->gid = sa->a.gid;
	if (sa->mask & KV_SET_ATIME)
		a->atime = sa->a.atime;
	if (sa->mask & KV_SET_MTIME)
		a->mtime = sa->a.mtime;
	clock_gettime(CLOCK_REALTIME, &a->ctime);
	pthread_mutex_unlock(&h->lock);
	handle_stat(fs, h, st);
	nodes_put_open(fs->nodes, o);
	return 0;
}

static void kvfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi)
{
	struct kvfs *fs = req_fs(req);
	struct node *n = nodes_get(fs->nodes, ino);
	struct handle *h = fi && fi->fh ? fi_handle(fi) : NULL;
	struct setattr_arg sa;
	struct node_open *o;
	struct stat st;
	double timeout;
	int rc = 0;

	nodes_told(fs->nodes, n);
	memset(&sa, 0, sizeof(sa));
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.mask |= KV_SET_MODE;
		sa.a.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.mask |= KV_SET_UID;
		sa.a.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.mask |= KV_SET_GID;
		sa.a.gid = attr->st_gid;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		sa.mask |= KV_SET_ATIME;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			clock_gettime(CLOCK_REALTIME, &sa.a.atime);
		else
			sa.a.atime = attr->st_atim;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		sa.mask |= KV_SET_MTIME;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &sa.a.mtime);
		else
			sa.a.mtime = attr->st_mtim;
	}

	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (node_level(n) != LEVEL_KEY)
			return (void)fuse_reply_err(req, EISDIR);
		if (!h && attr->st_size == 0 &&
		    (o = nodes_take_opener(fs->nodes, n,
					   fuse_req_ctx(req)->pid))) {
			/*
			 * open(O_TRUNC): the truncation is the opener's, and
			 * so is the clearing of the set-user-ID and
			 * set-group-ID bits the kernel asks with it (for an
			 * unprivileged opener): both come with its commit.
			 * The opener is held until then: its release waits.
			 */
			h = container_of(o, struct handle, file);
			if (sa.mask & KV_SET_MODE) {
				pthread_mutex_lock(&h->lock);
				h->kill_priv = true;
				pthread_mutex_unlock(&h->lock);
			}
			reply_open_trunc(req, fs, n, h);
			nodes_put_open(fs->nodes, o);
			return;
		}
		if (h) {
			pthread_mutex_lock(&h->lock);
			rc = handle_truncate(fs, h, (uint64_t)attr->st_size);
			pthread_mutex_unlock(&h->lock);
		} else {
			rc = truncate_now(fs, n, (uint64_t)attr->st_size,
					  fuse_req_ctx(req)->pid, &sa.out);
		}
		if (rc)
			return (void)fuse_reply_err(req, -rc);
	}
	if (sa.mask && !h && node_level(n) == LEVEL_KEY &&
	    !nodes_named(fs->nodes, n)) {
		rc = setattr_orphan(fs, n, fuse_req_ctx(req)->pid, &sa, &st);
		if (rc)
			return (void)fuse_reply_err(req, -rc);
		return (void)fuse_reply_attr(req, &st, 0);
	}
	if (sa.mask) {
		rc = with_path(fs, n, setattr_fn, &sa);
		/* the key went meanwhile: as above, the open file's */
		if (rc == -ENOENT && !h && node_level(n) == LEVEL_KEY) {
			rc = setattr_orphan(fs, n, fuse_req_ctx(req)->pid,
					    &sa, &st);
			if (rc)
				return (void)fuse_reply_err(req, -rc);
			return (void)fuse_reply_attr(req, &st, 0);
		}
		if (rc)
			return (void)fuse_reply_err(req, -rc);
		if (sa.mask & KV_SET_MTIME)
			nodes_note_mtime(fs->nodes, n, &sa.a.mtime);
		if (h) {
			pthread_mutex_lock(&h->lock);
			h->attr = sa.out;
			pthread_mutex_unlock(&h->lock);
		}
	} else if (!(to_set & FUSE_SET_ATTR_SIZE) && !h) {
		rc = node_stat(fs, n, &sa.out);
		if (rc)
			return (void)fuse_reply_err(req, -rc);
	}
	if (h) {
		/* its own view: also of a key unlinked meanwhile */
		handle_stat(fs, h, &st);
		if (h->use == USE_WRITE)
			own_reply(h, &st);
		return (void)fuse_reply_attr(req, &st, 0);
	}
	/* as getattr answers */
	timeout = nodes_own_size(fs->nodes, n, &sa.out) ? 0
		  : attr_timeout(fs, &sa.out);
	kv_to_stat(&sa.out, &st);
	if (sa.out.type == KV_FILE && nodes_writing(fs->nodes, n)) {
		paged_size(fs, n, &st);
		timeout = 0;
	}
	fuse_reply_attr(req, &st, timeout);
}

static void fill_owner(fuse_req_t req, mode_t mode, struct kv_attr *a)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	memset(a, 0, sizeof(*a));
	a->mode = mode & 07777 & ~ctx->umask;
	a->uid = ctx->uid;
	a->gid = ctx->gid;
}

/* Create a key (KV_FILE) or directory (KV_DIR) and reply with its entry. */
static void make_child(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, enum kv_type type)
{
	struct kvfs *fs = req_fs(req);
	struct node *dir = nodes_get(fs->nodes, parent);
	struct kv_attr a, out;
	struct kpath p;
	int rc;

	if (node_level(dir) == LEVEL_ROOT && type != KV_DIR)
		return (void)fuse_reply_err(req, EPERM);
	fill_owner(req, mode, &a);
	a.type = type;
	nodes_hold_paths(fs->nodes);
	store_urgent(true);
	rc = new_child_path(fs, dir, name, &p);
	if (rc == 0 && p.level == LEVEL_NS) {
		rc = store_ns_create(fs->st, p.ns, &a);
		if (!rc)
			rc = store_ns_stat(fs->st, p.ns, &out);
	} else if (rc == 0) {
		rc = store_create(fs->st, p.ns, p.key, p.len, &a, &out);
	}
	store_urgent(false);
	nodes_release_paths(fs->nodes);
	if (rc)
		return (void)fuse_reply_err(req, -rc);
	reply_entry(req, dir, name, strlen(name), &out);
}

static void kvfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode)
{
	make_child(req, parent, name, mode, KV_DIR);
}

static void kvfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev)
{
	(void)rdev;
	/* a regular file is a key; devices, fifos and sockets are not */
	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);
	make_child(req, parent, name, mode, KV_FILE);
}

static void kvfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		      const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

static void remove_child(fuse_req_t req, fuse_ino_t parent, const char *name,
			 bool isdir)
{
	struct kvfs *fs = req_fs(req);
	struct node *dir = nodes_get(fs->nodes, parent);
	size_t len = strlen(name);
	struct kpath p;
	int rc;

	nodes_hold_paths(fs->nodes);
	store_urgent(true);
	rc = child_path(fs, dir, name, len, &p);
	if (rc == 0 && p.level == LEVEL_NS)
		rc = isdir ? store_ns_delete(fs->st, p.ns) : -EISDIR;
	else if (rc == 0 && isdir)
		rc = store_rmdir(fs->st, p.ns, p.key, p.len);
	else if (rc == 0)
		rc = store_unlink(fs->st, p.ns, p.key, p.len);
	if (!rc)
		nodes_unlink(fs->nodes, dir, name, len);
	store_urgent(false);
	nodes_release_paths(fs->nodes);
	fuse_reply_err(req, -rc);
}

static void kvfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_child(req, parent, name, false);
}

static void kvfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_child(req, parent, name, true);
}

/*
 * write_rate_limit: a rename over a key is a write of it, refused (EAGAIN,
 * nothing changed) if the key was written within the last second.
 */
static int rename_rate_check(struct kvfs *fs, const struct kpath *to)
{
	struct kv_attr a;

	if (!fs->rl || store_stat(fs->st, to->ns, to->key, to->len, &a))
		return 0;
	return a.type == KV_FILE && !ratelimit_allow(fs->rl, a.ino)
		? -EAGAIN : 0;
}

static void kvfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname,
			unsigned int flags)
{
	struct kvfs *fs = req_fs(req);
	struct node *dir = nodes_get(fs->nodes, parent);
	struct node *newdir = nodes_get(fs->nodes, newparent);
	size_t len = strlen(name);
	struct kpath from, to;
	unsigned kvflags = 0;
	uint64_t ino = 0;
	int rc;

	if (flags & ~RENAME_NOREPLACE)
		return (void)fuse_reply_err(req, EINVAL);
	if (flags & RENAME_NOREPLACE)
		kvflags |= KV_RENAME_NOREPLACE;
	/* alone from its paths to its nodes moved (nodes_hold_paths) */
	nodes_rename_begin(fs->nodes);
	store_urgent(true);
	rc = child_path(fs, dir, name, len, &from);
	if (!rc)
		rc = new_child_path(fs, newdir, newname, &to);
	if (!rc && from.level != to.level)
		rc = -EXDEV;	/* a namespace is not a directory: mv copies */
	if (!rc && from.level == LEVEL_KEY && !(flags & RENAME_NOREPLACE))
		rc = rename_rate_check(fs, &to);
	if (rc == 0 && from.level == LEVEL_NS)
		rc = store_ns_rename(fs->st, from.ns, to.ns, kvflags);
	else if (rc == 0)
		rc = store_rename(fs->st, from.ns, from.key, from.len, to.ns,
				  to.key, to.len, kvflags, &ino);
	if (!rc && from.level == LEVEL_KEY)
		ratelimit_note(fs->rl, ino);	/* a write of the target */
	if (!rc)
		rc = nodes_rename(fs->nodes, dir, name, len, newdir, newname,
				  strlen(newname), ino);
	store_urgent(false);
	nodes_rename_end(fs->nodes);
	fuse_reply_err(req, -rc);
}

static void kvfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct kvfs *fs = req_fs(req);
	uint64_t used, file;
	struct statvfs sv;

	if (fstatvfs(fs->storefd, &sv) < 0)
		return (void)fuse_reply_err(req, errno);
	store_usage(fs->st, &used, &file);
	if (fs->opts.max_storage) {
		uint64_t total = fs->opts.max_storage / sv.f_frsize;
		uint64_t avail = used < fs->opts.max_storage
			? (fs->opts.max_storage - used) / sv.f_frsize : 0;

		sv.f_blocks = total;
		if (sv.f_bfree > avail)
			sv.f_bfree = avail;
		if (sv.f_bavail > avail)
			sv.f_bavail = avail;
	}
	/* per directory, as pathconf(_PC_NAME_MAX) is: the kernel asks
	 * for the node statfs(2) was given */
	sv.f_namemax = name_max(fs, nodes_get(fs->nodes, ino));
	fuse_reply_statfs(req, &sv);
}

void ops_entry_init(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = kvfs_lookup;
	ops->forget = kvfs_forget;
	ops->forget_multi = kvfs_forget_multi;
	ops->getattr = kvfs_getattr;
	ops->setattr = kvfs_setattr;
	ops->mkdir = kvfs_mkdir;
	ops->mknod = kvfs_mknod;
	ops->link = kvfs_link;
	ops->unlink = kvfs_unlink;
	ops->rmdir = kvfs_rmdir;
	ops->rename = kvfs_rename;
	ops->statfs = kvfs_statfs;
}
