/* Containers through the bridge (gcs-protocol.md §4.1-4.11, §7.2-7.3), gcs over unix: with
 * -cgroup-root under a cgroup this test creates and removes. The rootfs is a busybox-static
 * tree built at run time. Mirrors hcsshim's test/gcs container and CRI tests: output, stdin,
 * tty + resize, exec, signals and notification types, shutdown, a sandbox with two workloads,
 * properties, constraints update, OOM, delete leaving nothing, 50 concurrent containers, 1000
 * exec cycles without leaks, and bad input with the HRESULTs of §6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "tests/lib/gcs_harness.h"

#define T_MS 20000 /* every wait in these tests is bounded */
#define INF  GCS_INFINITE_TIMEOUT

static char gcs_bin[512];

/* ---- fixture ------------------------------------------------------------------------------ */

static int teardown(void **state)
{
    struct gcs_harness *f = *state;
    if (!f)
        return 0;
    gh_stop(f);
    if (getenv("CT_KEEP_LOG")) { /* debugging: keep gcs's log */
        cleanup_free char *log = NULL;
        size_t len = 0;
        if (lcow_read_file(f->log, 64u << 20, &log, &len, NULL) == 0)
            lcow_write_file(getenv("CT_KEEP_LOG"), log, len, O_WRONLY | O_CREAT | O_APPEND, 0644,
                            NULL);
    }
    gh_teardown(f);
    free(f);
    *state = NULL;
    return 0;
}

static int setup(void **state)
{
    static const char *const applets[] = {"sh",    "echo", "cat",  "sleep", "true",
                                          "false", "id",   "stty", "dd",    "hostname",
                                          "ls",    "kill", "head", NULL};
    struct gcs_harness *f = calloc(1, sizeof(*f));
    *state = f;
    if (!f || gh_init(f, "lcow-ct") < 0)
        return -1;
    char c[128];
    snprintf(c, sizeof(c), "%s/c", f->dir);
    mkdir(c, 0755);
    assert_int_equal(gh_make_rootfs(f->rootfs, applets), 0);
    gh_make_devroot(f);
    /* clang-format off */
    const char *const argv[] = {gcs_bin, "-v4", "-log-format=json", "-loglevel", "debug",
        "-logfile", f->log, "-bridge", f->addr, "-cgroup-root", f->cgroot,
        "-dev-root", f->devroot, "-gcs-mem-limit-bytes", "4096", "-disable-time-sync", NULL};
    /* clang-format on */
    cleanup_error struct lcow_error *err = NULL;
    if (gh_start(f, argv, true, T_MS, &err) < 0) {
        fprintf(stderr, "setup: %s\n", lcow_error_message(err));
        teardown(state);
        return -1;
    }
    return 0;
}

/* ---- request helpers ---------------------------------------------------------------------- */

static struct json_object *strv(const char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (; *v; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

static struct json_object *oci_process(const char *const *args, bool tty)
{
    struct json_object *p = json_object_new_object();
    static const char *const env[] = {"PATH=/bin", "TERM=xterm", NULL};
    json_object_object_add(p, "terminal", json_object_new_boolean(tty));
    struct json_object *u = json_object_new_object();
    json_object_object_add(u, "uid", json_object_new_int(0));
    json_object_object_add(u, "gid", json_object_new_int(0));
    json_object_object_add(p, "user", u);
    json_object_object_add(p, "args", strv(args));
    json_object_object_add(p, "env", strv(env));
    json_object_object_add(p, "cwd", json_object_new_string("/"));
    return p;
}

/* A spec with its own pid/mount/ipc/uts namespaces and /proc. */
static struct json_object *base_spec(struct gcs_harness *f, const char *const *args, bool tty)
{
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, "ociVersion", json_object_new_string("1.0.2"));
    json_object_object_add(s, "process", oci_process(args, tty));
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "path", json_object_new_string(f->rootfs));
    json_object_object_add(root, "readonly", json_object_new_boolean(1));
    json_object_object_add(s, "root", root);
    struct json_object *mounts = json_object_new_array(), *m = json_object_new_object();
    json_object_object_add(m, "destination", json_object_new_string("/proc"));
    json_object_object_add(m, "type", json_object_new_string("proc"));
    json_object_object_add(m, "source", json_object_new_string("proc"));
    json_object_array_add(mounts, m);
    m = json_object_new_object();
    json_object_object_add(m, "destination", json_object_new_string("/tmp"));
    json_object_object_add(m, "type", json_object_new_string("tmpfs"));
    json_object_object_add(m, "source", json_object_new_string("tmpfs"));
    json_object_array_add(mounts, m);
    m = json_object_new_object();
    json_object_object_add(m, "destination", json_object_new_string("/dev/pts"));
    json_object_object_add(m, "type", json_object_new_string("devpts"));
    json_object_object_add(m, "source", json_object_new_string("devpts"));
    json_object_object_add(
        m, "options",
        strv((const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", NULL}));
    json_object_array_add(mounts, m);
    json_object_object_add(s, "mounts", mounts);
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

static void annotate(struct json_object *spec, const char *k, const char *v)
{
    struct json_object *a = lcow_json_field(spec, "annotations");
    if (!a) {
        a = json_object_new_object();
        json_object_object_add(spec, "annotations", a);
    }
    json_object_object_add(a, k, json_object_new_string(v));
}

static void bundle_of(struct gcs_harness *f, const char *cid, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/c/%s", f->dir, cid);
}

/* The Create payload with the spec (taken) and schema major.minor. */
static char *create_payload(struct gcs_harness *f, const char *cid, struct json_object *spec,
                            int major, int minor)
{
    char bundle[256];
    bundle_of(f, cid, bundle, sizeof(bundle));
    struct json_object *cfg = json_object_new_object(), *sv = json_object_new_object();
    json_object_object_add(sv, "Major", json_object_new_int(major));
    json_object_object_add(sv, "Minor", json_object_new_int(minor));
    json_object_object_add(cfg, "SchemaVersion", sv);
    json_object_object_add(cfg, "OciBundlePath", json_object_new_string(bundle));
    json_object_object_add(cfg, "OciSpecification", spec);
    struct json_object *req = json_object_new_object();
    json_object_object_add(req, "ContainerId", json_object_new_string(cid));
    json_object_object_add(req, "ActivityId",
                           json_object_new_string("11111111-2222-3333-4444-555555555555"));
    json_object_object_add(
        req, "ContainerConfig",
        json_object_new_string(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)));
    char *out = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    json_object_put(cfg);
    return out;
}

/* Sends a request and returns its Result (HRESULT). */
static int32_t call(struct gcs_harness *f, uint32_t type, const char *payload, char **ret_payload)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    int r = host_bridge_call(f->b, type, payload, T_MS, &m, &err);
    if (r < 0)
        fail_msg("call 0x%08x: %s", type, lcow_error_message(err));
    int32_t hr = 0;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    if (ret_payload)
        *ret_payload = strdup(m.payload);
    host_message_done(&m);
    return hr;
}

static int32_t create(struct gcs_harness *f, const char *cid, struct json_object *spec)
{
    cleanup_free char *p = create_payload(f, cid, spec, 2, 1);
    return call(f, GCS_MSG_CREATE, p, NULL);
}

static int32_t simple(struct gcs_harness *f, uint32_t type, const char *cid)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_simple(f->b, type, cid, T_MS, &m, &err) < 0)
        fail_msg("simple 0x%08x: %s", type, lcow_error_message(err));
    int32_t hr = 0;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    host_message_done(&m);
    return hr;
}

