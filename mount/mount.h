/* Storage mechanisms of the GCS (gcs-protocol.md §5.2–5.4): path validation, filesystem
 * detection and formatting, block-device mounts, VPMem, overlay rootfs and unmounting.
 *
 * Library code (style.md C5): never logs above debug, never exits. Every function follows the
 * error contract of common/error.h and leaves nothing half-created when it fails.
 *
 * Every path that reaches sysfs or /dev goes through a struct mount_env, so tests can point
 * the code at a fake sysfs tree and at loop devices they made instead of this machine's
 * real devices. */
#ifndef LCOW_MOUNT_MOUNT_H
#define LCOW_MOUNT_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct dm_ioctl;

/* Test hook for device-mapper: called instead of ioctl(fd, cmd, io). Returns 0 or -1/errno. */
typedef int (*mount_dm_ioctl_fn)(int fd, unsigned long cmd, struct dm_ioctl *io, void *ctx);

/* Waits for child `pid` and returns its raw wait status; 0 or -errno. Programs with one
 * process-wide reaper (gcs) must route tool children through it: a private wait would race. */
typedef int (*mount_wait_fn)(pid_t pid, int *ret_status, void *ctx);

struct mount_env {
    const char *sysfs_root;      /* "/sys" unless a test points elsewhere */
    const char *dev_root;        /* "/dev": pmemN, sdX, mapper/ live here */
    unsigned device_timeout_ms;  /* bounded wait for SCSI hosts and disks */
    unsigned poll_interval_ms;   /* sysfs polling period (§5.2: 10 ms) */
    unsigned fs_detect_retry_ms; /* pause before the one detection retry (§5.2: 500 ms) */
    mount_dm_ioctl_fn dm_ioctl;  /* NULL: the real ioctl on <dev_root>/mapper/control */
    void *dm_ioctl_ctx;
    mount_wait_fn wait_child; /* NULL: waitid() on the child's pidfd */
    void *wait_ctx;
};

#define MOUNT_DEFAULT_DEVICE_TIMEOUT_MS 60000u
#define MOUNT_DEFAULT_POLL_MS           10u
#define MOUNT_DEFAULT_FS_RETRY_MS       500u

/* Production defaults: /sys, /dev, 60 s device wait, 10 ms polls. */
void mount_env_init(struct mount_env *env);

/* ---- paths.c ---------------------------------------------------------------------------- */

/* Host-supplied paths must live strictly under /run (design.md §8). */
#define MOUNT_RUN_ROOT "/run"

/* Checks `path` lexically (absolute, under /run, no `.`/`..`/empty components, bounded
 * length) and on disk (no existing component below /run is a symlink, so the path cannot be
 * redirected out of /run). The last component may be a symlink only when
 * `allow_final_symlink` (BlockDev removal). `what` names the field in the error. 0 or
 * -EINVAL/-ELOOP. */
int mount_validate_run_path(const char *path, const char *what, bool allow_final_symlink,
                            struct lcow_error **err);

/* mkdir -p that reports the topmost directory it had to create (NULL when none), so a failed
 * operation can remove exactly what it made. */
int mount_mkdir_p(const char *path, mode_t mode, char **ret_created, struct lcow_error **err);

/* Removes the directory tree `path` without following symlinks and without crossing into
 * another filesystem (a mount still below it is an error, never emptied). Missing is fine. */
int mount_remove_tree(const char *path, struct lcow_error **err);

/* 1 when dirfd/name (not followed) is the root of a mount, 0 when not, -errno. */
int mount_is_mount_point_at(int dirfd, const char *name);

/* Waits (bounded by env->device_timeout_ms) for `path` to exist: cold-plugged devices still
 * appear late when their driver is a module loaded after gcs starts. -ETIMEDOUT naming `what`. */
int mount_wait_node(const struct mount_env *env, const char *path, const char *what,
                    struct lcow_error **err);

/* Joins root and rel ("/sys" + "bus/scsi") into a heap string; NULL on ENOMEM. */
char *mount_path_join(const char *root, const char *rel);

/* ---- fs.c ------------------------------------------------------------------------------- */

/* Reads the superblock of `dev` and returns "ext4", "xfs" or "erofs" in *ret (static string),
 * or NULL when no known magic is found. 0 or -errno (open/read failure). */
