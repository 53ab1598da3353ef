/* make bench: containers through the bridge (gcs over unix:) against floors in the same run.
 *   - Create + Execute(init) + Wait of a /bin/true container, median, vs `ocirun run` of the
 *     same bundle (the executor alone): the difference is the bridge's overhead per container;
 *   - Execute + Wait of an exec (`true`) in a running container, median;
 *   - stdio throughput: `cat` of 1 GiB through the init's relays vs the same busybox cat fed
 *     and drained over plain unix sockets (no gcs);
 *   - gcs RSS idle and with 50 running containers.
 * Targets (issue 6): overhead <= 1 ms, stdio >= 80 % of raw, RSS with 50 <= 4 MiB. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "tests/lib/gcs_harness.h"

#define T_MS    60000
#define RUNS    30
#define EXECS   200
#define N_LIVE  50
#define STDIO_B (1ull << 30)

static struct gcs_harness gh;
static char bin_dir[512];

static void die(const char *what, struct lcow_error *e)
{
    fprintf(stderr, "containers_bench: %s: %s\n", what, e ? lcow_error_message(e) : "failed");
    exit(1);
}

static struct json_object *strv(const char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (; *v; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

static struct json_object *process(const char *const *args)
{
    struct json_object *p = json_object_new_object(), *u = json_object_new_object();
    json_object_object_add(u, "uid", json_object_new_int(0));
    json_object_object_add(u, "gid", json_object_new_int(0));
    json_object_object_add(p, "user", u);
    json_object_object_add(p, "args", strv(args));
    json_object_object_add(p, "env", strv((const char *const[]){"PATH=/bin", NULL}));
    json_object_object_add(p, "cwd", json_object_new_string("/"));
    return p;
}

static struct json_object *spec(const char *const *args, const char *cgpath)
{
    struct json_object *s = json_object_new_object(), *root = json_object_new_object();
    json_object_object_add(s, "ociVersion", json_object_new_string("1.0.2"));
    json_object_object_add(s, "process", process(args));
    json_object_object_add(root, "path", json_object_new_string(gh.rootfs));
    json_object_object_add(root, "readonly", json_object_new_boolean(1));
    json_object_object_add(s, "root", root);
    struct json_object *mounts = json_object_new_array(), *m = json_object_new_object();
    json_object_object_add(m, "destination", json_object_new_string("/proc"));
    json_object_object_add(m, "type", json_object_new_string("proc"));
    json_object_object_add(m, "source", json_object_new_string("proc"));
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
    if (cgpath)
        json_object_object_add(lx, "cgroupsPath", json_object_new_string(cgpath));
    json_object_object_add(s, "linux", lx);
    return s;
}

static int32_t call(uint32_t type, const char *payload, char **ret)
{
    cleanup_error struct lcow_error *e = NULL;
    struct host_message m = {0};
    int32_t hr = 0;
    if (host_bridge_call(gh.b, type, payload, T_MS, &m, &e) < 0 ||
        host_message_result(&m, &hr, NULL, &e) < 0)
        die("call", e);
    if (ret)
        *ret = strdup(m.payload);
    host_message_done(&m);
    return hr;
}

static void create(const char *cid, struct json_object *s)
{
    char bundle[256];
    snprintf(bundle, sizeof(bundle), "%s/c/%s", gh.dir, cid);
    struct json_object *cfg = json_object_new_object(), *sv = json_object_new_object();
    json_object_object_add(sv, "Major", json_object_new_int(2));
    json_object_object_add(sv, "Minor", json_object_new_int(1));
    json_object_object_add(cfg, "SchemaVersion", sv);
    json_object_object_add(cfg, "OciBundlePath", json_object_new_string(bundle));
    json_object_object_add(cfg, "OciSpecification", s);
    struct json_object *req = json_object_new_object();
    json_object_object_add(req, "ContainerId", json_object_new_string(cid));
    json_object_object_add(req, "ActivityId", json_object_new_string(GCS_ZERO_GUID));
    json_object_object_add(
        req, "ContainerConfig",
        json_object_new_string(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)));
    if (call(GCS_MSG_CREATE, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), NULL))
        die("create", NULL);
    json_object_put(req);
    json_object_put(cfg);
}

static uint32_t execute(const char *cid, struct json_object *proc, bool in, bool out, int fds[3])
{
    uint32_t ports[3] = {0};
    int lfd[3] = {-1, -1, -1};
    cleanup_error struct lcow_error *e = NULL;
    const bool want[3] = {in, out, false};
    for (int i = 0; i < 3; i++)
        if (want[i] && (lfd[i] = host_bridge_stdio_listen(gh.b, &ports[i], &e)) < 0)
            die("listen", e);
    struct gcs_execute_process_request q = {
        .base = {.container_id = (char *)cid, .activity_id = (char *)GCS_ZERO_GUID},
        .params = {.command_line = (char *)"",
                   .working_directory = (char *)"",
                   .create_std_in_pipe = in,
                   .create_std_out_pipe = out,
                   .oci_process = proc},
        .relay = {ports[0], ports[1], ports[2]},
    };
    cleanup_free char *payload = NULL, *resp = NULL;
    if (gcs_encode_execute_process_request(&q, &payload, &e) < 0)
        die("encode", e);
    json_object_put(proc);
    if (call(GCS_MSG_EXECUTE_PROCESS, payload, &resp))
        die("execute", NULL);
    struct gcs_execute_process_response r = {0};
    if (gcs_decode_execute_process_response(resp, strlen(resp), &r, &e) < 0)
        die("decode", e);
    for (int i = 0; i < 3; i++)
        if (fds)
            fds[i] = lfd[i] >= 0 ? host_stdio_accept(lfd[i], T_MS, &e) : -1;
    return r.process_id;
}

static uint32_t wait_exit(const char *cid, uint32_t pid)
{
    cleanup_error struct lcow_error *e = NULL;
    uint32_t code = 0;
    if (host_bridge_wait_process(gh.b, cid, pid, GCS_INFINITE_TIMEOUT, T_MS, &code, NULL, &e) < 0)
        die("wait", e);
    return code;
}

static void simple(uint32_t type, const char *cid)
{
    cleanup_error struct lcow_error *e = NULL;
    struct host_message m = {0};
    if (host_bridge_simple(gh.b, type, cid, T_MS, &m, &e) < 0)
        die("request", e);
    host_message_done(&m);
}

static void drain_notification(void)
{
    struct host_message m = {0};
    cleanup_error struct lcow_error *e = NULL;
    if (host_bridge_next_notification(gh.b, T_MS, &m, &e) < 0)
        die("notification", e);
    host_message_done(&m);
}

static int cmp_d(const void *a, const void *b2)
{
    double x = *(const double *)a, y = *(const double *)b2;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    return v[n / 2];
}

static double now_ms(void)
{
    return (double)lcow_now_ns() / 1e6;
}

/* ---- floors --------------------------------------------------------------------------------- */

