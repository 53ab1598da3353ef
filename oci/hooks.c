/* OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): each hook is executed with the
 * container's state JSON on stdin, in order, and the first failure (exit status, signal, or
 * its timeout) stops the list.
 *
 * The runtime-namespace hooks (prestart, createRuntime, poststart, poststop) run from the
 * caller's process, behind a clone3 child with exit_signal 0 and a pidfd that we reap: a
 * caller's waitpid(-1) reaper (gcs) never sees such a child (only __WCLONE waits do). The hook
 * itself is that child's child, because execve() resets the exit signal to SIGCHLD: exec'd
 * directly, the hook's status would go to the caller's reaper and our wait get ECHILD.
 * Their stdout and stderr go to a pipe we read while waiting (as runc captures them): a failed
 * hook's output ends its error message, and none of it reaches the caller's own stdout/stderr
 * (gcs's are the bridge with -use-inouterr and the host-parsed JSON log stream).
 * createContainer and startContainer run from the container init between clone and exec:
 * oci_hooks_run_child() allocates nothing. stdin is a memfd holding the
 * state, never a pipe, so a hook that ignores its input cannot block us or raise SIGPIPE. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/syscalls.h"
#include "oci/internal.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

char *oci_hook_state_json(const struct oci_spec *spec, const char *id, const char *status,
                          pid_t pid, const char *bundle)
{
    cleanup_json struct json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    json_object_object_add(o, "ociVersion", json_object_new_string(spec->oci_version));
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "status", json_object_new_string(status));
    if (pid > 0)
        json_object_object_add(o, "pid", json_object_new_int(pid));
    json_object_object_add(o, "bundle", json_object_new_string(bundle ? bundle : ""));
    if (spec->n_annotations > 0) {
        struct json_object *ann = json_object_new_object();
        for (size_t i = 0; ann && i < spec->n_annotations; i++)
            json_object_object_add(ann, spec->annotations[i].key,
                                   json_object_new_string(spec->annotations[i].value));
        json_object_object_add(o, "annotations", ann);
    }
    return lcow_json_to_string(o);
}

int oci_hook_state_fd(const char *state, struct lcow_error **err)
{
    cleanup_close int fd = memfd_create("oci-hook-state", MFD_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "memfd_create for hook state");
    int r = lcow_write_all(fd, state, strlen(state));
    if (r < 0)
        return lcow_error_make(err, -r, "write hook state: %s", strerror(-r));
    return take_fd(&fd);
}

/* The argv of a hook: its args, or just its path when args is absent. */
static char *const *hook_argv(const struct oci_hook *h, char **fallback)
{
    if (h->args && h->args[0])
        return h->args;
    fallback[0] = h->path;
    fallback[1] = NULL;
    return fallback;
}

static int describe_status(const char *kind, size_t i, const struct oci_hook *h,
                           const siginfo_t *si, bool timed_out, const char *output,
                           struct lcow_error **err)
{
    const char *sep = output[0] ? ", output: " : "";
    if (timed_out)
        return lcow_error_make(err, ETIMEDOUT, "%s hook %zu `%s`: timed out after %d s%s%s", kind,
                               i, h->path, h->timeout, sep, output);
    if (si->si_code == CLD_EXITED && si->si_status == 0)
        return 0;
    if (si->si_code == CLD_EXITED)
        return lcow_error_make(err, EIO, "%s hook %zu `%s`: exit status %d%s%s", kind, i, h->path,
                               si->si_status, sep, output);
    return lcow_error_make(err, EIO, "%s hook %zu `%s`: killed by signal %d%s%s", kind, i, h->path,
                           si->si_status, sep, output);
}

/* Appends what is readable on fd to buf (NUL-terminated, the rest dropped); false at EOF. */
static bool drain(int fd, char *buf, size_t cap, size_t *len)
{
    char chunk[1024];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 && errno == EAGAIN;
        size_t take = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
        memcpy(buf + *len, chunk, take);
        *len += take;
        buf[*len] = '\0';
    }
}

/* Waits for the middle process while collecting the hook's output (runc captures it too, and
 * it must never reach the caller's own stdout/stderr: gcs's are the bridge and the log
 * stream); kills it at the hook's timeout. Returns whether it timed out. */
static bool collect(int pidfd, int out, const struct oci_hook *h, char *buf, size_t cap)
{
    size_t len = 0;
    unsigned long long deadline =
        h->timeout > 0 ? lcow_now_ns() + (unsigned long long)h->timeout * 1000000000ull : 0;
    bool open = true;
    buf[0] = '\0';
    for (;;) {
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                              {.fd = open ? out : -1, .events = POLLIN}};
        int ms = -1;
        if (deadline) {
            unsigned long long now = lcow_now_ns();
            ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
        }
        int r = poll(p, 2, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            (void)sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
            return true;
        }
        if (r > 0 && p[1].revents)
            open = drain(out, buf, cap, &len);
        if (r < 0 || p[0].revents) {
            /* Exited: what is already in the pipe (the hook's descendants may keep it open). */
            (void)drain(out, buf, cap, &len);
            return false;
        }
    }
}

