/* vhost-user back end: framing, one handler per request, ring and memory bookkeeping. */
#include "vsock/vhost_user.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/vhost_types.h>

#include "common/cleanup.h"
#include "common/io.h"

/* A front end that stops in the middle of a message must not hang us forever. */
#define MSG_BODY_TIMEOUT_MS 2000

struct vu_msg {
    uint32_t request, flags, size;
    union {
        uint64_t u64;
        struct vhost_vring_state state;
        struct vhost_vring_addr addr;
        uint8_t bytes[VSOCK_VU_MAX_PAYLOAD];
    } p;
    int fds[VSOCK_VU_MAX_FDS];
    unsigned nfds;
    /* reply: set by handlers that answer with a payload */
    bool has_reply;
    uint32_t reply_size;
};

/* Takes fd i out of the message (the handler keeps it), or -1. */
static int msg_take_fd(struct vu_msg *m, unsigned i)
{
    return i < m->nfds ? take_fd(&m->fds[i]) : -1;
}

static void msg_close_fds(struct vu_msg *m)
{
    for (unsigned i = 0; i < m->nfds; i++)
        if (m->fds[i] >= 0)
            m->fds[i] = lcow_close_nointr(m->fds[i]);
    m->nfds = 0;
}

static int need_size(const struct vu_msg *m, uint32_t size, struct lcow_error **err)
{
    if (m->size != size)
        return lcow_error_make(err, EINVAL, "request %u: payload of %u bytes, expected %u",
                               m->request, m->size, size);
    return 0;
}

static int vring_index(const struct vu_msg *m, uint32_t index, struct lcow_error **err)
{
    if (index >= VSOCK_DEV_NQUEUES)
        return lcow_error_make(err, EINVAL, "request %u: vring index %u out of range", m->request,
                               index);
    return (int)index;
}

static void reply_u64(struct vu_msg *m, uint64_t v)
{
    m->p.u64 = htole64(v);
    m->has_reply = true;
    m->reply_size = sizeof(uint64_t);
}

/* ---- rings ---- */

static void kick_event(struct vsock_watch *w, uint32_t events)
{
    struct vsock_vu_kick *k = (struct vsock_vu_kick *)w;
    struct vsock_vu *vu = k->vu;
    eventfd_t v;
    struct vsock_vring *q = &vu->vq[k->index];
    if (q->kick_fd >= 0)
        (void)eventfd_read(q->kick_fd, &v);
    if (k->index == VSOCK_DEV_TX) {
        if (vsock_vring_has_avail(q))
            vu->seen_tx = true;
        else if (!vu->seen_tx)
            vu->idle_kicks++;
        vsock_dev_kick_tx(vu->dev);
    } else {
        vsock_dev_kick_rx(vu->dev);
    }
}

static void stop_ring(struct vsock_vu *vu, unsigned i)
{
    struct vsock_vring *q = &vu->vq[i];
    vsock_vring_set_notify(q, true); /* leave the ring as a fresh back end expects it */
    if (q->kick_fd >= 0) {
        (void)epoll_ctl(vu->epfd, EPOLL_CTL_DEL, q->kick_fd, NULL);
        q->kick_fd = lcow_close_nointr(q->kick_fd);
    }
    q->started = false;
}

/* A ring that just became usable may already hold buffers (QEMU kicks once before it enables
 * the ring: test-environment.md §7 gotcha 6), so look at it now. */
static void rescan(struct vsock_vu *vu, unsigned i)
{
    if (!vsock_vring_ready(&vu->vq[i]))
        return;
    if (i == VSOCK_DEV_TX)
        vsock_dev_kick_tx(vu->dev);
    else
        vsock_dev_kick_rx(vu->dev);
}

static void reset_rings(struct vsock_vu *vu)
{
    vsock_dev_reset(vu->dev);
    for (unsigned i = 0; i < VSOCK_DEV_NQUEUES; i++) {
        stop_ring(vu, i);
        vsock_vring_reset(&vu->vq[i]);
    }
}

/* ---- handlers ---- */

static int h_get_features(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    reply_u64(m, VSOCK_VU_FEATURES);
    return 0;
}

static int h_set_features(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, 8, err);
    if (r < 0)
        return r;
    uint64_t f = le64toh(m->p.u64);
    if (f & ~VSOCK_VU_FEATURES)
        return lcow_error_make(err, EINVAL, "SET_FEATURES 0x%llx: bits we never offered",
                               (unsigned long long)f);
    vu->features = f;
    return 0;
}

static int h_get_protocol_features(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    reply_u64(m, VSOCK_VU_PROTOCOL_FEATURES);
    return 0;
}

