/* Shared fixture of the hardening and wire-replay tests: see hardening_lib.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/hardening_lib.h"

const char *hl_gcs_bin(void)
{
    static char bin[PATH_MAX + 16];
    if (bin[0])
        return bin;
    const char *env = getenv("LCOW_GCS");
    if (env) {
        snprintf(bin, sizeof(bin), "%s", env);
        return bin;
    }
    /* $BUILD/tests/NAME -> $BUILD/bin/gcs */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(bin, sizeof(bin), "%s/bin/gcs", self);
    return bin;
}

void hl_write_text(const char *path, const char *text)
{
    assert_int_equal(
        lcow_write_file(path, text, strlen(text), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL), 0);
}

void hl_make_rootfs(const char *root)
{
    static const char *const applets[] = {"sh",   "echo", "cat", "sleep", "true", "false", "ls",
                                          "grep", "dd",   "id",  "head",  "wc",   "yes",   "ps"};
    static const char *const dirs[] = {"bin", "etc", "proc", "dev", "tmp", "root"};
    char p[512];
    assert_int_equal(lcow_mkdir_p(root, 0755, NULL), 0);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    cleanup_free char *bb = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file("/bin/busybox", 64u << 20, &bb, &len, NULL), 0);
    snprintf(p, sizeof(p), "%s/bin/busybox", root);
    assert_int_equal(lcow_write_file(p, bb, len, O_WRONLY | O_CREAT | O_TRUNC, 0755, NULL), 0);
    for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
        snprintf(p, sizeof(p), "%s/bin/%s", root, applets[i]);
        assert_int_equal(symlink("busybox", p), 0);
    }
    snprintf(p, sizeof(p), "%s/etc/passwd", root);
    hl_write_text(p, "root:x:0:0:root:/root:/bin/sh\n");
    snprintf(p, sizeof(p), "%s/etc/group", root);
    hl_write_text(p, "root:x:0:\n");
    static const char *const etc[] = {"hostname", "hosts", "resolv.conf"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/etc/%s", root, etc[i]);
        hl_write_text(p, "");
    }
}

static pid_t start_gcs(struct hl *h, const char *const *extra, const char *const *wrapper)
{
    const char *argv[64];
    size_t n = 0;
    for (size_t i = 0; wrapper && wrapper[i]; i++)
        argv[n++] = wrapper[i];
    const char *base[] = {hl_gcs_bin(),
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
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        argv[n++] = base[i];
    for (size_t i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
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

static int rm_cgroup(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)st;
    (void)w;
    if (flag == FTW_DP)
        rmdir(path);
    return 0;
}

static void remove_cgroups(const char *name)
{
    cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[512];
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/%s", de->d_name, name);
        struct stat st;
        if (de->d_name[0] != '.' && stat(p, &st) == 0)
            nftw(p, rm_cgroup, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* The deepest mount point whose path starts with dir, or "" when none. */
static void deepest_mount(const char *dir, char *best, size_t cap)
{
    cleanup_free char *mi = NULL;
    best[0] = '\0';
    if (lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, NULL) < 0)
        return;
    char *save = NULL;
    for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char mp[512];
        if (sscanf(l, "%*s %*s %*s %*s %511s", mp) == 1 && strncmp(mp, dir, strlen(dir)) == 0 &&
            strlen(mp) > strlen(best))
            snprintf(best, cap, "%s", mp);
    }
}

int hl_mounts_under(const char *dir)
{
    cleanup_free char *mi = NULL;
    assert_int_equal(lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, NULL), 0);
    int n = 0;
    for (const char *p = mi; (p = strstr(p, dir)); p++)
        n++;
    return n;
}

int hl_stop_gcs(struct hl *h, int timeout_ms)
{
    int status = -1;
    if (h->gcs <= 0)
        return -1;
    kill(h->gcs, SIGTERM);
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (waitpid(h->gcs, &status, WNOHANG) == h->gcs) {
            h->gcs = 0;
            return status;
        }
        usleep(10 * 1000);
    }
    kill(h->gcs, SIGKILL);
    waitpid(h->gcs, &status, 0);
    h->gcs = 0;
    return -1;
}

