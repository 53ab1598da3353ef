/* Resource limits of gcs (gcs/limits.h, issue 12), each at the limit and one past it, over the
 * real bridge (gcs over unix:, tests/integration/hardening_lib.h):
 *   - bridge message size: a frame of exactly GCS_LIMIT_MESSAGE_BYTES is served; one byte more
 *     drops the connection, gcs redials and renegotiates;
 *   - queued requests: with one worker busy on a device wait, GCS_LIMIT_QUEUED_REQUESTS requests
 *     queue and are answered normally, the next is refused at once;
 *   - argv and environment bytes of an external process, of a container exec (OciProcess) and
 *     of a container's init (the Create spec);
 *   - mounts per container (GCS_LIMIT_MOUNTS);
 *   - processes exec'd into one container (GCS_LIMIT_CONTAINER_PROCESSES); a waited one frees
 *     its slot;
 *   - containers (GCS_LIMIT_CONTAINERS), UVM processes (GCS_LIMIT_UVM_PROCESSES) and stdio
 *     connections (lowered with -max-stdio-connections; hardening_stdio_count covers the real
 *     GCS_LIMIT_STDIO_CONNECTIONS): a freed slot is reusable, and after the cleanup gcs has
 *     the fds, cgroups and mounts it had before, RSS bounded.
 * Past every limit: an error response naming the limit, and gcs keeps serving. gcs runs with
 * the UVM's soft RLIMIT_NOFILE (1024), as its init starts it. HL_ONLY=glob runs a subset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/limits.h"
#include "tests/integration/hardening_lib.h"

static int setup(void **state)
{
    struct gcs_harness *h = NULL;
    if (hl_setup(&h, NULL, NULL) < 0)
        return -1;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    hl_teardown(*state);
    *state = NULL;
    return 0;
}

/* gcs still answers: DumpStacks succeeds. */
static void still_serving(struct gcs_harness *h)
{
    assert_int_equal(hl_simple(h, GCS_MSG_DUMP_STACKS, GCS_UVM_CONTAINER_ID), 0);
}

static void put_header(unsigned char *p, uint32_t type, uint32_t size, uint64_t id)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(type >> (8 * i));
        p[4 + i] = (unsigned char)(size >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        p[8 + i] = (unsigned char)(id >> (8 * i));
}

static void test_message_size(void **state)
{
    struct gcs_harness *h = *state;
    cleanup_error struct lcow_error *err = NULL;
    /* At the cap: a DumpStacks padded with white space to exactly the read cap. */
    const size_t size = GCS_LIMIT_MESSAGE_BYTES;
    cleanup_free unsigned char *f = malloc(size);
    assert_non_null(f);
    static const char body[] =
        "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"ActivityId\":\"" HL_AID "\"}";
    put_header(f, GCS_MSG_DUMP_STACKS, (uint32_t)size, 900001);
    memset(f + GCS_HEADER_SIZE, ' ', size - GCS_HEADER_SIZE);
    memcpy(f + GCS_HEADER_SIZE, body, strlen(body));
    assert_int_equal(host_bridge_track(h->b, 900001, &err), 0);
    assert_int_equal(host_bridge_send_raw(h->b, f, size, &err), 0);
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(h->b, 900001, HL_MS, &m, &err), 0);
    int32_t hr = -1;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    assert_int_equal(hr, 0);
    assert_true(m.len + GCS_HEADER_SIZE <= GCS_MAX_WRITE_MESSAGE);
    host_message_done(&m);

    /* One past: the header alone drops the connection; gcs redials and renegotiates. */
    put_header(f, GCS_MSG_DUMP_STACKS, (uint32_t)size + 1, 900002);
    assert_int_equal(host_bridge_send_raw(h->b, f, GCS_HEADER_SIZE, &err), 0);
    char c;
    for (int i = 0; i < 200 && read(host_bridge_fd(h->b), &c, 1) != 0; i++)
        usleep(10 * 1000); /* EOF: gcs closed its end */
    assert_int_equal(read(host_bridge_fd(h->b), &c, 1), 0);
    assert_int_equal(host_bridge_accept(h->b, HL_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(h->b, HL_MS, &err), 0);
    still_serving(h);
}

/* A MappedVirtualDisk Add whose device never appears holds the only worker for the device
 * timeout; meanwhile GetProperties requests (worker requests) queue up. */
