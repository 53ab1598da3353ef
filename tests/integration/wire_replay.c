/* Wire-conformance replay (issue 12): the request sequences a Windows host sends for one
 * standalone container and for a pod (lcow-host.md §3.1 order, §3.2 payloads byte for byte:
 * field spellings, ContainerID vs ContainerId, nested JSON strings), written as raw frames to gcs
 * over unix:, and every response field the host parses checked against gcs-protocol.md §2.6-2.9
 * and §3: Result a signed int32 (negative HRESULTs), ActivityId echoed and never "", only the base
 * object plus ErrorMessage/ErrorRecords on failure, every message ≤ 64 KiB, Negotiate's exact
 * capabilities, and exactly one exit notification per container with the Create's ActivityId.
 *
 * Substitutions, so runs never collide: the ids c1 / pod / ctr get a per-run suffix, and layer
 * paths live under /run/lcow-wire-<pid> as plain directories (the busybox rootfs in the SCSI
 * layer's place, an empty VPMem layer): the storage tier tests the real devices behind them.
 * The sandbox's pid in the workload's namespace paths is the one its init reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/hardening_lib.h"

#define ZERO_AID "00000000-0000-0000-0000-000000000000"

struct replay {
    struct gcs_harness *h;
    char run[64];    /* /run/lcow-wire-<pid> */
    char sub[6][96]; /* @ID@ @POD@ @CTR@ @RUN@ @SBPID@ @PORT@ values */
};

static const char *const keys[6] = {"@ID@", "@POD@", "@CTR@", "@RUN@", "@SBPID@", "@PORT@"};

/* The template with every @KEY@ replaced (heap). */
static char *subst(struct replay *r, const char *t)
{
    size_t cap = strlen(t) * 2 + 1024, n = 0;
    char *out = malloc(cap);
    while (*t) {
        bool hit = false;
        for (int k = 0; k < 6; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(t, keys[k], kl) == 0) {
                size_t vl = strlen(r->sub[k]);
                assert_true(n + vl < cap);
                memcpy(out + n, r->sub[k], vl);
                n += vl;
                t += kl;
                hit = true;
                break;
            }
        }
        if (!hit) {
            assert_true(n + 1 < cap);
            out[n++] = *t++;
        }
    }
    out[n] = '\0';
    return out;
}

/* §2.6/2.7 on one response: Result is a signed int32, ActivityId absent or the echo, error
 * fields exactly when Result != 0. Returns the parsed object (caller puts it). */
static struct json_object *check_base(const struct host_message *m, int32_t want)
{
    assert_true(m->len + GCS_HEADER_SIZE <= GCS_MAX_WRITE_MESSAGE);
    struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(m->payload, m->len, "response", &o, NULL), 0);
    struct json_object *res = lcow_json_field(o, "Result");
    assert_non_null(res);
    assert_true(json_object_is_type(res, json_type_int));
    int64_t v = json_object_get_int64(res);
    assert_true(v >= INT32_MIN && v <= INT32_MAX); /* never 3224830222 */
    if (v != want)
        fail_msg("Result %lld, expected %d: %s", (long long)v, want, m->payload);
    struct json_object *aid = lcow_json_field(o, "ActivityId");
    if (aid)
        assert_string_equal(json_object_get_string(aid), ZERO_AID);
    struct json_object *em = lcow_json_field(o, "ErrorMessage");
    struct json_object *er = lcow_json_field(o, "ErrorRecords");
    if (want == 0) {
        assert_null(em);
        assert_null(er);
    } else {
        assert_non_null(em);
        assert_true(strlen(json_object_get_string(em)) > 0);
        assert_non_null(er);
        assert_int_equal(json_object_array_length(er), 1);
        struct json_object *rec = json_object_array_get_idx(er, 0);
        assert_int_equal(json_object_get_int64(lcow_json_field(rec, "Result")), v);
        assert_string_equal(json_object_get_string(lcow_json_field(rec, "ModuleName")), "gcs");
        assert_non_null(lcow_json_field(rec, "FileName"));
        assert_non_null(lcow_json_field(rec, "Line"));
    }
    return o;
}

/* Sends one frame with the template's bytes; returns the checked response object. */
static struct json_object *send_t(struct replay *r, uint32_t type, const char *t, int32_t want)
{
    cleanup_free char *p = subst(r, t);
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_call(r->h->b, type, p, HL_MS, &m, &err) < 0)
        fail_msg("0x%08x: %s", type, lcow_error_message(err));
    struct json_object *o = check_base(&m, want);
    host_message_done(&m);
    return o;
}

