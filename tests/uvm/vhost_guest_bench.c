/* Benchmark part of the vhost-user-vsock test /init (vt=bench). In one boot it measures, from
 * the guest's clock, with vhost_host.c ("bench" mode) on the other side:
 *   vsock (our back end)   guest->host and host->guest MiB/s for 1 and 8 streams, 1-byte RTT
 *   virtio-serial          the same port pair through QEMU's unix-socket chardev: MiB/s both
 *                          ways (one stream: a port opens once) and 1-byte RTT
 *   vsock loopback         in-guest CID 1 (vsock_loopback): MiB/s for 1 and 8 streams, RTT
 * Each figure is printed as "VHOST-BENCH <key> <value>"; tests/bench/vhost_bench.sh turns them
 * into ratios. Streams are multiplexed with poll in one process (the VM has one vCPU). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/vm_sockets.h>

#include "tests/uvm/vhost_common.h"
#include "tests/uvm/vhost_guest.h"

#define RTT_ROUNDS  2000
#define MAX_STREAMS 8

static uint8_t chunk[65536];

static void report(const char *key, double v)
{
    printf("VHOST-BENCH %s %.1f\n", key, v);
    fflush(stdout);
}

/* Pushes `each` bytes into every fd, then half-closes; reads whatever comes back until EOF on
 * all (the peers answer with one byte once they have everything). Returns seconds or -1. */
static double send_all(int *fd, int n, uint64_t each)
{
    uint64_t sent[MAX_STREAMS] = {0};
    int done[MAX_STREAMS] = {0}, left = n;
    struct pollfd p[MAX_STREAMS];
    double t0 = vt_now();
    for (int i = 0; i < n; i++)
        fcntl(fd[i], F_SETFL, O_NONBLOCK);
    while (left > 0) {
        for (int i = 0; i < n; i++) {
            p[i].fd = done[i] ? -1 : fd[i];
            p[i].events = sent[i] < each ? POLLOUT : POLLIN;
        }
        if (poll(p, (nfds_t)n, 10000) <= 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (sent[i] < each && (p[i].revents & POLLOUT)) {
                size_t k =
                    each - sent[i] < sizeof(chunk) ? (size_t)(each - sent[i]) : sizeof(chunk);
                ssize_t w = write(fd[i], chunk, k);
                if (w > 0)
                    sent[i] += (uint64_t)w;
                if (sent[i] == each)
                    shutdown(fd[i], SHUT_WR);
            } else if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                char b[16];
                ssize_t r = read(fd[i], b, sizeof(b));
                if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
                    done[i] = 1;
                    left--;
                }
            }
        }
    }
    return vt_now() - t0;
}

/* Reads every fd to EOF. Returns seconds and the total in *bytes. */
static double recv_all(int *fd, int n, uint64_t *bytes)
{
    int done[MAX_STREAMS] = {0}, left = n;
    struct pollfd p[MAX_STREAMS];
    *bytes = 0;
    double t0 = vt_now();
    while (left > 0) {
        for (int i = 0; i < n; i++) {
            p[i].fd = done[i] ? -1 : fd[i];
            p[i].events = POLLIN;
        }
        if (poll(p, (nfds_t)n, 10000) <= 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(fd[i], chunk, sizeof(chunk));
            if (r > 0)
                *bytes += (uint64_t)r;
            else if (!(r < 0 && (errno == EAGAIN || errno == EINTR))) {
                done[i] = 1;
                left--;
            }
        }
    }
    return vt_now() - t0;
}

static double rtt_us(int fd)
{
    char c = 'p';
    double t0 = vt_now();
    for (int i = 0; i < RTT_ROUNDS; i++)
        if (vt_write_all(fd, &c, 1) < 0 || vt_read_full(fd, &c, 1) != 1)
            return -1;
    return (vt_now() - t0) / RTT_ROUNDS * 1e6;
}

static void close_all(int *fd, int n)
{
    for (int i = 0; i < n; i++)
        if (fd[i] >= 0)
            close(fd[i]);
}

static void bench_vsock_g2h(int n, uint64_t bytes, const char *key)
{
    int fd[MAX_STREAMS];
    for (int i = 0; i < n; i++)
        if ((fd[i] = vt_connect(VMADDR_CID_HOST, VT_PORT_BENCH)) < 0) {
            vt_result(key, 0, "connect: %s", strerror(errno));
            close_all(fd, i);
            return;
        }
    double s = send_all(fd, n, bytes / (uint64_t)n);
    close_all(fd, n);
    if (s > 0)
        report(key, (double)bytes / s / 1048576);
}

