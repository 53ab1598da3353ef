/* /init of the vhost-user-vsock test initrd (static). As PID 1 it mounts /proc /sys /dev,
 * loads the modules listed in /modules.list (in order), waits for the virtio-vsock device,
 * runs the cases named by `vt=` on the kernel command line against vhost_host.c on the other
 * side, prints one "VHOST-RESULT <case> PASS|FAIL <detail>" line per case on the console and
 * powers the VM off, leaving some streams open on purpose ("hold").
 *   vt=suite vt.bytes=N   the make-check cases (tests/uvm/vhost_vsock.sh)
 *   vt=reset              reboots once with a stream open (QEMU without -no-reboot), then
 *                         checks the data path on the second boot
 *   vt=bench ...          the benchmark (tests/bench/vhost_bench.sh), see vhost_guest_bench.c */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <linux/vm_sockets.h>

#include "tests/uvm/vhost_common.h"
#include "tests/uvm/vhost_guest.h"

static char cmdline[4096];

const char *vt_arg(const char *key, const char *def)
{
    static char val[256];
    size_t kl = strlen(key);
    for (char *p = cmdline; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p != cmdline && p[-1] != ' ') || p[kl] != '=')
            continue;
        size_t n = strcspn(p + kl + 1, " \n");
        if (n >= sizeof(val))
            n = sizeof(val) - 1;
        memcpy(val, p + kl + 1, n);
        val[n] = '\0';
        return val;
    }
    return def;
}

void vt_result(const char *name, int pass, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("VHOST-RESULT %s %s %s\n", name, pass ? "PASS" : "FAIL", detail);
    fflush(stdout);
}

double vt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vt_connect(unsigned cid, unsigned port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* the default 2 s is tight for a TCG guest on a loaded machine; an RST still ends a
     * connect at once, so the no-listener case is not slowed down */
    struct timeval tmo = {10, 0};
    (void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tmo, sizeof(tmo));
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int vt_listen(unsigned port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void load_modules(void)
{
    FILE *f = fopen("/modules.list", "re");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        int fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0)
            if (errno != EEXIST)
                printf("vhost_guest: module %s: %s\n", line, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (f)
        fclose(f);
}

/* The driver probes asynchronously: wait until the device reports our CID. */
static int wait_cid(unsigned want)
{
    for (int i = 0; i < 600; i++) { /* 30 s: a loaded machine makes TCG slow */
        int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
        unsigned cid = 0;
        if (fd >= 0 && ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) == 0 && cid == want) {
            close(fd);
            return 0;
        }
        if (fd >= 0)
            close(fd);
        usleep(50000);
    }
    return -1;
}

/* ---- the make-check cases ---- */

static void case_g2h(uint64_t bytes)
{
    double t0 = vt_now();
    int fd = vt_connect(VMADDR_CID_HOST, VT_PORT_G2H);
    if (fd < 0) {
        vt_result("g2h", 0, "connect: %s", strerror(errno));
        return;
    }
    int r = vt_send_stream(fd, 1, bytes);
    shutdown(fd, SHUT_WR);
    uint8_t reply[9];
    ssize_t n = vt_read_full(fd, reply, sizeof(reply));
    uint64_t count;
    memcpy(&count, reply, 8);
    double dt = vt_now() - t0;
    vt_result("g2h", r == 0 && n == 9 && count == bytes && reply[8] == 'Y',
              "bytes=%llu host_count=%llu verdict=%c MiB/s=%.0f", (unsigned long long)bytes,
              (unsigned long long)count, n == 9 ? reply[8] : '?', (double)bytes / dt / 1048576);
    close(fd);
}

static void case_h2g(int lfd, uint64_t bytes)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        vt_result("h2g", 0, "accept: %s", strerror(errno));
        return;
    }
    double t0 = vt_now();
    int ok = 0;
    int64_t got = vt_recv_stream(fd, 2, &ok);
    double dt = vt_now() - t0;
    uint8_t reply[9];
    uint64_t count = got < 0 ? 0 : (uint64_t)got;
    memcpy(reply, &count, 8);
    reply[8] = ok ? 'Y' : 'N';
    /* the host half-closed; this answer travels the other way on the same stream */
    int w = vt_write_all(fd, reply, sizeof(reply));
    vt_result("h2g", w == 0 && ok && count == bytes, "bytes=%llu match=%d MiB/s=%.0f",
              (unsigned long long)count, ok, (double)count / dt / 1048576);
    close(fd);
}