static void ok(struct replay *r, uint32_t type, const char *t)
{
    json_object_put(send_t(r, type, t, 0));
}

/* §2.9: the next notification is cid's, with the Create's ActivityId, Operation None,
 * Result 0. */
static void notification(struct replay *r, const char *cid, const char *type)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_next_notification(r->h->b, HL_MS, &m, &err) < 0)
        fail_msg("notification: %s", lcow_error_message(err));
    assert_int_equal(m.type, GCS_MSG_CONTAINER_NOTIFICATION);
    assert_int_equal(m.id, 0);
    struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(m.payload, m.len, "notification", &o, NULL), 0);
    assert_string_equal(json_object_get_string(lcow_json_field(o, "ContainerId")), cid);
    assert_string_equal(json_object_get_string(lcow_json_field(o, "ActivityId")), ZERO_AID);
    assert_string_equal(json_object_get_string(lcow_json_field(o, "Type")), type);
    assert_string_equal(json_object_get_string(lcow_json_field(o, "Operation")), "None");
    struct json_object *res = lcow_json_field(o, "Result");
    assert_true(json_object_is_type(res, json_type_int) && json_object_get_int64(res) == 0);
    assert_null(lcow_json_field(o, "ResultInfo"));
    json_object_put(o);
    host_message_done(&m);
}

/* ---- the §3.2 payloads (substituted only in ids, /run layer paths and the sandbox pid) ---- */

static const char NEGOTIATE[] = "{\"ContainerId\":\"\",\"ActivityId\":\"" ZERO_AID
                                "\",\"MinimumVersion\":4,\"MaximumVersion\":4}";

static const char LAYERS_ADD[] =
    "{\"ContainerId\":\"" ZERO_AID "\",\"ActivityId\":\"" ZERO_AID
    "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
    "\"ContainerID\":\"@ID@\",\"ContainerRootPath\":\"/run/gcs/c/@ID@/rootfs\",\"Layers\":[{"
    "\"Path\":\"@RUN@/layers/p1-0-8392704\"},{\"Path\":\"@RUN@/mounts/scsi/m0\"}],"
    "\"ScratchPath\":\"/run/gcs/c/@ID@/scratch/@ID@\"}}}";

static const char CREATE[] =
    "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
    "\",\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":2,\\\"Minor\\\":1},"
    "\\\"OciBundlePath\\\":\\\"/run/gcs/c/@ID@\\\",\\\"OciSpecification\\\":{\\\"ociVersion\\\":"
    "\\\"1.1.0\\\",\\\"process\\\":{\\\"terminal\\\":false,\\\"user\\\":{\\\"uid\\\":0,\\\"gid\\\":"
    "0},\\\"args\\\":[\\\"/bin/sh\\\",\\\"-c\\\",\\\"echo hi\\\"],\\\"env\\\":[\\\"PATH=/usr/bin:/"
    "bin\\\"],\\\"cwd\\\":\\\"/\\\"},\\\"root\\\":{\\\"path\\\":\\\"/run/gcs/c/@ID@/rootfs\\\"},"
    "\\\"linux\\\":{\\\"namespaces\\\":[{\\\"type\\\":\\\"pid\\\"},{\\\"type\\\":\\\"ipc\\\"},{"
    "\\\"type\\\":\\\"uts\\\"},{\\\"type\\\":\\\"mount\\\"},{\\\"type\\\":\\\"network\\\"}]}},"
    "\\\"ScratchDirPath\\\":\\\"/run/gcs/c/@ID@/scratch/@ID@\\\"}\"}";

static const char START[] = "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID "\"}";

static const char EXEC_INIT[] =
    "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
    "\",\"Settings\":{\"ProcessParameters\":\"{\\\"CreateStdInPipe\\\":true,"
    "\\\"CreateStdOutPipe\\\""
    ":true,\\\"CreateStdErrPipe\\\":true}\",\"VsockStdioRelaySettings\":{\"StdIn\":1073741825,"
    "\"StdOut\":1073741826,\"StdErr\":1073741827}}}";

static const char WAIT[] = "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
                           "\",\"ProcessId\":@SBPID@,\"TimeoutInMs\":4294967295}";

