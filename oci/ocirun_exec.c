/* `ocirun exec`: runc's exec on top of oci_exec() (oci/exec.h). The process comes from
 * --process FILE (an OCI process object, what containerd's shim passes) or from the
 * container's own config.json process with the command line's changes (args, -e, -t, --cwd,
 * -u, -g, --cap, --no-new-privs), as runc builds it. Exit code: the process's status in the
 * foreground (128+signal when killed), 0 with -d, 255 when the runtime fails (runc's code:
 * a paused or stopped container, a bad process, a missing executable, a bad --pid-file). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "oci/cgroup.h"
#include "oci/exec.h"
#include "oci/executor.h"
#include "oci/ocirun_ext.h"

#define EXEC_FAIL 255

enum {
    X_CONSOLE,
    X_CWD,
    X_ENV,
    X_TTY,
    X_USER,
    X_GIDS,
    X_PROCESS,
    X_DETACH,
    X_PID_FILE,
    X_LABEL,
    X_APPARMOR,
    X_NNP,
    X_CAP,
    X_PRESERVE,
    X_CGROUP,
    X_IGNORE_PAUSED,
};

static const struct ocirun_opt exec_opts[] = {
    [X_CONSOLE] = {"console-socket", 0, OPT_VALUE},
    [X_CWD] = {"cwd", 0, OPT_VALUE},
    [X_ENV] = {"env", 'e', OPT_LIST},
    [X_TTY] = {"tty", 't', OPT_FLAG},
    [X_USER] = {"user", 'u', OPT_VALUE},
    [X_GIDS] = {"additional-gids", 'g', OPT_LIST},
    [X_PROCESS] = {"process", 'p', OPT_VALUE},
    [X_DETACH] = {"detach", 'd', OPT_FLAG},
    [X_PID_FILE] = {"pid-file", 0, OPT_VALUE},
    [X_LABEL] = {"process-label", 0, OPT_VALUE},
    [X_APPARMOR] = {"apparmor", 0, OPT_VALUE},
    [X_NNP] = {"no-new-privs", 0, OPT_FLAG},
    [X_CAP] = {"cap", 'c', OPT_LIST},
    [X_PRESERVE] = {"preserve-fds", 0, OPT_VALUE},
    [X_CGROUP] = {"cgroup", 0, OPT_LIST},
    [X_IGNORE_PAUSED] = {"ignore-paused", 0, OPT_FLAG},
};

/* ---- the process ---- */

static int parse_uint(const char *s, uint32_t *ret)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || errno || v > UINT32_MAX)
        return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

static struct json_object *strv_array(char **v, int n)
{
    struct json_object *a = json_object_new_array();
    for (int i = 0; a && i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

/* Appends strings to the array `key` of obj (made when missing). */
static void append_strings(struct json_object *obj, const char *key, const char **v, size_t n)
{
    struct json_object *a = NULL;
    if (!json_object_object_get_ex(obj, key, &a) || !json_object_is_type(a, json_type_array)) {
        a = json_object_new_array();
        json_object_object_add(obj, key, a);
    }
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
}

static int apply_user(struct json_object *p, const struct ocirun_args *a, struct lcow_error **err)
{
    struct json_object *user = NULL;
    if (!json_object_object_get_ex(p, "user", &user) || user == NULL) {
        user = json_object_new_object();
        json_object_object_add(p, "user", user);
    }
    if (a->value[X_USER]) {
        char buf[64];
        uint32_t uid = 0, gid = 0;
        snprintf(buf, sizeof(buf), "%s", a->value[X_USER]);
        char *colon = strchr(buf, ':');
        if (colon)
            *colon++ = '\0';
        if (parse_uint(buf, &uid) < 0 || (colon && parse_uint(colon, &gid) < 0))
            return lcow_error_make(err, EINVAL, "--user `%s`: want <uid>[:<gid>]",
                                   a->value[X_USER]);
        json_object_object_add(user, "uid", json_object_new_int64(uid));
        json_object_object_add(user, "gid", json_object_new_int64(gid));
    }
    if (a->n_list[X_GIDS]) {
        struct json_object *g = json_object_new_array();
        for (size_t i = 0; i < a->n_list[X_GIDS]; i++) {
            uint32_t v = 0;
            if (parse_uint(a->list[X_GIDS][i], &v) < 0) {
                json_object_put(g);
                return lcow_error_make(err, EINVAL, "--additional-gids `%s`: not a number",
                                       a->list[X_GIDS][i]);
            }
            json_object_array_add(g, json_object_new_int64(v));
        }
        json_object_object_add(user, "additionalGids", g);
    }
    return 0;
}

/* runc's newProcess: the container's process, with the command line's changes. */
static int process_from_cli(const struct ocirun_args *a, const struct oci_spec *spec,
                            struct oci_process **ret, struct lcow_error **err)
{
    if (spec->process == NULL)
        return lcow_error_make(err, EINVAL, "config.json has no process to start from");
    cleanup_json struct json_object *p = oci_process_to_json(spec->process);
    if (p == NULL)
        return lcow_error_make(err, ENOMEM, "out of memory");
    json_object_object_add(p, "args", strv_array(a->pos + 1, a->n_pos - 1));
    append_strings(p, "env", a->list[X_ENV], a->n_list[X_ENV]);
    json_object_object_add(p, "terminal", json_object_new_boolean(a->set[X_TTY]));
    json_object_object_del(p, "consoleSize");
    if (a->value[X_CWD])
        json_object_object_add(p, "cwd", json_object_new_string(a->value[X_CWD]));
    if (a->set[X_NNP])
        json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(true));
    if (a->n_list[X_CAP]) {
        /* runc 1.1: bounding, effective and permitted (not inheritable nor ambient). */
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        struct json_object *caps = NULL;
        if (!json_object_object_get_ex(p, "capabilities", &caps) || caps == NULL) {
            caps = json_object_new_object();
            json_object_object_add(p, "capabilities", caps);
        }
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(sets); i++)
            append_strings(caps, sets[i], a->list[X_CAP], a->n_list[X_CAP]);
    }
    int r = apply_user(p, a, err);
    if (r < 0)
        return r;
    return oci_process_from_json(p, "process", ret, err);
}

