/* runlcow's state directory: <root>/<id>/ holds state.json (written atomically by the
 * supervisor at every change), the control socket, the UVM's sockets and logs and the
 * scratch disk. A status other than stopped whose supervisor is gone reads as stopped. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "host/runlcow.h"

static const char *const status_names[] = {"creating", "created", "running", "stopped", "paused"};

const char *rl_status_name(enum rl_status s)
{
    return (unsigned)s < LCOW_ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

void rl_state_done(struct rl_state *s)
{
    free(s->id);
    free(s->bundle);
    free(s->rootfs);
    free(s->created);
    free(s->host);
    json_object_put(s->annotations);
    memset(s, 0, sizeof(*s));
}

int rl_check_id(const char *id, struct lcow_error **err)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || id[0] == '.')
        return lcow_error_make(err, EINVAL,
                               "invalid container id `%s` (1-64 characters, not "
                               "starting with a dot)",
                               id);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '.';
        if (!ok)
            return lcow_error_make(err, EINVAL,
                                   "invalid container id `%s` (allowed: letters, "
                                   "digits, _ + - .)",
                                   id);
    }
    return 0;
}

char *rl_dir(const struct rl_globals *g, const char *id)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", g->root, id) < 0 ? NULL : p;
}

int rl_dir_create(const struct rl_globals *g, const char *id, struct lcow_error **err)
{
    int r = lcow_mkdir_p(g->root, 0700, err);
    if (r < 0)
        return r;
    cleanup_free char *d = rl_dir(g, id);
    if (!d)
        return lcow_error_make(err, ENOMEM, "state path");
    if (mkdir(d, 0700) < 0) {
        if (errno == EEXIST)
            return lcow_error_make(err, EEXIST, "container %s already exists", id);
        return lcow_error_errno(err, "create `%s`", d);
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int rl_dir_remove(const struct rl_globals *g, const char *id, struct lcow_error **err)
{
    cleanup_free char *d = rl_dir(g, id);
    if (!d)
        return lcow_error_make(err, ENOMEM, "state path");
    if (nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return lcow_error_errno(err, "remove `%s`", d);
    return 0;
}

struct json_object *rl_state_json(const struct rl_state *s)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
    json_object_object_add(o, "id", json_object_new_string(s->id));
    json_object_object_add(o, "pid", json_object_new_int(s->status == RL_STOPPED ? 0 : s->pid));
    json_object_object_add(o, "status", json_object_new_string(rl_status_name(s->status)));
    json_object_object_add(o, "bundle", json_object_new_string(s->bundle ? s->bundle : ""));
    json_object_object_add(o, "rootfs", json_object_new_string(s->rootfs ? s->rootfs : ""));
    json_object_object_add(o, "created", json_object_new_string(s->created ? s->created : ""));
    if (s->annotations)
        json_object_object_add(o, "annotations", json_object_get(s->annotations));
    json_object_object_add(o, "owner", json_object_new_string(""));
    return o;
}

int rl_state_write(const struct rl_globals *g, const struct rl_state *s, struct lcow_error **err)
{
    cleanup_json struct json_object *o = rl_state_json(s);
    /* What `state` does not print but runlcow needs. */
    json_object_object_add(o, "pid", json_object_new_int(s->pid));
    json_object_object_add(o, "runlcowExitCode", json_object_new_int(s->exit_code));
    json_object_object_add(o, "runlcowQemuPid", json_object_new_int(s->qemu_pid));
    json_object_object_add(o, "runlcowBackendPid", json_object_new_int(s->backend_pid));
    if (s->host)
        json_object_object_add(o, "runlcowHost", json_object_new_string(s->host));
    json_object_object_add(o, "runlcowHosted", json_object_new_int((int)s->hosted));
    cleanup_free char *d = rl_dir(g, s->id), *p = NULL;
    if (!d || asprintf(&p, "%s/state.json", d) < 0)
        return lcow_error_make(err, ENOMEM, "state path");
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return lcow_write_file_atomic(p, text, strlen(text), 0600, err);
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

int rl_state_read(const struct rl_globals *g, const char *id, struct rl_state *ret,
                  struct lcow_error **err)
{
    cleanup_free char *d = rl_dir(g, id), *p = NULL, *buf = NULL;
    size_t len = 0;
    if (!d || asprintf(&p, "%s/state.json", d) < 0)
        return lcow_error_make(err, ENOMEM, "state path");
    int r = lcow_read_file(p, 1 << 20, &buf, &len, err);
    if (r == -ENOENT) {
        lcow_error_release(err);
        return lcow_error_make(err, ENOENT, "container %s does not exist", id);
    }
    if (r < 0)
        return r;
    cleanup_json struct json_object *o = NULL;
    r = lcow_json_parse(buf, len, "state.json", &o, err);
    if (r < 0)
        return r;
    const char *st = "", *bundle = "", *rootfs = "", *created = "", *host = NULL;
    int32_t pid = 0, code = -1, qpid = 0, bpid = 0, hosted = 0;
    struct json_object *ann = NULL;
    if ((r = lcow_json_get_string(o, "", "status", &st, err)) < 0 ||
        (r = lcow_json_get_string(o, "", "bundle", &bundle, err)) < 0 ||
        (r = lcow_json_get_string(o, "", "rootfs", &rootfs, err)) < 0 ||
        (r = lcow_json_get_string(o, "", "created", &created, err)) < 0 ||
        (r = lcow_json_get_int32(o, "", "pid", &pid, err)) < 0 ||
        (r = lcow_json_get_int32(o, "", "runlcowExitCode", &code, err)) < 0 ||
        (r = lcow_json_get_int32(o, "", "runlcowQemuPid", &qpid, err)) < 0 ||
        (r = lcow_json_get_int32(o, "", "runlcowBackendPid", &bpid, err)) < 0 ||
        (r = lcow_json_get_object(o, "", "annotations", &ann, err)) < 0 ||
        (r = lcow_json_get_string(o, "", "runlcowHost", &host, err)) < 0 ||
        (r = lcow_json_get_int32(o, "", "runlcowHosted", &hosted, err)) < 0)
        return r;
    struct rl_state s = {
        .pid = pid, .exit_code = code, .qemu_pid = qpid, .backend_pid = bpid, .status = RL_STOPPED};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(status_names); i++)
        if (strcmp(st, status_names[i]) == 0)
            s.status = (enum rl_status)i;
    if (s.status != RL_STOPPED && !pid_alive(s.pid))
        s.status = RL_STOPPED;
    s.id = strdup(id);
    s.bundle = strdup(bundle);
    s.rootfs = strdup(rootfs);
    s.created = strdup(created);
    s.annotations = ann ? json_object_get(ann) : NULL;
    s.host = host ? strdup(host) : NULL;
    s.hosted = hosted > 0 ? (unsigned)hosted : 0;
    if (!s.id || !s.bundle || !s.rootfs || !s.created || (host && !s.host)) {
        rl_state_done(&s);
        return lcow_error_make(err, ENOMEM, "state");
    }
    *ret = s;
    return 0;
}

int rl_write_pid_file(const char *path, pid_t pid, struct lcow_error **err)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    return lcow_write_file_atomic(path, buf, (size_t)n, 0644, err);
}
