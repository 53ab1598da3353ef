/* Connections of the virtio-vsock device: the host Unix sockets, their epoll interest, the
 * credit bookkeeping and the packets each connection puts into the guest's RX buffers. */
#include "vsock/virtio_vsock_conn.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "vsock/transport.h"

/* Host-initiated connections get local ports from here up (the ephemeral range). */
#define LOCAL_PORT_FIRST 49152u
/* A CONNECT line is short; anything longer is not the hybrid protocol. */
#define CONNECT_LINE_MAX 64

static unsigned hash_of(uint32_t local, uint32_t peer)
{
    return (local * 2654435761u ^ peer * 40503u) % VSOCK_DEV_HASH;
}

struct vsock_conn *vsock_conn_find(struct vsock_dev *dev, uint32_t local_port, uint32_t peer_port)
{
    for (struct vsock_conn *c = dev->hash[hash_of(local_port, peer_port)]; c; c = c->hnext)
        if (c->local_port == local_port && c->peer_port == peer_port)
            return c;
    return NULL;
}

static void hash_insert(struct vsock_conn *c)
{
    struct vsock_conn **b = &c->dev->hash[hash_of(c->local_port, c->peer_port)];
    c->hnext = *b;
    *b = c;
    c->hashed = true;
}

static void hash_remove(struct vsock_conn *c)
{
    if (!c->hashed)
        return;
    for (struct vsock_conn **p = &c->dev->hash[hash_of(c->local_port, c->peer_port)]; *p;
         p = &(*p)->hnext)
        if (*p == c) {
            *p = c->hnext;
            break;
        }
    c->hashed = false;
}

