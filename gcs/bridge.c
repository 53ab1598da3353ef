/* The bridge event loop (see bridge.h). One thread owns the connection: it reads frames,
 * answers quick requests inline, hands blocking ones to workers, and writes every queued frame
 * with one writer, so frames never interleave (§2.1) and responses leave in completion order. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/bridge.h"
#include "gcs/limits.h"
#include "gcs/reaper.h"
#include "gcs/stdio.h"

#define BRIDGE_REDIAL_NS     (100ull * 1000 * 1000) /* §1.5: retry every 100 ms */
#define BRIDGE_IBUF_SIZE     (64u * 1024)
#define BRIDGE_STOP_FLUSH_NS (2ull * 1000 * 1000 * 1000)
#define BRIDGE_MAX_IOV       32
/* Back-pressure: stop reading requests past these, resume when back under. */
#define BRIDGE_OUT_HIGH  (4u << 20)
#define BRIDGE_JOBS_HIGH 256u

enum loop_tag {
    TAG_CONN = 1, /* the bridge socket, or stdin with -use-inouterr */
    TAG_CONN_W,   /* stdout with -use-inouterr */
    TAG_WAKE,
    TAG_REAPER,
    TAG_TIMER,
    TAG_LISTEN,
    TAG_KMSG,
};

struct gcs_out {
    struct gcs_out *next;
    bool notification;
    uint8_t *buf;
    size_t len;
};

static void out_free(struct gcs_out *o)
{
    if (o) {
        free(o->buf);
        free(o);
    }
}

