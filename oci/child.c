/* The container init between clone and exec. Everything it needs was computed by the parent
 * (struct oci_plan); here are only syscalls on that data: no malloc, no stdio, no locks, no
 * json-c, no logging. Failures go to the parent over the sync socket as errno + a bounded
 * message (struct sync_msg), then the child _exits.
 *
 * Order (as runc's init, so the in-container view matches): join/unshare namespaces ->
 * mounts, devices, pivot_root -> masked/readonly paths, sysctl, hostname -> stdio or pty ->
 * rlimits, personality, I/O and CPU scheduling -> no_new_privs, seccomp (when it needs
 * CAP_SYS_ADMIN) -> capabilities, groups, uid/gid, cwd -> "created" -> wait for start ->
 * seccomp (with no_new_privs) -> exec. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>

#include "common/io.h"
#include "common/syscalls.h"
#include "oci/internal.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT           47
#define PR_CAP_AMBIENT_RAISE     2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define IOPRIO_WHO_PROCESS          1

/* ---- bounded message building (no snprintf: it may allocate for some formats) ---- */

static void msg_add(char *buf, size_t *pos, const char *s)
{
    while (s && *s && *pos + 1 < OCI_SYNC_MSG_MAX)
        buf[(*pos)++] = *s++;
    buf[*pos] = '\0';
}

