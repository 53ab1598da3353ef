/* A console-socket receiver for tests (runc's recvtty, reduced): rl2_recvtty SOCKET OUT [INPUT]
 * listens on the Unix socket SOCKET, takes one pty master sent over SCM_RIGHTS, writes INPUT
 * (backslash-n turned into newlines) to it, then copies everything the master yields into
 * OUT until the other side is closed (EIO) or 120 s pass. Exit 0 when a master arrived. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int recv_master(int conn)
{
    char body[256];
    struct iovec iov = {.iov_base = body, .iov_len = sizeof(body)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rl2_recvtty SOCKET OUT [INPUT]\n");
        return 2;
    }
    /* Listen under a temporary name and rename it into place: a test that waits for the
     * socket file to appear must never connect between bind() and listen() (ECONNREFUSED). */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int len = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.tmp", argv[1]);
    if (len < 0 || (size_t)len >= sizeof(sa.sun_path)) {
        fprintf(stderr, "rl2_recvtty: socket path too long\n");
        return 1;
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0 ||
        rename(sa.sun_path, argv[1]) < 0) {
        perror("rl2_recvtty: listen");
        return 1;
    }
    int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    int master = conn >= 0 ? recv_master(conn) : -1;
    if (master < 0) {
        fprintf(stderr, "rl2_recvtty: no pty master received\n");
        return 1;
    }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return 1;
    if (argc > 3) {
        char in[512];
        size_t n = 0;
        for (const char *p = argv[3]; *p && n < sizeof(in) - 1; p++) {
            if (p[0] == '\\' && p[1] == 'n') {
                in[n++] = '\n';
                p++;
            } else {
                in[n++] = *p;
            }
        }
        if (write(master, in, n) != (ssize_t)n)
            return 1;
    }
    for (int waited = 0; waited < 120000;) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        int r = poll(&p, 1, 1000);
        if (r == 0) {
            waited += 1000;
            continue;
        }
        char buf[4096];
        ssize_t n = read(master, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EIO: every slave fd is closed */
        if (write(out, buf, (size_t)n) != n)
            return 1;
    }
    return 0;
}
