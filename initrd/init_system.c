/* The small system chores of PID 1: its log, limits, the loopback link, boot entropy from
 * the host, the initial-namespace check, and power-off. */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "initrd/init.h"

/* The inode the kernel gives the initial pid namespace (PROC_PID_INIT_INO). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu
#define ENTROPY_CHUNK     4096
#define ENTROPY_MAX       (1u << 20) /* the host sends 512 bytes; never read without bound */
/* The host writes its bytes and closes at once. A stream that stays open (a host that never
 * closes, a close the device never delivers) must not keep PID 1 from starting the GCS. */
#define ENTROPY_READ_TIMEOUT_S 10

bool init_is_vm_init(void)
{
    if (getpid() != 1)
        return false;
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) < 0)
        return false; /* cannot prove it: assume a test, which never powers anything off */
    return st.st_ino == PROC_PID_INIT_INO;
}

int init_set_rlimits(struct lcow_error **err)
{
    /* hcsshim's values: containers get a usable soft limit, and may raise it. */
    struct rlimit rl = {.rlim_cur = 1024, .rlim_max = 1024 * 1024};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return lcow_error_errno(err, "setrlimit RLIMIT_NOFILE");
    return 0;
}

static int link_up(int family, struct lcow_error **err)
{
    cleanup_close int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno == EAFNOSUPPORT ? 0 : lcow_error_errno(err, "socket family %d", family);
    struct ifreq ifr = {0};
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return lcow_error_errno(err, "SIOCGIFFLAGS `lo`");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return lcow_error_errno(err, "SIOCSIFFLAGS `lo`");
    return 0;
}

int init_loopback_up(struct lcow_error **err)
{
    int r = link_up(AF_INET, err);
    if (r < 0)
        return r;
    return link_up(AF_INET6, err);
}

static int add_entropy(int rnd, const unsigned char *buf, size_t n, struct lcow_error **err)
{
    cleanup_free struct rand_pool_info *info = malloc(sizeof(*info) + n);
    if (info == NULL)
        return lcow_error_make(err, ENOMEM, "entropy buffer");
    info->entropy_count = (int)(n * 8);
    info->buf_size = (int)n;
    memcpy(info->buf, buf, n);
    if (ioctl(rnd, RNDADDENTROPY, info) < 0)
        return lcow_error_errno(err, "RNDADDENTROPY");
    return 0;
}

int init_feed_entropy(const struct vsock_addr *base, uint32_t port, struct lcow_error **err)
{
    cleanup_close int sock = vsock_dial(base, port, err);
    if (sock < 0)
        return lcow_error_wrap(err, "entropy");
    cleanup_close int rnd = open("/dev/random", O_WRONLY | O_CLOEXEC);
    if (rnd < 0)
        return lcow_error_errno(err, "open `/dev/random`");
    struct timeval tv = {.tv_sec = ENTROPY_READ_TIMEOUT_S};
    if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        return lcow_error_errno(err, "entropy: SO_RCVTIMEO");
    unsigned char buf[ENTROPY_CHUNK];
    size_t total = 0;
    while (total < ENTROPY_MAX) {
        ssize_t n = LCOW_RETRY_EINTR(read(sock, buf, sizeof(buf)));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return lcow_error_make(err, ETIMEDOUT,
                                   "entropy read: the stream did not end within %d s (%zu bytes "
                                   "taken)",
                                   ENTROPY_READ_TIMEOUT_S, total);
        if (n < 0)
            return lcow_error_errno(err, "entropy read");
        if (n == 0)
            break;
        int r = add_entropy(rnd, buf, (size_t)n, err);
        if (r < 0)
            return r;
        total += (size_t)n;
    }
    return (int)total;
}

int init_power_off(struct lcow_error **err)
{
    sync();
    if (reboot(RB_POWER_OFF) < 0)
        return lcow_error_errno(err, "reboot(RB_POWER_OFF)");
    return 0;
}

double init_uptime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* init's messages: "<prio>init: text" records on /dev/kmsg in the VM (the kernel stamps them
 * with its own clock, which the boot timeline reads back), or plain lines on stderr when init
 * runs in a test's pid namespace and must not write into the machine's kernel log. */
static int kmsg_fd = -1;

void init_log_setup(bool use_kmsg)
{
    if (kmsg_fd >= 0) {
        close(kmsg_fd);
        kmsg_fd = -1;
    }
    if (use_kmsg)
        kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

void init_log(int prio, const char *fmt, ...)
{
    int saved = errno; /* callers log and then still look at errno */
    char buf[1024];
    int off = snprintf(buf, sizeof(buf), "<%d>init: ", prio);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + off, sizeof(buf) - (size_t)off - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)off + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof(buf) - 2)
        len = sizeof(buf) - 2;
    buf[len++] = '\n';
    /* One write per record: /dev/kmsg takes each write as one message. */
    if (kmsg_fd < 0 || write(kmsg_fd, buf, len) < 0) {
        const char *text = strchr(buf, '>') + 1;
        if (write(STDERR_FILENO, text, len - (size_t)(text - buf)) < 0) {
            /* nowhere left to report it */
        }
    }
    errno = saved;
}