static void list_unlink(struct vsock_conn **head, struct vsock_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void list_push(struct vsock_conn **head, struct vsock_conn *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

/* ---- send list ---- */

static void send_remove(struct vsock_conn *c)
{
    struct vsock_dev *dev = c->dev;
    if (!c->on_send)
        return;
    if (c->sprev)
        c->sprev->snext = c->snext;
    else
        dev->send_head = c->snext;
    if (c->snext)
        c->snext->sprev = c->sprev;
    else
        dev->send_tail = c->sprev;
    c->snext = c->sprev = NULL;
    c->on_send = false;
}

static void send_push_back(struct vsock_conn *c)
{
    struct vsock_dev *dev = c->dev;
    if (c->on_send)
        return;
    c->snext = NULL;
    c->sprev = dev->send_tail;
    if (dev->send_tail)
        dev->send_tail->snext = c;
    else
        dev->send_head = c;
    dev->send_tail = c;
    c->on_send = true;
}

void vsock_conn_send_push_front(struct vsock_conn *c)
{
    struct vsock_dev *dev = c->dev;
    if (c->on_send)
        return;
    c->sprev = NULL;
    c->snext = dev->send_head;
    if (dev->send_head)
        dev->send_head->sprev = c;
    else
        dev->send_tail = c;
    dev->send_head = c;
    c->on_send = true;
}

struct vsock_conn *vsock_conn_send_pop(struct vsock_dev *dev)
{
    struct vsock_conn *c = dev->send_head;
    if (c)
        send_remove(c);
    return c;
}

/* ---- credit and epoll interest ---- */

static uint32_t peer_free(const struct vsock_conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt; /* wraps like the spec's counters */
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool may_read_host(const struct vsock_conn *c)
{
    return c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof && !c->guest_shut_rcv &&
           peer_free(c) > 0;
}

bool vsock_conn_has_work(const struct vsock_conn *c)
{
    if (c->state == VSOCK_CONN_FREED)
        return false;
    return c->ops != 0 || (c->want_read && may_read_host(c));
}

static uint32_t wanted_events(const struct vsock_conn *c)
{
    switch (c->state) {
    case VSOCK_CONN_HANDSHAKE:
        return EPOLLIN;
    case VSOCK_CONN_ESTABLISHED:
        return (c->buf_len ? EPOLLOUT : 0) | (!c->want_read && may_read_host(c) ? EPOLLIN : 0);
    case VSOCK_CONN_DRAINING:
        return c->buf_len ? EPOLLOUT : 0;
    case VSOCK_CONN_CONNECTING:
    case VSOCK_CONN_RETRY:
    case VSOCK_CONN_RESET:
    case VSOCK_CONN_FREED:
    default:
        return 0;
    }
}

/* Keeps the fd in the epoll set only while we want something: a hung-up socket reports
 * EPOLLHUP whatever we ask for, so an idle registration would spin the loop. */
static void update_epoll(struct vsock_conn *c)
{
    if (c->fd < 0)
        return;
    uint32_t ev = wanted_events(c);
    if (ev == c->epoll_events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = &c->watch};
    int op = ev == 0 ? EPOLL_CTL_DEL : c->epoll_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(c->dev->epfd, op, c->fd, &e) < 0) {
        lcow_debug("vhost-user-vsock: epoll_ctl on port %u: %m", c->local_port);
        return;
    }
    c->epoll_events = ev;
}

static void close_host(struct vsock_conn *c)
{
    if (c->fd < 0)
        return;
    if (c->epoll_events)
        (void)epoll_ctl(c->dev->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->epoll_events = 0;
    c->fd = lcow_close_nointr(c->fd);
    free(c->buf);
    c->buf = NULL;
    c->buf_len = c->buf_head = 0;
}

void vsock_conn_changed(struct vsock_conn *c)
{
    if (c->state == VSOCK_CONN_FREED)
        return;
    if ((c->state == VSOCK_CONN_RESET || c->state == VSOCK_CONN_DRAINING) && c->ops == 0 &&
        c->buf_len == 0) {
        vsock_conn_free(c);
        return;
    }
    update_epoll(c);
    if (vsock_conn_has_work(c))
        send_push_back(c);
}

void vsock_conn_want_op(struct vsock_conn *c, unsigned op)
{
    c->ops |= op;
}

void vsock_conn_peer_credit(struct vsock_conn *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
    c->peer_buf_alloc = buf_alloc;
    c->peer_fwd_cnt = fwd_cnt;
}

/* Tells the guest about freed room once its own view of our buffer is half full (it learns
 * our fwd_cnt from every packet we send): fewer packets than one update per packet. Anything
 * consumed but not announced is announced by the idle flush (vsock_dev_flush_calls), so a
 * sender blocked short of that mark is never left waiting. */
static void maybe_credit_update(struct vsock_conn *c)
{
    uint32_t guest_view_in_flight = c->fwd_cnt + c->buf_len - c->last_fwd_sent;
    /* Linux keeps no more in flight than its own buffer (its buf_alloc), so measure "half
     * full" against the smaller of the two windows. */
    uint32_t window = VSOCK_DEV_BUF_ALLOC;
    if (c->peer_buf_alloc && c->peer_buf_alloc < window)
        window = c->peer_buf_alloc;
    if (c->state != VSOCK_CONN_ESTABLISHED || c->fwd_cnt == c->last_fwd_sent)
        return;
    if (guest_view_in_flight > window / 2) {
        c->ops |= VSOCK_CONN_OP_CREDIT_UPDATE;
        return;
    }
    /* A guest may stop short of half our window (its own limit): the idle flush tells it. */
    vsock_dev_defer(c->dev);
    c->dev->credit_owed = true;
}

void vsock_dev_announce_credit(struct vsock_dev *dev)
{
    dev->credit_owed = false;
    for (struct vsock_conn *c = dev->conns; c; c = c->next)
        if (c->state == VSOCK_CONN_ESTABLISHED && c->fwd_cnt != c->last_fwd_sent) {
            c->ops |= VSOCK_CONN_OP_CREDIT_UPDATE;
            vsock_conn_changed(c);
        }
}

/* ---- creation and teardown ---- */

static void conn_event(struct vsock_watch *w, uint32_t events);

static struct vsock_conn *conn_new(struct vsock_dev *dev, int fd, enum vsock_conn_state state)
{
    struct vsock_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->watch.handle = conn_event;
    c->dev = dev;
    c->fd = fd;
    c->state = state;
    list_push(&dev->conns, c);
    dev->nconns++;
    return c;
}

void vsock_conn_free(struct vsock_conn *c)
{
    if (c->state == VSOCK_CONN_FREED)
        return;
    struct vsock_dev *dev = c->dev;
    close_host(c);
    hash_remove(c);
    send_remove(c);
    list_unlink(&dev->conns, c);
    list_push(&dev->graveyard, c);
    c->state = VSOCK_CONN_FREED;
    c->ops = 0;
    dev->nconns--;
}

void vsock_conn_abort(struct vsock_conn *c)
{
    switch (c->state) {
    case VSOCK_CONN_HANDSHAKE:
        vsock_conn_free(c);
        return;
    case VSOCK_CONN_CONNECTING:
        if (c->ops & VSOCK_CONN_OP_REQUEST) { /* the guest never heard of it */
            vsock_conn_free(c);
            return;
        }
        break;
    case VSOCK_CONN_RETRY: /* the guest waits for an answer: RST it */
    case VSOCK_CONN_ESTABLISHED:
    case VSOCK_CONN_DRAINING:
        break;
    case VSOCK_CONN_RESET:
    case VSOCK_CONN_FREED:
    default:
        return;
    }
    close_host(c);
    hash_remove(c);
    c->state = VSOCK_CONN_RESET;
    c->ops = VSOCK_CONN_OP_RST;
    vsock_conn_changed(c);
}

void vsock_dev_reap(struct vsock_dev *dev)
{
    while (dev->graveyard) {
        struct vsock_conn *c = dev->graveyard;
        list_unlink(&dev->graveyard, c);
        free(c);
    }
}

void vsock_dev_reset(struct vsock_dev *dev)
{
    while (dev->conns)
        vsock_conn_free(dev->conns);
    dev->npending = 0;
}

/* ---- guest -> host data ---- */

static ssize_t send_iov(int fd, struct iovec *iov, unsigned n)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
    /* MSG_NOSIGNAL: a host peer that went away is an error return, not SIGPIPE */
    return LCOW_RETRY_EINTR(sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT));
}

/* Writes what the buffer holds. 0, or -errno when the host socket failed (c is reset). */
static int flush(struct vsock_conn *c)
{
    while (c->buf_len) {
        struct iovec iov[2];
        uint32_t first = VSOCK_DEV_BUF_ALLOC - c->buf_head;
        if (first > c->buf_len)
            first = c->buf_len;
        iov[0] = (struct iovec){c->buf + c->buf_head, first};
        iov[1] = (struct iovec){c->buf, c->buf_len - first};
        ssize_t n = send_iov(c->fd, iov, c->buf_len > first ? 2 : 1);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            int e = n < 0 ? errno : EPIPE;
            vsock_conn_abort(c);
            return -e;
        }
        c->buf_head = (c->buf_head + (uint32_t)n) % VSOCK_DEV_BUF_ALLOC;
        c->buf_len -= (uint32_t)n;
        c->fwd_cnt += (uint32_t)n;
    }
    if (c->buf_len == 0 && c->guest_shut_send && !c->host_wr_shut && c->fd >= 0) {
        (void)shutdown(c->fd, SHUT_WR); /* the guest's half-close reaches the host */
        c->host_wr_shut = true;
    }
    maybe_credit_update(c);
    return 0;
}

