/* Plan9 shares in the guest (gcs-protocol.md §5.5): a 9p mount over a connected socket to the
 * host's file server (trans=fd), and its removal. The connection itself is made by the caller
 * (gcs dials the host on the request's Port with its transport base).
 *
 * Library code (style.md C5): never logs above debug, never exits, leaves nothing half-made. */
#ifndef LCOW_MOUNT_PLAN9_H
#define LCOW_MOUNT_PLAN9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MOUNT_PLAN9_MSIZE    65536u /* hcsshim's msize, also the socket buffer sizes */
#define MOUNT_PLAN9_NAME_MAX 255u

struct mount_plan9_config {
    const char *target;     /* MountPath (validated by the caller: under /run) */
    int fd;                 /* connected socket to the host's 9P server */
    bool read_only;         /* MS_RDONLY + ",noload" as the Go GCS passes it */
    const char *share_name; /* ShareName → aname (omitted when NULL or "") */
    unsigned fs_wait_ms;    /* bounded wait for the 9p module (init loads it late); 0: none */
};

/* "trans=fd,rfdno=N,wfdno=N,msize=65536[,noload][,aname=NAME]" into buf. A share name that
 * could split the option string (`,`, `=`, blanks, control bytes, over 255 bytes) is -EINVAL:
 * the Go GCS pastes it in unchecked, which would let a host inject mount options. */
int mount_plan9_options(const struct mount_plan9_config *cfg, char *buf, size_t cap,
                        struct lcow_error **err);

/* §5.5 Add: SO_RCVBUF/SO_SNDBUF = 64 KiB on cfg->fd, mkdir -p target (0700), mount 9p with the
 * options above. While the kernel does not know 9p yet (ENODEV: init loads the 9p module
 * after starting gcs), the mount is retried for up to cfg->fs_wait_ms. cfg->fd stays owned by the
 * caller (once mounted, the kernel holds its own reference). On failure the directories it made are
 * removed. */
int mount_plan9_add(const struct mount_plan9_config *cfg, struct lcow_error **err);

/* §5.5 Remove: unmount and remove the mount point (a missing path is success). */
int mount_plan9_remove(const char *target, struct lcow_error **err);

#endif