void hl_teardown(struct hl *h)
{
    if (!h)
        return;
    host_bridge_free(h->b);
    if (h->gcs > 0) {
        kill(h->gcs, SIGKILL);
        waitpid(h->gcs, NULL, 0);
    }
    if (getenv("HL_KEEP_LOG")) {
        cleanup_free char *log = NULL;
        size_t len = 0;
        if (lcow_read_file(h->log, 64u << 20, &log, &len, NULL) == 0)
            lcow_write_file(getenv("HL_KEEP_LOG"), log, len, O_WRONLY | O_CREAT | O_APPEND, 0644,
                            NULL);
    }
    usleep(50 * 1000);
    for (int i = 0; i < 4096; i++) {
        char best[512];
        deepest_mount(h->dir, best, sizeof(best));
        if (!best[0] || umount2(best, MNT_DETACH) < 0)
            break;
    }
    remove_cgroups(h->cgroot + 1);
    nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    free(h);
}

int hl_setup(struct hl **ret, const char *const *extra, const char *const *wrapper)
{
    struct hl *h = calloc(1, sizeof(*h));
    *ret = NULL;
    snprintf(h->dir, sizeof(h->dir), "/tmp/lcow-hard-XXXXXX");
    if (!mkdtemp(h->dir)) {
        free(h);
        return -1;
    }
    snprintf(h->addr, sizeof(h->addr), "unix:%s/b", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/gcs.log", h->dir);
    snprintf(h->rootfs, sizeof(h->rootfs), "%s/rootfs", h->dir);
    snprintf(h->cgroot, sizeof(h->cgroot), "/lcow-hard-%d-%ld", (int)getpid(),
             (long)(lcow_now_ns() % 1000000));
    char c[128];
    snprintf(c, sizeof(c), "%s/c", h->dir);
    mkdir(c, 0755);
    hl_make_rootfs(h->rootfs);
    snprintf(h->devroot, sizeof(h->devroot), "%s/dev", h->dir);
    mkdir(h->devroot, 0755);
    cleanup_error struct lcow_error *err = NULL;
    if (host_bridge_listen(h->addr, &h->b, &err) < 0)
        goto fail;
    h->gcs = start_gcs(h, extra, wrapper);
    /* valgrind needs far longer to start */
    int ms = wrapper ? 4 * HL_MS : HL_MS;
    if (host_bridge_accept(h->b, ms, &err) < 0 || host_bridge_negotiate(h->b, ms, &err) < 0)
        goto fail;
    *ret = h;
    return 0;
fail:
    fprintf(stderr, "setup: %s\n", lcow_error_message(err));
    hl_teardown(h);
    return -1;
}

/* ---- requests ----------------------------------------------------------------------------- */

struct json_object *hl_strv(const char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (; *v; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

struct json_object *hl_oci_process(const char *const *args, bool tty)
{
    struct json_object *p = json_object_new_object();
    static const char *const env[] = {"PATH=/bin", NULL};
    json_object_object_add(p, "terminal", json_object_new_boolean(tty));
    struct json_object *u = json_object_new_object();
    json_object_object_add(u, "uid", json_object_new_int(0));
    json_object_object_add(u, "gid", json_object_new_int(0));
    json_object_object_add(p, "user", u);
    json_object_object_add(p, "args", hl_strv(args));
    json_object_object_add(p, "env", hl_strv(env));
    json_object_object_add(p, "cwd", json_object_new_string("/"));
    return p;
}

void hl_add_mount(struct json_object *spec, const char *dst, const char *type, const char *src,
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
        json_object_object_add(m, "options", hl_strv(options));
    json_object_array_add(mounts, m);
}

struct json_object *hl_base_spec(struct hl *h, const char *const *args)
{
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, "ociVersion", json_object_new_string("1.0.2"));
    json_object_object_add(s, "process", hl_oci_process(args, false));
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "path", json_object_new_string(h->rootfs));
    json_object_object_add(root, "readonly", json_object_new_boolean(1));
    json_object_object_add(s, "root", root);
    hl_add_mount(s, "/proc", "proc", "proc", NULL);
    hl_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    hl_add_mount(s, "/dev/pts", "devpts", "devpts",
                 (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", NULL});
    struct json_object *lx = json_object_new_object(), *ns = json_object_new_array();
    static const char *const kinds[] = {"pid", "mount", "ipc", "uts"};
    for (size_t i = 0; i < 4; i++) {
        struct json_object *n = json_object_new_object();
        json_object_object_add(n, "type", json_object_new_string(kinds[i]));
        json_object_array_add(ns, n);
    }
    json_object_object_add(lx, "namespaces", ns);
    json_object_object_add(s, "linux", lx);
    return s;
}

void hl_bundle_of(struct hl *h, const char *cid, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/c/%s", h->dir, cid);
}

char *hl_create_payload(struct hl *h, const char *cid, struct json_object *spec)
{
    char bundle[256];
    hl_bundle_of(h, cid, bundle, sizeof(bundle));
    struct json_object *cfg = json_object_new_object(), *sv = json_object_new_object();
    json_object_object_add(sv, "Major", json_object_new_int(2));
    json_object_object_add(sv, "Minor", json_object_new_int(1));
    json_object_object_add(cfg, "SchemaVersion", sv);
    json_object_object_add(cfg, "OciBundlePath", json_object_new_string(bundle));
    json_object_object_add(cfg, "OciSpecification", spec);
    struct json_object *req = json_object_new_object();
    json_object_object_add(req, "ContainerId", json_object_new_string(cid));
    json_object_object_add(req, "ActivityId", json_object_new_string(HL_AID));
    json_object_object_add(
        req, "ContainerConfig",
        json_object_new_string(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)));
    char *out = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    json_object_put(cfg);
    return out;
}

int32_t hl_call(struct hl *h, uint32_t type, const char *payload, char **ret_payload,
                char **ret_error)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_call(h->b, type, payload, HL_MS, &m, &err) < 0)
        fail_msg("call 0x%08x: %s", type, lcow_error_message(err));
    int32_t hr = 0;
    char *emsg = NULL;
    assert_int_equal(host_message_result(&m, &hr, &emsg, &err), 0);
    if (ret_payload)
        *ret_payload = strdup(m.payload);
    if (ret_error)
        *ret_error = emsg ? emsg : strdup("");
    else
        free(emsg);
    host_message_done(&m);
    return hr;
}

