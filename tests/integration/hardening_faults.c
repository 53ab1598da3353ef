/* Faults (issue 12), each against the real gcs over unix: (tests/integration/hardening_lib.h):
 *   - the host closes the bridge mid-request (a wait in flight, half a frame): gcs redials,
 *     renegotiates, and the exit notification arrives exactly once, after the exit code has
 *     reached the host (§1.6);
 *   - the host closes a stdio stream early: no hang (gcs drains stdout), the process is still
 *     waited;
 *   - a container's init is OOM-killed: 137, one notification, gcs keeps serving;
 *   - the scratch filesystem fills up: ENOSPC reported (Create) or seen by the container,
 *     gcs keeps serving;
 *   - a device never appears: bounded wait, error response, gcs keeps serving;
 *   - a process ignores SIGTERM: ShutdownGraceful does not stop it, ShutdownForced does;
 *   - 100 containers created and deleted in parallel, twice: no leak of fds, mounts or cgroups
 *     in gcs, RSS after the second round within 1 MiB of the first (printed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
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

static void still_serving(struct gcs_harness *h)
{
    assert_int_equal(hl_simple(h, GCS_MSG_DUMP_STACKS, GCS_UVM_CONTAINER_ID), 0);
}

static char *wait_payload(const char *cid, uint32_t pid)
{
    char *p = NULL;
    assert_true(asprintf(&p,
                         "{\"ContainerId\":\"%s\",\"ActivityId\":\"" HL_AID
                         "\",\"ProcessId\":%u,\"TimeoutInMs\":4294967295}",
                         cid, pid) > 0);
    return p;
}

static void test_bridge_drop_mid_request(void **state)
{
    struct gcs_harness *h = *state;
    cleanup_error struct lcow_error *err = NULL;
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"sleep", "1", NULL});
    uint32_t pid = hl_run(h, "drop", spec, NULL);
    /* A WaitForProcess in flight, then half of another frame, then the connection goes. */
    cleanup_free char *w = wait_payload("drop", pid);
    uint64_t id = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_WAIT_FOR_PROCESS, w, &id, &err), 0);
    unsigned char half[GCS_HEADER_SIZE + 8] = {0x01, 0x06, 0x10, 0x10, 0x00, 0x01};
    assert_int_equal(host_bridge_send_raw(h->b, half, sizeof(half), &err), 0);
    host_bridge_drop(h->b);
    /* The init exits while no host is connected; gcs redials. */
    usleep(1500 * 1000);
    assert_int_equal(host_bridge_accept(h->b, HL_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(h->b, HL_MS, &err), 0);
    /* The wait's answer went down with the old connection, so nobody has the exit code yet:
     * no notification until the host waits again (§1.6 order), then exactly one. */
    hl_no_notification(h, 300);
    assert_int_equal(hl_wait_exit(h, "drop", pid), 0);
    hl_expect_notification(h, "drop", GCS_NOTIFY_UNEXPECTED_EXIT);
    hl_no_notification(h, 500);
    assert_int_equal(hl_wait_exit(h, "drop", pid), 0);
    hl_no_notification(h, 300);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "drop"), 0);
    still_serving(h);
}