static const char WAIT_SHORT[] = "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
                                 "\",\"ProcessId\":@SBPID@,\"TimeoutInMs\":50}";

static const char LAYERS_REMOVE[] =
    "{\"ContainerId\":\"" ZERO_AID "\",\"ActivityId\":\"" ZERO_AID
    "\",\"Request\":{\"RequestType\":\"Remove\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
    "\"ContainerRootPath\":\"/run/gcs/c/@ID@/rootfs\"}}}";

/* ---- fixture ------------------------------------------------------------------------------ */

static void remove_tree(const char *dir)
{
    gh_unmount_under(dir);
    gh_remove_tree(dir);
}

static void run_paths_cleanup(struct replay *r)
{
    char p[160];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof(p), "/run/gcs/c/%s", r->sub[k]);
        remove_tree(p);
    }
    snprintf(p, sizeof(p), "/run/gcs/pods/%s", r->sub[1]);
    remove_tree(p);
    remove_tree(r->run);
}

static int setup(void **state)
{
    struct replay *r = calloc(1, sizeof(*r));
    int pid = (int)getpid();
    snprintf(r->run, sizeof(r->run), "/run/lcow-wire-%d", pid);
    snprintf(r->sub[0], sizeof(r->sub[0]), "c1x%d", pid);
    snprintf(r->sub[1], sizeof(r->sub[1]), "podx%d", pid);
    snprintf(r->sub[2], sizeof(r->sub[2]), "ctrx%d", pid);
    snprintf(r->sub[3], sizeof(r->sub[3]), "%s", r->run);
    /* Layers as the host would have mounted them: the base image (busybox) and an empty top. */
    char p[160];
    snprintf(p, sizeof(p), "%s/layers/p1-0-8392704", r->run);
    if (lcow_mkdir_p(p, 0755, NULL) < 0)
        return -1;
    snprintf(p, sizeof(p), "%s/mounts/scsi/m0", r->run);
    hl_make_rootfs(p);
    if (hl_setup(&r->h, NULL, NULL) < 0) {
        run_paths_cleanup(r);
        free(r);
        return -1;
    }
    /* The replay starts at the very first frame: a fresh connection, not yet negotiated. */
    cleanup_error struct lcow_error *err = NULL;
    host_bridge_drop(r->h->b);
    if (host_bridge_accept(r->h->b, HL_MS, &err) < 0) {
        fprintf(stderr, "setup: %s\n", lcow_error_message(err));
        hl_teardown(r->h);
        run_paths_cleanup(r);
        free(r);
        return -1;
    }
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct replay *r = *state;
    if (!r)
        return 0;
    hl_teardown(r->h);
    usleep(50 * 1000);
    run_paths_cleanup(r);
    free(r);
    return 0;
}

/* §3: the exact Negotiate response. */
static void negotiate(struct replay *r)
{
    struct json_object *o = send_t(r, GCS_MSG_NEGOTIATE_PROTOCOL, NEGOTIATE, 0);
    assert_int_equal(json_object_get_int(lcow_json_field(o, "Version")), 4);
    struct json_object *caps = lcow_json_field(o, "Capabilities");
    assert_non_null(caps);
    assert_string_equal(json_object_get_string(lcow_json_field(caps, "RuntimeOsType")), "Linux");
    struct json_object *sv = lcow_json_field(caps, "SupportedSchemaVersions");
    assert_int_equal(json_object_array_length(sv), 1);
    assert_int_equal(
        json_object_get_int(lcow_json_field(json_object_array_get_idx(sv, 0), "Major")), 2);
    assert_int_equal(
        json_object_get_int(lcow_json_field(json_object_array_get_idx(sv, 0), "Minor")), 1);
    struct json_object *g = lcow_json_field(caps, "GuestDefinedCapabilities");
    assert_true(g && json_object_is_type(g, json_type_object));
    static const char *const yes[] = {"NamespaceAddRequestSupported", "SignalProcessSupported",
                                      "DumpStacksSupported", "DeleteContainerStateSupported"};
    for (size_t i = 0; i < 4; i++)
        assert_true(json_object_get_boolean(lcow_json_field(g, yes[i])));
    json_object_put(o);
    /* A second Negotiate on the same connection: E_NOTIMPL, base only. */
    json_object_put(send_t(r, GCS_MSG_NEGOTIATE_PROTOCOL, NEGOTIATE, GCS_E_NOTIMPL));
}

