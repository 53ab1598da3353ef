/* MappedDirectory (Plan9 shares, gcs-protocol.md §5.5): the ModifySettings row and a registry
 * of what is mounted, over mount/plan9.h. Add dials the host on the request's Port with gcs's
 * transport base (the one stdio uses: vsock CID 2, or unix:PATH → PATH_<Port>), mounts 9p with
 * trans=fd and closes its descriptor; Remove unmounts and removes the directory. */
#ifndef LCOW_GCS_PLAN9_H
#define LCOW_GCS_PLAN9_H

#include "common/error.h"

struct gcs;
struct gcs_modify_request;
struct gcs_plan9;
struct vsock_addr;

/* fs_wait_ms: how long an Add waits for the 9p filesystem to be registered (init loads the
 * module after starting gcs); GCS_PLAN9_FS_WAIT_MS in gcs. */
#define GCS_PLAN9_FS_WAIT_MS 60000u
struct gcs_plan9 *gcs_plan9_new(unsigned fs_wait_ms);
struct gcs_plan9 *gcs_plan9_free(struct gcs_plan9 *p);

/* Applies a MappedDirectory request (Add, or "" = Add, and Remove; anything else -ENOTSUP).
 * MountPath must be under /run (mount_validate_run_path), Port 1..UINT32_MAX, ShareName a
 * plain token. An Add of a path already added (or being added), or of a mount point, is
 * -EBUSY; a Remove of a path that no longer exists succeeds (the Go GCS's answer), of an
 * existing path this registry did not add is -ENOENT. Nothing is left behind on failure. */
int gcs_plan9_apply(struct gcs_plan9 *p, const struct vsock_addr *base,
                    const struct gcs_modify_request *req, struct lcow_error **err);

/* Unmounts and forgets every share mounted at or below `dir` (a container bundle about to be
 * deleted: hcsshim's v2 shim sends DeleteContainerState before the MappedDirectory Removes,
 * and the bundle tree cannot be removed while a 9p mount sits in it). A later Remove of such
 * a path then succeeds (nothing left to do). Returns 0 or the first failure (the rest are still
 * tried). */
int gcs_plan9_release_under(struct gcs_plan9 *p, const char *dir, struct lcow_error **err);
/* The same on the process-wide registry gcs uses (for DeleteContainerState). */
int gcs_plan9_release_bundle(const char *dir, struct lcow_error **err);
/* Test hook: records `path` as added, without mounting. */
int gcs_plan9_track(struct gcs_plan9 *p, const char *path, struct lcow_error **err);

/* The gcs/modify.c row: gcs_plan9_apply on the process-wide registry and gcs's stdio base. */
int gcs_plan9_mapped_directory(struct gcs *g, const struct gcs_modify_request *req,
                               struct lcow_error **err);

#endif
