/* The virtio-vsock device: packets from the TX ring, packets into the RX ring, and the host
 * Unix sockets they map to (see virtio_vsock.h for the model). Connection bookkeeping and the
 * host-socket side live in virtio_vsock_conn.c; this file parses and dispatches packets. */
#include "vsock/virtio_vsock.h"
#include "vsock/virtio_vsock_conn.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/vm_sockets.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"

/* Queues a reply that belongs to no connection (RST to an unknown or malformed packet). When
 * the queue is full the TX ring is already paused, so dropping is only reached by a guest that
 * ignores RSTs; its connect() then times out, which is its own doing. */
static void queue_reply(struct vsock_dev *dev, const struct virtio_vsock_hdr *req, uint16_t op)
{
    if (dev->npending >= VSOCK_DEV_MAX_PENDING)
        return;
    struct virtio_vsock_hdr *h = &dev->pending[dev->npending++];
    memset(h, 0, sizeof(*h));
    h->src_cid = htole64(VMADDR_CID_HOST);
    h->dst_cid = htole64(dev->guest_cid);
    h->src_port = req->dst_port;
    h->dst_port = req->src_port;
    h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
    h->op = htole16(op);
}

static void reply_rst(struct vsock_dev *dev, const struct virtio_vsock_hdr *h)
{
    if (le16toh(h->op) != VIRTIO_VSOCK_OP_RST)
        queue_reply(dev, h, VIRTIO_VSOCK_OP_RST);
}

/* A protocol violation on a live connection: reset it both ways. */
static void violation(struct vsock_dev *dev, struct vsock_conn *c, const struct virtio_vsock_hdr *h)
{
    dev->stat_bad_pkts++;
    if (c)
        vsock_conn_abort(c);
    else
        reply_rst(dev, h);
}

struct pkt {
    struct virtio_vsock_hdr h; /* little-endian, as read */
    uint32_t len;
    const struct vsock_vring_chain *chain; /* payload starts at VSOCK_DEV_HDR_SIZE */
};

static void on_request(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c) {
        /* a second REQUEST for a live pair: the guest lost track; reset both */
        violation(dev, c, &p->h);
        reply_rst(dev, &p->h);
        return;
    }
    if (vsock_conn_guest_connect(dev, &p->h) < 0)
        reply_rst(dev, &p->h);
}

static void on_response(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c == NULL || c->state != VSOCK_CONN_CONNECTING) {
        violation(dev, c, &p->h);
        return;
    }
    vsock_conn_accepted(c);
}

static void on_rst(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c)
        vsock_conn_free(c);
}

static void on_shutdown(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c == NULL || c->state != VSOCK_CONN_ESTABLISHED) {
        violation(dev, c, &p->h);
        return;
    }
    vsock_conn_guest_shutdown(c, le32toh(p->h.flags));
}

static void on_rw(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c == NULL || c->state != VSOCK_CONN_ESTABLISHED || c->guest_shut_send) {
        violation(dev, c, &p->h);
        return;
    }
    if (p->len == 0)
        return;
    if (vsock_conn_guest_data(c, p->chain->out, p->chain->n_out, VSOCK_DEV_HDR_SIZE, p->len) < 0)
        dev->stat_bad_pkts++;
}

static void on_credit_update(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c == NULL)
        violation(dev, c, &p->h);
    /* the credit fields were already taken in by dispatch() */
}

static void on_credit_request(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p)
{
    if (c == NULL) {
        violation(dev, c, &p->h);
        return;
    }
    vsock_conn_want_op(c, VSOCK_CONN_OP_CREDIT_UPDATE);
}

typedef void (*op_handler)(struct vsock_dev *dev, struct vsock_conn *c, const struct pkt *p);

static const op_handler op_handlers[] = {
    [VIRTIO_VSOCK_OP_REQUEST] = on_request,
    [VIRTIO_VSOCK_OP_RESPONSE] = on_response,
    [VIRTIO_VSOCK_OP_RST] = on_rst,
    [VIRTIO_VSOCK_OP_SHUTDOWN] = on_shutdown,
    [VIRTIO_VSOCK_OP_RW] = on_rw,
    [VIRTIO_VSOCK_OP_CREDIT_UPDATE] = on_credit_update,
    [VIRTIO_VSOCK_OP_CREDIT_REQUEST] = on_credit_request,
};

