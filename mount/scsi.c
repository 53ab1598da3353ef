/* SCSI controller → host lookup (VMBus GUID table or virtio-scsi by PCI order), the bounded
 * device wait, and sysfs device deletion (gcs-protocol.md §5.2, design.md §5). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/scsi.h"

const char *const mount_scsi_controller_guids[MOUNT_SCSI_MAX_CONTROLLER + 1] = {
    "df6d0690-79e5-55b6-a5ec-c1e2f77f580a",
    "0110f83b-de10-5172-a266-78bca56bf50a",
    "b5d2d8d4-3a75-51bf-945b-3444dc6b8579",
    "305891a9-b251-5dfe-91a2-c25d9212275b",
};

int mount_scsi_validate(uint32_t controller, uint32_t lun, uint64_t partition,
                        struct lcow_error **err)
{
    if (controller > MOUNT_SCSI_MAX_CONTROLLER)
        return lcow_error_make(err, EINVAL, "Controller %u out of range (0..%d)", controller,
                               MOUNT_SCSI_MAX_CONTROLLER);
    if (lun > MOUNT_SCSI_MAX_LUN)
        return lcow_error_make(err, EINVAL, "Lun %u out of range (0..%d)", lun, MOUNT_SCSI_MAX_LUN);
    if (partition > MOUNT_SCSI_MAX_PARTITION)
        return lcow_error_make(err, EINVAL, "Partition %llu out of range (0..%d)",
                               (unsigned long long)partition, MOUNT_SCSI_MAX_PARTITION);
    return 0;
}

/* ---- polling ----------------------------------------------------------------------------- */

/* One probe of a bounded wait: 0 done, -EAGAIN not yet, other negative = hard error. */
typedef int (*probe_fn)(const struct mount_env *env, void *ctx, struct lcow_error **err);

static int poll_until(const struct mount_env *env, probe_fn probe, void *ctx,
                      unsigned long long deadline_ns, struct lcow_error **err)
{
    for (;;) {
        int r = probe(env, ctx, err);
        if (r != -EAGAIN)
            return r;
        if (lcow_now_ns() >= deadline_ns)
            return -ETIMEDOUT;
        unsigned ms = env->poll_interval_ms ? env->poll_interval_ms : MOUNT_DEFAULT_POLL_MS;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

static unsigned long long deadline_after(const struct mount_env *env)
{
    return lcow_now_ns() + (unsigned long long)env->device_timeout_ms * 1000000ULL;
}

/* Parses "host<N>"; -1 when the name is something else. */
static long parse_host_entry(const char *name)
{
    if (strncmp(name, "host", 4) != 0 || name[4] < '0' || name[4] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(name + 4, &end, 10);
    if (errno || *end || n > INT_MAX)
        return -1;
    return (long)n;
}

/* The single host<N> entry of dir: -EAGAIN when none (yet), -EEXIST when several. */
static int single_host_in(const char *dir, unsigned *ret, struct lcow_error **err)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? -EAGAIN
                                                   : lcow_error_errno(err, "opendir `%s`", dir);
    long found = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        long n = parse_host_entry(de->d_name);
        if (n < 0)
            continue;
        if (found >= 0)
            return lcow_error_make(err, EEXIST, "`%s` has several SCSI hosts (host%ld, host%ld)",
                                   dir, found, n);
        found = n;
    }
    if (found < 0)
        return -EAGAIN;
    *ret = (unsigned)found;
    return 0;
}

/* ---- VMBus ------------------------------------------------------------------------------- */

struct host_probe {
    uint32_t controller;
    unsigned host;
};

static int probe_vmbus(const struct mount_env *env, void *ctx, struct lcow_error **err)
{
    struct host_probe *p = ctx;
    cleanup_free char *rel = NULL;
    if (asprintf(&rel, "bus/vmbus/devices/%s", mount_scsi_controller_guids[p->controller]) < 0)
        return lcow_error_make(err, ENOMEM, "SCSI controller lookup");
    cleanup_free char *dir = mount_path_join(env->sysfs_root, rel);
    if (!dir)
        return lcow_error_make(err, ENOMEM, "SCSI controller lookup");
    return single_host_in(dir, &p->host, err);
}

/* ---- virtio-scsi ------------------------------------------------------------------------- */

struct virtio_host {
    char *pci;  /* the PCI address the virtio device hangs off (sort key) */
    char *path; /* resolved virtio device directory */
};

static int cmp_virtio_host(const void *a, const void *b)
{
    const struct virtio_host *x = a, *y = b;
    int c = strcmp(x->pci, y->pci);
    return c ? c : strcmp(x->path, y->path);
}

static void free_virtio_hosts(struct virtio_host *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].pci);
        free(v[i].path);
    }
    free(v);
}

