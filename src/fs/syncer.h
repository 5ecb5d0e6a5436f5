/*
 * syncer.h - the replies to fsync and fsyncdir, sent by a thread of their
 * own (a worker, worker.h) once a checkpoint has put every commit made
 * before them on the disk.
 *
 * A request thread that waited for the disk itself would not read the
 * next request meanwhile: with a few dozen processes calling fsync, a
 * small pool of threads would leave a read waiting behind their flushes.
 * The syncer waits instead, and one checkpoint answers every fsync that
 * came before it began.
 */
#ifndef KVFS_SYNCER_H
#define KVFS_SYNCER_H

#include "fs/fs.h"

struct syncer;

/* Start the syncer of st: 0 or -errno. */
int syncer_start(struct store *st, struct syncer **out);

/*
 * Reply to req (an fsync or fsyncdir) once the commits made before this
 * call are on the disk: 0, or the checkpoint's error (store_sync).
 */
void syncer_reply(struct syncer *s, fuse_req_t req);

/*
 * Once the request loop has stopped: answer what is queued, after one
 * more checkpoint, then stop the thread and free s (NULL is fine).
 */
void syncer_stop(struct syncer *s);

#endif
