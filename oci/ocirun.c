/* ocirun: the embedded executor as a runc-compatible CLI (the contract containerd's go-runc
 * drives, executor-notes.md §2). One handler per command in a table; options may follow the
 * container id, as runc accepts. Errors: one line on stderr (and a JSON record in --log),
 * exit 1; a foreground `run` exits with the container's status (128+signal when killed). */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <dirent.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "oci/cgroup.h"
#include "oci/executor.h"
#include "oci/internal.h"
#include "oci/ocirun_ext.h"
#include "oci/state.h"

#define OCIRUN_VERSION "0.1.0"
#ifndef OCIRUN_COMMIT
#define OCIRUN_COMMIT "unknown"
#endif

/* Global options (runc's). */
static const char *arg_root = "/run/ocirun";
static const char *arg_log;
static bool arg_log_json;
static bool arg_debug;

/* Command options: one struct for all commands, each reads what it needs. */
struct cmd_opts {
    const char *bundle;
    const char *pid_file;
    const char *console_socket;
    const char *format;
    bool no_pivot, no_new_keyring, detach, force, all, quiet;
    int preserve_fds;
    const char *pos[3];
    int n_pos;
};

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (arg_log)
        lcow_log(LCOW_LOG_ERROR, "%s", msg);
    fprintf(stderr, "ocirun: %s\n", msg);
    return 1;
}

static int fail_err(struct lcow_error *err)
{
    return fail("%s", lcow_error_message(err));
}

/* ---- option parsing ---- */

struct opt_def {
    const char *long_name;
    char short_name;
    bool has_arg;
    size_t offset; /* into struct cmd_opts */
    enum { O_STR, O_BOOL, O_INT } kind;
};

#define OPT(l, s, a, field, k)                                                                     \
    {                                                                                              \
        l, s, a, offsetof(struct cmd_opts, field), k                                               \
    }

static const struct opt_def cmd_option_defs[] = {
    OPT("bundle", 'b', true, bundle, O_STR),
    OPT("pid-file", 0, true, pid_file, O_STR),
    OPT("console-socket", 0, true, console_socket, O_STR),
    OPT("format", 'f', true, format, O_STR),
    OPT("no-pivot", 0, false, no_pivot, O_BOOL),
    OPT("no-new-keyring", 0, false, no_new_keyring, O_BOOL),
    OPT("detach", 'd', false, detach, O_BOOL),
    OPT("force", 'f', false, force, O_BOOL),
    OPT("all", 'a', false, all, O_BOOL),
    OPT("quiet", 'q', false, quiet, O_BOOL),
    OPT("preserve-fds", 0, true, preserve_fds, O_INT),
};

static const struct opt_def *find_opt(const char *cmd, const char *name, char short_name)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cmd_option_defs); i++) {
        const struct opt_def *d = &cmd_option_defs[i];
        /* -f is --format for list and --force for delete. */
        if (short_name == 'f' && d->short_name == 'f')
            return strcmp(cmd, "list") == 0 ? &cmd_option_defs[3] : &cmd_option_defs[7];
        if ((name && strcmp(d->long_name, name) == 0) ||
            (short_name && d->short_name == short_name))
            return d;
    }
    return NULL;
}

