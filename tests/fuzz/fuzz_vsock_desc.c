/* libFuzzer target for the guest-facing path of vhost-user-vsock: the input becomes the whole
 * guest memory (descriptor tables, avail rings, packet headers and payloads), and the device
 * then processes both rings. Whatever the guest wrote, the back end must neither crash nor
 * touch memory outside the region (ASan checks that), and every connection it opens must be
 * released by a reset. A listener at <uds>_1 lets REQUESTs to port 1 create real connections. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vsock/virtio_vsock.h"
#include "vsock/vring.h"

#define MEM_SIZE (64u * 1024)
#define QNUM     8

static uint8_t ram[MEM_SIZE] __attribute__((aligned(4096)));
static struct vsock_vring_mem mem;
static struct vsock_vring rx, tx;
static struct vsock_dev dev;
static int epfd = -1, lfd = -1;
static char dir[64];

static void cleanup(void)
{
    vsock_dev_destroy(&dev);
    char p[128];
    snprintf(p, sizeof(p), "%s/v_1", dir);
    unlink(p);
    rmdir(dir);
}

static void init_once(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fuzz-vsock.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    char uds[96];
    snprintf(uds, sizeof(uds), "%s/v", dir);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (vsock_vring_mem_add(&mem, 0, MEM_SIZE, 0x10000000, ram, NULL) < 0)
        abort();
    vsock_vring_init(&rx);
    vsock_vring_init(&tx);
    if (vsock_dev_init(&dev, epfd, 3, uds, &mem, &rx, &tx, NULL) < 0)
        abort();
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", uds);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0)
        abort();
    atexit(cleanup);
}

static void setup_ring(struct vsock_vring *q, uint64_t base)
{
    q->num = QNUM;
    q->desc_uva = 0x10000000 + base;
    q->avail_uva = 0x10000000 + base + 0x100;
    q->used_uva = 0x10000000 + base + 0x200;
    q->last_avail = q->used_idx = 0;
    q->started = q->enabled = true;
    q->broken = false;
    if (vsock_vring_map(q, &mem, NULL) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (epfd < 0)
        init_once();
    memset(ram, 0, sizeof(ram));
    memcpy(ram, data, size < sizeof(ram) ? size : sizeof(ram));
    setup_ring(&tx, 0x0000);
    setup_ring(&rx, 0x0400);
    vsock_dev_kick_tx(&dev);
    vsock_dev_kick_rx(&dev);
    /* host events the packets caused (connections accepted at <uds>_1, data to flush) */
    struct epoll_event ev[16];
    int n = epoll_wait(epfd, ev, 16, 0);
    for (int i = 0; i < n; i++) {
        struct vsock_watch *w = ev[i].data.ptr;
        w->handle(w, ev[i].events);
    }
    vsock_dev_reset(&dev);
    vsock_dev_reap(&dev);
    for (int fd; (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
        close(fd);
    return 0;
}
