/* Plan9 (9p, trans=fd) mounts for MappedDirectory (gcs-protocol.md §5.5). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/mount.h"
#include "mount/plan9.h"

#define FS_POLL_MS 50u

static bool share_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > MOUNT_PLAN9_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == ',' || c == '=' || c == 0x7f)
            return false;
    }
    return true;
}

int mount_plan9_options(const struct mount_plan9_config *cfg, char *buf, size_t cap,
                        struct lcow_error **err)
{
    const char *name = cfg->share_name ? cfg->share_name : "";
    if (!share_name_ok(name))
        return lcow_error_make(err, EINVAL, "ShareName `%s` is not a valid 9p aname", name);
    if (cfg->fd < 0)
        return lcow_error_make(err, EBADF, "plan9 mount `%s`: no connection", cfg->target);
    int n =
        snprintf(buf, cap, "trans=fd,rfdno=%d,wfdno=%d,msize=%u%s%s%s", cfg->fd, cfg->fd,
                 MOUNT_PLAN9_MSIZE, cfg->read_only ? ",noload" : "", *name ? ",aname=" : "", name);
    if (n < 0 || (size_t)n >= cap)
        return lcow_error_make(err, ENAMETOOLONG, "plan9 mount options too long");
    return 0;
}

static bool fs_known(void)
{
    cleanup_free char *fs = NULL;
    if (lcow_read_file("/proc/filesystems", 1 << 16, &fs, NULL, NULL) < 0)
        return true; /* cannot tell: do not wait */
    return strstr(fs, "\t9p\n") != NULL;
}

/* mount(2), retried on ENODEV while the 9p module is still being loaded (the first failure
 * may race with its registration: one more try once /proc/filesystems lists 9p). errno on
 * failure. */
static int mount_9p(const struct mount_plan9_config *cfg, const char *opts)
{
    unsigned long flags = cfg->read_only ? MS_RDONLY : 0;
    bool known_tried = false;
    for (unsigned waited = 0;; waited += FS_POLL_MS) {
        if (mount(cfg->target, cfg->target, "9p", flags, opts) == 0)
            return 0;
        int e = errno;
        bool known = e == ENODEV && fs_known();
        if (e != ENODEV || known_tried || (!known && waited >= cfg->fs_wait_ms)) {
            errno = e;
            return -1;
        }
        if (known) {
            known_tried = true;
            continue;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = FS_POLL_MS * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

int mount_plan9_add(const struct mount_plan9_config *cfg, struct lcow_error **err)
{
    char opts[512];
    int r = mount_plan9_options(cfg, opts, sizeof(opts), err);
    if (r < 0)
        return r;
    /* The Go GCS sizes the socket buffers to one message each way. */
    int sz = (int)MOUNT_PLAN9_MSIZE;
    if (setsockopt(cfg->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0 ||
        setsockopt(cfg->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0)
        return lcow_error_errno(err, "plan9 `%s`: set socket buffers", cfg->target);
    cleanup_free char *created = NULL;
    if ((r = mount_mkdir_p(cfg->target, 0700, &created, err)) < 0)
        return r;
    if (mount_9p(cfg, opts) < 0) {
        r = lcow_error_errno(err, "mount 9p at `%s` (%s)", cfg->target, opts);
        if (created)
            (void)mount_remove_tree(created, NULL);
        return r;
    }
    return 0;
}

int mount_plan9_remove(const char *target, struct lcow_error **err)
{
    return mount_unmount_and_remove(target, err);
}