static int set_opt(struct cmd_opts *o, const struct opt_def *d, const char *val)
{
    char *field = (char *)o + d->offset;
    switch (d->kind) {
    case O_STR:
        *(const char **)(void *)field = val;
        return 0;
    case O_BOOL:
        *(bool *)(void *)field = val == NULL || strcmp(val, "true") == 0;
        return 0;
    case O_INT: {
        char *end = NULL;
        long v = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0' || v < 0 || v > 65536)
            return -EINVAL;
        *(int *)(void *)field = (int)v;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

static int parse_cmd_opts(const char *cmd, int argc, char **argv, struct cmd_opts *o)
{
    bool dashdash = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || a[1] == '\0') {
            if (o->n_pos == 3)
                return fail("%s: too many arguments", cmd);
            o->pos[o->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        char nbuf[64];
        const char *eq = strchr(name, '=');
        const char *val = NULL;
        if (eq) {
            snprintf(nbuf, sizeof(nbuf), "%.*s", (int)(eq - name), name);
            name = nbuf;
            val = eq + 1;
        }
        /* Negative signal numbers are not options; runc has none either. */
        const struct opt_def *d = a[1] == '-'
                                      ? find_opt(cmd, name, 0)
                                      : (strlen(name) == 1 ? find_opt(cmd, NULL, name[0]) : NULL);
        if (d == NULL)
            return fail("%s: unknown option `%s`", cmd, a);
        if (d->has_arg && val == NULL) {
            if (i + 1 >= argc)
                return fail("%s: option `%s` needs a value", cmd, a);
            val = argv[++i];
        }
        if (set_opt(o, d, val) < 0)
            return fail("%s: bad value `%s` for `%s`", cmd, val, a);
    }
    return 0;
}

static int need_id(const char *cmd, const struct cmd_opts *o, int max_pos)
{
    if (o->n_pos < 1)
        return fail("%s: a container id is required", cmd);
    if (o->n_pos > max_pos)
        return fail("%s: too many arguments", cmd);
    return 0;
}

/* ---- create / run ---- */

static int state_dir_of(const char *id, char *buf, size_t cap, struct lcow_error **err)
{
    int r = oci_state_validate_id(id, err);
    if (r < 0)
        return r;
    if (oci_state_dir(arg_root, id, buf, cap) < 0)
        return lcow_error_make(err, ENAMETOOLONG, "state directory for `%s`: path too long", id);
    return 0;
}

static void remove_state_dir(const char *dir)
{
    char path[4200];
    static const char *const files[] = {OCI_STATE_FILE, OCI_STATE_FILE ".tmp", OCI_EXEC_FIFO,
                                        "config.json", "config.json.tmp"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

static int write_pid_file(const char *path, pid_t pid, struct lcow_error **err)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    return lcow_write_file_atomic(path, buf, (size_t)n, 0644, err);
}

/* Later commands (start's poststart, delete's poststop hooks) read this copy: changes to the
 * bundle after create have no effect, as the runtime spec requires. */
static int freeze_config(const char *src, const char *dir, struct lcow_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;
    char dst[4200];
    int r = lcow_read_file(src, OCI_SPEC_MAX_SIZE, &buf, &len, err);
    if (r < 0)
        return r;
    snprintf(dst, sizeof(dst), "%s/config.json", dir);
    return lcow_write_file_atomic(dst, buf, len, 0600, err);
}

static int load_frozen_spec(const char *dir, struct oci_spec **ret, struct lcow_error **err)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    return oci_spec_load(path, ret, err);
}

/* Runs hooks of `kind` for a container known only from its state directory. */
static int cli_hooks(const char *dir, const struct oci_state *st, enum oci_hook_kind kind,
                     const char *status, struct lcow_error **err)
{
    cleanup_oci_spec struct oci_spec *spec = NULL;
    int r = load_frozen_spec(dir, &spec, err);
    if (r < 0)
        return r;
    if (spec->n_hooks[kind] == 0)
        return 0;
    cleanup_free char *state = oci_hook_state_json(
        spec, st->id, status, kind == OCI_HOOK_POSTSTOP ? 0 : st->pid, st->bundle);
    if (state == NULL)
        return lcow_error_make(err, ENOMEM, "out of memory");
    return oci_hooks_run(spec, kind, state, err);
}

struct launch {
    char dir[4096];
    char bundle[4096];
    struct oci_spec *spec;
    struct oci_state st;
    struct oci_container *c;
    bool dir_made;
};

static int launch_prepare(const struct cmd_opts *o, struct launch *l, bool fifo,
                          struct lcow_error **err)
{
    const char *id = o->pos[0];
    char cfg[4200];
    int r = state_dir_of(id, l->dir, sizeof(l->dir), err);
    if (r < 0)
        return r;
    const char *b = o->bundle ? o->bundle : ".";
    if (realpath(b, l->bundle) == NULL)
        return lcow_error_errno(err, "bundle `%s`", b);
    snprintf(cfg, sizeof(cfg), "%s/config.json", l->bundle);
    if ((r = oci_spec_load(cfg, &l->spec, err)) < 0)
        return r;
    char cfg_src[4200];
    memcpy(cfg_src, cfg, sizeof(cfg_src));
    if ((r = lcow_mkdir_p(arg_root, 0700, err)) < 0)
        return r;
    if (mkdir(l->dir, 0711) < 0)
        return errno == EEXIST ? lcow_error_make(err, EEXIST, "container `%s` already exists", id)
                               : lcow_error_errno(err, "mkdir `%s`", l->dir);
    l->dir_made = true;
    if (fifo) {
        snprintf(cfg, sizeof(cfg), "%s/%s", l->dir, OCI_EXEC_FIFO);
        if (mkfifo(cfg, 0622) < 0)
            return lcow_error_errno(err, "mkfifo `%s`", cfg);
    }
    char created[64];
    oci_rfc3339_now(created, sizeof(created));
    l->st.id = strdup(id);
    l->st.oci_version = strdup(l->spec->oci_version);
    l->st.bundle = strdup(l->bundle);
    l->st.created = strdup(created);
    l->st.owner = strdup("");
    l->st.creating = true;
    if (l->spec->root_path[0] == '/')
        l->st.rootfs = strdup(l->spec->root_path);
    else if (asprintf(&l->st.rootfs, "%s/%s", l->bundle, l->spec->root_path) < 0)
        l->st.rootfs = NULL;
    if (l->spec->linux_ && l->spec->linux_->cgroups_path)
        l->st.cgroups_path = strdup(l->spec->linux_->cgroups_path);
    if (!l->st.id || !l->st.oci_version || !l->st.bundle || !l->st.created || !l->st.owner ||
        !l->st.rootfs)
        return lcow_error_make(err, ENOMEM, "out of memory");
    /* Annotations are borrowed from the spec for writing. */
    l->st.annotations = l->spec->annotations;
    l->st.n_annotations = l->spec->n_annotations;
    if ((r = freeze_config(cfg_src, l->dir, err)) < 0)
        return r;
    return oci_state_write(l->dir, &l->st, err);
}

/* Unknown syscall names in linux.seccomp are skipped, as runc does (profiles list syscalls of
 * newer kernels); crun's annotation run.oci.seccomp_fail_unknown_syscall=1 makes them an
 * error. */
static bool seccomp_strict(const struct oci_spec *spec)
{
    for (size_t i = 0; i < spec->n_annotations; i++)
        if (strcmp(spec->annotations[i].key, "run.oci.seccomp_fail_unknown_syscall") == 0)
            return strcmp(spec->annotations[i].value, "1") == 0 ||
                   strcmp(spec->annotations[i].value, "true") == 0;
    return false;
}

static int launch_create(const struct cmd_opts *o, struct launch *l, bool fifo,
                         struct lcow_error **err)
{
    /* runc's rules: a detached terminal needs somewhere to send the master. */
    bool detached = fifo || o->detach;
    bool terminal = l->spec->process && l->spec->process->terminal;
    if (terminal && detached && o->console_socket == NULL)
        return lcow_error_make(err, EINVAL,
                               "cannot allocate a tty for a detached container without "
                               "--console-socket");
    if (!terminal && o->console_socket != NULL)
        return lcow_error_make(err, EINVAL, "--console-socket needs process.terminal");
    char fifo_path[4200], cache[4200];
    snprintf(fifo_path, sizeof(fifo_path), "%s/%s", l->dir, OCI_EXEC_FIFO);
    snprintf(cache, sizeof(cache), "%s/.cache", arg_root);
    (void)mkdir(cache, 0700); /* the cache makes only its last component; it is optional */
    snprintf(cache, sizeof(cache), "%s/.cache/seccomp", arg_root);
    struct oci_create_opts co = {
        .id = o->pos[0],
        .bundle = l->bundle,
        .spec = l->spec,
        .flags = (o->no_pivot ? OCI_CREATE_NO_PIVOT : 0) |
                 (o->no_new_keyring ? OCI_CREATE_NO_NEW_KEYRING : 0) |
                 (seccomp_strict(l->spec) ? OCI_CREATE_SECCOMP_FAIL_UNKNOWN : 0),
        .stdio = {-1, -1, -1},
        .console_socket = o->console_socket,
        .preserve_fds = o->preserve_fds,
        .exec_fifo = fifo ? fifo_path : NULL,
        .seccomp_cache_dir = cache,
    };
    int r = oci_container_create(&co, &l->c, err);
    if (r < 0)
        return r;
    l->st.pid = oci_container_pid(l->c);
    l->st.start_time = oci_container_start_time(l->c);
    l->st.creating = false;
    if ((r = oci_state_write(l->dir, &l->st, err)) < 0)
        return r;
    return 0;
}

static void launch_done(struct launch *l)
{
    l->st.annotations = NULL;
    l->st.n_annotations = 0;
    oci_state_done(&l->st);
    oci_spec_free(l->spec);
}

/* Undo of a failed create: kill, cgroup, state dir. */
static void launch_abort(struct launch *l)
{
    if (l->c)
        (void)oci_container_destroy(l->c, NULL);
    l->c = NULL;
    if (l->dir_made)
        remove_state_dir(l->dir);
}

static int cmd_create(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    struct launch l = {0};
    int r = need_id("create", o, 1);
    if (r)
        return r;
    if ((r = launch_prepare(o, &l, true, &err)) < 0 || (r = launch_create(o, &l, true, &err)) < 0 ||
        (o->pid_file && (r = write_pid_file(o->pid_file, l.st.pid, &err)) < 0)) {
        launch_abort(&l);
        launch_done(&l);
        return fail_err(err);
    }
    lcow_debug("created container `%s`: pid %d, bundle `%s`", l.st.id, (int)l.st.pid, l.bundle);
    oci_container_release(l.c);
    launch_done(&l);
    return 0;
}

/* ---- foreground run: signal forwarding, pty relay, reaping ---- */

static int forward_signals(sigset_t *set)
{
    static const int sigs[] = {SIGINT,  SIGTERM,  SIGHUP,  SIGQUIT, SIGUSR1,
                               SIGUSR2, SIGWINCH, SIGCHLD, SIGPIPE};
    sigemptyset(set);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(sigs); i++)
        sigaddset(set, sigs[i]);
    if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
        return -errno;
    return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Reaps every child; returns the init's wait status once it is seen, else -1. */
static int reap(pid_t init)
{
    int status = 0, result = -1;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0)
        if (p == init)
            result = status;
    return result;
}

static void relay(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n > 0)
        (void)lcow_write_all(to, buf, (size_t)n);
}

static int wait_foreground(struct oci_container *c, int sfd, int master)
{
    pid_t init = oci_container_pid(c);
    struct pollfd pfd[3] = {{.fd = sfd, .events = POLLIN},
                            {.fd = master, .events = POLLIN},
                            {.fd = master >= 0 ? 0 : -1, .events = POLLIN}};
    for (;;) {
        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            return 255;
        if (pfd[1].revents & POLLIN)
            relay(master, 1);
        else if (pfd[1].revents & (POLLHUP | POLLERR))
            pfd[1].fd = -1;
        if (pfd[2].revents & POLLIN)
            relay(0, master);
        else if (pfd[2].revents & (POLLHUP | POLLERR))
            pfd[2].fd = -1;
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGWINCH && master >= 0) {
                struct winsize ws;
                if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                    (void)ioctl(master, TIOCSWINSZ, &ws);
            } else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE) {
                (void)oci_container_signal(c, (int)si.ssi_signo, false, NULL);
            }
        }
        int st = reap(init);
        if (st >= 0) {
            while (master >= 0 && pfd[1].fd >= 0 && poll(&pfd[1], 1, 50) > 0 &&
                   (pfd[1].revents & POLLIN))
                relay(master, 1); /* drain what the container wrote last */
            oci_container_exited(c, st);
            return oci_wait_status_to_exit_code(st);
        }
    }
}