/* ExecuteProcess on a container: the init when proc is NULL, else an exec (proc taken). */
static int32_t execute(struct gcs_harness *f, const char *cid, struct json_object *proc, bool in,
                       bool out, bool errs, struct host_process *ret)
{
    const bool want[3] = {in, out, errs};
    uint32_t ports[3] = {0};
    int lfd[3] = {-1, -1, -1};
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < 3; i++)
        if (want[i])
            assert_true((lfd[i] = host_bridge_stdio_listen(f->b, &ports[i], &err)) >= 0);
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
    int32_t hr = call(f, GCS_MSG_EXECUTE_PROCESS, payload, &resp);
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
            assert_true((ret->fd[i] = host_stdio_accept(lfd[i], T_MS, &err)) >= 0);
        else
            close(lfd[i]);
    }
    return hr;
}

static int32_t wait_code(struct gcs_harness *f, const char *cid, uint32_t pid, uint32_t timeout,
                         uint32_t *code)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t hr = 0;
    int r = host_bridge_wait_process(f->b, cid, pid, timeout, T_MS, code, &hr, &err);
    if (r < 0 && r != -EREMOTEIO)
        fail_msg("wait: %s", lcow_error_message(err));
    return r < 0 ? hr : 0;
}

static uint32_t wait_exit(struct gcs_harness *f, const char *cid, uint32_t pid)
{
    uint32_t code = 0xdead;
    assert_int_equal(wait_code(f, cid, pid, INF, &code), 0);
    return code;
}

static int32_t signal_proc(struct gcs_harness *f, const char *cid, uint32_t pid, int sig)
{
    struct gcs_signal_process_request q = {
        .base = {.container_id = (char *)cid, .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = pid,
        .has_options = true,
        .signal = sig};
    cleanup_free char *p = NULL;
    assert_int_equal(gcs_encode_signal_process_request(&q, &p, NULL), 0);
    return call(f, GCS_MSG_SIGNAL_PROCESS, p, NULL);
}

/* Reads fd to EOF into buf (NUL-terminated); then closes it (the host's half of §1.6). */
static size_t read_all(int fd, char *buf, size_t cap)
{
    ssize_t n = gh_read_all(fd, buf, cap, T_MS);
    assert_true(n >= 0);
    return (size_t)n;
}

/* The next notification: its container id and Type. */
static void expect_notification(struct gcs_harness *f, const char *cid, const char *type)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_next_notification(f->b, T_MS, &m, &err) < 0)
        fail_msg("notification: %s", lcow_error_message(err));
    struct gcs_container_notification n = {0};
    assert_int_equal(gcs_decode_container_notification(m.payload, m.len, &n, &err), 0);
    assert_string_equal(n.container_id, cid);
    assert_string_equal(n.type, type);
    assert_string_equal(n.activity_id, "11111111-2222-3333-4444-555555555555");
    gcs_container_notification_done(&n);
    host_message_done(&m);
}

static void no_notification(struct gcs_harness *f)
{
    struct host_message m = {0};
    assert_int_not_equal(host_bridge_next_notification(f->b, 200, &m, NULL), 0);
}

static bool cgroup_exists(struct gcs_harness *f, const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/%s", f->cgroot, rel);
    struct stat st;
    return stat(p, &st) == 0;
}

static bool mounted_under(const char *dir)
{
    cleanup_free char *mi = NULL;
    assert_int_equal(lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, NULL), 0);
    return strstr(mi, dir) != NULL;
}

/* Delete, then: no config.json, no bundle dir we made, no cgroup, no mounts. */
static void delete_and_check(struct gcs_harness *f, const char *cid, const char *cgroup_rel)
{
    assert_int_equal(simple(f, GCS_MSG_DELETE_CONTAINER_STATE, cid), 0);
    char bundle[256];
    bundle_of(f, cid, bundle, sizeof(bundle));
    struct stat st;
    assert_int_not_equal(stat(bundle, &st), 0);
    assert_false(cgroup_exists(f, cgroup_rel));
    assert_false(mounted_under(bundle));
    assert_int_equal(simple(f, GCS_MSG_DELETE_CONTAINER_STATE, cid), GCS_HCS_E_SYSTEM_NOT_FOUND);
}

static const char *const SLEEP[] = {"sleep", "600", NULL}; /* long: sanitizer runs are slow */

