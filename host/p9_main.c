/* lcow-9p-server: the host's Plan9 file server for MappedDirectory shares (host/p9_server.h).
 *
 *   lcow-9p-server --listen ADDR [--port N] [--share NAME=DIR[:ro]]... [--root DIR [--readonly]]
 *                  [--control PATH] [--fd N] [--msize N] [--log-format text|json] [--loglevel L]
 *     ADDR is the transport grammar of design.md §4: unix:PATH[:PORT] (or listen:unix:PATH)
 *     listens on PATH_PORT, the socket vhost-user-vsock hands guest connections to port PORT;
 *     vsock:CID:PORT / listen:vsock:PORT listens on AF_VSOCK. PORT defaults to 564.
 *     --share exports DIR as the share the guest names with aname=NAME (hcsshim's decimal
 *     ShareName; a FILE is shared as its directory showing only that file); --root exports
 *     DIR to any aname. --fd serves an already-connected socket.
 *     --control PATH takes one-line commands on a Unix socket (what runlcow uses to add and
 *     remove shares while the UVM runs): "add\tNAME\tDIR\tro|rw", "remove\tNAME", "status".
 *
 *   lcow-9p-server ctl PATH add NAME DIR [ro] | remove NAME | status
 *     sends one control command and prints the answer (exit 0 on "ok").
 *
 * SIGTERM/SIGINT: stop listening, shut every connection down, remove the sockets, exit 0. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "host/p9_server.h"
#include "vsock/transport.h"

#define CTL_LINE_MAX 8192

struct opts {
    const char *listen;
    uint32_t port;
    const char *control;
    int fd;
    uint32_t msize;
};

static int usage(void)
{
    fputs("usage: lcow-9p-server --listen ADDR [--port N] [--share NAME=DIR[:ro]]... "
          "[--root DIR [--readonly]]\n"
          "                      [--control PATH] [--fd N] [--msize N] [--log-format text|json] "
          "[--loglevel L]\n"
          "       lcow-9p-server ctl PATH (add NAME DIR [ro] | remove NAME | status)\n",
          stderr);
    return 2;
}

/* A directory is shared as is; a regular file as its directory restricted to that name
 * (a single-file bind mount). */
static int add_path(struct host_p9_server *s, const char *name, const char *path, bool ro,
                    struct lcow_error **err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return lcow_error_errno(err, "stat `%s`", path);
    if (!S_ISREG(st.st_mode))
        return host_p9_server_add_share(s, name, path, ro, err);
    cleanup_free char *dir = strdup(path);
    if (!dir)
        return lcow_error_make(err, ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    const char *file = slash ? slash + 1 : dir;
    const char *parent = slash == dir ? "/" : slash ? (*slash = '\0', dir) : ".";
    if (slash == dir)
        file = path + 1;
    return host_p9_server_add_share_file(s, name, parent, file, ro, err);
}

static int add_share_arg(struct host_p9_server *s, const char *arg, struct lcow_error **err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return lcow_error_make(err, EINVAL, "--share `%s`: want NAME=DIR[:ro]", arg);
    cleanup_free char *name = strndup(arg, (size_t)(eq - arg));
    cleanup_free char *dir = strdup(eq + 1);
    if (!name || !dir)
        return lcow_error_make(err, ENOMEM, "out of memory");
    size_t n = strlen(dir);
    bool ro = n > 3 && strcmp(dir + n - 3, ":ro") == 0;
    if (ro)
        dir[n - 3] = '\0';
    return add_path(s, name, dir, ro, err);
}

/* ---- control socket -------------------------------------------------------------------- */

static int ctl_socket(const char *path, bool listen_side, struct lcow_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return lcow_error_make(err, ENAMETOOLONG, "control path `%s` is too long", path);
    strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    if (listen_side) {
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
            return lcow_error_errno(err, "listen on `%s`", path);
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        return lcow_error_errno(err, "connect to `%s`", path);
    }
    return take_fd(&fd);
}

/* Splits a control line at tabs into at most 4 words. */
static int ctl_words(char *line, char *w[4])
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < 4;
         t = strtok_r(NULL, "\t", &save))
        w[n++] = t;
    return n;
}

