/* The vhost-user back end and the virtio-vsock device, driven by a fake front end in C: the
 * test plays QEMU (vhost-user messages over a socketpair, a memfd as guest memory, eventfds for
 * kicks and calls) and the guest driver (it fills the rings itself). Covers malformed messages
 * (each fails alone, fds are not leaked, the connection goes on), framing errors (the connection
 * ends), the packet path (REQUEST/RESPONSE/RW/SHUTDOWN/RST/CREDIT_*), malformed packets (RST),
 * credit overrun (RST), host CONNECT, credit-limited host->guest flow and device stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vhost_types.h>
#include <linux/vm_sockets.h>

#include "common/cleanup.h"
#include "vsock/vhost_user.h"
#include "vsock/virtio_vsock.h"
#include "vsock/virtio_vsock_conn.h"

#define RAM_SIZE  (4u << 20)
#define UVA_BASE  0x7f1200000000ull
#define QSIZE     16
#define RXBUF     4096
#define TXSLOT    0x11000
#define GUEST_CID 3

static const uint64_t ring_off[2][3] = {{0x0, 0x1000, 0x2000}, {0x3000, 0x4000, 0x5000}};
#define RXBUF_OFF 0x10000
#define TXBUF_OFF 0x40000

struct fe {
    int sock;
    int epfd;
    struct vsock_vu vu;
    struct vsock_dev dev;
    int memfd;
    uint8_t *ram;
    int kick[2], call[2];
    char dir[32], uds[64];
    uint16_t avail[2], used_seen[2];
    unsigned tx_slot;
};

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* ---- the front end's side of vhost-user ---- */

static void send_msg(struct fe *f, uint32_t req, uint32_t flags, const void *p, uint32_t size,
                     const int *fds, unsigned nfds)
{
    uint32_t hdr[3] = {req, flags, size};
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)p, size}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
    if (nfds) {
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    assert_int_equal(sendmsg(f->sock, &mh, 0), (ssize_t)(sizeof(hdr) + size));
}

/* Sends, lets the back end handle it, and returns the reply payload size (-1: no reply). */
static int call(struct fe *f, uint32_t req, uint32_t flags, const void *p, uint32_t size,
                const int *fds, unsigned nfds, void *reply, size_t cap)
{
    send_msg(f, req, VSOCK_VU_VERSION | flags, p, size, fds, nfds);
    assert_int_equal(vsock_vu_handle_one(&f->vu, NULL), 0);
    uint32_t hdr[3];
    ssize_t n = recv(f->sock, hdr, sizeof(hdr), MSG_DONTWAIT);
    if (n < 0)
        return -1;
    assert_int_equal(n, sizeof(hdr));
    assert_int_equal(hdr[0], req);
    assert_int_equal(hdr[1], VSOCK_VU_VERSION | VSOCK_VU_FLAG_REPLY);
    assert_true(hdr[2] <= cap);
    if (hdr[2])
        assert_int_equal(recv(f->sock, reply, hdr[2], MSG_DONTWAIT), hdr[2]);
    return (int)hdr[2];
}

/* A request that must fail: with NEED_REPLY the ack is 1 and the connection continues. */
static void call_fails(struct fe *f, uint32_t req, const void *p, uint32_t size, const int *fds,
                       unsigned nfds)
{
    uint64_t ack = 0;
    uint64_t before = f->vu.failed_requests;
    assert_int_equal(call(f, req, VSOCK_VU_FLAG_NEED_REPLY, p, size, fds, nfds, &ack, sizeof(ack)),
                     8);
    assert_int_equal(ack, 1);
    assert_int_equal(f->vu.failed_requests, before + 1);
    assert_false(f->vu.done);
}

static void call_ok(struct fe *f, uint32_t req, const void *p, uint32_t size, const int *fds,
                    unsigned nfds)
{
    uint64_t ack = 1;
    assert_int_equal(call(f, req, VSOCK_VU_FLAG_NEED_REPLY, p, size, fds, nfds, &ack, sizeof(ack)),
                     8);
    if (ack != 0)
        fail_msg("request %u failed: %s", req, f->vu.last_error);
}

static uint64_t call_u64(struct fe *f, uint32_t req)
{
    uint64_t v = 0;
    assert_int_equal(call(f, req, 0, NULL, 0, NULL, 0, &v, sizeof(v)), 8);
    return v;
}

struct mem_msg {
    uint32_t n, pad;
    uint64_t gpa, size, uva, off;
};

