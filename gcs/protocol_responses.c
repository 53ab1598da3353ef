/* Responses guest -> host (§2.7, §3, §4) and the container notification (§2.9): encoders for
 * gcs (each payload kept within GCS_MAX_WRITE_PAYLOAD), decoders for the host client. */
#include "gcs/protocol.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/protocol_internal.h"

/* ---- the shared response writer ---- */

/* What one attempt writes: the texts cut to these lengths, ActivityId kept or dropped. */
struct shrink {
    size_t msg_len;
    size_t text_len;
    bool with_activity;
};

static void write_error_record(struct gcs_pw *w, struct json_object *o, int32_t result,
                               const char *msg, size_t msg_len)
{
    struct json_object *arr = json_object_new_array();
    struct json_object *rec = gcs_pw_object(w);
    if (arr == NULL || rec == NULL) {
        json_object_put(arr);
        json_object_put(rec);
        w->failed = true;
        return;
    }
    gcs_pw_int(w, rec, "Result", result, false);
    gcs_pw_string_len(w, rec, "Message", msg, msg_len);
    gcs_pw_string(w, rec, "ModuleName", "gcs", false);
    gcs_pw_string(w, rec, "FileName", "", false);
    gcs_pw_uint(w, rec, "Line", UINT32_MAX, false);
    if (json_object_array_add(arr, rec) < 0) {
        json_object_put(rec);
        w->failed = true;
    }
    gcs_pw_add(w, o, "ErrorRecords", arr);
}

static int build_response(const struct gcs_response_base *b, const char *msg,
                          const struct shrink *s, gcs_pw_extra_fn extra, const void *ctx,
                          const char *what, char **ret, struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    gcs_pw_int(&w, o, "Result", b->result, false);
    if (s->with_activity)
        gcs_pw_string(&w, o, "ActivityId", b->activity_id, true);
    if (s->msg_len > 0)
        gcs_pw_string_len(&w, o, "ErrorMessage", msg, s->msg_len);
    /* A failure is the base alone, with one ErrorRecord (Go's setErrorForResponseBase). */
    if (b->result != 0)
        write_error_record(&w, o, b->result, msg, s->msg_len);
    else if (extra != NULL)
        extra(&w, o, ctx, s->text_len);
    return gcs_pw_finish(&w, o, what, ret, err);
}

/* Shrinks one step toward fitting `over` fewer bytes; false when nothing is left to cut. */
static bool shrink_step(struct shrink *s, const struct gcs_response_base *b, const char *msg,
                        const char *text, size_t over)
{
    /* The text is only written on success: cutting it cannot help a failure response. */
    if (s->text_len > 0 && b->result == 0) {
        s->text_len =
            gcs_utf8_truncate_len(text, s->text_len, s->text_len > over ? s->text_len - over : 0);
        return true;
    }
    /* An ActivityId is a GUID (36 bytes); one far longer is bogus and goes before the message. */
    if (s->with_activity && b->activity_id != NULL && strlen(b->activity_id) > 64) {
        s->with_activity = false;
        return true;
    }
    if (s->msg_len > 0) {
        /* The message is written twice on failure (ErrorMessage and the record). */
        size_t cut = b->result != 0 ? (over + 1) / 2 : over;
        s->msg_len =
            gcs_utf8_truncate_len(msg, s->msg_len, s->msg_len > cut ? s->msg_len - cut : 0);
        return true;
    }
    if (s->with_activity && b->activity_id != NULL && *b->activity_id != '\0') {
        s->with_activity = false;
        return true;
    }
    return false;
}

int gcs_pw_response(const struct gcs_response_base *b, gcs_pw_extra_fn extra, const void *ctx,
                    const char *text, const char *what, char **ret, struct lcow_error **err)
{
    const char *msg = b->error_message ? b->error_message : "";
    char hr[32];
    /* Go always has an error text on failure; "HRESULT: 0x..." is what a bare HRESULT prints. */
    if (b->result != 0 && *msg == '\0')
        msg = gcs_hresult_format(b->result, hr, sizeof(hr));
    /* Nothing longer than the whole payload can fit: start from there, not from megabytes. */
    size_t msg_len = strlen(msg), text_len = text ? strlen(text) : 0;
    struct shrink s = {.msg_len = gcs_utf8_truncate_len(msg, msg_len, GCS_MAX_WRITE_PAYLOAD),
                       .text_len = gcs_utf8_truncate_len(text, text_len, GCS_MAX_WRITE_PAYLOAD),
                       .with_activity = true};
    for (;;) {
        char *out = NULL;
        int r = build_response(b, msg, &s, extra, ctx, what, &out, err);
        if (r < 0)
            return r;
        size_t n = strlen(out);
        if (n <= GCS_MAX_WRITE_PAYLOAD) {
            *ret = out;
            return 0;
        }
        free(out);
        if (!shrink_step(&s, b, msg, text, n - GCS_MAX_WRITE_PAYLOAD))
            return lcow_error_make(err, EMSGSIZE, "encode %s: %zu bytes exceed the %u-byte limit",
                                   what, n, GCS_MAX_WRITE_PAYLOAD);
    }
}

