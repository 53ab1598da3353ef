/* Filesystem detection by superblock magic, EnsureFilesystem formatting, and the block-device
 * mount of gcs-protocol.md §5.2 step 5 (used by SCSI and VPMem). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/mount.h"

struct fs_magic {
    const char *name;
    size_t offset;
    size_t len;
    const unsigned char magic[4];
};

/* ext2/3/4 share one magic; the Go GCS calls them all ext4, and ext4 mounts them all. */
static const struct fs_magic fs_magics[] = {
    {"ext4", 1024 + 56, 2, {0x53, 0xef}},         /* s_magic 0xEF53, little-endian */
    {"xfs", 0, 4, {'X', 'F', 'S', 'B'}},          /* sb_magicnum, big-endian */
    {"erofs", 1024, 4, {0xe2, 0xe1, 0xf5, 0xe0}}, /* 0xE0F5E1E2, little-endian */
};

#define SUPERBLOCK_READ 4096

int mount_detect_fs(const char *dev, const char **ret, struct lcow_error **err)
{
    cleanup_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", dev);
    unsigned char sb[SUPERBLOCK_READ];
    ssize_t n = LCOW_RETRY_EINTR(pread(fd, sb, sizeof(sb), 0));
    if (n < 0)
        return lcow_error_errno(err, "read superblock of `%s`", dev);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fs_magics); i++) {
        const struct fs_magic *m = &fs_magics[i];
        if ((size_t)n >= m->offset + m->len && !memcmp(sb + m->offset, m->magic, m->len)) {
            *ret = m->name;
            return 0;
        }
    }
    *ret = NULL;
    return 0;
}

int mount_format(const struct mount_env *env, const char *dev, const char *fstype,
                 struct lcow_error **err)
{
    /* -F: the device may hold another filesystem, and there is no tty to confirm on. */
    char *ext4_argv[] = {"mkfs.ext4", "-q", "-F", (char *)dev, NULL};
    char *xfs_argv[] = {"mkfs.xfs", "-q", "-f", (char *)dev, NULL};
    char **argv;
    if (fstype && !strcmp(fstype, "ext4"))
        argv = ext4_argv;
    else if (fstype && !strcmp(fstype, "xfs"))
        argv = xfs_argv;
    else
        return lcow_error_make(err, EINVAL, "format `%s`: unsupported filesystem `%s` (ext4, xfs)",
                               dev, fstype ? fstype : "");
    cleanup_free char *out = NULL;
    int st = mount_run_tool(env, argv, &out, err);
    if (st < 0)
        return st;
    if (st != 0)
        return lcow_error_make(err, EIO, "%s `%s` failed with status %d: %s", argv[0], dev, st,
                               out ? out : "");
    return 0;
}

struct propagation_word {
    const char *word;
    unsigned long flag;
};

static const struct propagation_word propagation_words[] = {
    {"private", MS_PRIVATE},
    {"shared", MS_SHARED},
    {"slave", MS_SLAVE},
    {"unbindable", MS_UNBINDABLE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"rshared", MS_SHARED | MS_REC},
    {"rslave", MS_SLAVE | MS_REC},
    {"runbindable", MS_UNBINDABLE | MS_REC},
};

unsigned long mount_propagation_flag(const char *word)
{
    for (size_t i = 0; word && i < LCOW_ARRAY_SIZE(propagation_words); i++)
        if (!strcmp(word, propagation_words[i].word))
            return propagation_words[i].flag;
    return 0;
}

/* Read-only mounts must not replay a journal onto a shared layer: ext* call that `noload`, xfs
 * `norecovery`; other filesystems have no journal to skip. */
