/* Requests host -> guest (§3, §4.1-4.8): decoders for gcs, encoders for the host client.
 * ModifySettings lives in protocol_modify.c. Every decoder builds into a local struct and hands
 * it over only on success, so a failure leaves the caller's struct empty. */
#include "gcs/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/cmdline.h"
#include "gcs/protocol_internal.h"

/* Parses the outer payload and its request base, the common first step of every decoder. */
static int open_request(const char *buf, size_t len, struct json_object **ret,
                        struct gcs_request_base *base, struct lcow_error **err)
{
    int r = gcs_pr_parse_object(buf, len, "payload", ret, err);
    if (r == 0)
        r = gcs_pr_read_request_base(*ret, base, err);
    return r;
}

/* ---- NegotiateProtocol ---- */

void gcs_negotiate_request_done(struct gcs_negotiate_request *r)
{
    gcs_request_base_done(&r->base);
}

int gcs_decode_negotiate_request(const char *buf, size_t len, struct gcs_negotiate_request *ret,
                                 struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_negotiate_request q = {0};
    int r = open_request(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "MinimumVersion", &q.minimum_version, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "MaximumVersion", &q.maximum_version, err);
    if (r < 0) {
        gcs_negotiate_request_done(&q);
        return gcs_pr_fail(err, r, "NegotiateProtocol");
    }
    *ret = q;
    return 0;
}

int gcs_encode_negotiate_request(const struct gcs_negotiate_request *r, char **ret,
                                 struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_uint(&w, o, "MinimumVersion", r->minimum_version, false);
    gcs_pw_uint(&w, o, "MaximumVersion", r->maximum_version, false);
    return gcs_pw_finish(&w, o, "NegotiateProtocol", ret, err);
}

/* ---- Create ---- */

void gcs_container_config_done(struct gcs_container_config *c)
{
    free(c->oci_bundle_path);
    free(c->scratch_dir_path);
    json_object_put(c->oci_specification);
    *c = (struct gcs_container_config){0};
}

void gcs_create_request_done(struct gcs_create_request *r)
{
    gcs_request_base_done(&r->base);
    gcs_container_config_done(&r->config);
}

static int read_container_config(const struct json_object *c, struct gcs_container_config *cfg,
                                 struct lcow_error **err)
{
    static const char path[] = "ContainerConfig";
    struct json_object *sv = NULL;
    int r = gcs_pr_get_object(c, path, "SchemaVersion", &sv, err);
    if (r == 0)
        r = gcs_pr_get_u32(sv, "ContainerConfig.SchemaVersion", "Major", &cfg->schema_version.major,
                           err);
    if (r == 0)
        r = gcs_pr_get_u32(sv, "ContainerConfig.SchemaVersion", "Minor", &cfg->schema_version.minor,
                           err);
    if (r == 0)
        r = gcs_pr_get_string(c, path, "OciBundlePath", &cfg->oci_bundle_path, err);
    if (r == 0)
        r = gcs_pr_get_object_ref(c, path, "OciSpecification", &cfg->oci_specification, err);
    if (r == 0)
        r = gcs_pr_check_oci_spec(cfg->oci_specification, "ContainerConfig.OciSpecification", err);
    if (r == 0)
        r = gcs_pr_get_string(c, path, "ScratchDirPath", &cfg->scratch_dir_path, err);
    if (r < 0)
        return r;
    /* The Go GCS accepts schema 2.1 and later only (0xC037010D otherwise). */
    const struct gcs_schema_version *v = &cfg->schema_version;
    if (v->major < 2 || (v->major == 2 && v->minor < 1))
        return lcow_error_make(err, EINVAL,
                               "ContainerConfig.SchemaVersion: %u.%u is not supported (need 2.1 "
                               "or later)",
                               v->major, v->minor);
    return 0;
}