/* Listens on the next three stdio ports (0x40000001.. on a fresh connection). */
static void listen3(struct replay *r, int lfd[3], uint32_t first)
{
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < 3; i++) {
        uint32_t port = 0;
        assert_true((lfd[i] = host_bridge_stdio_listen(r->h->b, &port, &err)) >= 0);
        assert_int_equal(port, first + (uint32_t)i);
    }
}

static uint32_t pid_of(struct json_object *o)
{
    struct json_object *p = lcow_json_field(o, "ProcessId");
    assert_non_null(p);
    int64_t v = json_object_get_int64(p);
    assert_true(v > 0 && v <= INT32_MAX);
    return (uint32_t)v;
}

static void set_pid(struct replay *r, uint32_t pid)
{
    snprintf(r->sub[4], sizeof(r->sub[4]), "%u", pid);
}

static void test_standalone(void **state)
{
    struct replay *r = *state;
    cleanup_error struct lcow_error *err = NULL;
    negotiate(r);
    ok(r, GCS_MSG_MODIFY_SETTINGS, LAYERS_ADD);
    ok(r, GCS_MSG_CREATE, CREATE);
    ok(r, GCS_MSG_START, START);
    int lfd[3];
    listen3(r, lfd, HOST_STDIO_PORT_BASE);
    struct json_object *o = send_t(r, GCS_MSG_EXECUTE_PROCESS, EXEC_INIT, 0);
    uint32_t pid = pid_of(o);
    json_object_put(o);
    int fd[3];
    for (int i = 0; i < 3; i++)
        assert_true((fd[i] = host_stdio_accept(lfd[i], HL_MS, &err)) >= 0);
    close(fd[0]);
    char out[64], errs[64];
    hl_read_all(fd[1], out, sizeof(out));
    hl_read_all(fd[2], errs, sizeof(errs));
    assert_string_equal(out, "hi\n");
    assert_string_equal(errs, "");
    set_pid(r, pid);
    o = send_t(r, GCS_MSG_WAIT_FOR_PROCESS, WAIT, 0);
    assert_int_equal(json_object_get_int64(lcow_json_field(o, "ExitCode")), 0);
    json_object_put(o);
    notification(r, r->sub[0], GCS_NOTIFY_UNEXPECTED_EXIT);
    /* Release (v2 order): layers, then the container's state; a second Delete: not found. */
    ok(r, GCS_MSG_MODIFY_SETTINGS, LAYERS_REMOVE);
    ok(r, GCS_MSG_DELETE_CONTAINER_STATE, START);
    json_object_put(send_t(r, GCS_MSG_DELETE_CONTAINER_STATE, START, GCS_HCS_E_SYSTEM_NOT_FOUND));
    hl_no_notification(r->h, 300);
    char rootfs[160];
    snprintf(rootfs, sizeof(rootfs), "/run/gcs/c/%s/rootfs", r->sub[0]);
    assert_int_equal(gh_mounts_under(rootfs), 0);
}

/* ---- the pod: a sandbox and one workload (CRI annotations), v2 release order ------------- */

static const char POD_LAYERS_ADD[] =
    "{\"ContainerId\":\"" ZERO_AID "\",\"ActivityId\":\"" ZERO_AID
    "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
    "\"ContainerID\":\"@ID@\",\"ContainerRootPath\":\"/run/gcs/pods/@POD@/@ID@/rootfs\","
    "\"Layers\":[{\"Path\":\"@RUN@/mounts/scsi/m0\"}],"
    "\"ScratchPath\":\"/run/gcs/pods/@POD@/scratch/@ID@\"}}}";

static const char POD_LAYERS_REMOVE[] =
    "{\"ContainerId\":\"" ZERO_AID "\",\"ActivityId\":\"" ZERO_AID
    "\",\"Request\":{\"RequestType\":\"Remove\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
    "\"ContainerID\":\"@ID@\",\"ContainerRootPath\":\"/run/gcs/pods/@POD@/@ID@/rootfs\","
    "\"Layers\":[{\"Path\":\"@RUN@/mounts/scsi/m0\"}],"
    "\"ScratchPath\":\"/run/gcs/pods/@POD@/scratch/@ID@\"}}}";