int vsock_conn_guest_data(struct vsock_conn *c, const struct vsock_vring_seg *segs, unsigned n,
                          size_t off, uint32_t len)
{
    if (c->buf_len + len > VSOCK_DEV_BUF_ALLOC) {
        /* the guest sent past the credit we gave it */
        vsock_conn_abort(c);
        return -EPROTO;
    }
    uint32_t done = 0;
    if (c->buf_len == 0) {
        struct iovec iov[VSOCK_VRING_MAX_CHAIN];
        unsigned k = vsock_vring_iov(segs, n, off, len, iov, VSOCK_VRING_MAX_CHAIN);
        ssize_t w = send_iov(c->fd, iov, k);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            vsock_conn_abort(c);
            return 0; /* the host's doing, not a guest error */
        }
        done = w > 0 ? (uint32_t)w : 0;
        c->fwd_cnt += done;
    }
    if (done < len) {
        if (c->buf == NULL && (c->buf = malloc(VSOCK_DEV_BUF_ALLOC)) == NULL) {
            vsock_conn_abort(c);
            return 0;
        }
        /* append to the ring in at most two pieces */
        uint32_t rest = len - done;
        uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_DEV_BUF_ALLOC;
        uint32_t first = VSOCK_DEV_BUF_ALLOC - tail < rest ? VSOCK_DEV_BUF_ALLOC - tail : rest;
        vsock_vring_copy_from(c->buf + tail, segs, n, off + done, first);
        vsock_vring_copy_from(c->buf, segs, n, off + done + first, rest - first);
        c->buf_len += rest;
    }
    maybe_credit_update(c);
    return 0;
}