static void fmt_uint(char *out, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static int sync_send(const struct oci_plan *p, const struct sync_msg *m, int fd_to_pass)
{
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd_to_pass >= 0) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(p->sync_fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* Reports `what `arg`: errno` and exits. After start (no parent listening) it goes to fd 2. */
__attribute__((noreturn)) static void child_fail(const struct oci_plan *p, int errnum,
                                                 const char *what, const char *arg)
{
    struct sync_msg m = {.type = SYNC_ERROR, .err = errnum};
    size_t pos = 0;
    msg_add(m.msg, &pos, what);
    if (arg) {
        msg_add(m.msg, &pos, " `");
        msg_add(m.msg, &pos, arg);
        msg_add(m.msg, &pos, "`");
    }
    if (sync_send(p, &m, -1) < 0) {
        msg_add(m.msg, &pos, ": ");
        msg_add(m.msg, &pos, strerror(errnum));
        msg_add(m.msg, &pos, "\n");
        (void)!write(2, "ocirun: ", 8);
        (void)!write(2, m.msg, pos);
    }
    _exit(127);
}

#define FAIL(p, what, arg) child_fail(p, errno, what, arg)

/* Credentials through raw syscalls: glibc's wrappers broadcast the change to every thread it
 * believes exists (SIGSETXID), and after a raw clone of a multi-threaded caller (gcs) its
 * thread list still names the parent's threads. Here the calling thread is the process. */
static int raw_setresuid(uid_t u)
{
    return (int)syscall(SYS_setresuid, u, u, u);
}

static int raw_setresgid(gid_t g)
{
    return (int)syscall(SYS_setresgid, g, g, g);
}

static int raw_setgroups(size_t n, const gid_t *groups)
{
    return (int)syscall(SYS_setgroups, n, groups);
}

static void sync_expect(const struct oci_plan *p, int type)
{
    struct sync_msg m;
    ssize_t n;
    do
        n = recv(p->sync_fd, &m, sizeof(m), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(m) || m.type != type)
        _exit(126); /* the parent went away or broke the protocol: nobody to tell */
}

/* The state memfds for the in-container hooks, received with SYNC_HOOKS_DONE: status
 * "creating" for createContainer, "created" for startContainer (as runc). */
static int hook_state_fds[2] = {-1, -1};

static void sync_expect_fds(const struct oci_plan *p, int type, int ret_fds[2])
{
    struct sync_msg m;
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(p->sync_fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(m) || m.type != type)
        _exit(126);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(2 * sizeof(int)))
        memcpy(ret_fds, CMSG_DATA(c), 2 * sizeof(int));
}

static void run_child_hooks(const struct oci_plan *p, const struct oci_hook *hooks, size_t n,
                            int state_fd, const char *kind)
{
    const struct oci_hook *failed = NULL;
    if (n == 0)
        return;
    int r = oci_hooks_run_child(hooks, n, state_fd, &failed);
    if (r < 0)
        child_fail(p, -r, kind, failed ? failed->path : NULL);
}

static void sync_signal(const struct oci_plan *p, int type, int pid, int fd)
{
    struct sync_msg m = {.type = type, .pid = pid};
    if (sync_send(p, &m, fd) < 0)
        _exit(126);
}

/* "/proc/self/fd/N": mount(2) through it reaches exactly the inode resolved in the root. */
static const char *fd_path(char *buf, int fd)
{
    static const char prefix[] = "/proc/self/fd/";
    memcpy(buf, prefix, sizeof(prefix) - 1);
    fmt_uint(buf + sizeof(prefix) - 1, (unsigned long)fd);
    return buf;
}

/* ---- namespaces ---- */

static void write_file(const struct oci_plan *p, const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
    if (fd < 0)
        FAIL(p, "open", path);
    size_t len = strlen(data);
    if (write(fd, data, len) != (ssize_t)len)
        FAIL(p, "write", path);
    close(fd);
}

static void join_cgroup(const struct oci_plan *p)
{
    for (size_t i = 0; p->cgroup_tasks && p->cgroup_tasks[i]; i++)
        write_file(p, p->cgroup_tasks[i], "0");
}

static void setup_namespaces(const struct oci_plan *p)
{
    /* The user namespace first: the others may be owned by it. */
    for (int k = 0; k < OCI_NS_KIND_MAX; k++) {
        if (p->join_fds[k] >= 0 && setns(p->join_fds[k], oci_ns_clone_flag(k)) < 0)
            FAIL(p, "setns", oci_ns_name(k));
    }
    if (p->unshare_after_join && unshare((int)p->unshare_after_join) < 0)
        FAIL(p, "unshare", "namespaces in the joined user namespace");
    if (p->new_userns) {
        sync_signal(p, SYNC_USERNS, 0, -1);
        sync_expect(p, SYNC_USERNS_DONE);
    }
    if (p->new_userns || p->join_fds[OCI_NS_USER] >= 0) {
        /* Become the namespace's root (if mapped) for the set-up work. */
        if (raw_setresgid(0) < 0 || raw_setresuid(0) < 0)
            FAIL(p, "setresuid", "0 in the user namespace");
    }
    if (p->early_cgroup_wait)
        sync_expect(p, SYNC_CGROUP_DONE);
    if (p->unshare_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
        FAIL(p, "unshare", "cgroup");
    if (p->new_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 &&
        errno != ENOSYS)
        FAIL(p, "keyctl", "join session keyring");
    unsigned long later =
        (p->unshare_pidns ? CLONE_NEWPID : 0) | (p->unshare_timens ? CLONE_NEWTIME : 0);
    if (later && unshare((int)later) < 0)
        FAIL(p, "unshare", p->unshare_timens ? "time" : "pid");
    if (p->time_offsets)
        write_file(p, "/proc/self/timens_offsets", p->time_offsets);
    if (p->need_fork) {
        /* pid and time namespaces apply to children only: the init is our child. It waits
         * until we have reported its pid and exited (EOF on `order`), so that SYNC_PID always
         * reaches the parent before anything the init itself sends on the shared socket. */
        int order[2];
        char c;
        if (pipe2(order, O_CLOEXEC) < 0)
            FAIL(p, "pipe", NULL);
        pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
            FAIL(p, "fork", "container init");
        if (pid > 0) {
            sync_signal(p, SYNC_PID, pid, -1);
            _exit(0);
        }
        close(order[1]);
        while (read(order[0], &c, 1) < 0 && errno == EINTR)
            ;
        close(order[0]);
    }
}

/* ---- mounts ---- */

static int resolve(const struct oci_plan *p, int root_fd, const char *path, mode_t create)
{
    int fd = oci_resolve_in_root(root_fd, path, create, false);
    if (fd < 0)
        child_fail(p, -fd, "resolve mount target in rootfs", path);
    return fd;
}

/* Flags a bind remount must keep: the kernel refuses to drop locked nosuid/nodev/noexec/atime
 * flags of the source mount inside a user namespace. */
static unsigned long locked_flags(int fd, unsigned long cleared)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return 0;
    unsigned long keep = (unsigned long)sf.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                                      MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
    return keep & ~cleared;
}

static void set_propagation_attrs(const struct oci_plan *p, int root_fd, const struct plan_mount *m)
{
    if (!m->propagation && !m->rec_attr_set && !m->rec_attr_clr)
        return;
    char buf[32];
    int fd = resolve(p, root_fd, m->target, 0);
    if (m->propagation && mount(NULL, fd_path(buf, fd), NULL, m->propagation, NULL) < 0)
        FAIL(p, "set mount propagation of", m->target);
    if (m->rec_attr_set || m->rec_attr_clr) {
        struct lcow_mount_attr attr = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
        if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
            FAIL(p, "mount_setattr", m->target);
    }
    close(fd);
}

static void mount_bind(const struct oci_plan *p, int root_fd, const struct plan_mount *m)
{
    struct stat st;
    char buf[32];
    if (stat(m->source, &st) < 0)
        FAIL(p, "bind mount source", m->source);
    int fd = resolve(p, root_fd, m->target, S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG);
    if (mount(m->source, fd_path(buf, fd), NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
        FAIL(p, "bind mount", m->target);
    close(fd);
    unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra) {
        fd = resolve(p, root_fd, m->target, 0);
        unsigned long fl = MS_BIND | MS_REMOUNT | extra | locked_flags(fd, 0);
        if (mount(NULL, fd_path(buf, fd), NULL, fl, NULL) < 0)
            FAIL(p, "remount bind mount", m->target);
        close(fd);
    }
}

static void mount_fs(const struct oci_plan *p, int root_fd, const struct plan_mount *m)
{
    char buf[32];
    int fd = resolve(p, root_fd, m->target, S_IFDIR);
    /* tmpcopyup: keep a handle on the directory the tmpfs is about to hide. */
    int lower = m->tmpcopyup ? openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (m->tmpcopyup && lower < 0)
        FAIL(p, "open for tmpcopyup", m->target);
    if (mount(m->source, fd_path(buf, fd), m->type, m->flags & ~MS_REMOUNT, m->data) < 0)
        FAIL(p, "mount", m->target);
    close(fd);
    if (lower >= 0) {
        int top = resolve(p, root_fd, m->target, 0);
        int upper = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upper < 0)
            FAIL(p, "open tmpfs for tmpcopyup", m->target);
        int r = oci_copy_tree(lower, upper, 0);
        if (r < 0)
            child_fail(p, -r, "tmpcopyup", m->target);
        close(upper);
        close(top);
        close(lower);
    }
}

/* runc's layout for cgroup v1: a tmpfs with one bind per hierarchy of the container's own
 * cgroup, plus symlinks for co-mounted controllers (cpu -> cpu,cpuacct). */
static void mount_cgroup_v1(const struct oci_plan *p, int root_fd, const struct plan_mount *m)
{
    char buf[32];
    int fd = resolve(p, root_fd, m->target, S_IFDIR);
    unsigned long base = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    if (mount("tmpfs", fd_path(buf, fd), "tmpfs", base, "mode=755") < 0)
        FAIL(p, "mount tmpfs for cgroups on", m->target);
    close(fd);
    int dir = resolve(p, root_fd, m->target, 0);
    int dirfd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        FAIL(p, "open", m->target);
    for (size_t i = 0; i < m->n_cgroup_binds; i++) {
        const struct plan_cgroup_bind *b = &m->cgroup_binds[i];
        if (mkdirat(dirfd, b->name, 0755) < 0 && errno != EEXIST)
            FAIL(p, "mkdir cgroup mount point", b->name);
        int sub = openat(dirfd, b->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            FAIL(p, "open cgroup mount point", b->name);
        if (mount(b->source, fd_path(buf, sub), NULL, MS_BIND | MS_REC, NULL) < 0)
            FAIL(p, "bind mount cgroup", b->source);
        close(sub);
        sub = openat(dirfd, b->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        unsigned long fl = MS_BIND | MS_REMOUNT | base | (m->flags & MS_RDONLY);
        if (sub < 0 || mount(NULL, fd_path(buf, sub), NULL, fl, NULL) < 0)
            FAIL(p, "remount cgroup", b->name);
        close(sub);
        for (int l = 0; l < 3 && b->links[l]; l++)
            if (symlinkat(b->name, dirfd, b->links[l]) < 0 && errno != EEXIST)
                FAIL(p, "symlink cgroup", b->links[l]);
    }
    /* The tmpfs itself stays writable, as runc leaves it; the binds carry "ro". */
    close(dirfd);
    close(dir);
}

#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/* An idmapped tree the parent prepared: only its target is made here. */
static void mount_tree(const struct oci_plan *p, int root_fd, const struct plan_mount *m)
{
    struct stat st;
    if (fstat(m->tree_fd, &st) < 0)
        FAIL(p, "stat idmapped tree for", m->target);
    int fd = resolve(p, root_fd, m->target, S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG);
    if (sys_move_mount(m->tree_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
        0)
        FAIL(p, "move idmapped mount to", m->target);
    close(fd);
}

static void do_mounts(const struct oci_plan *p, int root_fd)
{
    for (size_t i = 0; i < p->n_mounts; i++) {
        const struct plan_mount *m = &p->mounts[i];
        switch (m->kind) {
        case PLAN_MOUNT_BIND:
            mount_bind(p, root_fd, m);
            break;
        case PLAN_MOUNT_CGROUP_V1:
            mount_cgroup_v1(p, root_fd, m);
            break;
        case PLAN_MOUNT_TREE:
            mount_tree(p, root_fd, m);
            break;
        case PLAN_MOUNT_CGROUP_V2:
        case PLAN_MOUNT_FS:
        default:
            mount_fs(p, root_fd, m);
            break;
        }
        set_propagation_attrs(p, root_fd, m);
    }
}

/* ---- devices ---- */

/* Splits path into its parent (resolved, created) and basename. Returns the parent fd. */
static int parent_dir(const struct oci_plan *p, int root_fd, const char *path, const char **base)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len >= sizeof(dir))
        child_fail(p, ENAMETOOLONG, "device path", path);
    memcpy(dir, path, len);
    dir[len] = '\0';
    *base = slash ? slash + 1 : path;
    int fd = oci_resolve_in_root(root_fd, len ? dir : "/", S_IFDIR, false);
    if (fd < 0)
        child_fail(p, -fd, "resolve device directory", path);
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        FAIL(p, "open device directory", path);
    close(fd);
    return dfd;
}

static void create_device(const struct oci_plan *p, int root_fd, const struct plan_device *d)
{
    const char *base = NULL;
    char buf[32];
    if (p->bind_devices && !S_ISFIFO(d->mode)) {
        /* mknod is refused in a user namespace: bind the host's node instead (runc). */
        int fd = resolve(p, root_fd, d->path, S_IFREG);
        if (mount(d->path, fd_path(buf, fd), NULL, MS_BIND, NULL) < 0)
            FAIL(p, "bind mount device", d->path);
        close(fd);
        return;
    }
    int dfd = parent_dir(p, root_fd, d->path, &base);
    if (mknodat(dfd, base, d->mode, d->dev) < 0 && errno != EEXIST)
        FAIL(p, "mknod", d->path);
    if (fchmodat(dfd, base, d->mode & 07777, 0) < 0)
        FAIL(p, "chmod", d->path);
    if (fchownat(dfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        FAIL(p, "chown", d->path);
    close(dfd);
}

static void setup_dev(const struct oci_plan *p, int root_fd)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
        {"/proc/kcore", "/dev/core"},
    };
    for (size_t i = 0; i < p->n_devices; i++)
        create_device(p, root_fd, &p->devices[i]);
    if (!p->setup_dev)
        return;
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        const char *base = NULL;
        if (i == 4 && access("/proc/kcore", F_OK) < 0)
            continue;
        int dfd = parent_dir(p, root_fd, links[i][1], &base);
        if (symlinkat(links[i][0], dfd, base) < 0 && errno != EEXIST)
            FAIL(p, "symlink", links[i][1]);
        close(dfd);
    }
    /* /dev/ptmx must be the container's devpts multiplexer. */
    const char *base = NULL;
    int dfd = parent_dir(p, root_fd, "/dev/ptmx", &base);
    if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
        FAIL(p, "unlink", "/dev/ptmx");
    if (symlinkat("pts/ptmx", dfd, base) < 0)
        FAIL(p, "symlink", "/dev/ptmx");
    close(dfd);
}

/* ---- pivot and the paths done after it ---- */

static void enter_root(const struct oci_plan *p, int root_fd)
{
    if (fchdir(root_fd) < 0)
        FAIL(p, "chdir", p->rootfs);
    if (p->no_pivot) {
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
            FAIL(p, "move rootfs to /", p->rootfs);
        if (chroot(".") < 0)
            FAIL(p, "chroot", p->rootfs);
    } else {
        if (sys_pivot_root(".", ".") < 0)
            FAIL(p, "pivot_root", p->rootfs);
        /* The old root is stacked under "."; keep its unmount from propagating to the host. */
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
            FAIL(p, "make old root rslave", NULL);
        if (umount2(".", MNT_DETACH) < 0)
            FAIL(p, "unmount old root", NULL);
    }
    if (chdir("/") < 0)
        FAIL(p, "chdir", "/");
    if (p->rootfs_propagation && mount(NULL, "/", NULL, p->rootfs_propagation, NULL) < 0)
        FAIL(p, "set rootfs propagation", NULL);
}

static void mask_paths(const struct oci_plan *p)
{
    for (size_t i = 0; p->masked_paths && p->masked_paths[i]; i++) {
        const char *path = p->masked_paths[i];
        struct stat st;
        if (lstat(path, &st) < 0) {
            if (errno == ENOENT)
                continue;
            FAIL(p, "stat masked path", path);
        }
        int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                                    : mount("/dev/null", path, NULL, MS_BIND, NULL);
        if (r < 0)
            FAIL(p, "mask", path);
    }
}

static void remount_ro(const struct oci_plan *p, const char *path, bool bind_first)
{
    struct statfs sf;
    if (bind_first && mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT)
            return;
        FAIL(p, "bind mount read-only path", path);
    }
    if (statfs(path, &sf) < 0)
        FAIL(p, "statfs", path);
    unsigned long keep = (unsigned long)sf.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                                      MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
        FAIL(p, "remount read-only", path);
}