static int setup(void **state)
{
    struct fe *f = calloc(1, sizeof(*f));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    f->sock = sv[0];
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-vhost.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->uds, sizeof(f->uds), "%s/v.sock", f->dir);
    vsock_vu_prepare(&f->vu);
    assert_int_equal(vsock_dev_init(&f->dev, f->epfd, GUEST_CID, f->uds, &f->vu.mem,
                                    &f->vu.vq[VSOCK_DEV_RX], &f->vu.vq[VSOCK_DEV_TX], NULL),
                     0);
    assert_int_equal(vsock_vu_attach(&f->vu, sv[1], f->epfd, &f->dev, NULL), 0);
    f->memfd = memfd_create("guest", MFD_CLOEXEC);
    assert_int_equal(ftruncate(f->memfd, RAM_SIZE), 0);
    f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
    assert_true(f->ram != MAP_FAILED);
    for (int i = 0; i < 2; i++) {
        f->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        f->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fe *f = *state;
    vsock_vu_destroy(&f->vu);
    vsock_dev_destroy(&f->dev);
    close(f->sock);
    close(f->epfd);
    close(f->memfd);
    munmap(f->ram, RAM_SIZE);
    for (int i = 0; i < 2; i++) {
        close(f->kick[i]);
        close(f->call[i]);
    }
    char p[512];
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Feature negotiation; acks exist only once REPLY_ACK is negotiated, so these go without. */
static void negotiate(struct fe *f)
{
    uint64_t failed = f->vu.failed_requests;
    assert_int_equal(call_u64(f, VSOCK_VU_GET_FEATURES), VSOCK_VU_FEATURES);
    uint64_t v = VSOCK_VU_FEATURES;
    assert_int_equal(call(f, VSOCK_VU_SET_FEATURES, 0, &v, 8, NULL, 0, NULL, 0), -1);
    assert_int_equal(call_u64(f, VSOCK_VU_GET_PROTOCOL_FEATURES), VSOCK_VU_PROTOCOL_FEATURES);
    v = VSOCK_VU_PROTOCOL_FEATURES;
    assert_int_equal(call(f, VSOCK_VU_SET_PROTOCOL_FEATURES, 0, &v, 8, NULL, 0, NULL, 0), -1);
    assert_int_equal(f->vu.failed_requests, failed);
}

/* QEMU's start sequence (test-environment.md §7). */
static void start_device(struct fe *f)
{
    negotiate(f);
    call_ok(f, VSOCK_VU_SET_OWNER, NULL, 0, NULL, 0);
    struct mem_msg mm = {1, 0, 0, RAM_SIZE, UVA_BASE, 0};
    call_ok(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &f->memfd, 1);
    for (unsigned q = 0; q < 2; q++) {
        struct vhost_vring_state s = {q, QSIZE};
        call_ok(f, VSOCK_VU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
        s.num = 0;
        call_ok(f, VSOCK_VU_SET_VRING_BASE, &s, sizeof(s), NULL, 0);
        struct vhost_vring_addr a = {.index = q,
                                     .desc_user_addr = UVA_BASE + ring_off[q][0],
                                     .avail_user_addr = UVA_BASE + ring_off[q][1],
                                     .used_user_addr = UVA_BASE + ring_off[q][2]};
        call_ok(f, VSOCK_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
        uint64_t idx = q;
        call_ok(f, VSOCK_VU_SET_VRING_KICK, &idx, 8, &f->kick[q], 1);
        call_ok(f, VSOCK_VU_SET_VRING_CALL, &idx, 8, &f->call[q], 1);
        s.num = 1;
        call_ok(f, VSOCK_VU_SET_VRING_ENABLE, &s, sizeof(s), NULL, 0);
    }
}

/* ---- the guest driver's side ---- */

static struct vring_desc *gdesc(struct fe *f, unsigned q)
{
    return (struct vring_desc *)(f->ram + ring_off[q][0]);
}
static struct vring_avail *gavail(struct fe *f, unsigned q)
{
    return (struct vring_avail *)(f->ram + ring_off[q][1]);
}
static struct vring_used *gused(struct fe *f, unsigned q)
{
    return (struct vring_used *)(f->ram + ring_off[q][2]);
}

static void offer(struct fe *f, unsigned q, uint16_t head)
{
    gavail(f, q)->ring[f->avail[q] % QSIZE] = head;
    f->avail[q]++;
    __atomic_store_n(&gavail(f, q)->idx, f->avail[q], __ATOMIC_RELEASE);
}

/* Runs the back end's event loop until it is idle. */
static void pump(struct fe *f)
{
    struct epoll_event ev[16];
    for (int round = 0; round < 100; round++) {
        int n = epoll_wait(f->epfd, ev, 16, 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            struct vsock_watch *w = ev[i].data.ptr;
            if (w == &f->vu.watch)
                continue; /* the test calls vsock_vu_handle_one itself */
            w->handle(w, ev[i].events);
        }
        vsock_dev_reap(&f->dev);
    }
}

static void fill_rx(struct fe *f)
{
    for (uint16_t i = 0; i < QSIZE; i++) {
        gdesc(f, 0)[i] = (struct vring_desc){RXBUF_OFF + i * RXBUF, RXBUF, VRING_DESC_F_WRITE, 0};
        offer(f, 0, i);
    }
    eventfd_write(f->kick[0], 1);
    pump(f);
}

static struct virtio_vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
    return (struct virtio_vsock_hdr){.src_cid = GUEST_CID,
                                     .dst_cid = VMADDR_CID_HOST,
                                     .src_port = src_port,
                                     .dst_port = dst_port,
                                     .len = len,
                                     .type = VIRTIO_VSOCK_TYPE_STREAM,
                                     .op = op,
                                     .buf_alloc = 65536};
}

/* Puts a packet on TX (header and payload in separate descriptors, as Linux does) and kicks. */
static void g_send(struct fe *f, const struct virtio_vsock_hdr *h, const void *data, uint32_t len)
{
    uint16_t slot = (uint16_t)(f->tx_slot++ % (QSIZE / 2));
    uint64_t off = TXBUF_OFF + slot * (uint64_t)TXSLOT;
    memcpy(f->ram + off, h, sizeof(*h));
    if (len)
        memcpy(f->ram + off + 64, data, len);
    uint16_t d = (uint16_t)(slot * 2);
    gdesc(f, 1)[d] =
        (struct vring_desc){off, sizeof(*h), len ? VRING_DESC_F_NEXT : 0, (uint16_t)(d + 1)};
    gdesc(f, 1)[d + 1] = (struct vring_desc){off + 64, len, 0, 0};
    offer(f, 1, d);
    eventfd_write(f->kick[1], 1);
    pump(f);
}

/* Takes the next packet the device put on RX (and gives the buffer back). 1 or 0. */
static int g_recv(struct fe *f, struct virtio_vsock_hdr *h, void *data, size_t cap, uint32_t *len)
{
    if (__atomic_load_n(&gused(f, 0)->idx, __ATOMIC_ACQUIRE) == f->used_seen[0])
        return 0;
    struct vring_used_elem e = gused(f, 0)->ring[f->used_seen[0] % QSIZE];
    f->used_seen[0]++;
    assert_true(e.id < QSIZE);
    assert_true(e.len >= sizeof(*h) && e.len <= RXBUF);
    uint8_t *buf = f->ram + RXBUF_OFF + e.id * RXBUF;
    memcpy(h, buf, sizeof(*h));
    assert_int_equal(h->len, e.len - sizeof(*h));
    assert_true(h->len <= cap);
    if (data)
        memcpy(data, buf + sizeof(*h), h->len);
    if (len)
        *len = h->len;
    assert_int_equal(h->src_cid, VMADDR_CID_HOST);
    assert_int_equal(h->dst_cid, GUEST_CID);
    offer(f, 0, (uint16_t)e.id);
    eventfd_write(f->kick[0], 1);
    return 1;
}

static void expect_op(struct fe *f, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
    struct virtio_vsock_hdr h;
    pump(f);
    if (!g_recv(f, &h, NULL, RXBUF, NULL))
        fail_msg("no packet on RX, expected op %u", op);
    assert_int_equal(h.op, op);
    assert_int_equal(h.src_port, src_port);
    assert_int_equal(h.dst_port, dst_port);
}

static void expect_nothing(struct fe *f)
{
    struct virtio_vsock_hdr h;
    pump(f);
    assert_int_equal(g_recv(f, &h, NULL, RXBUF, NULL), 0);
}

static ssize_t vt_read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int host_listen(struct fe *f, unsigned port)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", f->uds, port);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    return fd;
}

/* Guest connects to host port `port` (listener lfd); returns the host's accepted fd. */
static int establish(struct fe *f, int lfd, uint32_t gport, uint32_t port)
{
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, gport, port, 0);
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RESPONSE, port, gport);
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* ---- tests ---- */