void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
    if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
        c->guest_shut_rcv = true;
    if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
        c->guest_shut_send = true;
    if (c->guest_shut_rcv && c->guest_shut_send) {
        /* The guest closed its socket: answer RST (it waits for one), and still hand what we
         * hold to the host before closing, as an orderly close promises. */
        hash_remove(c);
        c->ops = VSOCK_CONN_OP_RST;
        c->want_read = false;
        if (c->buf_len == 0) {
            close_host(c);
            c->state = VSOCK_CONN_RESET;
        } else {
            c->state = VSOCK_CONN_DRAINING;
        }
        return;
    }
    if (c->guest_shut_send)
        (void)flush(c);
}

/* ---- packets to the guest ---- */

static void fill_hdr(const struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = htole64(VMADDR_CID_HOST);
    h->dst_cid = htole64(c->dev->guest_cid);
    h->src_port = htole32(c->local_port);
    h->dst_port = htole32(c->peer_port);
    h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
    h->op = htole16(op);
    h->buf_alloc = htole32(VSOCK_DEV_BUF_ALLOC);
    h->fwd_cnt = htole32(c->fwd_cnt);
}

static int put(struct vsock_conn *c, const struct vsock_vring_chain *chain,
               struct virtio_vsock_hdr *h, uint32_t len)
{
    h->len = htole32(len);
    c->last_fwd_sent = c->fwd_cnt; /* every packet carries our credit */
    c->ops &= ~(unsigned)VSOCK_CONN_OP_CREDIT_UPDATE;
    vsock_dev_put_rx(c->dev, chain, h, len);
    return 1;
}

/* Reads host data straight into the guest's buffer. 1 when the chain was used. */
static int read_host(struct vsock_conn *c, const struct vsock_vring_chain *chain)
{
    struct virtio_vsock_hdr h;
    uint64_t cap = chain->in_len - VSOCK_DEV_HDR_SIZE;
    if (cap > VSOCK_DEV_MAX_PKT)
        cap = VSOCK_DEV_MAX_PKT;
    if (cap > peer_free(c))
        cap = peer_free(c);
    struct iovec iov[VSOCK_VRING_MAX_CHAIN];
    unsigned k = vsock_vring_iov(chain->in, chain->n_in, VSOCK_DEV_HDR_SIZE, cap, iov,
                                 VSOCK_VRING_MAX_CHAIN);
    ssize_t n = k ? LCOW_RETRY_EINTR(readv(c->fd, iov, (int)k)) : -1;
    if (k == 0)
        errno = EAGAIN;
    if (n > 0) {
        fill_hdr(c, &h, VIRTIO_VSOCK_OP_RW);
        c->tx_cnt += (uint32_t)n;
        /* a short read means the socket is empty for now: skip the EAGAIN read; epoll (level
         * triggered, still armed) reports anything that comes later */
        if ((uint64_t)n < cap)
            c->want_read = false;
        return put(c, chain, &h, (uint32_t)n);
    }
    if (n == 0) {
        /* host EOF: the guest may still send unless it already stopped */
        c->host_eof = true;
        c->want_read = false;
        fill_hdr(c, &h, VIRTIO_VSOCK_OP_SHUTDOWN);
        h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND |
                          (c->guest_shut_send ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0));
        return put(c, chain, &h, 0);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->want_read = false;
        return 0;
    }
    /* host socket error: reset, using this buffer for the RST */
    close_host(c);
    hash_remove(c);
    c->state = VSOCK_CONN_RESET;
    c->ops = 0;
    fill_hdr(c, &h, VIRTIO_VSOCK_OP_RST);
    return put(c, chain, &h, 0);
}

static const struct {
    unsigned bit;
    uint16_t op;
} control_order[] = {
    {VSOCK_CONN_OP_RST, VIRTIO_VSOCK_OP_RST},
    {VSOCK_CONN_OP_REQUEST, VIRTIO_VSOCK_OP_REQUEST},
    {VSOCK_CONN_OP_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE},
};

int vsock_conn_fill_rx(struct vsock_conn *c, const struct vsock_vring_chain *chain)
{
    struct virtio_vsock_hdr h;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(control_order); i++) {
        if (!(c->ops & control_order[i].bit))
            continue;
        c->ops &= ~control_order[i].bit;
        fill_hdr(c, &h, control_order[i].op);
        return put(c, chain, &h, 0);
    }
    if (c->want_read && may_read_host(c) && read_host(c, chain))
        return 1;
    if (c->ops & VSOCK_CONN_OP_CREDIT_UPDATE) {
        fill_hdr(c, &h, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
        return put(c, chain, &h, 0);
    }
    return 0;
}