/* Create + Start + init Execute of a long-running container; returns the init pid. */
static uint32_t run_sleeper(struct gcs_harness *f, const char *cid)
{
    assert_int_equal(create(f, cid, base_spec(f, SLEEP, false)), 0);
    assert_int_equal(simple(f, GCS_MSG_START, cid), 0);
    struct host_process p;
    assert_int_equal(execute(f, cid, NULL, false, false, false, &p), 0);
    return p.pid;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_standalone_hello(void **state)
{
    struct gcs_harness *f = *state;
    static const char *const args[] = {"echo", "hello", NULL};
    assert_int_equal(create(f, "hello", base_spec(f, args, false)), 0);
    assert_int_equal(simple(f, GCS_MSG_START, "hello"), 0);
    struct host_process p;
    assert_int_equal(execute(f, "hello", NULL, false, true, true, &p), 0);
    assert_true(p.pid > 0);
    char buf[256];
    read_all(p.fd[1], buf, sizeof(buf));
    assert_string_equal(buf, "hello\n");
    read_all(p.fd[2], buf, sizeof(buf));
    assert_string_equal(buf, "");
    assert_int_equal(wait_exit(f, "hello", p.pid), 0);
    expect_notification(f, "hello", GCS_NOTIFY_UNEXPECTED_EXIT);
    /* The init pid still resolves after its exit (§4.5); no second notification. */
    assert_int_equal(wait_exit(f, "hello", p.pid), 0);
    no_notification(f);
    delete_and_check(f, "hello", "pods/hello");
}

static void test_stdin_roundtrip(void **state)
{
    struct gcs_harness *f = *state;
    static const char *const args[] = {"cat", NULL};
    assert_int_equal(create(f, "cat", base_spec(f, args, false)), 0);
    struct host_process p;
    assert_int_equal(execute(f, "cat", NULL, true, true, false, &p), 0);
    assert_int_equal(lcow_write_all(p.fd[0], "ping pong\n", 10), 0);
    shutdown(p.fd[0], SHUT_WR); /* end of input */
    char buf[256];
    read_all(p.fd[1], buf, sizeof(buf));
    assert_string_equal(buf, "ping pong\n");
    close(p.fd[0]);
    assert_int_equal(wait_exit(f, "cat", p.pid), 0);
    expect_notification(f, "cat", GCS_NOTIFY_UNEXPECTED_EXIT);
    delete_and_check(f, "cat", "pods/cat");
}

static void test_tty_resize(void **state)
{
    struct gcs_harness *f = *state;
    static const char *const args[] = {"sh", "-c", "read x; stty size", NULL};
    assert_int_equal(create(f, "tty", base_spec(f, args, true)), 0);
    struct host_process p;
    assert_int_equal(execute(f, "tty", NULL, true, true, false, &p), 0);
    struct gcs_resize_console_request q = {
        .base = {.container_id = (char *)"tty", .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = p.pid,
        .height = 33,
        .width = 101};
    cleanup_free char *payload = NULL;
    assert_int_equal(gcs_encode_resize_console_request(&q, &payload, NULL), 0);
    assert_int_equal(call(f, GCS_MSG_RESIZE_CONSOLE, payload, NULL), 0);
    assert_int_equal(lcow_write_all(p.fd[0], "go\n", 3), 0);
    char buf[512];
    read_all(p.fd[1], buf, sizeof(buf));
    assert_non_null(strstr(buf, "33 101"));
    close(p.fd[0]);
    assert_int_equal(wait_exit(f, "tty", p.pid), 0);
    expect_notification(f, "tty", GCS_NOTIFY_UNEXPECTED_EXIT);
    /* A pipe process has no console: E_FAIL. */
    delete_and_check(f, "tty", "pods/tty");
}

static void test_exec(void **state)
{
    struct gcs_harness *f = *state;
    uint32_t init = run_sleeper(f, "ex");
    static const char *const code7[] = {"sh", "-c", "exit 7", NULL};
    struct host_process p;
    assert_int_equal(execute(f, "ex", oci_process(code7, false), false, false, false, &p), 0);
    assert_int_not_equal(p.pid, init);
    assert_int_equal(wait_exit(f, "ex", p.pid), 7);
    /* The exec entry is gone after its first waiter (§4.5). */
    uint32_t code;
    assert_int_equal(wait_code(f, "ex", p.pid, INF, &code), GCS_E_NOT_FOUND);
    /* Same namespaces as the init: it sees pid 1 = sleep; output relayed. */
    static const char *const ps[] = {"sh", "-c", "cat /proc/1/cmdline; echo; id -u", NULL};
    assert_int_equal(execute(f, "ex", oci_process(ps, false), false, true, false, &p), 0);
    char buf[256];
    read_all(p.fd[1], buf, sizeof(buf));
    assert_non_null(strstr(buf, "sleep"));
    assert_int_equal(wait_exit(f, "ex", p.pid), 0);
    /* A user name resolved in the container's /etc/passwd. */
    struct json_object *proc = oci_process((const char *const[]){"id", NULL}, false);
    struct json_object *u = lcow_json_field(proc, "user");
    json_object_object_add(u, "username", json_object_new_string("guest"));
    assert_int_equal(execute(f, "ex", proc, false, true, false, &p), 0);
    read_all(p.fd[1], buf, sizeof(buf));
    assert_non_null(strstr(buf, "uid=1234"));
    assert_non_null(strstr(buf, "gid=2345"));
    assert_int_equal(wait_exit(f, "ex", p.pid), 0);
    /* An exec with a terminal, resized; a pipe process cannot be resized (E_FAIL). */
    static const char *const sz[] = {"sh", "-c", "read x; stty size", NULL};
    assert_int_equal(execute(f, "ex", oci_process(sz, true), true, true, false, &p), 0);
    struct gcs_resize_console_request rq = {
        .base = {.container_id = (char *)"ex", .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = p.pid,
        .height = 21,
        .width = 77};
    cleanup_free char *rp = NULL;
    assert_int_equal(gcs_encode_resize_console_request(&rq, &rp, NULL), 0);
    assert_int_equal(call(f, GCS_MSG_RESIZE_CONSOLE, rp, NULL), 0);
    assert_int_equal(lcow_write_all(p.fd[0], "go\n", 3), 0);
    read_all(p.fd[1], buf, sizeof(buf));
    assert_non_null(strstr(buf, "21 77"));
    close(p.fd[0]);
    assert_int_equal(wait_exit(f, "ex", p.pid), 0);
    rq.process_id = init;
    cleanup_free char *rp2 = NULL;
    assert_int_equal(gcs_encode_resize_console_request(&rq, &rp2, NULL), 0);
    assert_int_equal(call(f, GCS_MSG_RESIZE_CONSOLE, rp2, NULL), GCS_E_FAIL);
    /* A wait with a timeout that fires (§4.5). */
    assert_int_equal(wait_code(f, "ex", init, 100, &code), GCS_HCS_E_CONNECTION_TIMEOUT);
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "ex"), 0);
    assert_int_equal(wait_exit(f, "ex", init), 137);
    expect_notification(f, "ex", GCS_NOTIFY_FORCED_EXIT);
    /* exec into a stopped container: E_FAIL; a signal to the gone pid: not found. */
    assert_int_equal(execute(f, "ex", oci_process(code7, false), false, false, false, &p),
                     GCS_E_FAIL);
    assert_int_equal(signal_proc(f, "ex", init, SIGTERM), GCS_E_NOT_FOUND);
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_GRACEFUL, "ex"), GCS_HCS_E_SYSTEM_ALREADY_STOPPED);
    delete_and_check(f, "ex", "pods/ex");
}

/* Each way of stopping the init gives its exit code and notification type. */
static void test_signals(void **state)
{
    struct gcs_harness *f = *state;
    static const struct {
        const char *cid;
        int how; /* >0 SignalProcess(sig), 0: SignalProcess(0), -1 graceful, -2 forced */
        uint32_t code;
        const char *type;
    } cases[] = {
        {"s-term", SIGTERM, 143, GCS_NOTIFY_GRACEFUL_EXIT},
        {"s-kill", SIGKILL, 137, GCS_NOTIFY_FORCED_EXIT},
        {"s-zero", 0, 137, GCS_NOTIFY_FORCED_EXIT},
        {"s-usr1", SIGUSR1, 128 + SIGUSR1, GCS_NOTIFY_UNEXPECTED_EXIT},
        {"s-hup", SIGHUP, 128 + SIGHUP, GCS_NOTIFY_UNEXPECTED_EXIT},
        {"s-grace", -1, 143, GCS_NOTIFY_GRACEFUL_EXIT},
        {"s-force", -2, 137, GCS_NOTIFY_FORCED_EXIT},
    };
    static const char *const args[] = {"sh", "-c", "trap 'exit 99' INT; sleep 30 & wait", NULL};
    (void)args;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* No pid namespace: the init is not a namespace's pid 1, so a signal without a
         * handler takes its default action; gcs kills the rest on its exit (§5.8). */
        struct json_object *spec = base_spec(f, SLEEP, false);
        struct json_object *ns = lcow_json_field(lcow_json_field(spec, "linux"), "namespaces");
        json_object_array_del_idx(ns, 0, 1);
        assert_int_equal(create(f, cases[i].cid, spec), 0);
        struct host_process sp;
        assert_int_equal(execute(f, cases[i].cid, NULL, false, false, false, &sp), 0);
        uint32_t pid = sp.pid;
        /* Another process of the container: without its own pid namespace nothing but gcs
         * kills it when the init exits (§5.8 "kill --all"). */
        struct host_process extra;
        assert_int_equal(
            execute(f, cases[i].cid, oci_process(SLEEP, false), false, false, false, &extra), 0);
        int32_t hr;
        if (cases[i].how >= 0)
            hr = signal_proc(f, cases[i].cid, pid, cases[i].how);
        else
            hr = simple(f, cases[i].how == -1 ? GCS_MSG_SHUTDOWN_GRACEFUL : GCS_MSG_SHUTDOWN_FORCED,
                        cases[i].cid);
        assert_int_equal(hr, 0);
        assert_int_equal(wait_exit(f, cases[i].cid, pid), cases[i].code);
        expect_notification(f, cases[i].cid, cases[i].type);
        assert_int_equal(wait_exit(f, cases[i].cid, extra.pid), 137);
        char rel[1024];
        snprintf(rel, sizeof(rel), "pods/%s", cases[i].cid);
        delete_and_check(f, cases[i].cid, rel);
    }
}

