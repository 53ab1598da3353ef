/* Wire conformance, container level: gcs-protocol.md §2.9 (when exactly one notification goes
 * out, and when none does), §4.1-4.8 and §4.11 response shapes and error codes through a whole
 * lifecycle, the "creating" state of §6, what a created but never started container does on
 * Shutdown, and tty resize after the relay closed, as a host written from the contract checks
 * them. gcs runs over unix: with a busybox rootfs (conform_lib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/conform_lib.h"

#define CBASE(cid) "{\"ContainerId\":\"" cid "\",\"ActivityId\":\"" CF_AID "\""

static const bool NONE[3] = {false, false, false}, OUT[3] = {false, true, false};

static int setup(void **state)
{
    return cf_setup((struct gcs_harness **)state, true);
}

static int teardown(void **state)
{
    cf_teardown(*state);
    return 0;
}

/* The Properties string of a GetProperties answer, parsed (§4.8: a JSON string holding JSON). */
static struct json_object *properties(struct gcs_harness *h, const char *cid, const char *query)
{
    struct json_object *o =
        cf_call(h, GCS_MSG_GET_PROPERTIES, 0, CF_AID,
                "{\"ContainerId\":\"%s\",\"ActivityId\":\"" CF_AID "\"%s}", cid, query);
    struct json_object *s = lcow_json_field(o, "Properties");
    if (!s || !json_object_is_type(s, json_type_string))
        fail_msg("Properties is not a string: %s", json_object_to_json_string(o));
    struct json_object *p = NULL;
    assert_int_equal(lcow_json_parse(json_object_get_string(s),
                                     (size_t)json_object_get_string_len(s), "Properties", &p, NULL),
                     0);
    assert_true(json_object_is_type(p, json_type_object));
    json_object_put(o);
    return p;
}

/* ProcessList entries are {"ProcessId":u32}; returns how many, and whether pid is one. */
static size_t process_list(struct json_object *props, uint32_t pid, bool *found)
{
    struct json_object *pl = lcow_json_field(props, "ProcessList");
    *found = false;
    if (!pl)
        return 0;
    assert_true(json_object_is_type(pl, json_type_array));
    size_t n = json_object_array_length(pl);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(pl, i);
        assert_int_equal(json_object_object_length(e), 1);
        if (cf_u32(e, "ProcessId") == pid)
            *found = true;
    }
    return n;
}

static const char QUERY_PS[] = ",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"";

static uint32_t init_pid_of_created(struct gcs_harness *h, const char *cid)
{
    struct json_object *p = properties(h, cid, QUERY_PS);
    struct json_object *pl = lcow_json_field(p, "ProcessList");
    assert_true(pl && json_object_array_length(pl) == 1);
    uint32_t pid = cf_u32(json_object_array_get_idx(pl, 0), "ProcessId");
    json_object_put(p);
    return pid;
}

/* §4.8 Statistics: the v1 Metrics JSON under LCOWMetrics, blkio/rdma emptied, network dropped. */
static void check_statistics(struct json_object *props)
{
    struct json_object *m = lcow_json_field(props, "LCOWMetrics");
    assert_true(m && json_object_is_type(m, json_type_object));
    static const char *const objects[] = {"cpu", "memory", "pids"};
    for (size_t i = 0; i < 3; i++) {
        struct json_object *v = lcow_json_field(m, objects[i]);
        if (!v || !json_object_is_type(v, json_type_object))
            fail_msg("LCOWMetrics.%s missing: %s", objects[i], json_object_to_json_string(m));
    }
    struct json_object *usage = lcow_json_field(lcow_json_field(m, "cpu"), "usage");
    assert_true(usage && json_object_is_type(lcow_json_field(usage, "total"), json_type_int));
    assert_non_null(lcow_json_field(lcow_json_field(m, "memory"), "usage"));
    static const char *const emptied[] = {"blkio", "rdma"};
    for (size_t i = 0; i < 2; i++) {
        struct json_object *v = lcow_json_field(m, emptied[i]);
        assert_true(!v || json_object_object_length(v) == 0);
    }
    struct json_object *net = lcow_json_field(m, "network");
    assert_true(!net || json_object_array_length(net) == 0);
    /* containerd's JSON names: lower case, never Go field names. */
    json_object_object_foreach(m, key, val)
    {
        (void)val;
        if (key[0] < 'a' || key[0] > 'z')
            fail_msg("LCOWMetrics key `%s` is not a v1 Metrics JSON name", key);
    }
}

