/* ExecuteProcess for containers (§4.4 cases 2 and 3, §1.6, §5.8): the init's start with its
 * stdio relays wired first, exec into a running container (namespaces joined through the init's
 * pidfd, its cgroup, its root, OciProcess with the §4.4 inheritance rules), and the relays:
 * one thread per process, splice where the fds allow it, the half-close handshake on
 * stdout/stderr, and the exit published only once they drained. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "gcs/bridge.h"
#include "gcs/container_internal.h"
#include "gcs/limits.h"
#include "gcs/reaper.h"
#include "oci/cgroup.h"
#include "oci/exec.h"
#include "oci/executor.h"
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
    bool wait_out;  /* src readable, dst full: poll dst alone, or poll keeps waking on src */
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

/* Copy mode's write: dst is non-blocking, and what was read must not be lost on EAGAIN. */
static int write_all_wait(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            (void)poll(&pfd, 1, -1);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Moves what is available from s->src to s->dst; never blocks on src (both ends
 * non-blocking). Sets s->wait_out when a readable src could not move anything: dst is full. */
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
            if (n > 0 && !s->draining && write_all_wait(s->dst, buf, (size_t)n) < 0)
                n = -1;
        }
        if (n == 0) {
            stream_finish(s);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN && rounds == 0 && !s->copy && !s->draining && tee < 0)
                s->wait_out = true;
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

static int start_stdin(struct ct_proc *p, struct stream *s, struct gcs_stdio *host);

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
            if (s->wait_out && !s->draining) {
                pfd[n] = (struct pollfd){.fd = s->dst, .events = POLLOUT};
                idx[n++] = i | 0x100;
                continue;
            }
            /* Not dst's POLLOUT as well: a writable dst would wake poll with nothing to move. */
            pfd[n] = (struct pollfd){.fd = s->src, .events = POLLIN};
            idx[n++] = i;
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
            if (s->done)
                continue;
            if (has_out[i]) {
                /* Waited for room only: the source had data when we stopped. */
                if (!ready_out[i])
                    continue;
                s->wait_out = false;
            } else if (!ready_in[i]) {
                continue;
            }
            stream_pump(s, buf, i > 0 ? r->tee : -1);
            if (i == 0 && s->done)
                continue;
        }
    }
    free(buf);
    if (!r->s[0].done) {
        /* Outputs ended first: stdin goes on by itself until the exit is ready (§1.6). */
        pthread_mutex_lock(&ct_lock);
        int rc = start_stdin(r->p, &r->s[0], &r->host);
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
    struct gcs_stdio held; /* the stdin connection's share of the limit (no fds) */
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
    gcs_stdio_release(&j->held);
    free(j);
    return NULL;
}

/* Hands stdin to its own thread, with its share of host's count (it may outlive the relay);
 * the relay keeps only the outputs. */