/* The middle process (never execs, so its exit stays ours): runs the hook as its child and
 * exits the way the hook did, with its code or by its signal. Async-signal-safe calls only. */
static __attribute__((noreturn)) void run_middle(const struct oci_hook *h, char *const *argv,
                                                 char *const *envp, int state_fd, int out_fd)
{
    pid_t self = getpid();
    pid_t hook = fork();
    if (hook < 0)
        _exit(126);
    if (hook == 0) {
        /* A timeout SIGKILLs the middle process: the hook goes with it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self)
            _exit(126);
        if (dup2(state_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
            _exit(126);
        execve(h->path, argv, envp);
        _exit(127);
    }
    int st = 0;
    while (waitpid(hook, &st, 0) < 0)
        if (errno != EINTR)
            _exit(126);
    if (WIFEXITED(st))
        _exit(WEXITSTATUS(st));
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(WTERMSIG(st), &dfl, NULL);
    kill(self, WTERMSIG(st));
    _exit(128 + WTERMSIG(st));
}

static int run_one(const char *kind, size_t i, const struct oci_hook *h, int state_fd,
                   struct lcow_error **err)
{
    char *fallback[2];
    char *const *argv = hook_argv(h, fallback);
    char *empty_env[] = {NULL};
    char *const *envp = h->env ? h->env : empty_env;
    int pidfd = -1, pipefd[2];
    if (lseek(state_fd, 0, SEEK_SET) < 0)
        return lcow_error_errno(err, "rewind hook state");
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
        return lcow_error_errno(err, "%s hook %zu `%s`: pipe", kind, i, h->path);
    cleanup_close int out = pipefd[0];
    cleanup_close int out_w = pipefd[1];
    struct lcow_clone_args args = {.flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd};
    long pid = sys_clone3(&args);
    if (pid < 0)
        return lcow_error_errno(err, "%s hook %zu `%s`: clone3", kind, i, h->path);
    if (pid == 0) {
        /* Only async-signal-safe calls: the caller may be multi-threaded. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* The hook writes blocking (dup2 leaves the status flags shared: clear O_NONBLOCK). */
        (void)fcntl(out_w, F_SETFL, 0);
        run_middle(h, argv, envp, state_fd, out_w);
    }
    out_w = lcow_close_nointr(out_w);
    cleanup_close int fd = pidfd;
    char output[512];
    bool timed_out = collect(fd, out, h, output, sizeof(output));
    siginfo_t si = {0};
    /* __WALL: this kernel answers ECHILD to P_PIDFD with __WCLONE for such a child; the pidfd
     * already limits the wait to this one process. */
    if (LCOW_RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | __WALL)) < 0)
        return lcow_error_errno(err, "%s hook %zu `%s`: wait", kind, i, h->path);
    return describe_status(kind, i, h, &si, timed_out, output, err);
}

int oci_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state,
                  struct lcow_error **err)
{
    static const char *const names[OCI_HOOK_KIND_MAX] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    };
    if (spec->n_hooks[kind] == 0)
        return 0;
    cleanup_close int fd = oci_hook_state_fd(state, err);
    if (fd < 0)
        return fd;
    for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
        int r = run_one(names[kind], i, &spec->hooks[kind][i], fd, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- child side: no allocation ---- */

int oci_hooks_run_child(const struct oci_hook *hooks, size_t n, int state_fd,
                        const struct oci_hook **ret_failed)
{
    for (size_t i = 0; i < n; i++) {
        const struct oci_hook *h = &hooks[i];
        char *fallback[2];
        char *const *argv = hook_argv(h, fallback);
        char *empty_env[] = {NULL};
        *ret_failed = h;
        if (lseek(state_fd, 0, SEEK_SET) < 0)
            return -errno;
        pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            if (dup2(state_fd, 0) < 0)
                _exit(126);
            execve(h->path, argv, h->env ? h->env : empty_env);
            _exit(127);
        }
        int pidfd = sys_pidfd_open(pid, 0);
        if (pidfd >= 0 && h->timeout > 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            int r;
            do
                r = poll(&p, 1, h->timeout * 1000);
            while (r < 0 && errno == EINTR);
            if (r == 0)
                kill(pid, SIGKILL);
        }
        if (pidfd >= 0)
            close(pidfd);
        int st = 0;
        pid_t w;
        do
            w = waitpid(pid, &st, 0);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            return -errno;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -EIO;
    }
    return 0;
}