/* ---- connection set-up ---- */

static int connect_host(const struct vsock_dev *dev, int fd, uint32_t port)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int k = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", dev->uds, port);
    if (k < 0 || (size_t)k >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    /* A Unix connect never completes later: it succeeds, or fails at once (no listener:
     * RST; EAGAIN when the listener's backlog is full: retried, see RETRY). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        lcow_debug("vhost-user-vsock: connect `%s`: %s", sa.sun_path, strerror(e));
        return -e;
    }
    return 0;
}

int vsock_conn_guest_connect(struct vsock_dev *dev, const struct virtio_vsock_hdr *h)
{
    uint32_t port = le32toh(h->dst_port);
    if (dev->nconns >= VSOCK_DEV_MAX_CONNS)
        return -EMFILE;
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int r = connect_host(dev, fd, port);
    if (r < 0 && r != -EAGAIN)
        return r;
    struct vsock_conn *c = conn_new(dev, fd, r == 0 ? VSOCK_CONN_ESTABLISHED : VSOCK_CONN_RETRY);
    if (c == NULL)
        return -ENOMEM;
    fd = -1; /* c owns it */
    c->local_port = port;
    c->peer_port = le32toh(h->src_port);
    vsock_conn_peer_credit(c, le32toh(h->buf_alloc), le32toh(h->fwd_cnt));
    hash_insert(c);
    if (r == 0) {
        c->ops |= VSOCK_CONN_OP_RESPONSE;
    } else {
        c->retry_since_ns = lcow_now_ns();
        dev->retrying = true;
        vsock_dev_defer(dev);
    }
    vsock_conn_changed(c);
    return 0;
}

void vsock_dev_retry_connects(struct vsock_dev *dev)
{
    bool again = false;
    unsigned long long now = lcow_now_ns();
    struct vsock_conn *next;
    for (struct vsock_conn *c = dev->conns; c; c = next) {
        next = c->next;
        if (c->state != VSOCK_CONN_RETRY)
            continue;
        int r = connect_host(dev, c->fd, c->local_port);
        if (r == 0) {
            c->state = VSOCK_CONN_ESTABLISHED;
            c->ops |= VSOCK_CONN_OP_RESPONSE;
        } else if (r == -EAGAIN && now - c->retry_since_ns < VSOCK_CONN_RETRY_NS) {
            again = true;
            continue;
        } else {
            close_host(c);
            hash_remove(c);
            c->state = VSOCK_CONN_RESET;
            c->ops = VSOCK_CONN_OP_RST;
        }
        vsock_conn_changed(c);
    }
    dev->retrying = again;
    if (again)
        vsock_dev_defer(dev);
}

void vsock_conn_accepted(struct vsock_conn *c)
{
    char line[32];
    int k = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
    /* a fresh socket's send buffer is empty, so this write is whole or the host is gone */
    if (send(c->fd, line, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT) != k) {
        vsock_conn_abort(c);
        return;
    }
    c->state = VSOCK_CONN_ESTABLISHED;
}

static uint32_t alloc_local_port(struct vsock_dev *dev, uint32_t peer_port)
{
    for (unsigned tries = 0; tries < 65536; tries++) {
        uint32_t p = dev->next_local_port++;
        if (dev->next_local_port < LOCAL_PORT_FIRST)
            dev->next_local_port = LOCAL_PORT_FIRST;
        if (!vsock_conn_find(dev, p, peer_port))
            return p;
    }
    return 0;
}

/* "CONNECT <port>\n" from a host client; it stays in the socket until a whole line came. */
static void read_connect_line(struct vsock_conn *c)
{
    char line[CONNECT_LINE_MAX + 1];
    ssize_t n = LCOW_RETRY_EINTR(recv(c->fd, line, CONNECT_LINE_MAX, MSG_PEEK | MSG_DONTWAIT));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        vsock_conn_free(c);
        return;
    }
    char *nl = memchr(line, '\n', (size_t)n);
    if (nl == NULL) {
        if (n == CONNECT_LINE_MAX)
            vsock_conn_free(c); /* not our protocol */
        return;
    }
    size_t len = (size_t)(nl - line) + 1;
    if (LCOW_RETRY_EINTR(recv(c->fd, line, len, MSG_DONTWAIT)) != (ssize_t)len) {
        vsock_conn_free(c);
        return;
    }
    line[len - 1] = '\0';
    if (len >= 2 && line[len - 2] == '\r')
        line[len - 2] = '\0';
    uint32_t port;
    if (strncmp(line, "CONNECT ", 8) != 0 || vsock_port_parse(line + 8, &port) < 0) {
        lcow_debug("vhost-user-vsock: bad handshake line from a host client");
        vsock_conn_free(c);
        return;
    }
    uint32_t local = alloc_local_port(c->dev, port);
    if (local == 0) {
        vsock_conn_free(c);
        return;
    }
    c->local_port = local;
    c->peer_port = port;
    c->peer_buf_alloc = 0; /* no credit until the guest's RESPONSE says how much */
    hash_insert(c);
    c->state = VSOCK_CONN_CONNECTING;
    c->ops |= VSOCK_CONN_OP_REQUEST;
}