static void test_lifecycle(void **state)
{
    struct gcs_harness *h = *state;
    char *spec = cf_spec(h,
                         "[\"/bin/sh\",\"-c\",\"trap 'exit 0' TERM; echo ready; while :; do "
                         "sleep 0.1; done\"]",
                         false, "");
    assert_int_equal(cf_create(h, "cfa", spec, CF_AID), 0);
    assert_int_equal(cf_create(h, "cfa", cf_spec(h, "[\"/bin/true\"]", false, ""), CF_AID),
                     GCS_HCS_E_SYSTEM_ALREADY_EXISTS);
    /* Before Start: the created init is listed; empty, absent and unknown queries give "{}". */
    uint32_t init = init_pid_of_created(h, "cfa");
    static const char *const empty[] = {
        ",\"Query\":\"\"", "",
        ",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"Memory\\\",\\\"CpuGroup\\\"]}\"",
        ",\"Query\":\"{\\\"PropertyTypes\\\":[]}\""};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(empty); i++) {
        struct json_object *p = properties(h, "cfa", empty[i]);
        assert_int_equal(json_object_object_length(p), 0);
        json_object_put(p);
    }
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID, CBASE("cfa") "}"));
    struct host_process ip;
    assert_int_equal(cf_exec(h, "cfa", "{}", OUT, &ip), 0);
    assert_int_equal(ip.pid, init);
    char text[64] = "";
    assert_true(read(ip.fd[1], text, sizeof(text) - 1) > 0);
    assert_int_equal(strncmp(text, "ready", 5), 0);
    /* The init cannot be started twice. */
    struct host_process again;
    assert_true(cf_exec(h, "cfa", "{}", NONE, &again) != 0);
    /* Both property types at once. */
    struct json_object *p = properties(
        h, "cfa",
        ",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\",\\\"Statistics\\\"]}\"");
    bool found = false;
    assert_true(process_list(p, init, &found) >= 1 && found);
    check_statistics(p);
    json_object_put(p);
    /* Unknown pids (§4.5-4.7) and a resize without a console. */
    json_object_put(cf_call(h, GCS_MSG_SIGNAL_PROCESS, GCS_E_NOT_FOUND, CF_AID,
                            CBASE("cfa") ",\"ProcessId\":4000000,\"Options\":{\"Signal\":15}}"));
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, GCS_E_NOT_FOUND, CF_AID,
                            CBASE("cfa") ",\"ProcessId\":4000000,\"Height\":1,\"Width\":1}"));
    json_object_put(cf_call(h, GCS_MSG_WAIT_FOR_PROCESS, GCS_E_NOT_FOUND, CF_AID,
                            CBASE("cfa") ",\"ProcessId\":4000000,\"TimeoutInMs\":10}"));
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, GCS_E_FAIL, CF_AID,
                            CBASE("cfa") ",\"ProcessId\":%u,\"Height\":24,\"Width\":80}", init));
    /* An exec that exits before anyone waits: listed until waited, its code kept for the first
     * wait, then gone (§4.5); signalling it afterwards is "not found". */
    struct host_process ep;
    assert_int_equal(
        cf_exec(h, "cfa",
                "{\"OciProcess\":{\"args\":[\"/bin/sh\",\"-c\",\"exit 7\"],\"cwd\":\"/\","
                "\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}}}",
                NONE, &ep),
        0);
    usleep(300 * 1000);
    p = properties(h, "cfa", QUERY_PS);
    assert_true(process_list(p, ep.pid, &found) >= 2 && found);
    json_object_put(p);
    uint32_t code = 0;
    assert_int_equal(cf_wait(h, "cfa", ep.pid, CF_MS, &code), 0);
    assert_int_equal(code, 7);
    assert_int_equal(cf_wait(h, "cfa", ep.pid, 10, &code), GCS_E_NOT_FOUND);
    json_object_put(cf_call(h, GCS_MSG_SIGNAL_PROCESS, GCS_E_NOT_FOUND, CF_AID,
                            CBASE("cfa") ",\"ProcessId\":%u,\"Options\":{\"Signal\":9}}", ep.pid));
    /* Signal 0, Options {} and Options null all mean SIGKILL (§4.6): 128+9. */
    static const char *const kills[] = {",\"Options\":{\"Signal\":0}", ",\"Options\":{}",
                                        ",\"Options\":null"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(kills); i++) {
        assert_int_equal(
            cf_exec(h, "cfa", "{\"OciProcess\":{\"args\":[\"/bin/sleep\",\"60\"],\"cwd\":\"/\"}}",
                    NONE, &ep),
            0);
        json_object_put(cf_call(h, GCS_MSG_SIGNAL_PROCESS, 0, CF_AID,
                                CBASE("cfa") ",\"ProcessId\":%u%s}", ep.pid, kills[i]));
        assert_int_equal(cf_wait(h, "cfa", ep.pid, CF_MS, &code), 0);
        assert_int_equal(code, 137);
    }
    /* A known container takes ContainerConstraints only (§4.9). */
    json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, GCS_E_FAIL, CF_AID,
                            CBASE("cfa") ",\"Request\":{\"ResourceType\":\"MappedVirtualDisk\","
                                         "\"RequestType\":\"Add\",\"Settings\":{}}}"));
    /* ContainerConstraints ignores the RequestType (§4.9). */
    json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, 0, CF_AID,
                            CBASE("cfa") ",\"Request\":{\"ResourceType\":\"ContainerConstraints\","
                                         "\"RequestType\":\"Add\",\"Settings\":{\"Linux\":{"
                                         "\"cpu\":{\"shares\":512}}}}}"));
    /* Two waits on the init, then ShutdownGraceful: answered at once, both waits get the code,
     * then one GracefulExit with the Create's ActivityId. */
    cleanup_error struct lcow_error *err = NULL;
    cleanup_free char *w = NULL;
    assert_true(asprintf(&w, CBASE("cfa") ",\"ProcessId\":%u,\"TimeoutInMs\":4294967295}", init) >
                0);
    uint64_t w1 = 0, w2 = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_WAIT_FOR_PROCESS, w, &w1, &err), 0);
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_WAIT_FOR_PROCESS, w, &w2, &err), 0);
    json_object_put(cf_call(h, GCS_MSG_SHUTDOWN_GRACEFUL, 0, CF_AID, CBASE("cfa") "}"));
    cf_read_all(ip.fd[1], text, sizeof(text)); /* EOF, then close: the §1.6 handshake */
    const uint64_t ids[2] = {w1, w2};
    for (int i = 0; i < 2; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(h->b, ids[i], CF_MS, &m, &err), 0);
        struct json_object *o = cf_check(&m, GCS_MSG_WAIT_FOR_PROCESS, 0, CF_AID);
        assert_int_equal(cf_u32(o, "ExitCode"), 0);
        json_object_put(o);
        host_message_done(&m);
    }
    cf_notification(h, "cfa", CF_AID, GCS_NOTIFY_GRACEFUL_EXIT);
    /* After the exit: the init still resolves, a second shutdown is "already stopped", a
     * signal is "not found", an exec fails. */
    assert_int_equal(cf_wait(h, "cfa", init, 10, &code), 0);
    assert_int_equal(code, 0);
    json_object_put(cf_call(h, GCS_MSG_SHUTDOWN_FORCED, GCS_HCS_E_SYSTEM_ALREADY_STOPPED, CF_AID,
                            CBASE("cfa") "}"));
    json_object_put(cf_call(h, GCS_MSG_SHUTDOWN_GRACEFUL, GCS_HCS_E_SYSTEM_ALREADY_STOPPED, CF_AID,
                            CBASE("cfa") "}"));
    json_object_put(cf_call(h, GCS_MSG_SIGNAL_PROCESS, GCS_E_NOT_FOUND, CF_AID,
                            CBASE("cfa") ",\"ProcessId\":%u}", init));
    assert_true(cf_exec(h, "cfa", "{\"OciProcess\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\"}}", NONE,
                        &ep) != 0);
    p = properties(h, "cfa", QUERY_PS);
    json_object_put(p);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfa") "}"));
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            CBASE("cfa") "}"));
    cf_no_notification(h, 300);
    /* The id can be created again once deleted. */
    assert_int_equal(cf_create(h, "cfa", cf_spec(h, "[\"/bin/true\"]", false, ""), CF_AID), 0);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfa") "}"));
}

