/* runlcow state / list / kill / delete / exec: read the state directory, or ask the
 * container's supervisor over its control socket. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/syscalls.h"
#include "host/runlcow.h"
#include "host/runlcow2.h"

static const struct {
    const char *name;
    int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

static int parse_signal(const char *s)
{
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n > 0 && n <= 64 ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(signals); i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return signals[i].sig;
    return -1;
}

static int read_state(struct rl_globals *g, const char *id, struct rl_state *st,
                      struct lcow_error **err)
{
    int r = rl_check_id(id, err);
    return r < 0 ? r : rl_state_read(g, id, st, err);
}

/* ---- state, list ----------------------------------------------------------------------- */

int rl_cmd_state(struct rl_globals *g, int argc, char **argv)
{
    if (argc != 2)
        return rl_failf("usage: runlcow state ID");
    cleanup_error struct lcow_error *err = NULL;
    struct rl_state st = {0};
    if (read_state(g, argv[1], &st, &err) < 0)
        return rl_fail(err);
    cleanup_json struct json_object *o = rl_state_json(&st);
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    rl_state_done(&st);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int rl_cmd_list(struct rl_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {NULL, 0, NULL, 0}};
    bool json = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
        if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
            json = strcmp(optarg, "json") == 0;
        else if (c == 'q')
            quiet = true;
        else
            return rl_failf("usage: runlcow list [--format table|json] [-q]");
    }
    if (optind != argc)
        return rl_failf("usage: runlcow list [--format table|json] [-q]");
    char **ids = NULL;
    size_t n = 0;
    DIR *d = opendir(g->root);
    if (!d && errno != ENOENT)
        return rl_failf("read `%s`: %s", g->root, strerror(errno));
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", the layer cache */
        char **v = realloc(ids, (n + 1) * sizeof(*v));
        if (!v)
            break;
        ids = v;
        ids[n++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    if (n > 1)
        qsort(ids, n, sizeof(*ids), cmp_str); /* qsort(NULL, 0, ...) is undefined */
    cleanup_json struct json_object *arr = json_object_new_array();
    if (!json && !quiet)
        printf("%-12s   %-8s   %-10s   %-40s   %-30s   %s\n", "ID", "PID", "STATUS", "BUNDLE",
               "CREATED", "OWNER");
    for (size_t i = 0; i < n; i++) {
        cleanup_error struct lcow_error *err = NULL;
        struct rl_state st = {0};
        if (!ids[i] || rl_state_read(g, ids[i], &st, &err) < 0) {
            if (err)
                fprintf(stderr, "runlcow: %s\n", lcow_error_message(err));
            free(ids[i]);
            continue;
        }
        if (json)
            json_object_array_add(arr, rl_state_json(&st));
        else if (quiet)
            puts(st.id);
        else
            printf("%-12s   %-8d   %-10s   %-40s   %-30s   %s\n", st.id,
                   st.status == RL_STOPPED ? 0 : st.pid, rl_status_name(st.status), st.bundle,
                   st.created, "");
        rl_state_done(&st);
        free(ids[i]);
    }
    free(ids);
    if (json)
        puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    return 0;
}

/* ---- kill, delete ------------------------------------------------------------------------- */

int rl_cmd_kill(struct rl_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1)
        if (c != 'a') /* --all: the init's pid namespace holds every process anyway */
            return rl_failf("usage: runlcow kill [--all] ID [SIGNAL]");
    if (optind >= argc || argc - optind > 2)
        return rl_failf("usage: runlcow kill [--all] ID [SIGNAL]");
    const char *id = argv[optind];
    int sig = argc - optind == 2 ? parse_signal(argv[optind + 1]) : SIGTERM;
    if (sig < 0)
        return rl_failf("invalid signal `%s`", argv[optind + 1]);
    cleanup_error struct lcow_error *err = NULL;
    struct rl_state st = {0};
    if (read_state(g, id, &st, &err) < 0)
        return rl_fail(err);
    enum rl_status status = st.status;
    rl_state_done(&st);
    if (status != RL_RUNNING && status != RL_PAUSED)
        return rl_failf("container %s is not running (%s)", id, rl_status_name(status));
    cleanup_free char *dir = rl_dir(g, id);
    cleanup_json struct json_object *req = json_object_new_object();
    json_object_object_add(req, "op", json_object_new_string("kill"));
    json_object_object_add(req, "signal", json_object_new_int(sig));
    if (rl_ctl_call(dir, req, NULL, 0, 60000, NULL, NULL, &err) < 0)
        return rl_fail(err);
    return 0;
}

/* Alive and not a zombie: an orphaned supervisor stays a zombie until whoever adopts orphans
 * reaps it, and kill(pid, 0) succeeds on zombies. */
