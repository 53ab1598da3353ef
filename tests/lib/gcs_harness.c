/* The integration tests' gcs-over-unix harness: see gcs_harness.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "tests/lib/gcs_harness.h"

int gh_init(struct gcs_harness *h, const char *name)
{
    memset(h, 0, sizeof(*h));
    h->gcs = -1;
    char dir[sizeof(h->dir)];
    snprintf(dir, sizeof(dir), "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(dir))
        return -errno;
    memcpy(h->dir, dir, sizeof(dir)); /* set only once it exists: gh_teardown removes it */
    snprintf(h->addr, sizeof(h->addr), "unix:%s/b", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/gcs.log", h->dir);
    snprintf(h->rootfs, sizeof(h->rootfs), "%s/rootfs", h->dir);
    snprintf(h->devroot, sizeof(h->devroot), "%s/dev", h->dir);
    /* pid and clock: two runs (or a leftover of a killed one) never share a cgroup. */
    snprintf(h->cgroot, sizeof(h->cgroot), "/%s-%d-%ld", name, (int)getpid(),
             (long)(lcow_now_ns() % 1000000));
    return 0;
}

void gh_bin_path(char *buf, size_t cap, const char *name)
{
    const char *top = getenv("LCOW_TOP"), *build = getenv("BUILD");
    snprintf(buf, cap, "%s/%s/bin/%s", top ? top : ".", build && build[0] ? build : "build", name);
}

void gh_gcs_bin(char *buf, size_t cap)
{
    const char *env = getenv("LCOW_GCS");
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (env || n <= 0) {
        snprintf(buf, cap, "%s", env ? env : "gcs");
        return;
    }
    self[n] = '\0';
    for (int i = 0; i < 2; i++) { /* $BUILD/tests/NAME -> $BUILD */
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(buf, cap, "%s/bin/gcs", self);
}

static pid_t spawn(const char *const *argv, int in, int out, unsigned long nofile)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* Even if the test is killed (timeout), its gcs does not outlive it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (in >= 0)
            dup2(in, 0);
        if (out >= 0)
            dup2(out, 1);
        struct rlimit rl;
        if (nofile && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = nofile < rl.rlim_max ? nofile : rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

pid_t gh_spawn(const char *const *argv, int in, int out)
{
    return spawn(argv, in, out, 0);
}

int gh_start(struct gcs_harness *h, const char *const *argv, bool negotiate, int timeout_ms,
             struct lcow_error **err)
{
    int r = host_bridge_listen(h->addr, &h->b, err);
    if (r < 0)
        return r;
    pid_t pid = spawn(argv, -1, -1, h->nofile);
    if (pid < 0)
        return lcow_error_make(err, (int)-pid, "fork for `%s`", argv[0]);
    h->gcs = pid;
    r = host_bridge_accept(h->b, timeout_ms, err);
    if (r == 0 && negotiate)
        r = host_bridge_negotiate(h->b, timeout_ms, err);
    return r;
}

int gh_start_gcs(struct gcs_harness *h, const char *const *wrapper, const char *const *extra,
                 int timeout_ms, struct lcow_error **err)
{
    char bin[PATH_MAX];
    gh_gcs_bin(bin, sizeof(bin));
    const char *const base[] = {bin,
                                "-v4",
                                "-log-format=json",
                                "-loglevel",
                                "debug",
                                "-logfile",
                                h->log,
                                "-bridge",
                                h->addr,
                                "-cgroup-root",
                                h->cgroot,
                                "-dev-root",
                                h->devroot,
                                "-gcs-mem-limit-bytes",
                                "4096",
                                "-disable-time-sync"};
    const char *argv[64];
    size_t n = 0;
    for (size_t i = 0; wrapper && wrapper[i] && n < 24; i++)
        argv[n++] = wrapper[i];
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        argv[n++] = base[i];
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n == sizeof(argv) / sizeof(argv[0]) - 1)
            return lcow_error_make(err, E2BIG, "gcs command line: too many arguments");
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    return gh_start(h, argv, true, timeout_ms, err);
}

int gh_terminate(struct gcs_harness *h, int timeout_ms)
{
    int status = -1;
    if (h->gcs <= 0)
        return -1;
    kill(h->gcs, SIGTERM);
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (waitpid(h->gcs, &status, WNOHANG) == h->gcs) {
            h->gcs = -1;
            return status;
        }
        usleep(10 * 1000);
    }
    kill(h->gcs, SIGKILL);
    waitpid(h->gcs, NULL, 0);
    h->gcs = -1;
    return -1;
}