/* CRI: a sandbox and two workloads sharing its namespaces and its sandbox:// mount. */
static void test_cri_lifecycle(void **state)
{
    struct gcs_harness *f = *state;
    struct json_object *spec = base_spec(f, SLEEP, false);
    annotate(spec, "io.kubernetes.cri.container-type", "sandbox");
    annotate(spec, "io.microsoft.cri.skip-pod-networking", "true");
    json_object_object_add(spec, "hostname", json_object_new_string("podhost"));
    assert_int_equal(create(f, "pod", spec), 0);
    struct host_process sb;
    assert_int_equal(execute(f, "pod", NULL, false, false, false, &sb), 0);

    const char *wl[2] = {"wl-a", "wl-b"};
    const char *const cmds[2][4] = {
        {"sh", "-c", "hostname; cat /etc/hostname; echo shared > /shared/x", NULL},
        {"sh", "-c", "cat /shared/x", NULL}};
    const char *const expect[2] = {"podhost\npodhost\n", "shared\n"};
    for (int i = 0; i < 2; i++) {
        struct json_object *w = base_spec(f, cmds[i], false);
        annotate(w, "io.kubernetes.cri.container-type", "container");
        annotate(w, "io.kubernetes.cri.sandbox-id", "pod");
        /* Join the sandbox's ipc and uts namespaces by path, as containerd's CRI does. */
        struct json_object *ns = lcow_json_field(lcow_json_field(w, "linux"), "namespaces");
        for (size_t k = 0; k < json_object_array_length(ns); k++) {
            struct json_object *n = json_object_array_get_idx(ns, k);
            const char *t = json_object_get_string(lcow_json_field(n, "type"));
            char path[64];
            if (strcmp(t, "ipc") == 0 || strcmp(t, "uts") == 0) {
                snprintf(path, sizeof(path), "/proc/%u/ns/%s", sb.pid, t);
                json_object_object_add(n, "path", json_object_new_string(path));
            }
        }
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string("/shared"));
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string("sandbox://data"));
        json_object_object_add(m, "options", strv((const char *const[]){"rbind", "rw", NULL}));
        json_object_array_add(lcow_json_field(w, "mounts"), m);
        assert_int_equal(create(f, wl[i], w), 0);
        struct host_process p;
        assert_int_equal(execute(f, wl[i], NULL, false, true, false, &p), 0);
        char buf[256];
        read_all(p.fd[1], buf, sizeof(buf));
        assert_string_equal(buf, expect[i]);
        assert_int_equal(wait_exit(f, wl[i], p.pid), 0);
        expect_notification(f, wl[i], GCS_NOTIFY_UNEXPECTED_EXIT);
        assert_true(cgroup_exists(f, i == 0 ? "pods/pod/wl-a" : "pods/pod/wl-b"));
    }
    /* The sandbox goes last (its workloads use its root). */
    assert_int_equal(simple(f, GCS_MSG_DELETE_CONTAINER_STATE, "pod"), GCS_E_FAIL);
    delete_and_check(f, "wl-a", "pods/pod/wl-a");
    delete_and_check(f, "wl-b", "pods/pod/wl-b");
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "pod"), 0);
    assert_int_equal(wait_exit(f, "pod", sb.pid), 137);
    expect_notification(f, "pod", GCS_NOTIFY_FORCED_EXIT);
    delete_and_check(f, "pod", "pods/pod");
}

static void test_properties_update(void **state)
{
    struct gcs_harness *f = *state;
    uint32_t init = run_sleeper(f, "props");
    static const char *const q =
        "{\"ContainerId\":\"props\",\"ActivityId\":\"" GCS_ZERO_GUID "\",\"Query\":"
        "\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\",\\\"Statistics\\\"]}\"}";
    cleanup_free char *resp = NULL;
    assert_int_equal(call(f, GCS_MSG_GET_PROPERTIES, q, &resp), 0);
    struct gcs_get_properties_response r = {0};
    assert_int_equal(gcs_decode_get_properties_response(resp, strlen(resp), &r, NULL), 0);
    assert_true(r.properties.has_process_list);
    bool found = false;
    for (size_t i = 0; i < r.properties.n_process_ids; i++)
        found = found || r.properties.process_ids[i] == init;
    assert_true(found);
    assert_non_null(r.properties.lcow_metrics);
    struct json_object *mem = lcow_json_field(r.properties.lcow_metrics, "memory");
    assert_non_null(mem);
    assert_non_null(lcow_json_field(mem, "usage"));
    gcs_get_properties_response_done(&r);

    /* ContainerConstraints: a new memory limit lands in the container's cgroup. */
    static const char *const upd =
        "{\"ContainerId\":\"props\",\"ActivityId\":\"" GCS_ZERO_GUID "\",\"Request\":"
        "{\"ResourceType\":\"ContainerConstraints\",\"RequestType\":\"Update\",\"Settings\":"
        "{\"Linux\":{\"memory\":{\"limit\":67108864}}}}}";
    assert_int_equal(call(f, GCS_MSG_MODIFY_SETTINGS, upd, NULL), 0);
    char p[512];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/pods/props/memory.limit_in_bytes", f->cgroot);
    cleanup_free char *lim = NULL;
    assert_int_equal(lcow_read_file(p, 64, &lim, NULL, NULL), 0);
    assert_string_equal(lim, "67108864\n");
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "props"), 0);
    assert_int_equal(wait_exit(f, "props", init), 137);
    expect_notification(f, "props", GCS_NOTIFY_FORCED_EXIT);
    delete_and_check(f, "props", "pods/props");
}

static void test_oom(void **state)
{
    struct gcs_harness *f = *state;
    static const char *const args[] = {"dd",     "if=/dev/zero", "of=/dev/null",
                                       "bs=64M", "count=1",      NULL};
    struct json_object *spec = base_spec(f, args, false);
    struct json_object *res = json_object_new_object(), *mem = json_object_new_object();
    json_object_object_add(mem, "limit", json_object_new_int64(16 << 20));
    json_object_object_add(mem, "swap", json_object_new_int64(16 << 20));
    json_object_object_add(res, "memory", mem);
    json_object_object_add(lcow_json_field(spec, "linux"), "resources", res);
    assert_int_equal(create(f, "oom", spec), 0);
    struct host_process p;
    assert_int_equal(execute(f, "oom", NULL, false, false, false, &p), 0);
    assert_int_equal(wait_exit(f, "oom", p.pid), 137);
    expect_notification(f, "oom", GCS_NOTIFY_UNEXPECTED_EXIT);
    delete_and_check(f, "oom", "pods/oom");
}

#define N_CONC 50