static int epoll_add(struct gcs *g, int fd, uint32_t events, enum loop_tag tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    return epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void epoll_mod(struct gcs *g, int fd, uint32_t events, enum loop_tag tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    (void)epoll_ctl(g->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void gcs_wake(struct gcs *g)
{
    uint64_t one = 1;
    (void)!write(g->wake_fd, &one, sizeof(one));
}

static void reaper_wake(void *data)
{
    gcs_wake(data);
}

void gcs_req_take_base(struct gcs_req *r, struct gcs_request_base *b)
{
    gcs_request_base_done(&r->base);
    r->base = *b;
    *b = (struct gcs_request_base){0};
    r->peeked = true;
}

const char *gcs_req_activity_id(struct gcs_req *r)
{
    if (!r->peeked) {
        r->peeked = true;
        if (gcs_peek_request_base(r->payload, r->len, &r->base) < 0)
            gcs_request_base_done(&r->base);
    }
    return r->base.activity_id ? r->base.activity_id : "";
}

void gcs_req_free(struct gcs_req *r)
{
    if (!r)
        return;
    free(r->payload);
    gcs_request_base_done(&r->base);
    free(r);
}

/* Appends a frame to the current connection's queue (caller holds out_lock). */
static void out_append(struct gcs *g, struct gcs_out *o)
{
    if (g->out_tail)
        g->out_tail->next = o;
    else
        g->out_head = o;
    g->out_tail = o;
    g->out_bytes += o->len;
    if (g->out_bytes > BRIDGE_OUT_HIGH / 4)
        g->out_was_big = true;
}

static struct gcs_out *out_make(uint32_t type, uint64_t id, const char *payload, size_t len,
                                bool notification, struct lcow_error **err)
{
    struct gcs_out *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    if (gcs_frame_build(type, id, payload, len, GCS_MAX_WRITE_MESSAGE, &o->buf, &o->len, err) < 0) {
        free(o);
        return NULL;
    }
    o->notification = notification;
    return o;
}

void gcs_reply(struct gcs *g, const struct gcs_req *req, char *payload)
{
    cleanup_free char *p = payload;
    cleanup_error struct lcow_error *err = NULL;
    uint32_t type = gcs_response_type(req->type);
    struct gcs_out *o = out_make(type, req->id, p, strlen(p), false, &err);
    if (!o) {
        /* Encoders bound their output, so this is ENOMEM or a handler bug: still answer. */
        lcow_log(LCOW_LOG_ERROR, "reply to request %llu: %s", (unsigned long long)req->id,
                 lcow_error_message(err));
        static const char fallback[] =
            "{\"Result\":-2147467259,\"ErrorMessage\":\"out of memory\"}";
        o = out_make(type, req->id, fallback, sizeof(fallback) - 1, false, NULL);
        if (!o)
            return;
    }
    bool queued = false;
    pthread_mutex_lock(&g->out_lock);
    if (g->connected && g->gen == req->gen) {
        out_append(g, o);
        queued = true;
    }
    pthread_mutex_unlock(&g->out_lock);
    if (!queued) {
        lcow_debug("dropping the reply to request %llu of a closed connection",
                   (unsigned long long)req->id);
        out_free(o);
        return;
    }
    /* The loop flushes after every event batch; other threads must wake it. */
    if (!pthread_equal(pthread_self(), g->loop_thread))
        gcs_wake(g);
}

void gcs_reply_error(struct gcs *g, struct gcs_req *req, int32_t hr, const struct lcow_error *e)
{
    if (hr == 0)
        hr = gcs_hresult_from_errno(e ? e->code : EIO);
    if (hr == 0)
        hr = GCS_E_FAIL;
    const char *msg = e ? e->msg : NULL;
    char *payload = NULL;
    lcow_debug("request %llu failed: 0x%08x: %s", (unsigned long long)req->id, (unsigned)hr,
               msg ? msg : "");
    if (gcs_encode_error_response(hr, gcs_req_activity_id(req), msg, &payload, NULL) < 0 &&
        gcs_encode_error_response(hr, NULL, msg, &payload, NULL) < 0 &&
        gcs_encode_error_response(hr, NULL, NULL, &payload, NULL) < 0)
        return;
    gcs_reply(g, req, payload);
}

void gcs_reply_ok(struct gcs *g, struct gcs_req *req)
{
    struct gcs_response_base b = {.result = 0, .activity_id = (char *)gcs_req_activity_id(req)};
    char *payload = NULL;
    if (gcs_encode_response_base(&b, &payload, NULL) < 0) {
        b.activity_id = NULL; /* an ActivityId too long to echo */
        if (gcs_encode_response_base(&b, &payload, NULL) < 0)
            return;
    }
    gcs_reply(g, req, payload);
}

void gcs_reply_exit(struct gcs *g, struct gcs_req *req, uint32_t code)
{
    struct gcs_wait_for_process_response resp = {
        .base.activity_id = (char *)gcs_req_activity_id(req),
        .exit_code = code,
    };
    char *payload = NULL;
    if (gcs_encode_wait_for_process_response(&resp, &payload, NULL) < 0) {
        resp.base.activity_id = NULL; /* an ActivityId too long to echo: left out, as the bridge */
        if (gcs_encode_wait_for_process_response(&resp, &payload, NULL) < 0) {
            gcs_reply_error(g, req, GCS_E_FAIL, NULL); /* every request gets its one answer */
            return;
        }
    }
    gcs_reply(g, req, payload);
}

int gcs_notify(struct gcs *g, const struct gcs_container_notification *n, struct lcow_error **err)
{
    cleanup_free char *payload = NULL;
    int r = gcs_encode_container_notification(n, &payload, err);
    if (r < 0)
        return r;
    struct gcs_out *o =
        out_make(GCS_MSG_CONTAINER_NOTIFICATION, 0, payload, strlen(payload), true, err);
    if (!o)
        return err && *err ? -(*err)->code : -ENOMEM;
    pthread_mutex_lock(&g->out_lock);
    if (g->connected) {
        out_append(g, o);
    } else {
        if (g->pending_tail)
            g->pending_tail->next = o;
        else
            g->pending_head = o;
        g->pending_tail = o;
    }
    pthread_mutex_unlock(&g->out_lock);
    gcs_wake(g);
    return 0;
}

/* ---- connection ------------------------------------------------------------------------- */

static void conn_flush(struct gcs *g);
static bool overloaded(struct gcs *g);

static void conn_open(struct gcs *g, int rfd, int wfd)
{
    (void)lcow_fd_set_nonblock(rfd, true);
    if (wfd != rfd)
        (void)lcow_fd_set_nonblock(wfd, true);
    if (epoll_add(g, rfd, EPOLLIN, TAG_CONN) < 0)
        lcow_log(LCOW_LOG_ERROR, "epoll_ctl bridge fd: %s", strerror(errno));
    if (wfd != rfd && epoll_add(g, wfd, 0, TAG_CONN_W) < 0)
        lcow_log(LCOW_LOG_ERROR, "epoll_ctl bridge output fd: %s", strerror(errno));
    g->rfd = rfd;
    g->wfd = wfd;
    g->ilen = 0;
    g->negotiated = false; /* §1.5: every connection starts un-negotiated */
    g->want_out = false;
    g->n_connections++;
    pthread_mutex_lock(&g->out_lock);
    g->gen++;
    g->connected = true;
    g->out_off = 0;
    g->paused = false;
    /* Notifications raised while disconnected go first. */
    if (g->pending_head) {
        g->pending_tail->next = g->out_head;
        if (!g->out_head)
            g->out_tail = g->pending_tail;
        g->out_head = g->pending_head;
        for (struct gcs_out *o = g->pending_head; o; o = o->next)
            g->out_bytes += o->len;
        g->pending_head = g->pending_tail = NULL;
    }
    pthread_mutex_unlock(&g->out_lock);
    lcow_info("bridge connected (connection %llu)", (unsigned long long)g->n_connections);
    conn_flush(g); /* queued notifications go out now, not after the next event */
}

static void conn_close(struct gcs *g, const char *why)
{
    if (!g->connected)
        return;
    lcow_info("bridge disconnected: %s", why);
    (void)epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->rfd, NULL);
    if (g->wfd != g->rfd)
        (void)epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->wfd, NULL);
    if (g->opt.use_inouterr) {
        g->stopping = true; /* stdin/stdout cannot be redialled */
    } else {
        close(g->rfd);
        if (g->wfd != g->rfd)
            close(g->wfd);
    }
    g->rfd = g->wfd = -1;
    g->ilen = 0;
    if (g->icap > BRIDGE_IBUF_SIZE) {
        free(g->ibuf);
        g->ibuf = NULL;
        g->icap = 0;
    }
    /* Responses in flight are lost (§1.5); unsent notifications wait for the next connection. */
    pthread_mutex_lock(&g->out_lock);
    g->connected = false;
    struct gcs_out *o = g->out_head;
    g->out_head = g->out_tail = NULL;
    g->out_off = 0;
    g->out_bytes = 0;
    while (o) {
        struct gcs_out *next = o->next;
        o->next = NULL;
        if (o->notification) {
            if (g->pending_tail)
                g->pending_tail->next = o;
            else
                g->pending_head = o;
            g->pending_tail = o;
        } else {
            out_free(o);
        }
        o = next;
    }
    pthread_mutex_unlock(&g->out_lock);
    gcs_proc_forget_waiters(g, g->gen);
    g->next_dial_ns = lcow_now_ns() + BRIDGE_REDIAL_NS;
}

static uint32_t bridge_port(const struct gcs *g)
{
    return g->bridge_addr.has_port ? g->bridge_addr.port : VSOCK_PORT_BRIDGE;
}

static void conn_try_dial(struct gcs *g)
{
    cleanup_error struct lcow_error *err = NULL;
    int fd = vsock_dial(&g->bridge_addr, bridge_port(g), &err);
    if (fd < 0) {
        lcow_trace("dial bridge: %s", lcow_error_message(err));
        g->next_dial_ns = lcow_now_ns() + BRIDGE_REDIAL_NS;
        return;
    }
    conn_open(g, fd, fd);
}

static void conn_accept(struct gcs *g)
{
    cleanup_error struct lcow_error *err = NULL;
    int fd = vsock_accept(g->listen_fd, &err);
    if (fd < 0) {
        lcow_debug("accept bridge: %s", lcow_error_message(err));
        return;
    }
    if (g->connected) {
        /* One host at a time; a second one is refused rather than left hanging. */
        lcow_warn("refusing a second bridge connection");
        close(fd);
        return;
    }
    conn_open(g, fd, fd);
}

/* ---- reading ------------------------------------------------------------------------------ */

static int ibuf_reserve(struct gcs *g, size_t need)
{
    if (need <= g->icap)
        return 0;
    size_t cap = g->icap ? g->icap : BRIDGE_IBUF_SIZE;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(g->ibuf, cap);
    if (!p)
        return -ENOMEM;
    g->ibuf = p;
    g->icap = cap;
    return 0;
}

static int frame_to_request(struct gcs *g, const struct gcs_header *h, const uint8_t *payload)
{
    struct gcs_req *r = calloc(1, sizeof(*r));
    size_t len = gcs_header_payload_len(h);
    char *copy = malloc(len + 1);
    if (!r || !copy) {
        free(r);
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, payload, len);
    copy[len] = '\0';
    r->gen = g->gen;
    r->type = h->type;
    r->id = h->id;
    r->payload = copy;
    r->len = len;
    g->n_requests++;
    gcs_dispatch(g, r);
    return 0;
}

/* Handles every complete frame in ibuf. Negative: a frame-level violation, drop the link. */
static int process_frames(struct gcs *g)
{
    size_t p = 0;
    int r = 0;
    while (g->connected && !g->stopping && g->ilen - p >= GCS_HEADER_SIZE) {
        struct gcs_header h;
        cleanup_error struct lcow_error *err = NULL;
        gcs_header_decode(g->ibuf + p, &h);
        r = gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, &err);
        if (r < 0) {
            lcow_warn("bridge: %s", lcow_error_message(err));
            break;
        }
        if (g->ilen - p < h.size) {
            r = ibuf_reserve(g, h.size);
            break;
        }
        r = frame_to_request(g, &h, g->ibuf + p + GCS_HEADER_SIZE);
        if (r < 0)
            break;
        p += h.size;
    }
    if (p > 0 && g->connected) {
        memmove(g->ibuf, g->ibuf + p, g->ilen - p);
        g->ilen -= p;
    }
    return r;
}

