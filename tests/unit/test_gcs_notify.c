/* Container notifications raised while the bridge is down are queued and flushed, in order, as
 * soon as the next connection is up (gcs-protocol.md §1.5, §2.9). The bridge runs in-process
 * (gcs_init + gcs_run on a thread) so the test can raise notifications itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "gcs/bridge.h"
#include "host/bridge_client.h"

#define T_MS 5000

static void *run_bridge(void *arg)
{
    gcs_run(arg);
    return NULL;
}

static void notify(struct gcs *g, const char *cid)
{
    struct gcs_container_notification n = {
        .container_id = (char *)cid,
        .activity_id = (char *)"",
        .type = (char *)GCS_NOTIFY_UNEXPECTED_EXIT,
        .operation = (char *)GCS_OPERATION_NONE,
    };
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(gcs_notify(g, &n, &err), 0);
}

static void expect_notification(struct host_bridge *b, const char *cid)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_next_notification(b, T_MS, &m, &err) < 0)
        fail_msg("notification for %s: %s", cid, lcow_error_message(err));
    assert_int_equal(m.type, GCS_MSG_CONTAINER_NOTIFICATION);
    assert_int_equal(m.id, 0);
    struct gcs_container_notification n = {0};
    assert_int_equal(gcs_decode_container_notification(m.payload, m.len, &n, &err), 0);
    assert_string_equal(n.container_id, cid);
    assert_string_equal(n.type, "UnexpectedExit");
    assert_string_equal(n.operation, "None");
    /* Never "" for the host's GUID parser. */
    assert_string_equal(n.activity_id, GCS_ZERO_GUID);
    gcs_container_notification_done(&n);
    host_message_done(&m);
}

static void test_queue_while_disconnected(void **state)
{
    char dir[] = "/tmp/lcow-notify-XXXXXX", addr[128], path[160];
    assert_non_null(mkdtemp(dir));
    snprintf(addr, sizeof(addr), "unix:%s/b", dir);
    char *argv[] = {"gcs", "-bridge", addr, "-loglevel", "error", "-kmsgLogLevel=0"};
    struct gcs_options opt;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(gcs_options_parse(6, argv, &opt, &err), 0);
    static struct gcs g;
    assert_int_equal(gcs_init(&g, &opt, &err), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_bridge, &g), 0);

    /* No host yet: gcs keeps redialling; notifications wait. */
    notify(&g, "c1");
    notify(&g, "c2");
    usleep(250 * 1000);
    struct host_bridge *b = NULL;
    assert_int_equal(host_bridge_listen(addr, &b, &err), 0);
    assert_int_equal(host_bridge_accept(b, T_MS, &err), 0);
    /* Flushed as soon as the connection is up, before any negotiation, in order. */
    expect_notification(b, "c1");
    expect_notification(b, "c2");
    assert_int_equal(host_bridge_negotiate(b, T_MS, &err), 0);
    notify(&g, "c3");
    expect_notification(b, "c3");

    /* The host goes away; a notification raised now goes out on the next connection. */
    host_bridge_drop(b);
    notify(&g, "c4");
    assert_int_equal(host_bridge_accept(b, T_MS, &err), 0);
    expect_notification(b, "c4");

    /* Shutdown of the UVM ends gcs_run. */
    struct host_message m = {0};
    assert_int_equal(host_bridge_negotiate(b, T_MS, &err), 0);
    assert_int_equal(
        host_bridge_simple(b, GCS_MSG_SHUTDOWN_GRACEFUL, GCS_UVM_CONTAINER_ID, T_MS, &m, &err), 0);
    host_message_done(&m);
    pthread_join(t, NULL);
    gcs_done(&g);
    host_bridge_free(b);
    snprintf(path, sizeof(path), "%s/b_1073741824", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_while_disconnected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
