/* runlcow create / run / start. create and run -d fork the container's supervisor (its own
 * session, holding the caller's stdio for the container) and wait until it reports the
 * container created (or started); run without -d is the supervisor itself, so its exit
 * status is the container's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "host/runlcow.h"
#include "host/runlcow2.h"

#define READY_MAX 4096

struct create_opts {
    const char *bundle;
    const char *pid_file;
    const char *console_socket;
    const char *host; /* runhcs's --host: run in that container's UVM */
    bool detach;
};

static int parse_create(int argc, char **argv, bool run, struct create_opts *o, const char **ret_id)
{
    enum { O_PID = 256, O_CONSOLE, O_NOOP, O_PRESERVE, O_HOST };
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"pid-file", required_argument, NULL, O_PID},
        {"detach", no_argument, NULL, 'd'},
        {"console-socket", required_argument, NULL, O_CONSOLE},
        {"no-pivot", no_argument, NULL, O_NOOP},
        {"no-new-keyring", no_argument, NULL, O_NOOP},
        {"preserve-fds", required_argument, NULL, O_PRESERVE},
        {"host", required_argument, NULL, O_HOST},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, run ? "b:d" : "b:", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->bundle = optarg;
            break;
        case 'd':
            o->detach = true;
            break;
        case O_PID:
            o->pid_file = optarg;
            break;
        case O_CONSOLE:
            o->console_socket = optarg;
            break;
        case O_PRESERVE:
            if (strcmp(optarg, "0") != 0)
                return rl_failf("--preserve-fds is not supported (no host fds reach the UVM)");
            break;
        case O_HOST:
            o->host = optarg;
            break;
        case O_NOOP:
            break;
        default:
            return rl_failf("usage: runlcow %s [--bundle DIR] [--pid-file FILE] [--host ID]%s ID",
                            argv[0], run ? " [-d]" : "");
        }
    }
    if (optind != argc - 1)
        return rl_failf("%s needs exactly one container id", argv[0]);
    *ret_id = argv[optind];
    return 0;
}

/* config.json must name a process to run and a rootfs directory that exists. */
static int load_bundle(const char *bundle, struct json_object **ret, struct lcow_error **err)
{
    cleanup_free char *path = NULL, *buf = NULL;
    size_t len = 0;
    if (asprintf(&path, "%s/config.json", bundle) < 0)
        return lcow_error_make(err, ENOMEM, "path");
    int r = lcow_read_file(path, 16 << 20, &buf, &len, err);
    if (r < 0)
        return lcow_error_wrap(err, "bundle `%s`", bundle);
    cleanup_json struct json_object *spec = NULL;
    if ((r = lcow_json_parse(buf, len, "config.json", &spec, err)) < 0)
        return r;
    if (!json_object_is_type(spec, json_type_object))
        return lcow_error_make(err, EINVAL, "config.json: not an object");
    struct json_object *process = NULL, *root = NULL;
    char **args = NULL;
    const char *root_path = NULL;
    if ((r = lcow_json_get_object(spec, "", "process", &process, err)) < 0 ||
        (r = lcow_json_get_strv(process, "process", "args", &args, err)) < 0 ||
        (r = lcow_json_get_object(spec, "", "root", &root, err)) < 0 ||
        (r = lcow_json_get_string(root, "root", "path", &root_path, err)) < 0)
        return r;
    bool has_args = args && args[0];
    lcow_strv_freep(&args);
    if (!process || !has_args)
        return lcow_error_make(err, EINVAL, "config.json: process.args must name a program");
    if (!root_path || !*root_path)
        return lcow_error_make(err, EINVAL, "config.json: root.path is missing");
    cleanup_free char *rootfs = NULL;
    if (root_path[0] == '/')
        rootfs = strdup(root_path);
    else if (asprintf(&rootfs, "%s/%s", bundle, root_path) < 0)
        rootfs = NULL;
    struct stat st;
    if (!rootfs || stat(rootfs, &st) < 0)
        return lcow_error_errno(err, "config.json: root.path `%s`", root_path);
    if (!S_ISDIR(st.st_mode))
        return lcow_error_make(err, ENOTDIR, "config.json: root.path `%s` is not a directory",
                               root_path);
    *ret = steal_pointer(&spec);
    return 0;
}

/* The guest's stdio ports are Unix sockets named <root>/<id>/v_<port>. */
static int check_paths(const struct rl_globals *g, const char *id, struct lcow_error **err)
{
    if (strlen(g->root) + 1 + strlen(id) + sizeof("/v_4294967295") > 96)
        return lcow_error_make(err, ENAMETOOLONG,
                               "--root `%s` with id `%s` is too long for socket paths", g->root,
                               id);
    return 0;
}

static int keep_config(const struct rl_globals *g, const char *id, struct json_object *spec,
                       struct lcow_error **err)
{
    cleanup_free char *d = rl_dir(g, id), *p = NULL;
    if (!d || asprintf(&p, "%s/config.json", d) < 0)
        return lcow_error_make(err, ENOMEM, "path");
    const char *text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    return lcow_write_file_atomic(p, text, strlen(text), 0600, err);
}

/* The detached supervisor logs to the state directory unless --log says otherwise: its
 * stderr belongs to the container. */