static int h_set_protocol_features(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, 8, err);
    if (r < 0)
        return r;
    uint64_t f = le64toh(m->p.u64);
    if (f & ~VSOCK_VU_PROTOCOL_FEATURES)
        return lcow_error_make(err, EINVAL, "SET_PROTOCOL_FEATURES 0x%llx: bits we never offered",
                               (unsigned long long)f);
    vu->protocol_features = f;
    return 0;
}

static int h_set_owner(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    vu->owner = true;
    return 0;
}

static int h_reset(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    reset_rings(vu);
    vu->features = 0;
    return 0;
}

static int h_get_queue_num(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    reply_u64(m, VSOCK_DEV_NQUEUES);
    return 0;
}

struct mem_region_wire {
    uint64_t gpa, size, uva, mmap_offset;
};

static int h_set_mem_table(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    if (m->size < 8)
        return need_size(m, 8, err);
    uint32_t n = le32toh(*(uint32_t *)m->p.bytes);
    if (n == 0 || n > VSOCK_VRING_MAX_REGIONS)
        return lcow_error_make(err, EINVAL, "SET_MEM_TABLE: %u regions", n);
    int r = need_size(m, 8 + n * (uint32_t)sizeof(struct mem_region_wire), err);
    if (r < 0)
        return r;
    if (m->nfds != n)
        return lcow_error_make(err, EINVAL, "SET_MEM_TABLE: %u regions but %u fds", n, m->nfds);
    struct vsock_vring_mem mem = {0};
    for (uint32_t i = 0; i < n; i++) {
        struct mem_region_wire w;
        memcpy(&w, m->p.bytes + 8 + i * sizeof(w), sizeof(w));
        r = vsock_vring_mem_map(&mem, m->fds[i], le64toh(w.gpa), le64toh(w.size), le64toh(w.uva),
                                le64toh(w.mmap_offset), err);
        if (r < 0) {
            vsock_vring_mem_clear(&mem);
            return lcow_error_wrap(err, "SET_MEM_TABLE region %u", i);
        }
    }
    /* Connections hold no pointers into guest memory between events: swapping is safe. */
    vsock_vring_mem_clear(&vu->mem);
    vu->mem = mem;
    for (unsigned i = 0; i < VSOCK_DEV_NQUEUES; i++)
        (void)vsock_vring_map(&vu->vq[i], &vu->mem, NULL); /* a misfit ring stays unusable */
    return 0;
}

static int h_set_vring_num(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, sizeof(struct vhost_vring_state), err);
    int i = r < 0 ? r : vring_index(m, m->p.state.index, err);
    if (i < 0)
        return i;
    uint32_t num = m->p.state.num;
    if (num == 0 || num > VSOCK_VRING_MAX_SIZE || (num & (num - 1)))
        return lcow_error_make(err, EINVAL, "SET_VRING_NUM %u: not a power of two up to %d", num,
                               VSOCK_VRING_MAX_SIZE);
    if (vu->vq[i].started)
        return lcow_error_make(err, EBUSY, "SET_VRING_NUM: vring %d is running", i);
    vu->vq[i].num = (uint16_t)num;
    vu->vq[i].desc = NULL;
    return vsock_vring_map(&vu->vq[i], &vu->mem, err);
}

static int h_set_vring_addr(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, sizeof(struct vhost_vring_addr), err);
    int i = r < 0 ? r : vring_index(m, m->p.addr.index, err);
    if (i < 0)
        return i;
    struct vsock_vring *q = &vu->vq[i];
    /* the log address is guest-physical and only for dirty logging, which we do not offer */
    q->desc_uva = m->p.addr.desc_user_addr;
    q->avail_uva = m->p.addr.avail_user_addr;
    q->used_uva = m->p.addr.used_user_addr;
    int r2 = vsock_vring_map(q, &vu->mem, err);
    if (r2 < 0)
        q->desc_uva = q->avail_uva = q->used_uva = 0; /* forget them: unusable until a good one */
    return r2;
}

static int h_set_vring_base(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, sizeof(struct vhost_vring_state), err);
    int i = r < 0 ? r : vring_index(m, m->p.state.index, err);
    if (i < 0)
        return i;
    if (m->p.state.num > 0xffff)
        return lcow_error_make(err, EINVAL, "SET_VRING_BASE %u: beyond a 16-bit index",
                               m->p.state.num);
    vu->vq[i].last_avail = (uint16_t)m->p.state.num;
    vu->vq[i].used_idx = (uint16_t)m->p.state.num;
    vu->vq[i].broken = false;
    return 0;
}