static void test_concurrent(void **state)
{
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    uint64_t ids[N_CONC];
    char cid[N_CONC][16];
    for (int i = 0; i < N_CONC; i++) {
        snprintf(cid[i], sizeof(cid[i]), "conc%d", i);
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "exit %d", i + 1);
        struct json_object *spec =
            base_spec(f, (const char *const[]){"sh", "-c", cmd, NULL}, false);
        cleanup_free char *p = create_payload(f, cid[i], spec, 2, 1);
        assert_int_equal(host_bridge_send(f->b, GCS_MSG_CREATE, p, &ids[i], &err), 0);
    }
    for (int i = 0; i < N_CONC; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(f->b, ids[i], T_MS * 3, &m, &err), 0);
        int32_t hr = -1;
        assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
        assert_int_equal(hr, 0);
        host_message_done(&m);
    }
    uint32_t pid[N_CONC];
    for (int i = 0; i < N_CONC; i++) {
        struct host_process p;
        assert_int_equal(execute(f, cid[i], NULL, false, false, false, &p), 0);
        pid[i] = p.pid;
    }
    for (int i = 0; i < N_CONC; i++)
        assert_int_equal(wait_exit(f, cid[i], pid[i]), (uint32_t)i + 1);
    for (int i = 0; i < N_CONC; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_next_notification(f->b, T_MS, &m, &err), 0);
        host_message_done(&m);
    }
    no_notification(f);
    for (int i = 0; i < N_CONC; i++) {
        char rel[1024];
        snprintf(rel, sizeof(rel), "pods/%s", cid[i]);
        delete_and_check(f, cid[i], rel);
    }
}

static int count_fds(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
    cleanup_dir DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    return n;
}

static long rss_kb(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    cleanup_free char *s = NULL;
    assert_int_equal(lcow_read_file(p, 1 << 16, &s, NULL, NULL), 0);
    const char *v = strstr(s, "VmRSS:");
    return v ? strtol(v + 6, NULL, 10) : -1;
}

/* Children of pid in state Z. */
static int zombies_of(pid_t pid)
{
    cleanup_dir DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char p[300];
        cleanup_free char *s = NULL;
        snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
        if (lcow_read_file(p, 4096, &s, NULL, NULL) < 0)
            continue;
        const char *rp = strrchr(s, ')');
        char st;
        int ppid;
        if (rp && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == pid && st == 'Z')
            n++;
    }
    return n;
}

#define N_EXEC 1000

static void test_exec_cycles(void **state)
{
    struct gcs_harness *f = *state;
    uint32_t init = run_sleeper(f, "cyc");
    static const char *const t[] = {"true", NULL};
    struct host_process p;
    /* Warm up (allocator arenas, thread stacks, first-use paths) before measuring. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(execute(f, "cyc", oci_process(t, false), false, false, false, &p), 0);
        assert_int_equal(wait_exit(f, "cyc", p.pid), 0);
    }
    int fds0 = count_fds(f->gcs);
    long rss0 = rss_kb(f->gcs);
    for (int i = 0; i < N_EXEC; i++) {
        assert_int_equal(execute(f, "cyc", oci_process(t, false), false, i % 10 == 0, false, &p),
                         0);
        if (p.fd[1] >= 0) {
            char buf[8];
            read_all(p.fd[1], buf, sizeof(buf));
        }
        assert_int_equal(wait_exit(f, "cyc", p.pid), 0);
    }
    int fds1 = count_fds(f->gcs);
    long rss1 = rss_kb(f->gcs);
    fprintf(stderr, "exec cycles: fds %d -> %d, rss %ld -> %ld KiB\n", fds0, fds1, rss0, rss1);
    assert_int_equal(fds1, fds0);
    assert_int_equal(zombies_of(f->gcs), 0);
#if !defined(__SANITIZE_ADDRESS__)
    if (!getenv("SANITIZER") || !getenv("SANITIZER")[0])
        assert_true(rss1 - rss0 < 256);
#endif
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "cyc"), 0);
    assert_int_equal(wait_exit(f, "cyc", init), 137);
    expect_notification(f, "cyc", GCS_NOTIFY_FORCED_EXIT);
    delete_and_check(f, "cyc", "pods/cyc");
}

static void test_bad_input(void **state)
{
    struct gcs_harness *f = *state;
    uint32_t code;
    struct host_process p;
    /* Unknown container id. */
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_GRACEFUL, "nope"), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(simple(f, GCS_MSG_DELETE_CONTAINER_STATE, "nope"), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(wait_code(f, "nope", 1, 0, &code), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(signal_proc(f, "nope", 1, SIGTERM), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(execute(f, "nope", NULL, false, false, false, &p), GCS_HCS_E_SYSTEM_NOT_FOUND);
    /* Schema 2.0. */
    cleanup_free char *s20 = create_payload(f, "old", base_spec(f, SLEEP, false), 2, 0);
    assert_int_equal(call(f, GCS_MSG_CREATE, s20, NULL), GCS_HCS_E_INVALID_JSON);
    /* A hostname failing validation: E_FAIL, nothing left. */
    struct json_object *spec = base_spec(f, SLEEP, false);
    json_object_object_add(spec, "hostname", json_object_new_string("bad host!"));
    assert_int_equal(create(f, "badhost", spec), GCS_E_FAIL);
    char bundle[256];
    struct stat st;
    bundle_of(f, "badhost", bundle, sizeof(bundle));
    assert_int_not_equal(stat(bundle, &st), 0);
    assert_int_equal(simple(f, GCS_MSG_DELETE_CONTAINER_STATE, "badhost"),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    /* Traversal in a sandbox:// source of a workload. */
    spec = base_spec(f, SLEEP, false);
    annotate(spec, "io.kubernetes.cri.container-type", "sandbox");
    annotate(spec, "io.microsoft.cri.skip-pod-networking", "true");
    assert_int_equal(create(f, "tpod", spec), 0);
    const char *evil[] = {"sandbox://../../etc", "sandbox-tmp://a/../../x", "hugepages://../x",
                          "uvm://does/not/exist"};
    for (size_t i = 0; i < 4; i++) {
        struct json_object *w = base_spec(f, SLEEP, false);
        annotate(w, "io.kubernetes.cri.container-type", "container");
        annotate(w, "io.kubernetes.cri.sandbox-id", "tpod");
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string("/x"));
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string(evil[i]));
        json_object_object_add(m, "options", strv((const char *const[]){"rbind", NULL}));
        json_object_array_add(lcow_json_field(w, "mounts"), m);
        assert_int_equal(create(f, "twl", w), GCS_E_FAIL);
        bundle_of(f, "twl", bundle, sizeof(bundle));
        assert_int_not_equal(stat(bundle, &st), 0);
        assert_false(cgroup_exists(f, "pods/tpod/twl"));
    }
    /* A workload without its pod; an unknown container-type. */
    struct json_object *w = base_spec(f, SLEEP, false);
    annotate(w, "io.kubernetes.cri.container-type", "container");
    annotate(w, "io.kubernetes.cri.sandbox-id", "nopod");
    assert_int_not_equal(create(f, "orphan", w), 0);
    w = base_spec(f, SLEEP, false);
    annotate(w, "io.kubernetes.cri.container-type", "weird");
    assert_int_equal(create(f, "weird", w), GCS_E_FAIL);
    /* Duplicate id. */
    assert_int_equal(create(f, "tpod", base_spec(f, SLEEP, false)),
                     GCS_HCS_E_SYSTEM_ALREADY_EXISTS);
    /* The never-started sandbox: delete kills its waiting init and removes its mounts. */
    static const char *const q = "{\"ContainerId\":\"tpod\",\"Query\":"
                                 "\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"}";
    cleanup_free char *resp = NULL;
    assert_int_equal(call(f, GCS_MSG_GET_PROPERTIES, q, &resp), 0);
    struct gcs_get_properties_response pr = {0};
    assert_int_equal(gcs_decode_get_properties_response(resp, strlen(resp), &pr, NULL), 0);
    assert_int_equal(pr.properties.n_process_ids, 1);
    pid_t waiting = (pid_t)pr.properties.process_ids[0];
    gcs_get_properties_response_done(&pr);
    assert_int_equal(kill(waiting, 0), 0);
    delete_and_check(f, "tpod", "pods/tpod");
    for (int i = 0; i < 100 && kill(waiting, 0) == 0; i++)
        usleep(10 * 1000); /* reaped by gcs's reaper */
    assert_int_equal(kill(waiting, 0), -1);
    no_notification(f);
    /* Signal to a gone pid of a live container. */
    uint32_t init = run_sleeper(f, "gone");
    assert_int_equal(signal_proc(f, "gone", 999999, SIGTERM), GCS_E_NOT_FOUND);
    assert_int_equal(wait_code(f, "gone", 999999, 0, &code), GCS_E_NOT_FOUND);
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "gone"), 0);
    assert_int_equal(wait_exit(f, "gone", init), 137);
    expect_notification(f, "gone", GCS_NOTIFY_FORCED_EXIT);
    delete_and_check(f, "gone", "pods/gone");
}

