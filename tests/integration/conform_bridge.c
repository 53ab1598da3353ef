/* Wire conformance, bridge level (no containers): gcs-protocol.md §2 (type encoding, IDs, JSON
 * conventions, response bases), §3 (negotiation), §4.9 (every ModifySettings ResourceType /
 * RequestType combination that must fail, and how), §6 (the error table), and the §4.4-4.6
 * rules for external processes, as a host written from the contract checks them. What
 * wire_replay and test_bridge already assert is not repeated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/conform_lib.h"

#define BASE "\"ContainerId\":\"" CF_UVM "\",\"ActivityId\":\"" CF_AID "\""

static int setup(void **state)
{
    return cf_setup((struct gcs_harness **)state, true);
}

static int setup_fresh(void **state)
{
    return cf_setup((struct gcs_harness **)state, false);
}

static int teardown(void **state)
{
    cf_teardown(*state);
    return 0;
}

/* §6 row 1: E_NOTIMPL in the response type of the request, with the Go GCS's message. */
static void expect_notimpl(struct gcs_harness *h, uint32_t type, const char *name)
{
    struct json_object *o = cf_call(h, type, GCS_E_NOTIMPL, CF_AID, "{" BASE "}");
    char want[160];
    if (name)
        snprintf(want, sizeof(want),
                 "HRESULT 0x80004001: bridge: function not supported, header type: %s", name);
    else
        snprintf(want, sizeof(want),
                 "HRESULT 0x80004001: bridge: function not supported, header type: %u", type);
    assert_string_equal(json_object_get_string(lcow_json_field(o, "ErrorMessage")), want);
    json_object_put(o);
}

/* §4.6: the UVM's own processes cannot be signalled through the bridge (0xC037010E), so a test
 * ends one from inside: `kill -9` run as another external process. */
static void kill_in_uvm(struct gcs_harness *h, uint32_t pid)
{
    const bool none[3] = {false, false, false};
    struct host_process k;
    uint32_t code = 1;
    cleanup_free char *args = NULL;
    assert_true(asprintf(&args, "{\"CommandArgs\":[\"/bin/sh\",\"-c\",\"kill -9 %u\"]}", pid) > 0);
    assert_int_equal(cf_exec(h, CF_UVM, args, none, &k), 0);
    assert_int_equal(cf_wait(h, CF_UVM, k.pid, CF_MS, &code), 0);
    assert_int_equal(code, 0);
    host_process_close(&k);
}

static void test_unnegotiated_and_unknown_types(void **state)
{
    struct gcs_harness *h = *state;
    /* Before Negotiate every known request is E_NOTIMPL (§3), the UVM shutdown included. */
    static const uint32_t known[] = {GCS_MSG_CREATE,          GCS_MSG_START,
                                     GCS_MSG_EXECUTE_PROCESS, GCS_MSG_WAIT_FOR_PROCESS,
                                     GCS_MSG_MODIFY_SETTINGS, GCS_MSG_DUMP_STACKS,
                                     GCS_MSG_SHUTDOWN_FORCED, GCS_MSG_DELETE_CONTAINER_STATE};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(known); i++)
        json_object_put(cf_call(h, known[i], GCS_E_NOTIMPL, CF_AID, "{" BASE "}"));
    expect_notimpl(h, GCS_MSG_CREATE, "ComputeSystemCreateV1");
    assert_int_equal(host_bridge_negotiate(h->b, CF_MS, NULL), 0);
    /* §2.3: host-only enums, the Windows ComputeService, an id past 13, another version, and
     * frames whose top nibble is not "request": all E_NOTIMPL, answered as responses. */
    static const uint32_t unknown[] = {GCS_MSG_UPDATE_CONTAINER,
                                       GCS_MSG_LIFECYCLE_NOTIFICATION,
                                       GCS_MSG_MODIFY_SERVICE_SETTINGS,
                                       0x10101001u,
                                       0x10100b02u,
                                       0x10300101u,
                                       0x40100201u,
                                       0x00100301u};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(unknown); i++)
        expect_notimpl(h, unknown[i], NULL);
    /* A notification or response type sent to gcs is no request of it either. */
    json_object_put(
        cf_call(h, GCS_MSG_CONTAINER_NOTIFICATION, GCS_E_NOTIMPL, CF_AID, "{" BASE "}"));
    json_object_put(cf_call(h, 0x20100201u, GCS_E_NOTIMPL, CF_AID, "{" BASE "}"));
    /* A second Negotiate on the connection. */
    expect_notimpl(h, GCS_MSG_NEGOTIATE_PROTOCOL, "ComputeSystemNegotiateProtocolV1");
    /* Still serving. */
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID, "{" BASE "}"));
}