static int cmd_run(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    struct launch l = {0};
    sigset_t set;
    cleanup_close int sfd = -1;
    int r = need_id("run", o, 1);
    if (r)
        return r;
    if (!o->detach) {
        /* The init must come back to us even when a helper forks it. */
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        if ((sfd = forward_signals(&set)) < 0)
            return fail("signalfd: %s", strerror(errno));
    }
    if ((r = launch_prepare(o, &l, false, &err)) < 0 ||
        (r = launch_create(o, &l, false, &err)) < 0 ||
        (o->pid_file && (r = write_pid_file(o->pid_file, l.st.pid, &err)) < 0) ||
        (r = oci_container_start(l.c, &err)) < 0) {
        launch_abort(&l);
        launch_done(&l);
        return fail_err(err);
    }
    if (o->detach) {
        oci_container_release(l.c);
        launch_done(&l);
        return 0;
    }
    cleanup_close int master = oci_container_take_pty_master(l.c);
    struct termios saved;
    bool raw = master >= 0 && tcgetattr(0, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        (void)tcsetattr(0, TCSANOW, &t);
    }
    int code = wait_foreground(l.c, sfd, master);
    if (raw)
        (void)tcsetattr(0, TCSANOW, &saved);
    (void)oci_container_destroy(l.c, NULL);
    l.c = NULL;
    remove_state_dir(l.dir);
    launch_done(&l);
    return code;
}