/* Header checks that do not depend on a connection. 0 or -EINVAL. */
static int check_header(const struct vsock_dev *dev, const struct virtio_vsock_hdr *h,
                        uint64_t payload_avail)
{
    uint16_t op = le16toh(h->op);
    uint32_t len = le32toh(h->len);
    if (le64toh(h->src_cid) != dev->guest_cid || le64toh(h->dst_cid) != VMADDR_CID_HOST)
        return -EINVAL;
    if (le16toh(h->type) != VIRTIO_VSOCK_TYPE_STREAM)
        return -EINVAL;
    if (op >= LCOW_ARRAY_SIZE(op_handlers) || op_handlers[op] == NULL)
        return -EINVAL;
    if (len > VSOCK_DEV_MAX_PKT || len > payload_avail)
        return -EINVAL;
    if (op != VIRTIO_VSOCK_OP_RW && len != 0)
        return -EINVAL;
    return 0;
}

void vsock_dev_handle_tx_chain(struct vsock_dev *dev, const struct vsock_vring_chain *chain)
{
    struct pkt p = {.chain = chain};
    if (chain->out_len < VSOCK_DEV_HDR_SIZE) {
        dev->stat_bad_pkts++; /* no header to answer */
        return;
    }
    vsock_vring_copy_from(&p.h, chain->out, chain->n_out, 0, VSOCK_DEV_HDR_SIZE);
    p.len = le32toh(p.h.len);
    dev->stat_tx_pkts++;
    struct vsock_conn *c = vsock_conn_find(dev, le32toh(p.h.dst_port), le32toh(p.h.src_port));
    if (check_header(dev, &p.h, chain->out_len - VSOCK_DEV_HDR_SIZE) < 0) {
        lcow_trace("vhost-user-vsock: malformed packet op=%u len=%u from port %u", le16toh(p.h.op),
                   p.len, le32toh(p.h.src_port));
        violation(dev, c, &p.h);
        return;
    }
    if (c)
        vsock_conn_peer_credit(c, le32toh(p.h.buf_alloc), le32toh(p.h.fwd_cnt));
    op_handlers[le16toh(p.h.op)](dev, c, &p);
    if (c && c->state != VSOCK_CONN_FREED)
        vsock_conn_changed(c);
}

/* Chains taken per call: a guest that keeps the ring full must not starve the host sockets
 * and the vhost-user socket (kernel vhost has the same kind of weight limit). */
#define TX_BUDGET 1024

/* Takes TX chains until the ring is empty or too many replies wait for RX buffers. */
static bool process_tx(struct vsock_dev *dev)
{
    bool progress = false;
    struct vsock_vring_chain chain;
    unsigned budget = TX_BUDGET;
    /* no kicks while we drain anyway; re-enable, then look once more for a racing offer */
    vsock_vring_set_notify(dev->tx, false);
    while (dev->npending < VSOCK_DEV_MAX_PENDING) {
        if (budget-- == 0) {
            /* come back after the other events: kick ourselves */
            if (dev->tx->kick_fd >= 0)
                (void)eventfd_write(dev->tx->kick_fd, 1);
            dev->tx_yield = true;
            break;
        }
        int r = vsock_vring_pop(dev->tx, dev->mem, &chain);
        if (r == 0) {
            vsock_vring_set_notify(dev->tx, true);
            if (!vsock_vring_has_avail(dev->tx))
                break;
            vsock_vring_set_notify(dev->tx, false);
            continue;
        }
        progress = true;
        if (r == -EIO) {
            lcow_debug("vhost-user-vsock: TX ring corrupt, ignoring it until reset");
            break;
        }
        if (r < 0) {
            dev->stat_bad_chains++;
            continue;
        }
        vsock_dev_handle_tx_chain(dev, &chain);
        vsock_vring_push(dev->tx, chain.head, 0);
    }
    vsock_vring_set_notify(dev->tx, true); /* also when paused: resume needs the guest's kick */
    /* signal now when a quarter of the ring waits to be reclaimed, else on the idle flush */
    if (dev->tx->unsignalled >= dev->tx->num / 4) {
        vsock_vring_notify(dev->tx);
        dev->calls_since_ns = 0;
    } else if (dev->tx->need_call) {
        vsock_dev_defer(dev);
    }
    return progress;
}