static void conn_read(struct gcs *g)
{
    for (int rounds = 0; g->connected && rounds < 64; rounds++) {
        if (ibuf_reserve(g, g->ilen + 1) < 0) {
            conn_close(g, "out of memory");
            return;
        }
        ssize_t n = read(g->rfd, g->ibuf + g->ilen, g->icap - g->ilen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            conn_close(g, strerror(errno));
            return;
        }
        if (n == 0) {
            conn_close(g, g->ilen ? "EOF inside a message" : "EOF");
            return;
        }
        bool drained = (size_t)n < g->icap - g->ilen; /* level-triggered: no EAGAIN read */
        g->ilen += (size_t)n;
        if (process_frames(g) < 0) {
            conn_close(g, "malformed frame");
            return;
        }
        if (drained || overloaded(g))
            return;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static void update_events(struct gcs *g)
{
    uint32_t in = g->paused ? 0 : EPOLLIN, out = g->want_out ? EPOLLOUT : 0;
    if (g->wfd == g->rfd) {
        epoll_mod(g, g->rfd, in | out, TAG_CONN);
    } else {
        epoll_mod(g, g->rfd, in, TAG_CONN);
        epoll_mod(g, g->wfd, out, TAG_CONN_W);
    }
}

static void set_want_out(struct gcs *g, bool want)
{
    if (g->want_out == want)
        return;
    g->want_out = want;
    update_events(g);
}

static bool overloaded(struct gcs *g)
{
    unsigned threads, busy, queued;
    pthread_mutex_lock(&g->out_lock);
    size_t bytes = g->out_bytes;
    pthread_mutex_unlock(&g->out_lock);
    gcs_workers_stats(g, &threads, &busy, &queued);
    return bytes > BRIDGE_OUT_HIGH || queued > BRIDGE_JOBS_HIGH;
}

/* Pauses or resumes reading requests (loop thread, after every event batch). */
static void throttle(struct gcs *g)
{
    bool pause = overloaded(g);
    if (pause == g->paused)
        return;
    g->paused = pause;
    lcow_debug("bridge reading %s", pause ? "paused: the host is not keeping up" : "resumed");
    update_events(g);
}

static void conn_flush(struct gcs *g)
{
    if (!g->connected)
        return;
    int failed = 0;
    pthread_mutex_lock(&g->out_lock);
    while (g->out_head) {
        struct iovec iov[BRIDGE_MAX_IOV];
        int n_iov = 0;
        size_t off = g->out_off;
        for (struct gcs_out *o = g->out_head; o && n_iov < BRIDGE_MAX_IOV; o = o->next) {
            iov[n_iov].iov_base = o->buf + off;
            iov[n_iov].iov_len = o->len - off;
            n_iov++;
            off = 0;
        }
        ssize_t n = writev(g->wfd, iov, n_iov);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            failed = errno;
            break;
        }
        size_t done = (size_t)n;
        while (g->out_head && done >= g->out_head->len - g->out_off) {
            struct gcs_out *o = g->out_head;
            done -= o->len - g->out_off;
            g->out_off = 0;
            g->out_head = o->next;
            if (!g->out_head)
                g->out_tail = NULL;
            g->out_bytes -= o->len;
            out_free(o);
        }
        g->out_off += done;
    }
    bool pending = g->out_head != NULL;
    bool trim = !pending && g->out_was_big;
    g->out_was_big = g->out_was_big && pending;
    pthread_mutex_unlock(&g->out_lock);
    if (trim)
        malloc_trim(0); /* after a burst, idle gcs goes back to its small footprint */
    if (failed && failed != EAGAIN && failed != EWOULDBLOCK) {
        conn_close(g, strerror(failed));
        return;
    }
    set_want_out(g, pending);
}

static bool out_empty(struct gcs *g)
{
    pthread_mutex_lock(&g->out_lock);
    bool empty = g->out_head == NULL;
    pthread_mutex_unlock(&g->out_lock);
    return empty;
}

/* ---- setup and loop ----------------------------------------------------------------------- */

static int setup_transport(struct gcs *g, struct lcow_error **err)
{
    int r = vsock_addr_parse(g->opt.bridge, &g->bridge_addr, err);
    if (r < 0)
        return lcow_error_wrap(err, "-bridge");
    g->stdio_addr = g->bridge_addr;
    g->stdio_addr.listen = false;
    if (g->stdio_addr.kind == VSOCK_ADDR_VSOCK && g->bridge_addr.listen)
        g->stdio_addr.cid = VSOCK_CID_HOST; /* only the bridge changes direction (§4) */
    if (g->opt.use_inouterr) {
        conn_open(g, STDIN_FILENO, STDOUT_FILENO);
        return 0;
    }
    if (g->bridge_addr.listen) {
        int fd = vsock_listen(&g->bridge_addr, bridge_port(g), 4, err);
        if (fd < 0)
            return lcow_error_wrap(err, "listen for the bridge");
        g->listen_fd = fd;
        if (epoll_add(g, fd, EPOLLIN, TAG_LISTEN) < 0)
            return lcow_error_errno(err, "epoll_ctl");
    }
    return 0;
}

/* Kernel records go to our log (§5.9); a missing /dev/kmsg only costs the forwarding. */
static void setup_kmsg(struct gcs *g)
{
    if (g->opt.kmsg_log_level <= 0)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/kmsg", g->opt.dev_root);
    int max = g->opt.kmsg_log_level > 7 ? 7 : g->opt.kmsg_log_level;
    if (gcs_kmsg_open(&g->kmsg, path, max) < 0) {
        lcow_debug("kmsg forwarding off: open `%s`: %s", path, strerror(errno));
        return;
    }
    if (epoll_add(g, g->kmsg.fd, EPOLLIN, TAG_KMSG) < 0) {
        lcow_debug("kmsg forwarding off: epoll_ctl: %s", strerror(errno));
        g->kmsg.fd = lcow_close_nointr(g->kmsg.fd);
    }
}

static void kmsg_event(struct gcs *g)
{
    if (gcs_kmsg_drain(&g->kmsg) < 0) {
        (void)epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->kmsg.fd, NULL);
        g->kmsg.fd = lcow_close_nointr(g->kmsg.fd);
    }
}

