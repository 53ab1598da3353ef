/* The conformance tests' fixture and response checks: see conform_lib.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/conform_lib.h"

static int setup_with(struct gcs_harness **ret, bool negotiate, bool fake_sysfs)
{
    static const char *const applets[] = {"sh", "echo", "cat", "sleep", "true", "env", NULL};
    struct gcs_harness *h = calloc(1, sizeof(*h));
    cleanup_error struct lcow_error *err = NULL;
    if (!h || gh_init(h, "conform") < 0)
        goto fail;
    if (gh_make_rootfs(h->rootfs, applets) < 0 || gh_make_devroot(h) < 0)
        goto fail;
    char gcs[256], sysfs[128];
    gh_bin_path(gcs, sizeof(gcs), "gcs");
    snprintf(sysfs, sizeof(sysfs), "%s/sys", h->dir);
    if (fake_sysfs && lcow_mkdir_p(sysfs, 0755, NULL) < 0)
        goto fail;
    const char *argv[] = {gcs,
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
                          "-disable-time-sync",
                          fake_sysfs ? "-sysfs-root" : NULL,
                          sysfs,
                          "-device-timeout-ms",
                          "1500",
                          NULL};
    if (gh_start(h, argv, negotiate, CF_MS, &err) < 0) {
        fprintf(stderr, "conform: starting gcs: %s\n", lcow_error_message(err));
        goto fail;
    }
    *ret = h;
    return 0;
fail:
    if (h)
        gh_teardown(h);
    free(h);
    return -1;
}

int cf_setup(struct gcs_harness **ret, bool negotiate)
{
    return setup_with(ret, negotiate, false);
}

int cf_setup_sysfs(struct gcs_harness **ret)
{
    return setup_with(ret, true, true);
}

void cf_teardown(struct gcs_harness *h)
{
    if (!h)
        return;
    gh_stop(h);
    const char *keep = getenv("CF_KEEP_LOG"); /* debugging: append gcs's log there */
    cleanup_free char *log = NULL;
    size_t len = 0;
    if (keep && lcow_read_file(h->log, 64u << 20, &log, &len, NULL) == 0)
        (void)lcow_write_file(keep, log, len, O_WRONLY | O_CREAT | O_APPEND, 0644, NULL);
    gh_teardown(h);
    free(h);
}

void cf_reconnect(struct gcs_harness *h)
{
    cleanup_error struct lcow_error *err = NULL;
    host_bridge_drop(h->b);
    if (host_bridge_accept(h->b, CF_MS, &err) < 0)
        fail_msg("gcs did not redial: %s", lcow_error_message(err));
}

/* §2.7: the ErrorRecord gcs sends with a failure. */
static void check_record(struct json_object *rec, int64_t result)
{
    assert_true(json_object_is_type(rec, json_type_object));
    struct json_object *v = lcow_json_field(rec, "Result");
    assert_true(v && json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), result);
    v = lcow_json_field(rec, "Message");
    assert_true(v && json_object_is_type(v, json_type_string));
    v = lcow_json_field(rec, "ModuleName");
    assert_true(v && json_object_is_type(v, json_type_string));
    assert_string_equal(json_object_get_string(v), "gcs");
    v = lcow_json_field(rec, "FileName"); /* always present, may be "" */
    assert_true(v && json_object_is_type(v, json_type_string));
    v = lcow_json_field(rec, "Line");
    assert_true(v && json_object_is_type(v, json_type_int));
    assert_true(json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= UINT32_MAX);
}

