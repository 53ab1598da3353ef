/* The parent's side of container creation: cgroup, plan, clone, and the handshake with the
 * child over the sync socket (see oci/internal.h for the messages). */
#include "oci/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "oci/cgroup.h"
#include "oci/internal.h"
#include "oci/seccomp_notify.h"

struct oci_container {
    const struct oci_spec *spec; /* borrowed from the caller, for poststart/poststop hooks */
    char *id, *bundle;
    pid_t pid;
    int pidfd;
    int sync_fd;
    int pty_master;
    bool started, exited;
    int status;
    uint64_t start_time;
    struct oci_cgroup *cg;
    struct oci_cgroup_layout *own_layout;
};

int oci_wait_status_to_exit_code(int st)
{
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

int oci_proc_stat(pid_t pid, uint64_t *ret_start_time, char *ret_state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = lcow_read_exact(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return n < 0 ? (int)n : -ESRCH;
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -EINVAL;
    p += 2;
    char state = *p;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p == NULL)
        return -EINVAL;
    if (ret_start_time)
        *ret_start_time = strtoull(p, NULL, 10);
    if (ret_state)
        *ret_state = state;
    return 0;
}

/* ---- sync socket, parent side ---- */

static int sync_recv(int fd, struct sync_msg *m, int *ret_fd, struct lcow_error **err)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n = LCOW_RETRY_EINTR(recvmsg(fd, &mh, MSG_CMSG_CLOEXEC));
    if (n < 0)
        return lcow_error_errno(err, "read from container init");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int got = -1;
            memcpy(&got, CMSG_DATA(c), sizeof(int));
            if (ret_fd && *ret_fd < 0)
                *ret_fd = got;
            else
                close(got);
        }
    }
    if (n == 0)
        return 0; /* EOF */
    if (n != (ssize_t)sizeof(*m))
        return lcow_error_make(err, EPROTO, "container init: short sync message");
    m->msg[OCI_SYNC_MSG_MAX - 1] = '\0';
    if (m->type == SYNC_ERROR)
        return lcow_error_make(err, m->err > 0 ? m->err : EIO, "container init: %s: %s", m->msg,
                               strerror(m->err));
    return 1;
}

static int sync_expect(int fd, int type, struct sync_msg *m, int *ret_fd, struct lcow_error **err)
{
    int r = sync_recv(fd, m, ret_fd, err);
    if (r < 0)
        return r;
    if (r == 0)
        return lcow_error_make(err, EPIPE, "container init exited during set-up");
    if (m->type != type)
        return lcow_error_make(err, EPROTO, "container init: unexpected message %d", m->type);
    return 0;
}

/* Sends a message with n_fds (0..2) fds attached. */
static int sync_send_fds(int fd, int type, const int *fds, size_t n_fds, struct lcow_error **err)
{
    struct sync_msg m = {.type = type};
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n_fds > 0) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
    }
    if (LCOW_RETRY_EINTR(sendmsg(fd, &mh, MSG_NOSIGNAL)) < 0)
        return lcow_error_errno(err, "write to container init");
    return 0;
}

static int sync_send(int fd, int type, struct lcow_error **err)
{
    return sync_send_fds(fd, type, NULL, 0, err);
}

/* ---- user namespace maps ---- */

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                        struct lcow_error **err)
{
    char path[64], buf[4096];
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + pos, sizeof(buf) - pos, "%u %u %u\n", m[i].container_id,
                         m[i].host_id, m[i].size);
        if (w < 0 || (size_t)w >= sizeof(buf) - pos)
            return lcow_error_make(err, E2BIG, "%s: too many mappings", file);
        pos += (size_t)w;
    }
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    return lcow_write_file(path, buf, pos, O_WRONLY, 0, err);
}

/* ---- clone ---- */

/* exit_signal 0 for the short-lived helper of a late pid/time namespace: a caller's
 * waitpid(-1) reaper (without __WALL) then never takes it from us. The init itself always
 * signals SIGCHLD: its caller reaps it. */