/* ---- commands on an existing container ---- */

static int load(const char *id, struct oci_state *st, char *dir, size_t cap,
                struct lcow_error **err)
{
    int r = oci_state_read(arg_root, id, st, err);
    if (r < 0)
        return r;
    return state_dir_of(id, dir, cap, err);
}

static int cmd_start(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    struct oci_state st = {0};
    char dir[4096], fifo[4200];
    int r = need_id("start", o, 1);
    if (r)
        return r;
    if (load(o->pos[0], &st, dir, sizeof(dir), &err) < 0)
        return fail_err(err);
    enum oci_status s = oci_state_status(dir, &st);
    oci_state_done(&st);
    if (s != OCI_STATUS_CREATED)
        return fail("cannot start a container that is %s", oci_status_name(s));
    snprintf(fifo, sizeof(fifo), "%s/%s", dir, OCI_EXEC_FIFO);
    cleanup_close int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fail("open exec fifo `%s`: %s", fifo, strerror(errno));
    if (write(fd, "0", 1) != 1)
        return fail("write exec fifo: %s", strerror(errno));
    (void)unlink(fifo);
    lcow_debug("started container `%s`", o->pos[0]);
    cleanup_error struct lcow_error *herr = NULL;
    struct oci_state st2 = {0};
    if (oci_state_read(arg_root, o->pos[0], &st2, &herr) < 0 ||
        cli_hooks(dir, &st2, OCI_HOOK_POSTSTART, "created", &herr) < 0)
        r = fail_err(herr);
    oci_state_done(&st2);
    return r;
}

