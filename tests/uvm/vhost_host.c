/* The host side of the vhost-user-vsock QEMU test: the peer of vhost_guest.c, reached through
 * the back end's Unix sockets (UDS_PORT for guest-initiated streams, UDS + "CONNECT port" for
 * host-initiated ones). One thread per stream, blocking I/O.
 *   vhost_host suite UDS BYTES   serve every case of the suite; print "HOST-RESULT name PASS|FAIL"
 *                                lines; exit 0 when all passed, 1 otherwise (or on timeout)
 * Since the VM powers off with two streams open on purpose, the "hold" cases pass only when
 * those streams end (EOF or reset) after the back end shut down. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/uvm/vhost_common.h"
#include "tests/uvm/vhost_host.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int reported, failed;

void vh_result(const char *name, int pass, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&lock);
    printf("HOST-RESULT %s %s %s\n", name, pass ? "PASS" : "FAIL", detail);
    fflush(stdout);
    reported++;
    failed += !pass;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

int vh_listen(const char *uds, unsigned port)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds, port);
    unlink(sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        fprintf(stderr, "vhost_host: listen %s: %s\n", sa.sun_path, strerror(errno));
        exit(1);
    }
    return fd;
}

/* Connects to the guest's `port` through the back end, retrying while nobody listens there
 * yet (the back end then closes our socket without "OK"). Returns the fd or -1. */
int vh_connect_guest(const char *uds, unsigned port, double timeout_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            char line[32];
            int k = snprintf(line, sizeof(line), "CONNECT %u\n", port);
            char ok[32];
            size_t n = 0;
            if (vt_write_all(fd, line, (size_t)k) == 0) {
                while (n < sizeof(ok) - 1 && read(fd, ok + n, 1) == 1 && ok[n] != '\n')
                    n++;
                ok[n] = '\0';
                if (strncmp(ok, "OK ", 3) == 0)
                    return fd;
            }
        }
        if (fd >= 0)
            close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > timeout_s)
            return -1;
        usleep(100000);
    }
}

struct ctx {
    const char *uds;
    uint64_t bytes;
    int fd;
};

static void *serve_g2h(void *arg)
{
    struct ctx *c = arg;
    int ok = 0;
    int64_t got = vt_recv_stream(c->fd, 1, &ok);
    uint8_t reply[9];
    uint64_t count = got < 0 ? 0 : (uint64_t)got;
    memcpy(reply, &count, 8);
    reply[8] = ok ? 'Y' : 'N';
    int w = vt_write_all(c->fd, reply, sizeof(reply));
    vh_result("g2h", w == 0 && ok && count == c->bytes, "bytes=%llu match=%d",
              (unsigned long long)count, ok);
    close(c->fd);
    free(c);
    return NULL;
}

static void *serve_echo(void *arg)
{
    struct ctx *c = arg;
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || vt_write_all(c->fd, buf, (size_t)n) < 0)
            break;
    }
    shutdown(c->fd, SHUT_WR); /* the guest waits for our EOF after its own */
    close(c->fd);
    free(c);
    return NULL;
}

static void *serve_half(void *arg)
{
    struct ctx *c = arg;
    char buf[256];
    ssize_t total = 0, n;
    while ((n = read(c->fd, buf, sizeof(buf))) > 0)
        total += n;
    /* the guest's write side is closed; ours still works */
    char reply[32];
    int k = snprintf(reply, sizeof(reply), "got %zd", total);
    int w = vt_write_all(c->fd, reply, (size_t)k);
    vh_result("halfclose", w == 0 && total == 11, "read=%zd then answered", total);
    close(c->fd);
    free(c);
    return NULL;
}

/* Reads until the stream ends; passes when it ends (EOF or reset), never by timeout. */
static void hold_until_end(int fd, const char *name, char expect)
{
    char ch = 0;
    ssize_t n = vt_read_full(fd, &ch, 1);
    /* confirm, so the guest powers off only once this stream surely carried data both ways */
    if (n == 1)
        vt_write_all(fd, "k", 1);
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    vh_result(name, n == 1 && ch == expect, "stream ended after power-off");
    close(fd);
}

static void *serve_hold(void *arg)
{
    struct ctx *c = arg;
    hold_until_end(c->fd, "hold-g2h", 'x');
    free(c);
    return NULL;
}

static void *client_h2g(void *arg)
{
    struct ctx *c = arg;
    int fd = vh_connect_guest(c->uds, VT_PORT_H2G, 120);
    if (fd < 0) {
        vh_result("h2g", 0, "CONNECT %u failed", VT_PORT_H2G);
        return NULL;
    }
    int r = vt_send_stream(fd, 2, c->bytes);
    shutdown(fd, SHUT_WR); /* half-close: the verdict comes back on the same stream */
    uint8_t reply[9];
    ssize_t n = vt_read_full(fd, reply, sizeof(reply));
    uint64_t count = 0;
    memcpy(&count, reply, 8);
    vh_result("h2g", r == 0 && n == 9 && count == c->bytes && reply[8] == 'Y',
              "guest_count=%llu verdict=%c", (unsigned long long)count, n == 9 ? reply[8] : '?');
    close(fd);
    return NULL;
}

static void *client_hold(void *arg)
{
    struct ctx *c = arg;
    int fd = vh_connect_guest(c->uds, VT_PORT_HOLD_H2G, 240);
    if (fd < 0) {
        vh_result("hold-h2g", 0, "CONNECT %u failed", VT_PORT_HOLD_H2G);
        return NULL;
    }
    vt_write_all(fd, "y", 1);
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    vh_result("hold-h2g", 1, "stream ended after power-off");
    close(fd);
    return NULL;
}

