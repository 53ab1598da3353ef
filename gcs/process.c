/* External processes (gcs-protocol.md §4.4 case 1): fork/exec in the UVM with the host's
 * sockets as fds 0/1/2 (or a pty relayed to them), a table of live processes, and the
 * WaitForProcess / SignalProcess / ResizeConsole operations on it.
 *
 * The table is shared by workers (which add processes), the loop thread (exits, waits,
 * timeouts) and pty relay threads, under g->proc_lock. An exit is published (waiters answered)
 * once the process was reaped and, for a pty, its relay finished (§1.6); the entry stays until
 * the first waiter received the code, then a later wait gets 0x80070490 (§4.5). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "gcs/bridge.h"
#include "gcs/limits.h"
#include "gcs/container.h"
#include "gcs/reaper.h"
#include "gcs/stdio.h"

#define PROC_MAX         GCS_LIMIT_UVM_PROCESSES /* live external processes (gcs/limits.h) */
#define WAITERS_MAX      256                     /* outstanding WaitForProcess per process */
#define EXIT_CODE_SIGNAL 0xFFFFFFFFu             /* §4.4: killed by a signal, sent as 4294967295 */
#define DEFAULT_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct waiter {
    struct waiter *next;
    struct gcs_req *req;
    uint64_t deadline_ns; /* 0: infinite */
};

struct gcs_proc {
    struct gcs_proc *next;
    pid_t pid;
    bool exited;
    uint32_t exit_code;
    bool tty;
    bool relay_done;
    int master; /* pty master while the relay runs, else -1 */
    struct waiter *waiters;
};

/* What a pty relay thread needs; it owns the sockets. */
struct relay_job {
    struct gcs *g;
    pid_t pid;
    int master;
    struct gcs_stdio stdio;
};

/* ---- table (caller holds proc_lock) ------------------------------------------------------ */

static struct gcs_proc *proc_find(struct gcs *g, pid_t pid)
{
    for (struct gcs_proc *p = g->procs; p; p = p->next)
        if (p->pid == pid)
            return p;
    return NULL;
}

static size_t proc_count(struct gcs *g)
{
    size_t n = 0;
    for (struct gcs_proc *p = g->procs; p; p = p->next)
        n++;
    return n;
}

static void proc_unlink_free(struct gcs *g, struct gcs_proc *victim)
{
    for (struct gcs_proc **pp = &g->procs; *pp; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            break;
        }
    }
    for (struct waiter *w = victim->waiters, *next; w; w = next) {
        next = w->next;
        gcs_req_free(w->req);
        free(w);
    }
    free(victim);
}

/* Answers every waiter once the exit is publishable, then forgets the process. */
static void proc_try_publish(struct gcs *g, struct gcs_proc *p)
{
    if (!p->exited || (p->tty && !p->relay_done) || !p->waiters)
        return;
    for (struct waiter *w = p->waiters; w; w = w->next)
        gcs_reply_exit(g, w->req, p->exit_code);
    proc_unlink_free(g, p);
}

/* ---- exits and relays --------------------------------------------------------------------- */

static void on_exit_status(pid_t pid, int status, void *data)
{
    struct gcs *g = data;
    pthread_mutex_lock(&g->proc_lock);
    struct gcs_proc *p = proc_find(g, pid);
    if (p) {
        p->exited = true;
        p->exit_code = WIFEXITED(status) ? (uint32_t)WEXITSTATUS(status) : EXIT_CODE_SIGNAL;
        lcow_debug("process %d exited: %u", (int)pid, p->exit_code);
        proc_try_publish(g, p);
    }
    pthread_mutex_unlock(&g->proc_lock);
}

static void *relay_main(void *arg)
{
    struct relay_job *j = arg;
    gcs_pty_relay(j->master, &j->stdio);
    pthread_mutex_lock(&j->g->proc_lock);
    struct gcs_proc *p = proc_find(j->g, j->pid);
    /* Closed before the exit is published: once the host has the code, nothing is left open. */
    close(j->master);
    if (p) {
        p->master = -1;
        p->relay_done = true;
        proc_try_publish(j->g, p);
    }
    pthread_mutex_unlock(&j->g->proc_lock);
    free(j);
    return NULL;
}