struct echo_conn {
    int fd;
    uint64_t sent, got;
    int shut, eof, ok;
};

static void case_concurrent(void)
{
    struct echo_conn c[VT_CONCURRENT];
    struct pollfd p[VT_CONCURRENT];
    for (int i = 0; i < VT_CONCURRENT; i++) {
        c[i] = (struct echo_conn){.fd = vt_connect(VMADDR_CID_HOST, VT_PORT_ECHO), .ok = 1};
        if (c[i].fd < 0) {
            vt_result("concurrent", 0, "connect #%d: %s", i, strerror(errno));
            for (int j = 0; j < i; j++)
                close(c[j].fd);
            return;
        }
        fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
    }
    /* all 64 streams are open at once and progress together */
    int left = VT_CONCURRENT;
    uint8_t buf[16384];
    double deadline = vt_now() + 120;
    while (left > 0 && vt_now() < deadline) {
        for (int i = 0; i < VT_CONCURRENT; i++) {
            p[i].fd = c[i].eof ? -1 : c[i].fd;
            p[i].events = POLLIN | (c[i].sent < VT_ECHO_BYTES ? POLLOUT : 0);
        }
        if (poll(p, VT_CONCURRENT, 1000) < 0)
            break;
        for (int i = 0; i < VT_CONCURRENT; i++) {
            struct echo_conn *e = &c[i];
            if ((p[i].revents & POLLOUT) && e->sent < VT_ECHO_BYTES) {
                size_t k =
                    VT_ECHO_BYTES - e->sent < sizeof(buf) ? VT_ECHO_BYTES - e->sent : sizeof(buf);
                vt_fill(100 + (uint64_t)i, e->sent, buf, k);
                ssize_t n = write(e->fd, buf, k);
                if (n > 0)
                    e->sent += (uint64_t)n;
            }
            if (e->sent == VT_ECHO_BYTES && !e->shut) {
                shutdown(e->fd, SHUT_WR);
                e->shut = 1;
            }
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = read(e->fd, buf, sizeof(buf));
                if (n > 0) {
                    if (!vt_check(100 + (uint64_t)i, e->got, buf, (size_t)n))
                        e->ok = 0;
                    e->got += (uint64_t)n;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    e->eof = 1;
                    left--;
                }
            }
        }
    }
    int good = 0;
    for (int i = 0; i < VT_CONCURRENT; i++) {
        good += c[i].eof && c[i].ok && c[i].got == VT_ECHO_BYTES;
        close(c[i].fd);
    }
    vt_result("concurrent", good == VT_CONCURRENT, "streams=%d ok=%d bytes_each=%u", VT_CONCURRENT,
              good, VT_ECHO_BYTES);
}

static void case_nolistener(void)
{
    double t0 = vt_now();
    int fd = vt_connect(VMADDR_CID_HOST, VT_PORT_NONE);
    int e = errno;
    double dt = vt_now() - t0;
    if (fd >= 0)
        close(fd);
    /* ECONNRESET (not ETIMEDOUT after 10 s) proves the back end answered with RST */
    vt_result("nolistener", fd < 0 && e == ECONNRESET && dt < 5.0, "errno=%s seconds=%.3f",
              fd < 0 ? strerror(e) : "connected", dt);
}

