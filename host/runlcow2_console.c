/* runc's --console-socket contract for runlcow (runlcow2.h): the container's terminal is a pty
 * in the guest, relayed over the stdio vsock streams; on the host a second pty stands for it.
 * Its master goes to the caller's socket (containerd's console receiver), its slave becomes the
 * supervisor's stdio, which the supervisor already relays to the guest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/runlcow2.h"

/* runc sends the master's file name as the message body. */
#define CONSOLE_NAME "/dev/ptmx"

static int send_fd(int sock, int fd, struct lcow_error **err)
{
    char body[] = CONSOLE_NAME;
    struct iovec iov = {.iov_base = body, .iov_len = sizeof(body) - 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    for (;;) {
        if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0)
            return 0;
        if (errno != EINTR)
            return lcow_error_errno(err, "send the console to the console socket");
    }
}

int rl2_console_socket_send(const char *path, int *ret_slave, struct lcow_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
        return lcow_error_make(err, EINVAL, "console socket `%s`: bad path", path ? path : "");
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cleanup_close int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return lcow_error_errno(err, "posix_openpt");
    if (grantpt(master) < 0 || unlockpt(master) < 0)
        return lcow_error_errno(err, "unlock the pty");
    char name[64];
    if (ptsname_r(master, name, sizeof(name)) != 0)
        return lcow_error_errno(err, "ptsname");
    cleanup_close int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return lcow_error_errno(err, "open `%s`", name);
    /* Raw: the guest's pty already did the line discipline; a second one would echo input
     * and turn "\r\n" into "\r\r\n". */
    struct termios tio;
    if (tcgetattr(slave, &tio) == 0) {
        cfmakeraw(&tio);
        (void)tcsetattr(slave, TCSANOW, &tio);
    }
    cleanup_close int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return lcow_error_errno(err, "socket");
    if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return lcow_error_errno(err, "connect to the console socket `%s`", path);
    int r = send_fd(sock, master, err);
    if (r < 0)
        return r;
    *ret_slave = take_fd(&slave);
    return 0;
}
