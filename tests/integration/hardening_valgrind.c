/* gcs under valgrind memcheck (issue 12): a dynamically linked gcs (build/tests/gcs_dynamic:
 * memcheck cannot replace malloc in the static build) runs a scenario over the real bridge, then
 * the UVM shutdown makes it exit; valgrind must report zero errors and zero definite or indirect
 * leaks (--error-exitcode). Scenario: negotiate, bad frames' payloads (invalid JSON, unknown
 * container, unknown resource type), DumpStacks, a UVM process with stdout, a wait that times
 * out, a container created, started, its init and an exec waited, deleted, and a reconnect.
 * Forked children that exec are not traced (their memory is not gcs's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/hardening_lib.h"

static char vg_log[160];

static void scenario(struct gcs_harness *h)
{
    cleanup_error struct lcow_error *err = NULL;
    /* Bad input: each an error response. */
    struct host_message m = {0};
    assert_int_equal(host_bridge_call(h->b, GCS_MSG_CREATE, "{not json", 4 * HL_MS, &m, &err), 0);
    host_message_done(&m);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "nosuch"),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    static const char bad_type[] =
        "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"ActivityId\":\"" HL_AID
        "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"NoSuchThing\",\"Settings\":{}}"
        "}";
    assert_true(hl_call(h, GCS_MSG_MODIFY_SETTINGS, bad_type, NULL, NULL) < 0);
    assert_int_equal(hl_simple(h, GCS_MSG_DUMP_STACKS, GCS_UVM_CONTAINER_ID), 0);
    /* A UVM process with stdout, and a wait on a live one that times out. */
    static const char *const echo[] = {"echo", "vg", NULL};
    struct host_exec x = {.argv = echo, .std_out = true};
    struct host_process p;
    assert_int_equal(host_bridge_exec(h->b, NULL, &x, 4 * HL_MS, &p, NULL, &err), 0);
    char buf[64];
    hl_read_all(p.fd[1], buf, sizeof(buf));
    p.fd[1] = -1;
    assert_string_equal(buf, "vg\n");
    assert_int_equal(hl_wait_exit(h, NULL, p.pid), 0);
    static const char *const sl[] = {"sleep", "1", NULL};
    struct host_exec y = {.argv = sl};
    struct host_process q;
    assert_int_equal(host_bridge_exec(h->b, NULL, &y, 4 * HL_MS, &q, NULL, &err), 0);
    uint32_t code = 0;
    assert_int_equal(hl_wait(h, NULL, q.pid, 10, &code), GCS_HCS_E_CONNECTION_TIMEOUT);
    assert_int_equal(hl_wait_exit(h, NULL, q.pid), 0);
    /* A container through its whole life. */
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"sh", "-c", "echo ct", NULL});
    int out = -1;
    uint32_t init = hl_run(h, "vg", spec, &out);
    hl_read_all(out, buf, sizeof(buf));
    assert_string_equal(buf, "ct\n");
    assert_int_equal(hl_wait_exit(h, "vg", init), 0);
    hl_expect_notification(h, "vg", GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "vg"), 0);
    /* The host goes away and comes back. */
    host_bridge_drop(h->b);
    assert_int_equal(host_bridge_accept(h->b, 4 * HL_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(h->b, 4 * HL_MS, &err), 0);
}

static void test_memcheck(void **state)
{
    (void)state;
    char log_opt[200];
    snprintf(vg_log, sizeof(vg_log), "/tmp/lcow-hard-vg-%d.log", (int)getpid());
    snprintf(log_opt, sizeof(log_opt), "--log-file=%s", vg_log);
    const char *wrapper[] = {"valgrind",
                             "--tool=memcheck",
                             "--leak-check=full",
                             "--show-leak-kinds=definite,indirect",
                             "--errors-for-leak-kinds=definite,indirect",
                             "--error-exitcode=99",
                             "--child-silent-after-fork=yes",
                             "--trace-children=no",
                             log_opt,
                             NULL};
    struct gcs_harness *h = NULL;
    assert_int_equal(hl_setup(&h, NULL, wrapper), 0);
    scenario(h);
    /* The UVM's ShutdownForced: gcs exits 0 on its own (in a UVM, init powers off). */
    struct host_message m = {0};
    cleanup_error struct lcow_error *err = NULL;
    (void)host_bridge_simple(h->b, GCS_MSG_SHUTDOWN_FORCED, GCS_UVM_CONTAINER_ID, 4 * HL_MS, &m,
                             &err);
    host_message_done(&m);
    int status = -1;
    for (int i = 0; i < 3000 && h->gcs > 0; i++) {
        if (waitpid(h->gcs, &status, WNOHANG) == h->gcs)
            h->gcs = 0;
        else
            usleep(10 * 1000);
    }
    if (h->gcs > 0)
        status = gh_terminate(h, 20000);
    cleanup_free char *log = NULL;
    assert_int_equal(lcow_read_file(vg_log, 16u << 20, &log, NULL, NULL), 0);
    const char *heap = strstr(log, "HEAP SUMMARY");
    printf("valgrind: %s", heap ? heap : "(no heap summary)\n");
    assert_non_null(heap); /* memcheck really ran gcs to its exit */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("gcs under valgrind: status 0x%x\n%s", status, log);
    assert_non_null(strstr(log, "ERROR SUMMARY: 0 errors"));
    /* Either no leak at all, or only reachable blocks (globals kept until exit). */
    assert_true(
        strstr(log, "All heap blocks were freed") ||
        (strstr(log, "definitely lost: 0 bytes") && strstr(log, "indirectly lost: 0 bytes")));
    hl_teardown(h);
    unlink(vg_log);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "hardening_valgrind: needs root\n");
        return 77;
    }
    const char *san = getenv("SANITIZER");
    if (san && *san) {
        /* An ASan/UBSan gcs cannot run under memcheck (both replace the allocator); the plain
         * build's make check runs this test. */
        fprintf(stderr, "hardening_valgrind: skipped in a SANITIZER=%s build\n", san);
        return 77;
    }
    char self[PATH_MAX], gcs[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(gcs, sizeof(gcs), "%s/gcs_dynamic", self);
    setenv("LCOW_GCS", gcs, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_memcheck)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
