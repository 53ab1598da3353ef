/* libFuzzer target for the guest-facing path of vhost-user-vsock: the input becomes the whole
 * guest memory (descriptor tables, avail rings, packet headers and payloads), and the device
 * then processes both rings. Whatever the guest wrote, the back end must neither crash nor
 * touch memory outside the region (ASan checks that), and every connection it opens must be
 * released by a reset. A listener at <uds>_1 lets REQUESTs to port 1 create real connections.
 *
 * An input starting with 'V' is instead a byte stream from the vhost-user front end (without
 * fds): every message is framed and handled until the stream ends, so the request handlers
 * see arbitrary sizes, indices and payloads. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "vsock/vhost_user.h"
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

static void remove_dir(const char *d)
{
    static const char *const names[] = {"v", "v_1", "u"};
    char p[320];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", d, names[i]);
        unlink(p);
    }
    rmdir(d);
}

static void cleanup(void)
{
    vsock_dev_destroy(&dev);
    remove_dir(dir);
}

/* libFuzzer may leave without running atexit handlers: directories of runs whose process is
 * gone are removed by the next run. */
static void remove_stale_dirs(void)
{
    DIR *t = opendir("/tmp");
    struct dirent *e;
    while (t && (e = readdir(t))) {
        int pid;
        char d[300];
        if (sscanf(e->d_name, "fuzz-vsock.%d", &pid) != 1 || pid <= 0)
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(d, sizeof(d), "/tmp/%s", e->d_name);
        remove_dir(d);
    }
    if (t)
        closedir(t);
}

static void init_once(void)
{
    remove_stale_dirs();
    snprintf(dir, sizeof(dir), "/tmp/fuzz-vsock.%d", (int)getpid());
    remove_dir(dir);
    if (mkdir(dir, 0700) < 0)
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

/* The vhost-user side: a fresh back-end connection per input, on its own device. */
static struct vsock_vu vu;
static struct vsock_dev vu_dev;
static int vu_epfd = -1;

static void drain(int fd)
{
    char buf[4096];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

static void fuzz_vhost_user(const uint8_t *data, size_t size)
{
    if (vu_epfd < 0) {
        char uds[96];
        snprintf(uds, sizeof(uds), "%s/u", dir);
        vu_epfd = epoll_create1(EPOLL_CLOEXEC);
        vsock_vu_prepare(&vu);
        if (vsock_dev_init(&vu_dev, vu_epfd, 3, uds, &vu.mem, &vu.vq[VSOCK_DEV_RX],
                           &vu.vq[VSOCK_DEV_TX], NULL) < 0)
            abort();
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    vsock_vu_prepare(&vu);
    if (vsock_vu_attach(&vu, sv[1], vu_epfd, &vu_dev, NULL) < 0)
        abort();
    /* The whole stream first (64 KiB fits a Unix socket's buffer), so no message waits for
     * bytes still to come; then handle until EOF, draining the replies as they come. */
    if (size > 65536)
        size = 65536;
    for (size_t off = 0; off < size;) {
        ssize_t w = send(sv[0], data + off, size - off, 0);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    shutdown(sv[0], SHUT_WR);
    while (!vu.done) {
        (void)vsock_vu_handle_one(&vu, NULL);
        drain(sv[0]);
    }
    vsock_vu_destroy(&vu);
    vsock_dev_reap(&vu_dev);
    close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (epfd < 0)
        init_once();
    if (size > 0 && data[0] == 'V') {
        fuzz_vhost_user(data + 1, size - 1);
        return 0;
    }
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