static const char SANDBOX_CREATE[] =
    "{\"ContainerId\":\"@POD@\",\"ActivityId\":\"" ZERO_AID
    "\",\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":2,\\\"Minor\\\":1},"
    "\\\"OciBundlePath\\\":\\\"/run/gcs/pods/@POD@/@POD@\\\",\\\"OciSpecification\\\":{"
    "\\\"ociVersion\\\":\\\"1.1.0\\\",\\\"process\\\":{\\\"terminal\\\":false,\\\"user\\\":{"
    "\\\"uid\\\":0,\\\"gid\\\":0},\\\"args\\\":[\\\"/bin/sleep\\\",\\\"3600\\\"],\\\"env\\\":["
    "\\\"PATH=/usr/bin:/bin\\\"],\\\"cwd\\\":\\\"/\\\"},\\\"root\\\":{\\\"path\\\":\\\"/run/gcs/"
    "pods/@POD@/@POD@/rootfs\\\",\\\"readonly\\\":true},\\\"hostname\\\":\\\"@POD@\\\","
    "\\\"mounts\\\":[{\\\"destination\\\":\\\"/proc\\\",\\\"type\\\":\\\"proc\\\",\\\"source\\\":"
    "\\\"proc\\\"}],\\\"annotations\\\":{\\\"io.kubernetes.cri.container-type\\\":\\\"sandbox\\\","
    "\\\"io.kubernetes.cri.sandbox-id\\\":\\\"@POD@\\\",\\\"io.microsoft.cri.skip-pod-"
    "networking\\\":"
    "\\\"true\\\"},\\\"linux\\\":{\\\"namespaces\\\":[{\\\"type\\\":\\\"pid\\\"},{\\\"type\\\":"
    "\\\"ipc\\\"},{\\\"type\\\":\\\"uts\\\"},{\\\"type\\\":\\\"mount\\\"}]}},"
    "\\\"ScratchDirPath\\\":\\\"/run/gcs/pods/@POD@/scratch/@POD@\\\"}\"}";

static const char WORKLOAD_CREATE[] =
    "{\"ContainerId\":\"@CTR@\",\"ActivityId\":\"" ZERO_AID
    "\",\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":2,\\\"Minor\\\":1},"
    "\\\"OciBundlePath\\\":\\\"/run/gcs/pods/@POD@/@CTR@\\\",\\\"OciSpecification\\\":{"
    "\\\"ociVersion\\\":\\\"1.1.0\\\",\\\"process\\\":{\\\"terminal\\\":false,\\\"user\\\":{"
    "\\\"uid\\\":0,\\\"gid\\\":0},\\\"args\\\":[\\\"/bin/sh\\\",\\\"-c\\\",\\\"trap 'exit 0' TERM; "
    "echo ready; while :; do sleep 1; "
    "done\\\"],\\\"env\\\":[\\\"PATH=/usr/bin:/bin\\\"],\\\"cwd\\\":"
    "\\\"/\\\"},\\\"root\\\":{\\\"path\\\":\\\"/run/gcs/pods/@POD@/@CTR@/rootfs\\\"},"
    "\\\"mounts\\\":[{\\\"destination\\\":\\\"/proc\\\",\\\"type\\\":\\\"proc\\\",\\\"source\\\":"
    "\\\"proc\\\"}],\\\"annotations\\\":{\\\"io.kubernetes.cri.container-type\\\":"
    "\\\"container\\\","
    "\\\"io.kubernetes.cri.sandbox-id\\\":\\\"@POD@\\\"},\\\"linux\\\":{\\\"namespaces\\\":[{"
    "\\\"type\\\":\\\"pid\\\"},{\\\"type\\\":\\\"ipc\\\",\\\"path\\\":\\\"/proc/@SBPID@/ns/"
    "ipc\\\"},"
    "{\\\"type\\\":\\\"uts\\\",\\\"path\\\":\\\"/proc/@SBPID@/ns/"
    "uts\\\"},{\\\"type\\\":\\\"mount\\\""
    "}]}},\\\"ScratchDirPath\\\":\\\"/run/gcs/pods/@POD@/scratch/@CTR@\\\"}\"}";

static const char EXEC_NO_STDIO[] =
    "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
    "\",\"Settings\":{\"ProcessParameters\":\"{}\",\"VsockStdioRelaySettings\":{}}}";

static const char EXEC_OUT_ERR[] =
    "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
    "\",\"Settings\":{\"ProcessParameters\":\"{\\\"CreateStdOutPipe\\\":true,"
    "\\\"CreateStdErrPipe\\\""
    ":true}\",\"VsockStdioRelaySettings\":{\"StdOut\":@PORT@,\"StdErr\":@PORT@}}}";

