/* Bind mounts of host paths in an OCI spec → Plan9 shares (lcow-host.md §3.1 step 5, what
 * hcsshim does for LCOW): for the i-th mount that binds a host directory or file, a share named
 * by the UVM's share counter, a MappedDirectory at /run/gcs/c/<id>/mounts/m<i>, and the spec's
 * source rewritten to that UVM path (plus the file name for a single-file bind, whose share
 * is its directory restricted to that file). For runlcow's supervisor:
 *
 *     host_p9_spec_binds(guest_spec, id, &counter, &binds, &err);   // rewrites guest_spec
 *     host_p9_binds_share(p9, &binds, &err);                        // host half first
 *     for each b: host_p9_bind_request(&binds.v[i], true, &req) → ModifySettings
 *     ... on delete: each Remove request (guest half first), then host_p9_binds_unshare().
 */
#ifndef LCOW_HOST_P9_BINDS_H
#define LCOW_HOST_P9_BINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct json_object;
struct host_p9_server;
struct gcs_modify_request;

struct host_p9_bind {
    unsigned index;   /* position in spec.mounts: the m<index> of the UVM path */
    char *share_name; /* the decimal share counter value */
    char *host_dir;   /* the directory served (symlinks in the source resolved) */
    char *host_file;  /* single-file bind: the one name visible; NULL for a directory */
    char *mount_path; /* /run/gcs/c/<id>/mounts/m<index> */
    bool read_only;   /* "ro" in the mount's options */
};

struct host_p9_binds {
    struct host_p9_bind *v;
    size_t n;
};

/* Finds the bind mounts of `spec` (type "bind", or no type / "none" with a "bind"/"rbind"
 * option; sources with a `scheme://` prefix are left alone), numbers their shares from
 * *share_counter (advanced), and rewrites each source to its UVM path. A source that is
 * missing, relative, or neither a directory nor a regular file is -EINVAL/-ENOENT naming the
 * mount; the spec is then unchanged. */
int host_p9_spec_binds(struct json_object *spec, const char *container_id, uint32_t *share_counter,
                       struct host_p9_binds *ret, struct lcow_error **err);
void host_p9_binds_done(struct host_p9_binds *b);

/* Adds every share to the server (a failure removes the ones added). */
int host_p9_binds_share(struct host_p9_server *s, const struct host_p9_binds *b,
                        struct lcow_error **err);
/* Removes every share (errors ignored: best effort at teardown). */
void host_p9_binds_unshare(struct host_p9_server *s, const struct host_p9_binds *b);

/* The MappedDirectory Add/Remove for one bind (Port 564). *ret points into b: keep b alive
 * while the request is in use; do not call gcs_modify_request_done on it. */
void host_p9_bind_request(const struct host_p9_bind *b, bool add, struct gcs_modify_request *ret);

#endif