static void test_negotiation(void **state)
{
    struct fe *f = *state;
    start_device(f);
    assert_int_equal(call_u64(f, VSOCK_VU_GET_QUEUE_NUM), 2);
    uint8_t cfg[20] = {0};
    uint32_t req[3] = {0, 8, 0};
    memcpy(cfg, req, 12);
    uint8_t reply[64];
    assert_int_equal(call(f, VSOCK_VU_GET_CONFIG, 0, cfg, 20, NULL, 0, reply, sizeof(reply)), 20);
    uint64_t cid;
    memcpy(&cid, reply + 12, 8);
    assert_int_equal(cid, GUEST_CID);
    /* outside the 8-byte config: an empty reply */
    req[0] = 4;
    memcpy(cfg, req, 12);
    assert_int_equal(call(f, VSOCK_VU_GET_CONFIG, 0, cfg, 20, NULL, 0, reply, sizeof(reply)), 0);
    assert_false(f->vu.done);
}

static void test_malformed_requests(void **state)
{
    struct fe *f = *state;
    negotiate(f);
    int fds_before = count_fds();
    uint64_t v = 1ull << 29; /* EVENT_IDX: never offered */
    call_fails(f, VSOCK_VU_SET_FEATURES, &v, 8, NULL, 0);
    call_fails(f, VSOCK_VU_SET_FEATURES, &v, 4, NULL, 0); /* short payload */
    v = 1ull << 13;
    call_fails(f, VSOCK_VU_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0);
    /* memory tables: no region, too many, fd count mismatch, region past the memfd's end */
    struct mem_msg mm = {0, 0, 0, RAM_SIZE, UVA_BASE, 0};
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &f->memfd, 1);
    mm.n = 9;
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &f->memfd, 1);
    mm.n = 1;
    int two[2] = {f->memfd, f->memfd};
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), two, 2);
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), NULL, 0);
    mm.size = (uint64_t)RAM_SIZE * 2;
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &f->memfd, 1);
    mm.size = RAM_SIZE;
    mm.off = UINT64_MAX - 10;
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &f->memfd, 1);
    int pipefd[2];
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    mm.off = 0;
    call_fails(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &pipefd[0], 1); /* not mappable */
    close(pipefd[0]);
    close(pipefd[1]);
    /* rings: bad sizes, bad index, addresses outside memory, misaligned */
    struct vhost_vring_state s = {0, 3};
    call_fails(f, VSOCK_VU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    s.num = 0;
    call_fails(f, VSOCK_VU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    s.num = 65536;
    call_fails(f, VSOCK_VU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    s = (struct vhost_vring_state){2, 16};
    call_fails(f, VSOCK_VU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    s = (struct vhost_vring_state){0, 70000};
    call_fails(f, VSOCK_VU_SET_VRING_BASE, &s, sizeof(s), NULL, 0);
    s = (struct vhost_vring_state){0, 7};
    call_fails(f, VSOCK_VU_SET_VRING_ENABLE, &s, sizeof(s), NULL, 0);
    mm = (struct mem_msg){1, 0, 0, RAM_SIZE, UVA_BASE, 0};
    call_ok(f, VSOCK_VU_SET_MEM_TABLE, &mm, sizeof(mm), &f->memfd, 1);
    s = (struct vhost_vring_state){0, 1024};
    call_ok(f, VSOCK_VU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    struct vhost_vring_addr a = {.index = 0,
                                 .desc_user_addr = UVA_BASE + RAM_SIZE - 4096,
                                 .avail_user_addr = UVA_BASE,
                                 .used_user_addr = UVA_BASE + 0x1000};
    call_fails(f, VSOCK_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    a.desc_user_addr = 0x1000; /* not a QEMU address at all */
    call_fails(f, VSOCK_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    a.desc_user_addr = UVA_BASE + 8;
    call_fails(f, VSOCK_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    assert_null(f->vu.vq[0].desc);
    /* vring fds: NOFD flag without fd for a kick (polling unsupported), fd with NOFD flag,
     * index out of range */
    uint64_t idx = VSOCK_VU_VRING_NOFD;
    call_fails(f, VSOCK_VU_SET_VRING_KICK, &idx, 8, NULL, 0);
    call_fails(f, VSOCK_VU_SET_VRING_CALL, &idx, 8, &f->call[0], 1);
    idx = 0;
    call_fails(f, VSOCK_VU_SET_VRING_CALL, &idx, 8, NULL, 0);
    idx = 7;
    call_fails(f, VSOCK_VU_SET_VRING_ERR, &idx, 8, &f->call[0], 1);
    call_fails(f, VSOCK_VU_SET_CONFIG, "abcdefghijklmnopqrst", 20, NULL, 0);
    call_fails(f, 99, "x", 1, &f->call[1], 1); /* unknown request, with an fd */
    /* GET_VRING_BASE always answers, even for a bad index */
    s = (struct vhost_vring_state){9, 0};
    struct vhost_vring_state r;
    assert_int_equal(call(f, VSOCK_VU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0, &r, sizeof(r)),
                     sizeof(r));
    /* every fd sent with a failed request was closed again */
    assert_int_equal(count_fds(), fds_before);
    /* and after all that, the device still starts and works */
    start_device(f);
    fill_rx(f);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1000, 4321, 0);
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 4321, 1000);
}

static void test_framing_bad_version(void **state)
{
    struct fe *f = *state;
    uint64_t v = 0;
    send_msg(f, VSOCK_VU_SET_FEATURES, 0x2, &v, 8, NULL, 0);
    assert_int_equal(vsock_vu_handle_one(&f->vu, NULL), -EPROTO);
    assert_true(f->vu.done);
}

static void test_framing_oversize(void **state)
{
    struct fe *f = *state;
    uint32_t hdr3[3] = {VSOCK_VU_SET_MEM_TABLE, VSOCK_VU_VERSION, 1u << 30};
    assert_int_equal(write(f->sock, hdr3, sizeof(hdr3)), sizeof(hdr3));
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(vsock_vu_handle_one(&f->vu, &err), -EPROTO);
    assert_non_null(strstr(lcow_error_message(err), "too large"));
}

static void test_framing_truncated(void **state)
{
    struct fe *f = *state;
    uint32_t msg[4] = {VSOCK_VU_SET_FEATURES, VSOCK_VU_VERSION, 8, 0};
    int memfd = dup3(f->memfd, 100, O_CLOEXEC) < 0 ? -1 : 100;
    int fds_before = count_fds();
    send_msg(f, VSOCK_VU_SET_MEM_TABLE, VSOCK_VU_VERSION, NULL, 0, &memfd, 1);
    close(memfd);
    /* the fd came with a message that wants none: it is closed, not kept */
    assert_int_equal(vsock_vu_handle_one(&f->vu, NULL), 0);
    assert_int_equal(count_fds(), fds_before - 1);
    assert_int_equal(write(f->sock, msg, 14), 14); /* 2 of 8 payload bytes */
    shutdown(f->sock, SHUT_WR);
    assert_int_equal(vsock_vu_handle_one(&f->vu, NULL), -EPROTO);
}

static void test_framing_eof(void **state)
{
    struct fe *f = *state;
    shutdown(f->sock, SHUT_WR);
    assert_int_equal(vsock_vu_handle_one(&f->vu, NULL), -ECONNRESET);
    assert_true(f->vu.done);
    assert_int_equal(f->vu.done_code, -ECONNRESET);
}

static void test_no_listener_rst(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1025, 5000, 0);
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5000, 1025);
    assert_int_equal(vsock_dev_nconns(&f->dev), 0);
    /* and the guest was signalled for RX at once */
    eventfd_t v = 0;
    assert_int_equal(eventfd_read(f->call[0], &v), 0);
    /* TX completions wait for a batch or an idle loop */
    assert_true(vsock_dev_calls_pending(&f->dev));
    assert_int_equal(eventfd_read(f->call[1], &v), -1);
    vsock_dev_flush_calls(&f->dev, true);
    assert_int_equal(eventfd_read(f->call[1], &v), 0);
    assert_false(vsock_dev_calls_pending(&f->dev));
    /* a quarter of the ring is signalled without waiting */
    for (uint32_t i = 0; i < QSIZE / 4; i++) {
        h = hdr(VIRTIO_VSOCK_OP_RST, 1025, 5000, 0);
        g_send(f, &h, NULL, 0);
    }
    assert_int_equal(eventfd_read(f->call[1], &v), 0);
}

static void test_guest_connect_data_close(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5000);
    cleanup_close int hfd = establish(f, lfd, 1030, 5000);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, 1030, 5000, 5);
    g_send(f, &h, "hello", 5);
    char buf[64] = {0};
    assert_int_equal(read(hfd, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "hello");
    assert_int_equal(write(hfd, "world!", 6), 6);
    pump(f);
    uint32_t len = 0;
    assert_int_equal(g_recv(f, &h, buf, sizeof(buf), &len), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "world!", 6);
    assert_int_equal(h.buf_alloc, VSOCK_DEV_BUF_ALLOC);
    assert_int_equal(h.fwd_cnt, 5); /* the 5 bytes we passed on */
    /* guest half-close: the host reads EOF and can still answer */
    h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1030, 5000, 0);
    h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
    g_send(f, &h, NULL, 0);
    assert_int_equal(read(hfd, buf, sizeof(buf)), 0);
    assert_int_equal(write(hfd, "late", 4), 4);
    pump(f);
    assert_int_equal(g_recv(f, &h, buf, sizeof(buf), &len), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_int_equal(len, 4);
    /* host closes: the guest gets SHUTDOWN (no more sends, and it already stopped) */
    shutdown(hfd, SHUT_WR);
    pump(f);
    assert_int_equal(g_recv(f, &h, NULL, sizeof(buf), NULL), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
    assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV);
    /* guest closes its socket: RST back, the connection is gone */
    h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1030, 5000, 0);
    h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV;
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5000, 1030);
    assert_int_equal(vsock_dev_nconns(&f->dev), 0);
}