int gcs_init(struct gcs *g, const struct gcs_options *opt, struct lcow_error **err)
{
    *g = (struct gcs){
        .opt = *opt,
        .epfd = -1,
        .wake_fd = -1,
        .reaper_fd = -1,
        .timer_fd = -1,
        .listen_fd = -1,
        .kmsg.fd = -1,
        .rfd = -1,
        .wfd = -1,
    };
    g->loop_thread = pthread_self();
    int nr = gcs_limits_raise_nofile(&g->nofile_orig);
    if (nr < 0) /* not fatal: the limits are then reached sooner, with EMFILE errors */
        lcow_debug("RLIMIT_NOFILE not raised: %s", strerror(-nr));
    pthread_mutex_init(&g->out_lock, NULL);
    pthread_mutex_init(&g->proc_lock, NULL);
    if (opt->max_stdio_connections && gcs_stdio_set_limit(opt->max_stdio_connections, err) < 0)
        return -EINVAL;
    /* Before any thread exists, so that every thread inherits the blocked SIGCHLD. */
    g->reaper_fd = gcs_reaper_init(reaper_wake, g, err);
    if (g->reaper_fd < 0)
        return g->reaper_fd;
    g->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g->epfd < 0)
        return lcow_error_errno(err, "epoll_create1");
    g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (g->wake_fd < 0)
        return lcow_error_errno(err, "eventfd");
    g->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (g->timer_fd < 0)
        return lcow_error_errno(err, "timerfd_create");
    if (epoll_add(g, g->wake_fd, EPOLLIN, TAG_WAKE) < 0 ||
        epoll_add(g, g->reaper_fd, EPOLLIN, TAG_REAPER) < 0 ||
        epoll_add(g, g->timer_fd, EPOLLIN, TAG_TIMER) < 0)
        return lcow_error_errno(err, "epoll_ctl");
    setup_kmsg(g);
    int r = gcs_workers_init(g, opt->workers, err);
    if (r < 0)
        return r;
    return setup_transport(g, err);
}

