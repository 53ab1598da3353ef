/* ExecuteProcess for containers (§4.4 cases 2 and 3, §1.6, §5.8): the init's start with its
 * stdio relays wired first, exec into a running container (namespaces joined through the init's
 * pidfd, its cgroup, its root, OciProcess with the §4.4 inheritance rules), and the relays:
 * one thread per process, splice where the fds allow it, the half-close handshake on
 * stdout/stderr, and the exit published only once they drained. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <grp.h>
#include <linux/capability.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "gcs/bridge.h"
#include "gcs/container_internal.h"
#include "gcs/reaper.h"
#include "oci/cgroup.h"
#include "oci/executor.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

#define RELAY_BUF       16384
#define SPLICE_CHUNK    (1u << 20)
#define STDIO_PIPE_SIZE (1 << 20)

/* ---- relays -------------------------------------------------------------------------------- */

struct stream {
    int src, dst;
    bool to_host;   /* stdout/stderr: half-close handshake at the end */
    bool copy;      /* splice refused (EINVAL): read/write through buf */
    bool draining;  /* the host went away: keep reading so the process never blocks */
    bool handshake; /* waiting for the host to close after our SHUT_WR */
    bool done;
};

struct relay {
    struct gcs *g;
    struct ct_proc *p;
    pid_t pid;
    struct stream s[3]; /* 0 stdin (socket -> pipe), 1 stdout, 2 stderr (pipe -> socket) */
    int master;         /* pty mode when >= 0 */
    struct gcs_stdio host;
    int tee; /* tee-log file or -1 */
};

static void stream_close(struct stream *s)
{
    if (s->src >= 0)
        close(s->src);
    if (s->dst >= 0)
        close(s->dst);
    s->src = s->dst = -1;
    s->done = true;
}

static void stream_finish(struct stream *s)
{
    if (s->to_host && s->dst >= 0 && !s->draining) {
        /* §1.6: shutdown(SHUT_WR), then wait for the host to close its end. */
        (void)shutdown(s->dst, SHUT_WR);
        if (s->src >= 0)
            close(s->src);
        s->src = -1;
        s->handshake = true;
        return;
    }
    stream_close(s);
}

/* Moves what is available from s->src to s->dst; never blocks (both ends non-blocking). */
static void stream_pump(struct stream *s, char *buf, int tee)
{
    if (s->handshake) {
        char b;
        ssize_t n = read(s->dst, &b, 1);
        if (n > 0)
            lcow_debug("unexpected data from the host after the stdio half-close");
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            stream_close(s);
        return;
    }
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n;
        if (!s->copy && !s->draining && tee < 0) {
            n = splice(s->src, NULL, s->dst, NULL, SPLICE_CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            if (n < 0 && errno == EINVAL) {
                s->copy = true; /* a socket family without splice support */
                continue;
            }
        } else {
            n = read(s->src, buf, RELAY_BUF);
            if (n > 0 && tee >= 0)
                (void)!lcow_write_all(tee, buf, (size_t)n);
            if (n > 0 && !s->draining && lcow_write_all(s->dst, buf, (size_t)n) < 0)
                n = -1;
        }
        if (n == 0) {
            stream_finish(s);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            if (s->to_host && !s->draining) {
                /* The host's socket failed: keep draining the pipe so the process goes on. */
                s->draining = true;
                continue;
            }
            stream_close(s);
            return;
        }
    }
}

int ct_stdio_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    /* Best effort: an unprivileged limit (pipe-max-size) just keeps the default. */
    (void)fcntl(fds[1], F_SETPIPE_SZ, STDIO_PIPE_SIZE);
    return 0;
}

