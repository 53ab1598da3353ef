/* DHCP for adapters the host sends without IPConfigs (gcs-protocol.md §5.6): busybox udhcpc
 * run inside the target network namespace, bounded by a timeout.
 *
 * The child is made with clone3(CLONE_PIDFD, exit_signal 0) rather than fork(): it must
 * setns() before exec, and with no exit signal it is invisible to gcs's central SIGCHLD
 * reaper (waitpid(-1) without __WALL), so only this code collects its status, through the
 * pidfd. Between clone and exec the child uses raw syscalls on data prepared beforehand. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "gcs/network.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define DHCP_MAX_ARGS   16
#define DHCP_STDERR_MAX 1024

extern char **environ;

const char *const *gcs_net_dhcp_default_argv(void)
{
    static const char *const sbin[] = {"/sbin/udhcpc", NULL};
    static const char *const usr_sbin[] = {"/usr/sbin/udhcpc", NULL};
    static const char *const bb_bin[] = {"/bin/busybox", "udhcpc", NULL};
    static const char *const bb_usr[] = {"/usr/bin/busybox", "udhcpc", NULL};
    static const char *const *const candidates[] = {sbin, usr_sbin, bb_bin, bb_usr};

    for (size_t i = 0; i < LCOW_ARRAY_SIZE(candidates); i++)
        if (access(candidates[i][0], X_OK) == 0)
            return candidates[i];
    return NULL;
}

/* In the child: no allocation, no locks; any failure exits 127 after a short note. */
static __attribute__((noreturn)) void dhcp_child(char *const *argv, int netns_fd, int devnull,
                                                 int errfd)
{
    static const char msg[] = "gcs: cannot start the DHCP client\n";
    if ((netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) || dup2(devnull, 0) < 0 ||
        dup2(devnull, 1) < 0 || dup2(errfd, 2) < 0 || lcow_close_fds_from(3) < 0)
        _exit(127);
    execve(argv[0], argv, environ);
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
}

/* Waits for the child behind pidfd, collecting its stderr from errfd, for at most timeout_ms.
 * Returns the wait status, or -ETIMEDOUT after killing it. */
static int dhcp_wait(int pidfd, int errfd, unsigned timeout_ms, char *out, size_t cap,
                     size_t *out_len)
{
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    bool timed_out = false, err_open = true;
    siginfo_t si = {0};

    for (;;) {
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
        unsigned long long now = lcow_now_ns();
        int ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
        int n = poll(p, err_open ? 2 : 1, ms);
        if (n < 0 && errno != EINTR)
            break;
        if (n == 0) {
            timed_out = true;
            break;
        }
        if (n > 0 && err_open && (p[1].revents & (POLLIN | POLLHUP))) {
            char tmp[256];
            ssize_t r = LCOW_RETRY_EINTR(read(errfd, tmp, sizeof(tmp)));
            if (r <= 0)
                err_open = false;
            for (ssize_t i = 0; i < r && *out_len + 1 < cap; i++)
                out[(*out_len)++] = tmp[i];
        }
        if (n > 0 && (p[0].revents & POLLIN))
            break;
    }
    if (timed_out)
        (void)sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    if (LCOW_RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WCLONE)) < 0)
        return -errno;
    out[*out_len] = '\0';
    if (timed_out)
        return -ETIMEDOUT;
    return si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
}

int gcs_net_dhcp_run(const char *const *argv_prefix, const char *script, const char *ifname,
                     int netns_fd, unsigned timeout_ms, struct lcow_error **err)
{
    const char *argv[DHCP_MAX_ARGS + 7];
    size_t n = 0;
    cleanup_close int devnull = -1, pidfd = -1, rd = -1, wr = -1;
    int pipefd[2], status;
    char out[DHCP_STDERR_MAX + 1];
    size_t out_len = 0;
    struct lcow_clone_args ca = {0};
    long pid;

    if (!argv_prefix || !argv_prefix[0] || argv_prefix[0][0] != '/')
        return lcow_error_make(err, ENOENT, "DHCP on `%s`: no DHCP client (udhcpc) found", ifname);
    for (; argv_prefix[n]; n++) {
        if (n >= DHCP_MAX_ARGS)
            return lcow_error_make(err, E2BIG, "DHCP client command too long");
        argv[n] = argv_prefix[n];
    }
    argv[n++] = "-q"; /* exit once a lease is obtained */
    argv[n++] = "-i";
    argv[n++] = ifname;
    argv[n++] = "-s";
    argv[n++] = script;
    argv[n] = NULL;

    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return lcow_error_errno(err, "open /dev/null");
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe");
    rd = pipefd[0];
    wr = pipefd[1];
    ca.flags = CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = 0;
    pid = sys_clone3(&ca);
    if (pid < 0)
        return lcow_error_errno(err, "clone3 for the DHCP client");
    if (pid == 0)
        dhcp_child((char *const *)argv, netns_fd, devnull, wr);
    wr = lcow_close_nointr(wr);
    status = dhcp_wait(pidfd, rd, timeout_ms, out, sizeof(out), &out_len);
    if (status == -ETIMEDOUT)
        return lcow_error_make(err, ETIMEDOUT, "DHCP on `%s`: no lease within %u ms (%s)", ifname,
                               timeout_ms, argv[0]);
    if (status < 0) {
        errno = -status;
        return lcow_error_errno(err, "wait for the DHCP client");
    }
    if (status != 0) {
        /* Keep the message one line: the client's last words, newlines flattened. */
        for (char *c = out; *c; c++)
            if (*c == '\n')
                *c = ' ';
        return lcow_error_make(err, EIO, "DHCP on `%s`: %s exited with status %d: %s", ifname,
                               argv[0], status >> 8 ? status >> 8 : 128 + status, out);
    }
    return 0;
}