static void handle_event(struct gcs *g, const struct epoll_event *ev)
{
    uint64_t v;
    switch (ev->data.u64) {
    case TAG_CONN:
        if (ev->events & EPOLLOUT)
            conn_flush(g);
        if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            conn_read(g);
        break;
    case TAG_CONN_W:
        conn_flush(g);
        break;
    case TAG_WAKE:
        (void)!read(g->wake_fd, &v, sizeof(v));
        gcs_reaper_dispatch(); /* parked exits handed over by gcs_reaper_watch */
        break;
    case TAG_REAPER:
        gcs_reaper_dispatch();
        break;
    case TAG_TIMER:
        (void)!read(g->timer_fd, &v, sizeof(v));
        gcs_proc_timers(g);
        break;
    case TAG_LISTEN:
        conn_accept(g);
        break;
    case TAG_KMSG:
        kmsg_event(g);
        break;
    default:
        break;
    }
}

static int loop_timeout_ms(struct gcs *g, uint64_t stop_deadline)
{
    uint64_t now = lcow_now_ns();
    uint64_t until = 0;
    if (g->stopping)
        until = stop_deadline;
    else if (!g->connected && g->listen_fd < 0 && !g->opt.use_inouterr)
        until = g->next_dial_ns;
    else
        return -1;
    return until > now ? (int)((until - now + 999999) / 1000000) : 0;
}