/* Several concurrent waiters on one init all get the code; the exit survives a reconnect:
 * the host's waiter of the dropped connection is forgotten, the new connection's wait gets the
 * code, and then (only then) the one notification arrives (§1.5, §2.9). */
static void test_waiters_reconnect(void **state)
{
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    uint32_t init = run_sleeper(f, "multi");
    struct gcs_wait_for_process_request q = {
        .base = {.container_id = (char *)"multi", .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = init,
        .timeout_in_ms = INF};
    cleanup_free char *p = NULL;
    assert_int_equal(gcs_encode_wait_for_process_request(&q, &p, NULL), 0);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, p, &ids[i], &err), 0);
    assert_int_equal(signal_proc(f, "multi", init, SIGKILL), 0);
    for (int i = 0; i < 3; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(f->b, ids[i], T_MS, &m, &err), 0);
        struct gcs_wait_for_process_response r = {0};
        assert_int_equal(gcs_decode_wait_for_process_response(m.payload, m.len, &r, NULL), 0);
        assert_int_equal(r.base.result, 0);
        assert_int_equal(r.exit_code, 137);
        gcs_wait_for_process_response_done(&r);
        host_message_done(&m);
    }
    expect_notification(f, "multi", GCS_NOTIFY_FORCED_EXIT);
    no_notification(f);
    delete_and_check(f, "multi", "pods/multi");

    /* Exit while the host is away. */
    init = run_sleeper(f, "away");
    uint64_t id;
    assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, p, &id, &err), 0);
    host_bridge_drop(f->b);
    kill((pid_t)init, SIGKILL); /* as if it died on its own: UnexpectedExit */
    assert_int_equal(host_bridge_accept(f->b, T_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
    no_notification(f); /* nobody received the code yet */
    assert_int_equal(wait_exit(f, "away", init), 137);
    expect_notification(f, "away", GCS_NOTIFY_UNEXPECTED_EXIT);
    delete_and_check(f, "away", "pods/away");
}

/* §5.9 under -cgroup-root: /pods with MemTotal - reserve, /gcs holding gcs. */
static void test_startup_cgroups(void **state)
{
    struct gcs_harness *f = *state;
    char p[512];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/gcs/cgroup.procs", f->cgroot);
    cleanup_free char *procs = NULL;
    assert_int_equal(lcow_read_file(p, 1 << 16, &procs, NULL, NULL), 0);
    char me[32];
    snprintf(me, sizeof(me), "%d\n", (int)f->gcs);
    assert_non_null(strstr(procs, me));
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/pods/memory.limit_in_bytes", f->cgroot);
    cleanup_free char *lim = NULL, *mi = NULL;
    assert_int_equal(lcow_read_file(p, 64, &lim, NULL, NULL), 0);
    assert_int_equal(lcow_read_file("/proc/meminfo", 1 << 16, &mi, NULL, NULL), 0);
    unsigned long long kb = 0;
    assert_int_equal(sscanf(strstr(mi, "MemTotal:"), "MemTotal: %llu kB", &kb), 1);
    unsigned long long want = kb * 1024 - 75ull * 1024 * 1024;
    want &= ~4095ull; /* the kernel rounds the limit down to pages */
    assert_int_equal(strtoull(lim, NULL, 10), want);
    /* gcs is far above a 4 KiB threshold: the warning is in its log. */
    cleanup_free char *log = NULL;
    assert_int_equal(lcow_read_file(f->log, 16u << 20, &log, NULL, NULL), 0);
    assert_non_null(strstr(log, "exceeds the threshold of 4096 bytes"));
    /* PodCgroupMemoryLimit: Update recomputes it (memory hot-add); other types are E_FAIL. */
    assert_int_equal(lcow_write_file(p, "1073741824", 10, O_WRONLY, 0, NULL), 0);
    static const char *const upd =
        "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"Request\":{\"ResourceType\":"
        "\"PodCgroupMemoryLimit\",\"RequestType\":\"Update\"}}";
    assert_int_equal(call(f, GCS_MSG_MODIFY_SETTINGS, upd, NULL), 0);
    cleanup_free char *lim2 = NULL;
    assert_int_equal(lcow_read_file(p, 64, &lim2, NULL, NULL), 0);
    assert_int_equal(strtoull(lim2, NULL, 10), want);
    static const char *const add =
        "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"Request\":{\"ResourceType\":"
        "\"PodCgroupMemoryLimit\",\"RequestType\":\"Add\"}}";
    assert_int_equal(call(f, GCS_MSG_MODIFY_SETTINGS, add, NULL), GCS_E_FAIL);
}

/* tee-log-path: init stdout also lands under <sandbox root>/logs; a path out of logs/ is
 * refused. */
static void test_tee_log(void **state)
{
    struct gcs_harness *f = *state;
    static const char *const args[] = {"echo", "teed", NULL};
    struct json_object *spec = base_spec(f, args, false);
    annotate(spec, "io.microsoft.container.lcow.tee-log-path", "app/out.log");
    assert_int_equal(create(f, "tee", spec), 0);
    struct host_process p;
    assert_int_equal(execute(f, "tee", NULL, false, true, false, &p), 0);
    char buf[64];
    read_all(p.fd[1], buf, sizeof(buf));
    assert_string_equal(buf, "teed\n");
    assert_int_equal(wait_exit(f, "tee", p.pid), 0);
    expect_notification(f, "tee", GCS_NOTIFY_UNEXPECTED_EXIT);
    char path[256];
    snprintf(path, sizeof(path), "%s/c/tee/logs/app/out.log", f->dir);
    cleanup_free char *log = NULL;
    assert_int_equal(lcow_read_file(path, 1024, &log, NULL, NULL), 0);
    assert_string_equal(log, "teed\n");
    delete_and_check(f, "tee", "pods/tee");
    spec = base_spec(f, args, false);
    annotate(spec, "io.microsoft.container.lcow.tee-log-path", "../../escape");
    assert_int_equal(create(f, "tee2", spec), GCS_E_FAIL);
}

/* Devices: a workload's linux.devices get the UVM's numbers; a privileged one gets every UVM
 * node (here the fake -dev-root). */
static void test_devices(void **state)
{
    struct gcs_harness *f = *state;
    struct json_object *spec = base_spec(f, SLEEP, false);
    annotate(spec, "io.kubernetes.cri.container-type", "sandbox");
    annotate(spec, "io.microsoft.cri.skip-pod-networking", "true");
    assert_int_equal(create(f, "dpod", spec), 0);
    static const char *const rd[] = {"sh", "-c", "head -c 3 /dev/fakezero >/dev/null && echo ok",
                                     NULL};
    for (int priv = 0; priv < 2; priv++) {
        const char *cid = priv ? "dpriv" : "dplain";
        struct json_object *w = base_spec(f, rd, false);
        annotate(w, "io.kubernetes.cri.container-type", "container");
        annotate(w, "io.kubernetes.cri.sandbox-id", "dpod");
        if (priv) {
            annotate(w, "io.microsoft.virtualmachine.lcow.privileged", "true");
        } else {
            /* The host's numbers are wrong on purpose: gcs looks the node up again. */
            struct json_object *devs = json_object_new_array(), *d = json_object_new_object();
            json_object_object_add(d, "path", json_object_new_string("/dev/fakezero"));
            json_object_object_add(d, "type", json_object_new_string("c"));
            json_object_object_add(d, "major", json_object_new_int(99));
            json_object_object_add(d, "minor", json_object_new_int(99));
            json_object_array_add(devs, d);
            json_object_object_add(lcow_json_field(w, "linux"), "devices", devs);
        }
        assert_int_equal(create(f, cid, w), 0);
        struct host_process p;
        assert_int_equal(execute(f, cid, NULL, false, true, false, &p), 0);
        char buf[64];
        read_all(p.fd[1], buf, sizeof(buf));
        assert_string_equal(buf, "ok\n");
        assert_int_equal(wait_exit(f, cid, p.pid), 0);
        expect_notification(f, cid, GCS_NOTIFY_UNEXPECTED_EXIT);
        char rel[64];
        snprintf(rel, sizeof(rel), "pods/dpod/%s", cid);
        delete_and_check(f, cid, rel);
    }
    /* blockdev://: the source is a symlink to a block device (as SCSI BlockDev mounts make);
     * gcs allows that device in the cgroup and mounts it at the stripped destination. */
    char node[256], link[256];
    snprintf(node, sizeof(node), "%s/fakeblk", f->devroot);
    snprintf(link, sizeof(link), "%s/blk-link", f->dir);
    assert_int_equal(mknod(node, S_IFBLK | 0600, makedev(7, 200)), 0);
    assert_int_equal(symlink(node, link), 0);
    static const char *const tb[] = {"sh", "-c", "test -b /dev/xvdb && echo ok", NULL};
    struct json_object *bw = base_spec(f, tb, false);
    annotate(bw, "io.kubernetes.cri.container-type", "container");
    annotate(bw, "io.kubernetes.cri.sandbox-id", "dpod");
    struct json_object *bm = json_object_new_object();
    json_object_object_add(bm, "destination", json_object_new_string("blockdev:///dev/xvdb"));
    json_object_object_add(bm, "type", json_object_new_string("bind"));
    json_object_object_add(bm, "source", json_object_new_string(link));
    json_object_object_add(bm, "options", strv((const char *const[]){"bind", "ro", NULL}));
    json_object_array_add(lcow_json_field(bw, "mounts"), bm);
    assert_int_equal(create(f, "dblk", bw), 0);
    char cfg[256];
    snprintf(cfg, sizeof(cfg), "%s/c/dblk/config.json", f->dir);
    cleanup_free char *cfgtext = NULL;
    assert_int_equal(lcow_read_file(cfg, 1 << 20, &cfgtext, NULL, NULL), 0);
    assert_non_null(strstr(cfgtext, "\"destination\":\"/dev/xvdb\""));
    assert_non_null(strstr(cfgtext, "\"major\":7,\"minor\":200,\"access\":\"r\""));
    {
        struct host_process bp;
        assert_int_equal(execute(f, "dblk", NULL, false, true, false, &bp), 0);
        char out[64];
        read_all(bp.fd[1], out, sizeof(out));
        assert_string_equal(out, "ok\n");
        assert_int_equal(wait_exit(f, "dblk", bp.pid), 0);
        expect_notification(f, "dblk", GCS_NOTIFY_UNEXPECTED_EXIT);
        delete_and_check(f, "dblk", "pods/dpod/dblk");
    }
    /* A device the UVM does not have. */
    struct json_object *w = base_spec(f, rd, false);
    annotate(w, "io.kubernetes.cri.container-type", "container");
    annotate(w, "io.kubernetes.cri.sandbox-id", "dpod");
    struct json_object *devs = json_object_new_array(), *d = json_object_new_object();
    json_object_object_add(d, "path", json_object_new_string("/dev/missing"));
    json_object_object_add(d, "type", json_object_new_string("c"));
    json_object_array_add(devs, d);
    json_object_object_add(lcow_json_field(w, "linux"), "devices", devs);
    assert_int_equal(create(f, "dmiss", w), GCS_E_FAIL);
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "dpod"), 0);
    delete_and_check(f, "dpod", "pods/dpod");
}

