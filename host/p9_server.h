/* A 9P2000.L file server for Plan9 shares (gcs-protocol.md §5.5, lcow-host.md §3): the guest
 * dials host port 564 for every MappedDirectory and attaches with aname=<ShareName>; this
 * server picks the share by that name and serves one directory tree per connection.
 *
 * The guest is untrusted. Every object a fid names was reached from the share root one name
 * at a time with openat(O_PATH|O_NOFOLLOW) (no `..`, no `/` in a name, no symlink followed),
 * so nothing outside the shared directory is reachable; paths rebuilt for rename/remove go
 * through openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS). Device nodes and FIFOs are never
 * opened; read-only shares refuse every change with EROFS; message size is bounded by msize.
 *
 * Threads: one per connection (requests on a connection are answered in order), plus one per
 * listener. Library code (C5): never logs above debug, never exits. */
#ifndef LCOW_HOST_P9_SERVER_H
#define LCOW_HOST_P9_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define HOST_P9_DEFAULT_PORT  564u
#define HOST_P9_DEFAULT_MSIZE (512u * 1024 + 24u)
#define HOST_P9_MAX_FIDS      65536u /* per connection */
#define HOST_P9_MAX_CONNS     256u   /* per server: a guest cannot open unbounded threads */

struct host_p9_server;
struct vsock_addr;

/* A server with no shares. max_msize 0 means HOST_P9_DEFAULT_MSIZE; it is clamped to
 * [HOST_P9_MIN_MSIZE, HOST_P9_MAX_MSIZE]. */
int host_p9_server_new(uint32_t max_msize, struct host_p9_server **ret, struct lcow_error **err);

/* Stops every listener and connection (waiting for their threads) and frees the server.
 * Accepts NULL. */
void host_p9_server_free(struct host_p9_server *s);

/* Exports directory `root` as share `name` (hcsshim's decimal share counter, matched exactly
 * against the attach's aname). name NULL or "" adds the default share, which answers any
 * aname no named share matches. -EEXIST for a name in use, -ENOTDIR/-ENOENT for the root. */
int host_p9_server_add_share(struct host_p9_server *s, const char *name, const char *root,
                             bool read_only, struct lcow_error **err);

/* A share of one file (a single-file bind mount, as hcsshim does it): the directory `dir`
 * holding it is the share root, but only `file` (one name) can be seen, opened or changed
 * there; nothing can be created, renamed into or removed from the root except that name. */
int host_p9_server_add_share_file(struct host_p9_server *s, const char *name, const char *dir,
                                  const char *file, bool read_only, struct lcow_error **err);

/* Stops serving share `name`: later attaches fail, and every connection attached to it is
 * shut down; returns once their threads are gone. -ENOENT when no such share. */
int host_p9_server_remove_share(struct host_p9_server *s, const char *name,
                                struct lcow_error **err);

/* Serves the connected stream socket `fd` (ownership taken, also on failure) on a new
 * thread until the peer hangs up or its share is removed. -EMFILE (fd closed) when
 * HOST_P9_MAX_CONNS connections are being served. */
int host_p9_server_serve_fd(struct host_p9_server *s, int fd, struct lcow_error **err);

/* Listens at `a` for `port` (unix: PATH_port, the socket vhost-user-vsock forwards guest
 * connections to; vsock: any CID) and serves every connection; the listener stops with the
 * server. */
int host_p9_server_listen(struct host_p9_server *s, const struct vsock_addr *a, uint32_t port,
                          struct lcow_error **err);

/* Number of connections being served (for tests and status). */
unsigned host_p9_server_connections(struct host_p9_server *s);

#endif