static int process_from_file(const char *path, struct oci_process **ret, struct lcow_error **err)
{
    cleanup_free char *buf = NULL;
    cleanup_json struct json_object *obj = NULL;
    size_t len = 0;
    int r = lcow_read_file(path, OCI_SPEC_MAX_SIZE, &buf, &len, err);
    if (r < 0)
        return r;
    if ((r = lcow_json_parse(buf, len, path, &obj, err)) < 0)
        return r;
    return oci_process_from_json(obj, "process", ret, err);
}

/* ---- foreground: signals, pty, reaping ---- */

static int block_signals(sigset_t *set)
{
    static const int sigs[] = {SIGINT,  SIGTERM,  SIGHUP,  SIGQUIT, SIGUSR1,
                               SIGUSR2, SIGWINCH, SIGCHLD, SIGPIPE};
    sigemptyset(set);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(sigs); i++)
        sigaddset(set, sigs[i]);
    if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
        return -errno;
    int fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

static void copy_once(int from, int to, struct pollfd *pfd)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n > 0)
        (void)lcow_write_all(to, buf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        pfd->fd = -1;
}

/* Reaps children (the process is ours or re-parented to us); its status or -1. */
static int reap(pid_t pid)
{
    int status = 0, result = -1;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0)
        if (p == pid)
            result = status;
    return result;
}

static int wait_process(pid_t pid, int sfd, int master)
{
    struct pollfd pfd[3] = {{.fd = sfd, .events = POLLIN},
                            {.fd = master, .events = POLLIN},
                            {.fd = master >= 0 ? 0 : -1, .events = POLLIN}};
    for (;;) {
        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            return EXEC_FAIL;
        if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
            copy_once(master, 1, &pfd[1]);
        if (pfd[2].fd >= 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
            copy_once(0, master, &pfd[2]);
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGWINCH && master >= 0) {
                struct winsize ws;
                if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                    (void)ioctl(master, TIOCSWINSZ, &ws);
            } else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE) {
                (void)kill(pid, (int)si.ssi_signo);
            }
        }
        int st = reap(pid);
        if (st >= 0) {
            /* What the process wrote last is still in the pty. */
            while (pfd[1].fd >= 0 && poll(&pfd[1], 1, 50) > 0)
                copy_once(master, 1, &pfd[1]);
            return oci_wait_status_to_exit_code(st);
        }
    }
}

static int foreground(pid_t pid, int sfd, int master)
{
    struct termios saved;
    bool raw = master >= 0 && tcgetattr(0, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        (void)tcsetattr(0, TCSANOW, &t);
    }
    int code = wait_process(pid, sfd, master);
    if (raw)
        (void)tcsetattr(0, TCSANOW, &saved);
    return code;
}

/* ---- the command ---- */

struct exec_run {
    struct ocirun_args a;
    struct oci_state st;
    char dir[4096];
    struct oci_spec *spec;
    struct oci_process *proc;
    struct oci_cgroup_layout *layout;
    struct oci_cgroup *cg;
};

static int check_status(struct exec_run *x)
{
    bool paused = false;
    const char *s = ocirun_status(x->dir, &x->st, &paused);
    if (strcmp(s, "stopped") == 0 || strcmp(s, "creating") == 0)
        return ocirun_fail(EXEC_FAIL, "cannot exec in a %s container", s);
    if (paused && !x->a.set[X_IGNORE_PAUSED])
        return ocirun_fail(EXEC_FAIL,
                           "cannot exec in a paused container (use --ignore-paused to override)");
    return 0;
}

