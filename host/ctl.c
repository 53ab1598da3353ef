/* runlcow's control socket between the CLI verbs and a container's supervisor: a
 * SOCK_SEQPACKET Unix socket, so each JSON message arrives whole, with stdio fds passed by
 * SCM_RIGHTS (exec hands its own stdin/stdout/stderr over, as runc's pass-through does). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "host/runlcow.h"

#define CTL_MSG_MAX 65536
/* exec's three stdio fds, plus the client's connection when a workload's supervisor relays a
 * request to the UVM owner (runlcow_pod.c). */
#define CTL_FDS_MAX 4

static int ctl_addr(const char *dir, struct sockaddr_un *sa, struct lcow_error **err)
{
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/c.sock", dir) >=
        sizeof(sa->sun_path))
        return lcow_error_make(err, ENAMETOOLONG, "state directory `%s` is too long", dir);
    return 0;
}

int rl_ctl_listen(const char *dir, struct lcow_error **err)
{
    struct sockaddr_un sa;
    int r = ctl_addr(dir, &sa, err);
    if (r < 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    (void)unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        r = lcow_error_errno(err, "listen on `%s`", sa.sun_path);
        close(fd);
        return r;
    }
    return fd;
}

int rl_ctl_dial(const char *dir, struct lcow_error **err)
{
    struct sockaddr_un sa;
    int r = ctl_addr(dir, &sa, err);
    if (r < 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = lcow_error_errno(err, "reach the container's supervisor");
        close(fd);
        return r;
    }
    return fd;
}

int rl_ctl_send(int fd, struct json_object *msg, const int *fds, size_t n_fds,
                struct lcow_error **err)
{
    const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    union {
        char buf[CMSG_SPACE(sizeof(int) * CTL_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n_fds > CTL_FDS_MAX)
        return lcow_error_make(err, EINVAL, "too many fds");
    if (n_fds) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    }
    ssize_t n;
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return lcow_error_errno(err, "send to the supervisor");
    return 0;
}

int rl_ctl_recv(int fd, int timeout_ms, struct json_object **ret, int *fds, size_t *n_fds,
                struct lcow_error **err)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lcow_error_errno(err, "poll");
        if (r == 0)
            return lcow_error_make(err, ETIMEDOUT, "no answer from the supervisor in time");
        break;
    }
    cleanup_free char *buf = malloc(CTL_MSG_MAX + 1);
    if (!buf)
        return lcow_error_make(err, ENOMEM, "control message");
    struct iovec iov = {.iov_base = buf, .iov_len = CTL_MSG_MAX};
    union {
        char b[CMSG_SPACE(sizeof(int) * CTL_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    ssize_t n;
    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return lcow_error_errno(err, "receive from the control socket");
    size_t got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int tmp[CTL_FDS_MAX];
        memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
        for (size_t i = 0; i < k; i++) {
            if (fds && n_fds && got < *n_fds)
                fds[got++] = tmp[i];
            else
                close(tmp[i]);
        }
    }
    if (n_fds)
        *n_fds = got;
    if (n == 0) {
        for (size_t i = 0; i < got; i++)
            close(fds[i]);
        return lcow_error_make(err, ECONNRESET, "the supervisor closed the connection");
    }
    int r = lcow_json_parse(buf, (size_t)n, "control message", ret, err);
    if (r < 0)
        for (size_t i = 0; i < got; i++)
            close(fds[i]);
    return r;
}

int rl_ctl_accept_request(int listen_fd, struct json_object **ret, int *fds, size_t *n_fds)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    cleanup_error struct lcow_error *err = NULL;
    if (rl_ctl_recv(fd, 5000, ret, fds, n_fds, &err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int rl_ctl_call(const char *dir, struct json_object *req, const int *fds, size_t n_fds,
                int timeout_ms, int *ret_fd, struct json_object **ret, struct lcow_error **err)
{
    int fd = rl_ctl_dial(dir, err);
    if (fd < 0)
        return fd;
    struct json_object *reply = NULL;
    int r = rl_ctl_send(fd, req, fds, n_fds, err);
    if (r >= 0)
        r = rl_ctl_recv(fd, timeout_ms, &reply, NULL, NULL, err);
    const char *e = NULL;
    if (r >= 0 && lcow_json_get_string(reply, "", "error", &e, NULL) == 0 && e) {
        r = lcow_error_make(err, EIO, "%s", e);
        json_object_put(reply);
        reply = NULL;
    }
    if (r < 0 || !ret_fd)
        close(fd);
    else
        *ret_fd = fd;
    if (r >= 0 && ret)
        *ret = reply;
    else
        json_object_put(reply);
    return r;
}