static int h_get_vring_base(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, sizeof(struct vhost_vring_state), err);
    int i = r < 0 ? r : vring_index(m, m->p.state.index, err);
    if (i < 0) {
        /* this request always has a reply; answer 0 so the front end does not hang */
        m->p.state = (struct vhost_vring_state){0, 0};
        m->has_reply = true;
        m->reply_size = sizeof(m->p.state);
        return i;
    }
    /* The device stops: the guest driver is being reset or the VM is going away, so no guest
     * socket survives it. Close the host side of every connection. */
    stop_ring(vu, (unsigned)i);
    vsock_dev_reset(vu->dev);
    /* QEMU sends the addresses again before a restart; until then they name memory the
     * guest may reuse for anything */
    struct vsock_vring *q = &vu->vq[i];
    q->desc = NULL;
    q->avail = NULL;
    q->used = NULL;
    q->desc_uva = q->avail_uva = q->used_uva = 0;
    m->p.state.num = vu->vq[i].last_avail;
    m->has_reply = true;
    m->reply_size = sizeof(m->p.state);
    return 0;
}

/* The u64 payload of SET_VRING_KICK/CALL/ERR: index in the low byte, bit 8 = no fd. */
static int vring_fd_msg(struct vu_msg *m, int *ret_fd, struct lcow_error **err)
{
    int r = need_size(m, 8, err);
    if (r < 0)
        return r;
    uint64_t v = le64toh(m->p.u64);
    int i = vring_index(m, (uint32_t)(v & 0xff), err);
    if (i < 0)
        return i;
    bool nofd = v & VSOCK_VU_VRING_NOFD;
    if (nofd != (m->nfds == 0) || m->nfds > 1)
        return lcow_error_make(err, EINVAL, "request %u: fd count %u does not match flags",
                               m->request, m->nfds);
    *ret_fd = nofd ? -1 : msg_take_fd(m, 0);
    return i;
}

static int h_set_vring_kick(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int fd = -1;
    int i = vring_fd_msg(m, &fd, err);
    if (i < 0)
        return i;
    if (fd < 0) /* polling mode needs a thread spinning on the ring: not offered */
        return lcow_error_make(err, EINVAL, "SET_VRING_KICK without an fd is not supported");
    stop_ring(vu, (unsigned)i);
    struct vsock_vring *q = &vu->vq[i];
    q->kick_fd = fd;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &vu->kick[i].watch};
    if (epoll_ctl(vu->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        q->kick_fd = lcow_close_nointr(q->kick_fd);
        return lcow_error_errno(err, "epoll_ctl kick fd");
    }
    q->started = true;
    /* without PROTOCOL_FEATURES a ring starts enabled (vhost-user.rst, "Ring states") */
    if (!(vu->features & (1ull << VSOCK_VU_F_PROTOCOL_FEATURES)))
        q->enabled = true;
    rescan(vu, (unsigned)i);
    return 0;
}

static int h_set_vring_call(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int fd = -1;
    int i = vring_fd_msg(m, &fd, err);
    if (i < 0)
        return i;
    /* QEMU swaps call fds on every MSI-X mask change; single-threaded, a plain swap is safe */
    if (vu->vq[i].call_fd >= 0)
        lcow_close_nointr(vu->vq[i].call_fd);
    vu->vq[i].call_fd = fd;
    return 0;
}

static int h_set_vring_err(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int fd = -1;
    int i = vring_fd_msg(m, &fd, err);
    if (i < 0)
        return i;
    if (vu->vq[i].err_fd >= 0)
        lcow_close_nointr(vu->vq[i].err_fd);
    vu->vq[i].err_fd = fd;
    return 0;
}

static int h_set_vring_enable(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    int r = need_size(m, sizeof(struct vhost_vring_state), err);
    int i = r < 0 ? r : vring_index(m, m->p.state.index, err);
    if (i < 0)
        return i;
    if (m->p.state.num > 1)
        return lcow_error_make(err, EINVAL, "SET_VRING_ENABLE %u: not 0 or 1", m->p.state.num);
    vu->vq[i].enabled = m->p.state.num == 1;
    rescan(vu, (unsigned)i);
    return 0;
}

static int h_get_config(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    /* payload: le32 offset, le32 size, le32 flags, then `size` bytes of config space */
    m->has_reply = true;
    m->reply_size = 0; /* an empty reply tells the front end we failed */
    if (m->size < 12)
        return need_size(m, 12, err);
    uint32_t off = le32toh(*(uint32_t *)m->p.bytes);
    uint32_t size = le32toh(*(uint32_t *)(m->p.bytes + 4));
    uint64_t cid = htole64(vu->dev->guest_cid); /* struct virtio_vsock_config */
    if (m->size != 12 + (uint64_t)size || off > sizeof(cid) || size > sizeof(cid) - off)
        return lcow_error_make(err, EINVAL, "GET_CONFIG offset %u size %u: outside the config", off,
                               size);
    memcpy(m->p.bytes + 12, (uint8_t *)&cid + off, size);
    m->reply_size = 12 + size;
    return 0;
}