/* ---- spawning ----------------------------------------------------------------------------- */

/* argv[0] resolved with gcs's own PATH (§4.4), as Go's exec.LookPath does. */
static int resolve_path(const char *file, char **ret, struct lcow_error **err)
{
    if (strchr(file, '/')) {
        if (access(file, X_OK) < 0)
            return lcow_error_errno(err, "exec `%s`", file);
        *ret = strdup(file);
        return *ret ? 0 : -ENOMEM;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = DEFAULT_PATH;
    while (*path) {
        size_t n = strcspn(path, ":");
        cleanup_free char *cand = NULL;
        if (asprintf(&cand, "%.*s/%s", (int)n, n ? path : ".", file) < 0)
            return -ENOMEM;
        if (access(cand, X_OK) == 0) {
            *ret = steal_pointer(&cand);
            return 0;
        }
        path += n + (path[n] == ':');
    }
    return lcow_error_make(err, ENOENT, "exec `%s`: executable file not found in $PATH", file);
}

/* What the child does between fork and exec: only syscalls on data prepared before the fork.
 * A failure is reported as (step, errno) over errfd, then _exit(127). */
struct child_plan {
    const char *path;
    char **argv;
    char **envp;
    const char *cwd;
    int fds[3];
    bool tty;
    const struct rlimit *nofile; /* gcs's own before it raised it (limits.h), or NULL */
    int errfd;
};

static __attribute__((noreturn)) void child_fail(const struct child_plan *c, int step)
{
    int msg[2] = {step, errno};
    (void)!write(c->errfd, msg, sizeof(msg));
    _exit(127);
}

enum child_step { STEP_SETSID = 1, STEP_CTTY, STEP_DUP, STEP_CHDIR, STEP_RLIMIT, STEP_EXEC };

static __attribute__((noreturn)) void child_run(const struct child_plan *c)
{
    sigprocmask(SIG_SETMASK, gcs_reaper_orig_sigmask(), NULL);
    signal(SIGPIPE, SIG_DFL);
    if (c->tty) {
        if (setsid() < 0)
            child_fail(c, STEP_SETSID);
        if (ioctl(c->fds[0], TIOCSCTTY, 0) < 0)
            child_fail(c, STEP_CTTY);
    }
    for (int i = 0; i < 3; i++) {
        if (c->fds[i] == i) {
            if (fcntl(i, F_SETFD, 0) < 0)
                child_fail(c, STEP_DUP);
        } else if (dup2(c->fds[i], i) < 0) {
            child_fail(c, STEP_DUP);
        }
    }
    if (c->cwd && chdir(c->cwd) < 0)
        child_fail(c, STEP_CHDIR);
    if (c->nofile && setrlimit(RLIMIT_NOFILE, c->nofile) < 0)
        child_fail(c, STEP_RLIMIT);
    /* Anything a library opened without CLOEXEC must not leak into the process (C7). */
    (void)sys_close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    execve(c->path, c->argv, c->envp);
    child_fail(c, STEP_EXEC);
}

static int child_error(const struct child_plan *c, const int msg[2], struct lcow_error **err)
{
    static const char *const steps[] = {
        "", "setsid", "set the controlling terminal", "set up stdio", "chdir", "setrlimit", "exec"};
    int step = msg[0] > 0 && msg[0] <= STEP_EXEC ? msg[0] : STEP_EXEC;
    errno = msg[1];
    if (step == STEP_CHDIR)
        return lcow_error_errno(err, "start `%s`: chdir `%s`", c->argv[0], c->cwd);
    return lcow_error_errno(err, "start `%s`: %s", c->argv[0], steps[step]);
}

/* Forks and execs; returns the pid once exec succeeded (the error pipe closed on exec). */
static pid_t spawn(const struct child_plan *plan, struct lcow_error **err)
{
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe2");
    struct child_plan c = *plan;
    c.errfd = ep[1];
    /* vfork: no copy of gcs's page tables, and this worker thread sleeps until the exec (or
     * the failure report) while the rest of gcs keeps serving. The child touches nothing but
     * its own stack, the kernel and errno (C5: data prepared before the fork). */
    pid_t pid = vfork();
    if (pid < 0) {
        int r = lcow_error_errno(err, "vfork");
        close(ep[0]);
        close(ep[1]);
        return r;
    }
    if (pid == 0)
        child_run(&c);
    close(ep[1]);
    int msg[2];
    ssize_t n = lcow_read_exact(ep[0], msg, sizeof(msg));
    close(ep[0]);
    if (n == (ssize_t)sizeof(msg))
        return child_error(&c, msg, err); /* the reaper collects the failed child */
    return pid;
}

static int devnull_fd(struct lcow_error **err)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    return fd >= 0 ? fd : lcow_error_errno(err, "open /dev/null");
}