static void test_guest_rst_closes_host(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5001);
    cleanup_close int hfd = establish(f, lfd, 1031, 5001);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RST, 1031, 5001, 0);
    g_send(f, &h, NULL, 0);
    char c;
    assert_int_equal(read(hfd, &c, 1), 0);
    expect_nothing(f); /* no answer to an RST */
    assert_int_equal(vsock_dev_nconns(&f->dev), 0);
}

static void test_malformed_packets(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5002);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1040, 5002, 0);
    h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1040);
    h = hdr(9, 1041, 5002, 0); /* unknown op */
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1041);
    h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1042, 5002, 0);
    h.src_cid = 77; /* spoofed source */
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1042);
    h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1043, 5002, 0);
    h.dst_cid = 1;
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1043);
    h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1044, 5002, 10); /* control op with a payload */
    g_send(f, &h, "0123456789", 10);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1044);
    h = hdr(VIRTIO_VSOCK_OP_RW, 1045, 5002, 100); /* data on no connection */
    g_send(f, &h, "x", 1);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1045);
    h = hdr(VIRTIO_VSOCK_OP_RST, 1046, 5002, 0); /* RST to nothing: ignored */
    g_send(f, &h, NULL, 0);
    expect_nothing(f);
    assert_int_equal(vsock_dev_nconns(&f->dev), 0);
    /* a payload length beyond the buffer, on a live connection: RST, and host side closed */
    cleanup_close int hfd = establish(f, lfd, 1047, 5002);
    h = hdr(VIRTIO_VSOCK_OP_RW, 1047, 5002, 0xffff0000u);
    g_send(f, &h, "abc", 3);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5002, 1047);
    char c;
    assert_int_equal(read(hfd, &c, 1), 0);
    /* a header shorter than 44 bytes is dropped without an answer */
    uint16_t slot = (uint16_t)(f->tx_slot++ % (QSIZE / 2));
    gdesc(f, 1)[slot * 2] = (struct vring_desc){TXBUF_OFF + slot * (uint64_t)TXSLOT, 20, 0, 0};
    offer(f, 1, (uint16_t)(slot * 2));
    eventfd_write(f->kick[1], 1);
    expect_nothing(f);
    /* a descriptor pointing outside guest memory: consumed, nothing touched */
    gdesc(f, 1)[0] = (struct vring_desc){RAM_SIZE - 8, 44, 0, 0};
    offer(f, 1, 0);
    eventfd_write(f->kick[1], 1);
    expect_nothing(f);
    assert_true(f->dev.stat_bad_chains >= 1);
    assert_int_equal(vsock_dev_nconns(&f->dev), 0);
}

