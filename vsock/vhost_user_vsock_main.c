/* vhost-user-vsock: a user-space virtio-vsock device for QEMU's -device vhost-user-vsock-pci,
 * with guest ports exposed as Unix sockets (Firecracker's hybrid convention, design.md §4).
 * It serves one QEMU: when QEMU closes the vhost-user socket (the VM powered off or QEMU
 * exited), every host socket is closed and the program exits 0. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "vsock/transport.h"
#include "vsock/vhost_user.h"
#include "vsock/virtio_vsock.h"

struct opts {
    const char *socket_path;
    const char *uds;
    uint64_t guest_cid;
    enum lcow_log_level level;
    bool json;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: vhost-user-vsock --socket PATH --uds PATH [--guest-cid N]\n"
            "\n"
            "A vhost-user back end for QEMU's vhost-user-vsock-pci device.\n"
            "  --socket PATH     vhost-user socket QEMU connects to (-chardev socket,path=PATH)\n"
            "  --uds PATH        host side: a guest connect to port P reaches the Unix socket\n"
            "                    PATH_P; a host client connects to PATH and writes\n"
            "                    \"CONNECT <port>\\n\" to reach a guest listener\n"
            "  --guest-cid N     the guest's CID (default 3; 3 to 4294967294)\n"
            "  --log-level L     trace|debug|info|warn|error (default info)\n"
            "  --log-format F    text|json (default text)\n"
            "  --help            this text\n"
            "QEMU needs shared guest memory, e.g.:\n"
            "  -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem\n"
            "  -chardev socket,id=c,path=PATH -device vhost-user-vsock-pci,chardev=c\n");
}

static int parse_cid(const char *s, uint64_t *ret)
{
    uint32_t v;
    /* 0-2 are the hypervisor, local and host CIDs; 0xffffffff is VMADDR_CID_ANY */
    if (vsock_port_parse(s, &v) < 0 || v < 3 || v == UINT32_MAX)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* 0 to run, 1 after --help, -1 on a bad command line (message printed). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"uds", required_argument, NULL, 'u'},
        {"guest-cid", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->socket_path = optarg;
            break;
        case 'u':
            o->uds = optarg;
            break;
        case 'c':
            if (parse_cid(optarg, &o->guest_cid) < 0) {
                fprintf(stderr, "vhost-user-vsock: --guest-cid `%s`: expected 3..4294967294\n",
                        optarg);
                return -1;
            }
            break;
        case 'l':
            if (lcow_log_parse_level(optarg, &o->level) < 0) {
                fprintf(stderr, "vhost-user-vsock: --log-level `%s`: unknown level\n", optarg);
                return -1;
            }
            break;
        case 'f':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "vhost-user-vsock: --log-format `%s`: text or json\n", optarg);
                return -1;
            }
            o->json = strcmp(optarg, "json") == 0;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "vhost-user-vsock: unknown or incomplete option `%s`\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vhost-user-vsock: unexpected argument `%s`\n", argv[optind]);
        return -1;
    }
    if (o->socket_path == NULL || o->uds == NULL) {
        fprintf(stderr, "vhost-user-vsock: --socket and --uds are required (see --help)\n");
        return -1;
    }
    struct sockaddr_un sa;
    if (strlen(o->socket_path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "vhost-user-vsock: --socket `%s`: path too long\n", o->socket_path);
        return -1;
    }
    return 0;
}

/* The socket appears at `path` only once it listens: starters wait for the file and then
 * start QEMU, whose connect between our bind and listen would fail (ECONNREFUSED) and end it.
 * So it is bound under a temporary name and renamed into place (directly at `path` only when
 * the temporary name would not fit in sun_path). */
static int listen_unix(const char *path, struct lcow_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int k = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%ld.tmp", path, (long)getpid());
    bool tmp = k > 0 && (size_t)k < sizeof(sa.sun_path);
    if (!tmp)
        memcpy(sa.sun_path, path, strlen(path) + 1); /* length checked by parse_args */
    struct stat st;
    if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
        (void)unlink(sa.sun_path); /* a stale socket from an earlier run */
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return lcow_error_errno(err, "bind `%s`", sa.sun_path);
    if (listen(fd, 1) < 0) {
        int r = lcow_error_errno(err, "listen `%s`", sa.sun_path);
        (void)unlink(sa.sun_path);
        return r;
    }
    if (tmp && rename(sa.sun_path, path) < 0) {
        int r = lcow_error_errno(err, "rename `%s` to `%s`", sa.sun_path, path);
        (void)unlink(sa.sun_path);
        return r;
    }
    return take_fd(&fd);
}

struct loop {
    struct opts *o;
    int epfd;
    int listen_fd;
    struct vsock_watch listen_watch, signal_watch;
    int sig_fd;
    bool attached, stop;
    int exit_code;
    struct vsock_vu vu;
    struct vsock_dev dev;
};