static const char EXEC_PS[] =
    "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
    "\",\"Settings\":{\"ProcessParameters\":\"{\\\"CreateStdOutPipe\\\":true,"
    "\\\"CreateStdErrPipe\\\""
    ":true,\\\"OciProcess\\\":{\\\"terminal\\\":false,\\\"user\\\":{\\\"uid\\\":0,\\\"gid\\\":0},"
    "\\\"args\\\":[\\\"ps\\\"],\\\"cwd\\\":\\\"/\\\"}}\",\"VsockStdioRelaySettings\":{\"StdOut\":"
    "@PORT@,\"StdErr\":@PORT@}}}";

static const char SIGNAL_TERM[] = "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
                                  "\",\"ProcessId\":@SBPID@,\"Options\":{\"Signal\":15}}";
static const char KILL[] =
    "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID "\",\"ProcessId\":@SBPID@}";
static const char RESIZE[] = "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
                             "\",\"ProcessId\":@SBPID@,\"Height\":24,\"Width\":80}";
static const char PS_QUERY[] = "{\"ContainerId\":\"@ID@\",\"ActivityId\":\"" ZERO_AID
                               "\",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"}";

/* The two stdio ports of an exec with stdout+stderr: the template has @PORT@ twice, replaced in
 * order. */
static char *two_ports(struct replay *r, const char *t, uint32_t a, uint32_t b)
{
    cleanup_free char *once = NULL;
    char pa[16], pb[16];
    snprintf(pa, sizeof(pa), "%u", a);
    snprintf(pb, sizeof(pb), "%u", b);
    const char *at = strstr(t, "@PORT@");
    assert_non_null(at);
    size_t n = strlen(t) + 64;
    once = malloc(n);
    snprintf(once, n, "%.*s%s%s", (int)(at - t), t, pa, at + 6);
    snprintf(r->sub[5], sizeof(r->sub[5]), "%s", pb);
    return subst(r, once);
}

static void set_id(struct replay *r, const char *id)
{
    /* @ID@ in the shared templates names the container the request is for. */
    memmove(r->sub[0], id, strlen(id) + 1);
}

static uint32_t exec_out_err(struct replay *r, const char *t, char *out, size_t cap)
{
    cleanup_error struct lcow_error *err = NULL;
    uint32_t pa = 0, pb = 0;
    int la = host_bridge_stdio_listen(r->h->b, &pa, &err);
    int lb = host_bridge_stdio_listen(r->h->b, &pb, &err);
    assert_true(la >= 0 && lb >= 0);
    cleanup_free char *tt = two_ports(r, t, pa, pb);
    /* tt is already substituted; send_t substitutes again, which leaves it as it is. */
    struct json_object *o = send_t(r, GCS_MSG_EXECUTE_PROCESS, tt, 0);
    uint32_t pid = pid_of(o);
    json_object_put(o);
    int a = host_stdio_accept(la, HL_MS, &err), b = host_stdio_accept(lb, HL_MS, &err);
    assert_true(a >= 0 && b >= 0);
    if (out) {
        hl_read_all(a, out, cap);
        char e[256];
        hl_read_all(b, e, sizeof(e));
    } else {
        close(b);
        /* the init's first line, then keep stdout open: no half-close yet */
        char line[16] = "";
        ssize_t k = read(a, line, sizeof(line) - 1);
        assert_true(k > 0);
        assert_int_equal(strncmp(line, "ready", 5), 0);
        close(a); /* gcs drains the rest (hardening_faults covers that) */
    }
    return pid;
}