static void test_credit_overrun(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5003);
    cleanup_close int hfd = establish(f, lfd, 1050, 5003);
    static uint8_t chunk[65536];
    /* the host never reads: the socket fills, then our buffer, then the guest is over credit */
    int sent;
    struct virtio_vsock_hdr h;
    for (sent = 0; sent < 64 && vsock_dev_nconns(&f->dev) == 1 &&
                   f->dev.conns->state == VSOCK_CONN_ESTABLISHED;
         sent++) {
        h = hdr(VIRTIO_VSOCK_OP_RW, 1050, 5003, sizeof(chunk));
        g_send(f, &h, chunk, sizeof(chunk));
        /* credit updates may arrive meanwhile; take them off the ring */
        while (g_recv(f, &h, NULL, RXBUF, NULL))
            if (h.op == VIRTIO_VSOCK_OP_RST)
                goto reset;
    }
    fail_msg("no RST after %d packets of 64 KiB", sent);
reset:
    assert_true(sent * sizeof(chunk) > VSOCK_DEV_BUF_ALLOC);
    assert_int_equal(h.src_port, 5003);
    /* the host socket was closed: what was written before is readable, then EOF */
    static uint8_t sink[1 << 16];
    ssize_t n;
    while ((n = read(hfd, sink, sizeof(sink))) > 0)
        ;
    assert_int_equal(n, 0);
}

