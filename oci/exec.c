/* The setns path (oci/exec.h): a plan with no rootfs work, run by the executor's own child
 * code, and the parent's half of the handshake (cgroup join is done by the child itself). */
#include "oci/exec.h"

#include <errno.h>
#include <fcntl.h>
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
#include "oci/executor.h"
#include "oci/internal.h"
#include "oci/seccomp_notify.h"

#define EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Everything the plan points to, owned by the parent until the child exec'd. */
struct exec_ctx {
    const struct oci_exec_opts *o;
    struct oci_plan plan;
    int ns_fds[OCI_NS_KIND_MAX];
    char **env;
    char *home_env; /* the HOME= entry added to env, or NULL */
    char *home;
    gid_t *groups;
    struct plan_rlimit *rlimits;
    char *tasks[OCI_CG_CTRL_MAX + 1];
    int v2_fd;
    struct oci_seccomp_program prog;
    bool has_prog;
    int sync[2];
    int console_fd;
    int pidfd;
    pid_t child, pid;
    int pty_master;
};

static int oom(struct lcow_error **err)
{
    return lcow_error_make(err, ENOMEM, "exec: out of memory");
}

/* Opens /proc/PID/ns/<kind> for every namespace of the init that is not the caller's. */
static int open_namespaces(struct exec_ctx *x, struct lcow_error **err)
{
    struct oci_plan *p = &x->plan;
    for (int k = 0; k < OCI_NS_KIND_MAX; k++) {
        char path[64], self[64];
        struct stat theirs, ours;
        p->join_fds[k] = -1;
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)x->o->init_pid, oci_ns_proc_name(k));
        snprintf(self, sizeof(self), "/proc/self/ns/%s", oci_ns_proc_name(k));
        if (stat(self, &ours) < 0)
            continue; /* the kernel lacks this kind: nothing to join */
        if (stat(path, &theirs) < 0)
            return lcow_error_errno(err, "container `%s`: %s namespace of pid %d", x->o->id,
                                    oci_ns_name(k), (int)x->o->init_pid);
        if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
            continue;
        x->ns_fds[k] = open(path, O_RDONLY | O_CLOEXEC);
        if (x->ns_fds[k] < 0)
            return lcow_error_errno(err, "open `%s`", path);
        p->join_fds[k] = x->ns_fds[k];
        if (k == OCI_NS_PID || k == OCI_NS_TIME)
            p->need_fork = true; /* they apply to children only */
    }
    return 0;
}

/* The process's environment plus HOME from the rootfs's passwd when it lacks one (runc). */
static int plan_env(struct exec_ctx *x, struct lcow_error **err)
{
    const struct oci_process *proc = x->o->process;
    struct oci_plan *p = &x->plan;
    size_t n = 0;
    bool has_home = false;
    p->path_env = EXEC_DEFAULT_PATH;
    for (; proc->env && proc->env[n]; n++) {
        if (strncmp(proc->env[n], "PATH=", 5) == 0)
            p->path_env = proc->env[n] + 5;
        has_home |= strncmp(proc->env[n], "HOME=", 5) == 0;
    }
    x->env = calloc(n + 2, sizeof(char *));
    if (x->env == NULL)
        return oom(err);
    for (size_t i = 0; i < n; i++)
        x->env[i] = proc->env[i];
    if (!has_home) {
        if (asprintf(&x->home_env, "HOME=%s", x->home ? x->home : "/") < 0) {
            x->home_env = NULL;
            return oom(err);
        }
        x->env[n] = x->home_env;
    }
    p->envp = x->env;
    return 0;
}

