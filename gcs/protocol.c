/* Bridge framing, message-type names, HRESULT mapping, and the JSON reading/writing helpers the
 * per-message codecs (protocol_requests.c, protocol_responses.c, protocol_modify.c) share. */
#include "gcs/protocol.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/protocol_internal.h"

/* ---- framing ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void gcs_header_encode(const struct gcs_header *h, uint8_t out[GCS_HEADER_SIZE])
{
    put_le32(out, h->type);
    put_le32(out + 4, h->size);
    put_le32(out + 8, (uint32_t)h->id);
    put_le32(out + 12, (uint32_t)(h->id >> 32));
}

void gcs_header_decode(const uint8_t in[GCS_HEADER_SIZE], struct gcs_header *ret)
{
    ret->type = get_le32(in);
    ret->size = get_le32(in + 4);
    ret->id = (uint64_t)get_le32(in + 8) | (uint64_t)get_le32(in + 12) << 32;
}

int gcs_header_validate(const struct gcs_header *h, uint32_t max_size, struct lcow_error **err)
{
    if (h->size < GCS_HEADER_SIZE)
        return lcow_error_make(err, EBADMSG,
                               "bridge message header: size %" PRIu32 " is below the %d-byte "
                               "header (type 0x%08" PRIx32 ", id %" PRIu64 ")",
                               h->size, GCS_HEADER_SIZE, h->type, h->id);
    if (h->size > max_size)
        return lcow_error_make(err, EMSGSIZE,
                               "bridge message header: size %" PRIu32 " exceeds the limit of "
                               "%" PRIu32 " bytes (type 0x%08" PRIx32 ", id %" PRIu64 ")",
                               h->size, max_size, h->type, h->id);
    return 0;
}

int gcs_frame_build(uint32_t type, uint64_t id, const char *payload, size_t len, uint32_t max_size,
                    uint8_t **ret_buf, size_t *ret_len, struct lcow_error **err)
{
    if (len > max_size || len + GCS_HEADER_SIZE > max_size)
        return lcow_error_make(err, EMSGSIZE,
                               "bridge message 0x%08" PRIx32 ": %zu-byte payload exceeds the "
                               "limit of %" PRIu32 " bytes",
                               type, len, max_size);
    uint8_t *buf = malloc(len + GCS_HEADER_SIZE);
    if (buf == NULL)
        return lcow_error_make(err, ENOMEM, "bridge message 0x%08" PRIx32 ": out of memory", type);
    struct gcs_header h = {.type = type, .size = (uint32_t)(len + GCS_HEADER_SIZE), .id = id};
    gcs_header_encode(&h, buf);
    if (len > 0)
        memcpy(buf + GCS_HEADER_SIZE, payload, len);
    *ret_buf = buf;
    *ret_len = len + GCS_HEADER_SIZE;
    return 0;
}

int gcs_frame_parse(const uint8_t *buf, size_t len, uint32_t max_size, struct gcs_header *ret_hdr,
                    const char **ret_payload, size_t *ret_payload_len, struct lcow_error **err)
{
    if (len < GCS_HEADER_SIZE)
        return lcow_error_make(err, EBADMSG, "bridge message: truncated header (%zu bytes)", len);
    struct gcs_header h;
    gcs_header_decode(buf, &h);
    int r = gcs_header_validate(&h, max_size, err);
    if (r < 0)
        return r;
    if (len != h.size)
        return lcow_error_make(err, EBADMSG,
                               "bridge message: header says %" PRIu32 " bytes, frame has %zu",
                               h.size, len);
    *ret_hdr = h;
    *ret_payload = (const char *)buf + GCS_HEADER_SIZE;
    *ret_payload_len = gcs_header_payload_len(&h);
    return 0;
}

/* ---- message-type names (Go's MessageIdentifier.String) ---- */

