/* Raw device-mapper ioctls (gcs-protocol.md §5.3): version check, DM_DEV_CREATE, DM_TABLE_LOAD of
 * one read-only linear target, DM_DEV_SUSPEND without the suspend flag (which resumes, i.e.
 * activates the table), the /dev/mapper node, and DM_DEV_REMOVE. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/devmapper.h"

/* Room for the header, one target spec and its parameters, and whatever the kernel writes
 * back into the buffer. */
#define DM_BUF_SIZE     16384
#define DM_RETRY_MS     100
#define DM_REMOVE_TRIES 10

int mount_dm_linear_sectors(uint64_t offset_bytes, uint64_t size_bytes, uint64_t *ret_start,
                            uint64_t *ret_len, struct lcow_error **err)
{
    if (size_bytes == 0)
        return lcow_error_make(err, EINVAL, "dm-linear: size is 0");
    if (offset_bytes % MOUNT_DM_SECTOR || size_bytes % MOUNT_DM_SECTOR)
        return lcow_error_make(err, EINVAL,
                               "dm-linear: offset %" PRIu64 " and size %" PRIu64
                               " must be multiples of %u bytes",
                               offset_bytes, size_bytes, MOUNT_DM_SECTOR);
    if (offset_bytes > UINT64_MAX - size_bytes)
        return lcow_error_make(err, EINVAL,
                               "dm-linear: offset %" PRIu64 " + size %" PRIu64 " overflows",
                               offset_bytes, size_bytes);
    *ret_start = offset_bytes / MOUNT_DM_SECTOR;
    *ret_len = size_bytes / MOUNT_DM_SECTOR;
    return 0;
}

static int init_header(struct dm_ioctl *io, size_t len, const char *name, struct lcow_error **err)
{
    memset(io, 0, len);
    io->version[0] = DM_VERSION_MAJOR; /* interface 4.0.0: anything a 4.x kernel accepts */
    io->data_size = (uint32_t)len;
    io->data_start = sizeof(*io);
    if (name) {
        size_t n = strlen(name);
        if (n == 0 || n >= DM_NAME_LEN || strchr(name, '/'))
            return lcow_error_make(err, EINVAL, "device-mapper name `%s` is invalid", name);
        memcpy(io->name, name, n + 1);
    }
    return 0;
}

int mount_dm_build_linear_load(void *buf, size_t len, const char *name, unsigned major,
                               unsigned minor, uint64_t start, uint64_t n_sectors, bool read_only,
                               struct lcow_error **err)
{
    struct dm_ioctl *io = buf;
    if (len < sizeof(*io) + sizeof(struct dm_target_spec) + 64)
        return lcow_error_make(err, ENOSPC, "device-mapper table buffer too small");
    int r = init_header(io, len, name, err);
    if (r < 0)
        return r;
    struct dm_target_spec *spec = (struct dm_target_spec *)((char *)buf + io->data_start);
    spec->sector_start = 0;
    spec->length = n_sectors;
    memcpy(spec->target_type, "linear", sizeof("linear"));
    char *params = (char *)(spec + 1);
    size_t room = len - io->data_start - sizeof(*spec);
    int n = snprintf(params, room, "%u:%u %" PRIu64, major, minor, start);
    if (n < 0 || (size_t)n >= room)
        return lcow_error_make(err, ENOSPC, "device-mapper table buffer too small");
    /* next: offset of the following spec from this one, 8-byte aligned as the kernel expects */
    size_t used = sizeof(*spec) + (size_t)n + 1;
    used = (used + 7) & ~(size_t)7;
    spec->next = (uint32_t)used;
    io->target_count = 1;
    io->flags = read_only ? DM_READONLY_FLAG : 0;
    io->data_size = (uint32_t)(io->data_start + used);
    return (int)io->data_size;
}

struct dm_ctl {
    const struct mount_env *env;
    int fd;
};

static int dm_call(struct dm_ctl *c, unsigned long cmd, struct dm_ioctl *io)
{
    if (c->env->dm_ioctl)
        return c->env->dm_ioctl(c->fd, cmd, io, c->env->dm_ioctl_ctx);
    return ioctl(c->fd, cmd, io);
}

static int dm_open(const struct mount_env *env, struct dm_ctl *c, struct lcow_error **err)
{
    c->env = env;
    c->fd = -1;
    cleanup_free char *path = mount_path_join(env->dev_root, "mapper/control");
    if (!path)
        return lcow_error_make(err, ENOMEM, "device-mapper");
    if (!env->dm_ioctl || access(path, F_OK) == 0) {
        /* dm_mod may be a module that is still loading */
        int r = mount_wait_node(env, path, "device-mapper control", err);
        if (r < 0)
            return r;
        c->fd = open(path, O_RDWR | O_CLOEXEC);
        if (c->fd < 0)
            return lcow_error_errno(err, "open `%s` (is device-mapper in the kernel?)", path);
    }
    struct dm_ioctl io;
    init_header(&io, sizeof(io), NULL, NULL);
    if (dm_call(c, DM_VERSION, &io) < 0) {
        int r = lcow_error_errno(err, "device-mapper version check");
        c->fd = lcow_close_nointr(c->fd);
        return r;
    }
    if (io.version[0] != DM_VERSION_MAJOR) {
        c->fd = lcow_close_nointr(c->fd);
        return lcow_error_make(err, EPROTO, "device-mapper interface %u, want %u", io.version[0],
                               DM_VERSION_MAJOR);
    }
    return 0;
}

