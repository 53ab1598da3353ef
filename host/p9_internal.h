/* Shared between host/p9_server.c (shares, connections, threads) and host/p9_ops.c (the
 * request handlers). Not an API. */
#ifndef LCOW_HOST_P9_INTERNAL_H
#define LCOW_HOST_P9_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "host/p9_proto.h"
#include "host/p9_server.h"

#define P9_FID_BUCKETS 256u
#define P9_XATTR_MAX   (64u * 1024) /* XATTR_SIZE_MAX */

struct p9_share {
    char *name; /* NULL: the default share */
    char *root;
    int root_fd; /* O_PATH directory */
    dev_t root_dev;
    bool read_only;
    char *only; /* a single-file share: the one name visible in the root, else NULL */
    bool removed;
    unsigned refs; /* under the server lock */
    struct p9_share *next;
};

enum p9_fid_kind {
    P9_FID_FILE,
    P9_FID_XATTR_READ,   /* Txattrwalk result: a buffered value or name list */
    P9_FID_XATTR_CREATE, /* Txattrcreate: bytes collected until Tclunk sets them */
};

struct p9_fid {
    uint32_t id;
    enum p9_fid_kind kind;
    int fd;       /* O_PATH (or an open fd after Tlcreate): the object itself */
    int ofd;      /* Tlopen/Tlcreate result, -1 when not open */
    bool ofd_dir; /* ofd is a directory stream */
    char *path;   /* relative to the share root, "" for the root; for rename/remove */
    uint32_t uid; /* n_uname of the attach it descends from */
    /* xattr fids */
    char *xname;
    uint8_t *xbuf;
    size_t xlen; /* bytes valid (read) / expected (create) */
    size_t xgot; /* bytes written so far (create) */
    int xflags;
    struct p9_fid *next;
};

struct p9_conn {
    struct host_p9_server *srv;
    struct p9_share *share; /* bound at the first Tattach (reference held) */
    int fd;
    uint32_t msize;
    bool versioned;
    uint8_t *rx, *tx;
    struct p9_fid *fids[P9_FID_BUCKETS];
    unsigned n_fids;
    pthread_t thread;
    bool done;    /* thread finished (under the server lock) */
    bool joining; /* someone is joining it */
    struct p9_conn *next;
};

/* A connection object with no thread and no socket (fd -1), and its destructor (drops the
 * share reference, closes fd when set). The fuzzer drives one directly. */
struct p9_conn *p9_conn_new(struct host_p9_server *s);
void p9_conn_free(struct p9_conn *c);

/* Answers the frame of `len` bytes in c->rx into `out` (which then points into c->tx);
 * Tversion resizes the buffers. 0, or -ENOMEM when the connection cannot go on. */
int p9_conn_process(struct p9_conn *c, size_t len, struct host_p9_out *out);

/* Answers one decoded request into `out` (an R-message or Rlerror). */
void p9_handle(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *out);

/* Releases every fid of the connection (Tversion, hang-up). */
void p9_fids_clear(struct p9_conn *c);

/* Binds the connection to the share named aname (first attach), taking a reference. */
int p9_conn_bind_share(struct p9_conn *c, const char *aname);

#endif