static void test_queued_requests(void **state)
{
    (void)state;
    char sysfs[96], run[96], timeout[16];
    snprintf(sysfs, sizeof(sysfs), "/tmp/lcow-hard-sysfs-%d", (int)getpid());
    snprintf(run, sizeof(run), "/run/lcow-hard-%d", (int)getpid());
    mkdir(sysfs, 0755);
    snprintf(timeout, sizeof(timeout), "%d", 4000);
    const char *extra[] = {"-workers",           "1",     "-sysfs-root", sysfs,
                           "-device-timeout-ms", timeout, NULL};
    struct gcs_harness *h = NULL;
    assert_int_equal(hl_setup(&h, extra, NULL), 0);
    cleanup_error struct lcow_error *err = NULL;
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"ActivityId\":\"" HL_AID
             "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\","
             "\"Settings\":{\"MountPath\":\"%s/m0\",\"Lun\":1,\"ReadOnly\":true}}}",
             run);
    uint64_t blocker = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_MODIFY_SETTINGS, payload, &blocker, &err), 0);
    usleep(300 * 1000); /* the worker has taken it */
    static const char props[] = "{\"ContainerId\":\"nosuch\",\"ActivityId\":\"" HL_AID
                                "\",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"}";
    uint64_t ids[GCS_LIMIT_QUEUED_REQUESTS + 1];
    for (unsigned i = 0; i <= GCS_LIMIT_QUEUED_REQUESTS; i++)
        assert_int_equal(host_bridge_send(h->b, GCS_MSG_GET_PROPERTIES, props, &ids[i], &err), 0);
    /* One past: refused at once, long before the device wait ends. */
    struct host_message m = {0};
    long long t0 = (long long)lcow_now_ns();
    assert_int_equal(host_bridge_recv(h->b, ids[GCS_LIMIT_QUEUED_REQUESTS], HL_MS, &m, &err), 0);
    assert_true((long long)lcow_now_ns() - t0 < 2000000000LL);
    int32_t hr = 0;
    cleanup_free char *msg = NULL;
    assert_int_equal(host_message_result(&m, &hr, &msg, &err), 0);
    assert_int_equal(hr, GCS_E_FAIL);
    assert_non_null(strstr(msg, "requests wait for a worker"));
    host_message_done(&m);
    /* The device wait ends with a bounded-wait error, then every queued request is served. */
    assert_int_equal(host_bridge_recv(h->b, blocker, HL_MS, &m, &err), 0);
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    assert_true(hr < 0);
    host_message_done(&m);
    for (unsigned i = 0; i < GCS_LIMIT_QUEUED_REQUESTS; i++) {
        cleanup_free char *e = NULL;
        assert_int_equal(host_bridge_recv(h->b, ids[i], HL_MS, &m, &err), 0);
        assert_int_equal(host_message_result(&m, &hr, &e, &err), 0);
        assert_int_equal(hr, GCS_HCS_E_SYSTEM_NOT_FOUND);
        host_message_done(&m);
    }
    still_serving(h);
    hl_teardown(h);
    rmdir(sysfs);
    char m0[128];
    snprintf(m0, sizeof(m0), "%s/m0", run);
    rmdir(m0);
    rmdir(run);
}

/* A NULL-terminated argv of `first` followed by padding strings, `total` bytes as execve counts
 * them (each string + NUL). */
static char **sized_strv(const char *first, size_t total, char fill, bool kv)
{
    size_t n = 2 + total / 65536 + 1;
    char **v = calloc(n + 1, sizeof(*v));
    size_t left = total, i = 0;
    v[i++] = strdup(first);
    left -= strlen(first) + 1;
    while (left > 0) {
        size_t len = left > 65536 ? 65536 : left; /* this string's bytes, NUL included */
        if (left - len > 0 && left - len < 8)
            len -= 8; /* leave room for a last string that still has its KEY= */
        char *s = malloc(len);
        memset(s, fill, len - 1);
        s[len - 1] = '\0';
        if (kv) {
            assert_true(len >= 8);
            char key[16];
            snprintf(key, sizeof(key), "K%05u", (unsigned)(i % 100000));
            memcpy(s, key, 6);
            s[6] = '=';
        }
        v[i++] = s;
        left -= len;
    }
    v[i] = NULL;
    return v;
}

static int32_t run_external(struct gcs_harness *h, char **argv, char **env, uint32_t *code)
{
    struct host_exec x = {.argv = (const char *const *)argv, .env = (const char *const *)env};
    struct host_process p;
    int32_t hr = 0;
    cleanup_error struct lcow_error *err = NULL;
    int r = host_bridge_exec(h->b, NULL, &x, HL_MS, &p, &hr, &err);
    if (r == -EREMOTEIO) {
        assert_non_null(strstr(lcow_error_message(err), "more than the limit"));
        return hr;
    }
    if (r < 0)
        fail_msg("exec: %s", lcow_error_message(err));
    host_process_close(&p);
    *code = hl_wait_exit(h, NULL, p.pid);
    return 0;
}

