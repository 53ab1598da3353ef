/* The virtio-vsock device behind our vhost-user backend: stream connections between the guest
 * and host Unix sockets, with Firecracker's "hybrid vsock" mapping (design.md §4):
 *   guest connect to host port P  -> connect to the Unix socket <uds>_P (none: RST to the guest)
 *   host connect to <uds>, writes "CONNECT P\n" -> guest listener on port P; the host reads
 *                                  "OK <host port>\n" once the guest accepted
 * Single-threaded and event driven: the device registers its sockets in the caller's epoll set
 * and every fd event, ring kick and ring change comes back through the functions below.
 *
 * Flow control follows the virtio spec's credit scheme both ways: we advertise a fixed buffer
 * per connection (VSOCK_DEV_BUF_ALLOC) and hold at most that much guest data for a slow host
 * reader (a guest that sends past its credit is reset); we read a host socket only while the
 * guest has credit and RX buffers for it. Credit we free is announced when the guest's view of
 * our buffer is half full, or by the idle flush (vsock_dev_flush_calls). Packets the device
 * must send while the guest offers no RX buffers are bounded: past VSOCK_DEV_MAX_PENDING
 * replies we stop reading the TX ring, which pushes back on the guest as kernel vhost-vsock
 * does.
 *
 * The guest is untrusted: malformed packets (short header, wrong CID, bad type, unknown op,
 * len beyond the buffer or the packet limit) are answered with RST when they are not RST
 * themselves, and never reach a host socket. */
#ifndef LCOW_VSOCK_VIRTIO_VSOCK_H
#define LCOW_VSOCK_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <linux/virtio_vsock.h>

#include "common/error.h"
#include "vsock/vring.h"

#define VSOCK_DEV_HDR_SIZE    ((uint32_t)sizeof(struct virtio_vsock_hdr)) /* 44 */
#define VSOCK_DEV_BUF_ALLOC   (1024u * 1024) /* credit we give the guest per connection */
#define VSOCK_DEV_MAX_PKT     (64u * 1024)   /* payload limit of one packet (Linux's too) */
#define VSOCK_DEV_MAX_PENDING 256            /* queued replies before the TX ring is paused */
#define VSOCK_DEV_MAX_CONNS   1024           /* x BUF_ALLOC: at most 1 GiB held for slow readers */
#define VSOCK_DEV_RX          0
#define VSOCK_DEV_TX          1
#define VSOCK_DEV_NQUEUES     2 /* the event queue stays in QEMU */
#define VSOCK_DEV_HASH        256

/* An epoll registration: data.ptr of every event we add points at one of these. */
struct vsock_watch {
    void (*handle)(struct vsock_watch *w, uint32_t events);
};

struct vsock_conn;

struct vsock_dev {
    uint64_t guest_cid;
    char uds[sizeof(((struct sockaddr_un *)0)->sun_path) - 12]; /* base path; room for _PORT */
    int epfd;
    int listen_fd; /* <uds>, host-initiated connections */
    struct vsock_watch listen_watch;
    struct vsock_vring_mem *mem;  /* owned by the vhost-user side */
    struct vsock_vring *rx, *tx;  /* likewise */
    struct vsock_conn *conns;     /* every live connection */
    struct vsock_conn *graveyard; /* freed, awaiting vsock_dev_reap() */
    struct vsock_conn *hash[VSOCK_DEV_HASH];
    struct vsock_conn *send_head, *send_tail; /* connections with something to send to the guest */
    unsigned nconns;
    uint32_t next_local_port;
    /* replies for packets without a connection (RST to unknown ports), bounded */
    struct virtio_vsock_hdr pending[VSOCK_DEV_MAX_PENDING];
    unsigned npending;
    unsigned long long calls_since_ns; /* when deferred TX completions started waiting */
    bool tx_yield;                     /* TX used its budget; a self-kick brings us back */
    bool credit_owed;                  /* some connection consumed data it did not announce */
    bool retrying;                     /* some guest connect waits for a listener's backlog */
    /* counters for tests and logs */
    uint64_t stat_rx_pkts, stat_tx_pkts, stat_bad_pkts, stat_bad_chains;
};

/* Sets up dev: listens on `uds` (replacing a stale socket file) and registers it in epfd.
 * rx/tx/mem stay owned by the caller and may be unconfigured until the rings start. */
int vsock_dev_init(struct vsock_dev *dev, int epfd, uint64_t guest_cid, const char *uds,
                   struct vsock_vring_mem *mem, struct vsock_vring *rx, struct vsock_vring *tx,
                   struct lcow_error **err);
/* Closes every connection and the listener and unlinks <uds>. */
void vsock_dev_destroy(struct vsock_dev *dev);
/* Drops every connection (host sockets closed, pending replies discarded): the guest's driver
 * was reset or the device stopped, so no guest socket survives. */
void vsock_dev_reset(struct vsock_dev *dev);

/* Deferred work, done when the caller's loop has been idle for a millisecond (`idle`) or the
 * oldest item has waited VSOCK_DEV_CALL_DELAY_NS; call vsock_dev_flush_calls() after every
 * event batch, and wait at most 1 ms in epoll while vsock_dev_calls_pending():
 *  - TX completions are signalled in batches (the guest only frees its sent buffers on them,
 *    and each interrupt costs it an exit);
 *  - credit we freed but did not announce yet (updates normally wait until the guest's view
 *    of our buffer is half full) is announced, so a guest that never fills our window, or
 *    that stops short of it, is not left waiting for credit;
 *  - guest connects that met a full listener backlog are retried. */
#define VSOCK_DEV_CALL_DELAY_NS 1000000ull
bool vsock_dev_calls_pending(const struct vsock_dev *dev);
void vsock_dev_flush_calls(struct vsock_dev *dev, bool idle);

/* Frees the connections closed since the last call; call it after each epoll batch, when no
 * fetched event can still point at them. */
void vsock_dev_reap(struct vsock_dev *dev);

/* The guest kicked (or a ring became usable): process what the rings offer. */
void vsock_dev_kick_tx(struct vsock_dev *dev);
void vsock_dev_kick_rx(struct vsock_dev *dev);

/* Exposed for the unit tests and the fuzzer: handles one TX chain. */
void vsock_dev_handle_tx_chain(struct vsock_dev *dev, const struct vsock_vring_chain *c);
/* Number of live connections. */
unsigned vsock_dev_nconns(const struct vsock_dev *dev);

#endif