static void set_nonblock(int fd)
{
    if (fd >= 0)
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static bool outputs_done(const struct relay *r)
{
    return r->s[1].done && r->s[2].done;
}

static int start_stdin(struct ct_proc *p, struct stream *s);

static void pipe_relay(struct relay *r)
{
    char *buf = malloc(RELAY_BUF);
    for (int i = 0; i < 3; i++) {
        set_nonblock(r->s[i].src);
        set_nonblock(r->s[i].dst);
    }
    while (buf && !outputs_done(r)) {
        struct pollfd pfd[6];
        int idx[6], n = 0;
        for (int i = 0; i < 3; i++) {
            struct stream *s = &r->s[i];
            if (s->done)
                continue;
            if (s->handshake) {
                pfd[n] = (struct pollfd){.fd = s->dst, .events = POLLIN};
                idx[n++] = i;
                continue;
            }
            pfd[n] = (struct pollfd){.fd = s->src, .events = POLLIN};
            idx[n++] = i;
            if (!s->draining) {
                pfd[n] = (struct pollfd){.fd = s->dst, .events = POLLOUT};
                idx[n++] = i | 0x100;
            }
        }
        if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        bool ready_in[3] = {0}, ready_out[3] = {0}, has_out[3] = {0};
        for (int k = 0; k < n; k++) {
            int i = idx[k] & 0xff;
            if (idx[k] & 0x100) {
                has_out[i] = true;
                ready_out[i] = pfd[k].revents != 0;
            } else {
                ready_in[i] = pfd[k].revents != 0;
            }
        }
        for (int i = 0; i < 3; i++) {
            struct stream *s = &r->s[i];
            if (s->done || !ready_in[i])
                continue;
            if (has_out[i] && !ready_out[i])
                continue; /* wait until the destination has room */
            stream_pump(s, buf, i > 0 ? r->tee : -1);
            if (i == 0 && s->done)
                continue;
        }
    }
    free(buf);
    if (!r->s[0].done) {
        /* Outputs ended first: stdin goes on by itself until the exit is ready (§1.6). */
        pthread_mutex_lock(&ct_lock);
        int rc = start_stdin(r->p, &r->s[0]);
        pthread_mutex_unlock(&ct_lock);
        if (rc < 0)
            stream_close(&r->s[0]);
    }
    stream_close(&r->s[1]);
    stream_close(&r->s[2]);
}

/* stdin on its own thread with blocking splices: it runs in parallel with the output relay,
 * and it ends on the host's half-close, on the process closing its stdin, or on the
 * shutdown(SHUT_RD) done once the exit is ready. Touches no shared state. */
struct stdin_job {
    int sock, pipe;
};

static void *stdin_main(void *arg)
{
    struct stdin_job *j = arg;
    bool copy = false;
    char *buf = NULL;
    for (;;) {
        ssize_t n;
        if (!copy) {
            n = splice(j->sock, NULL, j->pipe, NULL, SPLICE_CHUNK, SPLICE_F_MOVE);
            if (n < 0 && errno == EINVAL) {
                copy = true;
                continue;
            }
        } else {
            if (!buf && !(buf = malloc(RELAY_BUF)))
                break;
            n = read(j->sock, buf, RELAY_BUF);
            if (n > 0 && lcow_write_all(j->pipe, buf, (size_t)n) < 0)
                n = -1;
        }
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    free(buf);
    close(j->pipe); /* the process reads EOF */
    close(j->sock);
    free(j);
    return NULL;
}

/* Hands stdin to its own thread; the relay keeps only the outputs. */
static int start_stdin(struct ct_proc *p, struct stream *s)
{
    struct stdin_job *j = malloc(sizeof(*j));
    int shut = fcntl(s->src, F_DUPFD_CLOEXEC, 3);
    if (!j || shut < 0) {
        free(j);
        if (shut >= 0)
            close(shut);
        return -ENOMEM;
    }
    *j = (struct stdin_job){.sock = s->src, .pipe = s->dst};
    /* The poll relay made them non-blocking; this thread blocks in splice. */
    (void)fcntl(j->sock, F_SETFL, fcntl(j->sock, F_GETFL) & ~O_NONBLOCK);
    (void)fcntl(j->pipe, F_SETFL, fcntl(j->pipe, F_GETFL) & ~O_NONBLOCK);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &attr, stdin_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(j);
        close(shut);
        return -rc;
    }
    p->stdin_shut = shut;
    s->src = s->dst = -1;
    s->done = true;
    return 0;
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    if (r->master >= 0)
        gcs_pty_relay(r->master, &r->host);
    else
        pipe_relay(r);
    pthread_mutex_lock(&ct_lock);
    /* c (and p) stay allocated while this relay counts in c->relays, even once deleted. */
    struct ct_container *c = r->p->c;
    r->p->relays_done = true;
    r->p->master = -1;
    if (!c->deleted)
        ct_try_publish(r->g, r->p); /* may free an exec's p */
    bool free_c = --c->relays == 0 && c->deleted;
    pthread_mutex_unlock(&ct_lock);
    if (free_c)
        ct_container_free(c);
    if (r->master >= 0)
        close(r->master);
    if (r->tee >= 0)
        close(r->tee);
    free(r);
    return NULL;
}

int ct_relay_start(struct gcs *g, struct ct_proc *p, struct gcs_stdio *s, int in, int out, int err_,
                   int master, const char *tee_log)
{
    struct relay *r = calloc(1, sizeof(*r));
    if (!r) {
        gcs_stdio_close(s);
        for (int fd, i = 0; i < 4; i++)
            if ((fd = (int[]){in, out, err_, master}[i]) >= 0)
                close(fd);
        return -ENOMEM;
    }
    r->g = g;
    r->p = p;
    r->master = master;
    r->host = *s;
    r->tee = tee_log ? open(tee_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    r->s[0] = (struct stream){.src = s->fd[0], .dst = in};
    r->s[1] = (struct stream){.src = out, .dst = s->fd[1], .to_host = true};
    r->s[2] = (struct stream){.src = err_, .dst = s->fd[2], .to_host = true};
    if (master < 0) {
        for (int i = 0; i < 3; i++) {
            /* A stream with no host socket: the process end was closed by the caller. */
            if (r->s[i].src < 0 || r->s[i].dst < 0)
                stream_close(&r->s[i]);
        }
    }
    *s = (struct gcs_stdio)GCS_STDIO_INIT;
    if (master < 0 && !r->s[0].done && r->s[1].done && r->s[2].done) {
        /* Only stdin: no output relay to run it in. */
        pthread_mutex_lock(&ct_lock);
        int rc = start_stdin(p, &r->s[0]);
        pthread_mutex_unlock(&ct_lock);
        if (rc < 0)
            stream_close(&r->s[0]);
    }
    if (master < 0 && r->s[0].done && r->s[1].done && r->s[2].done) {
        /* No stream at all: nothing to drain, no thread. */
        if (r->tee >= 0)
            close(r->tee);
        free(r);
        pthread_mutex_lock(&ct_lock);
        p->relays_done = true;
        ct_try_publish(g, p);
        pthread_mutex_unlock(&ct_lock);
        return 0;
    }
    pthread_mutex_lock(&ct_lock);
    p->c->relays++;
    if (master >= 0)
        p->master = master;
    pthread_mutex_unlock(&ct_lock);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &attr, relay_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        relay_main(r); /* closes everything and marks the relay done */
        return -rc;
    }
    return 0;
}

/* ---- init start (§4.4 case 2) -------------------------------------------------------------- */

static int start_init(struct gcs *g, struct ct_container *c,
                      const struct gcs_execute_process_request *q, pid_t *ret,
                      struct lcow_error **err)
{
    pthread_mutex_lock(&ct_lock);
    bool already = c->init_started;
    c->init_started = true;
    pthread_mutex_unlock(&ct_lock);
    if (already)
        return lcow_error_make(err, GCS_ERR_INVALID_STATE, "container `%s` was already started",
                               c->id);
    struct gcs_stdio s = GCS_STDIO_INIT;
    int r = gcs_stdio_dial(&g->stdio_addr, &q->params, &q->relay, &s, err);
    if (r < 0) {
        pthread_mutex_lock(&ct_lock);
        c->init_started = false;
        pthread_mutex_unlock(&ct_lock);
        return r;
    }
    struct ct_proc *p = c->init;
    int hold[3];
    pthread_mutex_lock(&ct_lock);
    memcpy(hold, p->hold, sizeof(hold));
    p->hold[0] = p->hold[1] = p->hold[2] = -1;
    pthread_mutex_unlock(&ct_lock);
    if (p->tty) {
        r = ct_relay_start(g, p, &s, -1, -1, -1, hold[1], NULL);
    } else {
        /* Unrequested streams: stdin reads EOF, stdout/stderr get EPIPE (§5.8). */
        for (int i = 0; i < 3; i++) {
            if (s.fd[i] < 0 && hold[i] >= 0)
                hold[i] = lcow_close_nointr(hold[i]);
        }
        r = ct_relay_start(g, p, &s, hold[0], hold[1], hold[2], -1, c->tee_log);
    }
    if (r < 0)
        return lcow_error_make(err, -r, "start the stdio relay of container `%s`", c->id);
    pthread_mutex_lock(&c->oc_lock);
    r = oci_container_start(c->oc, err);
    pthread_mutex_unlock(&c->oc_lock);
    if (r < 0)
        return r;
    pthread_mutex_lock(&ct_lock);
    if (c->status == CT_CREATED)
        c->status = CT_RUNNING;
    pthread_mutex_unlock(&ct_lock);
    *ret = p->pid;
    return 0;
}

/* ---- exec (§4.4 case 3) -------------------------------------------------------------------- */

/* Everything the exec'd child needs, prepared before the fork (C5). */
struct exec_plan {
    int pidfd;    /* the init's, for setns */
    int ns_flags; /* CLONE_NEW* of the namespaces that differ from gcs's */
    int root_fd;  /* /proc/<init>/root */
    int fds[3];   /* stdio for the process */
    bool tty;
    int sync_fd; /* the child reads one byte: it is in its cgroup */
    int err_fd;  /* (step, errno) on failure; CLOEXEC so exec closes it */
    int pid_fd;  /* the middle child writes the final pid here */
    const struct oci_process *proc;
    const struct oci_seccomp_program *seccomp; /* NULL: none */
    gid_t *groups;
    size_t n_groups;
    char **paths; /* candidate executables (args[0] searched in PATH), NULL-terminated */
};

enum exec_step {
    X_SETNS = 1,
    X_CLONE,
    X_SYNC,
    X_ROOT,
    X_CWD,
    X_STDIO,
    X_RLIMIT,
    X_GROUPS,
    X_GID,
    X_UID,
    X_CAPS,
    X_NNP,
    X_SECCOMP,
    X_EXEC
};

static __attribute__((noreturn)) void exec_fail(const struct exec_plan *x, int step)
{
    int msg[2] = {step, errno};
    (void)!write(x->err_fd, msg, sizeof(msg));
    _exit(127);
}

static void apply_caps(const struct exec_plan *x)
{
    const struct oci_caps *c = &x->proc->caps;
    if (!c->present)
        return;
    for (int cap = 0; cap <= 63; cap++) {
        if (!(c->bounding & (1ull << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            exec_fail(x, X_CAPS);
    }
}

static void set_caps_final(const struct exec_plan *x)
{
    const struct oci_caps *c = &x->proc->caps;
    if (!c->present)
        return;
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable},
        {(uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32),
         (uint32_t)(c->inheritable >> 32)}};
    if (syscall(SYS_capset, &h, d) < 0)
        exec_fail(x, X_CAPS);
    for (int cap = 0; cap <= 63; cap++)
        if (c->ambient & (1ull << cap))
            (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/* The process inside the container: runs only syscalls on the plan. */
static __attribute__((noreturn)) void exec_final(const struct exec_plan *x)
{
    char b;
    if (read(x->sync_fd, &b, 1) != 1)
        exec_fail(x, X_SYNC);
    if (fchdir(x->root_fd) < 0 || chroot(".") < 0)
        exec_fail(x, X_ROOT);
    if (chdir(x->proc->cwd) < 0)
        exec_fail(x, X_CWD);
    if (x->tty) {
        if (setsid() < 0 || ioctl(x->fds[0], TIOCSCTTY, 0) < 0)
            exec_fail(x, X_STDIO);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(x->fds[i], i) < 0)
            exec_fail(x, X_STDIO);
    for (size_t i = 0; i < x->proc->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = x->proc->rlimits[i].soft,
                            .rlim_max = x->proc->rlimits[i].hard};
        if (setrlimit(x->proc->rlimits[i].resource, &rl) < 0)
            exec_fail(x, X_RLIMIT);
    }
    apply_caps(x);
    if (x->proc->caps.present)
        (void)prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    /* Without no_new_privs the filter goes in while CAP_SYS_ADMIN is still held (runc). */
    if (x->seccomp && !x->proc->no_new_privileges) {
        int fd = oci_seccomp_load(x->seccomp);
        if (fd < 0) {
            errno = -fd;
            exec_fail(x, X_SECCOMP);
        }
    }
    if (syscall(SYS_setgroups, x->n_groups, x->groups) < 0)
        exec_fail(x, X_GROUPS);
    if (syscall(SYS_setresgid, x->proc->user.gid, x->proc->user.gid, x->proc->user.gid) < 0)
        exec_fail(x, X_GID);
    if (syscall(SYS_setresuid, x->proc->user.uid, x->proc->user.uid, x->proc->user.uid) < 0)
        exec_fail(x, X_UID);
    set_caps_final(x);
    if (x->proc->user.has_umask)
        umask(x->proc->user.umask);
    if (x->proc->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        exec_fail(x, X_NNP);
    if (x->seccomp && x->proc->no_new_privileges) {
        int fd = oci_seccomp_load(x->seccomp);
        if (fd < 0) {
            errno = -fd;
            exec_fail(x, X_SECCOMP);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    (void)sys_close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    int e = ENOENT;
    for (char **p = x->paths; *p; p++) {
        execve(*p, x->proc->args, x->proc->env);
        if (errno != ENOENT)
            e = errno;
    }
    errno = e;
    exec_fail(x, X_EXEC);
}

/* The middle child: joins the namespaces, then clones the final process as gcs's own child
 * (CLONE_PARENT), so gcs's reaper gets its exit; a pid namespace applies to children only. */
static __attribute__((noreturn)) void exec_middle(const struct exec_plan *x)
{
    if (x->ns_flags && setns(x->pidfd, x->ns_flags) < 0)
        exec_fail(x, X_SETNS);
    long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0)
        exec_fail(x, X_CLONE);
    if (pid == 0)
        exec_final(x);
    int v = (int)pid;
    (void)!write(x->pid_fd, &v, sizeof(v));
    _exit(0);
}

/* Namespaces of the init that differ from gcs's own. */
static int ns_flags_of(pid_t pid)
{
    static const struct {
        const char *name;
        int flag;
    } kinds[] = {{"user", CLONE_NEWUSER},    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
                 {"net", CLONE_NEWNET},      {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
                 {"cgroup", CLONE_NEWCGROUP}};
    int flags = 0;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(kinds); i++) {
        char a[64], b[64];
        struct stat sa, sb;
        snprintf(a, sizeof(a), "/proc/self/ns/%s", kinds[i].name);
        snprintf(b, sizeof(b), "/proc/%d/ns/%s", (int)pid, kinds[i].name);
        if (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
            (sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev))
            flags |= kinds[i].flag;
    }
    return flags;
}

/* PATH search in the process's own environment, as runc does with the container's. */
static char **exec_candidates(const struct oci_process *p)
{
    const char *a0 = p->args[0];
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = p->env; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    size_t n = 2;
    for (const char *s = path; *s; s++)
        n += *s == ':';
    char **v = calloc(n + 1, sizeof(*v));
    if (!v)
        return NULL;
    if (strchr(a0, '/')) {
        v[0] = strdup(a0);
        return v[0] ? v : (free(v), NULL);
    }
    size_t k = 0;
    for (const char *s = path;;) {
        size_t len = strcspn(s, ":");
        if (asprintf(&v[k], "%.*s/%s", (int)len, len ? s : ".", a0) < 0) {
            lcow_strv_freep(&v);
            return NULL;
        }
        k++;
        if (!s[len])
            break;
        s += len + 1;
    }
    return v;
}

/* The container's seccomp filter, compiled once (caller holds c->oc_lock). */
static int container_seccomp(struct ct_container *c, const struct oci_seccomp_program **ret,
                             struct lcow_error **err)
{
    *ret = NULL;
    if (!c->spec->linux_ || !c->spec->linux_->seccomp)
        return 0;
    if (!c->seccomp) {
        struct oci_seccomp_program *p = calloc(1, sizeof(*p));
        if (!p)
            return -ENOMEM;
        int r = oci_seccomp_compile(c->spec->linux_->seccomp, 0, p, err);
        if (r < 0) {
            free(p);
            return r;
        }
        c->seccomp = p;
    }
    *ret = c->seccomp;
    return 0;
}

/* OciProcess with rlimits and user inherited from the container (§4.4). */
static int exec_process(struct ct_container *c, const struct gcs_process_parameters *pp,
                        struct oci_process **ret, struct lcow_error **err)
{
    cleanup_json struct json_object *obj = NULL;
    if (json_object_deep_copy(pp->oci_process, &obj, NULL) < 0 || !obj)
        return -ENOMEM;
    if (c->rlimits) {
        struct json_object *rl = NULL;
        if (json_object_deep_copy(c->rlimits, &rl, NULL) < 0)
            return -ENOMEM;
        json_object_object_add(obj, "rlimits", rl);
    } else {
        json_object_object_del(obj, "rlimits");
    }
    struct json_object *user = lcow_json_field(obj, "user");
    const char *name = NULL;
    if (lcow_json_get_string(user, "OciProcess.user", "username", &name, err) < 0)
        return -EINVAL;
    if (name && name[0]) {
        uint32_t uid, gid;
        int r = ct_resolve_user(c->rootfs, name, &uid, &gid, err);
        if (r < 0)
            return r;
        json_object_object_add(user, "uid", json_object_new_int64(uid));
        json_object_object_add(user, "gid", json_object_new_int64(gid));
        json_object_object_del(user, "username");
    } else if (c->has_user_name) {
        if (!user) {
            user = json_object_new_object();
            if (!user)
                return -ENOMEM;
            json_object_object_add(obj, "user", user);
        }
        json_object_object_add(user, "uid", json_object_new_int64(c->uid));
        json_object_object_add(user, "gid", json_object_new_int64(c->gid));
    }
    return oci_process_from_json(obj, "OciProcess", ret, err);
}

static int exec_error(const int msg[2], struct lcow_error **err)
{
    static const char *const steps[] = {"",
                                        "join the namespaces",
                                        "clone",
                                        "wait for the cgroup",
                                        "enter the root",
                                        "chdir",
                                        "set up stdio",
                                        "set rlimits",
                                        "setgroups",
                                        "setgid",
                                        "setuid",
                                        "set capabilities",
                                        "no_new_privs",
                                        "load the seccomp filter",
                                        "exec"};
    int step = msg[0] > 0 && msg[0] <= X_EXEC ? msg[0] : X_EXEC;
    errno = msg[1];
    return lcow_error_errno(err, "exec in container: %s", steps[step]);
}

/* Forks the middle child, learns the final pid, puts it in the cgroup and releases it. */
static int spawn_exec(struct ct_container *c, struct exec_plan *x, struct ct_proc **ret,
                      struct lcow_error **err)
{
    int ep[2] = {-1, -1}, pp[2] = {-1, -1}, sp[2] = {-1, -1};
    int r = 0;
    if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(pp, O_CLOEXEC) < 0 || pipe2(sp, O_CLOEXEC) < 0) {
        r = lcow_error_errno(err, "pipe");
        goto out;
    }
    x->err_fd = ep[1];
    x->pid_fd = pp[1];
    x->sync_fd = sp[0];
    pid_t mid = fork();
    if (mid < 0) {
        r = lcow_error_errno(err, "fork");
        goto out;
    }
    if (mid == 0)
        exec_middle(x);
    ep[1] = lcow_close_nointr(ep[1]);
    pp[1] = lcow_close_nointr(pp[1]);
    sp[0] = lcow_close_nointr(sp[0]);
    int status = 0;
    (void)gcs_reaper_wait(mid, &status);
    int pid = -1;
    if (lcow_read_exact(pp[0], &pid, sizeof(pid)) != (ssize_t)sizeof(pid)) {
        int msg[2];
        r = lcow_read_exact(ep[0], msg, sizeof(msg)) == (ssize_t)sizeof(msg)
                ? exec_error(msg, err)
                : lcow_error_make(err, EIO, "exec in container `%s` failed", c->id);
        goto out;
    }
    /* In the table before the reaper may deliver its exit (parked until watched). */
    struct ct_proc *p = calloc(1, sizeof(*p));
    if (!p) {
        kill(pid, SIGKILL);
        r = -ENOMEM;
        goto out;
    }
    *p = (struct ct_proc){
        .c = c, .pid = pid, .tty = x->tty, .master = -1, .hold = {-1, -1, -1}, .stdin_shut = -1};
    pthread_mutex_lock(&ct_lock);
    p->next = c->execs;
    c->execs = p;
    pthread_mutex_unlock(&ct_lock);
    *ret = p;
    ct_watch(ct_gcs(), pid);
    if (c->cg)
        r = oci_cgroup_enter(c->cg, pid, err);
    if (r == 0 && write(sp[1], "x", 1) != 1)
        r = lcow_error_errno(err, "release the exec process");
    sp[1] = lcow_close_nointr(sp[1]);
    if (r == 0) {
        int msg[2];
        /* The error pipe closes on exec (or reports the failed step). */
        if (lcow_read_exact(ep[0], msg, sizeof(msg)) == (ssize_t)sizeof(msg))
            r = exec_error(msg, err);
    }
    if (r < 0)
        kill(pid, SIGKILL); /* its exit still lands in the table */
out:
    for (int i = 0; i < 2; i++) {
        if (ep[i] >= 0)
            close(ep[i]);
        if (pp[i] >= 0)
            close(pp[i]);
        if (sp[i] >= 0)
            close(sp[i]);
    }
    return r;
}

/* What the parent keeps of the exec's stdio (pipes or a pty master). */
struct exec_stdio {
    int child[3];
    int parent[3];
    int master;
};

static int exec_stdio(const struct oci_process *p, const struct gcs_stdio *s, struct exec_stdio *io,
                      struct lcow_error **err)
{
    *io = (struct exec_stdio){{-1, -1, -1}, {-1, -1, -1}, -1};
    if (p->terminal) {
        int slave = -1;
        int r = gcs_pty_open(p->has_console_size ? (uint16_t)p->console_height : 0,
                             p->has_console_size ? (uint16_t)p->console_width : 0, &io->master,
                             &slave, err);
        if (r < 0)
            return r;
        io->child[0] = slave;
        io->child[1] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
        io->child[2] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        int fds[2];
        if (s->fd[i] < 0) {
            io->child[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (io->child[i] < 0)
                return lcow_error_errno(err, "open /dev/null");
            continue;
        }
        if (ct_stdio_pipe(fds) < 0)
            return lcow_error_errno(err, "pipe");
        io->child[i] = i == 0 ? fds[0] : fds[1];
        io->parent[i] = i == 0 ? fds[1] : fds[0];
    }
    return 0;
}

static void exec_stdio_close(struct exec_stdio *io)
{
    for (int i = 0; i < 3; i++) {
        if (io->child[i] >= 0)
            io->child[i] = lcow_close_nointr(io->child[i]);
        if (io->parent[i] >= 0)
            io->parent[i] = lcow_close_nointr(io->parent[i]);
    }
    if (io->master >= 0)
        io->master = lcow_close_nointr(io->master);
}

static int run_exec(struct gcs *g, struct ct_container *c,
                    const struct gcs_execute_process_request *q, pid_t *ret,
                    struct lcow_error **err)
{
    pthread_mutex_lock(&ct_lock);
    bool running = c->status == CT_RUNNING && c->init && !c->init->exited;
    pthread_mutex_unlock(&ct_lock);
    if (!running) /* runc's "cannot exec in a stopped container": E_FAIL */
        return lcow_error_make(err, EINVAL, "cannot exec in a stopped container `%s`", c->id);
    struct oci_process *proc = NULL;
    int r = exec_process(c, &q->params, &proc, err);
    if (r < 0)
        return r;
    struct gcs_stdio s = GCS_STDIO_INIT;
    struct exec_stdio io;
    struct exec_plan x = {.pidfd = -1, .root_fd = -1, .proc = proc};
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/root", (int)c->init->pid);
    pthread_mutex_lock(&c->oc_lock);
    x.pidfd = c->oc ? fcntl(oci_container_pidfd(c->oc), F_DUPFD_CLOEXEC, 3) : -1;
    r = container_seccomp(c, &x.seccomp, err);
    pthread_mutex_unlock(&c->oc_lock);
    x.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    x.ns_flags = ns_flags_of(c->init->pid);
    x.paths = exec_candidates(proc);
    x.tty = proc->terminal;
    x.groups = proc->user.additional_gids;
    x.n_groups = proc->user.n_additional_gids;
    if (r < 0)
        ; /* the seccomp error */
    else if (x.pidfd < 0 || x.root_fd < 0)
        r = lcow_error_make(err, GCS_ERR_SYSTEM_STOPPED, "container `%s` is not running", c->id);
    else if (!x.paths)
        r = -ENOMEM;
    if (r == 0)
        r = gcs_stdio_dial(&g->stdio_addr, &q->params, &q->relay, &s, err);
    io = (struct exec_stdio){{-1, -1, -1}, {-1, -1, -1}, -1};
    pthread_mutex_lock(&ct_spawn_lock);
    if (r == 0)
        r = exec_stdio(proc, &s, &io, err);
    memcpy(x.fds, io.child, sizeof(x.fds));
    struct ct_proc *p = NULL;
    if (r == 0)
        r = spawn_exec(c, &x, &p, err);
    for (int i = 0; i < 3; i++)
        if (io.child[i] >= 0)
            io.child[i] = lcow_close_nointr(io.child[i]);
    pthread_mutex_unlock(&ct_spawn_lock);
    pid_t pid = p ? p->pid : -1;
    if (r == 0) {
        if (proc->terminal)
            r = ct_relay_start(g, p, &s, -1, -1, -1, io.master, NULL);
        else
            r = ct_relay_start(g, p, &s, io.parent[0], io.parent[1], io.parent[2], -1, NULL);
        io = (struct exec_stdio){{-1, -1, -1}, {-1, -1, -1}, -1};
        if (r < 0)
            lcow_error_make(err, -r, "start the stdio relay");
    } else if (p) {
        pthread_mutex_lock(&ct_lock);
        p->relays_done = true;
        pthread_mutex_unlock(&ct_lock);
    }
    exec_stdio_close(&io);
    gcs_stdio_close(&s);
    if (x.pidfd >= 0)
        close(x.pidfd);
    if (x.root_fd >= 0)
        close(x.root_fd);
    lcow_strv_freep(&x.paths);
    oci_process_free(proc);
    if (r == 0)
        *ret = pid;
    return r;
}

void gcs_container_execute(struct gcs *g, struct gcs_req *r, struct gcs_execute_process_request *q)
{
    cleanup_error struct lcow_error *e = NULL;
    struct ct_container *c = NULL;
    int rc = ct_get_busy(q->base.container_id, &c, &e);
    if (rc < 0) {
        gcs_reply_error(g, r, e->code == EBUSY ? GCS_E_FAIL : 0, e);
        return;
    }
    pid_t pid = -1;
    if (q->params.oci_process)
        rc = run_exec(g, c, q, &pid, &e);
    else
        rc = start_init(g, c, q, &pid, &e);
    ct_put_busy(c);
    if (rc < 0) {
        gcs_reply_error(g, r, e && e->code >= GCS_ERR_BASE ? 0 : GCS_E_FAIL, e);
        return;
    }
    struct gcs_execute_process_response resp = {
        .base.activity_id = (char *)gcs_req_activity_id(r),
        .process_id = (uint32_t)pid,
    };
    char *payload = NULL;
    if (gcs_encode_execute_process_response(&resp, &payload, &e) < 0)
        gcs_reply_error(g, r, GCS_E_FAIL, e);
    else
        gcs_reply(g, r, payload);
}