int gcs_run(struct gcs *g)
{
    uint64_t stop_deadline = 0;
    for (;;) {
        if (!g->stopping && !g->connected && g->listen_fd < 0 && !g->opt.use_inouterr &&
            lcow_now_ns() >= g->next_dial_ns)
            conn_try_dial(g);
        if (g->stopping) {
            if (!stop_deadline)
                stop_deadline = lcow_now_ns() + BRIDGE_STOP_FLUSH_NS;
            if (!g->connected || out_empty(g) || lcow_now_ns() >= stop_deadline)
                break;
        }
        struct epoll_event evs[16];
        int n = epoll_wait(g->epfd, evs, 16, loop_timeout_ms(g, stop_deadline));
        if (n < 0 && errno != EINTR) {
            lcow_log(LCOW_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            n = 0;
        }
        for (int i = 0; i < n; i++)
            handle_event(g, &evs[i]);
        if (g->connected)
            conn_flush(g);
        if (g->connected)
            throttle(g);
    }
    lcow_info("bridge stopped");
    return 0;
}

void gcs_done(struct gcs *g)
{
    gcs_workers_done(g);
    if (g->connected && !g->opt.use_inouterr) {
        close(g->rfd);
        if (g->wfd != g->rfd)
            close(g->wfd);
    }
    g->connected = false;
    for (struct gcs_out *o = g->out_head, *next; o; o = next) {
        next = o->next;
        out_free(o);
    }
    for (struct gcs_out *o = g->pending_head, *next; o; o = next) {
        next = o->next;
        out_free(o);
    }
    g->out_head = g->pending_head = NULL;
    gcs_proc_done(g);
    free(g->ibuf);
    g->ibuf = NULL;
    if (g->listen_fd >= 0 && g->bridge_addr.kind == VSOCK_ADDR_UNIX) {
        char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        if (vsock_unix_path(&g->bridge_addr, bridge_port(g), path, sizeof(path)) == 0)
            (void)unlink(path);
    }
    int *fds[] = {&g->epfd, &g->wake_fd, &g->timer_fd, &g->listen_fd, &g->kmsg.fd};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fds); i++)
        if (*fds[i] >= 0)
            *fds[i] = lcow_close_nointr(*fds[i]);
}
