/* The one address grammar (design.md §4) used by gcs -bridge, vsockexec/init -t, tests and
 * runlcow, and the dial/listen calls over it:
 *   vsock:CID[:PORT]        AF_VSOCK to CID, on PORT or on the port the caller names
 *   unix:PATH[:PORT]        the Unix socket PATH_P for vsock port P (Firecracker's hybrid
 *                           vsock convention); PORT, when given, is the default port
 *   listen:vsock:PORT       accept on AF_VSOCK (any CID), PORT
 *   listen:unix:PATH        accept on PATH_1073741824 (or PATH_P for the port asked)
 * Ports are decimal or 0x hex. All sockets are CLOEXEC from birth (style.md C7). */
#ifndef LCOW_VSOCK_TRANSPORT_H
#define LCOW_VSOCK_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "common/error.h"

#define VSOCK_CID_HOST    2u
#define VSOCK_PORT_BRIDGE 0x40000000u

enum vsock_addr_kind {
    VSOCK_ADDR_VSOCK,
    VSOCK_ADDR_UNIX,
};

struct vsock_addr {
    enum vsock_addr_kind kind;
    bool listen;   /* listen:... form */
    bool has_port; /* a PORT was written */
    uint32_t cid;  /* vsock only */
    uint32_t port; /* the written port, when has_port */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) - 12]; /* unix base, room for _PORT */
};

/* Parses `s`. 0 or -EINVAL naming the text. */
int vsock_addr_parse(const char *s, struct vsock_addr *ret, struct lcow_error **err);
/* Parses a decimal or 0x-hex 32-bit port. 0 or -EINVAL. */
int vsock_port_parse(const char *s, uint32_t *ret);
/* Formats an address back ("vsock:2:1073741824", "unix:/p:5"). */
void vsock_addr_format(const struct vsock_addr *a, char *buf, size_t cap);
/* The Unix path for `port` under a unix base: PATH_PORT. -ENAMETOOLONG when it does not fit. */
int vsock_unix_path(const struct vsock_addr *a, uint32_t port, char *buf, size_t cap);

/* Connects to `port` at a (the base's CID or PATH_port); returns a blocking CLOEXEC fd or a
 * negative errno; a failed connect closes its socket. */
int vsock_dial(const struct vsock_addr *a, uint32_t port, struct lcow_error **err);
/* As vsock_dial, retrying every retry_ms until timeout_ms passes (timeout_ms < 0: forever). */
int vsock_dial_retry(const struct vsock_addr *a, uint32_t port, int retry_ms, int timeout_ms,
                     struct lcow_error **err);
/* Binds and listens for `port` (vsock: CID_ANY:port; unix: PATH_port, replacing a stale
 * socket file). Returns a CLOEXEC listening fd. */
int vsock_listen(const struct vsock_addr *a, uint32_t port, int backlog, struct lcow_error **err);
/* accept4 with SOCK_CLOEXEC, retrying EINTR. */
int vsock_accept(int listen_fd, struct lcow_error **err);

#endif
