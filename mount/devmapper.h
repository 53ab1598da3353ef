/* Device-mapper through raw ioctls on <dev_root>/mapper/control (gcs-protocol.md §5.3): the
 * UVM has no dmsetup. Only what VPMem multi-mapping needs: a read-only dm-linear window on a
 * block device, and its removal. */
#ifndef LCOW_MOUNT_DEVMAPPER_H
#define LCOW_MOUNT_DEVMAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "mount/mount.h"

#define MOUNT_DM_SECTOR 512u
/* DM_NAME_LEN from <linux/dm-ioctl.h>, including the NUL. */
#define MOUNT_DM_NAME_MAX 128u

/* Byte window → sectors (the table's "0 <len> linear <dev> <start>"). Offset and size must be
 * multiples of 512, size > 0, and offset + size must not overflow. 0 or -EINVAL. */
int mount_dm_linear_sectors(uint64_t offset_bytes, uint64_t size_bytes, uint64_t *ret_start,
                            uint64_t *ret_len, struct lcow_error **err);

/* Fills buf with a DM_TABLE_LOAD payload (struct dm_ioctl + one linear target spec and its
 * "MAJ:MIN START" parameters) for `name`. Returns the used size or -errno (-ENOSPC). */
int mount_dm_build_linear_load(void *buf, size_t len, const char *name, unsigned major,
                               unsigned minor, uint64_t start, uint64_t n_sectors, bool read_only,
                               struct lcow_error **err);

/* Creates `name` as a dm-linear window [offset, offset+size) of `backing` (a block device path)
 * and its node <dev_root>/mapper/<name> (0600). Retries every 100 ms on EBUSY/ENOENT/ENXIO/ENODEV
 * within env->device_timeout_ms; a partial device is removed before a retry and on failure.
 * *ret (optional) is the node path. */
int mount_dm_create_linear(const struct mount_env *env, const char *name, const char *backing,
                           uint64_t offset_bytes, uint64_t size_bytes, bool read_only, char **ret,
                           struct lcow_error **err);

/* Removes the device (retried 10 times on EBUSY) and its node. A device that does not exist is
 * -ENXIO. */
int mount_dm_remove(const struct mount_env *env, const char *name, struct lcow_error **err);

#endif