static int prepare(struct exec_run *x, int argc, char **argv, struct lcow_error **err)
{
    char cfg[4200];
    if (ocirun_parse("exec", exec_opts, LCOW_ARRAY_SIZE(exec_opts), argc, argv, 1, &x->a))
        return EXEC_FAIL;
    if (x->a.n_pos < 1)
        return ocirun_fail(EXEC_FAIL, "exec: a container id is required");
    if (x->a.value[X_PROCESS] == NULL && x->a.n_pos < 2)
        return ocirun_fail(EXEC_FAIL, "exec: a command (or --process FILE) is required");
    if (x->a.n_list[X_CGROUP])
        return ocirun_fail(EXEC_FAIL, "exec: --cgroup (a sub-cgroup) is not supported");
    if ((x->a.value[X_LABEL] && *x->a.value[X_LABEL]) ||
        (x->a.value[X_APPARMOR] && *x->a.value[X_APPARMOR]))
        return ocirun_fail(EXEC_FAIL, "exec: SELinux labels and AppArmor are not supported");
    if (ocirun_load(x->a.pos[0], &x->st, x->dir, sizeof(x->dir), EXEC_FAIL))
        return EXEC_FAIL;
    int r = check_status(x);
    if (r)
        return r;
    snprintf(cfg, sizeof(cfg), "%s/config.json", x->dir);
    if (oci_spec_load(cfg, &x->spec, err) < 0 ||
        (x->a.value[X_PROCESS] ? process_from_file(x->a.value[X_PROCESS], &x->proc, err)
                               : process_from_cli(&x->a, x->spec, &x->proc, err)) < 0)
        return ocirun_fail(EXEC_FAIL, "%s", lcow_error_message(*err));
    if (x->proc->terminal && x->a.set[X_DETACH] && x->a.value[X_CONSOLE] == NULL)
        return ocirun_fail(EXEC_FAIL,
                           "cannot allocate a tty for a detached process without --console-socket");
    if (!x->proc->terminal && x->a.value[X_CONSOLE])
        return ocirun_fail(EXEC_FAIL, "--console-socket needs a terminal (-t)");
    if (!x->st.no_cgroup && ocirun_cgroup_open(&x->st, &x->layout, &x->cg, err) < 0)
        return ocirun_fail(EXEC_FAIL, "%s", lcow_error_message(*err));
    return 0;
}

static void exec_run_done(struct exec_run *x)
{
    ocirun_cgroup_close(x->layout, x->cg);
    oci_process_free(x->proc);
    oci_spec_free(x->spec);
    oci_state_done(&x->st);
    ocirun_args_done(&x->a);
}

static int start(struct exec_run *x, int sfd, struct lcow_error **err)
{
    char cache[4200];
    int preserve = 0;
    if (x->a.value[X_PRESERVE]) {
        uint32_t v = 0;
        if (parse_uint(x->a.value[X_PRESERVE], &v) < 0 || v > 65536)
            return ocirun_fail(EXEC_FAIL, "--preserve-fds `%s`: not a count",
                               x->a.value[X_PRESERVE]);
        preserve = (int)v;
    }
    snprintf(cache, sizeof(cache), "%s/.cache/seccomp", ocirun_g->root);
    struct oci_exec_opts o = {
        .id = x->st.id,
        .init_pid = x->st.pid,
        .init_start_time = x->st.start_time,
        .rootfs = x->st.rootfs,
        .spec = x->spec,
        .process = x->proc,
        .cgroup = x->cg,
        .stdio = {-1, -1, -1},
        .console_socket = x->a.value[X_CONSOLE],
        .preserve_fds = preserve,
        .seccomp_cache_dir = cache,
        .bundle = x->st.bundle,
    };
    pid_t pid = 0;
    cleanup_close int master = -1;
    lcow_debug("exec in `%s` (init %d): %s%s", x->st.id, (int)x->st.pid, x->proc->args[0],
               x->a.set[X_DETACH] ? ", detached" : "");
    if (oci_exec(&o, &pid, &master, err) < 0)
        return ocirun_fail(EXEC_FAIL, "exec failed: %s", lcow_error_message(*err));
    lcow_debug("exec in `%s`: process %d started", x->st.id, (int)pid);
    if (x->a.value[X_PID_FILE] && ocirun_write_pid_file(x->a.value[X_PID_FILE], pid, err) < 0) {
        (void)kill(pid, SIGKILL);
        return ocirun_fail(EXEC_FAIL, "%s", lcow_error_message(*err));
    }
    if (x->a.set[X_DETACH])
        return 0;
    return foreground(pid, sfd, master);
}

int ocirun_cmd_exec(int argc, char **argv)
{
    cleanup_error struct lcow_error *err = NULL;
    struct exec_run x = {0};
    int code = prepare(&x, argc, argv, &err);
    if (code == 0) {
        sigset_t set;
        cleanup_close int sfd = -1;
        bool detach = x.a.set[X_DETACH];
        if (!detach) {
            /* A process forked inside the container's pid namespace comes back to us. */
            (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            if ((sfd = block_signals(&set)) < 0)
                code = ocirun_fail(EXEC_FAIL, "signalfd: %s", strerror(-sfd));
        }
        if (code == 0)
            code = start(&x, sfd, &err);
    }
    exec_run_done(&x);
    return code;
}