static int h_set_config(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    return lcow_error_make(err, EPERM, "SET_CONFIG: the vsock config (guest CID) is read-only");
}

typedef int (*vu_handler)(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err);

static const struct {
    const char *name;
    vu_handler fn;
} handlers[VSOCK_VU_REQUEST_MAX] = {
    [VSOCK_VU_GET_FEATURES] = {"GET_FEATURES", h_get_features},
    [VSOCK_VU_SET_FEATURES] = {"SET_FEATURES", h_set_features},
    [VSOCK_VU_SET_OWNER] = {"SET_OWNER", h_set_owner},
    [VSOCK_VU_RESET_OWNER] = {"RESET_OWNER", h_reset},
    [VSOCK_VU_SET_MEM_TABLE] = {"SET_MEM_TABLE", h_set_mem_table},
    [VSOCK_VU_SET_VRING_NUM] = {"SET_VRING_NUM", h_set_vring_num},
    [VSOCK_VU_SET_VRING_ADDR] = {"SET_VRING_ADDR", h_set_vring_addr},
    [VSOCK_VU_SET_VRING_BASE] = {"SET_VRING_BASE", h_set_vring_base},
    [VSOCK_VU_GET_VRING_BASE] = {"GET_VRING_BASE", h_get_vring_base},
    [VSOCK_VU_SET_VRING_KICK] = {"SET_VRING_KICK", h_set_vring_kick},
    [VSOCK_VU_SET_VRING_CALL] = {"SET_VRING_CALL", h_set_vring_call},
    [VSOCK_VU_SET_VRING_ERR] = {"SET_VRING_ERR", h_set_vring_err},
    [VSOCK_VU_GET_PROTOCOL_FEATURES] = {"GET_PROTOCOL_FEATURES", h_get_protocol_features},
    [VSOCK_VU_SET_PROTOCOL_FEATURES] = {"SET_PROTOCOL_FEATURES", h_set_protocol_features},
    [VSOCK_VU_GET_QUEUE_NUM] = {"GET_QUEUE_NUM", h_get_queue_num},
    [VSOCK_VU_SET_VRING_ENABLE] = {"SET_VRING_ENABLE", h_set_vring_enable},
    [VSOCK_VU_GET_CONFIG] = {"GET_CONFIG", h_get_config},
    [VSOCK_VU_SET_CONFIG] = {"SET_CONFIG", h_set_config},
    [VSOCK_VU_RESET_DEVICE] = {"RESET_DEVICE", h_reset},
};

/* ---- framing ---- */

static int end(struct vsock_vu *vu, int code, struct lcow_error **err, const char *what)
{
    vu->done = true;
    vu->done_code = code;
    snprintf(vu->done_msg, sizeof(vu->done_msg), "%s", what);
    if (code == -ECONNRESET)
        return code;
    return lcow_error_make(err, -code, "vhost-user connection: %s", what);
}

