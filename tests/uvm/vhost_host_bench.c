/* Benchmark part of the host-side test peer: the other end of vhost_guest_bench.c.
 *   vhost_host bench UDS VSER_SOCKET BYTES
 * serves, until killed: a sink on UDS_6000 (answers 'A' after EOF), CONNECT clients to guest
 * ports 6001 (one stream) and 6003 (8 streams) that wait for the guest's 'g' and then send
 * their share of BYTES, an echo on UDS_6002, and the virtio-serial side on VSER_SOCKET. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/uvm/vhost_common.h"
#include "tests/uvm/vhost_host.h"

struct bench_ctx {
    const char *uds;
    uint64_t bytes;
    unsigned port;
    int fd;
};

static void *sink(void *arg)
{
    struct bench_ctx *c = arg;
    uint8_t buf[65536];
    while (read(c->fd, buf, sizeof(buf)) > 0)
        ;
    vt_write_all(c->fd, "A", 1);
    close(c->fd);
    free(c);
    return NULL;
}

static void *echo(void *arg)
{
    struct bench_ctx *c = arg;
    uint8_t buf[4096];
    ssize_t n;
    while ((n = read(c->fd, buf, sizeof(buf))) > 0)
        if (vt_write_all(c->fd, buf, (size_t)n) < 0)
            break;
    close(c->fd);
    free(c);
    return NULL;
}

static void start(void *(*fn)(void *), struct bench_ctx *c)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, c) != 0)
        exit(1);
    pthread_detach(t);
}

static void *acceptor(void *arg)
{
    struct bench_ctx *a = arg;
    for (;;) {
        int fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct bench_ctx *c = malloc(sizeof(*c));
        *c = (struct bench_ctx){a->uds, a->bytes, a->port, fd};
        start(a->port == VT_PORT_BENCH ? sink : echo, c);
    }
    return NULL;
}

static void *h2g_client(void *arg)
{
    struct bench_ctx *c = arg;
    int fd = vh_connect_guest(c->uds, c->port, 600);
    char g;
    if (fd < 0 || vt_read_full(fd, &g, 1) != 1) {
        fprintf(stderr, "vhost_host bench: CONNECT %u failed\n", c->port);
        return NULL;
    }
    uint8_t buf[65536];
    memset(buf, 0xa5, sizeof(buf));
    for (uint64_t off = 0; off < c->bytes; off += sizeof(buf))
        if (vt_write_all(fd, buf, sizeof(buf)) < 0)
            break;
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
    return NULL;
}

static void *serial(void *arg)
{
    struct bench_ctx *c = arg;
    int fd = -1;
    for (int i = 0; i < 600 && fd < 0; i++) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->uds);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(fd);
            fd = -1;
            usleep(100000);
        }
    }
    if (fd < 0)
        return NULL;
    uint8_t buf[65536];
    uint64_t got = 0;
    while (got < c->bytes) {
        ssize_t n = read(fd, buf, c->bytes - got < sizeof(buf) ? c->bytes - got : sizeof(buf));
        if (n <= 0)
            return NULL;
        got += (uint64_t)n;
    }
    vt_write_all(fd, "A", 1);
    char g = 0;
    if (vt_read_full(fd, &g, 1) != 1 || g != 'G')
        return NULL;
    memset(buf, 0xa5, sizeof(buf));
    for (uint64_t off = 0; off < c->bytes; off += sizeof(buf))
        vt_write_all(fd, buf, sizeof(buf));
    ssize_t n;
    while ((n = read(fd, buf, 1)) == 1)
        vt_write_all(fd, buf, 1);
    close(fd);
    return NULL;
}

int vh_bench(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vhost_host bench UDS VSER_SOCKET BYTES\n");
        return 2;
    }
    const char *uds = argv[0];
    uint64_t bytes = strtoull(argv[2], NULL, 0);
    static struct bench_ctx ctx[5];
    ctx[0] = (struct bench_ctx){uds, bytes, VT_PORT_BENCH, vh_listen(uds, VT_PORT_BENCH)};
    ctx[1] = (struct bench_ctx){uds, bytes, VT_PORT_BENCH + 2, vh_listen(uds, VT_PORT_BENCH + 2)};
    ctx[2] = (struct bench_ctx){uds, bytes, VT_PORT_BENCH + 1, -1};
    ctx[3] = (struct bench_ctx){argv[1], bytes, 0, -1};
    start(acceptor, &ctx[0]);
    start(acceptor, &ctx[1]);
    start(h2g_client, &ctx[2]);
    start(serial, &ctx[3]);
    static struct bench_ctx multi[8];
    for (int i = 0; i < 8; i++) {
        multi[i] = (struct bench_ctx){uds, bytes / 8, VT_PORT_BENCH + 3, -1};
        start(h2g_client, &multi[i]);
    }
    printf("HOST-READY\n");
    fflush(stdout);
    for (;;)
        pause();
}