static int plan_user(struct exec_ctx *x, struct lcow_error **err)
{
    const struct oci_process *proc = x->o->process;
    struct oci_plan *p = &x->plan;
    size_t n = 0;
    if (x->o->rootfs) {
        cleanup_close int fd = open(x->o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return lcow_error_errno(err, "open rootfs `%s`", x->o->rootfs);
        int r = oci_user_lookup(fd, proc->user.uid, proc->user.gid, false, &x->home, &x->groups, &n,
                                err);
        if (r < 0)
            return r;
    }
    gid_t *g = realloc(x->groups, (n + proc->user.n_additional_gids + 1) * sizeof(gid_t));
    if (g == NULL)
        return oom(err);
    x->groups = g;
    for (size_t i = 0; i < proc->user.n_additional_gids; i++)
        g[n++] = proc->user.additional_gids[i];
    p->groups = g;
    p->n_groups = n;
    p->set_groups = true;
    p->uid = proc->user.uid;
    p->gid = proc->user.gid;
    return plan_env(x, err);
}

static int read_cap_last(void)
{
    char buf[16] = {0};
    int last = oci_cap_last();
    cleanup_close int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && atoi(buf) > 0 && atoi(buf) < last)
        last = atoi(buf);
    return last;
}

static int plan_process(struct exec_ctx *x, struct lcow_error **err)
{
    const struct oci_process *proc = x->o->process;
    struct oci_plan *p = &x->plan;
    if (proc->apparmor_profile && *proc->apparmor_profile)
        return lcow_error_make(err, EOPNOTSUPP,
                               "process.apparmorProfile: AppArmor is not supported");
    if (proc->selinux_label && *proc->selinux_label)
        return lcow_error_make(err, EOPNOTSUPP, "process.selinuxLabel: SELinux is not supported");
    p->has_process = true;
    p->argv = proc->args;
    p->cwd = proc->cwd && *proc->cwd ? proc->cwd : "/";
    int r = plan_user(x, err);
    if (r < 0)
        return r;
    /* runc's rule, as for create: a process without `capabilities` gets none, never the
     * caller's. */
    p->caps_present = true;
    p->cap_bounding = proc->caps.bounding;
    p->cap_effective = proc->caps.effective;
    p->cap_inheritable = proc->caps.inheritable;
    p->cap_permitted = proc->caps.permitted;
    p->cap_ambient = proc->caps.ambient;
    p->cap_last = read_cap_last();
    x->rlimits = calloc(proc->n_rlimits + 1, sizeof(*x->rlimits));
    if (x->rlimits == NULL)
        return oom(err);
    for (size_t i = 0; i < proc->n_rlimits; i++)
        x->rlimits[i] = (struct plan_rlimit){proc->rlimits[i].resource, proc->rlimits[i].soft,
                                             proc->rlimits[i].hard};
    p->rlimits = x->rlimits;
    p->n_rlimits = proc->n_rlimits;
    p->no_new_privileges = proc->no_new_privileges;
    p->has_umask = proc->user.has_umask;
    p->umask = (mode_t)proc->user.umask;
    p->has_ioprio = proc->has_io_priority;
    p->ioprio = (proc->io_priority_class << 13) | proc->io_priority;
    p->terminal = proc->terminal;
    p->has_console_size = proc->has_console_size;
    p->console_rows = (unsigned short)proc->console_height;
    p->console_cols = (unsigned short)proc->console_width;
    if (x->o->spec && x->o->spec->linux_ && x->o->spec->linux_->has_personality) {
        p->has_personality = true;
        p->personality = x->o->spec->linux_->personality;
    }
    return 0;
}

static int plan_seccomp(struct exec_ctx *x, struct lcow_error **err)
{
    const struct oci_spec *spec = x->o->spec;
    if (spec == NULL || spec->linux_ == NULL || spec->linux_->seccomp == NULL ||
        spec->linux_->seccomp->disabled)
        return 0;
    unsigned o =
        (x->o->flags & OCI_CREATE_SECCOMP_FAIL_UNKNOWN) ? OCI_SECCOMP_FAIL_UNKNOWN_SYSCALL : 0;
    int r = x->o->seccomp_cache_dir
                ? oci_seccomp_compile_cached(spec->linux_->seccomp, o, x->o->seccomp_cache_dir,
                                             &x->prog, err)
                : oci_seccomp_compile(spec->linux_->seccomp, o, &x->prog, err);
    if (r < 0)
        return r;
    x->has_prog = true;
    x->plan.seccomp = &x->prog;
    return 0;
}

