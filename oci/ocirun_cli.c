/* ocirun's part-2 dispatcher, its option parser (runc's rules: options before and after the
 * container id, repeated list options, --opt=value and -o value), the helpers its verbs
 * share, and the -h texts of every command. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "oci/cgroup.h"
#include "oci/ocirun_ext.h"

const struct ocirun_globals *ocirun_g;

/* ---- errors and logging ---- */

int ocirun_fail(int code, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ocirun_g && ocirun_g->log)
        lcow_log(LCOW_LOG_ERROR, "%s", msg);
    fprintf(stderr, "ocirun: %s\n", msg);
    return code;
}

/* ---- option parsing ---- */

static const struct ocirun_opt *find_opt(const struct ocirun_opt *opts, size_t n, const char *name,
                                         size_t name_len, char short_name, size_t *ret_index)
{
    for (size_t i = 0; i < n; i++) {
        bool hit = short_name ? opts[i].short_name == short_name
                              : strlen(opts[i].name) == name_len &&
                                    strncmp(opts[i].name, name, name_len) == 0;
        if (hit) {
            *ret_index = i;
            return &opts[i];
        }
    }
    return NULL;
}

static int add_value(struct ocirun_args *a, size_t i, const struct ocirun_opt *o, const char *val)
{
    a->set[i] = true;
    if (o->kind == OPT_FLAG) {
        /* --flag=false is how go's flag package clears a boolean. */
        a->set[i] = val == NULL || strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
        return 0;
    }
    a->value[i] = val;
    if (o->kind != OPT_LIST)
        return 0;
    if (a->n_list[i] == OCIRUN_MAX_LIST)
        return -E2BIG;
    const char **l = realloc(a->list[i], (a->n_list[i] + 1) * sizeof(char *));
    if (l == NULL)
        return -ENOMEM;
    a->list[i] = l;
    l[a->n_list[i]++] = val;
    return 0;
}

/* One option at argv[*i]; 0 or 1 (reported). */
static int parse_one(const char *cmd, const struct ocirun_opt *opts, size_t n_opts, int argc,
                     char **argv, int *i, struct ocirun_args *a)
{
    const char *arg = argv[*i];
    bool is_long = arg[1] == '-';
    const char *name = arg + (is_long ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    size_t idx = 0;
    const struct ocirun_opt *o = NULL;
    /* go's flag package: one or two dashes, the same long names; single letters are aliases. */
    if (len == 1)
        o = find_opt(opts, n_opts, NULL, 0, name[0], &idx);
    if (o == NULL)
        o = find_opt(opts, n_opts, name, len, 0, &idx);
    if (o == NULL)
        return ocirun_fail(1, "%s: flag provided but not defined: -%.*s", cmd, (int)len, name);
    const char *val = eq ? eq + 1 : NULL;
    if (o->kind != OPT_FLAG && val == NULL) {
        if (*i + 1 >= argc)
            return ocirun_fail(1, "%s: flag needs an argument: %s", cmd, arg);
        val = argv[++*i];
    }
    int r = add_value(a, idx, o, val);
    if (r < 0)
        return ocirun_fail(1, "%s: %s: %s", cmd, arg, strerror(-r));
    return 0;
}

int ocirun_parse(const char *cmd, const struct ocirun_opt *opts, size_t n_opts, int argc,
                 char **argv, int stop_after, struct ocirun_args *ret)
{
    struct ocirun_args *a = ret;
    memset(a, 0, sizeof(*a));
    if (n_opts > LCOW_ARRAY_SIZE(a->value))
        return ocirun_fail(1, "%s: too many options", cmd);
    a->pos = calloc((size_t)argc + 1, sizeof(char *));
    if (a->pos == NULL)
        return ocirun_fail(1, "%s: out of memory", cmd);
    bool rest = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!rest && strcmp(arg, "--") == 0) {
            rest = true;
            continue;
        }
        if (rest || arg[0] != '-' || arg[1] == '\0') {
            a->pos[a->n_pos++] = argv[i];
            if (stop_after > 0 && a->n_pos >= stop_after)
                rest = true;
            continue;
        }
        if (parse_one(cmd, opts, n_opts, argc, argv, &i, a)) {
            ocirun_args_done(a);
            return 1;
        }
    }
    return 0;
}