/* Reads the header and its fds. 0, or the negative code that ends the connection. */
static int read_header(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    uint32_t hdr[3];
    struct iovec iov = {hdr, sizeof(hdr)};
    union {
        char buf[CMSG_SPACE(sizeof(int) * VSOCK_VU_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = LCOW_RETRY_EINTR(recvmsg(vu->fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (unsigned j = 0; j < k; j++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
            if (m->nfds < VSOCK_VU_MAX_FDS)
                m->fds[m->nfds++] = fd;
            else
                lcow_close_nointr(fd);
        }
    }
    if (n == 0)
        return end(vu, -ECONNRESET, err, "closed by the front end");
    if (n < 0)
        return end(vu, -errno, err, "read error");
    if ((size_t)n < sizeof(hdr) || (mh.msg_flags & MSG_CTRUNC))
        return end(vu, -EPROTO, err, "short header or truncated fds");
    m->request = le32toh(hdr[0]);
    m->flags = le32toh(hdr[1]);
    m->size = le32toh(hdr[2]);
    if ((m->flags & 0x3) != VSOCK_VU_VERSION)
        return end(vu, -EPROTO, err, "bad version in message flags");
    if (m->size > VSOCK_VU_MAX_PAYLOAD)
        return end(vu, -EPROTO, err, "payload too large");
    return 0;
}

static int read_body(struct vsock_vu *vu, struct vu_msg *m, struct lcow_error **err)
{
    if (m->size == 0)
        return 0;
    ssize_t n = LCOW_RETRY_EINTR(recv(vu->fd, m->p.bytes, m->size, MSG_WAITALL));
    if (n != (ssize_t)m->size)
        return end(vu, -EPROTO, err, "truncated message body");
    return 0;
}

static int send_reply(struct vsock_vu *vu, const struct vu_msg *m, const void *payload,
                      uint32_t size, struct lcow_error **err)
{
    uint32_t hdr[3] = {htole32(m->request), htole32(VSOCK_VU_VERSION | VSOCK_VU_FLAG_REPLY),
                       htole32(size)};
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, size}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
    ssize_t n = LCOW_RETRY_EINTR(sendmsg(vu->fd, &mh, MSG_NOSIGNAL));
    if (n != (ssize_t)(sizeof(hdr) + size))
        return end(vu, -EPIPE, err, "cannot send a reply");
    return 0;
}

int vsock_vu_handle_one(struct vsock_vu *vu, struct lcow_error **err)
{
    struct vu_msg m;
    m.nfds = 0;
    m.has_reply = false;
    m.reply_size = 0;
    int r = read_header(vu, &m, err);
    if (r == 0)
        r = read_body(vu, &m, err);
    if (r < 0) {
        msg_close_fds(&m);
        return r;
    }
    vu->requests++;
    cleanup_error struct lcow_error *rerr = NULL;
    vu_handler fn = m.request < VSOCK_VU_REQUEST_MAX ? handlers[m.request].fn : NULL;
    int status = fn ? fn(vu, &m, &rerr)
                    : lcow_error_make(&rerr, EOPNOTSUPP, "request %u is not supported", m.request);
    msg_close_fds(&m); /* any fd a handler did not keep */
    if (status < 0) {
        vu->failed_requests++;
        snprintf(vu->last_error, sizeof(vu->last_error), "%s", lcow_error_message(rerr));
    }
    if (m.has_reply)
        return send_reply(vu, &m, m.p.bytes, m.reply_size, err);
    if ((m.flags & VSOCK_VU_FLAG_NEED_REPLY) &&
        (vu->protocol_features & (1ull << VSOCK_VU_PROTO_F_REPLY_ACK))) {
        uint64_t ack = htole64(status < 0 ? 1 : 0);
        return send_reply(vu, &m, &ack, sizeof(ack), err);
    }
    return 0;
}

static void vu_event(struct vsock_watch *w, uint32_t events)
{
    struct vsock_vu *vu = (struct vsock_vu *)w;
    if (vu->done)
        return;
    (void)vsock_vu_handle_one(vu, NULL);
}

void vsock_vu_prepare(struct vsock_vu *vu)
{
    memset(vu, 0, sizeof(*vu));
    vu->fd = -1;
    vu->epfd = -1;
    for (unsigned i = 0; i < VSOCK_DEV_NQUEUES; i++) {
        vsock_vring_init(&vu->vq[i]);
        vu->kick[i] = (struct vsock_vu_kick){{kick_event}, vu, i};
    }
}

int vsock_vu_attach(struct vsock_vu *vu, int fd, int epfd, struct vsock_dev *dev,
                    struct lcow_error **err)
{
    vu->watch.handle = vu_event;
    vu->fd = fd;
    vu->epfd = epfd;
    vu->dev = dev;
    struct timeval tv = {MSG_BODY_TIMEOUT_MS / 1000, (MSG_BODY_TIMEOUT_MS % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        return lcow_error_errno(err, "setsockopt SO_RCVTIMEO");
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &vu->watch};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0)
        return lcow_error_errno(err, "epoll_ctl vhost-user socket");
    return 0;
}

void vsock_vu_destroy(struct vsock_vu *vu)
{
    if (vu->dev)
        vsock_dev_reset(vu->dev);
    for (unsigned i = 0; i < VSOCK_DEV_NQUEUES; i++) {
        stop_ring(vu, i);
        vsock_vring_reset(&vu->vq[i]);
    }
    vsock_vring_mem_clear(&vu->mem);
    if (vu->fd >= 0) {
        if (vu->epfd >= 0)
            (void)epoll_ctl(vu->epfd, EPOLL_CTL_DEL, vu->fd, NULL);
        vu->fd = lcow_close_nointr(vu->fd);
    }
}

bool vsock_vu_memory_suspect(const struct vsock_vu *vu)
{
    return !vu->seen_tx && vu->idle_kicks >= 8;
}