/* Every device bound to the virtio_scsi driver, resolved and sorted by its parent's PCI address. */
static int list_virtio_scsi(const struct mount_env *env, struct virtio_host **ret, size_t *ret_n,
                            struct lcow_error **err)
{
    cleanup_free char *drv = mount_path_join(env->sysfs_root, "bus/virtio/drivers/virtio_scsi");
    if (!drv)
        return lcow_error_make(err, ENOMEM, "SCSI controller lookup");
    cleanup_dir DIR *d = opendir(drv);
    if (!d) {
        *ret = NULL;
        *ret_n = 0;
        return errno == ENOENT ? 0 : lcow_error_errno(err, "opendir `%s`", drv);
    }
    struct virtio_host *v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "virtio", 6) != 0)
            continue;
        cleanup_free char *link = mount_path_join(drv, de->d_name);
        char *real = link ? realpath(link, NULL) : NULL;
        if (!real)
            continue; /* unbound while we looked */
        char *slash = strrchr(real, '/');
        char *pci = NULL;
        if (slash && slash != real) {
            *slash = '\0';
            const char *parent = strrchr(real, '/');
            pci = strdup(parent ? parent + 1 : real);
            *slash = '/';
        }
        struct virtio_host *nv = pci ? realloc(v, (n + 1) * sizeof(*v)) : NULL;
        if (!nv) {
            free(real);
            free(pci);
            free_virtio_hosts(v, n);
            return lcow_error_make(err, ENOMEM, "SCSI controller lookup");
        }
        v = nv;
        v[n++] = (struct virtio_host){.pci = pci, .path = real};
    }
    qsort(v, n, sizeof(*v), cmp_virtio_host);
    *ret = v;
    *ret_n = n;
    return 0;
}

static int probe_virtio(const struct mount_env *env, void *ctx, struct lcow_error **err)
{
    struct host_probe *p = ctx;
    struct virtio_host *v = NULL;
    size_t n = 0;
    int r = list_virtio_scsi(env, &v, &n, err);
    if (r < 0)
        return r;
    r = p->controller < n ? single_host_in(v[p->controller].path, &p->host, err) : -EAGAIN;
    free_virtio_hosts(v, n);
    return r;
}

static bool has_vmbus(const struct mount_env *env)
{
    cleanup_free char *vmbus = mount_path_join(env->sysfs_root, "bus/vmbus");
    struct stat st;
    return vmbus && stat(vmbus, &st) == 0 && S_ISDIR(st.st_mode);
}

static int host_number_until(const struct mount_env *env, uint32_t controller,
                             unsigned long long deadline, unsigned *ret, struct lcow_error **err)
{
    if (controller > MOUNT_SCSI_MAX_CONTROLLER)
        return lcow_error_make(err, EINVAL, "Controller %u out of range (0..%d)", controller,
                               MOUNT_SCSI_MAX_CONTROLLER);
    bool vmbus = has_vmbus(env);
    struct host_probe p = {.controller = controller};
    int r = poll_until(env, vmbus ? probe_vmbus : probe_virtio, &p, deadline, err);
    if (r == -ETIMEDOUT && vmbus)
        return lcow_error_make(err, ETIMEDOUT, "SCSI controller %u (VMBus %s): no host after %u ms",
                               controller, mount_scsi_controller_guids[controller],
                               env->device_timeout_ms);
    if (r == -ETIMEDOUT)
        return lcow_error_make(err, ETIMEDOUT,
                               "SCSI controller %u (virtio-scsi host #%u by PCI order): no host "
                               "after %u ms",
                               controller, controller, env->device_timeout_ms);
    if (r < 0)
        return r;
    *ret = p.host;
    return 0;
}

int mount_scsi_host_number(const struct mount_env *env, uint32_t controller, unsigned *ret_host,
                           struct lcow_error **err)
{
    return host_number_until(env, controller, deadline_after(env), ret_host, err);
}

/* ---- the disk ---------------------------------------------------------------------------- */

struct disk_probe {
    char *block_dir; /* <sysfs>/bus/scsi/devices/H:0:0:L/block */
    uint64_t partition;
    char name[NAME_MAX + 1];
};

/* The single entry of block/ (sdX); several is an error (§5.2 step 2). */
static int probe_block(const struct mount_env *env, void *ctx, struct lcow_error **err)
{
    struct disk_probe *p = ctx;
    cleanup_dir DIR *d = opendir(p->block_dir);
    if (!d)
        return errno == ENOENT ? -EAGAIN : lcow_error_errno(err, "opendir `%s`", p->block_dir);
    const char *found = NULL;
    struct dirent *de;
    char first[NAME_MAX + 1];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (found)
            return lcow_error_make(err, EEXIST, "`%s` holds several block devices (%s, %s)",
                                   p->block_dir, first, de->d_name);
        snprintf(first, sizeof(first), "%s", de->d_name);
        found = first;
    }
    if (!found)
        return -EAGAIN;
    snprintf(p->name, sizeof(p->name), "%s", found);
    return 0;
}