int32_t hl_create(struct hl *h, const char *cid, struct json_object *spec, char **ret_error)
{
    cleanup_free char *p = hl_create_payload(h, cid, spec);
    return hl_call(h, GCS_MSG_CREATE, p, NULL, ret_error);
}

int32_t hl_simple(struct hl *h, uint32_t type, const char *cid)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_simple(h->b, type, cid, HL_MS, &m, &err) < 0)
        fail_msg("simple 0x%08x: %s", type, lcow_error_message(err));
    int32_t hr = 0;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    host_message_done(&m);
    return hr;
}

int32_t hl_execute(struct hl *h, const char *cid, struct json_object *proc, bool in, bool out,
                   bool errs, struct host_process *ret, char **ret_error)
{
    const bool want[3] = {in, out, errs};
    uint32_t ports[3] = {0};
    int lfd[3] = {-1, -1, -1};
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < 3; i++)
        if (want[i])
            assert_true((lfd[i] = host_bridge_stdio_listen(h->b, &ports[i], &err)) >= 0);
    struct gcs_execute_process_request q = {
        .base = {.container_id = (char *)cid, .activity_id = (char *)GCS_ZERO_GUID},
        .params = {.command_line = (char *)"",
                   .working_directory = (char *)"",
                   .create_std_in_pipe = in,
                   .create_std_out_pipe = out,
                   .create_std_err_pipe = errs,
                   .oci_process = proc},
        .relay = {ports[0], ports[1], ports[2]},
    };
    cleanup_free char *payload = NULL;
    assert_int_equal(gcs_encode_execute_process_request(&q, &payload, &err), 0);
    json_object_put(proc);
    cleanup_free char *resp = NULL;
    int32_t hr = hl_call(h, GCS_MSG_EXECUTE_PROCESS, payload, &resp, ret_error);
    *ret = (struct host_process){.fd = {-1, -1, -1}};
    if (hr == 0) {
        struct gcs_execute_process_response r = {0};
        assert_int_equal(gcs_decode_execute_process_response(resp, strlen(resp), &r, &err), 0);
        ret->pid = r.process_id;
        gcs_execute_process_response_done(&r);
    }
    for (int i = 0; i < 3; i++) {
        if (lfd[i] < 0)
            continue;
        if (hr == 0)
            assert_true((ret->fd[i] = host_stdio_accept(lfd[i], HL_MS, &err)) >= 0);
        else
            close(lfd[i]);
    }
    return hr;
}