/* §3: the exact answer — false capabilities omitted, nothing else in Capabilities. */
static void check_negotiated(struct json_object *o)
{
    assert_int_equal(cf_u32(o, "Version"), 4);
    struct json_object *caps = lcow_json_field(o, "Capabilities");
    assert_true(caps && json_object_is_type(caps, json_type_object));
    assert_int_equal(json_object_object_length(caps), 3);
    assert_string_equal(json_object_get_string(lcow_json_field(caps, "RuntimeOsType")), "Linux");
    struct json_object *sv = lcow_json_field(caps, "SupportedSchemaVersions");
    assert_true(sv && json_object_array_length(sv) == 1);
    struct json_object *v0 = json_object_array_get_idx(sv, 0);
    assert_int_equal(json_object_object_length(v0), 2);
    assert_int_equal(cf_u32(v0, "Major"), 2);
    assert_int_equal(cf_u32(v0, "Minor"), 1);
    struct json_object *g = lcow_json_field(caps, "GuestDefinedCapabilities");
    assert_true(g && json_object_is_type(g, json_type_object));
    static const char *const yes[] = {"NamespaceAddRequestSupported", "SignalProcessSupported",
                                      "DumpStacksSupported", "DeleteContainerStateSupported"};
    assert_int_equal(json_object_object_length(g), 4);
    for (size_t i = 0; i < 4; i++) {
        struct json_object *b = lcow_json_field(g, yes[i]);
        assert_true(b && json_object_is_type(b, json_type_boolean) && json_object_get_boolean(b));
    }
    /* Only the base fields besides. */
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        if (strcmp(key, "Result") && strcmp(key, "ActivityId") && strcmp(key, "Version") &&
            strcmp(key, "Capabilities"))
            fail_msg("Negotiate response carries `%s`", key);
    }
}

static void test_negotiate_ranges(void **state)
{
    struct gcs_harness *h = *state;
    /* Ranges without 4: 0xC037010C, and the connection stays unnegotiated. */
    static const char *const bad[] = {"\"MinimumVersion\":5,\"MaximumVersion\":6",
                                      "\"MinimumVersion\":1,\"MaximumVersion\":3",
                                      "\"MinimumVersion\":0,\"MaximumVersion\":0", "",
                                      "\"MinimumVersion\":5,\"MaximumVersion\":4"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++)
        json_object_put(cf_call(h, GCS_MSG_NEGOTIATE_PROTOCOL,
                                GCS_HCS_E_UNSUPPORTED_PROTOCOL_VERSION, CF_AID,
                                "{\"ContainerId\":\"\",\"ActivityId\":\"" CF_AID "\"%s%s}",
                                bad[i][0] ? "," : "", bad[i]));
    json_object_put(cf_call(h, GCS_MSG_START, GCS_E_NOTIMPL, CF_AID, "{" BASE "}"));
    /* A range that contains 4 selects 4; ContainerId "" as the host sends it (lcow-host §2.4). */
    struct json_object *o = cf_call(h, GCS_MSG_NEGOTIATE_PROTOCOL, 0, CF_AID,
                                    "{\"ContainerId\":\"\",\"ActivityId\":\"" CF_AID
                                    "\",\"MinimumVersion\":3,\"MaximumVersion\":9}\n");
    check_negotiated(o);
    json_object_put(o);
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID, "{" BASE "}"));
    /* Every connection starts unnegotiated again (§1.5). */
    cf_reconnect(h);
    json_object_put(cf_call(h, GCS_MSG_START, GCS_E_NOTIMPL, CF_AID, "{" BASE "}"));
    o = cf_call(h, GCS_MSG_NEGOTIATE_PROTOCOL, 0, NULL,
                "{\"MinimumVersion\":4,\"MaximumVersion\":4}");
    check_negotiated(o);
    json_object_put(o);
}

