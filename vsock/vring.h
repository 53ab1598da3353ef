/* Guest memory and split virtqueues for a vhost-user backend.
 *
 * The guest is untrusted: every address it writes into a ring is translated through the memory
 * table QEMU sent (vsock_vring_mem), and a buffer is usable only when it lies whole inside one
 * region. Ring fields the guest can change are read once into locals, so a guest racing with
 * us can only hurt itself. Descriptor chains are bounded, indirect descriptors are refused (we
 * never offer VIRTIO_RING_F_INDIRECT_DESC) and EVENT_IDX is not offered either, so the guest
 * always kicks and we always signal unless it sets VRING_AVAIL_F_NO_INTERRUPT. */
#ifndef LCOW_VSOCK_VRING_H
#define LCOW_VSOCK_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "common/error.h"

/* QEMU's VHOST_MEMORY_BASELINE_NREGIONS: SET_MEM_TABLE carries at most this many fds. */
#define VSOCK_VRING_MAX_REGIONS 8
/* Largest queue size a split ring may have (virtio spec: 32768). */
#define VSOCK_VRING_MAX_SIZE 32768
/* Descriptors one chain may use: Linux's vsock driver uses 1 or 2; leave room, stay bounded. */
#define VSOCK_VRING_MAX_CHAIN 64

struct vsock_vring_region {
    uint64_t gpa;  /* guest-physical start */
    uint64_t size; /* bytes */
    uint64_t uva;  /* QEMU's user-space address of the same bytes (ring addresses use it) */
    uint8_t *host; /* our mapping of gpa (map + mmap_offset) */
    void *map;     /* what munmap gets (NULL for memory the caller owns) */
    size_t map_len;
};

struct vsock_vring_mem {
    unsigned n;
    struct vsock_vring_region r[VSOCK_VRING_MAX_REGIONS];
};

/* Our pointer to guest-physical [gpa, gpa+len), or NULL when any byte of it lies outside every
 * region or the range wraps. len 0 is refused too. */
void *vsock_vring_gpa(const struct vsock_vring_mem *m, uint64_t gpa, uint64_t len);
/* The same for a QEMU user-space address (vring addresses from SET_VRING_ADDR). */
void *vsock_vring_uva(const struct vsock_vring_mem *m, uint64_t uva, uint64_t len);

/* Adds a region backed by memory the caller owns (tests, fuzzing); map stays NULL. 0 or
 * -EINVAL (table full, zero size, wrapping range, overlap with an existing region). */
int vsock_vring_mem_add(struct vsock_vring_mem *m, uint64_t gpa, uint64_t size, uint64_t uva,
                        void *host, struct lcow_error **err);
/* Maps `size` bytes of fd at mmap_offset (MAP_SHARED, so the guest's writes are seen) and adds
 * the region; the fd is not kept. */
int vsock_vring_mem_map(struct vsock_vring_mem *m, int fd, uint64_t gpa, uint64_t size,
                        uint64_t uva, uint64_t mmap_offset, struct lcow_error **err);
/* Unmaps every region this table mapped and empties it. */
void vsock_vring_mem_clear(struct vsock_vring_mem *m);

/* One buffer segment of a chain, already translated. */
struct vsock_vring_seg {
    uint8_t *base;
    uint32_t len;
};

/* A popped descriptor chain: the device-readable segments first, then the writable ones. */
struct vsock_vring_chain {
    uint16_t head;
    unsigned n_out, n_in;
    uint64_t out_len, in_len;
    struct vsock_vring_seg out[VSOCK_VRING_MAX_CHAIN];
    struct vsock_vring_seg in[VSOCK_VRING_MAX_CHAIN];
};

struct vsock_vring {
    uint16_t num; /* queue size; 0 until SET_VRING_NUM */
    bool enabled; /* SET_VRING_ENABLE */
    bool started; /* a kick fd arrived and GET_VRING_BASE has not stopped it */
    bool broken;  /* the guest corrupted the ring itself: stop using it until reset */
    uint64_t desc_uva, avail_uva, used_uva;
    struct vring_desc *desc; /* translated from the uvas; NULL until both addr and mem exist */
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t last_avail;  /* next avail entry we will take */
    uint16_t used_idx;    /* next used entry we will fill */
    bool need_call;       /* used entries were added since the last signal */
    uint16_t unsignalled; /* how many */
    int kick_fd, call_fd, err_fd;
};

/* An unconfigured ring with all fds -1. */
void vsock_vring_init(struct vsock_vring *q);
/* Closes the ring's fds and returns it to the vsock_vring_init state. */
void vsock_vring_reset(struct vsock_vring *q);
/* Translates desc/avail/used through m (after SET_VRING_ADDR or a new memory table). 0, or
 * -EFAULT when a ring does not fit in guest memory (the ring is then unusable). */
int vsock_vring_map(struct vsock_vring *q, const struct vsock_vring_mem *m,
                    struct lcow_error **err);
/* True when the ring can carry buffers: sized, mapped, started, enabled and not broken. */
bool vsock_vring_ready(const struct vsock_vring *q);

/* Takes the next available chain.
 * Returns 1 and fills *c; 0 when the guest has offered nothing new; -EINVAL when the chain is
 * malformed (out-of-range index, a loop or over-long chain, zero or out-of-memory length,
 * indirect or readable-after-writable descriptors): the chain was consumed and already returned
 * to the guest as used with length 0; -EIO when the ring itself is corrupt (avail index jumps
 * by more than num, head index out of range): the ring is marked broken. */
int vsock_vring_pop(struct vsock_vring *q, const struct vsock_vring_mem *m,
                    struct vsock_vring_chain *c);
/* Gives the last popped chain back unread (it will be popped again). */
void vsock_vring_unpop(struct vsock_vring *q);
/* Returns chain `head` to the guest with `len` bytes written. */
void vsock_vring_push(struct vsock_vring *q, uint16_t head, uint32_t len);
/* Signals the call fd when used entries were added and the guest did not suppress interrupts. */
void vsock_vring_notify(struct vsock_vring *q);
/* Asks the guest to kick (true) or not to bother (false, while we are draining the ring
 * anyway): VRING_USED_F_NO_NOTIFY. After enabling, re-check vsock_vring_has_avail(). */
void vsock_vring_set_notify(struct vsock_vring *q, bool enable);
/* True when the guest has offered chains we have not taken. */
bool vsock_vring_has_avail(const struct vsock_vring *q);

/* Copies between a flat buffer and a segment list at byte offset `off`. They return the bytes
 * copied (less than len when the segments end first). */
size_t vsock_vring_copy_from(void *dst, const struct vsock_vring_seg *s, unsigned n, size_t off,
                             size_t len);
size_t vsock_vring_copy_to(const struct vsock_vring_seg *s, unsigned n, size_t off, const void *src,
                           size_t len);
/* Fills iov[] (at most max entries) with the segments' bytes from offset `off`, at most len
 * bytes in total. Returns the number of iovec entries used. */
struct iovec;
unsigned vsock_vring_iov(const struct vsock_vring_seg *s, unsigned n, size_t off, size_t len,
                         struct iovec *iov, unsigned max);

#endif