static void finish_filesystem(const struct oci_plan *p)
{
    /* sysctls first: /proc/sys is usually among the read-only paths. Then runc's order:
     * read-only paths, masks (visible in mountinfo), the read-only root. */
    for (size_t i = 0; i < p->n_sysctls; i++)
        write_file(p, p->sysctls[i].path, p->sysctls[i].value);
    for (size_t i = 0; p->readonly_paths && p->readonly_paths[i]; i++)
        remount_ro(p, p->readonly_paths[i], true);
    mask_paths(p);
    if (p->readonly_root)
        remount_ro(p, "/", false);
}

static void setup_rootfs(const struct oci_plan *p)
{
    if (mount(NULL, "/", NULL, p->root_propagation, NULL) < 0)
        FAIL(p, "set propagation of", "/");
    if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        FAIL(p, "bind mount rootfs", p->rootfs);
    int root_fd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        FAIL(p, "open rootfs", p->rootfs);
    do_mounts(p, root_fd);
    setup_dev(p, root_fd);
    /* The mounts above overlapped the parent's cgroup attach (a v1 attach waits for an RCU
     * grace period, ~10 ms); from here on we must be in the cgroup. */
    if (!p->early_cgroup_wait)
        sync_expect(p, SYNC_CGROUP_DONE);
    if (p->sync_hooks) {
        /* prestart and createRuntime run in the parent now; createContainer here, before the
         * pivot, so their paths resolve in the runtime's mount namespace. */
        sync_signal(p, SYNC_HOOKS, 0, -1);
        sync_expect_fds(p, SYNC_HOOKS_DONE, hook_state_fds);
        run_child_hooks(p, p->create_container_hooks, p->n_create_container_hooks,
                        hook_state_fds[0], "createContainer hook");
        close(hook_state_fds[0]);
    }
    enter_root(p, root_fd);
    close(root_fd);
    finish_filesystem(p);
}