struct json_object *cf_check(const struct host_message *m, uint32_t req_type, int64_t want,
                             const char *aid)
{
    uint32_t want_type = GCS_MSG_KIND_RESPONSE | (req_type & ~GCS_MSG_KIND_MASK);
    if (m->type != want_type)
        fail_msg("response type 0x%08x to 0x%08x, expected 0x%08x", m->type, req_type, want_type);
    assert_true(m->len + GCS_HEADER_SIZE <= GCS_MAX_WRITE_MESSAGE);
    struct json_object *o = NULL;
    if (lcow_json_parse(m->payload, m->len, "response", &o, NULL) < 0 ||
        !json_object_is_type(o, json_type_object))
        fail_msg("response is not a JSON object: %s", m->payload);
    struct json_object *res = lcow_json_field(o, "Result");
    if (!res || !json_object_is_type(res, json_type_int))
        fail_msg("no integer Result: %s", m->payload);
    int64_t hr = json_object_get_int64(res);
    if (hr < INT32_MIN || hr > INT32_MAX) /* signed int32 on the wire (§2.6) */
        fail_msg("Result %lld is not an int32: %s", (long long)hr, m->payload);
    if (want != CF_ANY_RESULT && hr != want)
        fail_msg("Result 0x%08x, expected 0x%08x: %s", (unsigned)hr, (unsigned)want, m->payload);
    struct json_object *a = lcow_json_field(o, "ActivityId");
    if (aid && (!a || strcmp(json_object_get_string(a), aid) != 0))
        fail_msg("ActivityId not echoed as `%s`: %s", aid, m->payload);
    if (!aid && a)
        fail_msg("ActivityId present although the request had none: %s", m->payload);
    struct json_object *em = lcow_json_field(o, "ErrorMessage");
    struct json_object *er = lcow_json_field(o, "ErrorRecords");
    if (hr == 0) {
        if (em || er)
            fail_msg("error fields on success: %s", m->payload);
        return o;
    }
    if (!em || !json_object_is_type(em, json_type_string) || !json_object_get_string_len(em))
        fail_msg("failure without ErrorMessage: %s", m->payload);
    if (!er || !json_object_is_type(er, json_type_array) || json_object_array_length(er) != 1)
        fail_msg("failure without exactly one ErrorRecord: %s", m->payload);
    check_record(json_object_array_get_idx(er, 0), hr);
    /* §2.7: a failed handler sends only the base object. */
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        if (strcmp(key, "Result") && strcmp(key, "ActivityId") && strcmp(key, "ErrorMessage") &&
            strcmp(key, "ErrorRecords"))
            fail_msg("failure carries `%s`: %s", key, m->payload);
    }
    return o;
}

static struct json_object *vcall(struct gcs_harness *h, uint32_t req_type, int64_t want,
                                 const char *aid, const char *fmt, va_list ap)
{
    cleanup_free char *p = NULL;
    assert_true(vasprintf(&p, fmt, ap) >= 0);
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_call(h->b, req_type, p, CF_MS, &m, &err) < 0)
        fail_msg("request 0x%08x %s: %s", req_type, p, lcow_error_message(err));
    struct json_object *o = cf_check(&m, req_type, want, aid);
    host_message_done(&m);
    return o;
}

struct json_object *cf_call(struct gcs_harness *h, uint32_t req_type, int64_t want, const char *aid,
                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct json_object *o = vcall(h, req_type, want, aid, fmt, ap);
    va_end(ap);
    return o;
}

int32_t cf_result(struct gcs_harness *h, uint32_t req_type, const char *aid, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct json_object *o = vcall(h, req_type, CF_ANY_RESULT, aid, fmt, ap);
    va_end(ap);
    int32_t hr = (int32_t)json_object_get_int64(lcow_json_field(o, "Result"));
    json_object_put(o);
    return hr;
}

uint32_t cf_u32(struct json_object *o, const char *field)
{
    struct json_object *v = lcow_json_field(o, field);
    if (!v || !json_object_is_type(v, json_type_int))
        fail_msg("no integer `%s` in %s", field, json_object_to_json_string(o));
    int64_t n = json_object_get_int64(v);
    assert_true(n >= 0 && n <= UINT32_MAX);
    return (uint32_t)n;
}