/* v1: the child writes "0" to each hierarchy's tasks file, first thing, with the host's view;
 * v2 (unified, or the cgroup2 part of a hybrid host): clone3(CLONE_INTO_CGROUP) with the fd
 * left in x->v2_fd (-1: none). */
static int plan_cgroup(struct exec_ctx *x, struct lcow_error **err)
{
    const struct oci_cgroup *cg = x->o->cgroup;
    size_t n = 0;
    if (cg == NULL)
        return 0;
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        const char *dir = oci_cgroup_dir(cg, c);
        char *path = NULL;
        bool dup = false;
        if (dir == NULL || (oci_cgroup_v2_dir(cg) && strcmp(dir, oci_cgroup_v2_dir(cg)) == 0))
            continue;
        if (asprintf(&path, "%s/tasks", dir) < 0)
            return oom(err);
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(x->tasks[i], path) == 0;
        if (dup || access(path, W_OK) < 0)
            free(path);
        else
            x->tasks[n++] = path;
    }
    x->plan.cgroup_tasks = x->tasks;
    x->plan.child_joins_cgroup = n > 0;
    const char *v2 = oci_cgroup_v2_dir(cg);
    if (v2 && (x->v2_fd = open(v2, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return lcow_error_errno(err, "open cgroup `%s`", v2);
    return 0;
}

/* ---- the handshake ---- */

/* 1: a message, 0: EOF (the child exec'd or died), <0: error (SYNC_ERROR becomes its errno
 * and message). An attached fd goes to *ret_fd. */
static int recv_msg(int fd, struct sync_msg *m, int *ret_fd, struct lcow_error **err)
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
        return lcow_error_errno(err, "exec: read from the new process");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        int got = -1;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        memcpy(&got, CMSG_DATA(c), sizeof(int));
        if (ret_fd && *ret_fd < 0)
            *ret_fd = got;
        else
            close(got);
    }
    if (n == 0)
        return 0;
    if (n != (ssize_t)sizeof(*m))
        return lcow_error_make(err, EPROTO, "exec: short sync message");
    m->msg[OCI_SYNC_MSG_MAX - 1] = '\0';
    if (m->type == SYNC_ERROR)
        return lcow_error_make(err, m->err > 0 ? m->err : EIO, "%s: %s", m->msg,
                               strerror(m->err > 0 ? m->err : EIO));
    return 1;
}

/* linux.seccomp.listenerPath gets the listener with the state (status "running", the new
 * process's pid), then the process goes on. */