static void ctl_execute(struct host_p9_server *s, char *line, char *reply, size_t cap)
{
    char *w[4] = {0};
    int n = ctl_words(line, w);
    cleanup_error struct lcow_error *err = NULL;
    int r = -EINVAL;
    if (n == 4 && strcmp(w[0], "add") == 0 && (!strcmp(w[3], "ro") || !strcmp(w[3], "rw"))) {
        r = add_path(s, w[1], w[2], strcmp(w[3], "ro") == 0, &err);
        if (r == 0)
            lcow_info("9p share `%s` added: `%s` (%s)", w[1], w[2], w[3]);
    } else if (n == 2 && strcmp(w[0], "remove") == 0) {
        r = host_p9_server_remove_share(s, w[1], &err);
        if (r == 0)
            lcow_info("9p share `%s` removed", w[1]);
    } else if (n == 1 && strcmp(w[0], "status") == 0) {
        snprintf(reply, cap, "ok %u\n", host_p9_server_connections(s));
        return;
    } else {
        lcow_error_make(&err, EINVAL, "unknown control command");
    }
    if (r == 0)
        snprintf(reply, cap, "ok\n");
    else
        snprintf(reply, cap, "error %s\n", lcow_error_message(err));
}

/* One command per connection; a client that does not send its line within 2 s is dropped. */
static void ctl_serve(struct host_p9_server *s, int lfd)
{
    cleanup_close int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    char line[CTL_LINE_MAX];
    size_t len = 0;
    while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    line[len] = '\0';
    char *nl = strchr(line, '\n');
    if (!nl)
        return;
    *nl = '\0';
    char reply[CTL_LINE_MAX];
    ctl_execute(s, line, reply, sizeof(reply));
    (void)lcow_write_all(fd, reply, strlen(reply));
}

static int ctl_client(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    char line[CTL_LINE_MAX];
    size_t len = 0;
    for (int i = 1; i < argc; i++) {
        if (strpbrk(argv[i], "\t\n")) {
            fprintf(stderr, "lcow-9p-server: `%s` holds a tab or newline\n", argv[i]);
            return 2;
        }
        int n = snprintf(line + len, sizeof(line) - len, "%s%s", i > 1 ? "\t" : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof(line) - len - 1)
            return usage();
        len += (size_t)n;
    }
    if (argc == 4 && strcmp(argv[1], "add") == 0)
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\trw");
    line[len++] = '\n';
    cleanup_error struct lcow_error *err = NULL;
    cleanup_close int fd = ctl_socket(argv[0], false, &err);
    if (fd < 0 || lcow_write_all(fd, line, len) < 0) {
        fprintf(stderr, "lcow-9p-server: %s\n", fd < 0 ? lcow_error_message(err) : "write failed");
        return 1;
    }
    cleanup_free char *reply = NULL;
    size_t rl = 0;
    if (lcow_read_fd_all(fd, CTL_LINE_MAX, &reply, &rl) < 0 || rl == 0) {
        fprintf(stderr, "lcow-9p-server: no answer from `%s`\n", argv[0]);
        return 1;
    }
    fwrite(reply, 1, rl, stdout);
    return strncmp(reply, "ok", 2) == 0 ? 0 : 1;
}