static int start_relay(struct gcs *g, pid_t pid, int master, struct gcs_stdio *s)
{
    struct relay_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    *j = (struct relay_job){.g = g, .pid = pid, .master = master, .stdio = *s};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int r = pthread_create(&t, &attr, relay_main, j);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        free(j);
        return -r;
    }
    *s = (struct gcs_stdio)GCS_STDIO_INIT; /* the relay owns them now */
    return 0;
}

/* Registers pid (after fork; an early exit is parked by the reaper and delivered here). */
static void register_proc(struct gcs *g, struct gcs_proc *p)
{
    pthread_mutex_lock(&g->proc_lock);
    p->next = g->procs;
    g->procs = p;
    pthread_mutex_unlock(&g->proc_lock);
    if (gcs_reaper_watch(p->pid, on_exit_status, g) < 0)
        lcow_warn("process %d is already watched", (int)p->pid);
}

static int spawn_external(struct gcs *g, const struct gcs_execute_process_request *q,
                          pid_t *ret_pid, struct lcow_error **err)
{
    const struct gcs_process_parameters *pp = &q->params;
    cleanup_strv char **argv = NULL;
    cleanup_free char *path = NULL;
    int r = gcs_process_parameters_argv(pp, &argv, err);
    if (r < 0)
        return r;
    r = resolve_path(argv[0], &path, err);
    if (r < 0)
        return r;
    pthread_mutex_lock(&g->proc_lock);
    size_t live = proc_count(g);
    pthread_mutex_unlock(&g->proc_lock);
    if (live >= PROC_MAX)
        return lcow_error_make(err, EAGAIN,
                               "%zu UVM processes running or not yet waited, the limit is %u", live,
                               PROC_MAX);

    struct gcs_stdio s = GCS_STDIO_INIT;
    r = gcs_stdio_dial(&g->stdio_addr, pp, &q->relay, &s, err);
    if (r < 0)
        return r;
    cleanup_close int master = -1, slave = -1, null = -1;
    static char *empty_env[] = {NULL};
    struct child_plan plan = {
        .path = path,
        .argv = argv,
        .envp = pp->environment ? pp->environment : empty_env,
        .cwd = pp->working_directory[0] ? pp->working_directory : NULL,
        .tty = pp->emulate_console,
        .nofile = g->nofile_orig.rlim_max ? &g->nofile_orig : NULL,
    };
    if (pp->emulate_console) {
        uint16_t rows = pp->has_console_size ? (uint16_t)pp->console_height : 0;
        uint16_t cols = pp->has_console_size ? (uint16_t)pp->console_width : 0;
        r = gcs_pty_open(rows, cols, &master, &slave, err);
        plan.fds[0] = plan.fds[1] = plan.fds[2] = slave;
    } else {
        r = null = devnull_fd(err);
        for (int i = 0; i < 3; i++)
            plan.fds[i] = s.fd[i] >= 0 ? s.fd[i] : null;
    }
    pid_t pid = r < 0 ? r : spawn(&plan, err);
    if (pid < 0) {
        gcs_stdio_close(&s);
        return pid;
    }
    struct gcs_proc *p = calloc(1, sizeof(*p));
    if (!p) {
        /* Cannot track it: stop it rather than leave an unanswerable process behind. */
        kill(pid, SIGKILL);
        gcs_stdio_close(&s);
        return lcow_error_make(err, ENOMEM, "track process %d", (int)pid);
    }
    *p = (struct gcs_proc){.pid = pid, .tty = pp->emulate_console, .master = master};
    /* Registered before the relay starts: a relay that finishes first must find its entry,
     * or the exit would never be published. */
    register_proc(g, p);
    if (pp->emulate_console) { /* not p->tty: p may be gone once registered */
        /* The slave must be closed here, or the master never sees EIO when the process ends. */
        slave = lcow_close_nointr(slave);
        r = start_relay(g, pid, master, &s);
        if (r < 0) {
            kill(pid, SIGKILL);
            pthread_mutex_lock(&g->proc_lock);
            p->relay_done = true;
            p->master = -1;
            proc_try_publish(g, p);
            pthread_mutex_unlock(&g->proc_lock);
        } else {
            master = -1; /* the relay closes it */
        }
    }
    gcs_stdio_close(&s); /* non-tty: the child has its own copies */
    if (r < 0)
        return lcow_error_make(err, -r, "start the console relay of process %d", (int)pid);
    *ret_pid = pid;
    return 0;
}