static void case_halfclose(void)
{
    int fd = vt_connect(VMADDR_CID_HOST, VT_PORT_HALF);
    if (fd < 0) {
        vt_result("halfclose", 0, "connect: %s", strerror(errno));
        return;
    }
    const char msg[] = "hello, host";
    vt_write_all(fd, msg, sizeof(msg) - 1);
    shutdown(fd, SHUT_WR);
    char reply[64] = {0};
    ssize_t n = vt_read_full(fd, reply, sizeof(reply) - 1);
    char extra;
    ssize_t after = read(fd, &extra, 1); /* EOF follows the answer */
    vt_result("halfclose", n > 0 && strcmp(reply, "got 11") == 0 && after == 0, "reply='%s'",
              n > 0 ? reply : "");
    close(fd);
}

/* Streams left open when the VM powers off: the host must see them end. */
static void case_hold(int lfd)
{
    int a = vt_connect(VMADDR_CID_HOST, VT_PORT_HOLD);
    char k = 0;
    int ok = a >= 0 && vt_write_all(a, "x", 1) == 0 && vt_read_full(a, &k, 1) == 1 && k == 'k';
    int b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    char ch = 0;
    ok = ok && b >= 0 && vt_read_full(b, &ch, 1) == 1 && ch == 'y';
    vt_result("hold", ok, "open streams left for power-off");
}

static void run_suite(void)
{
    uint64_t bytes = strtoull(vt_arg("vt.bytes", "268435456"), NULL, 0);
    int l_h2g = vt_listen(VT_PORT_H2G);
    int l_hold = vt_listen(VT_PORT_HOLD_H2G);
    if (l_h2g < 0 || l_hold < 0) {
        vt_result("listen", 0, "%s", strerror(errno));
        return;
    }
    case_nolistener();
    case_g2h(bytes);
    case_h2g(l_h2g, bytes);
    case_concurrent();
    case_halfclose();
    case_hold(l_hold);
}

/* First boot: leave a stream open and reboot (the device is reset under it). Second boot:
 * the host sees a new connection and data must flow again. The host tells which is which. */
static void run_reset(void)
{
    char phase = 0;
    int c = vt_connect(VMADDR_CID_HOST, VT_PORT_PHASE);
    if (c < 0 || vt_read_full(c, &phase, 1) != 1) {
        vt_result("reset", 0, "phase connection: %s", strerror(errno));
        return;
    }
    if (phase == '1') {
        int h = vt_connect(VMADDR_CID_HOST, VT_PORT_RESET_HOLD);
        char k = 0;
        int ok = h >= 0 && vt_write_all(h, "x", 1) == 0 && vt_read_full(h, &k, 1) == 1;
        vt_result("reset-first", ok && k == 'k', "rebooting with a stream open");
        sync();
        reboot(RB_AUTOBOOT);
        return;
    }
    int r = vt_send_stream(c, 3, VT_RESET_BYTES);
    shutdown(c, SHUT_WR);
    char verdict = 0;
    vt_read_full(c, &verdict, 1);
    vt_result("reset-second", r == 0 && verdict == 'Y', "data after the reset verdict=%c",
              verdict ? verdict : '?');
    close(c);
}

int main(void)
{
    if (getpid() == 1) {
        mount("proc", "/proc", "proc", 0, NULL);
        mount("sysfs", "/sys", "sysfs", 0, NULL);
        mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    }
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        cmdline[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    load_modules();
    unsigned cid = (unsigned)strtoul(vt_arg("vt.cid", "3"), NULL, 0);
    const char *mode = vt_arg("vt", "suite");
    if (strcmp(mode, "loopback") != 0 && wait_cid(cid) < 0)
        vt_result("device", 0, "no virtio-vsock device with CID %u", cid);
    else if (strcmp(mode, "suite") == 0)
        run_suite();
    else if (strcmp(mode, "reset") == 0)
        run_reset();
    else
        vt_bench(mode);
    printf("VHOST-DONE\n");
    fflush(stdout);
    sync();
    if (getpid() == 1)
        reboot(RB_POWER_OFF);
    return 0;
}
