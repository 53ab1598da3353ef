/* SCSI disks (gcs-protocol.md §5.2): the host's controller index → Linux SCSI host number,
 * the bounded wait for /sys/bus/scsi/devices/H:0:0:LUN/block/<dev> (and its partition), and
 * the guest-initiated unplug through sysfs.
 *
 * Under Hyper-V the controllers are VMBus devices with fixed GUIDs; under QEMU controller i is
 * the i-th virtio-scsi host ordered by PCI address (design.md §5). Which layout applies is
 * decided by whether <sysfs>/bus/vmbus exists. Waits poll every env->poll_interval_ms and
 * give up after env->device_timeout_ms with -ETIMEDOUT; they block only the calling thread. */
#ifndef LCOW_MOUNT_SCSI_H
#define LCOW_MOUNT_SCSI_H

#include <stdint.h>

#include "common/error.h"
#include "mount/mount.h"

#define MOUNT_SCSI_MAX_CONTROLLER 3
#define MOUNT_SCSI_MAX_LUN        63
#define MOUNT_SCSI_MAX_PARTITION  255

/* guestrequest.ScsiControllerGuids: VMBus instance id of Hyper-V controller i. */
extern const char *const mount_scsi_controller_guids[MOUNT_SCSI_MAX_CONTROLLER + 1];

/* Bounds of §8: controller ≤ 3, LUN ≤ 63, partition ≤ 255. 0 or -EINVAL naming the field. */
int mount_scsi_validate(uint32_t controller, uint32_t lun, uint64_t partition,
                        struct lcow_error **err);

/* The Linux SCSI host number N of controller `controller`, waiting (bounded) for it to appear.
 * Several host entries for one controller are an error (-EEXIST). */
int mount_scsi_host_number(const struct mount_env *env, uint32_t controller, unsigned *ret_host,
                           struct lcow_error **err);

/* Waits for the disk at (controller, lun) and its partition (0 = whole disk), then for its
 * device node to open; *ret is "<dev_root>/sdX[N]" (caller frees). */
int mount_scsi_wait_device(const struct mount_env *env, uint32_t controller, uint32_t lun,
                           uint64_t partition, char **ret, struct lcow_error **err);

/* §5.2 step 7: writes "1\n" to <sysfs>/bus/scsi/devices/H:0:0:LUN/delete; a missing device is
 * success. */
int mount_scsi_delete_device(const struct mount_env *env, uint32_t controller, uint32_t lun,
                             struct lcow_error **err);

#endif
