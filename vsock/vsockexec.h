/* vsockexec's command line (design.md §2, gcs-protocol.md §1.3), kept apart from main so the
 * unit tests can drive it:
 *   vsockexec [-t ADDR] [-r] [-i PORT] [-o PORT] [-e PORT] [--] PROGRAM ARGS...
 * Options stop at the first non-option, as getopt's "+" mode, so `vsockexec -e 109 /bin/gcs -v4`
 * hands `-v4` to gcs. */
#ifndef LCOW_VSOCK_VSOCKEXEC_H
#define LCOW_VSOCK_VSOCKEXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "vsock/transport.h"

#define VSOCKEXEC_DEFAULT_BASE "vsock:2"

struct vsockexec_args {
    struct vsock_addr base; /* -t, default vsock:2 */
    bool relay;             /* -r */
    bool has_port[3];       /* fd 0 (-i), 1 (-o), 2 (-e) */
    uint32_t port[3];
    char **argv; /* PROGRAM ARGS..., points into the caller's argv */
};

/* Parses argv. 0, or -EINVAL with a message naming the bad option. ret is set only on success. */
int vsockexec_parse_args(int argc, char **argv, struct vsockexec_args *ret,
                         struct lcow_error **err);

/* The single port relay mode forwards to (-e, else -o); 0 when neither is set. */
uint32_t vsockexec_relay_port(const struct vsockexec_args *a);

#endif