static void test_stdio_closed_early(void **state)
{
    struct gcs_harness *h = *state;
    /* stdout closed by the host at once: gcs drains the pipe, so a process writing 16 MiB (far
     * more than the pipe and socket buffers) still runs to its end and gets waited. */
    struct json_object *spec =
        hl_base_spec(h, (const char *const[]){"dd", "if=/dev/zero", "bs=64k", "count=256", NULL});
    int out = -1;
    uint32_t pid = hl_run(h, "dd", spec, &out);
    close(out);
    assert_int_equal(hl_wait_exit(h, "dd", pid), 0);
    hl_expect_notification(h, "dd", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "dd"), 0);
    /* stdin closed by the host before anything was sent: cat sees EOF and exits 0. */
    spec = hl_base_spec(h, (const char *const[]){"cat", NULL});
    assert_int_equal(hl_create(h, "cat", spec, NULL), 0);
    assert_int_equal(hl_simple(h, GCS_MSG_START, "cat"), 0);
    struct host_process p;
    assert_int_equal(hl_execute(h, "cat", NULL, true, true, true, &p, NULL), 0);
    close(p.fd[0]);
    close(p.fd[2]); /* and stderr, never read */
    char buf[64];
    assert_int_equal(hl_read_all(p.fd[1], buf, sizeof(buf)), 0);
    assert_int_equal(hl_wait_exit(h, "cat", p.pid), 0);
    hl_expect_notification(h, "cat", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "cat"), 0);
    still_serving(h);
}

static void test_oom(void **state)
{
    struct gcs_harness *h = *state;
    static const char *const args[] = {"dd",     "if=/dev/zero", "of=/dev/null",
                                       "bs=64M", "count=1",      NULL};
    struct json_object *spec = hl_base_spec(h, args);
    struct json_object *res = json_object_new_object(), *mem = json_object_new_object();
    json_object_object_add(mem, "limit", json_object_new_int64(16 << 20));
    json_object_object_add(mem, "swap", json_object_new_int64(16 << 20));
    json_object_object_add(res, "memory", mem);
    json_object_object_add(lcow_json_field(spec, "linux"), "resources", res);
    uint32_t pid = hl_run(h, "oom", spec, NULL);
    assert_int_equal(hl_wait_exit(h, "oom", pid), 137);
    hl_expect_notification(h, "oom", GCS_NOTIFY_UNEXPECTED_EXIT);
    hl_no_notification(h, 300);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "oom"), 0);
    still_serving(h);
}

/* Fills the filesystem holding dir (a small tmpfs) with one file. */
static void fill(const char *dir)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/filler", dir);
    cleanup_close int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    static char block[65536];
    while (write(fd, block, sizeof(block)) > 0)
        ;
    assert_int_equal(errno, ENOSPC);
}

static void test_scratch_enospc(void **state)
{
    struct gcs_harness *h = *state;
    char full[128], root[160], bundle[160];
    snprintf(full, sizeof(full), "%s/full", h->dir);
    assert_int_equal(mkdir(full, 0755), 0);
    assert_int_equal(mount("tmpfs", full, "tmpfs", 0, "size=4m"), 0);
    snprintf(root, sizeof(root), "%s/rootfs", full);
    hl_make_rootfs(root);
    fill(full);
    /* gcs's own writes into a full bundle directory: ENOSPC in the error, nothing left. */
    snprintf(bundle, sizeof(bundle), "%s/b1", full);
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"true", NULL});
    cleanup_free char *create = gh_create_payload_at("full1", bundle, spec);
    cleanup_free char *e = NULL;
    int32_t hr = hl_call(h, GCS_MSG_CREATE, create, NULL, &e);
    assert_true(hr < 0);
    assert_non_null(strstr(e, "No space left on device"));
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "full1"),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    still_serving(h);
    /* A container writing into a full writable rootfs sees ENOSPC; gcs keeps serving. */
    char filler[200];
    snprintf(filler, sizeof(filler), "%s/filler", full);
    unlink(filler);
    spec = hl_base_spec(
        h,
        (const char *const[]){"sh", "-c", "dd if=/dev/zero of=/big bs=64k 2>&1; echo rc=$?", NULL});
    json_object_object_add(lcow_json_field(spec, "root"), "path", json_object_new_string(root));
    json_object_object_add(lcow_json_field(spec, "root"), "readonly", json_object_new_boolean(0));
    int out = -1;
    uint32_t pid = hl_run(h, "full2", spec, &out);
    char buf[1024];
    hl_read_all(out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "No space left on device"));
    assert_non_null(strstr(buf, "rc=1"));
    assert_int_equal(hl_wait_exit(h, "full2", pid), 0);
    hl_expect_notification(h, "full2", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "full2"), 0);
    still_serving(h);
    umount2(full, MNT_DETACH);
}