static pid_t clone_child(unsigned long flags, int cgroup_fd, bool helper)
{
    struct lcow_clone_args args = {.flags = flags, .exit_signal = helper ? 0 : SIGCHLD};
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    long pid = sys_clone3(&args);
    if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EPERM) && cgroup_fd < 0)
        pid = syscall(SYS_clone, flags | (helper ? 0 : SIGCHLD), 0, 0, 0, 0);
    return (pid_t)pid;
}

int oci_console_connect(const char *path, struct lcow_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return lcow_error_make(err, ENAMETOOLONG, "console socket `%s`: path too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    if (LCOW_RETRY_EINTR(connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0)
        return lcow_error_errno(err, "connect console socket `%s`", path);
    return take_fd(&fd);
}

static int resolve_rootfs(const struct oci_create_opts *opts, char **ret, struct lcow_error **err)
{
    const char *root = opts->spec->root_path;
    cleanup_free char *joined = NULL;
    if (root[0] != '/') {
        if (asprintf(&joined, "%s/%s", opts->bundle ? opts->bundle : ".", root) < 0)
            return lcow_error_make(err, ENOMEM, "out of memory");
        root = joined;
    }
    char *real = realpath(root, NULL);
    if (real == NULL)
        return lcow_error_errno(err, "rootfs `%s`", root);
    struct stat st;
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return lcow_error_make(err, ENOTDIR, "rootfs `%s`: not a directory", root);
    }
    *ret = real;
    return 0;
}

/* State shared by the steps of create, undone on failure. */
struct create_ctx {
    const struct oci_create_opts *opts;
    struct oci_plan plan;
    struct oci_plan_storage *storage;
    char *rootfs;
    struct oci_cgroup_layout *own_layout;
    const struct oci_cgroup_layout *layout;
    struct oci_cgroup *cg;
    int sync[2];
    int console_fd, fifo_fd;
    pid_t child, init;
    int pty_master;
    char **cgroup_tasks;
    int v2_fd;
};

static int setup_cgroup(struct create_ctx *x, struct lcow_error **err)
{
    const struct oci_create_opts *o = x->opts;
    const struct oci_linux *lx = o->spec->linux_;
    x->layout = o->cgroup_layout;
    if (x->layout == NULL) {
        int r = oci_cgroup_layout_detect(NULL, &x->own_layout, err);
        if (r < 0)
            return r;
        x->layout = x->own_layout;
    }
    if (o->flags & OCI_CREATE_NO_CGROUP)
        return 0;
    /* runc 1.2's rule: an empty leftover cgroup is reused, a busy or frozen one refused. */
    int r = oci_cgroup_create(x->layout, lx->cgroups_path, o->id, OCI_CGROUP_REQUIRE_EMPTY, &x->cg,
                              err);
    if (r < 0)
        return r;
    struct oci_linux_resources empty = {0};
    cleanup_free const char **paths = calloc(lx->n_devices + 1, sizeof(char *));
    if (paths == NULL)
        return lcow_error_make(err, ENOMEM, "create: out of memory");
    for (size_t i = 0; i < lx->n_devices; i++)
        paths[i] = lx->devices[i].path;
    return oci_cgroup_apply(x->cg, lx->resources ? lx->resources : &empty, paths, 0, err);
}

static int prepare_fds(struct create_ctx *x, struct lcow_error **err)
{
    const struct oci_create_opts *o = x->opts;
    struct oci_plan *p = &x->plan;
    if (p->terminal && o->console_socket) {
        x->console_fd = oci_console_connect(o->console_socket, err);
        if (x->console_fd < 0)
            return x->console_fd;
    }
    if (o->exec_fifo) {
        x->fifo_fd = open(o->exec_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (x->fifo_fd < 0)
            return lcow_error_errno(err, "open exec fifo `%s`", o->exec_fifo);
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->sync) < 0)
        return lcow_error_errno(err, "socketpair");
    p->sync_fd = x->sync[1];
    p->console_fd = x->console_fd;
    p->fifo_fd = x->fifo_fd;
    p->wait = o->exec_fifo ? PLAN_WAIT_FIFO : PLAN_WAIT_SYNC;
    for (int i = 0; i < 3; i++)
        p->stdio[i] = o->stdio[i];
    p->preserve_fds = o->preserve_fds > 0 ? o->preserve_fds : 0;
    return 0;
}