int gcs_encode_response_base(const struct gcs_response_base *b, char **ret, struct lcow_error **err)
{
    return gcs_pw_response(b, NULL, NULL, NULL, "response", ret, err);
}

int gcs_encode_error_response(int32_t result, const char *activity_id, const char *message,
                              char **ret, struct lcow_error **err)
{
    struct gcs_response_base b = {.result = result,
                                  .activity_id = (char *)(activity_id ? activity_id : ""),
                                  .error_message = (char *)(message ? message : "")};
    return gcs_encode_response_base(&b, ret, err);
}

/* Parses a response payload and its base: the first step of every response decoder. */
static int open_response(const char *buf, size_t len, struct json_object **ret,
                         struct gcs_response_base *base, struct lcow_error **err)
{
    int r = gcs_pr_parse_object(buf, len, "payload", ret, err);
    if (r == 0)
        r = gcs_pr_read_response_base(*ret, base, err);
    return r;
}

int gcs_decode_response_base(const char *buf, size_t len, struct gcs_response_base *ret,
                             struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_response_base b = {0};
    int r = open_response(buf, len, &o, &b, err);
    if (r < 0) {
        gcs_response_base_done(&b);
        return gcs_pr_fail(err, r, "response");
    }
    *ret = b;
    return 0;
}

/* ---- NegotiateProtocol ---- */

void gcs_negotiate_response_done(struct gcs_negotiate_response *r)
{
    gcs_response_base_done(&r->base);
    free(r->capabilities.supported_schema_versions);
    free(r->capabilities.runtime_os_type);
    r->capabilities = (struct gcs_capabilities){0};
}

static void write_capabilities(struct gcs_pw *w, struct json_object *o, const void *ctx,
                               size_t text_len)
{
    const struct gcs_negotiate_response *r = ctx;
    const struct gcs_capabilities *c = &r->capabilities;
    const struct gcs_guest_capabilities *g = &c->guest_defined;
    struct json_object *caps = gcs_pw_object(w);
    struct json_object *guest = gcs_pw_object(w);
    gcs_pw_uint(w, o, "Version", r->version, false);
    gcs_pw_bool(w, caps, "SendHostCreateMessage", c->send_host_create_message, true);
    gcs_pw_bool(w, caps, "SendHostStartMessage", c->send_host_start_message, true);
    gcs_pw_bool(w, caps, "HvSocketConfigOnStartup", c->hv_socket_config_on_startup, true);
    if (c->n_supported_schema_versions > 0) {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < c->n_supported_schema_versions; i++) {
            struct json_object *v = gcs_pw_object(w);
            gcs_pw_uint(w, v, "Major", c->supported_schema_versions[i].major, true);
            gcs_pw_uint(w, v, "Minor", c->supported_schema_versions[i].minor, true);
            if (v == NULL || json_object_array_add(arr, v) < 0) {
                json_object_put(v);
                w->failed = true;
            }
        }
        gcs_pw_add(w, caps, "SupportedSchemaVersions", arr);
    }
    gcs_pw_string(w, caps, "RuntimeOsType", c->runtime_os_type, true);
    /* A struct is never omitted by Go's omitempty: the host requires this object. */
    gcs_pw_bool(w, guest, "NamespaceAddRequestSupported", g->namespace_add_request_supported, true);
    gcs_pw_bool(w, guest, "SignalProcessSupported", g->signal_process_supported, true);
    gcs_pw_bool(w, guest, "DumpStacksSupported", g->dump_stacks_supported, true);
    gcs_pw_bool(w, guest, "DeleteContainerStateSupported", g->delete_container_state_supported,
                true);
    gcs_pw_add(w, caps, "GuestDefinedCapabilities", guest);
    gcs_pw_add(w, o, "Capabilities", caps);
}