static int cmd_state(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    struct oci_state st = {0};
    char dir[4096];
    int r = need_id("state", o, 1);
    if (r)
        return r;
    if (load(o->pos[0], &st, dir, sizeof(dir), &err) < 0)
        return fail_err(err);
    cleanup_free char *json = oci_state_to_json(&st, oci_state_status(dir, &st), true);
    oci_state_done(&st);
    if (json == NULL)
        return fail("state: out of memory");
    fputs(json, stdout);
    return 0;
}

static int open_cgroup(const struct oci_state *st, struct oci_cgroup_layout **layout,
                       struct oci_cgroup **cg, struct lcow_error **err)
{
    int r = oci_cgroup_layout_detect(NULL, layout, err);
    if (r < 0)
        return r;
    return oci_cgroup_open(*layout, st->cgroups_path, st->id, cg, err);
}

static int signal_container(const struct oci_state *st, int sig, bool all, struct lcow_error **err)
{
    if (all && !st->no_cgroup) {
        struct oci_cgroup_layout *layout = NULL;
        struct oci_cgroup *cg = NULL;
        int r = open_cgroup(st, &layout, &cg, err);
        if (r == 0)
            r = oci_cgroup_kill_all(cg, sig, err);
        oci_cgroup_free(cg);
        oci_cgroup_layout_free(layout);
        return r;
    }
    cleanup_close int pidfd = sys_pidfd_open(st->pid, 0);
    uint64_t start = 0;
    /* Check the start time after opening the pidfd: the pidfd then pins the right process. */
    if (oci_proc_stat(st->pid, &start, NULL) < 0 || start != st->start_time)
        return lcow_error_make(err, ESRCH, "container `%s` is not running", st->id);
    int r = pidfd >= 0 ? sys_pidfd_send_signal(pidfd, sig, NULL, 0) : kill(st->pid, sig);
    return r < 0 ? lcow_error_errno(err, "kill pid %d", (int)st->pid) : 0;
}

