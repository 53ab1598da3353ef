/* ModifySettings storage resources on the UVM id (gcs-protocol.md §4.9, §5.2–5.4):
 * MappedVirtualDisk Add/Remove, SCSIDevice Remove, VPMemDevice Add/Remove, CombinedLayers
 * Add/Remove, on top of the mount/ library, plus the bookkeeping of what gcs has mounted.
 *
 * The bookkeeping lets Remove refuse what was never added, stops a second Add from stacking a
 * mount on a path in use, and keeps a SCSI disk from being unplugged while still mounted.
 * Every entry is reserved (under the lock) before the slow part (device wait, mkfs, mount) runs
 * unlocked, so concurrent requests on different paths never wait for each other. */
#ifndef LCOW_GCS_STORAGE_H
#define LCOW_GCS_STORAGE_H

#include <stdbool.h>

#include "common/error.h"
#include "mount/mount.h"

struct gcs;
struct gcs_modify_request;
struct gcs_storage;

/* A registry of mounts (the handlers below use one process-wide instance). */
struct gcs_storage *gcs_storage_new(void);
struct gcs_storage *gcs_storage_free(struct gcs_storage *s);

/* Applies one decoded MappedVirtualDisk / SCSIDevice / VPMemDevice / CombinedLayers request.
 * Other resource types are -EOPNOTSUPP. 0 or -errno with *err set; on failure nothing the call
 * created is left behind. */
int gcs_storage_apply(struct gcs_storage *s, const struct mount_env *env,
                      const struct gcs_modify_request *req, struct lcow_error **err);

/* The number of entries (mounts, symlinks, overlays) currently recorded. */
unsigned gcs_storage_count(struct gcs_storage *s);

/* Detaches the bundle-on-scratch bind §5.4 made for the overlay whose bundle directory is
 * `bundle_dir` (dirname of ContainerRootPath), for DeleteContainerState (§4.11). 0 when there
 * is none. */
int gcs_storage_release_bundle(struct gcs_storage *s, const char *bundle_dir,
                               struct lcow_error **err);

/* The ModifySettings table rows (gcs/modify.h handler contract). They read -sysfs-root and
 * -dev-root from gcs_get_options() and use the process-wide registry. */
int gcs_storage_mapped_virtual_disk(struct gcs *g, const struct gcs_modify_request *req,
                                    struct lcow_error **err);
int gcs_storage_scsi_device(struct gcs *g, const struct gcs_modify_request *req,
                            struct lcow_error **err);
int gcs_storage_vpmem_device(struct gcs *g, const struct gcs_modify_request *req,
                             struct lcow_error **err);
int gcs_storage_combined_layers(struct gcs *g, const struct gcs_modify_request *req,
                                struct lcow_error **err);
/* For DeleteContainerState in the bridge: gcs_storage_release_bundle on the process registry. */
int gcs_storage_delete_container_bundle(const char *bundle_dir, struct lcow_error **err);

/* The process-wide registry the handlers use. */
struct gcs_storage *gcs_storage_default(void);

#endif