int gcs_encode_negotiate_response(const struct gcs_negotiate_response *r, char **ret,
                                  struct lcow_error **err)
{
    return gcs_pw_response(&r->base, write_capabilities, r, NULL, "NegotiateProtocol response", ret,
                           err);
}

int gcs_negotiate_response_default(const char *activity_id, struct gcs_negotiate_response *ret,
                                   struct lcow_error **err)
{
    struct gcs_negotiate_response r = {.version = GCS_PROTOCOL_VERSION};
    r.base.activity_id = gcs_pr_strdup(activity_id);
    r.capabilities.supported_schema_versions = calloc(1, sizeof(struct gcs_schema_version));
    r.capabilities.runtime_os_type = strdup("Linux");
    if (r.base.activity_id == NULL || r.capabilities.supported_schema_versions == NULL ||
        r.capabilities.runtime_os_type == NULL) {
        gcs_negotiate_response_done(&r);
        return lcow_error_make(err, ENOMEM, "NegotiateProtocol response: out of memory");
    }
    r.capabilities.supported_schema_versions[0] = (struct gcs_schema_version){2, 1};
    r.capabilities.n_supported_schema_versions = 1;
    r.capabilities.guest_defined = (struct gcs_guest_capabilities){
        .namespace_add_request_supported = true,
        .signal_process_supported = true,
        .dump_stacks_supported = true,
        .delete_container_state_supported = true,
    };
    *ret = r;
    return 0;
}

static int read_schema_versions(const struct json_object *caps, struct gcs_capabilities *c,
                                struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = gcs_pr_get_array(caps, "Capabilities", "SupportedSchemaVersions", &arr, err);
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (r < 0 || n == 0)
        return r;
    c->supported_schema_versions = calloc(n, sizeof(*c->supported_schema_versions));
    if (c->supported_schema_versions == NULL)
        return lcow_error_make(err, ENOMEM, "SupportedSchemaVersions: out of memory");
    c->n_supported_schema_versions = n;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        char p[GCS_PR_PATH_MAX];
        snprintf(p, sizeof(p), "Capabilities.SupportedSchemaVersions[%zu]", i);
        if (v != NULL && !json_object_is_type(v, json_type_object))
            return lcow_error_make(err, EINVAL, "%s: expected object", p);
        r = gcs_pr_get_u32(v, p, "Major", &c->supported_schema_versions[i].major, err);
        if (r == 0)
            r = gcs_pr_get_u32(v, p, "Minor", &c->supported_schema_versions[i].minor, err);
    }
    return r;
}

static int read_capabilities(const struct json_object *caps, struct gcs_capabilities *c,
                             struct lcow_error **err)
{
    static const char path[] = "Capabilities", gpath[] = "Capabilities.GuestDefinedCapabilities";
    struct json_object *g = NULL;
    struct gcs_guest_capabilities *gc = &c->guest_defined;
    GCS_PR_TRY(
        gcs_pr_get_bool(caps, path, "SendHostCreateMessage", &c->send_host_create_message, err));
    GCS_PR_TRY(
        gcs_pr_get_bool(caps, path, "SendHostStartMessage", &c->send_host_start_message, err));
    GCS_PR_TRY(gcs_pr_get_bool(caps, path, "HvSocketConfigOnStartup",
                               &c->hv_socket_config_on_startup, err));
    GCS_PR_TRY(read_schema_versions(caps, c, err));
    GCS_PR_TRY(gcs_pr_get_string(caps, path, "RuntimeOsType", &c->runtime_os_type, err));
    GCS_PR_TRY(gcs_pr_get_object(caps, path, "GuestDefinedCapabilities", &g, err));
    if (g == NULL)
        return 0;
    c->has_guest_defined = true;
    GCS_PR_TRY(gcs_pr_get_bool(g, gpath, "NamespaceAddRequestSupported",
                               &gc->namespace_add_request_supported, err));
    GCS_PR_TRY(
        gcs_pr_get_bool(g, gpath, "SignalProcessSupported", &gc->signal_process_supported, err));
    GCS_PR_TRY(gcs_pr_get_bool(g, gpath, "DumpStacksSupported", &gc->dump_stacks_supported, err));
    GCS_PR_TRY(gcs_pr_get_bool(g, gpath, "DeleteContainerStateSupported",
                               &gc->delete_container_state_supported, err));
    return 0;
}