static void test_argv_env_external(void **state)
{
    struct gcs_harness *h = *state;
    static char *small[] = {"true", NULL};
    static char *noenv[] = {"A=B", NULL};
    uint32_t code = 99;
    cleanup_strv char **at = sized_strv("true", GCS_LIMIT_ARGV_BYTES, 'a', false);
    cleanup_strv char **past = sized_strv("true", GCS_LIMIT_ARGV_BYTES + 1, 'a', false);
    assert_int_equal(run_external(h, at, noenv, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(run_external(h, past, noenv, &code), GCS_E_FAIL);
    cleanup_strv char **env_at = sized_strv("PATH=/bin:/usr/bin", GCS_LIMIT_ENV_BYTES, 'e', true);
    cleanup_strv char **env_past =
        sized_strv("PATH=/bin:/usr/bin", GCS_LIMIT_ENV_BYTES + 1, 'e', true);
    code = 99;
    assert_int_equal(run_external(h, small, env_at, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(run_external(h, small, env_past, &code), GCS_E_FAIL);
    still_serving(h);
}

static struct json_object *strv_json(char **v)
{
    return gh_strv((const char *const *)v);
}

static void test_argv_env_container(void **state)
{
    struct gcs_harness *h = *state;
    char bundle[256];
    cleanup_free char *e = NULL;
    /* Create: the init's args past the limit are refused before anything is made. */
    cleanup_strv char **past = sized_strv("true", GCS_LIMIT_ARGV_BYTES + 1, 'a', false);
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"true", NULL});
    json_object_object_add(lcow_json_field(spec, "process"), "args", strv_json(past));
    assert_int_equal(hl_create(h, "argvpast", spec, &e), GCS_E_FAIL);
    assert_non_null(strstr(e, "argv is"));
    gh_bundle_of(h, "argvpast", bundle, sizeof(bundle));
    struct stat st;
    assert_int_not_equal(stat(bundle, &st), 0);
    /* At the limit the init runs. */
    cleanup_strv char **at = sized_strv("true", GCS_LIMIT_ARGV_BYTES, 'a', false);
    spec = hl_base_spec(h, (const char *const[]){"sleep", "30", NULL});
    uint32_t init = hl_run(h, "argv", spec, NULL);
    /* An exec at the limit of env runs, one past is refused. */
    cleanup_strv char **env_at = sized_strv("PATH=/bin", GCS_LIMIT_ENV_BYTES, 'e', true);
    cleanup_strv char **env_past = sized_strv("PATH=/bin", GCS_LIMIT_ENV_BYTES + 1, 'e', true);
    struct json_object *proc = hl_oci_process((const char *const[]){"true", NULL}, false);
    json_object_object_add(proc, "env", strv_json(env_at));
    struct host_process p;
    assert_int_equal(hl_execute(h, "argv", proc, false, false, false, &p, NULL), 0);
    assert_int_equal(hl_wait_exit(h, "argv", p.pid), 0);
    proc = hl_oci_process((const char *const[]){"true", NULL}, false);
    json_object_object_add(proc, "env", strv_json(env_past));
    free(e);
    e = NULL;
    assert_int_equal(hl_execute(h, "argv", proc, false, false, false, &p, &e), GCS_E_FAIL);
    assert_non_null(strstr(e, "environment is"));
    proc = hl_oci_process((const char *const[]){"true", NULL}, false);
    json_object_object_add(proc, "args", strv_json(at));
    assert_int_equal(hl_execute(h, "argv", proc, false, false, false, &p, NULL), 0);
    assert_int_equal(hl_wait_exit(h, "argv", p.pid), 0);
    assert_int_equal(hl_simple(h, GCS_MSG_SHUTDOWN_FORCED, "argv"), 0);
    hl_wait_exit(h, "argv", init);
    hl_expect_notification(h, "argv", GCS_NOTIFY_FORCED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "argv"), 0);
    still_serving(h);
}

static struct json_object *spec_with_mounts(struct gcs_harness *h, unsigned total)
{
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"true", NULL});
    unsigned have = (unsigned)json_object_array_length(lcow_json_field(spec, "mounts"));
    for (unsigned i = have; i < total; i++) {
        char dst[32];
        snprintf(dst, sizeof(dst), "/tmp/m%u", i);
        gh_add_mount(spec, dst, "tmpfs", "tmpfs", (const char *const[]){"size=64k", NULL});
    }
    return spec;
}