/* The container's seccomp profile applies to exec'd processes too (runc exec). */
static void test_exec_seccomp(void **state)
{
    struct gcs_harness *f = *state;
    struct json_object *spec = base_spec(f, SLEEP, false);
    struct json_object *sc = json_object_new_object(), *rules = json_object_new_array();
    struct json_object *rule = json_object_new_object();
    json_object_object_add(sc, "defaultAction", json_object_new_string("SCMP_ACT_ALLOW"));
    json_object_object_add(rule, "names", strv((const char *const[]){"mkdir", "mkdirat", NULL}));
    json_object_object_add(rule, "action", json_object_new_string("SCMP_ACT_ERRNO"));
    json_object_object_add(rule, "errnoRet", json_object_new_int(1));
    json_object_array_add(rules, rule);
    json_object_object_add(sc, "syscalls", rules);
    json_object_object_add(lcow_json_field(spec, "linux"), "seccomp", sc);
    assert_int_equal(create(f, "sc", spec), 0);
    struct host_process p;
    assert_int_equal(execute(f, "sc", NULL, false, false, false, &p), 0);
    uint32_t init = p.pid;
    static const char *const mk[] = {"sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?", NULL};
    assert_int_equal(execute(f, "sc", oci_process(mk, false), false, true, false, &p), 0);
    char buf[256];
    read_all(p.fd[1], buf, sizeof(buf));
    assert_non_null(strstr(buf, "Operation not permitted"));
    assert_non_null(strstr(buf, "rc=1"));
    assert_int_equal(wait_exit(f, "sc", p.pid), 0);
    assert_int_equal(simple(f, GCS_MSG_SHUTDOWN_FORCED, "sc"), 0);
    assert_int_equal(wait_exit(f, "sc", init), 137);
    expect_notification(f, "sc", GCS_NOTIFY_FORCED_EXIT);
    delete_and_check(f, "sc", "pods/sc");
}