/* The guest closes while we still hold its data for a slow host reader: the guest gets its
 * RST at once, and the host still receives every byte before EOF. */
static void test_close_drains_to_host(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5008);
    cleanup_close int hfd = establish(f, lfd, 1100, 5008);
    static uint8_t chunk[32768];
    uint64_t sent = 0;
    struct virtio_vsock_hdr h;
    for (int i = 0; i < 64 && f->dev.conns->buf_len == 0; i++) {
        for (size_t k = 0; k < sizeof(chunk); k++)
            chunk[k] = (uint8_t)(sent + k);
        h = hdr(VIRTIO_VSOCK_OP_RW, 1100, 5008, sizeof(chunk));
        g_send(f, &h, chunk, sizeof(chunk));
        sent += sizeof(chunk);
        while (g_recv(f, &h, NULL, RXBUF, NULL))
            assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    }
    assert_true(f->dev.conns->buf_len > 0); /* the host socket is full, we hold the rest */
    h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1100, 5008, 0);
    h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV;
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5008, 1100);
    assert_int_equal(f->dev.conns->state, VSOCK_CONN_DRAINING);
    /* a new connection may reuse the port pair at once */
    cleanup_close int hfd2 = establish(f, lfd, 1100, 5008);
    uint64_t got = 0;
    static uint8_t buf[65536];
    for (;;) {
        pump(f);
        ssize_t n = read(hfd, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n > 0);
        for (ssize_t k = 0; k < n; k++)
            if (buf[k] != (uint8_t)(got + (uint64_t)k % sizeof(chunk)))
                fail_msg("byte %llu differs", (unsigned long long)(got + (uint64_t)k));
        got += (uint64_t)n;
    }
    assert_int_equal(got, sent);
    assert_int_equal(vsock_dev_nconns(&f->dev), 1); /* only the new one */
}

/* A guest that stops short of half our window still hears about the credit we freed: the
 * update comes from the idle flush instead of the half-window rule. */
static void test_credit_announced_when_idle(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5009);
    cleanup_close int hfd = establish(f, lfd, 1110, 5009);
    static uint8_t chunk[50000];
    struct virtio_vsock_hdr h;
    for (int i = 0; i < 2; i++) {
        h = hdr(VIRTIO_VSOCK_OP_RW, 1110, 5009, sizeof(chunk));
        h.buf_alloc = 262144; /* as Linux: the window is min(ours, its own) = 256 KiB */
        g_send(f, &h, chunk, sizeof(chunk));
    }
    static uint8_t buf[sizeof(chunk) * 2];
    assert_int_equal(vt_read_all(hfd, buf, sizeof(buf)), sizeof(buf));
    expect_nothing(f); /* 100000 bytes: below half of the window, no update yet */
    assert_true(vsock_dev_calls_pending(&f->dev));
    vsock_dev_flush_calls(&f->dev, true);
    pump(f);
    assert_int_equal(g_recv(f, &h, NULL, RXBUF, NULL), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    assert_int_equal(h.fwd_cnt, sizeof(buf));
    assert_false(vsock_dev_calls_pending(&f->dev));
}