static const struct {
    uint32_t type;
    const char *name;
} type_names[] = {
    {GCS_MSG_CREATE, "Create"},
    {GCS_MSG_START, "Start"},
    {GCS_MSG_SHUTDOWN_GRACEFUL, "ShutdownGraceful"},
    {GCS_MSG_SHUTDOWN_FORCED, "ShutdownForced"},
    {GCS_MSG_EXECUTE_PROCESS, "ExecuteProcess"},
    {GCS_MSG_WAIT_FOR_PROCESS, "WaitForProcess"},
    {GCS_MSG_SIGNAL_PROCESS, "SignalProcess"},
    {GCS_MSG_RESIZE_CONSOLE, "ResizeConsole"},
    {GCS_MSG_GET_PROPERTIES, "GetProperties"},
    {GCS_MSG_MODIFY_SETTINGS, "ModifySettings"},
    {GCS_MSG_NEGOTIATE_PROTOCOL, "NegotiateProtocol"},
    {GCS_MSG_DUMP_STACKS, "DumpStacks"},
    {GCS_MSG_DELETE_CONTAINER_STATE, "DeleteContainerState"},
};

/* Go names requests "ComputeSystem<X>V1" and responses "ComputeSystemResponse<X>V1"; it has
 * no response name for DeleteContainerState, which then prints in decimal. */
static const char *const full_names[][2] = {
    {"ComputeSystemCreateV1", "ComputeSystemResponseCreateV1"},
    {"ComputeSystemStartV1", "ComputeSystemResponseStartV1"},
    {"ComputeSystemShutdownGracefulV1", "ComputeSystemResponseShutdownGracefulV1"},
    {"ComputeSystemShutdownForcedV1", "ComputeSystemResponseShutdownForcedV1"},
    {"ComputeSystemExecuteProcessV1", "ComputeSystemResponseExecuteProcessV1"},
    {"ComputeSystemWaitForProcessV1", "ComputeSystemResponseWaitForProcessV1"},
    {"ComputeSystemSignalProcessV1", "ComputeSystemResponseSignalProcessV1"},
    {"ComputeSystemResizeConsoleV1", "ComputeSystemResponseResizeConsoleV1"},
    {"ComputeSystemGetPropertiesV1", "ComputeSystemResponseGetPropertiesV1"},
    {"ComputeSystemModifySettingsV1", "ComputeSystemResponseModifySettingsV1"},
    {"ComputeSystemNegotiateProtocolV1", "ComputeSystemResponseNegotiateProtocolV1"},
    {"ComputeSystemDumpStacksV1", "ComputeSystemResponseDumpStacksV1"},
    {"ComputeSystemDeleteContainerStateV1", NULL},
};

const char *gcs_msg_type_name(uint32_t type)
{
    if (type == GCS_MSG_CONTAINER_NOTIFICATION)
        return "ComputeSystemNotificationV1";
    uint32_t kind = gcs_msg_kind(type);
    if (kind != GCS_MSG_KIND_REQUEST && kind != GCS_MSG_KIND_RESPONSE)
        return NULL;
    uint32_t req = GCS_MSG_KIND_REQUEST | (type & ~GCS_MSG_KIND_MASK);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(type_names); i++)
        if (type_names[i].type == req)
            return full_names[i][kind == GCS_MSG_KIND_RESPONSE];
    return NULL;
}

const char *gcs_msg_type_format(uint32_t type, char *buf, size_t cap)
{
    const char *name = gcs_msg_type_name(type);
    snprintf(buf, cap, "%s", name ? name : "");
    if (name == NULL)
        snprintf(buf, cap, "%" PRIu32, type);
    return buf;
}

/* ---- HRESULTs ---- */