static int start_stdin(struct ct_proc *p, struct stream *s, struct gcs_stdio *host)
{
    struct stdin_job *j = malloc(sizeof(*j));
    int shut = fcntl(s->src, F_DUPFD_CLOEXEC, 3);
    if (!j || shut < 0) {
        free(j);
        if (shut >= 0)
            close(shut);
        return -ENOMEM;
    }
    *j = (struct stdin_job){.sock = s->src, .pipe = s->dst, .held = GCS_STDIO_INIT};
    j->held.held = host->held ? 1 : 0;
    host->held -= j->held.held;
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
        host->held += j->held.held;
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
    gcs_stdio_release(&r->host); /* the streams closed the sockets */
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
        int rc = start_stdin(p, &r->s[0], &r->host);
        pthread_mutex_unlock(&ct_lock);
        if (rc < 0)
            stream_close(&r->s[0]);
    }
    if (master < 0 && r->s[0].done && r->s[1].done && r->s[2].done) {
        /* No stream at all: nothing to drain, no thread. */
        if (r->tee >= 0)
            close(r->tee);
        gcs_stdio_release(&r->host);
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
    bool already = c->init_started, dead = c->init->exited;
    if (!dead)
        c->init_started = true;
    pthread_mutex_unlock(&ct_lock);
    if (already)
        return lcow_error_make(err, GCS_ERR_INVALID_STATE, "container `%s` was already started",
                               c->id);
    if (dead) /* killed while created: runc refuses to start a stopped container (E_FAIL) */
        return lcow_error_make(err, ECHILD, "cannot start container `%s`: its init has exited",
                               c->id);
    struct gcs_stdio s = GCS_STDIO_INIT;
    int r = gcs_stdio_dial(&g->stdio_addr, &q->params, &q->relay, &s, err);
    if (r < 0) {
        pthread_mutex_lock(&ct_lock);
        c->init_started = false;
        /* The init may have died while we dialled: no relay will ever mark it drained. */
        if (c->init->exited && !c->init->relays_done) {
            c->init->relays_done = true;
            ct_try_publish(g, c->init);
        }
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

/* stdio for the exec: a pipe per requested stream, /dev/null for the others (never gcs's own
 * fds: its stderr is the log). child[] go to the process, parent[] to the relay. */
struct exec_stdio {
    int child[3];
    int parent[3];
};

static int exec_stdio(const struct gcs_stdio *s, struct exec_stdio *io, struct lcow_error **err)
{
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

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            fds[i] = lcow_close_nointr(fds[i]);
}

/* Starts the process through the executor's setns path (oci/exec.h), then puts it in the table
 * before its exit can be delivered (the reaper parks an exit nobody watches yet). */
static int spawn_exec(struct ct_container *c, const struct oci_process *proc,
                      const struct exec_stdio *io, struct ct_proc **ret, int *ret_master,
                      struct lcow_error **err)
{
    pthread_mutex_lock(&c->oc_lock);
    pid_t init = c->oc ? oci_container_pid(c->oc) : -1;
    uint64_t start_time = c->oc ? oci_container_start_time(c->oc) : 0;
    pthread_mutex_unlock(&c->oc_lock);
    if (init <= 0)
        return lcow_error_make(err, EINVAL, "cannot exec in a stopped container `%s`", c->id);
    struct oci_exec_opts o = {
        .id = c->id,
        .init_pid = init,
        .init_start_time = start_time,
        .rootfs = c->rootfs,
        .spec = c->spec,
        .process = proc,
        .cgroup = c->cg,
        .stdio = {io->child[0], io->child[1], io->child[2]},
    };
    pid_t pid = -1;
    int r = oci_exec(&o, &pid, ret_master, err);
    if (r < 0)
        return r;
    struct ct_proc *p = calloc(1, sizeof(*p));
    if (!p) {
        kill(pid, SIGKILL); /* its exit is parked by the reaper, never delivered */
        if (*ret_master >= 0)
            *ret_master = lcow_close_nointr(*ret_master);
        return lcow_error_make(err, ENOMEM, "track exec process %d", (int)pid);
    }
    *p = (struct ct_proc){.c = c,
                          .pid = pid,
                          .tty = proc->terminal,
                          .master = -1,
                          .hold = {-1, -1, -1},
                          .stdin_shut = -1};
    pthread_mutex_lock(&ct_lock);
    p->next = c->execs;
    c->execs = p;
    pthread_mutex_unlock(&ct_lock);
    ct_watch(ct_gcs(), pid);
    *ret = p;
    return 0;
}

static int run_exec(struct gcs *g, struct ct_container *c,
                    const struct gcs_execute_process_request *q, pid_t *ret,
                    struct lcow_error **err)
{
    pthread_mutex_lock(&ct_lock);
    /* runc execs into a created container too (its init is set up, waiting for start). */
    bool running =
        (c->status == CT_RUNNING || c->status == CT_CREATED) && c->init && !c->init->exited;
    unsigned n_execs = 0; /* live or not yet waited: each holds gcs memory and fds */
    for (const struct ct_proc *e = c->execs; e; e = e->next)
        n_execs++;
    pthread_mutex_unlock(&ct_lock);
    if (!running) /* runc's "cannot exec in a stopped container": E_FAIL */
        return lcow_error_make(err, EINVAL, "cannot exec in a stopped container `%s`", c->id);
    if (n_execs >= GCS_LIMIT_CONTAINER_PROCESSES)
        return lcow_error_make(err, EAGAIN, "container `%s` has %u processes, the limit", c->id,
                               n_execs);
    struct oci_process *proc = NULL;
    int r = exec_process(c, &q->params, &proc, err);
    if (r < 0)
        return r;
    struct gcs_stdio s = GCS_STDIO_INIT;
    struct exec_stdio io = {{-1, -1, -1}, {-1, -1, -1}};
    int master = -1;
    struct ct_proc *p = NULL;
    r = gcs_stdio_dial(&g->stdio_addr, &q->params, &q->relay, &s, err);
    /* No container init may be cloned while the child ends are open here (they would stay
     * in it until its start): the same lock as create. */
    pthread_mutex_lock(&ct_spawn_lock);
    if (r == 0 && !proc->terminal)
        r = exec_stdio(&s, &io, err);
    if (r == 0)
        r = spawn_exec(c, proc, &io, &p, &master, err);
    close_fds(io.child, 3);
    pthread_mutex_unlock(&ct_spawn_lock);
    if (r == 0) {
        if (proc->terminal)
            r = ct_relay_start(g, p, &s, -1, -1, -1, master, NULL);
        else
            r = ct_relay_start(g, p, &s, io.parent[0], io.parent[1], io.parent[2], -1, NULL);
        io = (struct exec_stdio){{-1, -1, -1}, {-1, -1, -1}};
        if (r < 0)
            lcow_error_make(err, -r, "start the stdio relay");
    }
    close_fds(io.parent, 3);
    gcs_stdio_close(&s);
    if (r == 0)
        *ret = p->pid;
    oci_process_free(proc);
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