void ocirun_args_done(struct ocirun_args *a)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(a->list); i++)
        free(a->list[i]);
    free(a->pos);
    memset(a, 0, sizeof(*a));
}

/* ---- containers ---- */

int ocirun_load(const char *id, struct oci_state *st, char *dir, size_t cap, int fail_code)
{
    cleanup_error struct lcow_error *err = NULL;
    if (oci_state_validate_id(id, &err) < 0 || oci_state_read(ocirun_g->root, id, st, &err) < 0)
        return ocirun_fail(fail_code, "%s", lcow_error_message(err));
    if (oci_state_dir(ocirun_g->root, id, dir, cap) < 0) {
        oci_state_done(st);
        return ocirun_fail(fail_code, "container `%s`: state path too long", id);
    }
    return 0;
}

int ocirun_cgroup_open(const struct oci_state *st, struct oci_cgroup_layout **layout,
                       struct oci_cgroup **cg, struct lcow_error **err)
{
    *layout = NULL;
    *cg = NULL;
    if (st->no_cgroup)
        return lcow_error_make(err, ENOENT, "container `%s` has no cgroup", st->id);
    int r = oci_cgroup_layout_detect(NULL, layout, err);
    if (r < 0)
        return r;
    r = oci_cgroup_open(*layout, st->cgroups_path, st->id, cg, err);
    if (r < 0)
        *layout = oci_cgroup_layout_free(*layout);
    return r;
}

void ocirun_cgroup_close(struct oci_cgroup_layout *layout, struct oci_cgroup *cg)
{
    oci_cgroup_free(cg);
    oci_cgroup_layout_free(layout);
}

const char *ocirun_status(const char *dir, const struct oci_state *st, bool *ret_paused)
{
    /* state.c reports a frozen created/running container as paused. */
    enum oci_status s = oci_state_status(dir, st);
    if (ret_paused)
        *ret_paused = s == OCI_STATUS_PAUSED;
    return oci_status_name(s);
}

int ocirun_write_pid_file(const char *path, pid_t pid, struct lcow_error **err)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    return lcow_write_file_atomic(path, buf, (size_t)n, 0644, err);
}

/* ---- help ---- */

struct help {
    const char *cmd;
    const char *usage;
    const char *text;
};