/* The child stopped before its pivot: prestart and createRuntime hooks run here, in the
 * runtime's namespaces; the state memfd then goes to the child for createContainer and
 * startContainer. */
static int run_create_hooks(struct create_ctx *x, struct lcow_error **err)
{
    const struct oci_create_opts *o = x->opts;
    struct sync_msg m;
    int r = sync_expect(x->sync[0], SYNC_HOOKS, &m, NULL, err);
    if (r < 0)
        return r;
    cleanup_free char *state = oci_hook_state_json(o->spec, o->id, "creating", x->init, o->bundle);
    if (state == NULL)
        return lcow_error_make(err, ENOMEM, "hook state: out of memory");
    if ((r = oci_hooks_run(o->spec, OCI_HOOK_PRESTART, state, err)) < 0 ||
        (r = oci_hooks_run(o->spec, OCI_HOOK_CREATE_RUNTIME, state, err)) < 0)
        return r;
    /* runc gives startContainer the state as "created". */
    cleanup_free char *created = oci_hook_state_json(o->spec, o->id, "created", x->init, o->bundle);
    if (created == NULL)
        return lcow_error_make(err, ENOMEM, "hook state: out of memory");
    cleanup_close int fd0 = oci_hook_state_fd(state, err);
    if (fd0 < 0)
        return fd0;
    cleanup_close int fd1 = oci_hook_state_fd(created, err);
    if (fd1 < 0)
        return fd1;
    int fds[2] = {fd0, fd1};
    return sync_send_fds(x->sync[0], SYNC_HOOKS_DONE, fds, 2, err);
}

/* linux.seccomp.listenerPath gets the listener and the state (status "creating"). */
static int send_listener(struct create_ctx *x, int listener, struct lcow_error **err)
{
    const struct oci_seccomp_program *prog = x->plan.seccomp;
    if (listener < 0)
        return lcow_error_make(err, EPROTO, "container init: seccomp listener fd missing");
    if (prog == NULL || prog->listener_path == NULL || *prog->listener_path == '\0')
        return lcow_error_make(err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
    cleanup_free char *state =
        oci_hook_state_json(x->opts->spec, x->opts->id, "creating", x->init, x->opts->bundle);
    if (state == NULL)
        return lcow_error_make(err, ENOMEM, "seccomp state: out of memory");
    return oci_seccomp_notify_send(prog->listener_path, prog->listener_metadata,
                                   x->opts->spec->oci_version, x->init, state, listener, err);
}

static int handshake(struct create_ctx *x, struct lcow_error **err)
{
    const struct oci_linux *lx = x->opts->spec->linux_;
    const struct oci_process *proc = x->opts->spec->process;
    struct sync_msg m;
    int fd = x->sync[0], r;
    if (x->plan.new_userns) {
        if ((r = sync_expect(fd, SYNC_USERNS, &m, NULL, err)) < 0 ||
            (r = write_id_map(x->child, "uid_map", lx->uid_mappings, lx->n_uid_mappings, err)) <
                0 ||
            (r = write_id_map(x->child, "gid_map", lx->gid_mappings, lx->n_gid_mappings, err)) <
                0 ||
            (r = sync_send(fd, SYNC_USERNS_DONE, err)) < 0)
            return r;
    }
    if (x->cg && oci_cgroup_clone_fd(x->cg) < 0 && !x->plan.child_joins_cgroup &&
        (r = oci_cgroup_enter(x->cg, x->child, err)) < 0)
        return r;
    if (proc->has_oom_score_adj) {
        char path[64], val[16];
        snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)x->child);
        int n = snprintf(val, sizeof(val), "%d", proc->oom_score_adj);
        if ((r = lcow_write_file(path, val, (size_t)n, O_WRONLY, 0, err)) < 0)
            return lcow_error_wrap(err, "process.oomScoreAdj");
    }
    if ((r = sync_send(fd, SYNC_CGROUP_DONE, err)) < 0)
        return r;
    x->init = x->child;
    if (x->plan.need_fork) {
        if ((r = sync_expect(fd, SYNC_PID, &m, NULL, err)) < 0)
            return r;
        x->init = m.pid;
        /* The helper exits at once; it is ours to reap (the init is re-parented). */
        (void)LCOW_RETRY_EINTR(waitpid(x->child, NULL, __WALL));
        x->child = 0;
    }
    if (x->plan.sync_hooks && (r = run_create_hooks(x, err)) < 0)
        return r;
    /* A SCMP_ACT_NOTIFY filter sends its listener before "created". */
    for (;;) {
        int listener = -1;
        if ((r = sync_recv(fd, &m, &x->pty_master, err)) < 0)
            return r;
        if (r == 0)
            return lcow_error_make(err, EPIPE, "container init exited during set-up");
        if (m.type == SYNC_CREATED)
            return 0;
        if (m.type != SYNC_SECCOMP)
            return lcow_error_make(err, EPROTO, "container init: unexpected message %d", m.type);
        /* sync_recv put the attached fd in pty_master's slot: it is the listener. */
        listener = x->pty_master;
        x->pty_master = -1;
        r = send_listener(x, listener, err);
        if (listener >= 0)
            lcow_close_nointr(listener);
        if (r < 0 || (r = sync_send(fd, SYNC_SECCOMP_DONE, err)) < 0)
            return r;
    }
}