/* ---- stdio and terminal ---- */

static void send_console(const struct oci_plan *p, int master)
{
    static const char name[] = "/dev/ptmx";
    struct iovec iov = {.iov_base = (void *)name, .iov_len = sizeof(name) - 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    if (sendmsg(p->console_fd, &mh, MSG_NOSIGNAL) < 0)
        FAIL(p, "send pty master to console socket", NULL);
}

/* Returns the master for the parent (-1 when it went to the console socket). */
static int setup_terminal(const struct oci_plan *p)
{
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        FAIL(p, "open", "/dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        FAIL(p, "unlock pty", NULL);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        FAIL(p, "open pty peer", NULL);
    if (p->has_console_size) {
        struct winsize ws = {.ws_row = p->console_rows, .ws_col = p->console_cols};
        if (ioctl(master, TIOCSWINSZ, &ws) < 0)
            FAIL(p, "set console size", NULL);
    }
    if (setsid() < 0)
        FAIL(p, "setsid", NULL);
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        FAIL(p, "set controlling terminal", NULL);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            FAIL(p, "dup2 pty", NULL);
    if (fchown(slave, p->uid, (gid_t)-1) < 0 && errno != EINVAL)
        FAIL(p, "chown pty", NULL);
    close(slave);
    if (p->console_fd >= 0) {
        send_console(p, master);
        close(master);
        return -1;
    }
    return master;
}

static void setup_stdio(const struct oci_plan *p)
{
    int tmp[3];
    int base = 3 + p->preserve_fds + 64;
    /* Move the sources out of the way first, so that any mapping (even 0<->1) works. */
    for (int i = 0; i < 3; i++) {
        tmp[i] = -1;
        if (p->stdio[i] >= 0 && p->stdio[i] != i &&
            (tmp[i] = fcntl(p->stdio[i], F_DUPFD_CLOEXEC, base)) < 0)
            FAIL(p, "dup stdio", NULL);
    }
    for (int i = 0; i < 3; i++)
        if (tmp[i] >= 0 && (dup2(tmp[i], i) < 0 || close(tmp[i]) < 0))
            FAIL(p, "dup2 stdio", NULL);
}

/* runc's reOpenDevNull: a stdio fd that is a /dev/null (containerd's null IO hands the
 * runtime one read-only /dev/null for all three) becomes the container's /dev/null opened
 * read-write, or the process could not write to its stdout. */
static void reopen_dev_null(const struct oci_plan *p)
{
    struct stat null_st, st;
    if (stat("/dev/null", &null_st) < 0 || !S_ISCHR(null_st.st_mode))
        return;
    for (int i = 0; i < 3; i++) {
        if (fstat(i, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != null_st.st_rdev)
            continue;
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            FAIL(p, "open", "/dev/null");
        if (dup3(fd, i, 0) < 0)
            FAIL(p, "dup2", "/dev/null");
        close(fd);
    }
}

/* ---- process attributes ---- */

static void set_process_attrs(const struct oci_plan *p)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
        if (setrlimit(p->rlimits[i].resource, &rl) < 0)
            FAIL(p, "setrlimit", oci_rlimit_name(p->rlimits[i].resource));
    }
    if (p->has_personality && personality(p->personality) < 0)
        FAIL(p, "personality", NULL);
    if (p->has_ioprio && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, p->ioprio) < 0)
        FAIL(p, "ioprio_set", NULL);
    if (p->has_sched && syscall(SYS_sched_setattr, 0, p->sched_attr, 0) < 0)
        FAIL(p, "sched_setattr", NULL);
}