static const int32_t err_hresults[GCS_ERR_MAX - GCS_ERR_BASE] = {
    [GCS_ERR_NOTIMPL - GCS_ERR_BASE] = GCS_E_NOTIMPL,
    [GCS_ERR_UNSUPPORTED_VERSION - GCS_ERR_BASE] = GCS_HCS_E_UNSUPPORTED_PROTOCOL_VERSION,
    [GCS_ERR_INVALID_JSON - GCS_ERR_BASE] = GCS_HCS_E_INVALID_JSON,
    [GCS_ERR_SYSTEM_NOT_FOUND - GCS_ERR_BASE] = GCS_HCS_E_SYSTEM_NOT_FOUND,
    [GCS_ERR_SYSTEM_EXISTS - GCS_ERR_BASE] = GCS_HCS_E_SYSTEM_ALREADY_EXISTS,
    [GCS_ERR_SYSTEM_STOPPED - GCS_ERR_BASE] = GCS_HCS_E_SYSTEM_ALREADY_STOPPED,
    [GCS_ERR_INVALID_STATE - GCS_ERR_BASE] = GCS_HCS_E_INVALID_STATE,
    [GCS_ERR_TIMEOUT - GCS_ERR_BASE] = GCS_HCS_E_CONNECTION_TIMEOUT,
    [GCS_ERR_NOT_FOUND - GCS_ERR_BASE] = GCS_E_NOT_FOUND,
    [GCS_ERR_INVALIDARG - GCS_ERR_BASE] = GCS_E_INVALIDARG,
};

int32_t gcs_hresult_from_errno(int code)
{
    if (code < 0)
        code = -code;
    if (code == 0)
        return GCS_S_OK;
    if (code >= GCS_ERR_BASE && code < GCS_ERR_MAX)
        return err_hresults[code - GCS_ERR_BASE];
    if (code == ESRCH)
        return GCS_E_NOT_FOUND;
    return GCS_E_FAIL;
}

int32_t gcs_hresult_from_decode_error(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case EINVAL:
    case ERANGE:
    case EBADMSG:
    case EMSGSIZE:
        return GCS_HCS_E_INVALID_JSON;
    default:
        return gcs_hresult_from_errno(code);
    }
}

const char *gcs_hresult_format(int32_t hr, char *buf, size_t cap)
{
    snprintf(buf, cap, "HRESULT: 0x%08" PRIx32, (uint32_t)hr);
    return buf;
}

size_t gcs_utf8_truncate_len(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* Back up over continuation bytes to the start of the sequence the cut falls in. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Decodes one code point at s (n bytes left) into its UTF-8 bytes out[*outlen], replacing an
 * invalid or overlong sequence by U+FFFD and consuming one byte, as Go does. Returns the number
 * of input bytes consumed; *cp is the code point (0xFFFD for invalid input). */
size_t gcs_utf8_next(const unsigned char *s, size_t n, uint32_t *cp, char out[4], size_t *outlen)
{
    size_t need = 0;
    uint32_t c = s[0], min = 0;
    if (c < 0x80) {
        need = 1;
    } else if ((c & 0xE0) == 0xC0) {
        need = 2, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        need = 3, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        need = 4, c &= 0x07, min = 0x10000;
    }
    bool ok = need > 0 && need <= n;
    for (size_t i = 1; ok && i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            ok = false;
        else
            c = (c << 6) | (s[i] & 0x3F);
    }
    if (ok && need > 1 && (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)))
        ok = false;
    if (!ok) {
        *cp = 0xFFFD;
        memcpy(out, "\xEF\xBF\xBD", 3);
        *outlen = 3;
        return 1;
    }
    *cp = c;
    memcpy(out, s, need);
    *outlen = need;
    return need;
}

char *gcs_pr_go_string(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && p[i] < 0x80 && p[i] != 0)
        i++;
    if (i == len) /* the common case: plain ASCII */
        return strndup(s, len);
    /* Each invalid byte becomes 3 bytes at most. */
    char *out = malloc(len * 3 + 1), *o = out;
    if (out == NULL)
        return NULL;
    memcpy(o, s, i);
    o += i;
    while (i < len) {
        uint32_t c;
        size_t n;
        i += gcs_utf8_next(p + i, len - i, &c, o, &n);
        o += n;
    }
    *o = '\0';
    return out;
}

/* ---- reading helpers ---- */

void gcs_pr_strv_free(char **v)
{
    lcow_strv_freep(&v);
}

char *gcs_pr_strdup(const char *s)
{
    return strdup(s ? s : "");
}

const char *gcs_pr_join(char *buf, size_t cap, const char *path, const char *key)
{
    snprintf(buf, cap, "%s%s%s", path ? path : "", (path && *path) ? "." : "", key);
    return buf;
}