static int cmd_kill(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    struct oci_state st = {0};
    char dir[4096];
    int r = need_id("kill", o, 2);
    if (r)
        return r;
    int sig = o->n_pos > 1 ? oci_signal_from_name(o->pos[1]) : SIGTERM;
    if (sig < 0)
        return fail("kill: unknown signal `%s`", o->pos[1]);
    if (load(o->pos[0], &st, dir, sizeof(dir), &err) < 0)
        return fail_err(err);
    enum oci_status s = oci_state_status(dir, &st);
    if (s == OCI_STATUS_STOPPED || s == OCI_STATUS_CREATING)
        r = fail("container `%s` is not running", st.id);
    else if (signal_container(&st, sig, o->all, &err) < 0)
        r = fail_err(err);
    oci_state_done(&st);
    return r;
}

static void thaw(const struct oci_state *st)
{
    struct oci_cgroup_layout *layout = NULL;
    struct oci_cgroup *cg = NULL;
    if (open_cgroup(st, &layout, &cg, NULL) == 0)
        (void)oci_cgroup_freeze(cg, false, NULL);
    oci_cgroup_free(cg);
    oci_cgroup_layout_free(layout);
}

static void wait_gone(const struct oci_state *st)
{
    for (int i = 0; i < 200; i++) {
        uint64_t start = 0;
        char s = 0;
        if (oci_proc_stat(st->pid, &start, &s) < 0 || start != st->start_time || s == 'Z')
            return;
        usleep(10000);
    }
}

static int cmd_delete(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    struct oci_state st = {0};
    char dir[4096];
    int r = need_id("delete", o, 1);
    if (r)
        return r;
    if (load(o->pos[0], &st, dir, sizeof(dir), &err) < 0) {
        /* runc: --force on a missing container is not an error. */
        return o->force && err && err->code == ENOENT ? 0 : fail_err(err);
    }
    enum oci_status s = oci_state_status(dir, &st);
    if ((s == OCI_STATUS_RUNNING || s == OCI_STATUS_PAUSED) && !o->force) {
        oci_state_done(&st);
        return fail("cannot delete container `%s` that is not stopped: %s", o->pos[0],
                    oci_status_name(s));
    }
    if (s == OCI_STATUS_PAUSED)
        thaw(&st); /* a frozen task cannot die of the SIGKILL below */
    if (s == OCI_STATUS_RUNNING || s == OCI_STATUS_CREATED || s == OCI_STATUS_PAUSED) {
        (void)signal_container(&st, SIGKILL, false, NULL);
        wait_gone(&st);
    }
    if (!st.no_cgroup) {
        struct oci_cgroup_layout *layout = NULL;
        struct oci_cgroup *cg = NULL;
        if (open_cgroup(&st, &layout, &cg, NULL) == 0 && oci_cgroup_destroy(cg, &err) < 0)
            r = fail_err(err);
        oci_cgroup_free(cg);
        oci_cgroup_layout_free(layout);
    }
    cleanup_error struct lcow_error *herr = NULL;
    if (cli_hooks(dir, &st, OCI_HOOK_POSTSTOP, "stopped", &herr) < 0)
        fprintf(stderr, "ocirun: warning: %s\n", lcow_error_message(herr));
    remove_state_dir(dir);
    lcow_debug("deleted container `%s`", o->pos[0]);
    oci_state_done(&st);
    return r;
}

/* runc prints its table through Go's tabwriter (minwidth 12, padding 3): each column is as
 * wide as its widest cell plus 3, at least 12; the last column is not padded. */
#define LIST_COLS 6

static void print_table(char *(*rows)[LIST_COLS], size_t n)
{
    size_t width[LIST_COLS - 1] = {0};
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < LIST_COLS - 1; c++)
            if (strlen(rows[r][c]) + 3 > width[c])
                width[c] = strlen(rows[r][c]) + 3;
    for (size_t r = 0; r < n; r++) {
        for (int c = 0; c < LIST_COLS - 1; c++)
            printf("%-*s", (int)(width[c] < 12 ? 12 : width[c]), rows[r][c]);
        printf("%s\n", rows[r][LIST_COLS - 1]);
    }
}