static double ocirun_run(int i)
{
    char bundle[256], id[32], cfg[300], root[200], cg[128], ocirun[600];
    snprintf(id, sizeof(id), "floor%d", i);
    snprintf(bundle, sizeof(bundle), "%s/floor/%s", gh.dir, id);
    snprintf(cfg, sizeof(cfg), "%s/config.json", bundle);
    snprintf(root, sizeof(root), "%s/ocirun", gh.dir);
    snprintf(cg, sizeof(cg), "%s/floor/%s", gh.cgroot, id);
    snprintf(ocirun, sizeof(ocirun), "%s/ocirun", bin_dir);
    lcow_mkdir_p(bundle, 0755, NULL);
    struct json_object *s = spec((const char *const[]){"true", NULL}, cg);
    const char *text = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN);
    lcow_write_file(cfg, text, strlen(text), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
    json_object_put(s);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        execl(ocirun, ocirun, "--root", root, "run", "-b", bundle, id, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double t = now_ms() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("ocirun run", NULL);
    return t;
}

struct feeder {
    int fd;
    uint64_t bytes;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    char *buf = calloc(1, 1 << 20);
    for (uint64_t left = f->bytes; left;) {
        size_t n = left < (1u << 20) ? (size_t)left : 1u << 20;
        if (lcow_write_all(f->fd, buf, n) < 0)
            break;
        left -= n;
    }
    shutdown(f->fd, SHUT_WR);
    free(buf);
    return NULL;
}

static void *feed_pipe(void *arg)
{
    struct feeder *f = arg;
    char *buf = calloc(1, 1 << 20);
    for (uint64_t left = f->bytes; left;) {
        size_t n = left < (1u << 20) ? (size_t)left : 1u << 20;
        if (lcow_write_all(f->fd, buf, n) < 0)
            break;
        left -= n;
    }
    close(f->fd);
    free(buf);
    return NULL;
}

/* Pumps STDIO_B bytes into in and counts what comes out of out; MiB/s. */
static double pump(int in, int out)
{
    struct feeder f = {in, STDIO_B};
    pthread_t t;
    double t0 = now_ms();
    pthread_create(&t, NULL, feed, &f);
    char *buf = malloc(1 << 20);
    uint64_t got = 0;
    ssize_t n;
    while ((n = read(out, buf, 1 << 20)) > 0)
        got += (uint64_t)n;
    pthread_join(t, NULL);
    double ms = now_ms() - t0;
    free(buf);
    if (got != STDIO_B)
        die("stdio byte count", NULL);
    return (double)STDIO_B / (1 << 20) / (ms / 1000.0);
}

static double raw_cat(void)
{
    int a[2], c[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(a[1], 0);
        dup2(c[1], 1);
        execl("/bin/busybox", "cat", (char *)NULL);
        _exit(127);
    }
    close(a[1]);
    close(c[1]);
    double r = pump(a[0], c[0]);
    close(a[0]);
    close(c[0]);
    waitpid(pid, NULL, 0);
    return r;
}

/* The same cat between plain pipes: what the container process itself sees (busybox cat
 * cannot sendfile between pipes, so this floor is lower than the socket one). */
static double pipe_cat(void)
{
    int a[2], c[2];
    if (pipe2(a, O_CLOEXEC) < 0 || pipe2(c, O_CLOEXEC) < 0)
        die("pipe", NULL);
    fcntl(a[1], F_SETPIPE_SZ, 1 << 20);
    fcntl(c[1], F_SETPIPE_SZ, 1 << 20);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(a[0], 0);
        dup2(c[1], 1);
        execl("/bin/busybox", "cat", (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(c[1]);
    struct feeder f = {a[1], STDIO_B};
    pthread_t t;
    double t0 = now_ms();
    pthread_create(&t, NULL, feed_pipe, &f);
    char *buf = malloc(1 << 20);
    uint64_t got = 0;
    ssize_t n;
    while ((n = read(c[0], buf, 1 << 20)) > 0)
        got += (uint64_t)n;
    pthread_join(t, NULL);
    double ms = now_ms() - t0;
    free(buf);
    close(c[0]);
    waitpid(pid, NULL, 0);
    if (got != STDIO_B)
        die("stdio byte count", NULL);
    return (double)STDIO_B / (1 << 20) / (ms / 1000.0);
}

static double gcs_cat(void)
{
    create("cat", spec((const char *const[]){"cat", NULL}, NULL));
    int fds[3];
    uint32_t pid = execute("cat", NULL, true, true, fds);
    double r = pump(fds[0], fds[1]);
    close(fds[0]);
    close(fds[1]);
    wait_exit("cat", pid);
    drain_notification();
    simple(GCS_MSG_DELETE_CONTAINER_STATE, "cat");
    return r;
}

static long rss_kb(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    cleanup_free char *s = NULL;
    if (lcow_read_file(p, 1 << 16, &s, NULL, NULL) < 0)
        return -1;
    const char *v = strstr(s, "VmRSS:");
    return v ? strtol(v + 6, NULL, 10) : -1;
}

/* ---- setup / cleanup ----------------------------------------------------------------------- */

static void cleanup(void)
{
    gh_teardown(&gh);
}

int main(void)
{
    const char *top = getenv("LCOW_TOP"), *build = getenv("BUILD");
    snprintf(bin_dir, sizeof(bin_dir), "%s/%s/bin", top ? top : ".",
             build && build[0] ? build : "build");
    struct stat st;
    if (geteuid() != 0 || stat("/bin/busybox", &st) < 0) {
        fprintf(stderr, "containers_bench: needs root and busybox-static\n");
        return 77;
    }
    if (gh_init(&gh, "lcow-ctb") < 0)
        return 1;
    atexit(cleanup);
    if (gh_make_rootfs(gh.rootfs, (const char *const[]){"sh", "cat", "sleep", "true", NULL}) < 0)
        die("rootfs", NULL);
    char gcs_bin[600];
    snprintf(gcs_bin, sizeof(gcs_bin), "%s/gcs", bin_dir);
    cleanup_error struct lcow_error *e = NULL;
    if (gh_start(&gh,
                 (const char *const[]){gcs_bin, "-v4", "-loglevel", "warning", "-logfile", gh.log,
                                       "-bridge", gh.addr, "-cgroup-root", gh.cgroot,
                                       "-disable-time-sync", NULL},
                 true, T_MS, &e) < 0)
        die("start gcs", e);

    /* Create + Execute(init) + Wait of a /bin/true container vs ocirun run, interleaved. */
    double tg[RUNS], tf[RUNS], te[EXECS];
    for (int i = 0; i < RUNS; i++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "t%d", i);
        double t0 = now_ms();
        create(cid, spec((const char *const[]){"true", NULL}, NULL));
        uint32_t pid = execute(cid, NULL, false, false, NULL);
        wait_exit(cid, pid);
        tg[i] = now_ms() - t0;
        drain_notification();
        simple(GCS_MSG_DELETE_CONTAINER_STATE, cid);
        tf[i] = ocirun_run(i);
    }
    double mg = median(tg, RUNS), mf = median(tf, RUNS);

    create("sleeper", spec((const char *const[]){"sleep", "600", NULL}, NULL));
    uint32_t init = execute("sleeper", NULL, false, false, NULL);
    for (int i = 0; i < EXECS; i++) {
        double t0 = now_ms();
        uint32_t pid =
            execute("sleeper", process((const char *const[]){"true", NULL}), false, false, NULL);
        wait_exit("sleeper", pid);
        te[i] = now_ms() - t0;
    }
    double me = median(te, EXECS);
    simple(GCS_MSG_SHUTDOWN_FORCED, "sleeper");
    wait_exit("sleeper", init);
    drain_notification();
    simple(GCS_MSG_DELETE_CONTAINER_STATE, "sleeper");

    double raw = raw_cat(), piped = pipe_cat(), via = gcs_cat();

    long rss0 = rss_kb(gh.gcs);
    for (int i = 0; i < N_LIVE; i++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "live%d", i);
        create(cid, spec((const char *const[]){"sleep", "600", NULL}, NULL));
        execute(cid, NULL, false, false, NULL);
    }
    long rss50 = rss_kb(gh.gcs);

    printf("containers over the bridge (unix:, medians of %d):\n", RUNS);
    printf("  Create+Execute(init)+Wait of /bin/true: %.2f ms; ocirun run (floor): %.2f ms; "
           "bridge overhead %.2f ms (target <= 1)\n",
           mg, mf, mg - mf);
    printf("  Execute+Wait of an exec (`true`, median of %d): %.2f ms\n", EXECS, me);
    printf("  stdio cat of 1 GiB: gcs relays %.0f MiB/s, raw unix sockets %.0f MiB/s, ratio %.2f "
           "(target >= 0.80)\n",
           via, raw, raw > 0 ? via / raw : 0);
    /* The fair floor for the relays: a container process gets pipes (as under the Go GCS);
     * the raw floor's cat has sockets, which the kernel moves faster than pipes. */
    printf("  (the same cat between plain pipes, no gcs: %.0f MiB/s; gcs/pipes %.2f: the relays' "
           "own cost, the process having pipes either way)\n",
           piped, piped > 0 ? via / piped : 0);
    printf("  gcs RSS: before %ld KiB, with %d running containers %ld KiB (target <= 4096)\n", rss0,
           N_LIVE, rss50);
    return 0;
}