/* §2.6: ActivityId echoed as sent, never "" — omitted when the request has none. */
static void test_activity_id(void **state)
{
    struct gcs_harness *h = *state;
    json_object_put(cf_call(h, GCS_MSG_START, 0, NULL, "{\"ContainerId\":\"x\"}"));
    json_object_put(
        cf_call(h, GCS_MSG_START, 0, NULL, "{\"ContainerId\":\"x\",\"ActivityId\":\"\"}"));
    json_object_put(
        cf_call(h, GCS_MSG_START, 0, NULL, "{\"ContainerId\":\"x\",\"ActivityId\":null}"));
    json_object_put(cf_call(h, GCS_MSG_START, 0, "not-a-guid",
                            "{\"ContainerId\":\"x\",\"ActivityId\":\"not-a-guid\"}"));
    /* Failures too, and the lenient first read: a base whose ContainerId has the wrong type
     * still echoes the ActivityId (§6 row 2). */
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, GCS_HCS_E_SYSTEM_NOT_FOUND, NULL,
                            "{\"ContainerId\":\"nope\",\"ActivityId\":\"\"}"));
    json_object_put(cf_call(h, GCS_MSG_START, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{\"ActivityId\":\"" CF_AID "\",\"ContainerId\":5}"));
    json_object_put(cf_call(h, GCS_MSG_WAIT_FOR_PROCESS, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{" BASE ",\"ProcessId\":\"12\"}"));
    /* Unparseable: no ActivityId can be read, none is sent. */
    json_object_put(cf_call(h, GCS_MSG_START, GCS_HCS_E_INVALID_JSON, NULL, "{\"ActivityId\":"));
}

/* §2.6: case-insensitive names, unknown fields and otsc/ocsc ignored, null = absent, trailing
 * whitespace tolerated; strict types and integer ranges. */
static void test_json_conventions(void **state)
{
    struct gcs_harness *h = *state;
    json_object_put(cf_call(h, GCS_MSG_WAIT_FOR_PROCESS, GCS_E_NOT_FOUND, CF_AID,
                            "{\"containerid\":\"" CF_UVM "\",\"ACTIVITYID\":\"" CF_AID
                            "\",\"processId\":4000000,\"timeoutinms\":10}"));
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID,
                            "{" BASE
                            ",\"otsc\":{\"traceparent\":\"00-1-2-01\",\"tracestate\":\"\"},"
                            "\"ocsc\":{\"x\":1},\"Unknown\":[1,{\"a\":null}]}\r\n \t"));
    json_object_put(cf_call(h, GCS_MSG_START, 0, NULL, "null"));
    json_object_put(cf_call(h, GCS_MSG_DUMP_STACKS, 0, CF_AID, "{" BASE ",\"Unknown\":null}\n"));
    static const char *const bad_pid[] = {"\"5\"", "5.5", "-1", "4294967296", "true", "[5]", "{}"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad_pid); i++)
        json_object_put(cf_call(h, GCS_MSG_WAIT_FOR_PROCESS, GCS_HCS_E_INVALID_JSON, CF_AID,
                                "{" BASE ",\"ProcessId\":%s,\"TimeoutInMs\":10}", bad_pid[i]));
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{" BASE ",\"ProcessId\":5,\"Height\":65536,\"Width\":80}"));
    json_object_put(cf_call(h, GCS_MSG_SIGNAL_PROCESS, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{" BASE ",\"ProcessId\":5,\"Options\":{\"Signal\":\"TERM\"}}"));
    /* Not one JSON object: an array, two objects, an empty body. */
    json_object_put(cf_call(h, GCS_MSG_START, GCS_HCS_E_INVALID_JSON, NULL, "[1]"));
    json_object_put(cf_call(h, GCS_MSG_START, GCS_HCS_E_INVALID_JSON, NULL, "{}{}"));
    json_object_put(cf_call(h, GCS_MSG_START, GCS_HCS_E_INVALID_JSON, NULL, "%s", ""));
    /* Nested JSON strings: a string that is not JSON, and an object where a string belongs. */
    json_object_put(cf_call(h, GCS_MSG_EXECUTE_PROCESS, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{" BASE ",\"Settings\":{\"ProcessParameters\":{\"CommandArgs\":"
                            "[\"/bin/true\"]}}}"));
    json_object_put(cf_call(h, GCS_MSG_GET_PROPERTIES, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{\"ContainerId\":\"c\",\"ActivityId\":\"" CF_AID
                            "\",\"Query\":\"{\\\"PropertyTypes\\\":\"}"));
    /* Create's ContainerConfig: schema below 2.1 or missing is HCS_E_INVALID_JSON (§6). */
    static const char *const schema[] = {"{\\\"Major\\\":2,\\\"Minor\\\":0}",
                                         "{\\\"Major\\\":1,\\\"Minor\\\":9}", "null"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(schema); i++)
        json_object_put(cf_call(h, GCS_MSG_CREATE, GCS_HCS_E_INVALID_JSON, CF_AID,
                                "{\"ContainerId\":\"cfx\",\"ActivityId\":\"" CF_AID
                                "\",\"ContainerConfig\":\"{\\\"SchemaVersion\\\":%s,"
                                "\\\"OciBundlePath\\\":\\\"/run/gcs/c/cfx\\\","
                                "\\\"OciSpecification\\\":{}}\"}",
                                schema[i]));
}

/* §2.4: the request id echoed as is (0 and the top of the u64 range), responses matched by id
 * in completion order. */
static void test_ids(void **state)
{
    struct gcs_harness *h = *state;
    cleanup_error struct lcow_error *err = NULL;
    const char *b = "{" BASE "}";
    static const uint64_t ids[] = {0, UINT64_MAX, (uint64_t)INT64_MAX + 1, 42};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ids); i++) {
        cleanup_free uint8_t *fr = NULL;
        size_t len = 0;
        assert_int_equal(gcs_frame_build(GCS_MSG_START, ids[i], b, strlen(b), GCS_MAX_READ_MESSAGE,
                                         &fr, &len, &err),
                         0);
        assert_int_equal(host_bridge_track(h->b, ids[i], &err), 0);
        assert_int_equal(host_bridge_send_raw(h->b, fr, len, &err), 0);
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(h->b, ids[i], CF_MS, &m, &err), 0);
        assert_true(m.id == ids[i]);
        json_object_put(cf_check(&m, GCS_MSG_START, 0, CF_AID));
        host_message_done(&m);
    }
    /* An outstanding wait, then a Start: the Start is answered while the wait still blocks
     * (completion order, not arrival order: §2.8); then the wait, once the process is gone. */
    struct host_process p;
    const bool none[3] = {false, false, false};
    assert_int_equal(cf_exec(h, CF_UVM, "{\"CommandArgs\":[\"/bin/sleep\",\"60\"]}", none, &p), 0);
    cleanup_free char *w = NULL;
    assert_true(asprintf(&w, "{" BASE ",\"ProcessId\":%u,\"TimeoutInMs\":4294967295}", p.pid) > 0);
    uint64_t wid = 0, sid = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_WAIT_FOR_PROCESS, w, &wid, &err), 0);
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_START, b, &sid, &err), 0);
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(h->b, sid, CF_MS, &m, &err), 0);
    json_object_put(cf_check(&m, GCS_MSG_START, 0, CF_AID));
    host_message_done(&m);
    kill_in_uvm(h, p.pid);
    assert_int_equal(host_bridge_recv(h->b, wid, CF_MS, &m, &err), 0);
    struct json_object *o = cf_check(&m, GCS_MSG_WAIT_FOR_PROCESS, 0, CF_AID);
    assert_int_equal(cf_u32(o, "ExitCode"), 4294967295u);
    json_object_put(o);
    host_message_done(&m);
}