/* One row of the table (heap strings) for a container. */
static int list_row(const struct oci_state *st, enum oci_status s, const char *owner, char **row)
{
    row[0] = strdup(st->id);
    if (asprintf(&row[1], "%d", s == OCI_STATUS_STOPPED ? 0 : (int)st->pid) < 0)
        row[1] = NULL;
    row[2] = strdup(oci_status_name(s));
    row[3] = strdup(st->bundle ? st->bundle : "");
    row[4] = strdup(st->created ? st->created : "");
    row[5] = strdup(owner);
    for (int c = 0; c < LIST_COLS; c++)
        if (row[c] == NULL)
            return -ENOMEM;
    return 0;
}

static int cmd_list(const struct cmd_opts *o)
{
    struct dirent **names = NULL;
    bool json = o->format && strcmp(o->format, "json") == 0;
    if (o->format && !json && strcmp(o->format, "table") != 0)
        return fail("list: unknown format `%s`", o->format);
    int n = scandir(arg_root, &names, NULL, alphasort); /* runc lists in name order */
    size_t nrows = 1;
    char *(*rows)[LIST_COLS] = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(*rows));
    if (rows == NULL)
        return fail("list: out of memory");
    static const char *const header[LIST_COLS] = {"ID",     "PID",     "STATUS",
                                                  "BUNDLE", "CREATED", "OWNER"};
    for (int c = 0; c < LIST_COLS; c++)
        rows[0][c] = (char *)header[c];
    if (json)
        fputs("[", stdout);
    bool first = true;
    for (int i = 0; i < n; i++) {
        struct oci_state st = {0};
        char dir[4096];
        if (names[i]->d_name[0] != '.' &&
            oci_state_read(arg_root, names[i]->d_name, &st, NULL) == 0) {
            (void)oci_state_dir(arg_root, names[i]->d_name, dir, sizeof(dir));
            enum oci_status s = oci_state_status(dir, &st);
            /* The owner of the state directory ("root", else runc's "#UID"); no NSS. */
            struct stat sb;
            char owner[32] = "root";
            if (stat(dir, &sb) == 0 && sb.st_uid != 0)
                snprintf(owner, sizeof(owner), "#%u", (unsigned)sb.st_uid);
            free(st.owner);
            st.owner = strdup(owner);
            if (json) {
                cleanup_free char *j = oci_state_to_json(&st, s, false);
                printf("%s%s", first ? "" : ",", j ? j : "{}");
            } else if (o->quiet) {
                printf("%s\n", st.id);
            } else if (list_row(&st, s, owner, rows[nrows++]) < 0) {
                n = -1; /* out of memory: stop, print what we have */
            }
            first = false;
            oci_state_done(&st);
        }
        free(names[i]);
    }
    free(names);
    if (json)
        fputs("]\n", stdout);
    else if (!o->quiet)
        print_table(rows, nrows);
    for (size_t r = 1; r < nrows; r++)
        for (int c = 0; c < LIST_COLS; c++)
            free(rows[r][c]);
    free(rows);
    return 0;
}