/* Connection churn leaves nothing behind: no connection, no fd. */
static void test_churn_no_leak(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5010);
    int fds_before = count_fds();
    for (uint32_t i = 0; i < 300; i++) {
        uint32_t gport = 20000 + i;
        int hfd = establish(f, lfd, gport, 5010);
        struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, gport, 5010, 3);
        g_send(f, &h, "abc", 3);
        char buf[8];
        assert_int_equal(read(hfd, buf, sizeof(buf)), 3);
        if (i % 3 == 0) { /* orderly: guest closes */
            h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, gport, 5010, 0);
            h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV;
            g_send(f, &h, NULL, 0);
            expect_op(f, VIRTIO_VSOCK_OP_RST, 5010, gport);
        } else if (i % 3 == 1) { /* abortive: guest resets */
            h = hdr(VIRTIO_VSOCK_OP_RST, gport, 5010, 0);
            g_send(f, &h, NULL, 0);
        } else { /* the host goes away: the guest gets SHUTDOWN, then closes */
            close(hfd);
            hfd = -1;
            expect_op(f, VIRTIO_VSOCK_OP_SHUTDOWN, 5010, gport);
            h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, gport, 5010, 0);
            h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV;
            g_send(f, &h, NULL, 0);
            expect_op(f, VIRTIO_VSOCK_OP_RST, 5010, gport);
        }
        if (hfd >= 0) {
            assert_int_equal(read(hfd, buf, 1), 0);
            close(hfd);
        }
        pump(f);
        assert_int_equal(vsock_dev_nconns(&f->dev), 0);
    }
    assert_int_equal(count_fds(), fds_before);
    assert_null(f->dev.graveyard);
}

/* A listener with a full backlog: the guest's connect waits (retried by the deferred work)
 * instead of an immediate RST, succeeds once the host accepts, and is reset after
 * VSOCK_CONN_RETRY_NS when it never does. */
static void test_connect_full_backlog(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", f->uds, 5011);
    cleanup_close int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 0), 0); /* room for one pending connection */
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1200, 5011, 0);
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5011, 1200);
    h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1201, 5011, 0);
    g_send(f, &h, NULL, 0);
    expect_nothing(f); /* backlog full: no RST, the connect waits */
    assert_true(vsock_dev_calls_pending(&f->dev));
    vsock_dev_flush_calls(&f->dev, true);
    expect_nothing(f); /* still full */
    cleanup_close int a1 = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(a1 >= 0);
    vsock_dev_flush_calls(&f->dev, true);
    expect_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5011, 1201);
    /* the backlog is full again (1201 waits in it): a third connect times out into RST */
    h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1202, 5011, 0);
    g_send(f, &h, NULL, 0);
    expect_nothing(f);
    usleep((useconds_t)(VSOCK_CONN_RETRY_NS / 1000 + 100000));
    vsock_dev_flush_calls(&f->dev, true);
    expect_op(f, VIRTIO_VSOCK_OP_RST, 5011, 1202);
    assert_false(f->dev.retrying);
    pump(f);
    assert_int_equal(vsock_dev_nconns(&f->dev), 2);
}

static void test_host_connect(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->uds);
    cleanup_close int hfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(hfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* the line may come in pieces, and data may follow it at once */
    assert_int_equal(write(hfd, "CONNECT 52", 10), 10);
    pump(f);
    expect_nothing(f);
    assert_int_equal(write(hfd, "00\nping", 7), 7);
    pump(f);
    struct virtio_vsock_hdr h;
    assert_int_equal(g_recv(f, &h, NULL, RXBUF, NULL), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
    assert_int_equal(h.dst_port, 5200);
    uint32_t local = h.src_port;
    assert_true(local >= 49152);
    struct virtio_vsock_hdr r = hdr(VIRTIO_VSOCK_OP_RESPONSE, 5200, local, 0);
    g_send(f, &r, NULL, 0);
    char line[32] = {0};
    assert_int_equal(read(hfd, line, 9), 9);
    char want[32];
    snprintf(want, sizeof(want), "OK %u\n", local);
    assert_string_equal(line, want);
    pump(f);
    char buf[16];
    uint32_t len = 0;
    assert_int_equal(g_recv(f, &h, buf, sizeof(buf), &len), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "ping", 4);
    /* a bad handshake line just closes that client */
    cleanup_close int bad = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(bad, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(bad, "HELLO 1\n", 8), 8);
    pump(f);
    assert_int_equal(read(bad, buf, 1), 0);
    expect_nothing(f);
    /* no guest listener: the guest's RST closes the client without "OK" */
    cleanup_close int nol = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(nol, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(nol, "CONNECT 7\n", 10), 10);
    pump(f);
    assert_int_equal(g_recv(f, &h, NULL, RXBUF, NULL), 1);
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
    r = hdr(VIRTIO_VSOCK_OP_RST, 7, h.src_port, 0);
    g_send(f, &r, NULL, 0);
    assert_int_equal(read(nol, buf, 1), 0);
}

static void test_host_to_guest_credit(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5004);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1060, 5004, 0);
    h.buf_alloc = 1000; /* a small receive buffer in the guest */
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5004, 1060);
    cleanup_close int hfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    static uint8_t data[5000];
    assert_int_equal(write(hfd, data, sizeof(data)), sizeof(data));
    pump(f);
    uint32_t total = 0, len;
    static uint8_t buf[RXBUF];
    while (g_recv(f, &h, buf, sizeof(buf), &len))
        total += len;
    assert_int_equal(total, 1000); /* exactly the credit, not a byte more */
    h = hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1060, 5004, 0);
    h.buf_alloc = 1000;
    h.fwd_cnt = 1000;
    g_send(f, &h, NULL, 0);
    pump(f);
    while (g_recv(f, &h, buf, sizeof(buf), &len))
        total += len;
    assert_int_equal(total, 2000);
    /* CREDIT_REQUEST gets a CREDIT_UPDATE with our counters */
    h = hdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 1060, 5004, 0);
    h.buf_alloc = 1000;
    h.fwd_cnt = 1000;
    g_send(f, &h, NULL, 0);
    expect_op(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5004, 1060);
}