struct modify_case {
    const char *resource, *request; /* request NULL: no RequestType field */
    const char *settings;
    int32_t want;
};

/* §4.9 and §6: every combination a Linux GCS refuses, with the HRESULT it refuses it with. */
static void test_modify_refusals(void **state)
{
    struct gcs_harness *h = *state;
    static const struct modify_case cases[] = {
        {"Bogus", "Add", "{}", GCS_E_FAIL},
        {"combinedlayers", "Remove", "{}", GCS_E_FAIL}, /* enum values compare exactly */
        {"", "Add", "{}", GCS_E_FAIL},
        {"HvSocket", "Add", "{}", GCS_E_FAIL},
        {"NetworkNamespace", "Add", "{}", GCS_E_FAIL},
        {"MappedVirtualDiskForContainerScratch", "Add", "{}", GCS_E_FAIL},
        {"WCOWBlockCims", "Add", "{}", GCS_E_FAIL},
        {"CWCOWCombinedLayers", "Add", "{}", GCS_E_FAIL},
        /* Looked up as a container even on the UVM id, which is none. */
        {"ContainerConstraints", "Update", "{\"Linux\":{}}", GCS_HCS_E_SYSTEM_NOT_FOUND},
        {"SCSIDevice", "Add", "{\"Lun\":1}", GCS_E_FAIL},
        {"SCSIDevice", "Update", "{\"Lun\":1}", GCS_E_FAIL},
        {"MappedVirtualDisk", "Update", "{\"MountPath\":\"/run/mounts/scsi/m9\"}", GCS_E_FAIL},
        {"VPMemDevice", "Update", "{\"MountPath\":\"/run/layers/p9\"}", GCS_E_FAIL},
        {"CombinedLayers", "Update", "{\"ContainerRootPath\":\"/run/gcs/c/x/rootfs\"}", GCS_E_FAIL},
        {"CombinedLayers", "PreAdd", "{\"ContainerRootPath\":\"/run/gcs/c/x/rootfs\"}", GCS_E_FAIL},
        {"CombinedLayers", "remove", "{\"ContainerRootPath\":\"/run/gcs/c/x/rootfs\"}", GCS_E_FAIL},
        {"MappedDirectory", "Update", "{\"MountPath\":\"/run/x\",\"Port\":564}", GCS_E_FAIL},
        {"Network", "Update", "{\"ID\":\"x\"}", GCS_E_FAIL},
        {"PodCgroupMemoryLimit", "Add", "{}", GCS_E_FAIL},
        {"PodCgroupMemoryLimit", "Remove", "{}", GCS_E_FAIL},
        /* Settings decoded by ResourceType before dispatch: malformed ones are invalid JSON. */
        {"MappedVirtualDisk", "Add", "{\"Lun\":256}", GCS_HCS_E_INVALID_JSON},
        {"MappedVirtualDisk", "Add", "{\"Controller\":-1}", GCS_HCS_E_INVALID_JSON},
        {"MappedVirtualDisk", "Add", "{\"ReadOnly\":\"yes\"}", GCS_HCS_E_INVALID_JSON},
        {"VPMemDevice", "Add", "{\"DeviceNumber\":4294967296}", GCS_HCS_E_INVALID_JSON},
        {"CombinedLayers", "Add", "{\"Layers\":{}}", GCS_HCS_E_INVALID_JSON},
        {"Network", "Add", "{\"EncapOverhead\":65536}", GCS_HCS_E_INVALID_JSON},
        {"MappedDirectory", "Add", "{\"Port\":\"564\"}", GCS_HCS_E_INVALID_JSON},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        const struct modify_case *c = &cases[i];
        char rt[48] = "";
        if (c->request)
            snprintf(rt, sizeof(rt), "\"RequestType\":\"%s\",", c->request);
        struct json_object *o =
            cf_call(h, GCS_MSG_MODIFY_SETTINGS, CF_ANY_RESULT, CF_AID,
                    "{" BASE ",\"Request\":{\"ResourceType\":\"%s\",%s\"Settings\":%s}}",
                    c->resource, rt, c->settings);
        int64_t hr = json_object_get_int64(lcow_json_field(o, "Result"));
        if (hr != c->want)
            fail_msg("%s/%s %s: 0x%08x, expected 0x%08x (%s)", c->resource,
                     c->request ? c->request : "-", c->settings, (unsigned)hr, (unsigned)c->want,
                     json_object_get_string(lcow_json_field(o, "ErrorMessage")));
        json_object_put(o);
    }
    /* Request missing, or not an object. */
    json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, GCS_E_FAIL, CF_AID, "{" BASE "}"));
    json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, GCS_HCS_E_INVALID_JSON, CF_AID,
                            "{" BASE ",\"Request\":\"{}\"}"));
    /* A container id is looked up first: unknown is "not found" whatever the ResourceType
     * (a known container takes ContainerConstraints only: conform_containers). */
    json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            "{\"ContainerId\":\"nope\",\"ActivityId\":\"" CF_AID
                            "\",\"Request\":{\"ResourceType\":\"MappedVirtualDisk\","
                            "\"RequestType\":\"Add\",\"Settings\":{}}}"));
    json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            "{\"ContainerId\":\"nope\",\"ActivityId\":\"" CF_AID
                            "\",\"Request\":{\"ResourceType\":\"ContainerConstraints\","
                            "\"RequestType\":\"Update\",\"Settings\":{\"Linux\":{}}}}"));
}

