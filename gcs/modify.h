/* ModifySettings dispatch (gcs-protocol.md §4.9): one table maps each ResourceType to the
 * function that applies it. Teammates plug a resource in by editing ONE row of the table in
 * gcs/modify.c (plus the #include of their header), e.g.
 *
 *     {"MappedVirtualDisk", GCS_MODIFY_UVM, gcs_storage_mapped_virtual_disk},
 *
 * Contract of a handler:
 *   - It runs on a worker thread, never on the bridge's event loop, so it may block for a
 *     bounded time (device waits, mounts, mkfs); other requests keep being served meanwhile.
 *     Several handlers (also of the same resource) can run at once: guard shared state.
 *   - `req` is the decoded request (gcs/protocol.h); its typed Settings were decoded and
 *     validated for JSON shape before dispatch, so a handler validates semantics only.
 *   - Returns 0, or a negative errno with *err set (common/error.h). The bridge turns the
 *     error into the response's HRESULT with gcs_hresult_from_errno() (protocol.h; almost
 *     everything is E_FAIL) and the message into ErrorMessage. Undo half-done work before
 *     returning an error (design.md §8).
 *   - Reach options (cgroup root, test roots for /sys and /dev) through gcs_get_options(g);
 *     never hard-code "/sys" or "/dev": tests point them at fake trees.
 *   - Child processes (mkfs, udhcpc, ...): fork/clone them normally and wait with
 *     gcs_reaper_wait(pid) (gcs/reaper.h), never a private waitpid()/waitid(): gcs reaps in
 *     one place. (A clone3 child with exit_signal 0 does not escape the reaper: execve()
 *     resets its exit signal to SIGCHLD.) */
#ifndef LCOW_GCS_MODIFY_H
#define LCOW_GCS_MODIFY_H

#include "common/error.h"
#include "gcs/options.h"

struct gcs;
struct gcs_modify_request; /* gcs/protocol.h */

/* The options gcs was started with (never NULL; read-only after start). */
const struct gcs_options *gcs_get_options(const struct gcs *g);

typedef int (*gcs_modify_fn)(struct gcs *g, const struct gcs_modify_request *req,
                             struct lcow_error **err);

/* Which ContainerId a row accepts: the UVM id (host-level resources), a container id
 * (ContainerConstraints), or both. */
enum gcs_modify_target {
    GCS_MODIFY_UVM = 1 << 0,
    GCS_MODIFY_CONTAINER = 1 << 1,
};

struct gcs_modify_entry {
    const char *resource_type; /* wire name, compared exactly as the Go enum does */
    unsigned targets;          /* enum gcs_modify_target bits */
    gcs_modify_fn fn;          /* NULL: "not supported" (E_FAIL) */
};

/* Looks up req's ResourceType and runs its handler (on the calling thread). Unknown type,
 * a row with no handler, or a target the row does not accept: -ENOTSUP with a message as the
 * Go GCS words it. */
int gcs_modify_dispatch(struct gcs *g, const struct gcs_modify_request *req,
                        struct lcow_error **err);

/* gcs/vpci.c: the VPCIDevice row (Add waits for the assigned PCI device, bounded by
 * -device-timeout-ms). */
int gcs_vpci_device_modify(struct gcs *g, const struct gcs_modify_request *req,
                           struct lcow_error **err);

/* The table, for tests and DumpStacks. */
const struct gcs_modify_entry *gcs_modify_table(unsigned *ret_count);

#endif
