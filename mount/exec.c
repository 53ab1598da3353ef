/* Running mkfs and friends from inside a multi-threaded agent: argv only (never a shell), the
 * binary resolved before the clone, a child that only makes raw syscalls before execve, and the
 * wait routed through the agent's reaper when it has one. (A clone3 child with exit_signal 0
 * does not stay hidden from a waitpid(-1) reaper: execve resets exit_signal to SIGCHLD.) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "mount/mount.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Bound on the tool output quoted in errors. */
#define TOOL_OUTPUT_MAX 2048

extern char **environ;

static const char fallback_path[] = "/usr/sbin:/sbin:/usr/bin:/bin";

static int search_dirs(const char *dirs, const char *name, char **ret)
{
    cleanup_free char *copy = strdup(dirs);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *cand = NULL;
        if (*d != '/' || asprintf(&cand, "%s/%s", d, name) < 0)
            continue;
        if (access(cand, X_OK) == 0) {
            *ret = cand;
            return 0;
        }
        free(cand);
    }
    return -ENOENT;
}

static int resolve_tool(const char *name, char **ret, struct lcow_error **err)
{
    if (strchr(name, '/')) {
        if (!(*ret = strdup(name)))
            return lcow_error_make(err, ENOMEM, "run `%s`", name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path && search_dirs(path, name, ret) == 0)
        return 0;
    if (search_dirs(fallback_path, name, ret) == 0)
        return 0;
    return lcow_error_make(err, ENOENT, "run `%s`: not found in PATH or %s", name, fallback_path);
}

/* The child side: only raw syscalls, since a raw clone3 child of a threaded process must not
 * touch glibc state (no malloc, no locks). */
static __attribute__((noreturn)) void child_exec(const char *bin, char *const argv[], int null_fd,
                                                 int out_fd)
{
    /* gcs blocks SIGCHLD (and others) in every thread; the tool must start with none blocked.
     * Raw syscall: glibc's sigprocmask is fine too, but this keeps the child libc-free. */
    uint64_t none = 0;
    (void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
        _exit(126);
    (void)lcow_close_fds_from(3);
    execve(bin, argv, environ);
    _exit(127);
}

static int spawn(const char *bin, char *const argv[], int null_fd, int out_fd, int *ret_pidfd,
                 pid_t *ret_pid, struct lcow_error **err)
{
    int pidfd = -1;
    struct lcow_clone_args args = {
        .flags = CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = SIGCHLD,
    };
    long pid = sys_clone3(&args);
    if (pid < 0)
        return lcow_error_errno(err, "clone3 for `%s`", bin);
    if (pid == 0)
        child_exec(bin, argv, null_fd, out_fd);
    *ret_pidfd = pidfd;
    *ret_pid = (pid_t)pid;
    return 0;
}

/* Reads the child's output to EOF, keeping the first TOOL_OUTPUT_MAX bytes. */
static char *drain_output(int fd)
{
    char *buf = calloc(1, TOOL_OUTPUT_MAX + 1);
    size_t used = 0;
    char sink[4096];
    for (;;) {
        char *dst = buf && used < TOOL_OUTPUT_MAX ? buf + used : sink;
        size_t cap = buf && used < TOOL_OUTPUT_MAX ? TOOL_OUTPUT_MAX - used : sizeof(sink);
        ssize_t n = LCOW_RETRY_EINTR(read(fd, dst, cap));
        if (n <= 0)
            break;
        if (dst != sink)
            used += (size_t)n;
    }
    while (buf && used > 0 && (buf[used - 1] == '\n' || buf[used - 1] == ' '))
        buf[--used] = '\0';
    return buf;
}

static int wait_tool(const struct mount_env *env, pid_t pid, int pidfd, const char *bin,
                     struct lcow_error **err)
{
    if (env && env->wait_child) {
        int status = 0;
        int r = env->wait_child(pid, &status, env->wait_ctx);
        if (r < 0)
            return lcow_error_make(err, -r, "wait for `%s`: %s", bin, strerror(-r));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    siginfo_t si = {0};
    if (LCOW_RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED)) < 0)
        return lcow_error_errno(err, "wait for `%s`", bin);
    return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

int mount_run_tool(const struct mount_env *env, char *const argv[], char **ret_output,
                   struct lcow_error **err)
{
    if (!argv || !argv[0])
        return lcow_error_make(err, EINVAL, "run: empty argv");
    cleanup_free char *bin = NULL;
    int r = resolve_tool(argv[0], &bin, err);
    if (r < 0)
        return r;
    cleanup_close int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return lcow_error_errno(err, "open `/dev/null`");
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe for `%s`", bin);
    cleanup_close int rd = pipefd[0];
    cleanup_close int wr = pipefd[1];
    cleanup_close int pidfd = -1;
    pid_t pid = 0;
    r = spawn(bin, argv, null_fd, wr, &pidfd, &pid, err);
    if (r < 0)
        return r;
    wr = lcow_close_nointr(take_fd(&wr));
    cleanup_free char *out = drain_output(rd);
    int status = wait_tool(env, pid, pidfd, bin, err);
    if (status >= 0 && ret_output)
        *ret_output = steal_pointer(&out);
    return status;
}