static void test_rx_starved(void **state)
{
    struct fe *f = *state;
    start_device(f); /* no RX buffers yet */
    cleanup_close int lfd = host_listen(f, 5005);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1070, 5005, 0);
    g_send(f, &h, NULL, 0);
    h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1071, 6000, 0);
    g_send(f, &h, NULL, 0);
    expect_nothing(f);
    fill_rx(f); /* the replies wait for buffers, then go out */
    expect_op(f, VIRTIO_VSOCK_OP_RST, 6000, 1071);
    expect_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5005, 1070);
}

static void test_bad_rx_buffers(void **state)
{
    struct fe *f = *state;
    start_device(f);
    cleanup_close int lfd = host_listen(f, 5007);
    /* header-sized, read-only and out-of-memory RX buffers are handed back unused */
    gdesc(f, 0)[0] =
        (struct vring_desc){RXBUF_OFF, sizeof(struct virtio_vsock_hdr), VRING_DESC_F_WRITE, 0};
    gdesc(f, 0)[1] = (struct vring_desc){RXBUF_OFF + RXBUF, RXBUF, 0, 0};
    gdesc(f, 0)[2] = (struct vring_desc){RAM_SIZE - 100, RXBUF, VRING_DESC_F_WRITE, 0};
    for (uint16_t i = 0; i < 3; i++)
        offer(f, 0, i);
    eventfd_write(f->kick[0], 1);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1090, 5007, 0);
    g_send(f, &h, NULL, 0);
    pump(f);
    assert_int_equal(gused(f, 0)->idx, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gused(f, 0)->ring[i].len, 0);
    assert_int_equal(f->dev.stat_bad_chains, 3);
    f->used_seen[0] = 3;
    /* the RESPONSE waited for a real buffer */
    for (uint16_t i = 3; i < QSIZE; i++) {
        gdesc(f, 0)[i] = (struct vring_desc){RXBUF_OFF + i * RXBUF, RXBUF, VRING_DESC_F_WRITE, 0};
        offer(f, 0, i);
    }
    eventfd_write(f->kick[0], 1);
    expect_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5007, 1090);
}

static void test_device_stop_closes_host(void **state)
{
    struct fe *f = *state;
    start_device(f);
    fill_rx(f);
    cleanup_close int lfd = host_listen(f, 5006);
    cleanup_close int hfd = establish(f, lfd, 1080, 5006);
    struct vhost_vring_state s = {1, 0}, r;
    assert_int_equal(call(f, VSOCK_VU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0, &r, sizeof(r)),
                     sizeof(r));
    assert_int_equal(r.index, 1);
    assert_int_equal(r.num, f->avail[1]);
    char c;
    assert_int_equal(read(hfd, &c, 1), 0);
    assert_int_equal(vsock_dev_nconns(&f->dev), 0);
    /* the guest driver comes back (reboot): QEMU starts the rings again from index 0 */
    s.index = 0;
    assert_int_equal(call(f, VSOCK_VU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0, &r, sizeof(r)),
                     sizeof(r));
    memset(f->ram, 0, 0x6000);
    f->avail[0] = f->avail[1] = f->used_seen[0] = f->used_seen[1] = 0;
    f->tx_slot = 0;
    start_device(f);
    fill_rx(f);
    cleanup_close int hfd2 = establish(f, lfd, 1081, 5006);
    struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, 1081, 5006, 3);
    g_send(f, &h, "abc", 3);
    char buf[8];
    assert_int_equal(read(hfd2, buf, sizeof(buf)), 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_negotiation),
        T(test_malformed_requests),
        T(test_framing_bad_version),
        T(test_framing_oversize),
        T(test_framing_truncated),
        T(test_framing_eof),
        T(test_no_listener_rst),
        T(test_guest_connect_data_close),
        T(test_guest_rst_closes_host),
        T(test_malformed_packets),
        T(test_credit_overrun),
        T(test_close_drains_to_host),
        T(test_credit_announced_when_idle),
        T(test_churn_no_leak),
        T(test_connect_full_backlog),
        T(test_host_connect),
        T(test_host_to_guest_credit),
        T(test_rx_starved),
        T(test_bad_rx_buffers),
        T(test_device_stop_closes_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