static int write_text(const char *path, const char *text)
{
    return lcow_write_file(path, text, strlen(text), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
}

static int make_dirs(const char *root)
{
    static const char *const dirs[] = {"bin", "etc", "proc", "dev", "tmp", "shared"};
    char p[512];
    if (mkdir(root, 0755) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        if (mkdir(p, 0755) < 0)
            return -errno;
    }
    return 0;
}

static int make_etc(const char *root)
{
    static const char *const empty[] = {"hostname", "hosts", "resolv.conf"};
    char p[512];
    int r;
    snprintf(p, sizeof(p), "%s/etc/passwd", root);
    r = write_text(p, "root:x:0:0:root:/root:/bin/sh\nguest:x:1234:2345:guest:/tmp:/bin/sh\n");
    if (r < 0)
        return r;
    snprintf(p, sizeof(p), "%s/etc/group", root);
    r = write_text(p, "root:x:0:\nguests:x:2345:\nother:x:3456:\n");
    for (size_t i = 0; r == 0 && i < sizeof(empty) / sizeof(empty[0]); i++) {
        snprintf(p, sizeof(p), "%s/etc/%s", root, empty[i]);
        r = write_text(p, "");
    }
    return r;
}

int gh_make_rootfs(const char *root, const char *const *applets)
{
    char p[512];
    int r = make_dirs(root);
    if (r < 0)
        return r;
    cleanup_free char *bb = NULL;
    size_t len = 0;
    r = lcow_read_file("/bin/busybox", 64u << 20, &bb, &len, NULL);
    if (r < 0)
        return r;
    snprintf(p, sizeof(p), "%s/bin/busybox", root);
    r = lcow_write_file(p, bb, len, O_WRONLY | O_CREAT | O_TRUNC, 0755, NULL);
    if (r < 0)
        return r;
    for (; *applets; applets++) {
        snprintf(p, sizeof(p), "%s/bin/%s", root, *applets);
        if (symlink("busybox", p) < 0)
            return -errno;
    }
    return make_etc(root);
}

int gh_make_devroot(struct gcs_harness *h)
{
    static const struct {
        const char *name;
        unsigned minor;
    } nodes[] = {{"fakezero", 5}, {"fakenull", 3}};
    char p[160];
    if (mkdir(h->devroot, 0755) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", h->devroot, nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(1, nodes[i].minor)) < 0)
            return -errno;
    }
    return 0;
}

void gh_stop(struct gcs_harness *h)
{
    if (h->gcs > 0) {
        kill(h->gcs, SIGKILL);
        waitpid(h->gcs, NULL, 0);
    }
    h->gcs = -1;
    host_bridge_free(h->b);
    h->b = NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)st;
    (void)w;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Kills what is left in the cgroup at path: container inits outlive a gcs that was killed
 * (they are re-parented), and a cgroup with processes cannot be removed. */
static void kill_members(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/cgroup.procs", path);
    for (int round = 0; round < 50; round++) {
        cleanup_free char *procs = NULL;
        if (lcow_read_file(p, 4u << 20, &procs, NULL, NULL) < 0 || !procs[0])
            return;
        for (char *s = procs, *end; *s; s = end) {
            long pid = strtol(s, &end, 10);
            if (end == s)
                break;
            if (pid > 1)
                kill((pid_t)pid, SIGKILL);
        }
        usleep(10 * 1000);
    }
}

/* cgroup dirs hold no files one can unlink: plain rmdir in post-order, members killed first. */
static int rm_cgroup(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)st;
    (void)w;
    if (flag == FTW_DP) {
        kill_members(path);
        for (int i = 0; i < 50 && rmdir(path) < 0 && errno == EBUSY; i++)
            usleep(10 * 1000); /* a killed member is not gone from the cgroup at once */
    }
    return 0;
}

void gh_remove_cgroups(const char *cgroot)
{
    /* Never a hierarchy's root: a fixture without a cgroot (or a failed gh_init) has "". */
    if (cgroot[0] != '/' || !cgroot[1] || strchr(cgroot, '.'))
        return;
    cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", de->d_name, cgroot);
        if (de->d_name[0] != '.' && stat(p, &st) == 0)
            nftw(p, rm_cgroup, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* Deepest first, so that stacked mounts come off one by one (a failed test may leave sandbox
 * mounts behind). */
void gh_unmount_under(const char *dir)
{
    for (int i = 0; i < 8192; i++) { /* a failed test at a limit may leave thousands */
        cleanup_free char *mi = NULL;
        if (lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, NULL) < 0)
            return;
        char best[512] = "";
        char *save = NULL;
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char mp[512];
            if (sscanf(l, "%*s %*s %*s %*s %511s", mp) == 1 && strncmp(mp, dir, strlen(dir)) == 0 &&
                strlen(mp) > strlen(best))
                snprintf(best, sizeof(best), "%s", mp);
        }
        if (!best[0] || umount2(best, MNT_DETACH) < 0)
            return;
    }
}

