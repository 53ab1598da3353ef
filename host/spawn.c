/* See spawn.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "host/spawn.h"

/* In the child: only async-signal-safe calls until exec. */
static void child(const char *const *argv, int fds[3], int report, int die_with_parent)
{
    if (die_with_parent)
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3; i++) {
        int src = fds[i] >= 0 ? fds[i] : devnull;
        if (src == i)
            (void)fcntl(i, F_SETFD, 0);
        else if (dup2(src, i) < 0)
            goto fail;
    }
    /* Everything else goes; report stays open until exec (it is CLOEXEC). */
    if (report > 3)
        (void)sys_close_range(3, (unsigned)report - 1, 0);
    (void)sys_close_range((unsigned)report + 1, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], (char *const *)argv);
fail:;
    int e = errno;
    ssize_t w = write(report, &e, sizeof(e));
    (void)w;
    _exit(127);
}

pid_t host_spawn(const char *const *argv, int in, int out, int err_fd, int die_with_parent,
                 struct lcow_error **err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return lcow_error_errno(err, "fork for `%s`", argv[0]);
    }
    if (pid == 0) {
        int fds[3] = {in, out, err_fd};
        close(p[0]);
        child(argv, fds, p[1], die_with_parent);
    }
    close(p[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(p[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == (ssize_t)sizeof(e)) {
        (void)waitpid(pid, NULL, 0);
        return lcow_error_make(err, e, "cannot run `%s`: %s", argv[0], strerror(e));
    }
    return pid;
}

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

int host_run(const char *const *argv, char **ret_output, struct lcow_error **err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe");
    pid_t pid = host_spawn(argv, -1, p[1], p[1], 1, err);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return pid;
    }
    char buf[4096];
    size_t len = 0;
    for (;;) {
        char tmp[4096];
        ssize_t n = read(p[0], tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t k = (size_t)n < sizeof(buf) - 1 - len ? (size_t)n : sizeof(buf) - 1 - len;
        memcpy(buf + len, tmp, k);
        len += k;
    }
    close(p[0]);
    buf[len] = '\0';
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (ret_output)
        *ret_output = strdup(buf);
    return status_code(st);
}

int host_wait_timeout(pid_t pid, int timeout_ms)
{
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return status_code(st);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (lcow_now_ns() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            return status_code(st);
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}
