/* VPMem layers (gcs-protocol.md §5.3): /dev/pmemN mounted read-only ext4 with noload, or, when
 * several layers are packed into one device (MappingInfo), a read-only dm-linear window on it. */
#include <errno.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "mount/devmapper.h"
#include "mount/mount.h"

/* Far above the host's 128 devices; keeps names and paths bounded. */
#define PMEM_MAX_DEVICE 1023u

int mount_pmem_dm_name(const struct mount_pmem_config *cfg, char *buf, size_t len)
{
    int n = snprintf(buf, len, "dm-linear-pmem%" PRIu32 "-%" PRIu64 "-%" PRIu64, cfg->device_number,
                     cfg->offset_bytes, cfg->size_bytes);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static char *pmem_device(const struct mount_env *env, uint32_t n)
{
    char name[32];
    snprintf(name, sizeof(name), "pmem%" PRIu32, n);
    return mount_path_join(env->dev_root, name);
}

/* The window must lie inside the device: a mapping past its end would only fail later, inside
 * the kernel's table load, with a less useful error. */
static int check_window(const char *dev, const struct mount_pmem_config *cfg,
                        struct lcow_error **err)
{
    cleanup_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", dev);
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) < 0)
        return lcow_error_errno(err, "BLKGETSIZE64 `%s`", dev);
    if (cfg->offset_bytes > size || cfg->size_bytes > size - cfg->offset_bytes)
        return lcow_error_make(err, EINVAL,
                               "MappingInfo offset %" PRIu64 " + size %" PRIu64
                               " is past the end of `%s` (%" PRIu64 " bytes)",
                               cfg->offset_bytes, cfg->size_bytes, dev, size);
    return 0;
}

int mount_pmem_add(const struct mount_env *env, const struct mount_pmem_config *cfg,
                   struct lcow_error **err)
{
    if (cfg->device_number > PMEM_MAX_DEVICE)
        return lcow_error_make(err, EINVAL, "DeviceNumber %" PRIu32 " out of range (0..%u)",
                               cfg->device_number, PMEM_MAX_DEVICE);
    uint64_t s, l;
    /* a malformed window is refused before any wait */
    if (cfg->mapped && mount_dm_linear_sectors(cfg->offset_bytes, cfg->size_bytes, &s, &l, err) < 0)
        return lcow_error_wrap(err, "MappingInfo");
    cleanup_free char *dev = pmem_device(env, cfg->device_number);
    if (!dev)
        return lcow_error_make(err, ENOMEM, "VPMem");
    int r = mount_wait_node(env, dev, "VPMem device", err);
    if (r < 0)
        return r;
    char name[MOUNT_DM_NAME_MAX];
    cleanup_free char *mapped = NULL;
    if (cfg->mapped) {
        r = check_window(dev, cfg, err);
        if (r < 0)
            return r;
        if (mount_pmem_dm_name(cfg, name, sizeof(name)) < 0)
            return lcow_error_make(err, ENAMETOOLONG, "VPMem device-mapper name");
        r = mount_dm_create_linear(env, name, dev, cfg->offset_bytes, cfg->size_bytes, true,
                                   &mapped, err);
        if (r < 0)
            return r;
    }
    struct mount_block_config bc = {
        .source = mapped ? mapped : dev,
        .target = cfg->target,
        .filesystem = "ext4",
        .read_only = true,
    };
    r = mount_block_device(env, &bc, err);
    if (r < 0 && mapped)
        (void)mount_dm_remove(env, name, NULL);
    return r;
}

int mount_pmem_remove(const struct mount_env *env, const struct mount_pmem_config *cfg,
                      struct lcow_error **err)
{
    int r = mount_unmount_and_remove(cfg->target, err);
    if (r < 0)
        return r;
    if (!cfg->mapped)
        return 0;
    char name[MOUNT_DM_NAME_MAX];
    if (mount_pmem_dm_name(cfg, name, sizeof(name)) < 0)
        return lcow_error_make(err, ENAMETOOLONG, "VPMem device-mapper name");
    return mount_dm_remove(env, name, err);
}