static int send_listener(struct exec_ctx *x, int listener, struct lcow_error **err)
{
    const struct oci_seccomp_program *prog = x->plan.seccomp;
    const struct oci_spec *spec = x->o->spec;
    if (prog == NULL || prog->listener_path == NULL || *prog->listener_path == '\0' || !spec)
        return lcow_error_make(err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
    cleanup_free char *state = oci_hook_state_json(spec, x->o->id ? x->o->id : "", "running",
                                                   x->pid, x->o->bundle ? x->o->bundle : "");
    if (state == NULL)
        return lcow_error_make(err, ENOMEM, "seccomp state: out of memory");
    int r = oci_seccomp_notify_send(prog->listener_path, prog->listener_metadata, spec->oci_version,
                                    x->pid, state, listener, err);
    if (r < 0)
        return r;
    struct sync_msg m = {.type = SYNC_SECCOMP_DONE};
    if (LCOW_RETRY_EINTR(send(x->sync[0], &m, sizeof(m), MSG_NOSIGNAL)) < 0)
        return lcow_error_errno(err, "exec: write to the new process");
    return 0;
}

static int handshake(struct exec_ctx *x, struct lcow_error **err)
{
    struct sync_msg m;
    bool have_pid = !x->plan.need_fork, created = false;
    cleanup_close int listener = -1;
    int r;
    x->pid = x->child;
    /* With a pid namespace the helper sends SYNC_PID and exits while the process it forked
     * goes on to SYNC_SECCOMP (a notify filter) and SYNC_CREATED: two writers on one socket,
     * so SYNC_PID may come last. */
    while (!have_pid || !created) {
        int fd = -1;
        r = recv_msg(x->sync[0], &m, &fd, err);
        if (r > 0 && m.type == SYNC_CREATED && !created) {
            created = true;
            x->pty_master = fd;
        } else if (r > 0 && m.type == SYNC_SECCOMP && fd >= 0 && listener < 0) {
            listener = fd;
        } else if (r > 0 && m.type == SYNC_PID && !have_pid) {
            x->pid = m.pid;
            have_pid = true;
        } else {
            if (fd >= 0)
                close(fd);
            if (r < 0)
                return r;
            if (r == 0)
                return lcow_error_make(err, EPIPE, "exec: the new process exited during set-up");
            return lcow_error_make(err, EPROTO, "exec: unexpected sync message %d", m.type);
        }
        if (listener >= 0 && have_pid) {
            if ((r = send_listener(x, listener, err)) < 0)
                return r;
            listener = lcow_close_nointr(listener);
        }
    }
    if (x->plan.need_fork) {
        /* The helper exits at once (exit signal 0: only __WALL sees it). */
        (void)LCOW_RETRY_EINTR(waitpid(x->child, NULL, __WALL));
        x->child = 0;
    }
    m = (struct sync_msg){.type = SYNC_START};
    if (LCOW_RETRY_EINTR(send(x->sync[0], &m, sizeof(m), MSG_NOSIGNAL)) < 0)
        return lcow_error_errno(err, "exec: start the new process");
    /* EOF: the sync socket was closed by the exec (CLOEXEC). */
    r = recv_msg(x->sync[0], &m, NULL, err);
    if (r > 0)
        return lcow_error_make(err, EPROTO, "exec: unexpected sync message %d", m.type);
    return r;
}

static void ctx_done(struct exec_ctx *x)
{
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        if (x->ns_fds[k] >= 0)
            lcow_close_nointr(x->ns_fds[k]);
    free(x->home_env);
    free(x->env);
    free(x->home);
    free(x->groups);
    free(x->rlimits);
    for (size_t i = 0; x->tasks[i]; i++)
        free(x->tasks[i]);
    if (x->has_prog)
        oci_seccomp_program_done(&x->prog);
    int fds[] = {x->v2_fd, x->sync[0], x->sync[1], x->console_fd, x->pidfd, x->pty_master};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fds); i++)
        if (fds[i] >= 0)
            lcow_close_nointr(fds[i]);
}

/* Pins the init with a pidfd, then checks it is still the container's (start time). */
static int pin_init(struct exec_ctx *x, struct lcow_error **err)
{
    uint64_t start = 0;
    x->pidfd = sys_pidfd_open(x->o->init_pid, 0);
    if (x->pidfd >= 0)
        (void)lcow_fd_set_cloexec(x->pidfd, true);
    if (oci_proc_stat(x->o->init_pid, &start, NULL) < 0 ||
        (x->o->init_start_time && start != x->o->init_start_time))
        return lcow_error_make(err, ESRCH, "container `%s` is not running", x->o->id);
    return 0;
}

static pid_t clone_child(struct exec_ctx *x, int cgroup_fd)
{
    bool helper = x->plan.need_fork;
    struct lcow_clone_args args = {.exit_signal = helper ? 0 : SIGCHLD};
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    long pid = sys_clone3(&args);
    if (pid < 0 && (errno == ENOSYS || errno == E2BIG) && cgroup_fd < 0)
        pid = syscall(SYS_clone, helper ? 0 : SIGCHLD, 0, 0, 0, 0);
    return (pid_t)pid;
}