void gcs_proc_execute(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_execute_process_request q = {0};
    int rc = gcs_decode_execute_process_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        gcs_reply_error(g, r, gcs_hresult_from_decode_error(-rc), e);
        goto out;
    }
    if (gcs_limits_check_exec(&q.params, &e) < 0) {
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        goto out;
    }
    bool external =
        q.params.create_in_utility_vm || strcmp(q.base.container_id, GCS_UVM_CONTAINER_ID) == 0;
    if (!external) {
        gcs_container_execute(g, r, &q); /* replies; r stays ours */
        goto out;
    }
    pid_t pid = 0;
    rc = spawn_external(g, &q, &pid, &e);
    if (rc < 0) {
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        goto out;
    }
    lcow_debug("started external process %d", (int)pid);
    struct gcs_execute_process_response resp = {
        .base.activity_id = (char *)gcs_req_activity_id(r),
        .process_id = (uint32_t)pid,
    };
    char *payload = NULL;
    if (gcs_encode_execute_process_response(&resp, &payload, NULL) < 0) {
        resp.base.activity_id = NULL;
        if (gcs_encode_execute_process_response(&resp, &payload, NULL) < 0)
            goto out;
    }
    gcs_reply(g, r, payload);
out:
    gcs_execute_process_request_done(&q);
    gcs_req_free(r);
}

/* ---- waits, signals, resize ---------------------------------------------------------------- */

static void reply_pid_not_found(struct gcs *g, struct gcs_req *r, uint32_t pid)
{
    cleanup_error struct lcow_error *e = NULL;
    lcow_error_make(&e, GCS_ERR_NOT_FOUND, "process %u not found", pid);
    gcs_reply_error(g, r, 0, e);
}