static void dm_close(struct dm_ctl *c)
{
    if (c->fd >= 0)
        c->fd = lcow_close_nointr(c->fd);
}

static int dm_simple(struct dm_ctl *c, unsigned long cmd, const char *name, uint64_t *ret_dev,
                     struct lcow_error **err)
{
    struct dm_ioctl io;
    int r = init_header(&io, sizeof(io), name, err);
    if (r < 0)
        return r;
    if (dm_call(c, cmd, &io) < 0)
        return -errno;
    if (ret_dev)
        *ret_dev = io.dev;
    return 0;
}

static bool dm_retryable(int e)
{
    return e == EBUSY || e == ENOENT || e == ENXIO || e == ENODEV;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One attempt: create, load, resume, mknod. On failure the device is removed again and the
 * negative errno returned (err is filled only for non-retryable failures). */
static int create_once(struct dm_ctl *c, const char *name, dev_t backing, uint64_t start,
                       uint64_t len, bool read_only, const char *node, struct lcow_error **err)
{
    uint64_t raw_dev = 0;
    int r = dm_simple(c, DM_DEV_CREATE, name, &raw_dev, NULL);
    if (r < 0)
        return dm_retryable(-r)
                   ? r
                   : lcow_error_make(err, -r, "DM_DEV_CREATE `%s`: %s", name, strerror(-r));
    cleanup_free void *buf = calloc(1, DM_BUF_SIZE);
    if (!buf) {
        r = lcow_error_make(err, ENOMEM, "device-mapper `%s`", name);
        goto remove;
    }
    r = mount_dm_build_linear_load(buf, DM_BUF_SIZE, name, major(backing), minor(backing), start,
                                   len, read_only, err);
    if (r < 0)
        goto remove;
    if (dm_call(c, DM_TABLE_LOAD, buf) < 0) {
        r = -errno;
        if (!dm_retryable(-r))
            lcow_error_make(err, -r, "DM_TABLE_LOAD `%s`: %s", name, strerror(-r));
        goto remove;
    }
    r = dm_simple(c, DM_DEV_SUSPEND, name, NULL, NULL);
    if (r < 0) {
        if (!dm_retryable(-r))
            lcow_error_make(err, -r, "DM_DEV_SUSPEND (resume) `%s`: %s", name, strerror(-r));
        goto remove;
    }
    dev_t dev = (dev_t)raw_dev;
    (void)unlink(node);
    if (mknod(node, S_IFBLK | 0600, makedev(major(dev), minor(dev))) < 0) {
        r = lcow_error_errno(err, "mknod `%s`", node);
        goto remove;
    }
    return 0;

remove:
    (void)dm_simple(c, DM_DEV_REMOVE, name, NULL, NULL);
    return r;
}

int mount_dm_create_linear(const struct mount_env *env, const char *name, const char *backing,
                           uint64_t offset_bytes, uint64_t size_bytes, bool read_only, char **ret,
                           struct lcow_error **err)
{
    uint64_t start = 0, len = 0;
    int r = mount_dm_linear_sectors(offset_bytes, size_bytes, &start, &len, err);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(backing, &st) < 0)
        return lcow_error_errno(err, "stat `%s`", backing);
    if (!S_ISBLK(st.st_mode))
        return lcow_error_make(err, ENOTBLK, "`%s` is not a block device", backing);
    cleanup_free char *dir = mount_path_join(env->dev_root, "mapper");
    cleanup_free char *node = NULL;
    if (!dir || asprintf(&node, "%s/%s", dir, name) < 0)
        return lcow_error_make(err, ENOMEM, "device-mapper `%s`", name);
    r = lcow_mkdir_p(dir, 0755, err);
    if (r < 0)
        return r;
    struct dm_ctl c;
    r = dm_open(env, &c, err);
    if (r < 0)
        return r;
    unsigned long long deadline =
        lcow_now_ns() + (unsigned long long)env->device_timeout_ms * 1000000ULL;
    for (;;) {
        r = create_once(&c, name, st.st_rdev, start, len, read_only, node, err);
        if (r == 0 || (err && *err) || !dm_retryable(-r) || lcow_now_ns() >= deadline)
            break;
        sleep_ms(DM_RETRY_MS);
    }
    dm_close(&c);
    if (r < 0)
        return lcow_error_make(err, -r, "create device-mapper `%s` over `%s`: %s", name, backing,
                               strerror(-r));
    if (ret)
        *ret = steal_pointer(&node);
    return 0;
}

int mount_dm_remove(const struct mount_env *env, const char *name, struct lcow_error **err)
{
    struct dm_ctl c;
    int r = dm_open(env, &c, err);
    if (r < 0)
        return r;
    for (int i = 0; i < DM_REMOVE_TRIES; i++) {
        r = dm_simple(&c, DM_DEV_REMOVE, name, NULL, err);
        if (r != -EBUSY)
            break;
        sleep_ms(DM_RETRY_MS);
    }
    dm_close(&c);
    cleanup_free char *node = NULL;
    if (asprintf(&node, "%s/mapper/%s", env->dev_root, name) >= 0)
        (void)unlink(node);
    if (r < 0)
        return lcow_error_make(err, -r, "DM_DEV_REMOVE `%s`: %s", name, strerror(-r));
    return 0;
}