/* §4.9: an absent RequestType is Add — a real overlay (read-only: no ScratchPath) mounted and
 * removed again through CombinedLayers. */
static void test_modify_default_add(void **state)
{
    struct gcs_harness *h = *state;
    char top[64], layer[96], root[96], probe[160];
    snprintf(top, sizeof(top), "/run/lcow-conform-%d", (int)getpid());
    snprintf(layer, sizeof(layer), "%s/layer", top);
    snprintf(root, sizeof(root), "%s/rootfs", top);
    assert_int_equal(lcow_mkdir_p(layer, 0755, NULL), 0);
    snprintf(probe, sizeof(probe), "%s/hello", layer);
    assert_int_equal(lcow_write_file(probe, "hi", 2, O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL), 0);
    struct json_object *o =
        cf_call(h, GCS_MSG_MODIFY_SETTINGS, CF_ANY_RESULT, CF_AID,
                "{" BASE ",\"Request\":{\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
                "\"ContainerRootPath\":\"%s\",\"Layers\":[{\"Path\":\"%s\"}]}}}",
                root, layer);
    int64_t hr = json_object_get_int64(lcow_json_field(o, "Result"));
    char msg[512];
    snprintf(msg, sizeof(msg), "%s",
             hr ? json_object_get_string(lcow_json_field(o, "ErrorMessage")) : "");
    json_object_put(o);
    snprintf(probe, sizeof(probe), "%s/hello", root);
    struct stat st;
    int seen = hr == 0 ? stat(probe, &st) : -1;
    if (hr == 0)
        json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, 0, CF_AID,
                                "{" BASE ",\"Request\":{\"ResourceType\":\"CombinedLayers\","
                                "\"RequestType\":\"Remove\",\"Settings\":{"
                                "\"ContainerRootPath\":\"%s\"}}}",
                                root));
    gh_unmount_under(top);
    gh_remove_tree(top);
    if (hr != 0)
        fail_msg("CombinedLayers without RequestType: %s", msg);
    assert_int_equal(seen, 0);
}

/* §4.4-4.5 for UVM processes: signal death is ExitCode -1 (4294967295), the entry goes with the
 * first delivered code, a timed-out waiter leaves the code for the next one, stdio flags rule
 * which ports are dialled, CommandArgs wins over CommandLine, CreateInUtilityVM runs in the UVM
 * whatever the ContainerId. */