char *cf_quote(const char *s)
{
    struct json_object *str = json_object_new_string(s);
    assert_non_null(str);
    char *out = strdup(json_object_to_json_string_ext(str, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(str);
    assert_non_null(out);
    return out;
}

char *cf_spec(const struct gcs_harness *h, const char *args, bool tty, const char *extra)
{
    char *s = NULL;
    assert_true(
        asprintf(&s,
                 "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":%s,\"user\":{\"uid\":0,"
                 "\"gid\":0},\"args\":%s,\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"},\"root\":{"
                 "\"path\":\"%s\",\"readonly\":true},\"mounts\":[{\"destination\":\"/proc\","
                 "\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":\"/dev/pts\",\"type\":"
                 "\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\","
                 "\"newinstance\",\"ptmxmode=0666\"]}],\"linux\":{\"namespaces\":[{\"type\":"
                 "\"pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}]}%s}",
                 tty ? "true" : "false", args, h->rootfs, extra) >= 0);
    return s;
}

int32_t cf_create(struct gcs_harness *h, const char *cid, char *spec, const char *aid)
{
    cleanup_free char *owned = spec, *cfg = NULL, *aidf = NULL;
    assert_true(
        asprintf(&cfg,
                 "{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"OciBundlePath\":\"%s/c/%s\","
                 "\"OciSpecification\":%s}",
                 h->dir, cid, spec) >= 0);
    cleanup_free char *q = cf_quote(cfg);
    if (aid)
        assert_true(asprintf(&aidf, ",\"ActivityId\":\"%s\"", aid) >= 0);
    return cf_result(h, GCS_MSG_CREATE, aid, "{\"ContainerId\":\"%s\"%s,\"ContainerConfig\":%s}",
                     cid, aidf ? aidf : "", q);
}

int32_t cf_exec(struct gcs_harness *h, const char *cid, const char *params, const bool std[3],
                struct host_process *ret)
{
    static const char *const names[3] = {"StdIn", "StdOut", "StdErr"};
    cleanup_error struct lcow_error *err = NULL;
    int lfd[3] = {-1, -1, -1};
    char relay[160] = "";
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        if (!std[i])
            continue;
        uint32_t port = 0;
        lfd[i] = host_bridge_stdio_listen(h->b, &port, &err);
        assert_true(lfd[i] >= 0);
        n += (size_t)snprintf(relay + n, sizeof(relay) - n, "%s\"%s\":%u", n ? "," : "", names[i],
                              port);
    }
    /* The Create*Pipe flag of each requested stream: only those ports are dialled (§1.6). */
    static const char *const flags[3] = {"CreateStdInPipe", "CreateStdOutPipe", "CreateStdErrPipe"};
    cleanup_json struct json_object *po = NULL;
    assert_int_equal(lcow_json_parse(params, strlen(params), "params", &po, NULL), 0);
    for (int i = 0; i < 3; i++)
        if (std[i])
            json_object_object_add(po, flags[i], json_object_new_boolean(1));
    cleanup_free char *q = cf_quote(json_object_to_json_string_ext(
        po, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    struct json_object *o = cf_call(h, GCS_MSG_EXECUTE_PROCESS, CF_ANY_RESULT, CF_AID,
                                    "{\"ContainerId\":\"%s\",\"ActivityId\":\"" CF_AID
                                    "\",\"Settings\":{\"ProcessParameters\":%s,"
                                    "\"VsockStdioRelaySettings\":{%s}}}",
                                    cid, q, relay);
    int32_t hr = (int32_t)json_object_get_int64(lcow_json_field(o, "Result"));
    *ret = (struct host_process){.fd = {-1, -1, -1}};
    if (hr == 0)
        ret->pid = cf_u32(o, "ProcessId");
    json_object_put(o);
    for (int i = 0; i < 3; i++) {
        if (lfd[i] < 0)
            continue;
        if (hr == 0) {
            ret->fd[i] = host_stdio_accept(lfd[i], CF_MS, &err);
            if (ret->fd[i] < 0)
                fail_msg("stdio stream %d of process %u: %s", i, ret->pid, lcow_error_message(err));
        } else {
            close(lfd[i]);
        }
    }
    return hr;
}

int32_t cf_wait(struct gcs_harness *h, const char *cid, uint32_t pid, uint32_t timeout_ms,
                uint32_t *code)
{
    struct json_object *o = cf_call(h, GCS_MSG_WAIT_FOR_PROCESS, CF_ANY_RESULT, CF_AID,
                                    "{\"ContainerId\":\"%s\",\"ActivityId\":\"" CF_AID
                                    "\",\"ProcessId\":%u,\"TimeoutInMs\":%u}",
                                    cid, pid, timeout_ms);
    int32_t hr = (int32_t)json_object_get_int64(lcow_json_field(o, "Result"));
    if (hr == 0 && code)
        *code = cf_u32(o, "ExitCode");
    json_object_put(o);
    return hr;
}

void cf_read_all(int fd, char *buf, size_t cap)
{
    if (gh_read_all(fd, buf, cap, CF_MS) < 0)
        fail_msg("stdio stream did not reach EOF");
}

void cf_notification(struct gcs_harness *h, const char *cid, const char *aid, const char *type)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_next_notification(h->b, CF_MS, &m, &err) < 0)
        fail_msg("no notification for %s: %s", cid, lcow_error_message(err));
    assert_int_equal(m.type, GCS_MSG_CONTAINER_NOTIFICATION);
    assert_int_equal(m.id, 0);
    assert_true(m.len + GCS_HEADER_SIZE <= GCS_MAX_WRITE_MESSAGE);
    struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(m.payload, m.len, "notification", &o, NULL), 0);
    static const char *const keys[] = {"ContainerId", "ActivityId", "Type", "Operation"};
    const char *want[] = {cid, aid, type, "None"};
    for (size_t i = 0; i < 4; i++) {
        struct json_object *v = lcow_json_field(o, keys[i]);
        if (!v || !json_object_is_type(v, json_type_string) ||
            strcmp(json_object_get_string(v), want[i]) != 0)
            fail_msg("notification %s is not `%s`: %s", keys[i], want[i], m.payload);
    }
    struct json_object *r = lcow_json_field(o, "Result");
    assert_true(r && json_object_is_type(r, json_type_int) && json_object_get_int64(r) == 0);
    assert_null(lcow_json_field(o, "ResultInfo"));
    json_object_put(o);
    host_message_done(&m);
}

void cf_no_notification(struct gcs_harness *h, int ms)
{
    struct host_message m = {0};
    if (host_bridge_next_notification(h->b, ms, &m, NULL) == 0)
        fail_msg("unexpected notification: %s", m.payload);
}