/* §2.9: no notification before a wait received the exit code, exactly one after, with the zero
 * GUID when the Create had no ActivityId; none for containers never waited on. */
static void test_notification_rules(void **state)
{
    struct gcs_harness *h = *state;
    assert_int_equal(cf_create(h, "cfn", cf_spec(h, "[\"/bin/true\"]", false, ""), NULL), 0);
    json_object_put(cf_call(h, GCS_MSG_START, 0, NULL, "{\"ContainerId\":\"cfn\"}"));
    struct host_process ip;
    assert_int_equal(cf_exec(h, "cfn", "{}", NONE, &ip), 0);
    cf_no_notification(h, 700);
    uint32_t code = 1;
    assert_int_equal(cf_wait(h, "cfn", ip.pid, CF_MS, &code), 0);
    assert_int_equal(code, 0);
    cf_notification(h, "cfn", GCS_ZERO_GUID, GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(cf_wait(h, "cfn", ip.pid, CF_MS, &code), 0);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfn") "}"));
    cf_no_notification(h, 200);
    /* Created, never started, deleted. */
    assert_int_equal(cf_create(h, "cfd", cf_spec(h, "[\"/bin/sleep\",\"60\"]", false, ""), CF_AID),
                     0);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfd") "}"));
    /* Started, killed, never waited, deleted. */
    assert_int_equal(cf_create(h, "cfk", cf_spec(h, "[\"/bin/sleep\",\"60\"]", false, ""), CF_AID),
                     0);
    assert_int_equal(cf_exec(h, "cfk", "{}", NONE, &ip), 0);
    json_object_put(
        cf_call(h, GCS_MSG_SIGNAL_PROCESS, 0, CF_AID, CBASE("cfk") ",\"ProcessId\":%u}", ip.pid));
    usleep(300 * 1000);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfk") "}"));
    cf_no_notification(h, 500);
    /* A failed Create: no notification, and the id is free again (not "already exists"). */
    for (int i = 0; i < 2; i++) {
        char *bad = cf_spec(h, "[\"/bin/true\"]", false, "");
        /* A rootfs that does not exist. */
        char *at = strstr(bad, h->rootfs);
        assert_non_null(at);
        cleanup_free char *spec = NULL;
        assert_true(asprintf(&spec, "%.*s%s/none%s", (int)(at - bad), bad, h->dir,
                             at + strlen(h->rootfs)) > 0);
        free(bad);
        assert_int_equal(cf_create(h, "cfbad", steal_pointer(&spec), CF_AID), GCS_E_FAIL);
    }
    cf_no_notification(h, 200);
}

