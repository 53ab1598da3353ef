/* DHCP for adapters the host sends without IPConfigs (gcs-protocol.md §5.6): busybox udhcpc
 * run inside the target network namespace, bounded by a timeout.
 *
 * The child is made with clone3(CLONE_PIDFD) rather than fork(): it must setns() before exec,
 * and between clone and exec it uses only raw syscalls on data prepared beforehand (no
 * malloc, no locks: other threads may hold them). Its exit is watched through the pidfd and
 * its status collected by the caller's wait function, so inside gcs the one central reaper
 * stays the only code that reaps. */
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
    uint64_t empty = 0;
    /* gcs blocks SIGCHLD in every thread for its signalfd; the client gets a clean mask. */
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty)) < 0 ||
        (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) || dup2(devnull, 0) < 0 ||
        dup2(devnull, 1) < 0 || dup2(errfd, 2) < 0 || lcow_close_fds_from(3) < 0)
        _exit(127);
    execve(argv[0], argv, environ);
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
}

/* Until the child behind pidfd exits or timeout_ms pass, collects its stderr from errfd.
 * Returns true when it timed out (the caller kills it). */
static bool dhcp_watch(int pidfd, int errfd, unsigned timeout_ms, char *out, size_t cap,
                       size_t *out_len)
{
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    bool err_open = true;

    for (;;) {
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
        unsigned long long now = lcow_now_ns();
        int ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
        int n = poll(p, err_open ? 2 : 1, ms);
        if (n < 0 && errno != EINTR)
            return false; /* cannot watch: fall through to a plain wait */
        if (n == 0)
            return true;
        if (n > 0 && err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char tmp[256];
            ssize_t r = LCOW_RETRY_EINTR(read(errfd, tmp, sizeof(tmp)));
            if (r <= 0)
                err_open = false;
            for (ssize_t i = 0; i < r && *out_len + 1 < cap; i++)
                out[(*out_len)++] = tmp[i];
        }
        /* A pidfd polls readable once the process has exited, reaped or not. */
        if (n > 0 && (p[0].revents & POLLIN))
            return false;
    }
}

static int wait_pidfd(int pidfd, int *ret_status)
{
    siginfo_t si = {0};
    if (LCOW_RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED)) < 0)
        return -errno;
    *ret_status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
    return 0;
}

int gcs_net_dhcp_run(const char *const *argv_prefix, const char *script, const char *ifname,
                     int netns_fd, unsigned timeout_ms, gcs_net_wait_fn wait_child,
                     struct lcow_error **err)
{
    const char *argv[DHCP_MAX_ARGS + 7];
    size_t n = 0;
    cleanup_close int devnull = -1, pidfd = -1, rd = -1, wr = -1;
    int pipefd[2], status = 0, r;
    char out[DHCP_STDERR_MAX + 1];
    size_t out_len = 0;
    struct lcow_clone_args ca = {0};
    bool timed_out;
    long pid;

    if (!argv_prefix || !argv_prefix[0] || argv_prefix[0][0] != '/')
        return lcow_error_make(err, ENOENT, "DHCP on `%s`: no DHCP client (udhcpc) found", ifname);
    /* udhcpc runs a missing script silently and still exits 0 after a lease: the adapter
     * would stay unconfigured while the host is told it succeeded. */
    if (!script || access(script, X_OK) < 0)
        return lcow_error_errno(err, "DHCP on `%s`: event script `%s`", ifname,
                                script ? script : "");
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
    ca.exit_signal = SIGCHLD;
    pid = sys_clone3(&ca);
    if (pid < 0)
        return lcow_error_errno(err, "clone3 for the DHCP client");
    if (pid == 0)
        dhcp_child((char *const *)argv, netns_fd, devnull, wr);
    wr = lcow_close_nointr(wr);
    timed_out = dhcp_watch(pidfd, rd, timeout_ms, out, sizeof(out), &out_len);
    out[out_len] = '\0';
    if (timed_out)
        (void)sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    r = wait_child ? wait_child((pid_t)pid, &status) : wait_pidfd(pidfd, &status);
    if (r < 0) {
        errno = -r;
        return lcow_error_errno(err, "wait for the DHCP client");
    }
    if (timed_out)
        return lcow_error_make(err, ETIMEDOUT, "DHCP on `%s`: no lease within %u ms (%s)", ifname,
                               timeout_ms, argv[0]);
    if (status != 0) {
        /* Keep the message one line: the client's last words, newlines flattened. */
        for (char *c = out; *c; c++)
            if (*c == '\n')
                *c = ' ';
        return lcow_error_make(err, EIO, "DHCP on `%s`: %s %s %d: %s", ifname, argv[0],
                               WIFEXITED(status) ? "exited with status" : "killed by signal",
                               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), out);
    }
    return 0;
}