static void set_caps(const struct oci_plan *p)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(p->cap_effective >> (32 * i));
        data[i].permitted = (uint32_t)(p->cap_permitted >> (32 * i));
        data[i].inheritable = (uint32_t)(p->cap_inheritable >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        FAIL(p, "capset", NULL);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        FAIL(p, "clear ambient capabilities", NULL);
    /* A capability missing from the permitted or inheritable set cannot be ambient; runc
     * skips those (its default spec lists ambient caps without inheritable ones). */
    for (int c = 0; c <= p->cap_last; c++)
        if ((p->cap_ambient >> c & 1) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0, 0) < 0 &&
            errno != EPERM)
            FAIL(p, "raise ambient capability", oci_cap_name(c));
}

static void drop_bounding(const struct oci_plan *p)
{
    for (int c = 0; c <= p->cap_last; c++)
        if (!(p->cap_bounding >> c & 1) && prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0 &&
            errno != EINVAL)
            FAIL(p, "drop bounding capability", oci_cap_name(c));
}

static void finalize_user(const struct oci_plan *p)
{
    if (p->caps_present) {
        drop_bounding(p);
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            FAIL(p, "prctl", "PR_SET_KEEPCAPS");
    }
    if (p->set_groups && raw_setgroups(p->n_groups, p->groups) < 0)
        FAIL(p, "setgroups", NULL);
    if (raw_setresgid(p->gid) < 0)
        FAIL(p, "setresgid", NULL);
    if (raw_setresuid(p->uid) < 0)
        FAIL(p, "setresuid", NULL);
    if (p->caps_present) {
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
            FAIL(p, "prctl", "PR_SET_KEEPCAPS");
        set_caps(p);
    }
}