static void detached_log(const struct rl_globals *g, const char *id)
{
    cleanup_free char *d = rl_dir(g, id), *p = NULL;
    if (g->log)
        p = strdup(g->log);
    else if (!d || asprintf(&p, "%s/runlcow.log", d) < 0)
        p = NULL;
    if (!p)
        return;
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0)
        lcow_log_setup(fd, g->debug ? LCOW_LOG_DEBUG : LCOW_LOG_INFO, g->log_json);
    else
        lcow_log_setup(open("/dev/null", O_WRONLY | O_CLOEXEC), LCOW_LOG_ERROR, false);
}

static int spawn_supervisor(struct rl_globals *g, struct rl_super_args *a)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return rl_failf("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return rl_failf("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Only stdio (the container's) and the ready pipe survive: a caller waiting for EOF
         * on some other inherited pipe must not wait for the container too. */
        close(p[0]);
        (void)setsid();
        if (p[1] != 3 && (dup3(p[1], 3, O_CLOEXEC) < 0 || close(p[1]) < 0))
            _exit(1);
        (void)sys_close_range(4, ~0U, 0);
        detached_log(g, a->id);
        a->ready_fd = 3;
        _exit(rl_super_main(g, a));
    }
    close(p[1]);
    char buf[READY_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(p[0], buf + len, READY_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (len += (size_t)n) == READY_MAX)
            break;
    }
    close(p[0]);
    buf[len] = '\0';
    if (strcmp(buf, "OK") == 0)
        return 0;
    /* The supervisor removed what it had made; reap it. */
    (void)waitpid(pid, NULL, 0);
    if (!len) {
        struct lcow_error *e = NULL;
        (void)rl_dir_remove(g, a->id, &e);
        lcow_error_release(&e);
        return rl_failf("the supervisor of %s exited before the container was created", a->id);
    }
    return rl_failf("%s", buf);
}

/* --console-socket (runlcow2_console.c): the master of a host pty goes to the socket, its
 * slave becomes our stdio, which the supervisor relays to the guest's terminal. */
static int console_stdio(struct json_object *spec, const char *path, struct lcow_error **err)
{
    struct json_object *proc = NULL, *t = NULL;
    if (!json_object_object_get_ex(spec, "process", &proc) ||
        !json_object_object_get_ex(proc, "terminal", &t) || !json_object_get_boolean(t))
        return lcow_error_make(err, EINVAL,
                               "--console-socket needs process.terminal true in config.json");
    int slave = -1;
    int r = rl2_console_socket_send(path, &slave, err);
    if (r < 0)
        return r;
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            r = lcow_error_errno(err, "dup2 the console");
    close(slave);
    return r;
}

static int create_or_run(struct rl_globals *g, int argc, char **argv, bool run)
{
    struct create_opts o = {.bundle = "."};
    const char *id = NULL;
    if (parse_create(argc, argv, run, &o, &id) != 0)
        return 1;
    cleanup_error struct lcow_error *err = NULL;
    char bundle[PATH_MAX];
    if (rl_check_id(id, &err) < 0 || check_paths(g, id, &err) < 0)
        return rl_fail(err);
    if (!realpath(o.bundle, bundle))
        return rl_failf("bundle `%s`: %s", o.bundle, strerror(errno));
    cleanup_json struct json_object *spec = NULL;
    if (load_bundle(bundle, &spec, &err) < 0)
        return rl_fail(err);
    /* Pods (runlcow_pod.c): --host or the CRI annotations may place it into a running UVM. */
    cleanup_free char *owner = NULL;
    if (rl_pod_place(g, spec, o.host, &owner, &err) < 0)
        return rl_fail(err);
    /* Everything is checked before the state directory exists. */
    if (rl_dir_create(g, id, &err) < 0)
        return rl_fail(err);
    if (keep_config(g, id, spec, &err) < 0 ||
        (o.console_socket && console_stdio(spec, o.console_socket, &err) < 0)) {
        struct lcow_error *e = NULL;
        (void)rl_dir_remove(g, id, &e);
        lcow_error_release(&e);
        return rl_fail(err);
    }
    struct rl_super_args a = {.id = id,
                              .bundle = bundle,
                              .spec = spec,
                              .start = run,
                              .ready_fd = -1,
                              .foreground = run && !o.detach,
                              .pid_file = o.pid_file,
                              .host = owner};
    if (a.foreground)
        return rl_super_main(g, &a);
    return spawn_supervisor(g, &a);
}

int rl_cmd_create(struct rl_globals *g, int argc, char **argv)
{
    return create_or_run(g, argc, argv, false);
}

int rl_cmd_run(struct rl_globals *g, int argc, char **argv)
{
    return create_or_run(g, argc, argv, true);
}

int rl_cmd_start(struct rl_globals *g, int argc, char **argv)
{
    if (argc != 2)
        return rl_failf("usage: runlcow start ID");
    cleanup_error struct lcow_error *err = NULL;
    struct rl_state st = {0};
    if (rl_check_id(argv[1], &err) < 0 || rl_state_read(g, argv[1], &st, &err) < 0)
        return rl_fail(err);
    enum rl_status status = st.status;
    rl_state_done(&st);
    if (status != RL_CREATED)
        return rl_failf("cannot start a container in the %s state", rl_status_name(status));
    cleanup_free char *dir = rl_dir(g, argv[1]);
    cleanup_json struct json_object *req = json_object_new_object();
    json_object_object_add(req, "op", json_object_new_string("start"));
    if (rl_ctl_call(dir, req, NULL, 0, 120000, NULL, NULL, &err) < 0)
        return rl_fail(err);
    return 0;
}