static void create_ctx_undo(struct create_ctx *x)
{
    pid_t pids[2] = {x->init, x->child};
    for (int i = 0; i < 2; i++) {
        if (pids[i] <= 0 || (i == 1 && pids[1] == pids[0]))
            continue;
        kill(pids[i], SIGKILL);
        /* Ours to reap only when it is our child; a re-parented init goes to the caller. */
        (void)LCOW_RETRY_EINTR(waitpid(pids[i], NULL, __WALL));
    }
    if (x->cg) {
        (void)oci_cgroup_destroy(x->cg, NULL);
        x->cg = oci_cgroup_free(x->cg);
    }
    if (x->pty_master >= 0)
        x->pty_master = lcow_close_nointr(x->pty_master);
}

static void create_ctx_done(struct create_ctx *x)
{
    for (size_t i = 0; x->cgroup_tasks && x->cgroup_tasks[i]; i++)
        free(x->cgroup_tasks[i]);
    free(x->cgroup_tasks);
    if (x->v2_fd >= 0)
        lcow_close_nointr(x->v2_fd);
    for (int i = 0; i < 2; i++)
        if (x->sync[i] >= 0)
            lcow_close_nointr(x->sync[i]);
    if (x->console_fd >= 0)
        lcow_close_nointr(x->console_fd);
    if (x->fifo_fd >= 0)
        lcow_close_nointr(x->fifo_fd);
    oci_plan_storage_free(x->storage);
    free(x->rootfs);
}

/* The init died without a word (an OOM kill, a signal): say how, without reaping it. */
static void describe_death(pid_t pid, struct lcow_error **err)
{
    siginfo_t si = {0};
    if (pid <= 0 || waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | __WALL) < 0 ||
        si.si_pid != pid)
        return;
    if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
        (void)lcow_error_wrap(err, "killed by signal %d (%s)", si.si_status,
                              si.si_status == SIGKILL ? "out of memory?" : strsignal(si.si_status));
    else
        (void)lcow_error_wrap(err, "exit status %d", si.si_status);
}

/* Lets the child join its v1 cgroups itself (see oci_plan.child_joins_cgroup) when it runs
 * with the caller's root credentials; the v2 hierarchy of a hybrid host is then joined by
 * CLONE_INTO_CGROUP. Returns the cgroup fd for clone3 (-1: none needed). */