/* ---- server ---------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct opts *o, struct host_p9_server **ret_srv,
                      struct lcow_error **err)
{
    enum { O_PORT = 256, O_ROOT, O_RO, O_CONTROL, O_FD, O_MSIZE, O_FORMAT, O_LEVEL, O_SHARE };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"port", required_argument, NULL, O_PORT},
        {"share", required_argument, NULL, O_SHARE},
        {"root", required_argument, NULL, O_ROOT},
        {"readonly", no_argument, NULL, O_RO},
        {"control", required_argument, NULL, O_CONTROL},
        {"fd", required_argument, NULL, O_FD},
        {"msize", required_argument, NULL, O_MSIZE},
        {"log-format", required_argument, NULL, O_FORMAT},
        {"loglevel", required_argument, NULL, O_LEVEL},
        {NULL, 0, NULL, 0},
    };
    const char *root = NULL, *shares[64];
    size_t n_shares = 0;
    bool ro = false, json = false;
    enum lcow_log_level level = LCOW_LOG_INFO;
    int c;
    while ((c = getopt_long(argc, argv, "l:", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case O_PORT:
            if (vsock_port_parse(optarg, &o->port) < 0)
                return lcow_error_make(err, EINVAL, "--port `%s` is not a port", optarg);
            break;
        case O_SHARE:
            if (n_shares == LCOW_ARRAY_SIZE(shares))
                return lcow_error_make(err, E2BIG, "too many --share");
            shares[n_shares++] = optarg;
            break;
        case O_ROOT:
            root = optarg;
            break;
        case O_RO:
            ro = true;
            break;
        case O_CONTROL:
            o->control = optarg;
            break;
        case O_FD:
            o->fd = atoi(optarg);
            break;
        case O_MSIZE:
            o->msize = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case O_FORMAT:
            json = strcmp(optarg, "json") == 0;
            break;
        case O_LEVEL:
            if (lcow_log_parse_level(optarg, &level) < 0)
                return lcow_error_make(err, EINVAL, "--loglevel `%s` is unknown", optarg);
            break;
        default:
            return lcow_error_make(err, EINVAL, "bad arguments");
        }
    }
    if (optind != argc || (!o->listen && o->fd < 0))
        return lcow_error_make(err, EINVAL, "want --listen ADDR or --fd N");
    lcow_log_setup(STDERR_FILENO, level, json);
    int r = host_p9_server_new(o->msize, ret_srv, err);
    if (r < 0)
        return r;
    if (root && (r = host_p9_server_add_share(*ret_srv, NULL, root, ro, err)) < 0)
        return r;
    for (size_t i = 0; i < n_shares; i++)
        if ((r = add_share_arg(*ret_srv, shares[i], err)) < 0)
            return r;
    return 0;
}

static int start(struct host_p9_server *s, const struct opts *o, char *sock_path, size_t cap,
                 struct lcow_error **err)
{
    if (o->fd >= 0) {
        int r = host_p9_server_serve_fd(s, o->fd, err);
        if (r < 0)
            return r;
    }
    if (!o->listen)
        return 0;
    struct vsock_addr a;
    int r = vsock_addr_parse(o->listen, &a, err);
    if (r < 0)
        return r;
    uint32_t port = a.has_port ? a.port : o->port;
    if (a.kind == VSOCK_ADDR_UNIX && vsock_unix_path(&a, port, sock_path, cap) < 0)
        return lcow_error_make(err, ENAMETOOLONG, "listen path `%s` is too long", a.path);
    return host_p9_server_listen(s, &a, port, err);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ctl") == 0)
        return ctl_client(argc - 2, argv + 2);
    struct opts o = {.port = HOST_P9_DEFAULT_PORT, .fd = -1};
    struct host_p9_server *srv = NULL;
    cleanup_error struct lcow_error *err = NULL;
    char sock_path[256] = "";
    /* Every fid holds a descriptor: take the whole hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* threads inherit it */
    cleanup_close int ctl = -1;
    if (parse_args(argc, argv, &o, &srv, &err) < 0 ||
        start(srv, &o, sock_path, sizeof(sock_path), &err) < 0 ||
        (o.control && (ctl = ctl_socket(o.control, true, &err)) < 0)) {
        fprintf(stderr, "lcow-9p-server: %s\n", lcow_error_message(err));
        host_p9_server_free(srv);
        return err && err->code == EINVAL ? usage() : 1;
    }
    sigdelset(&mask, SIGPIPE);
    cleanup_close int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    lcow_info("lcow-9p-server serving on %s", o.listen ? o.listen : "an inherited fd");
    for (;;) {
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ctl, .events = POLLIN}};
        int n = poll(p, 2, o.listen ? -1 : 200);
        if (n < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents)
            ctl_serve(srv, ctl);
        if (!o.listen && host_p9_server_connections(srv) == 0)
            break; /* --fd only: done when that connection is */
    }
    host_p9_server_free(srv);
    if (*sock_path)
        unlink(sock_path);
    if (o.control)
        unlink(o.control);
    lcow_info("lcow-9p-server stopped");
    return 0;
}