static void test_device_never_appears(void **state)
{
    (void)state;
    char sysfs[96], run[96];
    snprintf(sysfs, sizeof(sysfs), "/tmp/lcow-hard-sysfs-f%d", (int)getpid());
    snprintf(run, sizeof(run), "/run/lcow-hard-f%d", (int)getpid());
    mkdir(sysfs, 0755);
    const char *extra[] = {"-sysfs-root", sysfs, "-device-timeout-ms", "500", NULL};
    struct gcs_harness *h = NULL;
    assert_int_equal(hl_setup(&h, extra, NULL), 0);
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"ActivityId\":\"" HL_AID
             "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\","
             "\"Settings\":{\"MountPath\":\"%s/m0\",\"Lun\":3,\"ReadOnly\":true}}}",
             run);
    long long t0 = (long long)lcow_now_ns();
    cleanup_free char *e = NULL;
    int32_t hr = hl_call(h, GCS_MSG_MODIFY_SETTINGS, payload, NULL, &e);
    long long ms = ((long long)lcow_now_ns() - t0) / 1000000;
    assert_true(hr < 0);
    assert_non_null(strstr(e, "500 ms"));
    assert_true(ms >= 400 && ms < 5000);
    struct stat st;
    char m0[128];
    snprintf(m0, sizeof(m0), "%s/m0", run);
    assert_int_not_equal(stat(m0, &st) == 0 && gh_mounts_under(m0) > 0, 1);
    still_serving(h);
    hl_teardown(h);
    rmdir(sysfs);
    rmdir(m0);
    rmdir(run);
}

static void test_sigterm_ignored(void **state)
{
    struct gcs_harness *h = *state;
    struct json_object *spec = hl_base_spec(
        h, (const char *const[]){"sh", "-c", "trap '' TERM; while :; do sleep 1; done", NULL});
    uint32_t pid = hl_run(h, "stubborn", spec, NULL);
    usleep(200 * 1000); /* the trap is set */
    assert_int_equal(hl_simple(h, GCS_MSG_SHUTDOWN_GRACEFUL, "stubborn"), 0);
    uint32_t code = 0;
    assert_int_not_equal(hl_wait(h, "stubborn", pid, 1000, &code), 0); /* still running */
    hl_no_notification(h, 100);
    assert_int_equal(hl_simple(h, GCS_MSG_SHUTDOWN_FORCED, "stubborn"), 0);
    assert_int_equal(hl_wait_exit(h, "stubborn", pid), 137);
    hl_expect_notification(h, "stubborn", GCS_NOTIFY_FORCED_EXIT);
    hl_no_notification(h, 300);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "stubborn"), 0);
    still_serving(h);
}

#define N_CHURN 100

/* Sends every request first, then collects every response: gcs handles them in parallel. */
static void all_ok(struct gcs_harness *h, uint32_t type, char **payloads, int n)
{
    cleanup_error struct lcow_error *err = NULL;
    uint64_t ids[N_CHURN];
    for (int i = 0; i < n; i++)
        assert_int_equal(host_bridge_send(h->b, type, payloads[i], &ids[i], &err), 0);
    for (int i = 0; i < n; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(h->b, ids[i], HL_MS * 3, &m, &err), 0);
        int32_t hr = -1;
        cleanup_free char *e = NULL;
        assert_int_equal(host_message_result(&m, &hr, &e, &err), 0);
        if (hr != 0)
            fail_msg("0x%08x #%d: 0x%08x %s", type, i, (unsigned)hr, e);
        host_message_done(&m);
    }
}

