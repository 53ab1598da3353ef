/* vsockexec: connects stdio to host ports, then execs a program (gcs-protocol.md §1.3).
 *
 * Default mode dials one socket per requested port (a port named twice shares one socket),
 * moves them onto fds 0/1/2 and execs. -r (relay) mode keeps running: the program's stdout
 * and/or stderr go into a pipe that vsockexec copies to the port, redialling every 100 ms and
 * resending the unsent remainder whenever the connection breaks, so a host that restarts its
 * log listener loses nothing. Sockets stay CLOEXEC until dup2 puts them on 0/1/2 (C7). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "vsock/vsockexec.h"

#define RELAY_RETRY_MS 100
#define RELAY_BUF      65536
#define EXIT_EXEC_FAIL 127

static void usage(FILE *f)
{
    fprintf(f, "usage: vsockexec [-t ADDR] [-r] [-i PORT] [-o PORT] [-e PORT] [--] PROGRAM "
               "ARGS...\n"
               "  -t ADDR   transport base: vsock:CID or unix:PATH (default " VSOCKEXEC_DEFAULT_BASE
               ")\n"
               "  -i/-o/-e  connect stdin/stdout/stderr to PORT\n"
               "  -r        relay output through a pipe, redialling on failure\n");
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* Dials `port` and returns an fd >= 3, so moving several sockets onto 0/1/2 never clobbers
 * one that is still waiting to be moved. */
static int dial_high(const struct vsock_addr *base, uint32_t port, struct lcow_error **err)
{
    cleanup_close int fd = vsock_dial(base, port, err);
    if (fd < 0)
        return fd;
    if (fd >= 3)
        return take_fd(&fd);
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (high < 0)
        return lcow_error_errno(err, "fcntl F_DUPFD_CLOEXEC");
    return high;
}

/* Default mode: connect, dup2 onto 0/1/2, exec. Returns only on failure. */
static int run_direct(const struct vsockexec_args *a)
{
    int socks[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        if (!a->has_port[i])
            continue;
        for (int j = 0; j < i && socks[i] < 0; j++)
            if (a->has_port[j] && a->port[j] == a->port[i])
                socks[i] = socks[j];
        if (socks[i] >= 0)
            continue;
        cleanup_error struct lcow_error *err = NULL;
        socks[i] = dial_high(&a->base, a->port[i], &err);
        if (socks[i] < 0) {
            fprintf(stderr, "vsockexec: connect: port %u: %s\n", a->port[i],
                    lcow_error_message(err));
            return 1;
        }
    }
    for (int i = 0; i < 3; i++)
        if (socks[i] >= 0 && dup2(socks[i], i) < 0) {
            fprintf(stderr, "vsockexec: dup2 onto fd %d: %s\n", i, strerror(errno));
            return 1;
        }
    /* The originals are CLOEXEC and would vanish at exec anyway; close them now so a failed
     * exec does not leave extra references keeping the host's stream open. */
    for (int i = 0; i < 3; i++)
        if (socks[i] >= 3) {
            int fd = socks[i];
            for (int j = i; j < 3; j++)
                if (socks[j] == fd)
                    socks[j] = -1;
            lcow_close_nointr(fd);
        }
    execvp(a->argv[0], a->argv);
    fprintf(stderr, "vsockexec: exec `%s`: %s\n", a->argv[0], strerror(errno));
    return EXIT_EXEC_FAIL;
}

/* Sends buf[0..len) over *sock, (re)dialling until every byte is written. A write error drops
 * the connection and the rest goes out on the next one; bytes the kernel accepted before the
 * break are not resent (hcsshim's behaviour). */
static void relay_send(const struct vsock_addr *base, uint32_t port, int *sock, const char *buf,
                       size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (*sock < 0) {
            *sock = vsock_dial_retry(base, port, RELAY_RETRY_MS, -1, NULL);
            if (*sock < 0)
                continue; /* only when the fd table is full; keep trying */
        }
        ssize_t w = LCOW_RETRY_EINTR(send(*sock, buf + off, len - off, MSG_NOSIGNAL));
        if (w < 0) {
            *sock = lcow_close_nointr(*sock);
            continue;
        }
        off += (size_t)w;
    }
}

static void relay_child(const struct vsockexec_args *a, int pipe_w)
{
    for (int fd = 1; fd <= 2; fd++)
        if (a->has_port[fd] && dup2(pipe_w, fd) < 0)
            _exit(EXIT_EXEC_FAIL);
    execvp(a->argv[0], a->argv);
    fprintf(stderr, "vsockexec: exec `%s`: %s\n", a->argv[0], strerror(errno));
    _exit(EXIT_EXEC_FAIL);
}

/* Relay mode: fork the program with its output on a pipe and copy the pipe to the port until
 * EOF, then exit with the program's status. */
static int run_relay(const struct vsockexec_args *a)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "vsockexec: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vsockexec: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0)
        relay_child(a, p[1]);
    lcow_close_nointr(p[1]);
    uint32_t port = vsockexec_relay_port(a);
    int sock = -1;
    static char buf[RELAY_BUF];
    for (;;) {
        ssize_t n = LCOW_RETRY_EINTR(read(p[0], buf, sizeof(buf)));
        if (n <= 0)
            break; /* EOF: every writer (the program and its children) is gone */
        relay_send(&a->base, port, &sock, buf, (size_t)n);
    }
    lcow_close_nointr(p[0]);
    if (sock >= 0)
        lcow_close_nointr(sock);
    int status = 0;
    if (LCOW_RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
        return 1;
    return status_code(status);
}

int main(int argc, char **argv)
{
    struct vsockexec_args a;
    cleanup_error struct lcow_error *err = NULL;
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (vsockexec_parse_args(argc, argv, &a, &err) < 0) {
        fprintf(stderr, "vsockexec: %s\n", lcow_error_message(err));
        usage(stderr);
        return 1;
    }
    return a.relay ? run_relay(&a) : run_direct(&a);
}