static void test_mounts(void **state)
{
    struct gcs_harness *h = *state;
    cleanup_free char *e = NULL;
    int32_t hr = hl_create(h, "mpast", spec_with_mounts(h, GCS_LIMIT_MOUNTS + 1), &e);
    assert_int_equal(hr, GCS_E_FAIL);
    assert_non_null(strstr(e, "more than the limit"));
    char bundle[256];
    gh_bundle_of(h, "mpast", bundle, sizeof(bundle));
    struct stat st;
    assert_int_not_equal(stat(bundle, &st), 0);
    uint32_t pid = hl_run(h, "mat", spec_with_mounts(h, GCS_LIMIT_MOUNTS), NULL);
    assert_int_equal(hl_wait_exit(h, "mat", pid), 0);
    hl_expect_notification(h, "mat", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "mat"), 0);
    assert_int_equal(gh_mounts_under(h->dir), 0);
    still_serving(h);
}

static void test_container_processes(void **state)
{
    struct gcs_harness *h = *state;
    uint32_t init =
        hl_run(h, "procs", hl_base_spec(h, (const char *const[]){"sleep", "60", NULL}), NULL);
    static const char *const sl[] = {"sleep", "60", NULL};
    uint32_t first = 0;
    struct host_process p;
    for (unsigned i = 0; i < GCS_LIMIT_CONTAINER_PROCESSES; i++) {
        cleanup_free char *e = NULL;
        int32_t hr = hl_execute(h, "procs", hl_oci_process(sl, false), false, false, false, &p, &e);
        if (hr != 0)
            fail_msg("exec #%u: 0x%08x %s", i, (unsigned)hr, e);
        if (i == 0)
            first = p.pid;
    }
    /* One past: refused. */
    cleanup_free char *e = NULL;
    assert_int_equal(hl_execute(h, "procs", hl_oci_process(sl, false), false, false, false, &p, &e),
                     GCS_E_FAIL);
    assert_non_null(strstr(e, "the limit"));
    /* A process killed and waited frees its slot. */
    struct gcs_signal_process_request q = {
        .base = {.container_id = (char *)"procs", .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = first};
    cleanup_free char *sig = NULL;
    assert_int_equal(gcs_encode_signal_process_request(&q, &sig, NULL), 0);
    assert_int_equal(hl_call(h, GCS_MSG_SIGNAL_PROCESS, sig, NULL, NULL), 0);
    assert_int_equal(hl_wait_exit(h, "procs", first), 137);
    assert_int_equal(
        hl_execute(h, "procs", hl_oci_process(sl, false), false, false, false, &p, NULL), 0);
    assert_int_equal(hl_simple(h, GCS_MSG_SHUTDOWN_FORCED, "procs"), 0);
    assert_int_equal(hl_wait_exit(h, "procs", init), 137);
    hl_expect_notification(h, "procs", GCS_NOTIFY_FORCED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "procs"), 0);
    still_serving(h);
}

/* ---- counts: containers, UVM processes, stdio connections ------------------------------- */

/* Requests kept in flight by pipelined(): under the worker queue's limit, enough to hide the
 * round trip. */
#define WINDOW 64u

typedef char *(*make_fn)(struct gcs_harness *h, unsigned i, void *arg);
typedef void (*check_fn)(unsigned i, int32_t hr, const char *payload, const char *error, void *arg);

/* Sends `count` requests of `type` (payload i from make, taken), at most WINDOW outstanding,
 * and hands every response to check. */
static void pipelined(struct gcs_harness *h, uint32_t type, unsigned count, make_fn make,
                      check_fn check, void *arg)
{
    cleanup_error struct lcow_error *err = NULL;
    uint64_t ids[WINDOW];
    for (unsigned sent = 0, done = 0; done < count;) {
        for (; sent < count && sent - done < WINDOW; sent++) {
            cleanup_free char *p = make(h, sent, arg);
            assert_non_null(p);
            if (host_bridge_send(h->b, type, p, &ids[sent % WINDOW], &err) < 0)
                fail_msg("request #%u: %s", sent, lcow_error_message(err));
        }
        struct host_message m = {0};
        if (host_bridge_recv(h->b, ids[done % WINDOW], 3 * HL_MS, &m, &err) < 0)
            fail_msg("response #%u: %s", done, lcow_error_message(err));
        int32_t hr = 0;
        cleanup_free char *e = NULL;
        assert_int_equal(host_message_result(&m, &hr, &e, &err), 0);
        check(done, hr, m.payload, e ? e : "", arg);
        host_message_done(&m);
        done++;
    }
}

