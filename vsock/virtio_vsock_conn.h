/* One stream connection of the virtio-vsock device and its host Unix socket; internal to
 * virtio_vsock.c and virtio_vsock_conn.c (the unit tests read it too).
 *
 * Life cycle:
 *   HANDSHAKE    host accepted on <uds>, waiting for "CONNECT <port>\n"
 *   CONNECTING   REQUEST sent to the guest, waiting for RESPONSE (or RST)
 *   RETRY        guest REQUEST whose Unix listener had a full backlog: connect is retried by
 *                the deferred work for up to VSOCK_CONN_RETRY_NS, then RESPONSE or RST
 *   ESTABLISHED  data both ways
 *   RESET        host socket closed, an RST to the guest is queued; freed once it is sent
 *   DRAINING     the guest closed (we answered RST); flushing held data to the host socket
 *   FREED        in the graveyard until vsock_dev_reap(), so epoll events already fetched
 *                for it stay harmless */
#ifndef LCOW_VSOCK_VIRTIO_VSOCK_CONN_H
#define LCOW_VSOCK_VIRTIO_VSOCK_CONN_H

#include "vsock/virtio_vsock.h"

enum vsock_conn_state {
    VSOCK_CONN_HANDSHAKE,
    VSOCK_CONN_CONNECTING,
    VSOCK_CONN_RETRY,
    VSOCK_CONN_ESTABLISHED,
    VSOCK_CONN_RESET,
    VSOCK_CONN_DRAINING,
    VSOCK_CONN_FREED,
};

/* control packets waiting for an RX buffer */
enum {
    VSOCK_CONN_OP_REQUEST = 1 << 0,
    VSOCK_CONN_OP_RESPONSE = 1 << 1,
    VSOCK_CONN_OP_CREDIT_UPDATE = 1 << 2,
    VSOCK_CONN_OP_RST = 1 << 3,
};

struct vsock_conn {
    struct vsock_watch watch; /* first: epoll hands it back */
    struct vsock_dev *dev;
    struct vsock_conn *next, *prev;   /* dev->conns, or the graveyard */
    struct vsock_conn *hnext;         /* hash chain */
    struct vsock_conn *snext, *sprev; /* dev->send list */
    bool hashed, on_send;
    int fd;
    uint32_t epoll_events; /* registered interest; 0 = not in the epoll set */
    enum vsock_conn_state state;
    uint32_t local_port, peer_port; /* host side, guest side */
    unsigned ops;
    bool want_read;                    /* host socket is readable; waiting for RX room */
    unsigned long long retry_since_ns; /* RETRY: when the first connect found no room */
    bool host_eof, guest_shut_send, guest_shut_rcv, host_wr_shut;
    /* credit: ours (guest -> host) and the guest's (host -> guest) */
    uint32_t fwd_cnt, last_fwd_sent;
    uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
    /* guest data the host socket has not taken yet: a ring of VSOCK_DEV_BUF_ALLOC bytes */
    uint8_t *buf;
    uint32_t buf_head, buf_len;
};

struct vsock_conn *vsock_conn_find(struct vsock_dev *dev, uint32_t local_port, uint32_t peer_port);
/* REQUEST from the guest: connect to <uds>_<dst_port>. 0, or negative (the caller sends RST). */
int vsock_conn_guest_connect(struct vsock_dev *dev, const struct virtio_vsock_hdr *h);
/* RESPONSE for a host-initiated connection: tell the host "OK <port>". */
void vsock_conn_accepted(struct vsock_conn *c);
void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags);
/* RW payload: len bytes of segs from offset off. 0, or -EPROTO when the guest overran its
 * credit (the connection is reset). */
int vsock_conn_guest_data(struct vsock_conn *c, const struct vsock_vring_seg *segs, unsigned n,
                          size_t off, uint32_t len);
void vsock_conn_peer_credit(struct vsock_conn *c, uint32_t buf_alloc, uint32_t fwd_cnt);
void vsock_conn_want_op(struct vsock_conn *c, unsigned op);
/* Resets the connection: host socket closed now, RST to the guest queued. */
void vsock_conn_abort(struct vsock_conn *c);
/* Closes the host socket and moves c to the graveyard (no packet is sent). */
void vsock_conn_free(struct vsock_conn *c);
/* Re-evaluates epoll interest and the send list after any change. */
void vsock_conn_changed(struct vsock_conn *c);

/* send list (round-robin over connections with something for the guest) */
struct vsock_conn *vsock_conn_send_pop(struct vsock_dev *dev);
void vsock_conn_send_push_front(struct vsock_conn *c);
bool vsock_conn_has_work(const struct vsock_conn *c);
/* Writes c's next packet into chain. 1 when the chain was used (and pushed), 0 when c had
 * nothing to send after all (the caller gives the chain back). */
int vsock_conn_fill_rx(struct vsock_conn *c, const struct vsock_vring_chain *chain);

/* How long a full listener backlog is waited out before the guest gets its RST. */
#define VSOCK_CONN_RETRY_NS 1000000000ull
/* Retries the connects in RETRY state (part of the deferred work). */
void vsock_dev_retry_connects(struct vsock_dev *dev);

/* from virtio_vsock.c */
int vsock_dev_put_rx(struct vsock_dev *dev, const struct vsock_vring_chain *chain,
                     const struct virtio_vsock_hdr *h, uint32_t payload_len);
/* A host socket changed: fill RX (and resume TX if it was paused). */
void vsock_dev_pump(struct vsock_dev *dev);
/* Starts the deferred-work clock (see vsock_dev_flush_calls) if it is not running. */
void vsock_dev_defer(struct vsock_dev *dev);
/* Queues a CREDIT_UPDATE on every connection with unannounced credit (virtio_vsock_conn.c). */
void vsock_dev_announce_credit(struct vsock_dev *dev);

#endif
