#include "vsock/transport.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "common/cleanup.h"
#include "common/io.h"

int vsock_port_parse(const char *s, uint32_t *ret)
{
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return -EINVAL;
    char *end = NULL;
    errno = 0;
    unsigned long long v =
        strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
    if (errno != 0 || *end != '\0' || end == s || v > UINT32_MAX)
        return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

static int parse_vsock(const char *spec, const char *rest, bool listen, struct vsock_addr *a,
                       struct lcow_error **err)
{
    char buf[64];
    if (strlen(rest) >= sizeof(buf))
        return lcow_error_make(err, EINVAL, "address `%s`: too long", spec);
    memcpy(buf, rest, strlen(rest) + 1); /* length checked above */
    char *colon = strchr(buf, ':');
    if (listen) {
        /* listen:vsock:PORT */
        if (colon != NULL || vsock_port_parse(buf, &a->port) < 0)
            return lcow_error_make(err, EINVAL, "address `%s`: expected listen:vsock:PORT", spec);
        a->has_port = true;
        a->cid = VMADDR_CID_ANY;
        return 0;
    }
    if (colon)
        *colon = '\0';
    if (vsock_port_parse(buf, &a->cid) < 0)
        return lcow_error_make(err, EINVAL, "address `%s`: bad CID `%s`", spec, buf);
    if (colon) {
        if (vsock_port_parse(colon + 1, &a->port) < 0)
            return lcow_error_make(err, EINVAL, "address `%s`: bad port `%s`", spec, colon + 1);
        a->has_port = true;
    }
    return 0;
}

static int parse_unix(const char *spec, const char *rest, bool listen, struct vsock_addr *a,
                      struct lcow_error **err)
{
    if (*rest == '\0')
        return lcow_error_make(err, EINVAL, "address `%s`: empty path", spec);
    size_t len = strlen(rest);
    /* A trailing :PORT (digits or 0x hex) is a port; anything else is part of the path. */
    const char *colon = strrchr(rest, ':');
    uint32_t port = 0;
    if (!listen && colon && colon != rest && vsock_port_parse(colon + 1, &port) == 0) {
        a->has_port = true;
        a->port = port;
        len = (size_t)(colon - rest);
    }
    if (len >= sizeof(a->path))
        return lcow_error_make(err, ENAMETOOLONG, "address `%s`: path too long", spec);
    memcpy(a->path, rest, len);
    a->path[len] = '\0';
    return 0;
}

int vsock_addr_parse(const char *s, struct vsock_addr *ret, struct lcow_error **err)
{
    struct vsock_addr a = {0};
    const char *rest = s;
    if (s == NULL)
        return lcow_error_make(err, EINVAL, "empty address");
    if (strncmp(rest, "listen:", 7) == 0) {
        a.listen = true;
        rest += 7;
    }
    int r;
    if (strncmp(rest, "vsock:", 6) == 0) {
        a.kind = VSOCK_ADDR_VSOCK;
        r = parse_vsock(s, rest + 6, a.listen, &a, err);
    } else if (strncmp(rest, "unix:", 5) == 0) {
        a.kind = VSOCK_ADDR_UNIX;
        r = parse_unix(s, rest + 5, a.listen, &a, err);
    } else {
        return lcow_error_make(err, EINVAL,
                               "address `%s`: expected vsock:CID:PORT, unix:PATH[:PORT], "
                               "listen:vsock:PORT or listen:unix:PATH",
                               s);
    }
    if (r < 0)
        return r;
    *ret = a;
    return 0;
}

void vsock_addr_format(const struct vsock_addr *a, char *buf, size_t cap)
{
    const char *pre = a->listen ? "listen:" : "";
    if (a->kind == VSOCK_ADDR_VSOCK) {
        if (a->listen)
            snprintf(buf, cap, "%svsock:%u", pre, a->port);
        else if (a->has_port)
            snprintf(buf, cap, "vsock:%u:%u", a->cid, a->port);
        else
            snprintf(buf, cap, "vsock:%u", a->cid);
    } else if (a->has_port) {
        snprintf(buf, cap, "%sunix:%s:%u", pre, a->path, a->port);
    } else {
        snprintf(buf, cap, "%sunix:%s", pre, a->path);
    }
}

int vsock_unix_path(const struct vsock_addr *a, uint32_t port, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s_%u", a->path, port);
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static int make_sockaddr(const struct vsock_addr *a, uint32_t port, struct sockaddr_storage *ss,
                         socklen_t *len, struct lcow_error **err)
{
    memset(ss, 0, sizeof(*ss));
    if (a->kind == VSOCK_ADDR_VSOCK) {
        struct sockaddr_vm *vm = (struct sockaddr_vm *)ss;
        vm->svm_family = AF_VSOCK;
        vm->svm_cid = a->listen ? VMADDR_CID_ANY : a->cid;
        vm->svm_port = port;
        *len = sizeof(*vm);
        return 0;
    }
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    un->sun_family = AF_UNIX;
    if (vsock_unix_path(a, port, un->sun_path, sizeof(un->sun_path)) < 0)
        return lcow_error_make(err, ENAMETOOLONG, "unix socket `%s_%u`: path too long", a->path,
                               port);
    *len = (socklen_t)sizeof(*un);
    return 0;
}

static void describe(const struct vsock_addr *a, uint32_t port, char *buf, size_t cap)
{
    if (a->kind == VSOCK_ADDR_VSOCK)
        snprintf(buf, cap, "vsock:%u:%u", a->listen ? VMADDR_CID_ANY : a->cid, port);
    else
        snprintf(buf, cap, "unix:%s_%u", a->path, port);
}

/* The socket address of (a, port), its description for errors, and a fresh CLOEXEC stream
 * socket of the right family: what dialling and listening both start with. */
static int open_socket(const struct vsock_addr *a, uint32_t port, struct sockaddr_storage *ss,
                       socklen_t *len, char what[160], struct lcow_error **err)
{
    int r = make_sockaddr(a, port, ss, len, err);
    if (r < 0)
        return r;
    describe(a, port, what, 160);
    int fd =
        socket(a->kind == VSOCK_ADDR_VSOCK ? AF_VSOCK : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket for `%s`", what);
    return fd;
}

int vsock_dial(const struct vsock_addr *a, uint32_t port, struct lcow_error **err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char what[160];
    cleanup_close int fd = open_socket(a, port, &ss, &len, what, err);
    if (fd < 0)
        return fd;
    if (LCOW_RETRY_EINTR(connect(fd, (struct sockaddr *)&ss, len)) < 0)
        return lcow_error_errno(err, "connect `%s`", what); /* fd closed by cleanup */
    return take_fd(&fd);
}

int vsock_dial_retry(const struct vsock_addr *a, uint32_t port, int retry_ms, int timeout_ms,
                     struct lcow_error **err)
{
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ULL;
    for (;;) {
        struct lcow_error *attempt = NULL;
        int fd = vsock_dial(a, port, &attempt);
        if (fd >= 0)
            return fd;
        if (timeout_ms >= 0 && lcow_now_ns() >= deadline) {
            if (err && *err == NULL)
                *err = attempt;
            else
                lcow_error_release(&attempt);
            return fd;
        }
        lcow_error_release(&attempt);
        struct timespec ts = {.tv_sec = retry_ms / 1000, .tv_nsec = (retry_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

int vsock_listen(const struct vsock_addr *a, uint32_t port, int backlog, struct lcow_error **err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char what[160];
    cleanup_close int fd = open_socket(a, port, &ss, &len, what, err);
    if (fd < 0)
        return fd;
    if (a->kind == VSOCK_ADDR_UNIX)
        (void)unlink(((struct sockaddr_un *)&ss)->sun_path); /* a stale socket from a dead run */
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        return lcow_error_errno(err, "bind `%s`", what);
    if (listen(fd, backlog) < 0)
        return lcow_error_errno(err, "listen `%s`", what);
    return take_fd(&fd);
}

int vsock_accept(int listen_fd, struct lcow_error **err)
{
    int fd = LCOW_RETRY_EINTR(accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC));
    if (fd < 0)
        return lcow_error_errno(err, "accept");
    return fd;
}