static int plan_child_join(struct create_ctx *x, struct lcow_error **err)
{
    struct oci_plan *p = &x->plan;
    if (x->cg == NULL || x->layout->mode == OCI_CGROUP_UNIFIED || p->new_userns ||
        p->join_fds[OCI_NS_USER] >= 0)
        return -1;
    size_t n = 0;
    x->cgroup_tasks = calloc(OCI_CG_CTRL_MAX + 1, sizeof(char *));
    if (x->cgroup_tasks == NULL)
        return lcow_error_make(err, ENOMEM, "create: out of memory");
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        const char *dir = x->layout->v1_mount[c] ? oci_cgroup_dir(x->cg, c) : NULL;
        char *path = NULL;
        bool dup = false;
        if (dir == NULL || asprintf(&path, "%s/tasks", dir) < 0)
            continue;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(x->cgroup_tasks[i], path) == 0;
        if (dup)
            free(path);
        else
            x->cgroup_tasks[n++] = path;
    }
    const char *v2 = oci_cgroup_v2_dir(x->cg);
    if (v2 != NULL && (x->v2_fd = open(v2, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    p->cgroup_tasks = x->cgroup_tasks;
    p->child_joins_cgroup = true;
    return x->v2_fd;
}

static int do_create(struct create_ctx *x, struct lcow_error **err)
{
    int r;
    if ((r = resolve_rootfs(x->opts, &x->rootfs, err)) < 0 || (r = setup_cgroup(x, err)) < 0 ||
        (r = oci_plan_build(x->opts, x->rootfs, x->layout, x->cg, &x->plan, &x->storage, err)) <
            0 ||
        (r = prepare_fds(x, err)) < 0)
        return r;
    int cgroup_fd = x->cg ? oci_cgroup_clone_fd(x->cg) : -1;
    if (cgroup_fd < 0)
        cgroup_fd = plan_child_join(x, err);
    x->child = clone_child(x->plan.clone_flags, cgroup_fd, x->plan.need_fork);
    if (x->child < 0 && x->plan.child_joins_cgroup) {
        /* No CLONE_INTO_CGROUP here: the parent attaches the child as usual. */
        x->plan.child_joins_cgroup = false;
        x->child = clone_child(x->plan.clone_flags, -1, x->plan.need_fork);
    }
    if (x->child < 0)
        return lcow_error_errno(err, "clone container init");
    if (x->child == 0)
        oci_child_main(&x->plan);
    x->sync[1] = lcow_close_nointr(x->sync[1]);
    r = handshake(x, err);
    if (r == -EPIPE)
        describe_death(x->child > 0 ? x->child : x->init, err);
    return r;
}

int oci_container_create(const struct oci_create_opts *opts, struct oci_container **ret,
                         struct lcow_error **err)
{
    if (opts->spec == NULL || opts->id == NULL || *opts->id == '\0')
        return lcow_error_make(err, EINVAL, "create: a spec and an id are required");
    struct create_ctx x = {.opts = opts,
                           .sync = {-1, -1},
                           .console_fd = -1,
                           .fifo_fd = -1,
                           .pty_master = -1,
                           .v2_fd = -1};
    struct oci_container *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return lcow_error_make(err, ENOMEM, "create: out of memory");
    int r = do_create(&x, err);
    if (r < 0) {
        create_ctx_undo(&x);
        create_ctx_done(&x);
        oci_cgroup_layout_free(x.own_layout);
        free(c);
        return lcow_error_wrap(err, "create container `%s`", opts->id);
    }
    c->spec = opts->spec;
    c->id = strdup(opts->id);
    c->bundle = strdup(opts->bundle ? opts->bundle : "");
    c->pid = x.init;
    c->pidfd = sys_pidfd_open(x.init, 0);
    if (c->pidfd >= 0)
        (void)lcow_fd_set_cloexec(c->pidfd, true);
    (void)oci_proc_stat(x.init, &c->start_time, NULL);
    c->sync_fd = take_fd(&x.sync[0]);
    c->pty_master = take_fd(&x.pty_master);
    c->cg = steal_pointer(&x.cg);
    c->own_layout = steal_pointer(&x.own_layout);
    create_ctx_done(&x);
    *ret = c;
    return 0;
}

int oci_container_start(struct oci_container *c, struct lcow_error **err)
{
    struct sync_msg m;
    if (c->started)
        return lcow_error_make(err, EALREADY, "start: container already started");
    if (c->sync_fd < 0)
        return lcow_error_make(err, EINVAL, "start: container waits on its exec fifo");
    int r = sync_send(c->sync_fd, SYNC_START, err);
    if (r < 0)
        return r;
    c->started = true;
    /* EOF: the socket was closed by the exec (CLOEXEC). */
    r = sync_recv(c->sync_fd, &m, NULL, err);
    c->sync_fd = lcow_close_nointr(c->sync_fd);
    if (r < 0)
        return r;
    if (r > 0)
        return lcow_error_make(err, EPROTO, "start: unexpected message %d", m.type);
    /* runc reports "created" to poststart hooks. */
    return oci_container_run_hooks(c, OCI_HOOK_POSTSTART, "created", err);
}

int oci_container_run_hooks(struct oci_container *c, enum oci_hook_kind kind, const char *status,
                            struct lcow_error **err)
{
    if (c->spec == NULL || c->spec->n_hooks[kind] == 0)
        return 0;
    cleanup_free char *state = oci_hook_state_json(
        c->spec, c->id ? c->id : "", status, kind == OCI_HOOK_POSTSTOP ? 0 : c->pid, c->bundle);
    if (state == NULL)
        return lcow_error_make(err, ENOMEM, "hook state: out of memory");
    return oci_hooks_run(c->spec, kind, state, err);
}

pid_t oci_container_pid(const struct oci_container *c)
{
    return c->pid;
}

int oci_container_pidfd(const struct oci_container *c)
{
    return c->pidfd;
}

int oci_container_take_pty_master(struct oci_container *c)
{
    return take_fd(&c->pty_master);
}

const char *oci_container_cgroup_path(const struct oci_container *c)
{
    return c->cg ? oci_cgroup_path(c->cg) : NULL;
}

uint64_t oci_container_start_time(const struct oci_container *c)
{
    return c->start_time;
}

int oci_container_signal(struct oci_container *c, int sig, bool all, struct lcow_error **err)
{
    if (all && c->cg)
        return oci_cgroup_kill_all(c->cg, sig, err);
    if (c->exited)
        return lcow_error_make(err, ESRCH, "signal: container init has exited");
    int r = c->pidfd >= 0 ? sys_pidfd_send_signal(c->pidfd, sig, NULL, 0) : kill(c->pid, sig);
    if (r < 0)
        return lcow_error_errno(err, "signal %d to pid %d", sig, (int)c->pid);
    return 0;
}

enum oci_container_status oci_container_status(const struct oci_container *c)
{
    if (c->exited)
        return OCI_CONTAINER_STOPPED;
    return c->started ? OCI_CONTAINER_RUNNING : OCI_CONTAINER_CREATED;
}

const char *oci_container_status_name(enum oci_container_status st)
{
    static const char *const names[] = {"created", "running", "stopped"};
    return (unsigned)st < LCOW_ARRAY_SIZE(names) ? names[st] : "unknown";
}

void oci_container_exited(struct oci_container *c, int wait_status)
{
    c->exited = true;
    c->status = wait_status;
}

bool oci_container_has_exited(const struct oci_container *c, int *ret_status)
{
    if (c->exited && ret_status)
        *ret_status = c->status;
    return c->exited;
}

static void container_free(struct oci_container *c)
{
    if (c->pidfd >= 0)
        lcow_close_nointr(c->pidfd);
    if (c->sync_fd >= 0)
        lcow_close_nointr(c->sync_fd);
    if (c->pty_master >= 0)
        lcow_close_nointr(c->pty_master);
    oci_cgroup_free(c->cg);
    oci_cgroup_layout_free(c->own_layout);
    free(c->id);
    free(c->bundle);
    free(c);
}

int oci_container_destroy(struct oci_container *c, struct lcow_error **err)
{
    int r = 0;
    if (c == NULL)
        return 0;
    if (!c->exited)
        (void)oci_container_signal(c, SIGKILL, false, NULL);
    if (c->cg)
        r = oci_cgroup_destroy(c->cg, err);
    /* poststop failures are warnings only (runtime-spec): the caller cannot undo a stop. */
    (void)oci_container_run_hooks(c, OCI_HOOK_POSTSTOP, "stopped", NULL);
    container_free(c);
    return r;
}

void oci_container_release(struct oci_container *c)
{
    if (c != NULL)
        container_free(c);
}