static void bench_vsock_h2g(int lfd, int n, const char *key)
{
    int fd[MAX_STREAMS];
    for (int i = 0; i < n; i++)
        fd[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    /* the host waits for this byte, so the clock starts with every stream ready */
    for (int i = 0; i < n; i++)
        if (fd[i] < 0 || vt_write_all(fd[i], "g", 1) < 0) {
            vt_result(key, 0, "accept: %s", strerror(errno));
            close_all(fd, n);
            return;
        }
    uint64_t got = 0;
    double s = recv_all(fd, n, &got);
    close_all(fd, n);
    if (s > 0)
        report(key, (double)got / s / 1048576);
}

/* ---- vsock loopback (CID 1) inside the guest: a forked sink/echo server ---- */

static void loopback_server(int lfd, int streams, int echo)
{
    int fd[MAX_STREAMS];
    for (int i = 0; i < streams; i++)
        fd[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (echo) {
        char c;
        while (vt_read_full(fd[0], &c, 1) == 1 && vt_write_all(fd[0], &c, 1) == 0)
            ;
    } else {
        uint64_t got;
        (void)recv_all(fd, streams, &got);
        for (int i = 0; i < streams; i++)
            vt_write_all(fd[i], "A", 1);
    }
    _exit(0);
}

static void bench_loopback(int streams, int echo, uint64_t bytes, const char *key)
{
    unsigned port = 7000 + (unsigned)streams * 2 + (unsigned)echo;
    int lfd = vt_listen(port);
    if (lfd < 0) {
        vt_result(key, 0, "listen: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        loopback_server(lfd, streams, echo);
    close(lfd);
    int fd[MAX_STREAMS];
    for (int i = 0; i < streams; i++)
        fd[i] = vt_connect(VMADDR_CID_LOCAL, port);
    if (echo) {
        double us = fd[0] >= 0 ? rtt_us(fd[0]) : -1;
        if (us > 0)
            report(key, us);
    } else {
        double s = send_all(fd, streams, bytes / (uint64_t)streams);
        if (s > 0)
            report(key, (double)bytes / s / 1048576);
    }
    close_all(fd, streams);
    waitpid(pid, NULL, 0);
}

/* ---- virtio-serial: the port QEMU names "bench" ---- */

static int open_vport(void)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    char path[300], name[64];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0 && strncmp(name, "bench", 5) == 0) {
            snprintf(path, sizeof(path), "/dev/%s", e->d_name);
            closedir(d);
            return open(path, O_RDWR | O_CLOEXEC);
        }
    }
    if (d)
        closedir(d);
    return -1;
}

/* Protocol with vhost_host's serial thread: BYTES from us then an 'A' back; 'G' from us then
 * BYTES to us; then 1-byte echoes. */
static void bench_serial(uint64_t bytes)
{
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = open_vport();
        if (fd < 0)
            usleep(50000);
    }
    if (fd < 0) {
        vt_result("serial", 0, "no virtio-serial port named bench");
        return;
    }
    double t0 = vt_now();
    for (uint64_t off = 0; off < bytes; off += sizeof(chunk))
        if (vt_write_all(fd, chunk, sizeof(chunk)) < 0)
            break;
    char c = 0;
    if (vt_read_full(fd, &c, 1) == 1 && c == 'A')
        report("serial_g2h_1", (double)bytes / (vt_now() - t0) / 1048576);
    vt_write_all(fd, "G", 1);
    t0 = vt_now();
    uint64_t got = 0;
    while (got < bytes) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r <= 0)
            break;
        got += (uint64_t)r;
    }
    if (got == bytes)
        report("serial_h2g_1", (double)bytes / (vt_now() - t0) / 1048576);
    double us = rtt_us(fd);
    if (us > 0)
        report("serial_rtt_us", us);
    close(fd);
}

void vt_bench(const char *mode)
{
    uint64_t bytes = strtoull(vt_arg("vt.bytes", "67108864"), NULL, 0);
    bytes -= bytes % (MAX_STREAMS * sizeof(chunk));
    memset(chunk, 0x5a, sizeof(chunk));
    int l1 = vt_listen(VT_PORT_BENCH + 1), l8 = vt_listen(VT_PORT_BENCH + 3);
    if (l1 < 0 || l8 < 0) {
        vt_result("bench", 0, "listen: %s", strerror(errno));
        return;
    }
    bench_vsock_g2h(1, bytes, "vsock_g2h_1");
    bench_vsock_g2h(MAX_STREAMS, bytes, "vsock_g2h_8");
    bench_vsock_h2g(l1, 1, "vsock_h2g_1");
    bench_vsock_h2g(l8, MAX_STREAMS, "vsock_h2g_8");
    int e = vt_connect(VMADDR_CID_HOST, VT_PORT_BENCH + 2);
    double us = e >= 0 ? rtt_us(e) : -1;
    if (us > 0)
        report("vsock_rtt_us", us);
    if (e >= 0)
        close(e);
    bench_serial(bytes);
    bench_loopback(1, 0, bytes, "loopback_1");
    bench_loopback(MAX_STREAMS, 0, bytes, "loopback_8");
    bench_loopback(1, 1, 0, "loopback_rtt_us");
    vt_result("bench", 1, "mode %s done", mode);
}
