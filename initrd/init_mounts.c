/* The filesystems PID 1 sets up before anything runs (gcs-protocol.md §1.2): the base mounts
 * and /dev symlinks from a table, the optional writable overlays on /etc and /var, and the
 * cgroup hierarchy (v2 unless the kernel lacks what runc/our executor needs, else v1). */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "initrd/init.h"

#define NODEV_NOSUID_NOEXEC (MS_NODEV | MS_NOSUID | MS_NOEXEC)
#define CGROUP_ROOT         "/sys/fs/cgroup"

/* One step: a mount (fstype set) or, with fstype NULL, a symlink source -> target. */
struct base_step {
    const char *source;
    const char *target;
    const char *fstype;
    unsigned long flags;
    const char *data;
    mode_t dir_mode;    /* the mount point is created with this mode when missing */
    bool tolerate_busy; /* the kernel may have mounted devtmpfs already */
};

static const struct base_step base_steps[] = {
    {"dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL, 0755, true},
    {"proc", "/proc", "proc", NODEV_NOSUID_NOEXEC, NULL, 0555, false},
    {"/proc/self/fd", "/dev/fd", NULL, 0, NULL, 0, false},
    {"/proc/self/fd/0", "/dev/stdin", NULL, 0, NULL, 0, false},
    {"/proc/self/fd/1", "/dev/stdout", NULL, 0, NULL, 0, false},
    {"/proc/self/fd/2", "/dev/stderr", NULL, 0, NULL, 0, false},
    {"tmpfs", "/run", "tmpfs", NODEV_NOSUID_NOEXEC, "mode=0755", 0755, false},
    {"tmpfs", "/tmp", "tmpfs", NODEV_NOSUID_NOEXEC, NULL, 01777, false},
    {"shm", "/dev/shm", "tmpfs", NODEV_NOSUID_NOEXEC, NULL, 0755, false},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL, 0755, false},
    {"sysfs", "/sys", "sysfs", NODEV_NOSUID_NOEXEC, NULL, 0555, false},
};

static int do_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
                    const char *data, mode_t dir_mode, bool tolerate_busy, struct lcow_error **err)
{
    if (mkdir(target, dir_mode) < 0 && errno != EEXIST)
        return lcow_error_errno(err, "mkdir `%s`", target);
    if (mount(source, target, fstype, flags, data) < 0) {
        if (errno == EBUSY && tolerate_busy)
            return 0;
        return lcow_error_errno(err, "mount %s on `%s`%s%s", fstype, target, data ? " " : "",
                                data ? data : "");
    }
    return 0;
}

static int run_step(const struct base_step *s, struct lcow_error **err)
{
    if (s->fstype == NULL) {
        if (symlink(s->source, s->target) < 0 && errno != EEXIST)
            return lcow_error_errno(err, "symlink `%s` -> `%s`", s->target, s->source);
        return 0;
    }
    return do_mount(s->source, s->target, s->fstype, s->flags, s->data, s->dir_mode,
                    s->tolerate_busy, err);
}