/* Delete of a running container whose host still holds its stdout open and waits on it:
 * the delete does not hang on the relay, the waiter learns the process is gone, nothing is
 * left, and no notification follows. */
static void test_delete_running(void **state)
{
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(create(f, "busy", base_spec(f, SLEEP, false)), 0);
    struct host_process p;
    assert_int_equal(execute(f, "busy", NULL, true, true, false, &p), 0);
    struct gcs_wait_for_process_request q = {
        .base = {.container_id = (char *)"busy", .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = p.pid,
        .timeout_in_ms = INF};
    cleanup_free char *payload = NULL;
    assert_int_equal(gcs_encode_wait_for_process_request(&q, &payload, NULL), 0);
    uint64_t id;
    assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, payload, &id, &err), 0);
    delete_and_check(f, "busy", "pods/busy");
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(f->b, id, T_MS, &m, &err), 0);
    int32_t hr = 0;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    assert_int_equal(hr, GCS_E_NOT_FOUND);
    host_message_done(&m);
    char buf[16];
    read_all(p.fd[1], buf, sizeof(buf)); /* EOF: the process is gone */
    close(p.fd[0]);
    for (int i = 0; i < 100 && kill((pid_t)p.pid, 0) == 0; i++)
        usleep(10 * 1000); /* reaped by gcs's reaper */
    assert_int_equal(kill((pid_t)p.pid, 0), -1);
    no_notification(f);
}

/* The init traps SIGTERM and exits 3 while an exec'd `sleep` still runs (with and without its
 * own pid namespace, with no stdio and with stdio pipes the host keeps open): the exits and the
 * notification come, and a DeleteContainerState sent right after answers within a few seconds
 * and leaves no process, cgroup, bundle or mount behind. */
static void init_exit_then_delete(struct gcs_harness *f, const char *cid, bool own_pidns,
                                  bool stdio)
{
    /* As runlcow's case B: the init loops on short sleeps (no output: its stdout is not
     * requested, so a write would be SIGPIPE), the exec replaces a shell. */
    static const char *const trap3[] = {"sh", "-c",
                                        "trap 'exit 3' TERM; while :; do sleep 0.1; done", NULL};
    static const char *const long_sleep[] = {"sh", "-c", "echo up; exec sleep 1000", NULL};
    cleanup_error struct lcow_error *err = NULL;
    struct json_object *spec = base_spec(f, trap3, false);
    if (!own_pidns) {
        struct json_object *ns = lcow_json_field(lcow_json_field(spec, "linux"), "namespaces");
        json_object_array_del_idx(ns, 0, 1);
    }
    assert_int_equal(create(f, cid, spec), 0);
    assert_int_equal(simple(f, GCS_MSG_START, cid), 0);
    struct host_process init, ex;
    assert_int_equal(execute(f, cid, NULL, false, false, false, &init), 0);
    assert_int_equal(execute(f, cid, oci_process(long_sleep, false), stdio, stdio, stdio, &ex), 0);
    uint64_t ex_wait = 0;
    if (stdio) {
        char up[8] = {0};
        struct pollfd pfd = {.fd = ex.fd[1], .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, T_MS), 1);
        assert_int_equal(read(ex.fd[1], up, 3), 3);
        assert_string_equal(up, "up\n");
        /* The host also waits on the exec (runlcow exec does), and never closes its stdio. */
        struct gcs_wait_for_process_request q = {
            .base = {.container_id = (char *)cid, .activity_id = (char *)GCS_ZERO_GUID},
            .process_id = ex.pid,
            .timeout_in_ms = INF};
        cleanup_free char *wp = NULL;
        assert_int_equal(gcs_encode_wait_for_process_request(&q, &wp, NULL), 0);
        assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, wp, &ex_wait, &err), 0);
    }
    /* The shell has set its trap once it runs its loop; then SIGTERM. */
    usleep(200 * 1000);
    assert_int_equal(signal_proc(f, cid, init.pid, SIGTERM), 0);
    assert_int_equal(wait_exit(f, cid, init.pid), 3);
    expect_notification(f, cid, GCS_NOTIFY_GRACEFUL_EXIT);
    /* The host deletes right away, the exec's stdio still open on its side. */
    struct host_message m = {0};
    int r = host_bridge_simple(f->b, GCS_MSG_DELETE_CONTAINER_STATE, cid, 5000, &m, &err);
    if (r < 0)
        fail_msg("DeleteContainerState of %s: %s", cid, lcow_error_message(err));
    int32_t hr = -1;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    host_message_done(&m);
    assert_int_equal(hr, 0);
    char bundle[256], rel[64];
    bundle_of(f, cid, bundle, sizeof(bundle));
    snprintf(rel, sizeof(rel), "pods/%s", cid);
    struct stat st;
    assert_int_not_equal(stat(bundle, &st), 0);
    assert_false(cgroup_exists(f, rel));
    assert_false(mounted_under(bundle));
    for (int i = 0; i < 200 && kill((pid_t)ex.pid, 0) == 0; i++)
        usleep(10 * 1000); /* killed, then reaped by gcs's reaper */
    assert_int_equal(kill((pid_t)ex.pid, 0), -1);
    assert_int_equal(kill((pid_t)init.pid, 0), -1);
    if (stdio) {
        /* The exec's wait was answered: its code, or "gone" when the delete came first. */
        struct host_message wm = {0};
        assert_int_equal(host_bridge_recv(f->b, ex_wait, T_MS, &wm, &err), 0);
        int32_t whr = -1;
        assert_int_equal(host_message_result(&wm, &whr, NULL, &err), 0);
        assert_true(whr == 0 || whr == GCS_E_NOT_FOUND);
        host_message_done(&wm);
        char buf[16];
        read_all(ex.fd[1], buf, sizeof(buf)); /* EOF: gcs closed its ends */
        read_all(ex.fd[2], buf, sizeof(buf));
        close(ex.fd[0]);
    }
    assert_int_equal(simple(f, GCS_MSG_DELETE_CONTAINER_STATE, cid), GCS_HCS_E_SYSTEM_NOT_FOUND);
    no_notification(f);
}

static void test_init_exit_with_exec_delete(void **state)
{
    struct gcs_harness *f = *state;
    init_exit_then_delete(f, "ie-pidns", true, false);
    init_exit_then_delete(f, "ie-nopidns", false, false);
    init_exit_then_delete(f, "ie-pidns-io", true, true);
    init_exit_then_delete(f, "ie-nopidns-io", false, true);
}

int main(void)
{
    const char *top = getenv("LCOW_TOP"), *build = getenv("BUILD");
    snprintf(gcs_bin, sizeof(gcs_bin), "%s/%s/bin/gcs", top ? top : ".",
             build && build[0] ? build : "build");
    if (geteuid() != 0) {
        fprintf(stderr, "needs root\n");
        return 77;
    }
    struct stat st;
    if (stat("/sys/fs/cgroup/memory", &st) < 0 || stat("/bin/busybox", &st) < 0) {
        fprintf(stderr, "needs the v1 memory cgroup and busybox-static\n");
        return 77;
    }
    if (getenv("CT_ONLY")) /* debugging: run the tests matching this pattern */
        cmocka_set_test_filter(getenv("CT_ONLY"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_standalone_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty_resize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cri_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_properties_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiters_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_startup_cgroups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tee_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_seccomp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_exit_with_exec_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
