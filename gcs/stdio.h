/* stdio of external processes (§1.6): dialling the host's ports before the reply, the pty of
 * EmulateConsole, and the relay between a pty master and the host's sockets. Internal to gcs. */
#ifndef LCOW_GCS_STDIO_H
#define LCOW_GCS_STDIO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "gcs/protocol.h"
#include "vsock/transport.h"

/* The host's sockets for stdin, stdout, stderr (-1 where not requested), and how many of
 * GCS_LIMIT_STDIO_CONNECTIONS they hold. Moving the struct moves both (then reset the source
 * to GCS_STDIO_INIT). */
struct gcs_stdio {
    int fd[3];
    unsigned held;
};

#define GCS_STDIO_INIT                                                                             \
    {                                                                                              \
        {-1, -1, -1}, 0                                                                            \
    }

/* Dials each requested stream, in the order stdin, stdout, stderr (as the host accepts them).
 * A requested stream without a port, or a failed dial, fails the whole call (nothing stays
 * open); so do streams that would pass GCS_LIMIT_STDIO_CONNECTIONS (-EAGAIN, nothing dialled). */
int gcs_stdio_dial(const struct vsock_addr *base, const struct gcs_process_parameters *p,
                   const struct gcs_vsock_stdio_relay *relay, struct gcs_stdio *ret,
                   struct lcow_error **err);
/* Closes the sockets still open and releases what s holds of the limit. */
void gcs_stdio_close(struct gcs_stdio *s);
/* Takes n more connections of the limit for s, or fails with -EAGAIN (nothing taken) when
 * that would pass it; gcs_stdio_dial takes them before it dials. */
int gcs_stdio_hold(struct gcs_stdio *s, unsigned n, struct lcow_error **err);
/* Releases what s holds of the limit once its sockets were closed one by one. Idempotent. */
void gcs_stdio_release(struct gcs_stdio *s);
/* Lowers the limit (-max-stdio-connections, a test hook): 1..GCS_LIMIT_STDIO_CONNECTIONS. */
int gcs_stdio_set_limit(int n, struct lcow_error **err);
/* Stdio connections held now (for tests and DumpStacks). */
unsigned gcs_stdio_held(void);

/* Opens a pty pair (master and slave CLOEXEC, slave mode 0600), sized when rows/cols > 0. */
int gcs_pty_open(uint16_t rows, uint16_t cols, int *ret_master, int *ret_slave,
                 struct lcow_error **err);

/* Copies stdin socket -> master and master -> stdout socket until the master reports EOF/EIO
 * (every slave closed). Blocks; run it on its own thread. Closes the sockets in s (not the
 * master). */
void gcs_pty_relay(int master, struct gcs_stdio *s);

#endif