int gcs_decode_create_request(const char *buf, size_t len, struct gcs_create_request *ret,
                              struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    cleanup_json struct json_object *c = NULL;
    struct gcs_create_request q = {0};
    int r = open_request(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_parse_nested(o, "", "ContainerConfig", false, &c, err);
    if (r == 0)
        r = read_container_config(c, &q.config, err);
    if (r < 0) {
        gcs_create_request_done(&q);
        return gcs_pr_fail(err, r, "Create");
    }
    *ret = q;
    return 0;
}

int gcs_encode_create_request(const struct gcs_create_request *r, char **ret,
                              struct lcow_error **err)
{
    struct gcs_pw w = {0};
    const struct gcs_container_config *c = &r->config;
    struct json_object *o = gcs_pw_object(&w);
    struct json_object *cfg = gcs_pw_object(&w);
    struct json_object *sv = gcs_pw_object(&w);
    gcs_pw_uint(&w, sv, "Major", c->schema_version.major, true);
    gcs_pw_uint(&w, sv, "Minor", c->schema_version.minor, true);
    gcs_pw_add(&w, cfg, "SchemaVersion", sv);
    gcs_pw_string(&w, cfg, "OciBundlePath", c->oci_bundle_path, true);
    gcs_pw_ref(&w, cfg, "OciSpecification", c->oci_specification);
    gcs_pw_string(&w, cfg, "ScratchDirPath", c->scratch_dir_path, false);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_nested(&w, o, "ContainerConfig", cfg);
    json_object_put(cfg);
    return gcs_pw_finish(&w, o, "Create", ret, err);
}

int gcs_container_config_spec_json(const struct gcs_container_config *c, char **ret,
                                   struct lcow_error **err)
{
    if (c->oci_specification == NULL)
        return lcow_error_make(err, ENOENT, "ContainerConfig has no OciSpecification");
    char *s = lcow_json_to_string(c->oci_specification);
    if (s == NULL)
        return lcow_error_make(err, ENOMEM, "OciSpecification: out of memory");
    *ret = s;
    return 0;
}

/* ---- ExecuteProcess ---- */

void gcs_process_parameters_done(struct gcs_process_parameters *p)
{
    free(p->command_line);
    gcs_pr_strv_free(p->command_args);
    free(p->working_directory);
    gcs_pr_strv_free(p->environment);
    json_object_put(p->oci_specification);
    json_object_put(p->oci_process);
    *p = (struct gcs_process_parameters){0};
}

void gcs_execute_process_request_done(struct gcs_execute_process_request *r)
{
    gcs_request_base_done(&r->base);
    gcs_process_parameters_done(&r->params);
}

/* Environment is a JSON object of strings; kept as "K=V" in document order. */
static int read_environment(const struct json_object *pp, const char *path, char ***ret,
                            struct lcow_error **err)
{
    struct json_object *env = NULL;
    int r = gcs_pr_get_object(pp, path, "Environment", &env, err);
    if (r < 0 || env == NULL)
        return r;
    size_t n = (size_t)json_object_object_length(env), i = 0;
    cleanup_strv char **v = calloc(n + 1, sizeof(*v));
    if (v == NULL)
        return lcow_error_make(err, ENOMEM, "%s.Environment: out of memory", path);
    json_object_object_foreach(env, key, val)
    {
        /* Go's map[string]string: null reads as "", anything but a string is an error. */
        if (val != NULL && !json_object_is_type(val, json_type_string))
            return lcow_error_make(err, EINVAL, "%s.Environment.%s: expected string, got %s", path,
                                   key, json_type_to_name(json_object_get_type(val)));
        if (val != NULL &&
            strlen(json_object_get_string(val)) != (size_t)json_object_get_string_len(val))
            return lcow_error_make(err, EINVAL,
                                   "%s.Environment.%s: string contains a NUL character", path, key);
        /* Go replaces invalid UTF-8 in keys and values alike. */
        const char *sv = val ? json_object_get_string(val) : "";
        cleanup_free char *k = gcs_pr_go_string(key, strlen(key));
        cleanup_free char *x = gcs_pr_go_string(sv, strlen(sv));
        if (k == NULL || x == NULL || asprintf(&v[i], "%s=%s", k, x) < 0) {
            v[i] = NULL;
            return lcow_error_make(err, ENOMEM, "%s.Environment: out of memory", path);
        }
        i++;
    }
    gcs_pr_strv_free(*ret);
    *ret = steal_pointer(&v);
    return 0;
}

/* ConsoleSize is not a field of the Go guest's struct: anything malformed is ignored. */
static void read_console_size(const struct json_object *pp, struct gcs_process_parameters *p)
{
    struct json_object *a = lcow_json_field(pp, "ConsoleSize");
    int64_t hw[2];
    if (a == NULL || !json_object_is_type(a, json_type_array) || json_object_array_length(a) != 2)
        return;
    for (size_t i = 0; i < 2; i++)
        if (lcow_json_as_int64(json_object_array_get_idx(a, i), "ConsoleSize", &hw[i], NULL) < 0 ||
            hw[i] < 0 || hw[i] > UINT16_MAX)
            return;
    p->has_console_size = true;
    p->console_height = (uint32_t)hw[0];
    p->console_width = (uint32_t)hw[1];
}

static int read_process_parameters(const struct json_object *pp, struct gcs_process_parameters *p,
                                   struct lcow_error **err)
{
    static const char path[] = "Settings.ProcessParameters";
    GCS_PR_TRY(gcs_pr_get_string(pp, path, "CommandLine", &p->command_line, err));
    GCS_PR_TRY(gcs_pr_get_strv(pp, path, "CommandArgs", &p->command_args, err));
    GCS_PR_TRY(gcs_pr_get_string(pp, path, "WorkingDirectory", &p->working_directory, err));
    GCS_PR_TRY(read_environment(pp, path, &p->environment, err));
    GCS_PR_TRY(gcs_pr_get_bool(pp, path, "EmulateConsole", &p->emulate_console, err));
    GCS_PR_TRY(gcs_pr_get_bool(pp, path, "CreateStdInPipe", &p->create_std_in_pipe, err));
    GCS_PR_TRY(gcs_pr_get_bool(pp, path, "CreateStdOutPipe", &p->create_std_out_pipe, err));
    GCS_PR_TRY(gcs_pr_get_bool(pp, path, "CreateStdErrPipe", &p->create_std_err_pipe, err));
    GCS_PR_TRY(gcs_pr_get_bool(pp, path, "CreateInUtilityVM", &p->create_in_utility_vm, err));
    GCS_PR_TRY(gcs_pr_get_object_ref(pp, path, "OciSpecification", &p->oci_specification, err));
    GCS_PR_TRY(gcs_pr_get_object_ref(pp, path, "OciProcess", &p->oci_process, err));
    /* Go decodes both into the runtime-spec structs: a mistyped field is invalid JSON. */
    GCS_PR_TRY(gcs_pr_check_oci_spec(p->oci_specification,
                                     "Settings.ProcessParameters.OciSpecification", err));
    GCS_PR_TRY(
        gcs_pr_check_oci_process(p->oci_process, "Settings.ProcessParameters.OciProcess", err));
    read_console_size(pp, p);
    return 0;
}

static int read_relay(const struct json_object *settings, struct gcs_vsock_stdio_relay *relay,
                      struct lcow_error **err)
{
    static const char path[] = "Settings.VsockStdioRelaySettings";
    struct json_object *v = NULL;
    int r = gcs_pr_get_object(settings, "Settings", "VsockStdioRelaySettings", &v, err);
    if (r == 0)
        r = gcs_pr_get_u32(v, path, "StdIn", &relay->std_in, err);
    if (r == 0)
        r = gcs_pr_get_u32(v, path, "StdOut", &relay->std_out, err);
    if (r == 0)
        r = gcs_pr_get_u32(v, path, "StdErr", &relay->std_err, err);
    return r;
}

int gcs_decode_execute_process_request(const char *buf, size_t len,
                                       struct gcs_execute_process_request *ret,
                                       struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    cleanup_json struct json_object *pp = NULL;
    struct json_object *settings = NULL;
    struct gcs_execute_process_request q = {0};
    int r = open_request(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_object(o, "", "Settings", &settings, err);
    if (r == 0)
        r = gcs_pr_parse_nested(settings, "Settings", "ProcessParameters", false, &pp, err);
    if (r == 0)
        r = read_process_parameters(pp, &q.params, err);
    if (r == 0)
        r = read_relay(settings, &q.relay, err);
    if (r < 0) {
        gcs_execute_process_request_done(&q);
        return gcs_pr_fail(err, r, "ExecuteProcess");
    }
    *ret = q;
    return 0;
}

static int cmp_env_key(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
    int c = memcmp(x, y, nx < ny ? nx : ny);
    return c != 0 ? c : (nx > ny) - (nx < ny);
}

/* Go marshals a map with its keys sorted (bytewise). */
static void write_environment(struct gcs_pw *w, struct json_object *o, char *const *env)
{
    size_t n = 0;
    while (env != NULL && env[n] != NULL)
        n++;
    if (n == 0)
        return;
    cleanup_free char **sorted = malloc(n * sizeof(*sorted));
    struct json_object *m = gcs_pw_object(w);
    if (sorted == NULL || m == NULL) {
        json_object_put(m);
        w->failed = true;
        return;
    }
    memcpy(sorted, env, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_env_key);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(sorted[i], '=');
        cleanup_free char *key =
            strndup(sorted[i], eq ? (size_t)(eq - sorted[i]) : strlen(sorted[i]));
        if (key == NULL) {
            w->failed = true;
            continue;
        }
        gcs_pw_string(w, m, key, eq ? eq + 1 : "", false);
    }
    gcs_pw_add(w, o, "Environment", m);
}

static struct json_object *write_process_parameters(struct gcs_pw *w,
                                                    const struct gcs_process_parameters *p)
{
    struct json_object *pp = gcs_pw_object(w);
    gcs_pw_string(w, pp, "CommandLine", p->command_line, true);
    gcs_pw_strv(w, pp, "CommandArgs", p->command_args, true);
    gcs_pw_string(w, pp, "WorkingDirectory", p->working_directory, true);
    write_environment(w, pp, p->environment);
    gcs_pw_bool(w, pp, "EmulateConsole", p->emulate_console, true);
    gcs_pw_bool(w, pp, "CreateStdInPipe", p->create_std_in_pipe, true);
    gcs_pw_bool(w, pp, "CreateStdOutPipe", p->create_std_out_pipe, true);
    gcs_pw_bool(w, pp, "CreateStdErrPipe", p->create_std_err_pipe, true);
    if (p->has_console_size) {
        struct json_object *cs = json_object_new_array();
        if (cs == NULL || json_object_array_add(cs, json_object_new_int64(p->console_height)) < 0 ||
            json_object_array_add(cs, json_object_new_int64(p->console_width)) < 0)
            w->failed = true;
        gcs_pw_add(w, pp, "ConsoleSize", cs);
    }
    /* The host's lcow.ProcessParameters spells it this way; the guest reads it either way. */
    gcs_pw_bool(w, pp, "CreateInUtilityVm", p->create_in_utility_vm, true);
    gcs_pw_ref(w, pp, "OciSpecification", p->oci_specification);
    gcs_pw_ref(w, pp, "OciProcess", p->oci_process);
    return pp;
}

int gcs_encode_execute_process_request(const struct gcs_execute_process_request *r, char **ret,
                                       struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    struct json_object *settings = gcs_pw_object(&w);
    struct json_object *relay = gcs_pw_object(&w);
    struct json_object *pp = write_process_parameters(&w, &r->params);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_nested(&w, settings, "ProcessParameters", pp);
    json_object_put(pp);
    gcs_pw_uint(&w, relay, "StdIn", r->relay.std_in, true);
    gcs_pw_uint(&w, relay, "StdOut", r->relay.std_out, true);
    gcs_pw_uint(&w, relay, "StdErr", r->relay.std_err, true);
    gcs_pw_add(&w, settings, "VsockStdioRelaySettings", relay);
    gcs_pw_add(&w, o, "Settings", settings);
    return gcs_pw_finish(&w, o, "ExecuteProcess", ret, err);
}

int gcs_process_parameters_oci_process_json(const struct gcs_process_parameters *p, char **ret,
                                            struct lcow_error **err)
{
    if (p->oci_process == NULL)
        return lcow_error_make(err, ENOENT, "ProcessParameters has no OciProcess");
    char *s = lcow_json_to_string(p->oci_process);
    if (s == NULL)
        return lcow_error_make(err, ENOMEM, "OciProcess: out of memory");
    *ret = s;
    return 0;
}

int gcs_process_parameters_argv(const struct gcs_process_parameters *p, char ***ret,
                                struct lcow_error **err)
{
    if (p->command_args == NULL || p->command_args[0] == NULL) {
        int r = gcs_cmdline_split(p->command_line, ret, err);
        return r < 0 ? r : 0;
    }
    size_t n = 0;
    while (p->command_args[n] != NULL)
        n++;
    cleanup_strv char **v = calloc(n + 1, sizeof(*v));
    if (v == NULL)
        return lcow_error_make(err, ENOMEM, "CommandArgs: out of memory");
    for (size_t i = 0; i < n; i++)
        if ((v[i] = strdup(p->command_args[i])) == NULL)
            return lcow_error_make(err, ENOMEM, "CommandArgs: out of memory");
    *ret = steal_pointer(&v);
    return 0;
}

/* ---- WaitForProcess, SignalProcess, ResizeConsole ---- */

void gcs_wait_for_process_request_done(struct gcs_wait_for_process_request *r)
{
    gcs_request_base_done(&r->base);
}

int gcs_decode_wait_for_process_request(const char *buf, size_t len,
                                        struct gcs_wait_for_process_request *ret,
                                        struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_wait_for_process_request q = {0};
    int r = open_request(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "ProcessId", &q.process_id, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "TimeoutInMs", &q.timeout_in_ms, err);
    if (r < 0) {
        gcs_wait_for_process_request_done(&q);
        return gcs_pr_fail(err, r, "WaitForProcess");
    }
    *ret = q;
    return 0;
}

int gcs_encode_wait_for_process_request(const struct gcs_wait_for_process_request *r, char **ret,
                                        struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_uint(&w, o, "ProcessId", r->process_id, false);
    gcs_pw_uint(&w, o, "TimeoutInMs", r->timeout_in_ms, false);
    return gcs_pw_finish(&w, o, "WaitForProcess", ret, err);
}

void gcs_signal_process_request_done(struct gcs_signal_process_request *r)
{
    gcs_request_base_done(&r->base);
}

int gcs_decode_signal_process_request(const char *buf, size_t len,
                                      struct gcs_signal_process_request *ret,
                                      struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct json_object *opts = NULL;
    struct gcs_signal_process_request q = {0};
    int r = open_request(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "ProcessId", &q.process_id, err);
    if (r == 0)
        r = gcs_pr_get_object(o, "", "Options", &opts, err);
    if (r == 0 && opts != NULL) {
        q.has_options = true;
        r = gcs_pr_get_i32(opts, "Options", "Signal", &q.signal, err);
    }
    if (r < 0) {
        gcs_signal_process_request_done(&q);
        return gcs_pr_fail(err, r, "SignalProcess");
    }
    *ret = q;
    return 0;
}

int gcs_encode_signal_process_request(const struct gcs_signal_process_request *r, char **ret,
                                      struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_uint(&w, o, "ProcessId", r->process_id, false);
    if (r->has_options) {
        /* SignalProcessOptionsLCOW: Signal is omitempty. */
        struct json_object *opts = gcs_pw_object(&w);
        gcs_pw_int(&w, opts, "Signal", r->signal, true);
        gcs_pw_add(&w, o, "Options", opts);
    }
    return gcs_pw_finish(&w, o, "SignalProcess", ret, err);
}

void gcs_resize_console_request_done(struct gcs_resize_console_request *r)
{
    gcs_request_base_done(&r->base);
}

int gcs_decode_resize_console_request(const char *buf, size_t len,
                                      struct gcs_resize_console_request *ret,
                                      struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_resize_console_request q = {0};
    int r = open_request(buf, len, &o, &q.base, err);
    if (r == 0)
        r = gcs_pr_get_u32(o, "", "ProcessId", &q.process_id, err);
    if (r == 0)
        r = gcs_pr_get_u16(o, "", "Height", &q.height, err);
    if (r == 0)
        r = gcs_pr_get_u16(o, "", "Width", &q.width, err);
    if (r < 0) {
        gcs_resize_console_request_done(&q);
        return gcs_pr_fail(err, r, "ResizeConsole");
    }
    *ret = q;
    return 0;
}

int gcs_encode_resize_console_request(const struct gcs_resize_console_request *r, char **ret,
                                      struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_uint(&w, o, "ProcessId", r->process_id, false);
    gcs_pw_uint(&w, o, "Height", r->height, false);
    gcs_pw_uint(&w, o, "Width", r->width, false);
    return gcs_pw_finish(&w, o, "ResizeConsole", ret, err);
}

/* ---- GetProperties ---- */

void gcs_property_query_done(struct gcs_property_query *q)
{
    gcs_pr_strv_free(q->property_types);
    *q = (struct gcs_property_query){0};
}

void gcs_get_properties_request_done(struct gcs_get_properties_request *r)
{
    gcs_request_base_done(&r->base);
    gcs_property_query_done(&r->query);
}

static int read_query(const struct json_object *q, struct gcs_property_query *query,
                      struct lcow_error **err)
{
    int r = gcs_pr_get_strv(q, "Query", "PropertyTypes", &query->property_types, err);
    for (size_t i = 0; r == 0 && query->property_types && query->property_types[i]; i++) {
        if (strcmp(query->property_types[i], "ProcessList") == 0)
            query->flags |= GCS_PROPERTY_PROCESS_LIST;
        else if (strcmp(query->property_types[i], "Statistics") == 0)
            query->flags |= GCS_PROPERTY_STATISTICS;
    }
    return r;
}

int gcs_decode_get_properties_request(const char *buf, size_t len,
                                      struct gcs_get_properties_request *ret,
                                      struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    cleanup_json struct json_object *q = NULL;
    struct gcs_get_properties_request req = {0};
    int r = open_request(buf, len, &o, &req.base, err);
    /* An empty Query asks for nothing (§4.8). */
    if (r == 0)
        r = gcs_pr_parse_nested(o, "", "Query", true, &q, err);
    if (r == 0 && q != NULL)
        r = read_query(q, &req.query, err);
    if (r < 0) {
        gcs_get_properties_request_done(&req);
        return gcs_pr_fail(err, r, "GetProperties");
    }
    *ret = req;
    return 0;
}

int gcs_encode_get_properties_request(const struct gcs_get_properties_request *r, char **ret,
                                      struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    struct json_object *q = gcs_pw_object(&w);
    gcs_pw_strv(&w, q, "PropertyTypes", r->query.property_types, true);
    gcs_pw_request_base(&w, o, &r->base);
    gcs_pw_nested(&w, o, "Query", q);
    json_object_put(q);
    return gcs_pw_finish(&w, o, "GetProperties", ret, err);
}