static void spawn(void *(*fn)(void *), struct ctx *c)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, c) != 0) {
        fprintf(stderr, "vhost_host: pthread_create failed\n");
        exit(1);
    }
    pthread_detach(t);
}

struct acceptor {
    int lfd;
    const char *uds;
    uint64_t bytes;
    void *(*fn)(void *);
    int once;
};

static void *accept_loop(void *arg)
{
    struct acceptor *a = arg;
    for (;;) {
        int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct ctx *c = malloc(sizeof(*c));
        *c = (struct ctx){a->uds, a->bytes, fd};
        spawn(a->fn, c);
        if (a->once)
            return NULL;
    }
}

/* ---- reset case (vt=reset) ---- */

static int reset_hold_ended;

static void *serve_reset_hold(void *arg)
{
    struct ctx *c = arg;
    char ch = 0;
    if (vt_read_full(c->fd, &ch, 1) == 1)
        vt_write_all(c->fd, "k", 1);
    char buf[256];
    while (read(c->fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&lock);
    reset_hold_ended = 1;
    pthread_mutex_unlock(&lock);
    close(c->fd);
    free(c);
    return NULL;
}

static void *serve_phase(void *arg)
{
    struct ctx *c = arg;
    static int boots;
    pthread_mutex_lock(&lock);
    int boot = ++boots;
    int ended = reset_hold_ended;
    pthread_mutex_unlock(&lock);
    if (boot == 1) {
        vt_write_all(c->fd, "1", 1);
        char buf[16];
        while (read(c->fd, buf, sizeof(buf)) > 0)
            ;
        close(c->fd);
        free(c);
        return NULL;
    }
    /* the stream left open by the first boot must have ended with the device reset */
    vh_result("reset-hold", ended, "stream open across the reboot %s",
              ended ? "was closed" : "survived");
    vt_write_all(c->fd, "2", 1);
    int ok = 0;
    int64_t got = vt_recv_stream(c->fd, 3, &ok);
    int pass = ok && got == VT_RESET_BYTES;
    vt_write_all(c->fd, pass ? "Y" : "N", 1);
    vh_result("reset-data", pass, "bytes=%lld match=%d", (long long)got, ok);
    close(c->fd);
    free(c);
    return NULL;
}

static int wait_results(int expected, int secs)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += secs;
    pthread_mutex_lock(&lock);
    while (reported < expected)
        if (pthread_cond_timedwait(&cond, &lock, &dl) == ETIMEDOUT)
            break;
    int ok = reported == expected && failed == 0;
    printf("HOST-DONE %s (%d of %d reported, %d failed)\n", ok ? "PASS" : "FAIL", reported,
           expected, failed);
    pthread_mutex_unlock(&lock);
    return ok ? 0 : 1;
}

static int reset_case(const char *uds)
{
    static struct acceptor acc[2];
    acc[0] = (struct acceptor){vh_listen(uds, VT_PORT_PHASE), uds, 0, serve_phase, 0};
    acc[1] = (struct acceptor){vh_listen(uds, VT_PORT_RESET_HOLD), uds, 0, serve_reset_hold, 0};
    spawn(accept_loop, (struct ctx *)(void *)&acc[0]);
    spawn(accept_loop, (struct ctx *)(void *)&acc[1]);
    printf("HOST-READY\n");
    fflush(stdout);
    return wait_results(2, 300);
}

static int suite(const char *uds, uint64_t bytes)
{
    static struct acceptor acc[4];
    static struct ctx cl;
    const struct {
        unsigned port;
        void *(*fn)(void *);
        int once;
    } servers[] = {
        {VT_PORT_G2H, serve_g2h, 1},
        {VT_PORT_ECHO, serve_echo, 0},
        {VT_PORT_HALF, serve_half, 1},
        {VT_PORT_HOLD, serve_hold, 1},
    };
    for (int i = 0; i < 4; i++) {
        acc[i] = (struct acceptor){vh_listen(uds, servers[i].port), uds, bytes, servers[i].fn,
                                   servers[i].once};
        spawn(accept_loop, (struct ctx *)(void *)&acc[i]);
    }
    cl = (struct ctx){uds, bytes, -1};
    spawn(client_h2g, &cl);
    spawn(client_hold, &cl);
    printf("HOST-READY\n");
    fflush(stdout);
    const int expected = 5; /* g2h, h2g, halfclose, hold-g2h, hold-h2g */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 300;
    pthread_mutex_lock(&lock);
    while (reported < expected)
        if (pthread_cond_timedwait(&cond, &lock, &dl) == ETIMEDOUT)
            break;
    int ok = reported == expected && failed == 0;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 4; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s_%u", uds, servers[i].port);
        unlink(p);
    }
    printf("HOST-DONE %s (%d of %d reported, %d failed)\n", ok ? "PASS" : "FAIL", reported,
           expected, failed);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "suite") == 0)
        return suite(argv[2], strtoull(argv[3], NULL, 0));
    if (argc == 3 && strcmp(argv[1], "reset") == 0)
        return reset_case(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "bench") == 0)
        return vh_bench(argc - 2, argv + 2);
    fprintf(stderr, "usage: vhost_host suite UDS BYTES | reset UDS | bench UDS VSER BYTES\n");
    return 2;
}