int gcs_pr_fail(struct lcow_error **err, int r, const char *what)
{
    if (r == -ERANGE)
        r = -EINVAL;
    if (err != NULL && *err != NULL && what != NULL)
        lcow_error_wrap(err, "%s", what);
    return r;
}

int gcs_pr_parse_object(const char *buf, size_t len, const char *what, struct json_object **ret,
                        struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    int r = lcow_json_parse(buf, len, what, &o, err);
    if (r < 0)
        return r == -EFBIG ? -EINVAL : r;
    if (o == NULL) {
        o = json_object_new_object();
        if (o == NULL)
            return lcow_error_make(err, ENOMEM, "%s: out of memory", what);
    }
    if (!json_object_is_type(o, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected a JSON object, got %s", what,
                               json_type_to_name(json_object_get_type(o)));
    *ret = steal_pointer(&o);
    return 0;
}

int gcs_pr_parse_nested(const struct json_object *obj, const char *path, const char *key,
                        bool allow_empty, struct json_object **ret, struct lcow_error **err)
{
    char p[GCS_PR_PATH_MAX];
    const char *s = NULL;
    gcs_pr_join(p, sizeof(p), path, key);
    int r = lcow_json_get_string(obj, path, key, &s, err);
    if (r < 0)
        return r;
    if (s == NULL || *s == '\0') {
        if (allow_empty) {
            *ret = NULL;
            return 0;
        }
        return lcow_error_make(err, EINVAL, "%s: missing or empty JSON document", p);
    }
    /* json-c strings may hold NULs; Go would read the whole string, and NUL is invalid JSON. */
    size_t len = (size_t)json_object_get_string_len(lcow_json_field(obj, key));
    return gcs_pr_parse_object(s, len, p, ret, err);
}

/* JSON allows "\u0000" inside strings; C strings cannot carry it, and truncating silently would
 * turn "/run/x\u0000/../y" into another path than the host meant. Such strings are rejected. */
static int check_no_nul(const struct json_object *v, const char *path, const char *key,
                        struct lcow_error **err)
{
    if (v == NULL || strlen(json_object_get_string((struct json_object *)v)) ==
                         (size_t)json_object_get_string_len(v))
        return 0;
    char p[GCS_PR_PATH_MAX];
    return lcow_error_make(err, EINVAL, "%s: string contains a NUL character",
                           gcs_pr_join(p, sizeof(p), path, key));
}

int gcs_pr_get_string(const struct json_object *o, const char *path, const char *key, char **ret,
                      struct lcow_error **err)
{
    const char *s = "";
    int r = lcow_json_get_string(o, path, key, &s, err);
    if (r == 0)
        r = check_no_nul(lcow_json_field(o, key), path, key, err);
    if (r < 0)
        return r;
    char *d = gcs_pr_go_string(s, strlen(s));
    if (d == NULL)
        return lcow_error_make(err, ENOMEM, "%s: out of memory", key);
    free(*ret);
    *ret = d;
    return 0;
}

int gcs_pr_get_bool(const struct json_object *o, const char *path, const char *key, bool *ret,
                    struct lcow_error **err)
{
    return lcow_json_get_bool(o, path, key, ret, err);
}

/* Go rejects a number that does not fit the field's type as invalid JSON. */
static int get_unsigned(const struct json_object *o, const char *path, const char *key,
                        uint64_t max, uint64_t *ret, struct lcow_error **err)
{
    uint64_t v = 0;
    bool present = lcow_json_field(o, key) != NULL;
    int r = lcow_json_get_uint64(o, path, key, &v, err);
    if (r < 0 || !present)
        return r;
    if (v > max) {
        char p[GCS_PR_PATH_MAX];
        return lcow_error_make(err, EINVAL, "%s: %" PRIu64 " overflows the field (max %" PRIu64 ")",
                               gcs_pr_join(p, sizeof(p), path, key), v, max);
    }
    *ret = v;
    return 0;
}

static int get_signed(const struct json_object *o, const char *path, const char *key, int64_t min,
                      int64_t max, int64_t *ret, struct lcow_error **err)
{
    int64_t v = 0;
    bool present = lcow_json_field(o, key) != NULL;
    int r = lcow_json_get_int64(o, path, key, &v, err);
    if (r < 0 || !present)
        return r;
    if (v < min || v > max) {
        char p[GCS_PR_PATH_MAX];
        return lcow_error_make(err, EINVAL, "%s: %" PRId64 " overflows the field",
                               gcs_pr_join(p, sizeof(p), path, key), v);
    }
    *ret = v;
    return 0;
}

int gcs_pr_get_u8(const struct json_object *o, const char *path, const char *key, uint8_t *ret,
                  struct lcow_error **err)
{
    uint64_t v = *ret;
    int r = get_unsigned(o, path, key, UINT8_MAX, &v, err);
    if (r == 0)
        *ret = (uint8_t)v;
    return r;
}

int gcs_pr_get_u16(const struct json_object *o, const char *path, const char *key, uint16_t *ret,
                   struct lcow_error **err)
{
    uint64_t v = *ret;
    int r = get_unsigned(o, path, key, UINT16_MAX, &v, err);
    if (r == 0)
        *ret = (uint16_t)v;
    return r;
}

int gcs_pr_get_u32(const struct json_object *o, const char *path, const char *key, uint32_t *ret,
                   struct lcow_error **err)
{
    uint64_t v = *ret;
    int r = get_unsigned(o, path, key, UINT32_MAX, &v, err);
    if (r == 0)
        *ret = (uint32_t)v;
    return r;
}

int gcs_pr_get_u64(const struct json_object *o, const char *path, const char *key, uint64_t *ret,
                   struct lcow_error **err)
{
    return get_unsigned(o, path, key, UINT64_MAX, ret, err);
}

int gcs_pr_get_i32(const struct json_object *o, const char *path, const char *key, int32_t *ret,
                   struct lcow_error **err)
{
    int64_t v = *ret;
    int r = get_signed(o, path, key, INT32_MIN, INT32_MAX, &v, err);
    if (r == 0)
        *ret = (int32_t)v;
    return r;
}

int gcs_pr_get_i64(const struct json_object *o, const char *path, const char *key, int64_t *ret,
                   struct lcow_error **err)
{
    return get_signed(o, path, key, INT64_MIN, INT64_MAX, ret, err);
}

int gcs_pr_get_strv(const struct json_object *o, const char *path, const char *key, char ***ret,
                    struct lcow_error **err)
{
    char **v = NULL;
    int r = lcow_json_get_strv(o, path, key, &v, err);
    if (r < 0)
        return r;
    struct json_object *arr = lcow_json_field(o, key);
    for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
        char k[GCS_PR_PATH_MAX];
        snprintf(k, sizeof(k), "%s[%zu]", key, i);
        r = check_no_nul(json_object_array_get_idx(arr, i), path, k, err);
        char *g = r < 0 ? NULL : gcs_pr_go_string(v[i], strlen(v[i]));
        if (r == 0 && g == NULL)
            r = lcow_error_make(err, ENOMEM, "%s: out of memory", key);
        if (r < 0) {
            gcs_pr_strv_free(v);
            return r;
        }
        free(v[i]);
        v[i] = g;
    }
    gcs_pr_strv_free(*ret);
    *ret = v;
    return 0;
}