static void expect_ok(unsigned i, int32_t hr, const char *payload, const char *error, void *arg)
{
    (void)payload;
    (void)arg;
    if (hr != 0)
        fail_msg("request #%u: 0x%08x %s", i, (unsigned)hr, error);
}

/* What gcs holds: compared before a test at a limit and after its cleanup. */
struct footprint {
    int fds, cgroups, mounts;
    long rss_kib;
};

static struct footprint footprint_of(struct gcs_harness *h)
{
    struct footprint f = {gh_gcs_fds(h), gh_cgroups_under(h), gh_mounts_under(h->dir),
                          gh_gcs_rss_kib(h)};
    assert_true(f.fds > 0 && f.cgroups >= 0 && f.mounts >= 0 && f.rss_kib > 0);
    return f;
}

/* Nothing leaked: the same fds (relays may still be closing: a few seconds), cgroups and
 * mounts; RSS within slack_kib of before (what the peak started stays: worker threads' stacks,
 * glibc's cache of freed thread stacks, heap fragments). valgrind finds the same bytes in use
 * at gcs's exit after 5 and after 60 create/delete cycles: no leak behind the slack. */
static void expect_flat(struct gcs_harness *h, const struct footprint *before, const char *what,
                        long slack_kib)
{
    struct footprint after = footprint_of(h);
    for (int i = 0; i < 500 && after.fds != before->fds; i++) {
        usleep(10 * 1000);
        after = footprint_of(h);
    }
    printf("%s: gcs fds %d -> %d, RSS %ld -> %ld KiB, cgroups %d -> %d, mounts %d -> %d\n", what,
           before->fds, after.fds, before->rss_kib, after.rss_kib, before->cgroups, after.cgroups,
           before->mounts, after.mounts);
    assert_int_equal(after.fds, before->fds);
    assert_int_equal(after.cgroups, before->cgroups);
    assert_int_equal(after.mounts, before->mounts);
    const char *san = getenv("SANITIZER"); /* ASan's quarantine and shadow keep RSS up */
    if (!san || !*san)
        assert_true(after.rss_kib <= before->rss_kib + slack_kib);
}

static double seconds_since(uint64_t t0)
{
    return (double)(lcow_now_ns() - t0) / 1e9;
}

static char *create_nth(struct gcs_harness *h, unsigned i, void *arg)
{
    (void)arg;
    char cid[32];
    snprintf(cid, sizeof(cid), "lim%u", i);
    return gh_create_payload(h, cid, gh_base_spec(h, (const char *const[]){"true", NULL}, false));
}

/* DeleteContainerState of lim<i + *first> (first: an unsigned, or NULL for 0). */
static char *delete_nth(struct gcs_harness *h, unsigned i, void *first)
{
    (void)h;
    char cid[32];
    snprintf(cid, sizeof(cid), "lim%u", i + (first ? *(unsigned *)first : 0));
    struct gcs_request_base b = {.container_id = cid, .activity_id = (char *)HL_AID};
    char *p = NULL;
    assert_int_equal(gcs_encode_request_base(&b, &p, NULL), 0);
    return p;
}

/* GCS_LIMIT_CONTAINERS created (not started: the init waits in the executor, as a host's
 * Create leaves it), one more refused, a deleted one frees its slot, and all of them gone
 * leave gcs as it was. gcs runs with the UVM's soft RLIMIT_NOFILE (1024): each created
 * container holds fds, so the limit is only reachable because gcs raises it. */
