/* Test helper: the caller side of runc's --console-socket protocol, as containerd implements
 * it. Listens on PATH, accepts one connection, requires exactly one SCM_RIGHTS fd (the pty
 * master), optionally writes INPUT to it, then copies everything the container prints to
 * stdout until the last slave closes (EIO).
 *   oci_recvtty PATH [INPUT] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int die(const char *what)
{
    fprintf(stderr, "oci_recvtty: %s: %s\n", what, strerror(errno));
    return 1;
}

static int receive_master(int conn)
{
    char name[4096];
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)) ||
        CMSG_NXTHDR(&mh, c) != NULL) {
        fprintf(stderr, "oci_recvtty: expected exactly one fd\n");
        errno = EPROTO;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    fprintf(stderr, "oci_recvtty: got master (name `%.*s`)\n", (int)n, name);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: oci_recvtty PATH [INPUT]\n"), 2;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
        return die("listen");
    int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return die("accept");
    int master = receive_master(conn);
    if (master < 0)
        return die("receive master");
    close(conn);
    close(ls);
    unlink(argv[1]);
    if (argc > 2 && write(master, argv[2], strlen(argv[2])) < 0)
        return die("write input");
    char buf[4096];
    for (;;) {
        ssize_t n = read(master, buf, sizeof(buf));
        if (n <= 0)
            break; /* EIO once every slave fd is closed */
        if (write(1, buf, (size_t)n) < 0)
            return die("write output");
    }
    return 0;
}