/* Finds argv[0] in PATH (after the pivot, with the final credentials); the result goes to
 * out. */
static void find_executable(const struct oci_plan *p, char *out, size_t cap)
{
    const char *name = p->argv[0];
    if (strchr(name, '/')) {
        if (strlen(name) >= cap)
            child_fail(p, ENAMETOOLONG, "executable", name);
        memcpy(out, name, strlen(name) + 1);
        if (access(out, X_OK) < 0)
            FAIL(p, "exec", name);
        return;
    }
    int last_err = ENOENT;
    for (const char *dir = p->path_env; dir && *dir;) {
        const char *end = strchrnul(dir, ':');
        size_t dlen = (size_t)(end - dir), nlen = strlen(name);
        if (dlen + nlen + 2 <= cap) {
            memcpy(out, dlen ? dir : ".", dlen ? dlen : 1);
            size_t pos = dlen ? dlen : 1;
            out[pos++] = '/';
            memcpy(out + pos, name, nlen + 1);
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
                if (access(out, X_OK) == 0)
                    return;
                last_err = errno;
            }
        }
        dir = *end ? end + 1 : end;
    }
    child_fail(p, last_err, "executable file not found in $PATH:", name);
}

static void wait_for_start(const struct oci_plan *p)
{
    if (p->wait == PLAN_WAIT_SYNC) {
        sync_expect(p, SYNC_START);
        return;
    }
    struct pollfd pfd = {.fd = p->fifo_fd, .events = POLLIN};
    char c;
    for (;;) {
        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(126);
        }
        ssize_t n = read(p->fifo_fd, &c, 1);
        if (n == 1)
            return;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            _exit(126); /* a writer came and went without starting us */
    }
}