static bool pid_alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return false;
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the state follows the command name */
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* A pid from the state file is ours only if its command line names our directory. */
static bool pid_is_ours(pid_t pid, const char *dir)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    cleanup_free char *buf = NULL;
    size_t len = 0;
    if (pid <= 0 || lcow_read_file(path, 1 << 16, &buf, &len, NULL) < 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!buf[i])
            buf[i] = ' ';
    return strstr(buf, dir) != NULL;
}

static void wait_gone(pid_t pid, int ms)
{
    for (int i = 0; i < ms / 20 && pid_alive(pid); i++) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* What a supervisor killed with SIGKILL leaves: its QEMU and back end die with it
 * (PDEATHSIG), but a pid that still runs and names our directory is killed here. */
static void kill_leftovers(const struct rl_state *st, const char *dir)
{
    const pid_t pids[] = {st->qemu_pid, st->backend_pid};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(pids); i++) {
        if (pid_alive(pids[i]) && pid_is_ours(pids[i], dir)) {
            kill(pids[i], SIGKILL);
            wait_gone(pids[i], 5000);
        }
    }
}

int rl_cmd_delete(struct rl_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
        if (c != 'f')
            return rl_failf("usage: runlcow delete [--force] ID");
        force = true;
    }
    if (optind != argc - 1)
        return rl_failf("usage: runlcow delete [--force] ID");
    const char *id = argv[optind];
    cleanup_error struct lcow_error *err = NULL;
    struct rl_state st = {0};
    if (read_state(g, id, &st, &err) < 0)
        return rl_fail(err);
    cleanup_free char *dir = rl_dir(g, id);
    /* A pod's UVM owner outlives its own container while others run in its UVM: deleting it
     * would take them down (runhcs refuses too; containerd deletes workloads first). */
    if (st.hosted > 0 && pid_alive(st.pid)) {
        int r = rl_failf("cannot delete container %s: its UVM holds %u other container(s); "
                         "delete them first",
                         id, st.hosted);
        rl_state_done(&st);
        return r;
    }
    if ((st.status == RL_RUNNING || st.status == RL_CREATING || st.status == RL_PAUSED) && !force) {
        int r = rl_failf("cannot delete container %s that is not stopped: %s", id,
                         rl_status_name(st.status));
        rl_state_done(&st);
        return r;
    }
    if (st.status != RL_STOPPED) {
        /* The supervisor stops the container and releases the UVM, then exits. */
        cleanup_json struct json_object *req = json_object_new_object();
        json_object_object_add(req, "op", json_object_new_string("delete"));
        if (rl_ctl_call(dir, req, NULL, 0, 120000, NULL, NULL, &err) < 0)
            lcow_error_release(&err);
        wait_gone(st.pid, 10000);
        if (pid_alive(st.pid) && pid_is_ours(st.pid, id)) {
            kill(st.pid, SIGKILL);
            wait_gone(st.pid, 5000);
        }
    }
    kill_leftovers(&st, dir);
    rl_state_done(&st);
    if (rl_dir_remove(g, id, &err) < 0)
        return rl_fail(err);
    return 0;
}

/* ---- exec ----------------------------------------------------------------------------------- */

struct exec_opts {
    const char *process_file, *pid_file, *cwd, *user, *console_socket;
    const char *env[256];
    size_t n_env;
    bool tty, detach;
};

static int parse_exec(int argc, char **argv, struct exec_opts *o)
{
    enum { O_PID = 256, O_CWD, O_CONSOLE };
    static const struct option opts[] = {
        {"process", required_argument, NULL, 'p'},
        {"pid-file", required_argument, NULL, O_PID},
        {"cwd", required_argument, NULL, O_CWD},
        {"env", required_argument, NULL, 'e'},
        {"tty", no_argument, NULL, 't'},
        {"detach", no_argument, NULL, 'd'},
        {"user", required_argument, NULL, 'u'},
        {"console-socket", required_argument, NULL, O_CONSOLE},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "+p:e:tdu:", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->process_file = optarg;
            break;
        case O_PID:
            o->pid_file = optarg;
            break;
        case O_CWD:
            o->cwd = optarg;
            break;
        case 'e':
            if (o->n_env == LCOW_ARRAY_SIZE(o->env))
                return rl_failf("too many --env");
            o->env[o->n_env++] = optarg;
            break;
        case 't':
            o->tty = true;
            break;
        case 'd':
            o->detach = true;
            break;
        case 'u':
            o->user = optarg;
            break;
        case O_CONSOLE:
            o->console_socket = optarg;
            break;
        default:
            return rl_failf("usage: runlcow exec [-d] [-t] [--pid-file FILE] [--cwd DIR] "
                            "[-e K=V]... [-u UID[:GID]] (-p process.json ID | ID ARGS...)");
        }
    }
    return 0;
}