/* A created container that is never started: Shutdown ends it (runc's created init dies of
 * SIGTERM too), its wait is answered, one notification of the requested kind, and starting
 * it afterwards is an error. */
static void test_created_shutdown(void **state)
{
    struct gcs_harness *h = *state;
    static const struct {
        const char *cid;
        uint32_t type;
        const char *kind;
    } cases[] = {{"cfg", GCS_MSG_SHUTDOWN_GRACEFUL, GCS_NOTIFY_GRACEFUL_EXIT},
                 {"cff", GCS_MSG_SHUTDOWN_FORCED, GCS_NOTIFY_FORCED_EXIT},
                 {"cfs", GCS_MSG_SIGNAL_PROCESS, GCS_NOTIFY_GRACEFUL_EXIT}};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        const char *cid = cases[i].cid;
        assert_int_equal(
            cf_create(h, cid, cf_spec(h, "[\"/bin/sleep\",\"60\"]", false, ""), CF_AID), 0);
        uint32_t init = init_pid_of_created(h, cid);
        json_object_put(cf_call(h, cases[i].type, 0, CF_AID,
                                "{\"ContainerId\":\"%s\",\"ActivityId\":\"" CF_AID
                                "\",\"ProcessId\":%u,\"Options\":{\"Signal\":15}}",
                                cid, init));
        uint32_t code = 0;
        assert_int_equal(cf_wait(h, cid, init, CF_MS, &code), 0);
        assert_true(code == 137 || code == 143);
        cf_notification(h, cid, CF_AID, cases[i].kind);
        struct host_process ip;
        assert_int_equal(cf_exec(h, cid, "{}", NONE, &ip), GCS_E_FAIL);
        json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID,
                                "{\"ContainerId\":\"%s\",\"ActivityId\":\"" CF_AID "\"}", cid));
    }
    cf_no_notification(h, 200);
}