int gcs_decode_negotiate_response(const char *buf, size_t len, struct gcs_negotiate_response *ret,
                                  struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct json_object *caps = NULL;
    struct gcs_negotiate_response q = {0};
    int r = open_response(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "Version", &q.version, err);
    if (r == 0)
        r = gcs_pr_get_object(o, "", "Capabilities", &caps, err);
    if (r == 0)
        r = read_capabilities(caps, &q.capabilities, err);
    if (r < 0) {
        gcs_negotiate_response_done(&q);
        return gcs_pr_fail(err, r, "NegotiateProtocol response");
    }
    *ret = q;
    return 0;
}

/* ---- Create, ExecuteProcess, WaitForProcess: one number after the base ---- */

struct number_field {
    const char *key;
    uint64_t value;
};

static void write_number(struct gcs_pw *w, struct json_object *o, const void *ctx, size_t text_len)
{
    const struct number_field *f = ctx;
    gcs_pw_uint(w, o, f->key, f->value, false);
}

static int decode_number_response(const char *buf, size_t len, const char *key,
                                  struct gcs_response_base *base, uint32_t *value, const char *what,
                                  struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_response_base b = {0};
    uint32_t v = 0;
    int r = open_response(buf, len, &o, &b, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", key, &v, err);
    if (r < 0) {
        gcs_response_base_done(&b);
        return gcs_pr_fail(err, r, what);
    }
    *base = b;
    *value = v;
    return 0;
}

void gcs_create_response_done(struct gcs_create_response *r)
{
    gcs_response_base_done(&r->base);
}

int gcs_decode_create_response(const char *buf, size_t len, struct gcs_create_response *ret,
                               struct lcow_error **err)
{
    return decode_number_response(buf, len, "SelectedProtocolVersion", &ret->base,
                                  &ret->selected_protocol_version, "Create response", err);
}

int gcs_encode_create_response(const struct gcs_create_response *r, char **ret,
                               struct lcow_error **err)
{
    struct number_field f = {"SelectedProtocolVersion", r->selected_protocol_version};
    return gcs_pw_response(&r->base, write_number, &f, NULL, "Create response", ret, err);
}

void gcs_execute_process_response_done(struct gcs_execute_process_response *r)
{
    gcs_response_base_done(&r->base);
}

int gcs_decode_execute_process_response(const char *buf, size_t len,
                                        struct gcs_execute_process_response *ret,
                                        struct lcow_error **err)
{
    return decode_number_response(buf, len, "ProcessId", &ret->base, &ret->process_id,
                                  "ExecuteProcess response", err);
}

int gcs_encode_execute_process_response(const struct gcs_execute_process_response *r, char **ret,
                                        struct lcow_error **err)
{
    struct number_field f = {"ProcessId", r->process_id};
    return gcs_pw_response(&r->base, write_number, &f, NULL, "ExecuteProcess response", ret, err);
}

void gcs_wait_for_process_response_done(struct gcs_wait_for_process_response *r)
{
    gcs_response_base_done(&r->base);
}

int gcs_decode_wait_for_process_response(const char *buf, size_t len,
                                         struct gcs_wait_for_process_response *ret,
                                         struct lcow_error **err)
{
    return decode_number_response(buf, len, "ExitCode", &ret->base, &ret->exit_code,
                                  "WaitForProcess response", err);
}

int gcs_encode_wait_for_process_response(const struct gcs_wait_for_process_response *r, char **ret,
                                         struct lcow_error **err)
{
    struct number_field f = {"ExitCode", r->exit_code};
    return gcs_pw_response(&r->base, write_number, &f, NULL, "WaitForProcess response", ret, err);
}

/* ---- DumpStacks ---- */

void gcs_dump_stacks_response_done(struct gcs_dump_stacks_response *r)
{
    gcs_response_base_done(&r->base);
    free(r->guest_stacks);
    r->guest_stacks = NULL;
}

static void write_stacks(struct gcs_pw *w, struct json_object *o, const void *ctx, size_t text_len)
{
    const struct gcs_dump_stacks_response *r = ctx;
    gcs_pw_string_len(w, o, "GuestStacks", r->guest_stacks, text_len);
}

int gcs_encode_dump_stacks_response(const struct gcs_dump_stacks_response *r, char **ret,
                                    struct lcow_error **err)
{
    return gcs_pw_response(&r->base, write_stacks, r, r->guest_stacks ? r->guest_stacks : "",
                           "DumpStacks response", ret, err);
}

int gcs_decode_dump_stacks_response(const char *buf, size_t len,
                                    struct gcs_dump_stacks_response *ret, struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_dump_stacks_response q = {0};
    int r = open_response(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_string(o, "", "GuestStacks", &q.guest_stacks, err);
    if (r < 0) {
        gcs_dump_stacks_response_done(&q);
        return gcs_pr_fail(err, r, "DumpStacks response");
    }
    *ret = q;
    return 0;
}

/* ---- GetProperties ---- */

void gcs_properties_done(struct gcs_properties *p)
{
    free(p->process_ids);
    json_object_put(p->lcow_metrics);
    *p = (struct gcs_properties){0};
}

void gcs_get_properties_response_done(struct gcs_get_properties_response *r)
{
    gcs_response_base_done(&r->base);
    gcs_properties_done(&r->properties);
}

struct props_ctx {
    const struct gcs_properties *p;
    size_t n_pids;               /* how many of p->process_ids fit */
    struct json_object *metrics; /* the size-controlled copy, or NULL */
};

static void write_properties(struct gcs_pw *w, struct json_object *o, const void *ctx,
                             size_t text_len)
{
    const struct props_ctx *c = ctx;
    struct json_object *inner = gcs_pw_object(w);
    if (c->n_pids > 0) {
        struct json_object *arr = json_object_new_array_ext((int)c->n_pids);
        for (size_t i = 0; arr != NULL && i < c->n_pids; i++) {
            struct json_object *d = gcs_pw_object(w);
            gcs_pw_uint(w, d, "ProcessId", c->p->process_ids[i], false);
            if (d == NULL || json_object_array_add(arr, d) < 0) {
                json_object_put(d);
                w->failed = true;
            }
        }
        gcs_pw_add(w, inner, "ProcessList", arr);
    }
    gcs_pw_ref(w, inner, "LCOWMetrics", c->metrics);
    gcs_pw_nested(w, o, "Properties", inner);
    json_object_put(inner);
}

/* Go resets blkio and rdma and drops network from the metrics it sends, to bound the size. */
static int trimmed_metrics(struct json_object *m, struct json_object **ret)
{
    *ret = NULL;
    if (m == NULL)
        return 0;
    struct json_object *copy = NULL;
    if (json_object_deep_copy(m, &copy, NULL) < 0)
        return -ENOMEM;
    if (json_object_is_type(copy, json_type_object)) {
        static const char *const reset[] = {"blkio", "rdma"};
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(reset); i++) {
            if (!json_object_object_get_ex(copy, reset[i], NULL))
                continue;
            struct json_object *empty = json_object_new_object();
            if (empty == NULL || json_object_object_add(copy, reset[i], empty) < 0) {
                json_object_put(empty);
                json_object_put(copy);
                return -ENOMEM;
            }
        }
        json_object_object_del(copy, "network");
    }
    *ret = copy;
    return 0;
}

int gcs_encode_get_properties_response(const struct gcs_get_properties_response *r, char **ret,
                                       struct lcow_error **err)
{
    struct props_ctx c = {.p = &r->properties, .n_pids = r->properties.n_process_ids};
    cleanup_json struct json_object *metrics = NULL;
    if (trimmed_metrics(r->properties.lcow_metrics, &metrics) < 0)
        return lcow_error_make(err, ENOMEM, "GetProperties response: out of memory");
    c.metrics = metrics;
    for (;;) {
        int rr = gcs_pw_response(&r->base, write_properties, &c, NULL, "GetProperties response",
                                 ret, NULL);
        if (rr != -EMSGSIZE)
            return rr < 0 ? lcow_error_make(err, -rr, "GetProperties response: encode failed") : 0;
        /* Too big: trim the process list (by about the share that overflows), then metrics. */
        if (c.n_pids > 0)
            c.n_pids = c.n_pids > 16 ? c.n_pids - c.n_pids / 8 : c.n_pids - 1;
        else if (c.metrics != NULL)
            c.metrics = NULL;
        else
            return lcow_error_make(err, EMSGSIZE, "GetProperties response does not fit 64 KiB");
    }
}

static int read_properties(const struct json_object *p, struct gcs_properties *props,
                           struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = gcs_pr_get_array(p, "Properties", "ProcessList", &arr, err);
    if (r == 0)
        r = gcs_pr_get_object_ref(p, "Properties", "LCOWMetrics", &props->lcow_metrics, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    props->has_process_list = true;
    props->process_ids = calloc(n ? n : 1, sizeof(*props->process_ids));
    if (props->process_ids == NULL)
        return lcow_error_make(err, ENOMEM, "ProcessList: out of memory");
    for (size_t i = 0; i < n && r == 0; i++) {
        struct json_object *d = json_object_array_get_idx(arr, i);
        char path[GCS_PR_PATH_MAX];
        snprintf(path, sizeof(path), "Properties.ProcessList[%zu]", i);
        if (d != NULL && !json_object_is_type(d, json_type_object))
            return lcow_error_make(err, EINVAL, "%s: expected object", path);
        r = gcs_pr_get_u32(d, path, "ProcessId", &props->process_ids[i], err);
        props->n_process_ids = i + 1;
    }
    return r;
}

int gcs_decode_get_properties_response(const char *buf, size_t len,
                                       struct gcs_get_properties_response *ret,
                                       struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    cleanup_json struct json_object *p = NULL;
    struct gcs_get_properties_response q = {0};
    int r = open_response(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_parse_nested(o, "", "Properties", true, &p, err);
    if (r == 0 && p != NULL)
        r = read_properties(p, &q.properties, err);
    if (r < 0) {
        gcs_get_properties_response_done(&q);
        return gcs_pr_fail(err, r, "GetProperties response");
    }
    *ret = q;
    return 0;
}

/* ---- container notification ---- */

void gcs_container_notification_done(struct gcs_container_notification *n)
{
    free(n->container_id);
    free(n->activity_id);
    free(n->type);
    free(n->operation);
    free(n->result_info);
    *n = (struct gcs_container_notification){0};
}

int gcs_encode_container_notification(const struct gcs_container_notification *n, char **ret,
                                      struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    const char *activity = (n->activity_id && *n->activity_id) ? n->activity_id : GCS_ZERO_GUID;
    const char *op = (n->operation && *n->operation) ? n->operation : GCS_OPERATION_NONE;
    gcs_pw_string(&w, o, "ContainerId", n->container_id, false);
    gcs_pw_string(&w, o, "ActivityId", activity, false);
    gcs_pw_string(&w, o, "Type", n->type, false);
    gcs_pw_string(&w, o, "Operation", op, false);
    gcs_pw_int(&w, o, "Result", n->result, false);
    gcs_pw_string(&w, o, "ResultInfo", n->result_info, true);
    char *out = NULL;
    int r = gcs_pw_finish(&w, o, "container notification", &out, err);
    if (r < 0)
        return r;
    if (strlen(out) > GCS_MAX_WRITE_PAYLOAD) {
        free(out);
        return lcow_error_make(err, EMSGSIZE, "container notification exceeds 64 KiB");
    }
    *ret = out;
    return 0;
}

static int read_notification(const struct json_object *o, struct gcs_container_notification *n,
                             struct lcow_error **err)
{
    GCS_PR_TRY(gcs_pr_get_string(o, "", "ContainerId", &n->container_id, err));
    GCS_PR_TRY(gcs_pr_get_string(o, "", "ActivityId", &n->activity_id, err));
    GCS_PR_TRY(gcs_pr_get_string(o, "", "Type", &n->type, err));
    GCS_PR_TRY(gcs_pr_get_string(o, "", "Operation", &n->operation, err));
    GCS_PR_TRY(gcs_pr_get_i32(o, "", "Result", &n->result, err));
    GCS_PR_TRY(gcs_pr_get_string(o, "", "ResultInfo", &n->result_info, err));
    return 0;
}

int gcs_decode_container_notification(const char *buf, size_t len,
                                      struct gcs_container_notification *ret,
                                      struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_container_notification n = {0};
    int r = gcs_pr_parse_object(buf, len, "payload", &o, err);
    if (r == 0)
        r = read_notification(o, &n, err);
    if (r < 0) {
        gcs_container_notification_done(&n);
        return gcs_pr_fail(err, r, "container notification");
    }
    *ret = n;
    return 0;
}