static int set_user(struct json_object *process, const char *spec, struct lcow_error **err)
{
    char *end = NULL;
    unsigned long uid = strtoul(spec, &end, 10), gid = 0;
    if (end == spec || (*end && *end != ':'))
        return lcow_error_make(err, EINVAL, "invalid --user `%s` (UID[:GID])", spec);
    if (*end == ':') {
        const char *g = end + 1;
        gid = strtoul(g, &end, 10);
        if (end == g || *end)
            return lcow_error_make(err, EINVAL, "invalid --user `%s` (UID[:GID])", spec);
    }
    struct json_object *u = json_object_new_object();
    json_object_object_add(u, "uid", json_object_new_int64((int64_t)uid));
    json_object_object_add(u, "gid", json_object_new_int64((int64_t)gid));
    json_object_object_add(process, "user", u);
    return 0;
}

/* The process to run: process.json as given (-p), or the container's own process with argv,
 * as runc builds it. */
static int build_process(struct rl_globals *g, const char *id, const struct exec_opts *o,
                         char **args, struct json_object **ret, struct lcow_error **err)
{
    cleanup_free char *dir = rl_dir(g, id), *path = NULL, *buf = NULL;
    size_t len = 0;
    if (!dir || asprintf(&path, "%s/%s", o->process_file ? "" : dir,
                         o->process_file ? o->process_file : "config.json") < 0)
        return lcow_error_make(err, ENOMEM, "path");
    const char *file = o->process_file ? o->process_file : path;
    int r = lcow_read_file(file, 4 << 20, &buf, &len, err);
    cleanup_json struct json_object *doc = NULL;
    if (r >= 0)
        r = lcow_json_parse(buf, len, o->process_file ? "process.json" : "config.json", &doc, err);
    if (r < 0)
        return r;
    struct json_object *process = o->process_file ? doc : lcow_json_field(doc, "process");
    if (!process || !json_object_is_type(process, json_type_object))
        return lcow_error_make(err, EINVAL, "no process object in `%s`", file);
    process = json_object_get(process);
    if (!o->process_file) {
        struct json_object *a = json_object_new_array();
        for (char **p = args; *p; p++)
            json_object_array_add(a, json_object_new_string(*p));
        json_object_object_add(process, "args", a);
        json_object_object_add(process, "terminal", json_object_new_boolean(o->tty));
    } else if (o->tty) {
        json_object_object_add(process, "terminal", json_object_new_boolean(true));
    }
    struct json_object *env = lcow_json_field(process, "env");
    if (o->n_env && !env) {
        env = json_object_new_array();
        json_object_object_add(process, "env", env);
    }
    for (size_t i = 0; i < o->n_env; i++)
        json_object_array_add(env, json_object_new_string(o->env[i]));
    if (o->cwd)
        json_object_object_add(process, "cwd", json_object_new_string(o->cwd));
    if (o->user && (r = set_user(process, o->user, err)) < 0) {
        json_object_put(process);
        return r;
    }
    char **argv_check = NULL;
    const char *cwd = NULL;
    r = lcow_json_get_strv(process, "process", "args", &argv_check, err);
    if (r >= 0)
        r = lcow_json_get_string(process, "process", "cwd", &cwd, err);
    bool ok = argv_check && argv_check[0];
    lcow_strv_freep(&argv_check);
    if (r >= 0 && !ok)
        r = lcow_error_make(err, EINVAL, "process.args must name a program");
    if (r >= 0 && (!cwd || cwd[0] != '/'))
        r = lcow_error_make(err, EINVAL, "process.cwd must be an absolute path");
    if (r < 0) {
        json_object_put(process);
        return r;
    }
    *ret = process;
    return 0;
}

/* Tells the supervisor our terminal's size for a console process. */
static void send_size(const char *dir, int pid)
{
    struct winsize ws;
    if (!isatty(STDIN_FILENO) || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row ||
        !ws.ws_col)
        return;
    cleanup_json struct json_object *req = json_object_new_object();
    json_object_object_add(req, "op", json_object_new_string("resize"));
    json_object_object_add(req, "pid", json_object_new_int(pid));
    json_object_object_add(req, "height", json_object_new_int(ws.ws_row));
    json_object_object_add(req, "width", json_object_new_int(ws.ws_col));
    struct lcow_error *e = NULL;
    (void)rl_ctl_call(dir, req, NULL, 0, 10000, NULL, NULL, &e);
    lcow_error_release(&e);
}

/* Forwards termination signals to the exec'd process while waiting for its exit (and window
 * size changes for a console process). */