void gh_remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

ssize_t gh_read_all(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    ssize_t r = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) != 1) {
            r = -ETIMEDOUT;
            break;
        }
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == cap - 1)
            break;
    }
    buf[n] = '\0';
    close(fd);
    return r < 0 ? r : (ssize_t)n;
}

void gh_teardown(struct gcs_harness *h)
{
    gh_stop(h);
    if (!h->dir[0])
        return; /* gh_init did not make the tree: nothing of ours to remove */
    /* Container inits re-parented to gcs die with their pid namespace: give them a moment
     * before their cgroups go. */
    usleep(100 * 1000);
    gh_unmount_under(h->dir);
    gh_remove_cgroups(h->cgroot);
    gh_remove_tree(h->dir);
}

/* ---- footprint ------------------------------------------------------------------------------ */

int gh_gcs_fds(const struct gcs_harness *h)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/fd", (int)h->gcs);
    cleanup_dir DIR *d = opendir(p);
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    return n;
}

long gh_gcs_rss_kib(const struct gcs_harness *h)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)h->gcs);
    cleanup_free char *st = NULL;
    int r = lcow_read_file(p, 1u << 20, &st, NULL, NULL);
    if (r < 0)
        return r;
    const char *v = strstr(st, "VmRSS:");
    return v ? strtol(v + 6, NULL, 10) : -ENOENT;
}

/* Lines of mountinfo naming dir anywhere (mount point, root or source). */
int gh_mounts_under(const char *dir)
{
    cleanup_free char *mi = NULL;
    int r = lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, NULL);
    if (r < 0)
        return r;
    int n = 0;
    char *save = NULL;
    for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        n += strstr(l, dir) != NULL;
    return n;
}

static int cg_count;
static int count_dir(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)path;
    (void)st;
    (void)w;
    cg_count += flag == FTW_D || flag == FTW_DP;
    return 0;
}

int gh_cgroups_under(const struct gcs_harness *h)
{
    char p[256];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s", h->cgroot);
    cg_count = 0;
    if (nftw(p, count_dir, 16, FTW_PHYS) < 0 && errno != ENOENT)
        return -errno;
    return cg_count;
}

/* ---- requests ------------------------------------------------------------------------------- */

struct json_object *gh_strv(const char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (; *v; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

struct json_object *gh_oci_process(const char *const *args, const char *const *env, bool tty)
{
    static const char *const path_only[] = {"PATH=/bin", NULL};
    struct json_object *p = json_object_new_object(), *u = json_object_new_object();
    json_object_object_add(p, "terminal", json_object_new_boolean(tty));
    json_object_object_add(u, "uid", json_object_new_int(0));
    json_object_object_add(u, "gid", json_object_new_int(0));
    json_object_object_add(p, "user", u);
    json_object_object_add(p, "args", gh_strv(args));
    json_object_object_add(p, "env", gh_strv(env ? env : path_only));
    json_object_object_add(p, "cwd", json_object_new_string("/"));
    return p;
}

void gh_add_mount(struct json_object *spec, const char *dst, const char *type, const char *src,
                  const char *const *options)
{
    struct json_object *mounts = lcow_json_field(spec, "mounts");
    if (!mounts) {
        mounts = json_object_new_array();
        json_object_object_add(spec, "mounts", mounts);
    }
    struct json_object *m = json_object_new_object();
    json_object_object_add(m, "destination", json_object_new_string(dst));
    json_object_object_add(m, "type", json_object_new_string(type));
    json_object_object_add(m, "source", json_object_new_string(src));
    if (options)
        json_object_object_add(m, "options", gh_strv(options));
    json_object_array_add(mounts, m);
}

struct json_object *gh_base_spec(const struct gcs_harness *h, const char *const *args, bool tty)
{
    static const char *const kinds[] = {"pid", "mount", "ipc", "uts"};
    static const char *const pts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", NULL};
    struct json_object *s = json_object_new_object(), *root = json_object_new_object();
    json_object_object_add(s, "ociVersion", json_object_new_string("1.0.2"));
    json_object_object_add(s, "process", gh_oci_process(args, NULL, tty));
    json_object_object_add(root, "path", json_object_new_string(h->rootfs));
    json_object_object_add(root, "readonly", json_object_new_boolean(1));
    json_object_object_add(s, "root", root);
    gh_add_mount(s, "/proc", "proc", "proc", NULL);
    gh_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    gh_add_mount(s, "/dev/pts", "devpts", "devpts", pts);
    struct json_object *lx = json_object_new_object(), *ns = json_object_new_array();
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct json_object *n = json_object_new_object();
        json_object_object_add(n, "type", json_object_new_string(kinds[i]));
        json_object_array_add(ns, n);
    }
    json_object_object_add(lx, "namespaces", ns);
    json_object_object_add(s, "linux", lx);
    return s;
}

void gh_bundle_of(const struct gcs_harness *h, const char *cid, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/c/%s", h->dir, cid);
}

char *gh_create_payload(const struct gcs_harness *h, const char *cid, struct json_object *spec)
{
    char bundle[256];
    gh_bundle_of(h, cid, bundle, sizeof(bundle));
    return gh_create_payload_at(cid, bundle, spec);
}

char *gh_create_payload_at(const char *cid, const char *bundle, struct json_object *spec)
{
    struct json_object *cfg = json_object_new_object(), *sv = json_object_new_object();
    json_object_object_add(sv, "Major", json_object_new_int(2));
    json_object_object_add(sv, "Minor", json_object_new_int(1));
    json_object_object_add(cfg, "SchemaVersion", sv);
    json_object_object_add(cfg, "OciBundlePath", json_object_new_string(bundle));
    json_object_object_add(cfg, "OciSpecification", spec);
    struct json_object *req = json_object_new_object();
    json_object_object_add(req, "ContainerId", json_object_new_string(cid));
    json_object_object_add(req, "ActivityId", json_object_new_string(GH_AID));
    json_object_object_add(
        req, "ContainerConfig",
        json_object_new_string(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)));
    char *out = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    json_object_put(cfg);
    return out;
}