/* §6: while a Create is still running, every operation on that id is E_FAIL, a second Create is
 * "already exists" and Start still succeeds. A createRuntime hook keeps the Create busy. */
static void test_creating_state(void **state)
{
    struct gcs_harness *h = *state;
    char *spec = cf_spec(h, "[\"/bin/sleep\",\"60\"]", false,
                         ",\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/sleep\",\"args\":["
                         "\"sleep\",\"3\"]}]}");
    cleanup_free char *cfg = NULL, *q = NULL, *req = NULL;
    assert_true(asprintf(&cfg,
                         "{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"OciBundlePath\":\"%s/c/"
                         "cfc\",\"OciSpecification\":%s}",
                         h->dir, spec) > 0);
    free(spec);
    q = cf_quote(cfg);
    assert_true(asprintf(&req, CBASE("cfc") ",\"ContainerConfig\":%s}", q) > 0);
    cleanup_error struct lcow_error *err = NULL;
    uint64_t cid_req = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_CREATE, req, &cid_req, &err), 0);
    /* Until gcs has registered the id it is simply unknown. */
    int32_t hr = GCS_HCS_E_SYSTEM_NOT_FOUND;
    for (int i = 0; i < 250 && hr == GCS_HCS_E_SYSTEM_NOT_FOUND; i++) {
        hr = cf_result(h, GCS_MSG_GET_PROPERTIES, CF_AID, CBASE("cfc") ",\"Query\":\"\"}");
        if (hr == GCS_HCS_E_SYSTEM_NOT_FOUND)
            usleep(10 * 1000);
    }
    assert_int_equal(hr, GCS_E_FAIL);
    static const struct {
        uint32_t type;
        const char *rest;
    } ops[] = {
        {GCS_MSG_SIGNAL_PROCESS, ",\"ProcessId\":1,\"Options\":{\"Signal\":9}}"},
        {GCS_MSG_SHUTDOWN_GRACEFUL, "}"},
        {GCS_MSG_SHUTDOWN_FORCED, "}"},
        {GCS_MSG_WAIT_FOR_PROCESS, ",\"ProcessId\":1,\"TimeoutInMs\":10}"},
        {GCS_MSG_RESIZE_CONSOLE, ",\"ProcessId\":1,\"Height\":1,\"Width\":1}"},
        {GCS_MSG_EXECUTE_PROCESS, ",\"Settings\":{\"ProcessParameters\":\"{}\"}}"},
        {GCS_MSG_DELETE_CONTAINER_STATE, "}"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ops); i++)
        json_object_put(
            cf_call(h, ops[i].type, GCS_E_FAIL, CF_AID, CBASE("cfc") "%s", ops[i].rest));
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID, CBASE("cfc") "}"));
    assert_int_equal(cf_create(h, "cfc", cf_spec(h, "[\"/bin/true\"]", false, ""), CF_AID),
                     GCS_HCS_E_SYSTEM_ALREADY_EXISTS);
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(h->b, cid_req, CF_MS, &m, &err), 0);
    json_object_put(cf_check(&m, GCS_MSG_CREATE, 0, CF_AID));
    host_message_done(&m);
    json_object_put(cf_call(h, GCS_MSG_SHUTDOWN_FORCED, 0, CF_AID, CBASE("cfc") "}"));
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfc") "}"));
}

/* An exec into a created, not yet started container runs (as runc's exec does), and the init
 * starts afterwards as usual. */