static int wait_exit(const char *dir, int fd, int pid, bool tty)
{
    sigset_t set;
    sigemptyset(&set);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    cleanup_close int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return rl_failf("poll: %s", strerror(errno));
        }
        if (p[1].revents) {
            struct signalfd_siginfo si = {0};
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo == SIGWINCH) {
                if (tty)
                    send_size(dir, pid);
            } else if (si.ssi_signo) {
                cleanup_json struct json_object *req = json_object_new_object();
                json_object_object_add(req, "op", json_object_new_string("kill"));
                json_object_object_add(req, "signal", json_object_new_int((int)si.ssi_signo));
                json_object_object_add(req, "pid", json_object_new_int(pid));
                struct lcow_error *e = NULL;
                (void)rl_ctl_call(dir, req, NULL, 0, 10000, NULL, NULL, &e);
                lcow_error_release(&e);
            }
        }
        if (!p[0].revents)
            continue;
        cleanup_json struct json_object *msg = NULL;
        cleanup_error struct lcow_error *err = NULL;
        if (rl_ctl_recv(fd, 0, &msg, NULL, NULL, &err) < 0)
            return rl_failf("lost the supervisor: %s", lcow_error_message(err));
        int32_t code = 255;
        if (lcow_json_field(msg, "exit") && lcow_json_get_int32(msg, "", "exit", &code, NULL) == 0)
            return code;
    }
}

int rl_cmd_exec(struct rl_globals *g, int argc, char **argv)
{
    struct exec_opts o = {0};
    if (parse_exec(argc, argv, &o) != 0)
        return 1;
    if (optind >= argc || (o.process_file && argc - optind != 1) ||
        (!o.process_file && argc - optind < 2))
        return rl_failf("exec needs an id and a command, or -p process.json and an id");
    const char *id = argv[optind];
    cleanup_error struct lcow_error *err = NULL;
    struct rl_state st = {0};
    if (read_state(g, id, &st, &err) < 0)
        return rl_fail(err);
    enum rl_status status = st.status;
    rl_state_done(&st);
    if (status != RL_RUNNING && status != RL_PAUSED)
        return rl_failf("cannot exec in container %s: it is %s", id, rl_status_name(status));
    cleanup_json struct json_object *process = NULL;
    if (build_process(g, id, &o, argv + optind + 1, &process, &err) < 0)
        return rl_fail(err);
    cleanup_free char *dir = rl_dir(g, id);
    cleanup_json struct json_object *req = json_object_new_object();
    json_object_object_add(req, "op", json_object_new_string("exec"));
    json_object_object_add(req, "process", json_object_get(process));
    /* --console-socket (runlcow2_console.c): a host pty's slave is the process's stdio. */
    cleanup_close int slave = -1;
    if (o.console_socket) {
        struct json_object *t = NULL;
        if (!json_object_object_get_ex(process, "terminal", &t) || !json_object_get_boolean(t))
            return rl_failf("--console-socket needs a terminal (-t or process.terminal)");
        if (rl2_console_socket_send(o.console_socket, &slave, &err) < 0)
            return rl_fail(err);
    }
    const int fds[3] = {slave >= 0 ? slave : STDIN_FILENO, slave >= 0 ? slave : STDOUT_FILENO,
                        slave >= 0 ? slave : STDERR_FILENO};
    int fd = -1;
    cleanup_json struct json_object *reply = NULL;
    if (rl_ctl_call(dir, req, fds, 3, 120000, &fd, &reply, &err) < 0)
        return rl_fail(err);
    int32_t pid = 0;
    (void)lcow_json_get_int32(reply, "", "pid", &pid, NULL);
    if (!o.detach) {
        if (o.pid_file && rl_write_pid_file(o.pid_file, getpid(), &err) < 0) {
            close(fd);
            return rl_fail(err);
        }
        /* With a console the remote pty does the line discipline: ours goes raw meanwhile. */
        struct termios saved;
        bool raw = o.tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        if (raw) {
            struct termios t = saved;
            cfmakeraw(&t);
            raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
        }
        if (o.tty)
            send_size(dir, pid);
        int code = wait_exit(dir, fd, pid, o.tty);
        if (raw)
            (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        close(fd);
        return code;
    }
    /* -d: a small host process keeps the connection and exits with the process's code. */
    pid_t child = fork();
    if (child < 0) {
        close(fd);
        return rl_failf("fork: %s", strerror(errno));
    }
    if (child == 0) {
        (void)setsid();
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; i < 3 && devnull >= 0; i++)
            dup2(devnull, i);
        /* Nothing else the caller gave us stays open (it may wait for EOF on it). */
        if (fd != 3 && (dup3(fd, 3, O_CLOEXEC) < 0 || close(fd) < 0))
            _exit(1);
        (void)sys_close_range(4, ~0U, 0);
        _exit(wait_exit(dir, 3, pid, false));
    }
    close(fd);
    if (o.pid_file && rl_write_pid_file(o.pid_file, child, &err) < 0)
        return rl_fail(err);
    return 0;
}