/* The partition directory block/sdX/sdX<p> (or sdXp<p>, as loop and nvme name theirs). */
static int probe_partition(const struct mount_env *env, void *ctx, struct lcow_error **err)
{
    struct disk_probe *p = ctx;
    static const char *const seps[] = {"", "p"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(seps); i++) {
        cleanup_free char *path = NULL;
        if (asprintf(&path, "%s/%s/%s%s%llu", p->block_dir, p->name, p->name, seps[i],
                     (unsigned long long)p->partition) < 0)
            return lcow_error_make(err, ENOMEM, "partition lookup");
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *base = strrchr(path, '/') + 1;
            snprintf(p->name, sizeof(p->name), "%s", base);
            return 0;
        }
    }
    return -EAGAIN;
}

struct open_probe {
    const char *path;
};

/* The node may lag the sysfs entry (devtmpfs, or a udev rename): ENOENT/ENXIO mean "not yet". */
static int probe_open(const struct mount_env *env, void *ctx, struct lcow_error **err)
{
    struct open_probe *p = ctx;
    int fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno == ENOENT || errno == ENXIO)
        return -EAGAIN;
    return lcow_error_errno(err, "open `%s`", p->path);
}

int mount_scsi_wait_device(const struct mount_env *env, uint32_t controller, uint32_t lun,
                           uint64_t partition, char **ret, struct lcow_error **err)
{
    int r = mount_scsi_validate(controller, lun, partition, err);
    if (r < 0)
        return r;
    unsigned long long deadline = deadline_after(env);
    unsigned host = 0;
    r = host_number_until(env, controller, deadline, &host, err);
    if (r < 0)
        return r;
    cleanup_free char *rel = NULL;
    if (asprintf(&rel, "bus/scsi/devices/%u:0:0:%u/block", host, lun) < 0)
        return lcow_error_make(err, ENOMEM, "SCSI device lookup");
    cleanup_free char *block_dir = mount_path_join(env->sysfs_root, rel);
    if (!block_dir)
        return lcow_error_make(err, ENOMEM, "SCSI device lookup");
    struct disk_probe dp = {.block_dir = block_dir, .partition = partition};
    r = poll_until(env, probe_block, &dp, deadline, err);
    if (r == 0 && partition > 0)
        r = poll_until(env, probe_partition, &dp, deadline, err);
    if (r == -ETIMEDOUT)
        return lcow_error_make(err, ETIMEDOUT,
                               "SCSI disk %u:0:0:%u (controller %u, partition %llu): `%s` not "
                               "ready after %u ms",
                               host, lun, controller, (unsigned long long)partition, block_dir,
                               env->device_timeout_ms);
    if (r < 0)
        return r;
    cleanup_free char *dev = mount_path_join(env->dev_root, dp.name);
    if (!dev)
        return lcow_error_make(err, ENOMEM, "SCSI device lookup");
    struct open_probe op = {.path = dev};
    r = poll_until(env, probe_open, &op, deadline, err);
    if (r == -ETIMEDOUT)
        return lcow_error_make(err, ETIMEDOUT, "SCSI disk `%s`: cannot open after %u ms", dev,
                               env->device_timeout_ms);
    if (r < 0)
        return r;
    *ret = steal_pointer(&dev);
    return 0;
}

int mount_scsi_delete_device(const struct mount_env *env, uint32_t controller, uint32_t lun,
                             struct lcow_error **err)
{
    int r = mount_scsi_validate(controller, lun, 0, err);
    if (r < 0)
        return r;
    unsigned host = 0;
    r = mount_scsi_host_number(env, controller, &host, err);
    if (r < 0)
        return r;
    cleanup_free char *rel = NULL;
    if (asprintf(&rel, "bus/scsi/devices/%u:0:0:%u/delete", host, lun) < 0)
        return lcow_error_make(err, ENOMEM, "SCSI delete");
    cleanup_free char *path = mount_path_join(env->sysfs_root, rel);
    if (!path)
        return lcow_error_make(err, ENOMEM, "SCSI delete");
    /* O_WRONLY without O_CREAT: a device already gone is success, and nothing is created. */
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return lcow_error_errno(err, "open `%s`", path);
    }
    if (lcow_write_all(fd, "1\n", 2) < 0)
        return lcow_error_errno(err, "write `%s`", path);
    return 0;
}