static void churn_round(struct gcs_harness *h, int round)
{
    char *creates[N_CHURN], *simples[N_CHURN], cids[N_CHURN][16];
    for (int i = 0; i < N_CHURN; i++) {
        snprintf(cids[i], sizeof(cids[i]), "ch%d-%d", round, i);
        creates[i] =
            gh_create_payload(h, cids[i], hl_base_spec(h, (const char *const[]){"true", NULL}));
        assert_true(asprintf(&simples[i], "{\"ContainerId\":\"%s\",\"ActivityId\":\"" HL_AID "\"}",
                             cids[i]) > 0);
    }
    all_ok(h, GCS_MSG_CREATE, creates, N_CHURN);
    all_ok(h, GCS_MSG_START, simples, N_CHURN);
    uint32_t pids[N_CHURN];
    for (int i = 0; i < N_CHURN; i++) {
        struct host_process p;
        assert_int_equal(hl_execute(h, cids[i], NULL, false, false, false, &p, NULL), 0);
        pids[i] = p.pid;
    }
    for (int i = 0; i < N_CHURN; i++)
        assert_int_equal(hl_wait_exit(h, cids[i], pids[i]), 0);
    /* Exactly one notification per container. */
    int seen[N_CHURN] = {0};
    for (int k = 0; k < N_CHURN; k++) {
        struct host_message m = {0};
        cleanup_error struct lcow_error *err = NULL;
        assert_int_equal(host_bridge_next_notification(h->b, HL_MS, &m, &err), 0);
        struct gcs_container_notification n = {0};
        assert_int_equal(gcs_decode_container_notification(m.payload, m.len, &n, &err), 0);
        int idx = -1;
        for (int i = 0; i < N_CHURN; i++)
            if (strcmp(cids[i], n.container_id) == 0)
                idx = i;
        assert_true(idx >= 0);
        seen[idx]++;
        gcs_container_notification_done(&n);
        host_message_done(&m);
    }
    for (int i = 0; i < N_CHURN; i++)
        assert_int_equal(seen[i], 1);
    all_ok(h, GCS_MSG_DELETE_CONTAINER_STATE, simples, N_CHURN);
    for (int i = 0; i < N_CHURN; i++) {
        free(creates[i]);
        free(simples[i]);
    }
}

static void test_churn(void **state)
{
    struct gcs_harness *h = *state;
    usleep(200 * 1000);
    int fds0 = gh_gcs_fds(h), cg0 = gh_cgroups_under(h);
    long rss0 = gh_gcs_rss_kib(h);
    churn_round(h, 1);
    usleep(300 * 1000); /* relays and deadline threads wind down */
    int fds1 = gh_gcs_fds(h);
    long rss1 = gh_gcs_rss_kib(h);
    churn_round(h, 2);
    usleep(300 * 1000);
    int fds2 = gh_gcs_fds(h), cg2 = gh_cgroups_under(h);
    long rss2 = gh_gcs_rss_kib(h);
    printf("churn: gcs RSS %ld KiB before, %ld KiB after 100 containers, %ld KiB after 200; "
           "fds %d/%d/%d; cgroups %d/%d; mounts left %d\n",
           rss0, rss1, rss2, fds0, fds1, fds2, cg0, cg2, gh_mounts_under(h->dir));
    assert_int_equal(fds1, fds0);
    assert_int_equal(fds2, fds0);
    assert_int_equal(cg2, cg0);
    assert_int_equal(gh_mounts_under(h->dir), 0);
    const char *san = getenv("SANITIZER");
    if (san && *san)
        printf("churn: RSS growth not checked in a SANITIZER=%s build (its allocator keeps freed "
               "memory in quarantine); fds, mounts and cgroups were\n",
               san);
    else
        assert_true(rss2 - rss1 < 1024);
    hl_no_notification(h, 200);
    still_serving(h);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "hardening_faults: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bridge_drop_mid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdio_closed_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_enospc, setup, teardown),
        cmocka_unit_test(test_device_never_appears),
        cmocka_unit_test_setup_teardown(test_sigterm_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_churn, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