static const char *read_only_data(const char *fstype)
{
    if (!strcmp(fstype, "ext4") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext2"))
        return "noload";
    if (!strcmp(fstype, "xfs"))
        return "norecovery";
    return NULL;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Detection with the one retry of §5.2 (a freshly attached disk may read as zeros at first). */
static int detect_with_retry(const struct mount_env *env, const char *dev, const char **ret,
                             struct lcow_error **err)
{
    int r = mount_detect_fs(dev, ret, err);
    if (r < 0 || *ret)
        return r;
    sleep_ms(env->fs_detect_retry_ms);
    return mount_detect_fs(dev, ret, err);
}

/* Chooses the mount type and formats when EnsureFilesystem asks for it. */
static int prepare_filesystem(const struct mount_env *env, const struct mount_block_config *cfg,
                              const char **ret_fstype, struct lcow_error **err)
{
    const char *want = cfg->filesystem && *cfg->filesystem ? cfg->filesystem : NULL;
    if (cfg->ensure_filesystem && !want)
        return lcow_error_make(err, EINVAL, "EnsureFilesystem needs Filesystem");
    if (cfg->ensure_filesystem && cfg->read_only)
        return lcow_error_make(err, EINVAL, "EnsureFilesystem on a ReadOnly disk");
    if (cfg->ensure_filesystem && strcmp(want, "ext4") != 0 && strcmp(want, "xfs") != 0)
        return lcow_error_make(err, EINVAL,
                               "EnsureFilesystem: unsupported filesystem `%s` (ext4, xfs)", want);
    const char *found = NULL;
    int r = detect_with_retry(env, cfg->source, &found, err);
    if (r < 0)
        return r;
    if (cfg->ensure_filesystem && (!found || strcmp(found, want) != 0)) {
        r = mount_format(env, cfg->source, want, err);
        if (r < 0)
            return lcow_error_wrap(err, "EnsureFilesystem");
        found = want;
    }
    if (!want && !found)
        return lcow_error_make(err, EMEDIUMTYPE,
                               "`%s` holds no known filesystem (ext4, xfs, erofs) and Filesystem "
                               "is not set",
                               cfg->source);
    *ret_fstype = want ? want : found;
    return 0;
}

static int apply_propagation(const char *target, char *const *options, struct lcow_error **err)
{
    for (size_t i = 0; options && options[i]; i++) {
        unsigned long flag = mount_propagation_flag(options[i]);
        if (flag == 0)
            continue; /* §5.2: every other option is ignored; `ro` acts through ReadOnly */
        if (mount(NULL, target, NULL, flag, NULL) < 0)
            return lcow_error_errno(err, "mount `%s` %s", target, options[i]);
    }
    return 0;
}

/* init loads file-system modules (ext4, xfs) after it has started gcs, so the first mount
 * right after boot can meet ENODEV: retry within the device wait's bound, as for devices,
 * but no longer than init needs to load every module (a few seconds under TCG). */
#define MOUNT_FS_WAIT_MAX_MS 15000u
static int mount_with_fs_wait(const struct mount_env *env, const char *source, const char *target,
                              const char *fstype, unsigned long flags, const char *data)
{
    unsigned wait_ms = env->device_timeout_ms < MOUNT_FS_WAIT_MAX_MS ? env->device_timeout_ms
                                                                     : MOUNT_FS_WAIT_MAX_MS;
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)wait_ms * 1000000ULL;
    unsigned interval = env->poll_interval_ms ? env->poll_interval_ms : 10;
    for (;;) {
        if (mount(source, target, fstype, flags, data) == 0)
            return 0;
        if (errno != ENODEV || lcow_now_ns() >= deadline)
            return -1;
        struct timespec ts = {.tv_sec = interval / 1000,
                              .tv_nsec = (long)(interval % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        errno = ENODEV;
    }
}

int mount_block_device(const struct mount_env *env, const struct mount_block_config *cfg,
                       struct lcow_error **err)
{
    const char *fstype = NULL;
    int r = prepare_filesystem(env, cfg, &fstype, err);
    if (r < 0)
        return r;
    cleanup_free char *created = NULL;
    r = mount_mkdir_p(cfg->target, 0700, &created, err);
    if (r < 0)
        return r;
    unsigned long flags = cfg->read_only ? MS_RDONLY : 0;
    const char *data = cfg->read_only ? read_only_data(fstype) : NULL;
    if (mount_with_fs_wait(env, cfg->source, cfg->target, fstype, flags, data) < 0) {
        if (errno == ENODEV)
            r = lcow_error_make(err, ENODEV, "mount `%s` on `%s`: filesystem `%s` not supported",
                                cfg->source, cfg->target, fstype);
        else
            r = lcow_error_errno(err, "mount `%s` on `%s` (%s%s%s)", cfg->source, cfg->target,
                                 fstype, data ? ", " : "", data ? data : "");
        goto undo_dirs;
    }
    r = apply_propagation(cfg->target, cfg->options, err);
    if (r < 0)
        goto undo_mount;
    return 0;

undo_mount:
    (void)umount2(cfg->target, MNT_DETACH);
undo_dirs:
    if (created)
        (void)mount_remove_tree(created, NULL);
    return r;
}
