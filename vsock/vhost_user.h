/* The back-end side of the vhost-user protocol (QEMU's docs/interop/vhost-user.rst) for the
 * virtio-vsock device: one front-end connection, its memory table and the two rings (RX, TX)
 * the device uses. The event queue stays in QEMU.
 *
 * What we offer (test-environment.md §7 records why each bit is there):
 *   features          VIRTIO_F_VERSION_1 | VHOST_USER_F_PROTOCOL_FEATURES (QEMU needs the
 *                     latter); no EVENT_IDX and no INDIRECT_DESC, which we do not implement
 *   protocol features MQ | REPLY_ACK | CONFIG (CONFIG is mandatory for vhost-user-vsock)
 * A message whose payload is wrong for its request fails that request (a NEED_REPLY ack of 1)
 * and the connection goes on; a header we cannot frame (bad version, oversize payload, short
 * read) ends the connection. */
#ifndef LCOW_VSOCK_VHOST_USER_H
#define LCOW_VSOCK_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "vsock/virtio_vsock.h"
#include "vsock/vring.h"

enum vsock_vu_request {
    VSOCK_VU_GET_FEATURES = 1,
    VSOCK_VU_SET_FEATURES = 2,
    VSOCK_VU_SET_OWNER = 3,
    VSOCK_VU_RESET_OWNER = 4,
    VSOCK_VU_SET_MEM_TABLE = 5,
    VSOCK_VU_SET_VRING_NUM = 8,
    VSOCK_VU_SET_VRING_ADDR = 9,
    VSOCK_VU_SET_VRING_BASE = 10,
    VSOCK_VU_GET_VRING_BASE = 11,
    VSOCK_VU_SET_VRING_KICK = 12,
    VSOCK_VU_SET_VRING_CALL = 13,
    VSOCK_VU_SET_VRING_ERR = 14,
    VSOCK_VU_GET_PROTOCOL_FEATURES = 15,
    VSOCK_VU_SET_PROTOCOL_FEATURES = 16,
    VSOCK_VU_GET_QUEUE_NUM = 17,
    VSOCK_VU_SET_VRING_ENABLE = 18,
    VSOCK_VU_GET_CONFIG = 24,
    VSOCK_VU_SET_CONFIG = 25,
    VSOCK_VU_RESET_DEVICE = 34,
    VSOCK_VU_REQUEST_MAX = 40,
};

#define VSOCK_VU_VERSION         0x1u
#define VSOCK_VU_FLAG_REPLY      0x4u
#define VSOCK_VU_FLAG_NEED_REPLY 0x8u
#define VSOCK_VU_HDR_SIZE        12u
#define VSOCK_VU_MAX_PAYLOAD     4096u /* the largest message we take (mem table: 264 bytes) */
#define VSOCK_VU_MAX_FDS         8u
#define VSOCK_VU_VRING_NOFD      0x100u /* in SET_VRING_KICK/CALL/ERR: no fd attached */

#define VSOCK_VU_F_PROTOCOL_FEATURES 30
#define VSOCK_VU_PROTO_F_MQ          0
#define VSOCK_VU_PROTO_F_REPLY_ACK   3
#define VSOCK_VU_PROTO_F_CONFIG      9
#define VSOCK_VU_FEATURES            ((1ull << 32) | (1ull << VSOCK_VU_F_PROTOCOL_FEATURES))
#define VSOCK_VU_PROTOCOL_FEATURES                                                                 \
    ((1ull << VSOCK_VU_PROTO_F_MQ) | (1ull << VSOCK_VU_PROTO_F_REPLY_ACK) |                        \
     (1ull << VSOCK_VU_PROTO_F_CONFIG))

struct vsock_vu;

struct vsock_vu_kick {
    struct vsock_watch watch; /* first */
    struct vsock_vu *vu;
    unsigned index;
};

struct vsock_vu {
    struct vsock_watch watch; /* first: the front-end socket */
    int fd, epfd;
    bool done;     /* the connection ended (EOF or a framing error) */
    int done_code; /* 0 for EOF, else a negative errno */
    char done_msg[256];
    uint64_t features, protocol_features;
    bool owner;
    struct vsock_vring_mem mem;
    struct vsock_vring vq[VSOCK_DEV_NQUEUES];
    struct vsock_vu_kick kick[VSOCK_DEV_NQUEUES];
    unsigned idle_kicks; /* TX kicks that found nothing: the private-memory symptom */
    bool seen_tx;
    struct vsock_dev *dev;
    uint64_t requests, failed_requests;
    char last_error[256]; /* the message of the last failed request */
};

/* Takes fd (a connected front-end socket; ours from now on), registers it in epfd and binds
 * the device. Rings and memory live in vu; dev must have been initialised with &vu->mem,
 * &vu->vq[VSOCK_DEV_RX] and &vu->vq[VSOCK_DEV_TX]. Call vsock_vu_prepare() before
 * vsock_dev_init() to get those fields ready. */
void vsock_vu_prepare(struct vsock_vu *vu);
int vsock_vu_attach(struct vsock_vu *vu, int fd, int epfd, struct vsock_dev *dev,
                    struct lcow_error **err);
/* Reads and handles one message. 0 (including a failed request, see last_error), or a
 * negative errno when the connection has ended: -ECONNRESET for EOF, -EPROTO for framing. */
int vsock_vu_handle_one(struct vsock_vu *vu, struct lcow_error **err);
/* Closes the connection, the ring fds and the memory mappings. */
void vsock_vu_destroy(struct vsock_vu *vu);
/* True when the guest kicks TX but never offers a buffer: QEMU's memory is not shared. */
bool vsock_vu_memory_suspect(const struct vsock_vu *vu);

#endif