static void test_pod(void **state)
{
    struct replay *r = *state;
    char pod[96], ctr[96];
    snprintf(pod, sizeof(pod), "%s", r->sub[1]);
    snprintf(ctr, sizeof(ctr), "%s", r->sub[2]);
    negotiate(r);
    /* Sandbox: layers, Create, Start, init without stdio, async wait later. */
    set_id(r, pod);
    ok(r, GCS_MSG_MODIFY_SETTINGS, POD_LAYERS_ADD);
    ok(r, GCS_MSG_CREATE, SANDBOX_CREATE);
    ok(r, GCS_MSG_START, START);
    struct json_object *o = send_t(r, GCS_MSG_EXECUTE_PROCESS, EXEC_NO_STDIO, 0);
    uint32_t sb = pid_of(o);
    json_object_put(o);
    set_pid(r, sb);
    /* A wait that times out: HCS_E_CONNECTION_TIMEOUT, base object only. */
    o = send_t(r, GCS_MSG_WAIT_FOR_PROCESS, WAIT_SHORT, GCS_HCS_E_CONNECTION_TIMEOUT);
    assert_null(lcow_json_field(o, "ExitCode"));
    json_object_put(o);
    /* Workload joining the sandbox's ipc/uts namespaces. */
    set_id(r, ctr);
    ok(r, GCS_MSG_MODIFY_SETTINGS, POD_LAYERS_ADD);
    ok(r, GCS_MSG_CREATE, WORKLOAD_CREATE);
    ok(r, GCS_MSG_START, START);
    uint32_t wl = exec_out_err(r, EXEC_OUT_ERR, NULL, 0);
    /* Exec `ps` (§3.2 byte for byte), wait for it. */
    char ps[4096];
    uint32_t psid = exec_out_err(r, EXEC_PS, ps, sizeof(ps));
    assert_non_null(strstr(ps, "PID"));
    set_pid(r, psid);
    o = send_t(r, GCS_MSG_WAIT_FOR_PROCESS, WAIT, 0);
    assert_int_equal(json_object_get_int64(lcow_json_field(o, "ExitCode")), 0);
    json_object_put(o);
    /* ps: ProcessList inside the Properties string. */
    o = send_t(r, GCS_MSG_GET_PROPERTIES, PS_QUERY, 0);
    const char *props = json_object_get_string(lcow_json_field(o, "Properties"));
    assert_non_null(props);
    struct json_object *po = NULL;
    assert_int_equal(lcow_json_parse(props, strlen(props), "Properties", &po, NULL), 0);
    struct json_object *pl = lcow_json_field(po, "ProcessList");
    assert_true(pl && json_object_array_length(pl) >= 1);
    json_object_put(po);
    json_object_put(o);
    /* Resize of a process without a console: whatever gcs answers keeps the base shape. */
    set_pid(r, wl);
    cleanup_free char *rz = subst(r, RESIZE);
    struct host_message m = {0};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_call(r->h->b, GCS_MSG_RESIZE_CONSOLE, rz, HL_MS, &m, &err), 0);
    int32_t hr = 0;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    json_object_put(check_base(&m, hr));
    host_message_done(&m);
    /* SIGTERM to the workload's init: it exits 0 by its trap; GracefulExit after the wait. */
    ok(r, GCS_MSG_SIGNAL_PROCESS, SIGNAL_TERM);
    o = send_t(r, GCS_MSG_WAIT_FOR_PROCESS, WAIT, 0);
    assert_int_equal(json_object_get_int64(lcow_json_field(o, "ExitCode")), 0);
    json_object_put(o);
    notification(r, ctr, GCS_NOTIFY_GRACEFUL_EXIT);
    /* Kill (no Options) the sandbox: ForcedExit, 137. */
    set_id(r, pod);
    set_pid(r, sb);
    ok(r, GCS_MSG_SIGNAL_PROCESS, KILL);
    o = send_t(r, GCS_MSG_WAIT_FOR_PROCESS, WAIT, 0);
    assert_int_equal(json_object_get_int64(lcow_json_field(o, "ExitCode")), 137);
    json_object_put(o);
    notification(r, pod, GCS_NOTIFY_FORCED_EXIT);
    /* Signal after the exit: 0x80070490, which the host treats as "already exited". */
    json_object_put(send_t(r, GCS_MSG_SIGNAL_PROCESS, KILL, GCS_E_NOT_FOUND));
    /* v2 release: layers, then DeleteContainerState, workload first. */
    set_id(r, ctr);
    ok(r, GCS_MSG_MODIFY_SETTINGS, POD_LAYERS_REMOVE);
    ok(r, GCS_MSG_DELETE_CONTAINER_STATE, START);
    set_id(r, pod);
    ok(r, GCS_MSG_MODIFY_SETTINGS, POD_LAYERS_REMOVE);
    ok(r, GCS_MSG_DELETE_CONTAINER_STATE, START);
    hl_no_notification(r->h, 300);
    char pods[160];
    snprintf(pods, sizeof(pods), "/run/gcs/pods/%s", pod);
    assert_int_equal(gh_mounts_under(pods), 0);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "wire_replay: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_standalone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