int32_t hl_wait(struct hl *h, const char *cid, uint32_t pid, uint32_t timeout, uint32_t *code)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t hr = 0;
    int r = host_bridge_wait_process(h->b, cid, pid, timeout, HL_MS, code, &hr, &err);
    if (r < 0 && r != -EREMOTEIO)
        fail_msg("wait: %s", lcow_error_message(err));
    return r < 0 ? hr : 0;
}

uint32_t hl_wait_exit(struct hl *h, const char *cid, uint32_t pid)
{
    uint32_t code = 0xdead;
    assert_int_equal(hl_wait(h, cid, pid, HL_INF, &code), 0);
    return code;
}

size_t hl_read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, HL_MS) == 1);
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == cap - 1)
            break;
    }
    buf[n] = '\0';
    close(fd);
    return n;
}

void hl_expect_notification(struct hl *h, const char *cid, const char *type)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_next_notification(h->b, HL_MS, &m, &err) < 0)
        fail_msg("notification: %s", lcow_error_message(err));
    struct gcs_container_notification n = {0};
    assert_int_equal(gcs_decode_container_notification(m.payload, m.len, &n, &err), 0);
    assert_string_equal(n.container_id, cid);
    assert_string_equal(n.type, type);
    gcs_container_notification_done(&n);
    host_message_done(&m);
}

void hl_no_notification(struct hl *h, int ms)
{
    struct host_message m = {0};
    int r = host_bridge_next_notification(h->b, ms, &m, NULL);
    if (r == 0)
        fail_msg("unexpected notification: %s", m.payload);
}

uint32_t hl_run(struct hl *h, const char *cid, struct json_object *spec, int *ret_out)
{
    cleanup_free char *e = NULL;
    int32_t hr = hl_create(h, cid, spec, &e);
    if (hr != 0)
        fail_msg("create %s: 0x%08x %s", cid, (unsigned)hr, e);
    assert_int_equal(hl_simple(h, GCS_MSG_START, cid), 0);
    struct host_process p;
    assert_int_equal(hl_execute(h, cid, NULL, false, ret_out != NULL, false, &p, NULL), 0);
    if (ret_out)
        *ret_out = p.fd[1];
    return p.pid;
}

/* ---- footprint ---------------------------------------------------------------------------- */

int hl_gcs_fds(struct hl *h)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/fd", (int)h->gcs);
    cleanup_dir DIR *d = opendir(p);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    return n;
}

long hl_gcs_rss_kib(struct hl *h)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)h->gcs);
    cleanup_free char *st = NULL;
    assert_int_equal(lcow_read_file(p, 1u << 20, &st, NULL, NULL), 0);
    const char *r = strstr(st, "VmRSS:");
    assert_non_null(r);
    return strtol(r + 6, NULL, 10);
}

static int cg_count;
static int count_dir(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)path;
    (void)st;
    (void)w;
    if (flag == FTW_D || flag == FTW_DP)
        cg_count++;
    return 0;
}

int hl_cgroups_under(struct hl *h)
{
    char p[256];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s", h->cgroot);
    cg_count = 0;
    nftw(p, count_dir, 16, FTW_PHYS);
    return cg_count;
}