static void test_containers_at_limit(void **state)
{
    struct gcs_harness *h = *state;
    /* Warm-up: the helper thread and the cgroup layout exist before the baseline. */
    pipelined(h, GCS_MSG_CREATE, 1, create_nth, expect_ok, NULL);
    pipelined(h, GCS_MSG_DELETE_CONTAINER_STATE, 1, delete_nth, expect_ok, NULL);
    struct footprint before = footprint_of(h);
    uint64_t t0 = lcow_now_ns();
    pipelined(h, GCS_MSG_CREATE, GCS_LIMIT_CONTAINERS, create_nth, expect_ok, NULL);
    printf("containers: %u created in %.1f s, gcs %d fds, RSS %ld KiB\n", GCS_LIMIT_CONTAINERS,
           seconds_since(t0), gh_gcs_fds(h), gh_gcs_rss_kib(h));
    /* One past: refused before anything is made. */
    cleanup_free char *e = NULL;
    assert_int_equal(
        hl_create(h, "past", gh_base_spec(h, (const char *const[]){"true", NULL}, false), &e),
        GCS_E_FAIL);
    assert_non_null(strstr(e, "containers"));
    char bundle[256];
    gh_bundle_of(h, "past", bundle, sizeof(bundle));
    struct stat st;
    assert_int_not_equal(stat(bundle, &st), 0);
    still_serving(h);
    /* A deleted container frees its slot: "past" fits now. */
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "lim0"), 0);
    uint32_t init =
        hl_run(h, "past", gh_base_spec(h, (const char *const[]){"true", NULL}, false), NULL);
    assert_int_equal(hl_wait_exit(h, "past", init), 0);
    hl_expect_notification(h, "past", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "past"), 0);
    t0 = lcow_now_ns();
    unsigned first = 1;
    pipelined(h, GCS_MSG_DELETE_CONTAINER_STATE, GCS_LIMIT_CONTAINERS - 1, delete_nth, expect_ok,
              &first);
    printf("containers: %u deleted in %.1f s\n", GCS_LIMIT_CONTAINERS - 1, seconds_since(t0));
    expect_flat(h, &before, "containers", 8192);
    still_serving(h);
}

/* ExecuteProcess of /bin/true in the UVM, no stdio. */
static char *exec_true(struct gcs_harness *h, unsigned i, void *arg)
{
    (void)h;
    (void)i;
    (void)arg;
    static char *const argv[] = {"/bin/true", NULL};
    struct gcs_execute_process_request q = {
        .base = {.container_id = (char *)GCS_UVM_CONTAINER_ID, .activity_id = (char *)HL_AID},
        .params = {.command_line = (char *)"",
                   .command_args = (char **)argv,
                   .working_directory = (char *)""},
    };
    char *p = NULL;
    assert_int_equal(gcs_encode_execute_process_request(&q, &p, NULL), 0);
    return p;
}

static void record_pid(unsigned i, int32_t hr, const char *payload, const char *error, void *pids)
{
    expect_ok(i, hr, payload, error, NULL);
    struct gcs_execute_process_response r = {0};
    assert_int_equal(gcs_decode_execute_process_response(payload, strlen(payload), &r, NULL), 0);
    ((uint32_t *)pids)[i] = r.process_id;
    gcs_execute_process_response_done(&r);
}

/* WaitForProcess (no timeout) of pids[i] in the UVM. */
static char *wait_nth(struct gcs_harness *h, unsigned i, void *pids)
{
    (void)h;
    struct gcs_wait_for_process_request q = {
        .base = {.container_id = (char *)GCS_UVM_CONTAINER_ID, .activity_id = (char *)HL_AID},
        .process_id = ((uint32_t *)pids)[i],
        .timeout_in_ms = HL_INF,
    };
    char *p = NULL;
    assert_int_equal(gcs_encode_wait_for_process_request(&q, &p, NULL), 0);
    return p;
}

/* GCS_LIMIT_UVM_PROCESSES counts what gcs tracks: running, or exited and not yet waited (the
 * host may wait late). So processes that exit at once and are not waited fill the table as
 * cheaply as it gets; one more is refused; a wait frees a slot; waiting all empties it. */
static void test_uvm_processes_at_limit(void **state)
{
    struct gcs_harness *h = *state;
    const unsigned n = GCS_LIMIT_UVM_PROCESSES;
    cleanup_free uint32_t *pids = calloc(n + 1, sizeof(*pids));
    assert_non_null(pids);
    pipelined(h, GCS_MSG_EXECUTE_PROCESS, 1, exec_true, record_pid, pids);
    pipelined(h, GCS_MSG_WAIT_FOR_PROCESS, 1, wait_nth, expect_ok, pids);
    struct footprint before = footprint_of(h);
    uint64_t t0 = lcow_now_ns();
    pipelined(h, GCS_MSG_EXECUTE_PROCESS, n, exec_true, record_pid, pids);
    printf("UVM processes: %u started in %.1f s, gcs %d fds, RSS %ld KiB\n", n, seconds_since(t0),
           gh_gcs_fds(h), gh_gcs_rss_kib(h));
    /* One past: refused, and gcs serves on. */
    cleanup_free char *p = exec_true(h, 0, NULL);
    cleanup_free char *e = NULL;
    assert_int_equal(hl_call(h, GCS_MSG_EXECUTE_PROCESS, p, NULL, &e), GCS_E_FAIL);
    assert_non_null(strstr(e, "the limit is"));
    still_serving(h);
    /* A wait frees a slot: one more fits, then nothing. */
    assert_int_equal(hl_wait_exit(h, NULL, pids[0]), 0);
    pipelined(h, GCS_MSG_EXECUTE_PROCESS, 1, exec_true, record_pid, pids);
    free(e);
    e = NULL;
    assert_int_equal(hl_call(h, GCS_MSG_EXECUTE_PROCESS, p, NULL, &e), GCS_E_FAIL);
    t0 = lcow_now_ns();
    pipelined(h, GCS_MSG_WAIT_FOR_PROCESS, n, wait_nth, expect_ok, pids);
    printf("UVM processes: %u waited in %.1f s\n", n, seconds_since(t0));
    /* The table is empty: a second wait does not find the process (§4.5). */
    uint32_t code = 0;
    assert_int_equal(hl_wait(h, NULL, pids[1], HL_INF, &code), GCS_E_NOT_FOUND);
    expect_flat(h, &before, "UVM processes", 4096);
    still_serving(h);
}