/* Installs the filter; a listener fd (SCMP_ACT_NOTIFY) goes to the parent, which hands it to
 * linux.seccomp.listenerPath before we go on (runc's procSeccomp / procSeccompDone). */
static void load_seccomp(const struct oci_plan *p)
{
    int r = oci_seccomp_load(p->seccomp);
    if (r < 0)
        child_fail(p, -r, "load seccomp filter", NULL);
    if (r > 0) {
        sync_signal(p, SYNC_SECCOMP, 0, r);
        close(r);
        sync_expect(p, SYNC_SECCOMP_DONE);
    }
}

static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            (void)sigaction(s, &sa, NULL);
}

/* ---- fds of other containers ---- */

#define KEEP_MAX (16 + OCI_NS_KIND_MAX + OCI_MAX_MOUNTS)

static void keep_add(int *keep, size_t *n, int fd)
{
    if (fd < 0 || *n == KEEP_MAX)
        return;
    size_t i = *n;
    while (i > 0 && keep[i - 1] > fd) { /* insertion sort: the list is short */
        keep[i] = keep[i - 1];
        i--;
    }
    keep[i] = fd;
    (*n)++;
}

static void close_between(int lo, int hi)
{
    if (lo > hi)
        return;
    if (sys_close_range((unsigned)lo, (unsigned)hi, 0) == 0)
        return;
    for (int fd = lo; fd <= hi && fd < lo + 65536; fd++)
        (void)close(fd); /* no close_range: only this bounded gap */
}

