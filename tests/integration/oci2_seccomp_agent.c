/* Test helper: a seccomp agent at linux.seccomp.listenerPath, as runc's seccompagent example
 * plays it. Listens on PATH, accepts one connection, requires the container process state
 * JSON with exactly one SCM_RIGHTS fd (the filter's listener), writes the JSON to STATE_FILE,
 * then answers every notification with "success, return 0" without doing the call (so a
 * notified mkdir "works" but makes nothing), until the last filtered process is gone.
 *   oci2_seccomp_agent PATH STATE_FILE */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/seccomp.h>

static int die(const char *what)
{
    fprintf(stderr, "oci2_seccomp_agent: %s: %s\n", what, strerror(errno));
    return 1;
}

static int receive(int conn, const char *state_file)
{
    static char doc[65536];
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = doc, .iov_len = sizeof(doc) - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0)
        return die("recvmsg");
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)) ||
        CMSG_NXTHDR(&mh, c) != NULL) {
        errno = EPROTO;
        return die("want exactly one fd");
    }
    int fd = -1;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    FILE *f = fopen(state_file, "w");
    if (f == NULL)
        return die(state_file);
    fwrite(doc, 1, (size_t)n, f);
    fputc('\n', f);
    fclose(f);
    return fd;
}

static int serve(int listener)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (;;) {
        struct pollfd p = {.fd = listener, .events = POLLIN};
        if (poll(&p, 1, 30000) <= 0)
            return die("poll (no notification in 30 s)");
        if (p.revents & (POLLHUP | POLLERR))
            return 0; /* every filtered process is gone */
        memset(&req, 0, sizeof(req));
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;
            return die("SECCOMP_IOCTL_NOTIF_RECV");
        }
        memset(&resp, 0, sizeof(resp));
        resp.id = req.id;
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
            return die("SECCOMP_IOCTL_NOTIF_SEND");
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: oci2_seccomp_agent PATH STATE_FILE\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(sa.sun_path))
        return die("path too long");
    memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1); /* length checked above */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
        return die("listen");
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, 30000) <= 0)
        return die("no connection in 30 s");
    int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return die("accept");
    int listener = receive(conn, argv[2]);
    close(conn);
    close(s);
    unlink(argv[1]);
    if (listener < 0)
        return 1;
    return serve(listener);
}