/* Stdio connections held at once by container execs that keep running with all three streams
 * (and one with stdin alone, to land exactly on the limit): one more stream is refused before
 * it is dialled, an exec without stdio still runs, a process gone (its streams closed by the
 * host) frees its share, and the count is global across containers. The real
 * GCS_LIMIT_STDIO_CONNECTIONS takes 1366 processes (a minute here, each fork of gcs slower
 * with every relay thread and fd): this gcs runs with the test hook -max-stdio-connections
 * STDIO_LIMIT, and hardening_stdio_count covers the counting at the real limit. */
#define STDIO_LIMIT 601u
#define STDIO_CTS   2u

/* "Max open files" soft and hard of a /proc/PID/limits text. */
static void nofile_of(const char *limits, unsigned long *soft, unsigned long *hard)
{
    const char *l = strstr(limits, "Max open files");
    assert_non_null(l);
    assert_int_equal(sscanf(l + strlen("Max open files"), "%lu %lu", soft, hard), 2);
}

/* gcs runs with its soft RLIMIT_NOFILE raised to the hard one (the limits above need it), and
 * what it starts gets the limit gcs was started with (GH_UVM_NOFILE): an external process, and
 * a container whose spec sets none; a spec's own RLIMIT_NOFILE is kept. */
static void test_nofile(void **state)
{
    struct gcs_harness *h = *state;
    char p[64], buf[8192];
    snprintf(p, sizeof(p), "/proc/%d/limits", (int)h->gcs);
    cleanup_free char *gl = NULL;
    assert_int_equal(lcow_read_file(p, 1u << 20, &gl, NULL, NULL), 0);
    unsigned long soft = 0, hard = 0;
    nofile_of(gl, &soft, &hard);
    assert_int_equal(soft, hard);
    assert_true(soft > GH_UVM_NOFILE);
    const char *const cat[] = {"cat", "/proc/self/limits", NULL};
    /* External process. */
    struct host_exec x = {.argv = (const char *const[]){"/bin/cat", "/proc/self/limits", NULL},
                          .std_out = true};
    struct host_process ext;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_exec(h->b, NULL, &x, HL_MS, &ext, NULL, &err), 0);
    hl_read_all(ext.fd[1], buf, sizeof(buf));
    assert_int_equal(hl_wait_exit(h, NULL, ext.pid), 0);
    unsigned long s2 = 0, h2 = 0;
    nofile_of(buf, &s2, &h2);
    assert_int_equal(s2, GH_UVM_NOFILE);
    assert_int_equal(h2, hard);
    /* Container without rlimits, then one with its own. */
    int out = -1;
    uint32_t pid = hl_run(h, "nofile", hl_base_spec(h, cat), &out);
    hl_read_all(out, buf, sizeof(buf));
    assert_int_equal(hl_wait_exit(h, "nofile", pid), 0);
    hl_expect_notification(h, "nofile", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "nofile"), 0);
    nofile_of(buf, &s2, &h2);
    assert_int_equal(s2, GH_UVM_NOFILE);
    assert_int_equal(h2, hard);
    struct json_object *spec = hl_base_spec(h, cat), *rl = json_object_new_array();
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string("RLIMIT_NOFILE"));
    json_object_object_add(e, "soft", json_object_new_int(300));
    json_object_object_add(e, "hard", json_object_new_int(400));
    json_object_array_add(rl, e);
    json_object_object_add(lcow_json_field(spec, "process"), "rlimits", rl);
    pid = hl_run(h, "nofile2", spec, &out);
    hl_read_all(out, buf, sizeof(buf));
    assert_int_equal(hl_wait_exit(h, "nofile2", pid), 0);
    hl_expect_notification(h, "nofile2", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "nofile2"), 0);
    nofile_of(buf, &s2, &h2);
    assert_int_equal(s2, 300);
    assert_int_equal(h2, 400);
}