static void conn_event(struct vsock_watch *w, uint32_t events)
{
    struct vsock_conn *c = (struct vsock_conn *)w;
    struct vsock_dev *dev = c->dev;
    switch (c->state) {
    case VSOCK_CONN_HANDSHAKE:
        read_connect_line(c);
        break;
    case VSOCK_CONN_ESTABLISHED:
    case VSOCK_CONN_DRAINING:
        if ((c->epoll_events & EPOLLOUT) && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            (void)flush(c);
        if (c->state == VSOCK_CONN_ESTABLISHED && (c->epoll_events & EPOLLIN) &&
            (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            c->want_read = true;
        break;
    case VSOCK_CONN_CONNECTING:
    case VSOCK_CONN_RETRY:
    case VSOCK_CONN_RESET:
    case VSOCK_CONN_FREED:
    default:
        return;
    }
    /* Serve first, fix the epoll interest after: when RX buffers are at hand the data goes
     * out now and EPOLLIN never has to be switched off and on again. */
    if (vsock_conn_has_work(c))
        send_push_back(c);
    vsock_dev_pump(dev);
    vsock_conn_changed(c);
}

static void listen_event(struct vsock_watch *w, uint32_t events)
{
    struct vsock_dev *dev =
        (struct vsock_dev *)((char *)w - offsetof(struct vsock_dev, listen_watch));
    for (int i = 0; i < 16; i++) {
        int fd = accept4(dev->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        struct vsock_conn *c =
            dev->nconns < VSOCK_DEV_MAX_CONNS ? conn_new(dev, fd, VSOCK_CONN_HANDSHAKE) : NULL;
        if (c == NULL) {
            lcow_close_nointr(fd);
            continue;
        }
        vsock_conn_changed(c);
    }
}

/* ---- the device ---- */

int vsock_dev_init(struct vsock_dev *dev, int epfd, uint64_t guest_cid, const char *uds,
                   struct vsock_vring_mem *mem, struct vsock_vring *rx, struct vsock_vring *tx,
                   struct lcow_error **err)
{
    memset(dev, 0, sizeof(*dev));
    dev->listen_fd = -1;
    if (strlen(uds) >= sizeof(dev->uds))
        return lcow_error_make(err, ENAMETOOLONG, "uds path `%s`: too long", uds);
    memcpy(dev->uds, uds, strlen(uds) + 1);
    dev->epfd = epfd;
    dev->guest_cid = guest_cid;
    dev->mem = mem;
    dev->rx = rx;
    dev->tx = tx;
    dev->next_local_port = LOCAL_PORT_FIRST;
    dev->listen_watch.handle = listen_event;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, dev->uds, strlen(dev->uds) + 1);
    struct stat st;
    if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
        (void)unlink(sa.sun_path); /* a stale socket from an earlier run */
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return lcow_error_errno(err, "bind `%s`", sa.sun_path);
    if (listen(fd, 128) < 0)
        return lcow_error_errno(err, "listen `%s`", sa.sun_path);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &dev->listen_watch};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        int r = lcow_error_errno(err, "epoll_ctl");
        (void)unlink(sa.sun_path);
        return r;
    }
    dev->listen_fd = take_fd(&fd);
    return 0;
}

void vsock_dev_destroy(struct vsock_dev *dev)
{
    vsock_dev_reset(dev);
    vsock_dev_reap(dev);
    if (dev->listen_fd >= 0) {
        (void)epoll_ctl(dev->epfd, EPOLL_CTL_DEL, dev->listen_fd, NULL);
        dev->listen_fd = lcow_close_nointr(dev->listen_fd);
        (void)unlink(dev->uds);
    }
}