int init_mount_base(struct lcow_error **err)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(base_steps); i++) {
        int r = run_step(&base_steps[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* -w: /etc and /var become overlays whose upper layer lives in RAM, so a read-only rootfs
 * still lets containers' host-side setup write there. */
int init_mount_writable_overlays(struct lcow_error **err)
{
    static const struct {
        const char *dir;
        unsigned long flags;
    } overlays[] = {
        {"etc", NODEV_NOSUID_NOEXEC},
        {"var", MS_NODEV | MS_NOSUID},
    };
    int r = do_mount("tmpfs", "/run/over", "tmpfs", 0, "size=40%,mode=0755", 0755, false, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(overlays); i++) {
        const char *d = overlays[i].dir;
        char upper[64], work[64], target[32], data[256];
        snprintf(upper, sizeof(upper), "/run/over/%s/upper", d);
        snprintf(work, sizeof(work), "/run/over/%s/work", d);
        snprintf(target, sizeof(target), "/%s", d);
        snprintf(data, sizeof(data), "lowerdir=/%s,upperdir=%s,workdir=%s", d, upper, work);
        if ((r = lcow_mkdir_p(upper, 0755, err)) < 0 || (r = lcow_mkdir_p(work, 0755, err)) < 0)
            return r;
        r = do_mount("overlay", target, "overlay", overlays[i].flags, data, 0755, false, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* runc's v2 device control needs BPF_CGROUP_DEVICE programs; a kernel without them (ENOSYS,
 * EINVAL) gets v1, where the devices controller does that job. EPERM still means "exists". */
static bool bpf_device_cgroup_works(void)
{
    cleanup_close int fd = open(CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (unsigned)fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    if (syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) < 0)
        return !(errno == ENOSYS || errno == EINVAL);
    return true;
}

/* "cpu io memory" -> "+cpu +io +memory" into cgroup.subtree_control. */
static int enable_v2_controllers(struct lcow_error **err)
{
    cleanup_free char *list = NULL;
    int r = lcow_read_file(CGROUP_ROOT "/cgroup.controllers", 4096, &list, NULL, err);
    if (r < 0)
        return r;
    char line[8192];
    size_t pos = 0;
    for (char *save = NULL, *tok = strtok_r(list, " \n", &save); tok != NULL;
         tok = strtok_r(NULL, " \n", &save)) {
        int n = snprintf(line + pos, sizeof(line) - pos, "%s+%s", pos ? " " : "", tok);
        if (n < 0 || (size_t)n >= sizeof(line) - pos)
            return lcow_error_make(err, E2BIG, "cgroup.controllers too long");
        pos += (size_t)n;
    }
    if (pos == 0)
        return 0;
    return lcow_write_file(CGROUP_ROOT "/cgroup.subtree_control", line, pos, O_WRONLY, 0, err);
}

static int mount_v2(bool enable_controllers, struct lcow_error **err)
{
    int r =
        do_mount("cgroup2", CGROUP_ROOT, "cgroup2", NODEV_NOSUID_NOEXEC, NULL, 0755, false, err);
    if (r < 0)
        return r;
    if (access(CGROUP_ROOT "/cgroup.controllers", F_OK) < 0 || !bpf_device_cgroup_works()) {
        (void)umount2(CGROUP_ROOT, MNT_DETACH);
        return lcow_error_make(err, ENOTSUP, "cgroup v2 lacks cgroup.controllers or BPF devices");
    }
    cleanup_error struct lcow_error *ctl = NULL;
    if (enable_controllers && enable_v2_controllers(&ctl) < 0)
        init_warn("cgroup v2 controllers: %s, ignoring", lcow_error_message(ctl));
    return 0;
}

/* v1: a tmpfs with one hierarchy per enabled controller of /proc/cgroups. */
static int mount_v1(struct lcow_error **err)
{
    int r = do_mount("cgroup_root", CGROUP_ROOT, "tmpfs", NODEV_NOSUID_NOEXEC, "mode=0755", 0755,
                     false, err);
    if (r < 0)
        return r;
    cleanup_free char *table = NULL;
    r = lcow_read_file("/proc/cgroups", 65536, &table, NULL, err);
    if (r < 0)
        return r;
    unsigned mounted = 0;
    for (char *save = NULL, *line = strtok_r(table, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        unsigned hier, num, enabled;
        if (line[0] == '#' || sscanf(line, "%63s %u %u %u", name, &hier, &num, &enabled) != 4 ||
            !enabled)
            continue;
        char path[128];
        snprintf(path, sizeof(path), CGROUP_ROOT "/%s", name);
        cleanup_error struct lcow_error *one = NULL;
        if (do_mount("cgroup", path, "cgroup", NODEV_NOSUID_NOEXEC, name, 0755, false, &one) < 0)
            init_warn("cgroup v1 %s: %s, ignoring", name, lcow_error_message(one));
        else
            mounted++;
    }
    if (mounted == 0)
        return lcow_error_make(err, ENOENT, "cgroup v1: no controller could be mounted");
    return 0;
}

int init_mount_cgroups(bool force_v1, bool enable_controllers, struct lcow_error **err)
{
    if (!force_v1) {
        cleanup_error struct lcow_error *v2err = NULL;
        if (mount_v2(enable_controllers, &v2err) == 0) {
            init_debug("cgroup v2 mounted");
            return 0;
        }
        init_info("cgroup v2: %s; falling back to v1", lcow_error_message(v2err));
    }
    return mount_v1(err);
}