static int setup_stdio(void **state)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%u", STDIO_LIMIT);
    struct gcs_harness *h = NULL;
    if (hl_setup(&h, (const char *const[]){"-max-stdio-connections", limit, NULL}, NULL) < 0)
        return -1;
    *state = h;
    return 0;
}

static void test_stdio_at_limit(void **state)
{
    struct gcs_harness *h = *state;
    const unsigned full = STDIO_LIMIT / 3, n = full + (STDIO_LIMIT % 3 != 0);
    assert_true(STDIO_LIMIT % 3 <= 1 && n <= STDIO_CTS * GCS_LIMIT_CONTAINER_PROCESSES);
    static const char *const sl[] = {"sleep", "120", NULL};
    char cid[STDIO_CTS][16];
    uint32_t init[STDIO_CTS];
    struct footprint before = footprint_of(h);
    for (unsigned c = 0; c < STDIO_CTS; c++) {
        snprintf(cid[c], sizeof(cid[c]), "stdio%u", c);
        init[c] = hl_run(h, cid[c], hl_base_spec(h, sl), NULL);
    }
    cleanup_free struct host_process *procs = calloc(n, sizeof(*procs));
    assert_non_null(procs);
    uint64_t t0 = lcow_now_ns();
    for (unsigned i = 0; i < n; i++) {
        bool all = i < full;
        cleanup_free char *e = NULL;
        /* The last holds stdin alone: its copier thread has no output relay beside it. */
        int32_t hr = hl_execute(h, cid[i % STDIO_CTS], hl_oci_process(sl, false), true, all, all,
                                &procs[i], &e);
        if (hr != 0)
            fail_msg("exec #%u: 0x%08x %s", i, (unsigned)hr, e);
    }
    printf("stdio: %u connections held by %u execs (%.1f s), gcs %d fds, RSS %ld KiB\n",
           STDIO_LIMIT, n, seconds_since(t0), gh_gcs_fds(h), gh_gcs_rss_kib(h));
    /* One past, in either container: refused before anything is dialled. */
    for (unsigned c = 0; c < STDIO_CTS; c++) {
        cleanup_free char *e = NULL;
        struct host_process extra;
        assert_int_equal(
            hl_execute(h, cid[c], hl_oci_process(sl, false), false, true, false, &extra, &e),
            GCS_E_FAIL);
        assert_non_null(strstr(e, "stdio"));
        assert_non_null(strstr(e, "the limit"));
    }
    /* No stdio asked: not this limit's business. */
    struct host_process quiet;
    assert_int_equal(hl_execute(h, cid[1],
                                hl_oci_process((const char *const[]){"true", NULL}, false), false,
                                false, false, &quiet, NULL),
                     0);
    assert_int_equal(hl_wait_exit(h, cid[1], quiet.pid), 0);
    still_serving(h);
    /* procs[0] killed, its streams closed by the host (§1.6), waited: its three are free. */
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_signal(h->b, cid[0], procs[0].pid, 9, HL_MS, NULL, &err), 0);
    host_process_close(&procs[0]);
    assert_int_equal(hl_wait_exit(h, cid[0], procs[0].pid), 137);
    assert_int_equal(
        hl_execute(h, cid[1], hl_oci_process(sl, false), true, true, true, &procs[0], NULL), 0);
    /* Cleanup: each container forced down with the host's ends closed. */
    for (unsigned c = 0; c < STDIO_CTS; c++) {
        assert_int_equal(hl_simple(h, GCS_MSG_SHUTDOWN_FORCED, cid[c]), 0);
        for (unsigned i = 0; i < n; i++)
            host_process_close(&procs[i]);
        assert_int_equal(hl_wait_exit(h, cid[c], init[c]), 137);
        hl_expect_notification(h, cid[c], GCS_NOTIFY_FORCED_EXIT);
        assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, cid[c]), 0);
    }
    expect_flat(h, &before, "stdio", 16384);
    still_serving(h);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "hardening_limits: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_message_size, setup, teardown),
        cmocka_unit_test(test_queued_requests),
        cmocka_unit_test_setup_teardown(test_argv_env_external, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argv_env_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nofile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containers_at_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uvm_processes_at_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdio_at_limit, setup_stdio, teardown),
    };
    if (getenv("HL_ONLY")) /* a subset while debugging: a cmocka glob such as "*stdio*" */
        cmocka_set_test_filter(getenv("HL_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