static int do_exec(struct exec_ctx *x, struct lcow_error **err)
{
    const struct oci_exec_opts *o = x->o;
    struct oci_plan *p = &x->plan;
    int r;
    if ((r = pin_init(x, err)) < 0 || (r = open_namespaces(x, err)) < 0 ||
        (r = plan_process(x, err)) < 0 || (r = plan_seccomp(x, err)) < 0 ||
        (r = plan_cgroup(x, err)) < 0)
        return r;
    if (p->terminal && o->console_socket &&
        (x->console_fd = oci_console_connect(o->console_socket, err)) < 0)
        return x->console_fd;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->sync) < 0)
        return lcow_error_errno(err, "socketpair");
    p->sync_fd = x->sync[1];
    p->console_fd = x->console_fd;
    p->fifo_fd = -1;
    p->wait = PLAN_WAIT_SYNC;
    for (int i = 0; i < 3; i++)
        p->stdio[i] = o->stdio[i];
    p->preserve_fds = o->preserve_fds > 0 ? o->preserve_fds : 0;
    x->child = clone_child(x, x->v2_fd);
    bool parent_enters = false;
    if (x->child < 0 && x->v2_fd >= 0 && (errno == ENOSYS || errno == E2BIG)) {
        /* No clone3 (CLONE_INTO_CGROUP): we attach the child to the v2 cgroup ourselves, and it
         * waits for that before it forks or execs anything. */
        p->early_cgroup_wait = parent_enters = true;
        x->child = clone_child(x, -1);
    }
    if (x->child < 0)
        return lcow_error_errno(err, "clone");
    if (x->child == 0)
        oci_child_main(p);
    x->sync[1] = lcow_close_nointr(x->sync[1]);
    if (parent_enters) {
        struct sync_msg m = {.type = SYNC_CGROUP_DONE};
        if ((r = oci_cgroup_enter(o->cgroup, x->child, err)) < 0)
            return r;
        if (LCOW_RETRY_EINTR(send(x->sync[0], &m, sizeof(m), MSG_NOSIGNAL)) < 0)
            return lcow_error_errno(err, "exec: write to the new process");
    }
    return handshake(x, err);
}

int oci_exec(const struct oci_exec_opts *opts, pid_t *ret_pid, int *ret_pty_master,
             struct lcow_error **err)
{
    if (opts->process == NULL || opts->process->args == NULL || opts->process->args[0] == NULL)
        return lcow_error_make(err, EINVAL, "exec: process.args must not be empty");
    if (opts->init_pid <= 0)
        return lcow_error_make(err, EINVAL, "exec: no container init pid");
    struct exec_ctx x = {
        .o = opts, .v2_fd = -1, .sync = {-1, -1}, .console_fd = -1, .pidfd = -1, .pty_master = -1};
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        x.ns_fds[k] = -1;
    memset(&x.plan, 0, sizeof(x.plan));
    int r = do_exec(&x, err);
    if (r < 0) {
        pid_t pids[2] = {x.pid, x.child};
        for (int i = 0; i < 2; i++) {
            if (pids[i] <= 0 || (i == 1 && pids[1] == pids[0]))
                continue;
            kill(pids[i], SIGKILL);
            /* Reaped here only when it is our child; a re-parented one goes to the reaper. */
            (void)LCOW_RETRY_EINTR(waitpid(pids[i], NULL, __WALL | WNOHANG));
        }
        if (x.child > 0)
            (void)LCOW_RETRY_EINTR(waitpid(x.child, NULL, __WALL));
        ctx_done(&x);
        return lcow_error_wrap(err, "exec in container `%s`", opts->id ? opts->id : "");
    }
    *ret_pid = x.pid;
    if (ret_pty_master)
        *ret_pty_master = take_fd(&x.pty_master);
    ctx_done(&x);
    return 0;
}