/* runc's default spec (same fields and values), written through the spec writer. */
static const char default_spec[] =
    "{\"ociVersion\":\"1.2.0\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},"
    "\"args\":[\"sh\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
    "bin\","
    "\"TERM=xterm\"],\"cwd\":\"/\",\"capabilities\":{"
    "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"runc\",\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
    "\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":["
    "\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\","
    "\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":["
    "\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\","
    "\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":["
    "\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
    "{\"type\":\"uts\"},{\"type\":\"mount\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
    "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
    "\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
    "\"/proc/sysrq-trigger\"]}}";

static int cmd_spec(const struct cmd_opts *o)
{
    cleanup_error struct lcow_error *err = NULL;
    cleanup_oci_spec struct oci_spec *spec = NULL;
    cleanup_free char *text = NULL;
    char path[4200];
    snprintf(path, sizeof(path), "%s/config.json", o->bundle ? o->bundle : ".");
    if (access(path, F_OK) == 0)
        return fail("file `%s` exists: remove it first", path);
    if (oci_spec_parse(default_spec, sizeof(default_spec) - 1, &spec, &err) < 0 ||
        oci_spec_write(spec, &text, &err) < 0 ||
        lcow_write_file(path, text, strlen(text), O_WRONLY | O_CREAT | O_EXCL, 0666, &err) < 0)
        return fail_err(err);
    return 0;
}

static int cmd_version(const struct cmd_opts *o)
{
    /* runc's three lines; go-runc parses the first by its prefix. */
    printf("ocirun version %s\ncommit: %s\nspec: 1.2.0\n", OCIRUN_VERSION, OCIRUN_COMMIT);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(const struct cmd_opts *o);
} commands[] = {
    {"create", cmd_create}, {"start", cmd_start},     {"run", cmd_run},
    {"state", cmd_state},   {"kill", cmd_kill},       {"delete", cmd_delete},
    {"list", cmd_list},     {"version", cmd_version}, {"spec", cmd_spec},
};

static void print_usage(FILE *f)
{
    fprintf(f, "usage: ocirun [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
               "              create|start|run|state|kill|delete|list|spec [options] [ID]\n");
}

static int usage(void)
{
    print_usage(stderr);
    return 1;
}

/* Global options come before the command. */
static int parse_global(int argc, char **argv, int *ret_index)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *val = strchr(a, '=') ? strchr(a, '=') + 1 : NULL;
        size_t nlen = val ? (size_t)(val - 1 - a) : strlen(a);
        bool takes = strncmp(a, "--root", nlen) == 0 || strncmp(a, "--log", nlen) == 0 ||
                     strncmp(a, "--log-format", nlen) == 0 || strncmp(a, "--rootless", nlen) == 0 ||
                     strncmp(a, "--criu", nlen) == 0;
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            *ret_index = -1;
            return 0;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *ret_index = -2;
            return 0;
        }
        if (takes && val == NULL && i + 1 < argc)
            val = argv[++i];
        if (strncmp(a, "--root", nlen) == 0 && nlen == 6)
            arg_root = val;
        else if (strncmp(a, "--log-format", nlen) == 0 && nlen == 12)
            arg_log_json = val && strcmp(val, "json") == 0;
        else if (strncmp(a, "--log", nlen) == 0 && nlen == 5)
            arg_log = val;
        else if (strcmp(a, "--debug") == 0)
            arg_debug = true;
        else if (strcmp(a, "--systemd-cgroup") == 0)
            return fail("--systemd-cgroup: systemd is not supported");
        else if (!takes)
            return fail("unknown global option `%s`", a);
        if (takes && val == NULL)
            return fail("option `%s` needs a value", a);
    }
    *ret_index = i;
    return 0;
}

int main(int argc, char **argv)
{
    int idx = 0;
    struct cmd_opts o = {0};
    if (parse_global(argc, argv, &idx))
        return 1;
    if (idx == -1)
        return cmd_version(&o);
    if (idx == -2) {
        print_usage(stdout);
        return 0;
    }
    if (arg_log) {
        int fd = open(arg_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return fail("open log `%s`: %s", arg_log, strerror(errno));
        lcow_log_setup(fd, arg_debug ? LCOW_LOG_DEBUG : LCOW_LOG_INFO, arg_log_json);
    } else {
        lcow_log_setup(2, arg_debug ? LCOW_LOG_DEBUG : LCOW_LOG_WARNING, false);
    }
    if (idx >= argc || arg_root == NULL)
        return usage();
    const char *cmd = argv[idx];
    /* Part 2's verbs and every command's -h (oci/ocirun_ext.h). */
    struct ocirun_globals g = {arg_root, arg_log, arg_log_json, arg_debug};
    int code = 0;
    if (ocirun_ext_dispatch(&g, cmd, argc - idx - 1, argv + idx + 1, &code))
        return code;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(commands); i++) {
        if (strcmp(commands[i].name, cmd) != 0)
            continue;
        if (parse_cmd_opts(cmd, argc - idx - 1, argv + idx + 1, &o))
            return 1;
        return commands[i].fn(&o);
    }
    return fail("unknown command `%s`", cmd);
}