static void test_external_processes(void **state)
{
    struct gcs_harness *h = *state;
    const bool none[3] = {false, false, false}, out[3] = {false, true, false};
    struct host_process p;
    uint32_t code = 0;
    assert_int_equal(
        cf_exec(h, CF_UVM, "{\"CommandArgs\":[\"/bin/sh\",\"-c\",\"kill -9 $$\"]}", none, &p), 0);
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, CF_MS, &code), 0);
    assert_int_equal(code, 4294967295u);
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, 10, &code), GCS_E_NOT_FOUND);
    /* Timeout 0 on a running process, then the exit: the code is still there. */
    assert_int_equal(cf_exec(h, CF_UVM,
                             "{\"CommandArgs\":[\"/bin/sh\",\"-c\",\"sleep 0.3; exit 3\"]}", none,
                             &p),
                     0);
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, 0, &code), GCS_HCS_E_CONNECTION_TIMEOUT);
    /* Polled with timeout 0 until it has exited (a loaded machine may take a while). */
    int32_t hr = GCS_HCS_E_CONNECTION_TIMEOUT;
    for (int i = 0; i < 1000 && hr == GCS_HCS_E_CONNECTION_TIMEOUT; i++) {
        usleep(20 * 1000);
        hr = cf_wait(h, CF_UVM, p.pid, 0, &code);
    }
    assert_int_equal(hr, 0);
    assert_int_equal(code, 3);
    /* A port whose Create flag is false is not dialled. */
    cleanup_error struct lcow_error *err = NULL;
    uint32_t port = 0;
    int lfd = host_bridge_stdio_listen(h->b, &port, &err);
    assert_true(lfd >= 0);
    struct json_object *o = cf_call(h, GCS_MSG_EXECUTE_PROCESS, 0, CF_AID,
                                    "{" BASE ",\"Settings\":{\"ProcessParameters\":"
                                    "\"{\\\"CommandArgs\\\":[\\\"/bin/true\\\"]}\","
                                    "\"VsockStdioRelaySettings\":{\"StdOut\":%u}}}",
                                    port);
    uint32_t pid = cf_u32(o, "ProcessId");
    json_object_put(o);
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 300), 0);
    close(lfd);
    assert_int_equal(cf_wait(h, CF_UVM, pid, CF_MS, &code), 0);
    /* A requested stream whose port nobody listens on, or that has no port: E_FAIL. */
    json_object_put(cf_call(h, GCS_MSG_EXECUTE_PROCESS, GCS_E_FAIL, CF_AID,
                            "{" BASE ",\"Settings\":{\"ProcessParameters\":"
                            "\"{\\\"CommandArgs\\\":[\\\"/bin/true\\\"],\\\"CreateStdOutPipe\\\":"
                            "true}\",\"VsockStdioRelaySettings\":{\"StdOut\":%u}}}",
                            port + 1000));
    json_object_put(cf_call(h, GCS_MSG_EXECUTE_PROCESS, GCS_E_FAIL, CF_AID,
                            "{" BASE ",\"Settings\":{\"ProcessParameters\":"
                            "\"{\\\"CommandArgs\\\":[\\\"/bin/true\\\"],\\\"CreateStdOutPipe\\\":"
                            "true}\"}}"));
    /* An empty argv is an error, not a crash. */
    json_object_put(cf_call(h, GCS_MSG_EXECUTE_PROCESS, GCS_E_FAIL, CF_AID,
                            "{" BASE ",\"Settings\":{\"ProcessParameters\":\"{}\"}}"));
    char text[256];
    assert_int_equal(cf_exec(h, CF_UVM,
                             "{\"CommandArgs\":[\"/bin/echo\",\"args\"],\"CommandLine\":"
                             "\"/bin/echo line\"}",
                             out, &p),
                     0);
    cf_read_all(p.fd[1], text, sizeof(text));
    assert_string_equal(text, "args\n");
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, CF_MS, &code), 0);
    assert_int_equal(
        cf_exec(h, CF_UVM, "{\"CommandLine\":\"/bin/echo 'a  b' \\\"c\\\"\"}", out, &p), 0);
    cf_read_all(p.fd[1], text, sizeof(text));
    assert_string_equal(text, "a  b c\n");
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, CF_MS, &code), 0);
    assert_int_equal(cf_exec(h, "no-such-container",
                             "{\"CommandArgs\":[\"/bin/echo\",\"uvm\"],\"CreateInUtilityVM\":true}",
                             out, &p),
                     0);
    cf_read_all(p.fd[1], text, sizeof(text));
    assert_string_equal(text, "uvm\n");
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, CF_MS, &code), 0);
}

/* §1.5: a response to a request of a dropped connection is lost, never sent on the next one
 * (whose request ids start again at 0: it would answer the wrong request); the host's 50 ms
 * probe afterwards finds the process gone (its code, or "not found"). */