/* A threaded caller (gcs) may be creating other containers at this moment: we inherited their
 * sockets and pipes too. Holding another init's sync socket would stall that container's
 * start() until we exec, so everything the plan does not name is closed first thing. */
static void close_foreign_fds(const struct oci_plan *p)
{
    int keep[KEEP_MAX];
    size_t n = 0;
    for (int fd = 0; fd < 3 + p->preserve_fds && fd < 3 + 1024; fd++)
        keep_add(keep, &n, fd);
    keep_add(keep, &n, p->sync_fd);
    keep_add(keep, &n, p->console_fd);
    keep_add(keep, &n, p->fifo_fd);
    for (int i = 0; i < 3; i++)
        keep_add(keep, &n, p->stdio[i]);
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        keep_add(keep, &n, p->join_fds[k]);
    for (size_t i = 0; i < p->n_mounts; i++)
        if (p->mounts[i].kind == PLAN_MOUNT_TREE)
            keep_add(keep, &n, p->mounts[i].tree_fd);
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        close_between(next, keep[i] - 1);
        next = keep[i] + 1;
    }
    if (sys_close_range((unsigned)next, ~0U, 0) < 0)
        (void)lcow_close_fds_from(next);
}

__attribute__((noreturn)) void oci_child_main(const struct oci_plan *p)
{
    char exe[PATH_MAX];
    sigset_t all;
    reset_signals();
    close_foreign_fds(p);
    /* execCPUAffinity.initial: where the runtime side of the container runs. */
    if (p->has_affinity_initial &&
        sched_setaffinity(0, sizeof(p->affinity_initial), &p->affinity_initial) < 0)
        FAIL(p, "sched_setaffinity", "execCPUAffinity.initial");
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (p->child_joins_cgroup)
        join_cgroup(p); /* first, as the host's root, before any namespace changes */
    setup_namespaces(p);
    umask(0); /* device and mount point modes exactly as given */
    if (p->new_mountns)
        setup_rootfs(p);
    if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
        FAIL(p, "sethostname", p->hostname);
    if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
        FAIL(p, "setdomainname", p->domainname);
    int master = -1;
    if (p->terminal)
        master = setup_terminal(p);
    else {
        setup_stdio(p);
        reopen_dev_null(p);
    }
    set_process_attrs(p);
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        FAIL(p, "prctl", "PR_SET_NO_NEW_PRIVS");
    /* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it before the drop. */
    if (p->seccomp && !p->no_new_privileges)
        load_seccomp(p);
    if (chdir(p->cwd) < 0 && errno != EACCES)
        FAIL(p, "chdir", p->cwd);
    finalize_user(p);
    if (chdir(p->cwd) < 0)
        FAIL(p, "chdir", p->cwd);
    umask(p->has_umask ? p->umask : 022);
    find_executable(p, exe, sizeof(exe));
    /* A listener must reach the parent while it still listens (create returns at "created"). */
    if (p->seccomp && p->no_new_privileges && p->seccomp->notify)
        load_seccomp(p);
    /* Only what --preserve-fds names survives the exec. */
    if (sys_close_range(3 + (unsigned)p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0 &&
        errno != ENOSYS && errno != EINVAL)
        FAIL(p, "close_range", NULL);
    for (int fd = 3; fd < 3 + p->preserve_fds; fd++)
        (void)fcntl(fd, F_SETFD, 0);
    (void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    sync_signal(p, SYNC_CREATED, 0, master);
    if (master >= 0)
        close(master);
    wait_for_start(p);
    run_child_hooks(p, p->start_container_hooks, p->n_start_container_hooks, hook_state_fds[1],
                    "startContainer hook");
    if (hook_state_fds[1] >= 0)
        close(hook_state_fds[1]);
    if (p->seccomp && p->no_new_privileges && !p->seccomp->notify)
        load_seccomp(p);
    if (p->has_affinity_final &&
        sched_setaffinity(0, sizeof(p->affinity_final), &p->affinity_final) < 0)
        FAIL(p, "sched_setaffinity", "execCPUAffinity.final");
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    execve(exe, p->argv, p->envp);
    FAIL(p, "exec", exe);
}