int gh_call(struct gcs_harness *h, uint32_t type, const char *payload, int timeout_ms,
            int32_t *ret_hr, char **ret_payload, char **ret_error, struct lcow_error **err)
{
    struct host_message m = {0};
    int r = host_bridge_call(h->b, type, payload, timeout_ms, &m, err);
    char *emsg = NULL;
    if (r == 0)
        r = host_message_result(&m, ret_hr, &emsg, err);
    if (r == 0 && ret_payload && !(*ret_payload = strdup(m.payload)))
        r = -ENOMEM;
    if (r == 0 && ret_error && !emsg && !(emsg = strdup("")))
        r = -ENOMEM;
    if (r == 0 && ret_error)
        *ret_error = steal_pointer(&emsg);
    free(emsg);
    host_message_done(&m);
    return r;
}

/* The ExecuteProcess payload (proc taken) for the ports asked for. */
static int execute_payload(const char *cid, struct json_object *proc, const bool std[3],
                           const uint32_t ports[3], char **ret, struct lcow_error **err)
{
    struct gcs_execute_process_request q = {
        .base = {.container_id = (char *)cid, .activity_id = (char *)GCS_ZERO_GUID},
        .params = {.command_line = (char *)"",
                   .working_directory = (char *)"",
                   .create_std_in_pipe = std[0],
                   .create_std_out_pipe = std[1],
                   .create_std_err_pipe = std[2],
                   .oci_process = proc},
        .relay = {ports[0], ports[1], ports[2]},
    };
    int r = gcs_encode_execute_process_request(&q, ret, err);
    json_object_put(proc);
    return r;
}

int gh_execute(struct gcs_harness *h, const char *cid, struct json_object *proc, const bool std[3],
               int timeout_ms, struct host_process *ret, int32_t *ret_hr, char **ret_error,
               struct lcow_error **err)
{
    uint32_t ports[3] = {0};
    int lfd[3] = {-1, -1, -1}, r = 0;
    *ret = (struct host_process){.fd = {-1, -1, -1}};
    for (int i = 0; i < 3 && r == 0; i++)
        if (std[i] && (lfd[i] = host_bridge_stdio_listen(h->b, &ports[i], err)) < 0)
            r = lfd[i];
    cleanup_free char *payload = NULL, *resp = NULL;
    if (r == 0)
        r = execute_payload(cid, proc, std, ports, &payload, err);
    else
        json_object_put(proc);
    if (r == 0)
        r = gh_call(h, GCS_MSG_EXECUTE_PROCESS, payload, timeout_ms, ret_hr, &resp, ret_error, err);
    if (r == 0 && *ret_hr == 0) {
        struct gcs_execute_process_response x = {0};
        r = gcs_decode_execute_process_response(resp, strlen(resp), &x, err);
        ret->pid = x.process_id;
        gcs_execute_process_response_done(&x);
    }
    for (int i = 0; i < 3; i++) {
        if (lfd[i] < 0)
            continue;
        if (r < 0 || *ret_hr != 0) {
            close(lfd[i]);
            continue;
        }
        int fd = host_stdio_accept(lfd[i], timeout_ms, err); /* closes the listener */
        if (fd < 0)
            r = fd;
        else
            ret->fd[i] = fd;
    }
    if (r < 0)
        host_process_close(ret);
    return r;
}