static void test_reconnect_drops_stale_replies(void **state)
{
    struct gcs_harness *h = *state;
    cleanup_error struct lcow_error *err = NULL;
    struct host_process p;
    const bool none[3] = {false, false, false};
    /* Burn a few ids so the stale wait's id is one the new connection will use too. */
    for (int i = 0; i < 3; i++)
        json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID, "{" BASE "}"));
    assert_int_equal(cf_exec(h, CF_UVM, "{\"CommandArgs\":[\"/bin/sleep\",\"60\"]}", none, &p), 0);
    cleanup_free char *w = NULL;
    assert_true(asprintf(&w, "{" BASE ",\"ProcessId\":%u,\"TimeoutInMs\":4294967295}", p.pid) > 0);
    uint64_t wid = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_WAIT_FOR_PROCESS, w, &wid, &err), 0);
    usleep(100 * 1000); /* let gcs take it in */
    cf_reconnect(h);
    assert_int_equal(host_bridge_negotiate(h->b, CF_MS, &err), 0);
    kill_in_uvm(h, p.pid);
    usleep(300 * 1000);
    struct pollfd pf = {.fd = host_bridge_fd(h->b), .events = POLLIN};
    if (poll(&pf, 1, 0) != 0)
        fail_msg("gcs sent something unasked after the reconnect (a stale reply to id %llu?)",
                 (unsigned long long)wid);
    uint32_t code = 0;
    int32_t hr = cf_wait(h, CF_UVM, p.pid, 50, &code);
    assert_true((hr == 0 && code == 4294967295u) || hr == GCS_E_NOT_FOUND);
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID, "{" BASE "}"));
}

/* §1.7: the log stream the host parses (stderr, here -logfile, the same writer) is one JSON
 * object per line with logrus's `time` (RFC 3339), `level` and `msg`, nothing else. The fixture
 * runs gcs at debug level, so the requests above it all logged something. */
static void test_log_stream(void **state)
{
    struct gcs_harness *h = *state;
    json_object_put(cf_call(h, GCS_MSG_START, GCS_HCS_E_INVALID_JSON, NULL, "{\"ActivityId\":"));
    json_object_put(cf_call(h, GCS_MSG_DELETE_CONTAINER_STATE, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            "{\"ContainerId\":\"nope\",\"ActivityId\":\"" CF_AID "\"}"));
    cleanup_free char *log = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file(h->log, 64u << 20, &log, &len, NULL), 0);
    /* gcs may be writing a line right now: only complete lines count. */
    char *end = memrchr(log, '\n', len);
    assert_non_null(end);
    end[1] = '\0';
    static const char *const levels[] = {"trace", "debug", "info", "warning",
                                         "error", "fatal", "panic"};
    size_t lines = 0;
    char *save = NULL;
    for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
        struct json_object *o = NULL;
        if (lcow_json_parse(l, strlen(l), "log", &o, NULL) < 0 ||
            !json_object_is_type(o, json_type_object))
            fail_msg("log line is not a JSON object: %s", l);
        const char *f[3] = {"time", "level", "msg"};
        for (int i = 0; i < 3; i++) {
            struct json_object *v = json_object_object_get(o, f[i]); /* exact names */
            if (!v || !json_object_is_type(v, json_type_string))
                fail_msg("log line without string `%s`: %s", f[i], l);
        }
        const char *t = json_object_get_string(json_object_object_get(o, "time"));
        int y, mo, d, hh, mi, ss;
        if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &hh, &mi, &ss) != 6 ||
            (!strchr(t + 19, 'Z') && !strchr(t + 19, '+') && !strchr(t + 19, '-')))
            fail_msg("log time `%s` is not RFC 3339", t);
        const char *lv = json_object_get_string(json_object_object_get(o, "level"));
        bool known = false;
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(levels); i++)
            known = known || strcmp(lv, levels[i]) == 0;
        if (!known)
            fail_msg("log level `%s` is not a logrus name", lv);
        json_object_put(o);
    }
    assert_true(lines >= 3);
}

static int setup_sysfs(void **state)
{
    return cf_setup_sysfs((struct gcs_harness **)state);
}

#define VPCI_GUID "6b1f2d37-0d0c-4c0c-9d0b-3e0c2b9c5a11"

/* §4.9 VPCIDevice: Add waits for the PCI device under the VMBus channel (a fake sysfs here; the
 * GUID matched lower-cased), bounded by -device-timeout-ms; Remove, an absent device, a GUID
 * that is no GUID and a missing one are E_FAIL. */