int gcs_pr_get_object(const struct json_object *o, const char *path, const char *key,
                      struct json_object **ret, struct lcow_error **err)
{
    return lcow_json_get_object(o, path, key, ret, err);
}

int gcs_pr_get_object_ref(const struct json_object *o, const char *path, const char *key,
                          struct json_object **ret, struct lcow_error **err)
{
    struct json_object *v = NULL;
    int r = lcow_json_get_object(o, path, key, &v, err);
    if (r < 0)
        return r;
    json_object_put(*ret);
    *ret = v ? json_object_get(v) : NULL;
    return 0;
}

int gcs_pr_get_array(const struct json_object *o, const char *path, const char *key,
                     struct json_object **ret, struct lcow_error **err)
{
    return lcow_json_get_array(o, path, key, ret, err);
}

/* ---- bases ---- */

void gcs_request_base_done(struct gcs_request_base *b)
{
    free(b->container_id);
    free(b->activity_id);
    b->container_id = b->activity_id = NULL;
}

static void error_record_done(struct gcs_error_record *e)
{
    free(e->message);
    free(e->stack_trace);
    free(e->module_name);
    free(e->file_name);
    free(e->function_name);
}

void gcs_response_base_done(struct gcs_response_base *b)
{
    free(b->activity_id);
    free(b->error_message);
    for (size_t i = 0; i < b->n_error_records; i++)
        error_record_done(&b->error_records[i]);
    free(b->error_records);
    *b = (struct gcs_response_base){0};
}