/* Re-arms timer_fd for the earliest deadline (loop thread; caller holds proc_lock). */
static void rearm_timer(struct gcs *g)
{
    uint64_t min = 0;
    for (struct gcs_proc *p = g->procs; p; p = p->next)
        for (struct waiter *w = p->waiters; w; w = w->next)
            if (w->deadline_ns && (!min || w->deadline_ns < min))
                min = w->deadline_ns;
    if (min == g->armed_deadline_ns)
        return;
    struct itimerspec its = {0};
    if (min) {
        its.it_value.tv_sec = (time_t)(min / 1000000000ull);
        its.it_value.tv_nsec = (long)(min % 1000000000ull);
    }
    if (timerfd_settime(g->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        g->armed_deadline_ns = min;
}

static unsigned count_waiters(const struct gcs_proc *p)
{
    unsigned n = 0;
    for (const struct waiter *w = p->waiters; w; w = w->next)
        n++;
    return n;
}

void gcs_proc_wait(struct gcs *g, struct gcs_req *r, const struct gcs_wait_for_process_request *q)
{
    pthread_mutex_lock(&g->proc_lock);
    struct gcs_proc *p = proc_find(g, (pid_t)q->process_id);
    if (!p || q->process_id == 0 || q->process_id > (uint32_t)INT32_MAX) {
        reply_pid_not_found(g, r, q->process_id);
        gcs_req_free(r);
    } else if (p->exited && (!p->tty || p->relay_done)) {
        gcs_reply_exit(g, r, p->exit_code);
        gcs_req_free(r);
        proc_unlink_free(g, p);
    } else if (q->timeout_in_ms == 0) {
        gcs_reply_error(g, r, GCS_HCS_E_CONNECTION_TIMEOUT, NULL);
        gcs_req_free(r);
    } else if (count_waiters(p) >= WAITERS_MAX) {
        cleanup_error struct lcow_error *e = NULL;
        lcow_error_make(&e, EAGAIN, "too many waits on process %u", q->process_id);
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        gcs_req_free(r);
    } else {
        struct waiter *w = calloc(1, sizeof(*w));
        if (!w) {
            cleanup_error struct lcow_error *e = NULL;
            lcow_error_make(&e, ENOMEM, "WaitForProcess");
            gcs_reply_error(g, r, GCS_E_FAIL, e);
            gcs_req_free(r);
        } else {
            w->req = r;
            if (q->timeout_in_ms != GCS_INFINITE_TIMEOUT)
                w->deadline_ns = lcow_now_ns() + (uint64_t)q->timeout_in_ms * 1000000ull;
            w->next = p->waiters;
            p->waiters = w;
            rearm_timer(g);
        }
    }
    pthread_mutex_unlock(&g->proc_lock);
}

void gcs_proc_timers(struct gcs *g)
{
    uint64_t now = lcow_now_ns();
    pthread_mutex_lock(&g->proc_lock);
    g->armed_deadline_ns = 0; /* it fired */
    for (struct gcs_proc *p = g->procs; p; p = p->next) {
        for (struct waiter **wp = &p->waiters; *wp;) {
            struct waiter *w = *wp;
            if (w->deadline_ns && w->deadline_ns <= now) {
                *wp = w->next;
                gcs_reply_error(g, w->req, GCS_HCS_E_CONNECTION_TIMEOUT, NULL);
                gcs_req_free(w->req);
                free(w);
            } else {
                wp = &w->next;
            }
        }
    }
    rearm_timer(g);
    pthread_mutex_unlock(&g->proc_lock);
}

void gcs_proc_forget_waiters(struct gcs *g, uint64_t gen)
{
    gcs_container_forget_waiters(g, gen);
    pthread_mutex_lock(&g->proc_lock);
    for (struct gcs_proc *p = g->procs; p; p = p->next) {
        for (struct waiter **wp = &p->waiters; *wp;) {
            struct waiter *w = *wp;
            if (w->req->gen <= gen) {
                *wp = w->next;
                gcs_req_free(w->req);
                free(w);
            } else {
                wp = &w->next;
            }
        }
    }
    rearm_timer(g);
    pthread_mutex_unlock(&g->proc_lock);
}

size_t gcs_proc_describe(struct gcs *g, char *buf, size_t cap)
{
    size_t pos = 0;
    pthread_mutex_lock(&g->proc_lock);
    for (struct gcs_proc *p = g->procs; p && pos < cap; p = p->next) {
        unsigned waiters = 0;
        for (struct waiter *w = p->waiters; w; w = w->next)
            waiters++;
        int n = snprintf(buf + pos, cap - pos, "process %d: %s%s, %u waiters\n", (int)p->pid,
                         p->exited ? "exited" : "running", p->tty ? " (console)" : "", waiters);
        if (n > 0)
            pos = pos + (size_t)n < cap ? pos + (size_t)n : cap;
    }
    pthread_mutex_unlock(&g->proc_lock);
    return pos;
}

void gcs_proc_done(struct gcs *g)
{
    pthread_mutex_lock(&g->proc_lock);
    while (g->procs)
        proc_unlink_free(g, g->procs);
    pthread_mutex_unlock(&g->proc_lock);
}