static void test_vpci_device(void **state)
{
    struct gcs_harness *h = *state;
    cleanup_error struct lcow_error *err = NULL;
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/sys/bus/vmbus/devices/" VPCI_GUID "/pci2a3b:00", h->dir);
    assert_int_equal(lcow_mkdir_p(dir, 0755, NULL), 0);
    const char *add = "{" BASE ",\"Request\":{\"ResourceType\":\"VPCIDevice\",\"RequestType\":"
                      "\"Add\",\"Settings\":{\"VMBusGUID\":\"6B1F2D37-0D0C-4C0C-9D0B-"
                      "3E0C2B9C5A11\"}}}";
    uint64_t id = 0;
    assert_int_equal(host_bridge_send(h->b, GCS_MSG_MODIFY_SETTINGS, add, &id, &err), 0);
    usleep(300 * 1000); /* the device appears while gcs waits */
    char dev[320];
    snprintf(dev, sizeof(dev), "%s/2a3b:00:00.0", dir);
    assert_int_equal(mkdir(dev, 0755), 0);
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(h->b, id, CF_MS, &m, &err), 0);
    json_object_put(cf_check(&m, GCS_MSG_MODIFY_SETTINGS, 0, CF_AID));
    host_message_done(&m);
    static const char *const bad[] = {
        "\"RequestType\":\"Remove\",\"Settings\":{\"VMBusGUID\":\"" VPCI_GUID "\"}",
        "\"RequestType\":\"Add\",\"Settings\":{\"VMBusGUID\":\"../../../../etc\"}",
        "\"RequestType\":\"Add\",\"Settings\":{}",
        "\"RequestType\":\"Add\",\"Settings\":{\"VMBusGUID\":\"6b1f2d37-0d0c-4c0c-9d0b-"
        "3e0c2b9c5a12\"}", /* never appears: after the 1.5 s bound */
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++)
        json_object_put(cf_call(h, GCS_MSG_MODIFY_SETTINGS, GCS_E_FAIL, CF_AID,
                                "{" BASE ",\"Request\":{\"ResourceType\":\"VPCIDevice\",%s}}",
                                bad[i]));
}

/* §6: unknown container ids, GetProperties of the UVM, Start without a container, DumpStacks. */
static void test_error_table(void **state)
{
    struct gcs_harness *h = *state;
    static const uint32_t types[] = {GCS_MSG_SHUTDOWN_GRACEFUL,     GCS_MSG_SHUTDOWN_FORCED,
                                     GCS_MSG_WAIT_FOR_PROCESS,      GCS_MSG_SIGNAL_PROCESS,
                                     GCS_MSG_RESIZE_CONSOLE,        GCS_MSG_GET_PROPERTIES,
                                     GCS_MSG_DELETE_CONTAINER_STATE};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(types); i++)
        json_object_put(cf_call(h, types[i], GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                                "{\"ContainerId\":\"nope\",\"ActivityId\":\"" CF_AID
                                "\",\"ProcessId\":7,\"TimeoutInMs\":10,\"Query\":\"\"}"));
    json_object_put(cf_call(h, GCS_MSG_EXECUTE_PROCESS, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            "{\"ContainerId\":\"nope\",\"ActivityId\":\"" CF_AID
                            "\",\"Settings\":{\"ProcessParameters\":\"{\\\"OciProcess\\\":{"
                            "\\\"args\\\":[\\\"/bin/true\\\"],\\\"cwd\\\":\\\"/\\\"}}\"}}"));
    json_object_put(cf_call(h, GCS_MSG_START, 0, CF_AID,
                            "{\"ContainerId\":\"nope\",\"ActivityId\":\"" CF_AID "\"}"));
    /* §4.6/§4.7: the UVM id is no container, so its processes are not reachable this way. */
    struct host_process p;
    const bool none[3] = {false, false, false};
    assert_int_equal(cf_exec(h, CF_UVM, "{\"CommandArgs\":[\"/bin/sleep\",\"60\"]}", none, &p), 0);
    json_object_put(cf_call(h, GCS_MSG_SIGNAL_PROCESS, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            "{" BASE ",\"ProcessId\":%u,\"Options\":{\"Signal\":9}}", p.pid));
    json_object_put(cf_call(h, GCS_MSG_RESIZE_CONSOLE, GCS_HCS_E_SYSTEM_NOT_FOUND, CF_AID,
                            "{" BASE ",\"ProcessId\":%u,\"Height\":5,\"Width\":5}", p.pid));
    kill_in_uvm(h, p.pid);
    uint32_t code = 0;
    assert_int_equal(cf_wait(h, CF_UVM, p.pid, CF_MS, &code), 0);
    assert_int_equal(code, 4294967295u);
    host_process_close(&p);
    json_object_put(cf_call(h, GCS_MSG_GET_PROPERTIES, GCS_E_FAIL, CF_AID,
                            "{" BASE
                            ",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"}"));
    json_object_put(cf_call(h, GCS_MSG_WAIT_FOR_PROCESS, GCS_E_NOT_FOUND, CF_AID,
                            "{" BASE ",\"ProcessId\":4000000,\"TimeoutInMs\":10}"));
    struct json_object *o = cf_call(h, GCS_MSG_DUMP_STACKS, 0, CF_AID, "{" BASE "}");
    struct json_object *s = lcow_json_field(o, "GuestStacks");
    assert_true(s && json_object_is_type(s, json_type_string) && json_object_get_string_len(s) > 0);
    json_object_put(o);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "conform_bridge: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unnegotiated_and_unknown_types, setup_fresh, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_ranges, setup_fresh, teardown),
        cmocka_unit_test_setup_teardown(test_activity_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_conventions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify_default_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_external_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_drops_stale_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vpci_device, setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_log_stream, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