/* Pops a usable RX chain: 1, or 0 when the guest offers none (or the ring is broken). */
static int pop_rx(struct vsock_dev *dev, struct vsock_vring_chain *chain)
{
    for (;;) {
        int r = vsock_vring_pop(dev->rx, dev->mem, chain);
        if (r == 0 || r == -EIO)
            return 0;
        if (r < 0) {
            dev->stat_bad_chains++;
            continue;
        }
        /* RX buffers are for us to write; a readable part or a buffer with no room past the
         * header is a guest bug (a header-only buffer would let a readable host socket spin
         * the loop without ever moving a byte) */
        if (chain->n_out != 0 || chain->in_len <= VSOCK_DEV_HDR_SIZE) {
            dev->stat_bad_chains++;
            vsock_vring_push(dev->rx, chain->head, 0);
            continue;
        }
        return 1;
    }
}

int vsock_dev_put_rx(struct vsock_dev *dev, const struct vsock_vring_chain *chain,
                     const struct virtio_vsock_hdr *h, uint32_t payload_len)
{
    vsock_vring_copy_to(chain->in, chain->n_in, 0, h, VSOCK_DEV_HDR_SIZE);
    vsock_vring_push(dev->rx, chain->head, VSOCK_DEV_HDR_SIZE + payload_len);
    dev->stat_rx_pkts++;
    return 0;
}

/* Fills RX buffers: first the connection-less replies, then connections round-robin. */
static bool fill_rx_once(struct vsock_dev *dev)
{
    bool progress = false;
    struct vsock_vring_chain chain;
    unsigned done = 0;
    while (done < dev->npending && pop_rx(dev, &chain)) {
        vsock_dev_put_rx(dev, &chain, &dev->pending[done++], 0);
        progress = true;
    }
    if (done) {
        memmove(dev->pending, dev->pending + done,
                (dev->npending - done) * sizeof(dev->pending[0]));
        dev->npending -= done;
    }
    while (dev->npending == 0 && dev->send_head) {
        struct vsock_conn *c = vsock_conn_send_pop(dev);
        if (!vsock_conn_has_work(c))
            continue;
        if (!pop_rx(dev, &chain)) {
            vsock_conn_send_push_front(c);
            break;
        }
        if (vsock_conn_fill_rx(c, &chain) == 0)
            vsock_vring_unpop(dev->rx);
        else
            progress = true;
        vsock_conn_changed(c);
    }
    return progress;
}

static bool process_rx(struct vsock_dev *dev)
{
    bool progress = false;
    for (int i = 0; i < 4; i++) {
        progress |= fill_rx_once(dev);
        /* The guest's kick after refilling RX buffers only matters while something waits for
         * one; otherwise we find them when we need them. Re-check after enabling, for buffers
         * offered while the kick was off. */
        bool waiting = dev->npending > 0 || dev->send_head != NULL;
        vsock_vring_set_notify(dev->rx, waiting);
        if (!waiting || !vsock_vring_has_avail(dev->rx))
            break;
    }
    vsock_vring_notify(dev->rx);
    return progress;
}

/* Runs both rings until neither makes progress: RX progress can un-pause TX and TX packets
 * create replies for RX. */
static void run(struct vsock_dev *dev)
{
    dev->tx_yield = false;
    for (unsigned rounds = 0; rounds < 64 && !dev->tx_yield; rounds++) {
        bool p = process_tx(dev);
        p |= process_rx(dev);
        if (!p)
            break;
    }
}

void vsock_dev_kick_tx(struct vsock_dev *dev)
{
    run(dev);
}

void vsock_dev_kick_rx(struct vsock_dev *dev)
{
    run(dev);
}

void vsock_dev_pump(struct vsock_dev *dev)
{
    /* a host socket event: only RX can have new work, unless TX was paused on replies */
    if (dev->npending >= VSOCK_DEV_MAX_PENDING)
        run(dev);
    else
        process_rx(dev);
}

void vsock_dev_defer(struct vsock_dev *dev)
{
    if (dev->calls_since_ns == 0)
        dev->calls_since_ns = lcow_now_ns();
}

bool vsock_dev_calls_pending(const struct vsock_dev *dev)
{
    return dev->tx->need_call || dev->credit_owed || dev->retrying;
}

void vsock_dev_flush_calls(struct vsock_dev *dev, bool idle)
{
    if (!vsock_dev_calls_pending(dev))
        return;
    if (!idle && lcow_now_ns() - dev->calls_since_ns < VSOCK_DEV_CALL_DELAY_NS)
        return;
    dev->calls_since_ns = 0;
    vsock_vring_notify(dev->tx);
    if (dev->retrying)
        vsock_dev_retry_connects(dev);
    if (dev->credit_owed)
        vsock_dev_announce_credit(dev);
    process_rx(dev);
}

unsigned vsock_dev_nconns(const struct vsock_dev *dev)
{
    return dev->nconns;
}
