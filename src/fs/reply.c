/*
 * reply.c - the attributes a reply gives: the entries of lookup-like
 * requests, and what the process holding an open file sees.
 *
 * A key's node may have writers open: the process of a writer sees that
 * writer's content, and while a writer through the page cache has it
 * open every reply carries that writer's size, uncached (paged_size).
 * Each entry replied counts one lookup of its node (a listing's too,
 * ops_dir.c), and may push the node table past node_cache (trim.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fs/attr.h"
#include "fs/handle.h"
#include "fs/reply.h"
#include "fs/trim.h"

/* The open file of n, of the kinds in how (nodes_find_open), that thread
 * pid sees n through, if any: its view. */
bool open_file_stat(struct kvfs *fs, struct node *n, int pid,
		    unsigned how, struct stat *st)
{
	struct node_open *o;

	if (node_level(n) != LEVEL_KEY)
		return false;
	o = nodes_find_open(fs->nodes, n, pid, how);
	if (!o)
		return false;
	handle_stat(fs, container_of(o, struct handle, file), st);
	nodes_put_open(fs->nodes, o);
	return true;
}

/*
 * The kernel keeps one size a file, and cuts the file's page cache to
 * any smaller size a reply gives, dirty pages of a shared mapping
 * included: while a writer through the page cache has n open, every
 * reply carries that writer's size, lest another process's stat throw
 * away what the writer mapped and wrote.
 */
void paged_size(struct kvfs *fs, struct node *n, struct stat *st)
{
	struct stat own;

	if (open_file_stat(fs, n, 0, OPEN_PAGED, &own))
		st->st_size = own.st_size;
}

void node_entry(struct kvfs *fs, struct node *n, const struct kv_attr *a,
		bool keep, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodes_id(n);
	kv_to_stat(a, &e->attr);
	e->attr_timeout = keep ? attr_timeout(fs, a) : 0;
	if (a->type == KV_FILE && nodes_writing(fs->nodes, n)) {
		/* a writer's process asks again (kvfs_getattr) */
		paged_size(fs, n, &e->attr);
		e->attr_timeout = 0;
	}
	e->entry_timeout = keep ? cache_timeout(fs->entry_timeout, a) : 0;
}

/* Reply with node n (counted one lookup) of attributes a; keep: whether
 * the kernel may cache them. */
void reply_node(fuse_req_t req, struct node *n, const struct kv_attr *a,
		bool keep)
{
	struct kvfs *fs = req_fs(req);
	struct fuse_entry_param e;

	node_entry(fs, n, a, keep, &e);
	if (fuse_reply_entry(req, &e))
		nodes_forget(fs->nodes, n, 1);
	trim_check(fs);
}

void reply_entry(fuse_req_t req, struct node *parent, const char *name,
		 size_t len, const struct kv_attr *a)
{
	struct kvfs *fs = req_fs(req);
	struct node *n;

	n = nodes_lookup(fs->nodes, parent, name, len, a->ino, node_gen(a),
			 a->size);
	if (!n)
		return (void)fuse_reply_err(req, ENOMEM);
	reply_node(req, n, a, true);
}