static void on_frontend(struct vsock_watch *w, uint32_t events)
{
    struct loop *l = (struct loop *)((char *)w - offsetof(struct loop, listen_watch));
    cleanup_error struct lcow_error *err = NULL;
    cleanup_close int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (vsock_vu_attach(&l->vu, fd, l->epfd, &l->dev, &err) < 0) {
        lcow_error_log("vhost-user-vsock: %s", lcow_error_message(err));
        l->stop = true;
        l->exit_code = 1;
        return;
    }
    fd = -1; /* vu owns it */
    l->attached = true;
    /* one QEMU per back end: nobody else may connect */
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->listen_fd, NULL);
    l->listen_fd = lcow_close_nointr(l->listen_fd);
    (void)unlink(l->o->socket_path);
    lcow_info("vhost-user-vsock: front end connected");
}

static void on_signal(struct vsock_watch *w, uint32_t events)
{
    struct loop *l = (struct loop *)((char *)w - offsetof(struct loop, signal_watch));
    struct signalfd_siginfo si;
    if (read(l->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        lcow_info("vhost-user-vsock: signal %u, exiting", si.ssi_signo);
        l->stop = true;
    }
}

static int setup(struct loop *l, struct lcow_error **err)
{
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        return lcow_error_errno(err, "epoll_create1");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    l->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (l->sig_fd < 0)
        return lcow_error_errno(err, "signalfd");
    l->signal_watch.handle = on_signal;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &l->signal_watch};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sig_fd, &e) < 0)
        return lcow_error_errno(err, "epoll_ctl");
    int r = vsock_dev_init(&l->dev, l->epfd, l->o->guest_cid, l->o->uds, &l->vu.mem,
                           &l->vu.vq[VSOCK_DEV_RX], &l->vu.vq[VSOCK_DEV_TX], err);
    if (r < 0)
        return r;
    l->vu.dev = &l->dev;
    l->listen_fd = listen_unix(l->o->socket_path, err);
    if (l->listen_fd < 0)
        return l->listen_fd;
    l->listen_watch.handle = on_frontend;
    e = (struct epoll_event){.events = EPOLLIN, .data.ptr = &l->listen_watch};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->listen_fd, &e) < 0)
        return lcow_error_errno(err, "epoll_ctl");
    return 0;
}

static void run(struct loop *l)
{
    struct epoll_event ev[64];
    bool warned = false;
    while (!l->stop) {
        int n = epoll_wait(l->epfd, ev, (int)LCOW_ARRAY_SIZE(ev),
                           vsock_dev_calls_pending(&l->dev) ? 1 : -1);
        if (n >= 0)
            vsock_dev_flush_calls(&l->dev, n == 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            lcow_error_log("vhost-user-vsock: epoll_wait: %m");
            l->exit_code = 1;
            return;
        }
        for (int i = 0; i < n && !l->stop; i++) {
            struct vsock_watch *w = ev[i].data.ptr;
            w->handle(w, ev[i].events);
        }
        vsock_dev_reap(&l->dev);
        if (l->vu.failed_requests && l->vu.last_error[0]) {
            lcow_warn("vhost-user-vsock: request failed: %s", l->vu.last_error);
            l->vu.last_error[0] = '\0';
        }
        if (!warned && vsock_vu_memory_suspect(&l->vu)) {
            lcow_warn("vhost-user-vsock: the guest kicks but its rings stay empty: is QEMU's "
                      "memory backend share=on?");
            warned = true;
        }
        if (l->vu.done) {
            if (l->vu.done_code == -ECONNRESET) {
                lcow_info("vhost-user-vsock: front end closed the connection, exiting");
            } else {
                lcow_error_log("vhost-user-vsock: %s", l->vu.done_msg);
                l->exit_code = 1;
            }
            return;
        }
    }
}

int main(int argc, char **argv)
{
    struct opts o = {.guest_cid = 3, .level = LCOW_LOG_INFO};
    int r = parse_args(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    lcow_log_setup(STDERR_FILENO, o.level, o.json);
    signal(SIGPIPE, SIG_IGN);
    static struct loop l; /* large (the device's reply queue): not on the stack */
    l.o = &o;
    l.listen_fd = l.sig_fd = l.epfd = -1;
    l.dev.listen_fd = -1;
    vsock_vu_prepare(&l.vu);
    cleanup_error struct lcow_error *err = NULL;
    if (setup(&l, &err) < 0) {
        lcow_error_log("vhost-user-vsock: %s", lcow_error_message(err));
        l.exit_code = 1;
    } else {
        lcow_info("vhost-user-vsock: listening on %s (guest CID %llu, host sockets %s_PORT)",
                  o.socket_path, (unsigned long long)o.guest_cid, o.uds);
        run(&l);
    }
    vsock_vu_destroy(&l.vu);
    vsock_dev_destroy(&l.dev);
    if (l.listen_fd >= 0) {
        lcow_close_nointr(l.listen_fd);
        (void)unlink(o.socket_path);
    }
    return l.exit_code;
}