static const struct help helps[] = {
    {"create", "create [command options] <container-id>",
     "Create a container: the init waits, before exec, for `start`.\n\n"
     "   --bundle value, -b value  path to the root of the bundle directory\n"
     "   --console-socket value    AF_UNIX socket that receives the pty master\n"
     "   --pid-file value          file to write the process id to\n"
     "   --no-pivot                do not use pivot_root (MS_MOVE + chroot)\n"
     "   --no-new-keyring          keep the caller's session keyring\n"
     "   --preserve-fds value      pass N additional file descriptors (3 .. 3+N-1)\n"},
    {"start", "start <container-id>", "Execute the user-defined process of a created container.\n"},
    {"run", "run [command options] <container-id>",
     "Create and start a container.\n\n"
     "   --bundle value, -b value  path to the root of the bundle directory\n"
     "   --console-socket value    AF_UNIX socket that receives the pty master\n"
     "   --detach, -d              detach from the container's process\n"
     "   --pid-file value          file to write the process id to\n"
     "   --no-pivot, --no-new-keyring, --preserve-fds value\n"},
    {"state", "state <container-id>", "Output the state of a container (JSON).\n"},
    {"kill", "kill [command options] <container-id> [signal]",
     "Send a signal (default SIGTERM) to the container's init.\n\n"
     "   --all, -a  send the signal to all processes in the container\n"},
    {"delete", "delete [command options] <container-id>",
     "Delete a container and its resources.\n\n"
     "   --force, -f  forcibly delete a running container (SIGKILL)\n"},
    {"list", "list [command options]",
     "List containers started by ocirun with the given root.\n\n"
     "   --format value, -f value  table or json (default: table)\n"
     "   --quiet, -q               display only container IDs\n"},
    {"spec", "spec [command options]",
     "Create a new specification file (config.json).\n\n"
     "   --bundle value, -b value  path to the root of the bundle directory\n"},
    {"exec",
     "exec [command options] <container-id> <command> [command options]  ||  -p process.json "
     "<container-id>",
     "Execute a new process inside the container.\n\n"
     "   --console-socket value       AF_UNIX socket that receives the pty master\n"
     "   --cwd value                  current working directory in the container\n"
     "   --env value, -e value        set environment variables (repeatable)\n"
     "   --tty, -t                    allocate a pseudo-TTY\n"
     "   --user value, -u value       UID (format: <uid>[:<gid>])\n"
     "   --additional-gids value, -g value  additional gids (repeatable)\n"
     "   --process value, -p value    path to the process.json\n"
     "   --detach, -d                 detach from the container's process\n"
     "   --pid-file value             file to write the process id to\n"
     "   --no-new-privs               set the no new privileges value for the process\n"
     "   --cap value, -c value        add a capability to the bounding set (repeatable)\n"
     "   --preserve-fds value         pass N additional file descriptors\n"
     "   --ignore-paused              allow exec in a paused container\n"},
    {"pause", "pause <container-id>", "Suspend all processes inside the container (freezer).\n"},
    {"resume", "resume <container-id>", "Resume all processes that were previously paused.\n"},
    {"ps", "ps [command options] <container-id> [ps options]",
     "Display the processes running inside a container.\n\n"
     "   --format value, -f value  table or json (default: table)\n"},
    {"update", "update [command options] <container-id>",
     "Update container resource constraints.\n\n"
     "   --resources value, -r value  path to a LinuxResources JSON file, - for stdin\n"
     "   --blkio-weight value         per cgroup block IO weight (10..1000)\n"
     "   --cpu-period value           CPU CFS period (microseconds)\n"
     "   --cpu-quota value            CPU CFS quota (microseconds)\n"
     "   --cpu-share value            CPU shares (relative weight)\n"
     "   --cpu-rt-period value        CPU realtime period (microseconds)\n"
     "   --cpu-rt-runtime value       CPU realtime runtime (microseconds)\n"
     "   --cpuset-cpus value          CPUs to use\n"
     "   --cpuset-mems value          memory nodes to use\n"
     "   --memory value               memory limit (bytes, or with k/m/g suffix)\n"
     "   --memory-reservation value   memory reservation\n"
     "   --memory-swap value          total memory + swap (-1: unlimited)\n"
     "   --pids-limit value           maximum number of pids (-1: unlimited)\n"},
    {"events", "events [command options] <container-id>",
     "Display container events: OOM notifications and resource statistics.\n\n"
     "   --interval value  statistics interval (default: 5s)\n"
     "   --stats           display the statistics once and exit\n"},
    {"features", "features", "Show the enabled features (JSON, runtime-spec features.md).\n"},
};

static int print_help(const char *cmd)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(helps); i++) {
        if (strcmp(helps[i].cmd, cmd) != 0)
            continue;
        printf("NAME:\n   ocirun %s\n\nUSAGE:\n   ocirun %s\n\nDESCRIPTION:\n   %s", cmd,
               helps[i].usage, helps[i].text);
        return 0;
    }
    return ocirun_fail(1, "no help for `%s`", cmd);
}

/* -h/--help before a `--` or, for exec and ps, before the command's own arguments. */
static bool wants_help(const char *cmd, int argc, char **argv)
{
    bool stops = strcmp(cmd, "exec") == 0 || strcmp(cmd, "ps") == 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
        if (argv[i][0] != '-' && stops)
            return false;
    }
    return false;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} ext_commands[] = {
    {"exec", ocirun_cmd_exec},         {"pause", ocirun_cmd_pause},
    {"resume", ocirun_cmd_resume},     {"ps", ocirun_cmd_ps},
    {"update", ocirun_cmd_update},     {"events", ocirun_cmd_events},
    {"features", ocirun_cmd_features},
};

bool ocirun_ext_dispatch(const struct ocirun_globals *g, const char *cmd, int argc, char **argv,
                         int *ret_code)
{
    ocirun_g = g;
    if (wants_help(cmd, argc, argv)) {
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(helps); i++)
            if (strcmp(helps[i].cmd, cmd) == 0) {
                *ret_code = print_help(cmd);
                return true;
            }
    }
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ext_commands); i++) {
        if (strcmp(ext_commands[i].name, cmd) == 0) {
            *ret_code = ext_commands[i].fn(argc, argv);
            return true;
        }
    }
    return false;
}