int mount_detect_fs(const char *dev, const char **ret, struct lcow_error **err);

/* Formats `dev` by fork/exec of mkfs.ext4 / mkfs.xfs; other types are -EINVAL. The tool's
 * output is quoted in the error. */
int mount_format(const struct mount_env *env, const char *dev, const char *fstype,
                 struct lcow_error **err);

/* Propagation words of MappedVirtualDisk.Options (§5.2); everything else is ignored. Returns
 * the MS_* flag, or 0 for a word that is not a propagation word. */
unsigned long mount_propagation_flag(const char *word);

struct mount_block_config {
    const char *source;     /* block device */
    const char *target;     /* mount point (created 0700, removed on failure) */
    const char *filesystem; /* requested type or NULL/"" to detect */
    bool read_only;         /* MS_RDONLY + "noload" */
    bool ensure_filesystem; /* format when detected != requested */
    char *const *options;   /* NULL-terminated, may be NULL: only propagation words act */
};

/* The MappedVirtualDisk/VPMem mount of §5.2 step 5. On failure the mount point directories
 * it created are removed and nothing stays mounted. */
int mount_block_device(const struct mount_env *env, const struct mount_block_config *cfg,
                       struct lcow_error **err);

/* Runs argv[0] (looked up in PATH, then /usr/sbin:/sbin:/usr/bin:/bin) with stdin from
 * /dev/null and no signal blocked, collecting stdout+stderr (bounded) into *ret_output (may be
 * NULL). It is waited through env->wait_child when set (an agent-wide reaper), else through its
 * pidfd. Returns the exit status (0..255), 128+signal or -errno. */
int mount_run_tool(const struct mount_env *env, char *const argv[], char **ret_output,
                   struct lcow_error **err);

/* ---- unmount.c -------------------------------------------------------------------------- */

/* Unmounts `path` until it is no longer a mount point (up to 5 rounds, EBUSY retried), then
 * removes the directory tree. A missing path is success. */
int mount_unmount_and_remove(const char *path, struct lcow_error **err);

/* Only the unmount part: 0 when nothing is mounted at `path` any more. */
int mount_unmount_all(const char *path, struct lcow_error **err);

/* ---- overlay.c -------------------------------------------------------------------------- */

#define MOUNT_OVERLAY_MAX_LAYERS 128

struct mount_overlay_config {
    const char *const *layers; /* top-most first: overlay lowerdir order */
    size_t n_layers;
    const char *scratch; /* "" or NULL: read-only overlay */
    const char *rootfs;  /* ContainerRootPath */
};

/* Builds "lowerdir=L1:L2[,upperdir=S/upper,workdir=S/work]" into *ret. Layer paths containing
 * `,` `:` or `\` are rejected (they would split the option string). */
int mount_overlay_options(const struct mount_overlay_config *cfg, char **ret,
                          struct lcow_error **err);

/* §5.4 Add: the scratch dirs, the bundle-on-scratch bind when the scratch is outside
 * dirname(rootfs) (*ret_bundle_bound says so), then the overlay mount. On failure everything
 * created is undone. */
int mount_overlay_add(const struct mount_overlay_config *cfg, bool *ret_bundle_bound,
                      struct lcow_error **err);

/* Whether §5.4's bundle bind applies: scratch is set and not under dirname(rootfs). */
bool mount_overlay_needs_bundle_bind(const char *rootfs, const char *scratch);

/* ---- pmem.c ----------------------------------------------------------------------------- */

struct mount_pmem_config {
    uint32_t device_number;
    const char *target;
    bool mapped; /* MappingInfo present */
    uint64_t offset_bytes;
    uint64_t size_bytes;
};

/* "dm-linear-pmem<N>-<offset>-<size>" (§5.3). */
int mount_pmem_dm_name(const struct mount_pmem_config *cfg, char *buf, size_t len);

/* §5.3 Add: /dev/pmemN (or a read-only dm-linear window on it) mounted read-only ext4 with
 * noload. On failure the dm device and created dirs are removed. */
int mount_pmem_add(const struct mount_env *env, const struct mount_pmem_config *cfg,
                   struct lcow_error **err);

/* §5.3 Remove, in reverse order: unmount and remove the dir, then the dm-linear device. */
int mount_pmem_remove(const struct mount_env *env, const struct mount_pmem_config *cfg,
                      struct lcow_error **err);

#endif