int gcs_pr_read_request_base(const struct json_object *o, struct gcs_request_base *b,
                             struct lcow_error **err)
{
    int r = gcs_pr_get_string(o, "", "ContainerId", &b->container_id, err);
    if (r == 0)
        r = gcs_pr_get_string(o, "", "ActivityId", &b->activity_id, err);
    return r;
}

static int read_error_record(const struct json_object *e, const char *path,
                             struct gcs_error_record *rec, struct lcow_error **err)
{
    if (e != NULL && !json_object_is_type(e, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", path,
                               json_type_to_name(json_object_get_type(e)));
    GCS_PR_TRY(gcs_pr_get_i32(e, path, "Result", &rec->result, err));
    GCS_PR_TRY(gcs_pr_get_string(e, path, "Message", &rec->message, err));
    GCS_PR_TRY(gcs_pr_get_string(e, path, "StackTrace", &rec->stack_trace, err));
    GCS_PR_TRY(gcs_pr_get_string(e, path, "ModuleName", &rec->module_name, err));
    GCS_PR_TRY(gcs_pr_get_string(e, path, "FileName", &rec->file_name, err));
    GCS_PR_TRY(gcs_pr_get_u32(e, path, "Line", &rec->line, err));
    GCS_PR_TRY(gcs_pr_get_string(e, path, "FunctionName", &rec->function_name, err));
    return 0;
}

int gcs_pr_read_response_base(const struct json_object *o, struct gcs_response_base *b,
                              struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = 0;
    GCS_PR_TRY(gcs_pr_get_i32(o, "", "Result", &b->result, err));
    GCS_PR_TRY(gcs_pr_get_string(o, "", "ActivityId", &b->activity_id, err));
    GCS_PR_TRY(gcs_pr_get_string(o, "", "ErrorMessage", &b->error_message, err));
    GCS_PR_TRY(gcs_pr_get_array(o, "", "ErrorRecords", &arr, err));
    if (arr == NULL)
        return 0;
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return 0;
    b->error_records = calloc(n, sizeof(*b->error_records));
    if (b->error_records == NULL)
        return lcow_error_make(err, ENOMEM, "ErrorRecords: out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[GCS_PR_PATH_MAX];
        snprintf(p, sizeof(p), "ErrorRecords[%zu]", i);
        b->n_error_records = i + 1;
        r = read_error_record(json_object_array_get_idx(arr, i), p, &b->error_records[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

int gcs_decode_request_base(const char *buf, size_t len, struct gcs_request_base *ret,
                            struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_request_base b = {0};
    int r = gcs_pr_parse_object(buf, len, "request", &o, err);
    if (r == 0)
        r = gcs_pr_read_request_base(o, &b, err);
    if (r < 0) {
        gcs_request_base_done(&b);
        return gcs_pr_fail(err, r, NULL);
    }
    *ret = b;
    return 0;
}

int gcs_peek_request_base(const char *buf, size_t len, struct gcs_request_base *ret)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_request_base b = {0};
    /* Lenient, as Go's first pass: any field that does not read as a string stays "". */
    if (gcs_pr_parse_object(buf, len, "request", &o, NULL) == 0) {
        if (gcs_pr_get_string(o, "", "ContainerId", &b.container_id, NULL) < 0)
            b.container_id = NULL;
        if (gcs_pr_get_string(o, "", "ActivityId", &b.activity_id, NULL) < 0)
            b.activity_id = NULL;
    }
    if (b.container_id == NULL)
        b.container_id = strdup("");
    if (b.activity_id == NULL)
        b.activity_id = strdup("");
    if (b.container_id == NULL || b.activity_id == NULL) {
        gcs_request_base_done(&b);
        return -ENOMEM;
    }
    *ret = b;
    return 0;
}

/* ---- writing helpers ---- */

struct json_object *gcs_pw_object(struct gcs_pw *w)
{
    struct json_object *o = json_object_new_object();
    if (o == NULL)
        w->failed = true;
    return o;
}

void gcs_pw_add(struct gcs_pw *w, struct json_object *o, const char *key, struct json_object *v)
{
    if (o == NULL || v == NULL || json_object_object_add(o, key, v) < 0) {
        json_object_put(v);
        w->failed = true;
    }
}

void gcs_pw_string(struct gcs_pw *w, struct json_object *o, const char *key, const char *v,
                   bool omitempty)
{
    if (omitempty && (v == NULL || *v == '\0'))
        return;
    gcs_pw_add(w, o, key, json_object_new_string(v ? v : ""));
}

void gcs_pw_string_len(struct gcs_pw *w, struct json_object *o, const char *key, const char *v,
                       size_t n)
{
    gcs_pw_add(w, o, key, json_object_new_string_len(v ? v : "", v ? (int)n : 0));
}

void gcs_pw_bool(struct gcs_pw *w, struct json_object *o, const char *key, bool v, bool omitempty)
{
    if (omitempty && !v)
        return;
    gcs_pw_add(w, o, key, json_object_new_boolean(v));
}

void gcs_pw_int(struct gcs_pw *w, struct json_object *o, const char *key, int64_t v, bool omitempty)
{
    if (omitempty && v == 0)
        return;
    gcs_pw_add(w, o, key, json_object_new_int64(v));
}

void gcs_pw_uint(struct gcs_pw *w, struct json_object *o, const char *key, uint64_t v,
                 bool omitempty)
{
    if (omitempty && v == 0)
        return;
    gcs_pw_add(w, o, key, json_object_new_uint64(v));
}

void gcs_pw_strv(struct gcs_pw *w, struct json_object *o, const char *key, char *const *v,
                 bool omitempty)
{
    if (omitempty && (v == NULL || v[0] == NULL))
        return;
    struct json_object *a = json_object_new_array();
    if (a == NULL) {
        w->failed = true;
        return;
    }
    for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
        struct json_object *s = json_object_new_string(v[i]);
        if (s == NULL || json_object_array_add(a, s) < 0) {
            json_object_put(s);
            w->failed = true;
        }
    }
    gcs_pw_add(w, o, key, a);
}

void gcs_pw_ref(struct gcs_pw *w, struct json_object *o, const char *key, struct json_object *v)
{
    if (v != NULL)
        gcs_pw_add(w, o, key, json_object_get(v));
}

void gcs_pw_nested(struct gcs_pw *w, struct json_object *o, const char *key,
                   struct json_object *inner)
{
    cleanup_free char *s = inner ? lcow_json_to_string(inner) : NULL;
    if (s == NULL) {
        w->failed = true;
        return;
    }
    gcs_pw_add(w, o, key, json_object_new_string(s));
}

void gcs_pw_request_base(struct gcs_pw *w, struct json_object *o, const struct gcs_request_base *b)
{
    gcs_pw_string(w, o, "ContainerId", b->container_id, false);
    gcs_pw_string(w, o, "ActivityId", b->activity_id, false);
}

int gcs_pw_finish(struct gcs_pw *w, struct json_object *o, const char *what, char **ret,
                  struct lcow_error **err)
{
    char *s = (o && !w->failed) ? lcow_json_to_string(o) : NULL;
    json_object_put(o);
    if (s == NULL)
        return lcow_error_make(err, ENOMEM, "encode %s: out of memory", what);
    *ret = s;
    return 0;
}

int gcs_encode_request_base(const struct gcs_request_base *b, char **ret, struct lcow_error **err)
{
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    gcs_pw_request_base(&w, o, b);
    return gcs_pw_finish(&w, o, "request", ret, err);
}