static void test_exec_created(void **state)
{
    struct gcs_harness *h = *state;
    assert_int_equal(cf_create(h, "cfe", cf_spec(h, "[\"/bin/echo\",\"init\"]", false, ""), CF_AID),
                     0);
    struct host_process ep, ip;
    assert_int_equal(cf_exec(h, "cfe",
                             "{\"OciProcess\":{\"args\":[\"/bin/echo\",\"exec\"],\"cwd\":\"/\","
                             "\"env\":[\"PATH=/bin\"]}}",
                             OUT, &ep),
                     0);
    char text[64];
    cf_read_all(ep.fd[1], text, sizeof(text));
    assert_string_equal(text, "exec\n");
    uint32_t code = 1;
    assert_int_equal(cf_wait(h, "cfe", ep.pid, CF_MS, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(cf_exec(h, "cfe", "{}", OUT, &ip), 0);
    cf_read_all(ip.fd[1], text, sizeof(text));
    assert_string_equal(text, "init\n");
    assert_int_equal(cf_wait(h, "cfe", ip.pid, CF_MS, &code), 0);
    cf_notification(h, "cfe", CF_AID, GCS_NOTIFY_UNEXPECTED_EXIT);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfe") "}"));
}

/* A failing createRuntime hook fails the Create with its output in the message (never on
 * gcs's own stdout/stderr), leaves the id free, and sends no notification. */
static void test_hook_failure(void **state)
{
    struct gcs_harness *h = *state;
    char *spec = cf_spec(h, "[\"/bin/true\"]", false,
                         ",\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":["
                         "\"sh\",\"-c\",\"echo hook-said-no >&2; exit 3\"]}]}");
    cleanup_free char *cfg = NULL, *q = NULL;
    assert_true(asprintf(&cfg,
                         "{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"OciBundlePath\":\"%s/c/"
                         "cfx\",\"OciSpecification\":%s}",
                         h->dir, spec) > 0);
    free(spec);
    q = cf_quote(cfg);
    struct json_object *o =
        cf_call(h, GCS_MSG_CREATE, GCS_E_FAIL, CF_AID, CBASE("cfx") ",\"ContainerConfig\":%s}", q);
    const char *msg = json_object_get_string(lcow_json_field(o, "ErrorMessage"));
    if (!strstr(msg, "exit status 3") || !strstr(msg, "hook-said-no"))
        fail_msg("hook failure not described: %s", msg);
    json_object_put(o);
    assert_int_equal(cf_create(h, "cfx", cf_spec(h, "[\"/bin/true\"]", false, ""), CF_AID), 0);
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cfx") "}"));
    cf_no_notification(h, 200);
}

/* §4.7 and §1.6 for a tty init: output on stdout only, stderr dialled but never written,
 * resize works, and after the relay closed (and after the wait) it is a silent success. */
static void test_tty(void **state)
{
    struct gcs_harness *h = *state;
    assert_int_equal(
        cf_create(h, "cft", cf_spec(h, "[\"/bin/sh\",\"-c\",\"sleep 0.3; echo done\"]", true, ""),
                  CF_AID),
        0);
    struct host_process ip;
    const bool all[3] = {true, true, true};
    assert_int_equal(cf_exec(h, "cft", "{}", all, &ip), 0);
#define RESIZE CBASE("cft") ",\"ProcessId\":%u,\"Height\":30,\"Width\":100}"
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, 0, CF_AID, RESIZE, ip.pid));
    char out[64], errs[64];
    cf_read_all(ip.fd[1], out, sizeof(out));
    cf_read_all(ip.fd[2], errs, sizeof(errs));
    close(ip.fd[0]);
    assert_string_equal(out, "done\r\n");
    assert_string_equal(errs, "");
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, 0, CF_AID, RESIZE, ip.pid));
    uint32_t code = 1;
    assert_int_equal(cf_wait(h, "cft", ip.pid, CF_MS, &code), 0);
    assert_int_equal(code, 0);
    cf_notification(h, "cft", CF_AID, GCS_NOTIFY_UNEXPECTED_EXIT);
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, 0, CF_AID, RESIZE, ip.pid));
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, 0, CF_AID, CBASE("cft") "}"));
#undef RESIZE
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "conform_containers: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_created_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creating_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
