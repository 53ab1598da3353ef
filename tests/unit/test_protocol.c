/* Unit tests for the bridge framing, HRESULTs and the request/response/notification codecs
 * (gcs/protocol*.c). The payloads are the hcsshim host's own (lcow-host.md §3.2): each is
 * decoded, checked field by field, and re-encoded byte for byte. ModifySettings has its own
 * file (test_protocol_modify.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/protocol.h"

#define ZERO   GCS_ZERO_GUID
#define LEN(s) strlen(s)

/* Decodes with `dec` into `st`, re-encodes with `enc` and compares to the input. */
#define ROUND_TRIP(payload, dec, enc, st)                                                          \
    do {                                                                                           \
        struct lcow_error *_e = NULL;                                                              \
        if (dec(payload, LEN(payload), &(st), &_e) < 0)                                            \
            fail_msg("decode: %s", lcow_error_message(_e));                                        \
        cleanup_free char *_out = NULL;                                                            \
        if (enc(&(st), &_out, &_e) < 0)                                                            \
            fail_msg("encode: %s", lcow_error_message(_e));                                        \
        assert_string_equal(_out, payload);                                                        \
    } while (0)

/* Asserts a decoder fails with `code` and an error whose message contains `needle`. */
static void expect_fail(int r, struct lcow_error **err, int code, const char *needle)
{
    if (r != -code)
        fail_msg("got %d (%s), want %d", r, lcow_error_message(*err), -code);
    assert_non_null(*err);
    if (needle != NULL && strstr((*err)->msg, needle) == NULL)
        fail_msg("message `%s` does not name `%s`", (*err)->msg, needle);
    lcow_error_release(err);
}

/* ---- framing ---- */

static void test_header_codec(void **state)
{
    struct gcs_header h = {.type = GCS_MSG_CREATE, .size = 0x1234, .id = 0x0102030405060708ull};
    uint8_t b[GCS_HEADER_SIZE];
    gcs_header_encode(&h, b);
    static const uint8_t want[GCS_HEADER_SIZE] = {0x01, 0x01, 0x10, 0x10, 0x34, 0x12, 0,    0,
                                                  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    assert_memory_equal(b, want, sizeof(want));
    struct gcs_header d;
    gcs_header_decode(b, &d);
    assert_int_equal(d.type, h.type);
    assert_int_equal(d.size, h.size);
    assert_true(d.id == h.id);
    assert_int_equal(gcs_header_payload_len(&d), 0x1234 - 16);
}

static void test_header_validate(void **state)
{
    struct lcow_error *err = NULL;
    struct gcs_header h = {.type = GCS_MSG_START, .size = 16};
    assert_int_equal(gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, &err), 0);
    h.size = 15;
    expect_fail(gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, &err), &err, EBADMSG, "below");
    h.size = 0;
    expect_fail(gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, &err), &err, EBADMSG, NULL);
    h.size = GCS_MAX_READ_MESSAGE;
    assert_int_equal(gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, NULL), 0);
    h.size = GCS_MAX_READ_MESSAGE + 1;
    expect_fail(gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, &err), &err, EMSGSIZE, "exceeds");
    h.size = UINT32_MAX;
    expect_fail(gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, &err), &err, EMSGSIZE, NULL);
    /* The host's own limit: 64 KiB including the header. */
    h.size = GCS_MAX_WRITE_MESSAGE;
    assert_int_equal(gcs_header_validate(&h, GCS_MAX_WRITE_MESSAGE, NULL), 0);
    h.size++;
    assert_int_equal(gcs_header_validate(&h, GCS_MAX_WRITE_MESSAGE, NULL), -EMSGSIZE);
    assert_true(GCS_MAX_READ_MESSAGE >= 1024 * 1024);
}

static void test_frame_build_parse(void **state)
{
    static const char payload[] = "{\"ContainerId\":\"c1\"}";
    struct lcow_error *err = NULL;
    cleanup_free uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(gcs_frame_build(GCS_MSG_START, 7, payload, LEN(payload), GCS_MAX_WRITE_MESSAGE,
                                     &buf, &len, &err),
                     0);
    assert_int_equal(len, 16 + LEN(payload));
    struct gcs_header h;
    const char *p = NULL;
    size_t plen = 0;
    assert_int_equal(gcs_frame_parse(buf, len, GCS_MAX_READ_MESSAGE, &h, &p, &plen, &err), 0);
    assert_int_equal(h.type, GCS_MSG_START);
    assert_int_equal(h.size, len);
    assert_int_equal(h.id, 7);
    assert_int_equal(plen, LEN(payload));
    assert_memory_equal(p, payload, plen);
    /* Truncated frames and headers, extra bytes. */
    expect_fail(gcs_frame_parse(buf, len - 1, GCS_MAX_READ_MESSAGE, &h, &p, &plen, &err), &err,
                EBADMSG, "frame has");
    expect_fail(gcs_frame_parse(buf, 10, GCS_MAX_READ_MESSAGE, &h, &p, &plen, &err), &err, EBADMSG,
                "truncated header");
    /* Over the limit on build: the 64 KiB write limit includes the header. */
    cleanup_free char *big = calloc(1, GCS_MAX_WRITE_PAYLOAD + 1);
    assert_non_null(big);
    cleanup_free uint8_t *b2 = NULL;
    assert_int_equal(gcs_frame_build(GCS_MSG_START, 1, big, GCS_MAX_WRITE_PAYLOAD,
                                     GCS_MAX_WRITE_MESSAGE, &b2, &len, NULL),
                     0);
    assert_int_equal(len, GCS_MAX_WRITE_MESSAGE);
    uint8_t *b3 = NULL;
    expect_fail(gcs_frame_build(GCS_MSG_START, 1, big, GCS_MAX_WRITE_PAYLOAD + 1,
                                GCS_MAX_WRITE_MESSAGE, &b3, &len, &err),
                &err, EMSGSIZE, NULL);
    assert_null(b3);
}

static void test_types(void **state)
{
    static const uint32_t req[] = {
        GCS_MSG_CREATE,
        GCS_MSG_START,
        GCS_MSG_SHUTDOWN_GRACEFUL,
        GCS_MSG_SHUTDOWN_FORCED,
        GCS_MSG_EXECUTE_PROCESS,
        GCS_MSG_WAIT_FOR_PROCESS,
        GCS_MSG_SIGNAL_PROCESS,
        GCS_MSG_RESIZE_CONSOLE,
        GCS_MSG_GET_PROPERTIES,
        GCS_MSG_MODIFY_SETTINGS,
        GCS_MSG_NEGOTIATE_PROTOCOL,
        GCS_MSG_DUMP_STACKS,
        GCS_MSG_DELETE_CONTAINER_STATE,
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(req); i++) {
        assert_int_equal(req[i], 0x10100001u | (uint32_t)(i + 1) << 8);
        assert_int_equal(gcs_response_type(req[i]), 0x20100001u | (uint32_t)(i + 1) << 8);
        assert_int_equal(gcs_msg_kind(req[i]), GCS_MSG_KIND_REQUEST);
        assert_non_null(gcs_msg_type_name(req[i]));
    }
    assert_int_equal(GCS_MSG_UPDATE_CONTAINER, 0x10100e01u);
    assert_int_equal(GCS_MSG_LIFECYCLE_NOTIFICATION, 0x10100f01u);
    assert_int_equal(GCS_MSG_MODIFY_SERVICE_SETTINGS, 0x10200101u);
    assert_int_equal(GCS_MSG_CONTAINER_NOTIFICATION, 0x30100101u);
    assert_int_equal(gcs_response_type(GCS_MSG_MODIFY_SERVICE_SETTINGS), 0x20200101u);
    assert_string_equal(gcs_msg_type_name(GCS_MSG_CREATE), "ComputeSystemCreateV1");
    assert_string_equal(gcs_msg_type_name(0x20100a01), "ComputeSystemResponseModifySettingsV1");
    assert_string_equal(gcs_msg_type_name(GCS_MSG_CONTAINER_NOTIFICATION),
                        "ComputeSystemNotificationV1");
    char buf[GCS_MSG_TYPE_NAME_MAX];
    assert_string_equal(gcs_msg_type_format(GCS_MSG_UPDATE_CONTAINER, buf, sizeof(buf)),
                        "269487617");
    assert_string_equal(
        gcs_msg_type_format(gcs_response_type(GCS_MSG_DELETE_CONTAINER_STATE), buf, sizeof(buf)),
        "537922817");
    assert_string_equal(gcs_msg_type_format(GCS_MSG_NEGOTIATE_PROTOCOL, buf, sizeof(buf)),
                        "ComputeSystemNegotiateProtocolV1");
    assert_null(gcs_msg_type_name(0x40100101));
}

/* ---- HRESULTs ---- */

static void test_hresults(void **state)
{
    assert_int_equal(GCS_E_NOTIMPL, -2147467263);
    assert_int_equal(GCS_E_FAIL, -2147467259);
    assert_int_equal(GCS_E_NOT_FOUND, -2147023728);
    assert_int_equal(GCS_E_INVALIDARG, -2147024809);
    assert_int_equal(GCS_HCS_E_CONNECTION_TIMEOUT, -1070137079);
    assert_int_equal(GCS_HCS_E_UNKNOWN_MESSAGE, -1070137077);
    assert_int_equal(GCS_HCS_E_UNSUPPORTED_PROTOCOL_VERSION, -1070137076);
    assert_int_equal(GCS_HCS_E_INVALID_JSON, -1070137075);
    assert_int_equal(GCS_HCS_E_SYSTEM_NOT_FOUND, -1070137074);
    assert_int_equal(GCS_HCS_E_SYSTEM_ALREADY_EXISTS, -1070137073);
    assert_int_equal(GCS_HCS_E_SYSTEM_ALREADY_STOPPED, -1070137072);
    assert_int_equal(GCS_HCS_E_INVALID_STATE, -2143878907);

    assert_int_equal(gcs_hresult_from_errno(0), GCS_S_OK);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_NOTIMPL), GCS_E_NOTIMPL);
    assert_int_equal(gcs_hresult_from_errno(GCS_ERR_UNSUPPORTED_VERSION),
                     GCS_HCS_E_UNSUPPORTED_PROTOCOL_VERSION);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_INVALID_JSON), GCS_HCS_E_INVALID_JSON);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_SYSTEM_NOT_FOUND), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_SYSTEM_EXISTS),
                     GCS_HCS_E_SYSTEM_ALREADY_EXISTS);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_SYSTEM_STOPPED),
                     GCS_HCS_E_SYSTEM_ALREADY_STOPPED);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_INVALID_STATE), GCS_HCS_E_INVALID_STATE);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_TIMEOUT), GCS_HCS_E_CONNECTION_TIMEOUT);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_NOT_FOUND), GCS_E_NOT_FOUND);
    assert_int_equal(gcs_hresult_from_errno(-GCS_ERR_INVALIDARG), GCS_E_INVALIDARG);
    assert_int_equal(gcs_hresult_from_errno(-ESRCH), GCS_E_NOT_FOUND);
    /* Ordinary failures (a missing file, a bad mount argument) are E_FAIL, as in Go. */
    assert_int_equal(gcs_hresult_from_errno(-ENOENT), GCS_E_FAIL);
    assert_int_equal(gcs_hresult_from_errno(-EINVAL), GCS_E_FAIL);
    assert_int_equal(gcs_hresult_from_errno(-ETIMEDOUT), GCS_E_FAIL);
    assert_int_equal(gcs_hresult_from_errno(GCS_ERR_MAX), GCS_E_FAIL);
    /* Decoding failures. */
    assert_int_equal(gcs_hresult_from_decode_error(-EINVAL), GCS_HCS_E_INVALID_JSON);
    assert_int_equal(gcs_hresult_from_decode_error(-ERANGE), GCS_HCS_E_INVALID_JSON);
    assert_int_equal(gcs_hresult_from_decode_error(-EOPNOTSUPP), GCS_E_FAIL);
    assert_int_equal(gcs_hresult_from_decode_error(-ENOMEM), GCS_E_FAIL);
    /* Every GCS_ERR code lies above the errno range. */
    assert_true(GCS_ERR_BASE > 4095);
    char buf[32];
    assert_string_equal(gcs_hresult_format(GCS_HCS_E_CONNECTION_TIMEOUT, buf, sizeof(buf)),
                        "HRESULT: 0xc0370109");
}

/* ---- request bases ---- */

static void test_request_base(void **state)
{
    static const char start[] = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO "\"}";
    struct gcs_request_base b = {0};
    ROUND_TRIP(start, gcs_decode_request_base, gcs_encode_request_base, b);
    assert_string_equal(b.container_id, "c1");
    assert_string_equal(b.activity_id, ZERO);
    gcs_request_base_done(&b);
    gcs_request_base_done(&b); /* idempotent */

    /* Go reading: names are case-insensitive, null is absent, unknown fields and trace context
     * are ignored, trailing whitespace (the host's newline) is fine. */
    static const char odd[] =
        "{\"containerid\":\"c2\",\"ACTIVITYID\":null,\"otsc\":{\"traceparent\":"
        "\"x\"},\"ocsc\":{},\"Extra\":[1,2]}\n";
    assert_int_equal(gcs_decode_request_base(odd, LEN(odd), &b, NULL), 0);
    assert_string_equal(b.container_id, "c2");
    assert_string_equal(b.activity_id, "");
    gcs_request_base_done(&b);
    /* `null` payload decodes as all-zero, as Go's Unmarshal into a struct. */
    assert_int_equal(gcs_decode_request_base("null", 4, &b, NULL), 0);
    assert_string_equal(b.container_id, "");
    gcs_request_base_done(&b);

    struct lcow_error *err = NULL;
    expect_fail(gcs_decode_request_base("{\"ContainerId\":5}", 17, &b, &err), &err, EINVAL,
                "ContainerId");
    expect_fail(gcs_decode_request_base("{\"ContainerId\":\"x\"", 18, &b, &err), &err, EINVAL,
                "invalid JSON");
    expect_fail(gcs_decode_request_base("[]", 2, &b, &err), &err, EINVAL, "object");
    expect_fail(gcs_decode_request_base("", 0, &b, &err), &err, EINVAL, NULL);
    expect_fail(gcs_decode_request_base("{} {}", 5, &b, &err), &err, EINVAL, "trailing");
    expect_fail(gcs_decode_request_base("{'a':1}", 7, &b, &err), &err, EINVAL, NULL);
    /* Invalid UTF-8 reads as U+FFFD, as Go's decoder replaces it (strings, arrays, map keys). */
    static const char bad8[] = "{\"ContainerId\":\"a\xff\xc3\"}";
    assert_int_equal(gcs_decode_request_base(bad8, LEN(bad8), &b, NULL), 0);
    assert_string_equal(b.container_id, "a\xef\xbf\xbd\xef\xbf\xbd");
    gcs_request_base_done(&b);
    static const char bad8e[] =
        "{\"Settings\":{\"ProcessParameters\":\"{\\\"CommandArgs\\\":[\\\"x"
        "\xe2\x82\\\"],\\\"Environment\\\":{\\\"K\xff\\\":\\\"\xc0\\\"}}\"}}";
    struct gcs_execute_process_request e8 = {0};
    assert_int_equal(gcs_decode_execute_process_request(bad8e, LEN(bad8e), &e8, NULL), 0);
    assert_string_equal(e8.params.command_args[0], "x\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(e8.params.environment[0], "K\xef\xbf\xbd=\xef\xbf\xbd");
    gcs_execute_process_request_done(&e8);
    /* A NUL inside a string cannot reach C code: rejected rather than silently cut. */
    static const char nul[] = "{\"ContainerId\":\"a\\u0000/../b\"}";
    expect_fail(gcs_decode_request_base(nul, LEN(nul), &b, &err), &err, EINVAL, "NUL");
    assert_null(b.container_id);
}

static void test_peek_base(void **state)
{
    struct gcs_request_base b = {0};
    static const char ok[] = "{\"ContainerId\":7,\"ActivityId\":\"a-b\"}";
    assert_int_equal(gcs_peek_request_base(ok, LEN(ok), &b), 0);
    assert_string_equal(b.container_id, "");
    assert_string_equal(b.activity_id, "a-b");
    gcs_request_base_done(&b);
    assert_int_equal(gcs_peek_request_base("garbage", 7, &b), 0);
    assert_string_equal(b.container_id, "");
    assert_string_equal(b.activity_id, "");
    gcs_request_base_done(&b);
}

/* ---- NegotiateProtocol ---- */

static void test_negotiate(void **state)
{
    static const char req[] = "{\"ContainerId\":\"\",\"ActivityId\":\"" ZERO
                              "\",\"MinimumVersion\":4,\"MaximumVersion\":4}";
    struct gcs_negotiate_request q = {0};
    ROUND_TRIP(req, gcs_decode_negotiate_request, gcs_encode_negotiate_request, q);
    assert_int_equal(q.minimum_version, 4);
    assert_int_equal(q.maximum_version, 4);
    gcs_negotiate_request_done(&q);

    /* The exact response of §3. */
    static const char want[] =
        "{\"Result\":0,\"ActivityId\":\"" ZERO "\",\"Version\":4,\"Capabilities\":{"
        "\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":1}],\"RuntimeOsType\":\"Linux\","
        "\"GuestDefinedCapabilities\":{\"NamespaceAddRequestSupported\":true,"
        "\"SignalProcessSupported\":true,\"DumpStacksSupported\":true,"
        "\"DeleteContainerStateSupported\":true}}}";
    struct gcs_negotiate_response r = {0};
    assert_int_equal(gcs_negotiate_response_default(ZERO, &r, NULL), 0);
    cleanup_free char *out = NULL;
    assert_int_equal(gcs_encode_negotiate_response(&r, &out, NULL), 0);
    assert_string_equal(out, want);
    gcs_negotiate_response_done(&r);

    /* The host side reads it back. */
    struct gcs_negotiate_response d = {0};
    ROUND_TRIP(want, gcs_decode_negotiate_response, gcs_encode_negotiate_response, d);
    assert_int_equal(d.version, 4);
    assert_string_equal(d.capabilities.runtime_os_type, "Linux");
    assert_true(d.capabilities.has_guest_defined);
    assert_true(d.capabilities.guest_defined.namespace_add_request_supported);
    assert_int_equal(d.capabilities.n_supported_schema_versions, 1);
    assert_int_equal(d.capabilities.supported_schema_versions[0].minor, 1);
    gcs_negotiate_response_done(&d);

    /* A response without GuestDefinedCapabilities is visible to the host (it must fail). */
    static const char bare[] = "{\"Result\":0,\"Version\":4,\"Capabilities\":{}}";
    assert_int_equal(gcs_decode_negotiate_response(bare, LEN(bare), &d, NULL), 0);
    assert_false(d.capabilities.has_guest_defined);
    assert_string_equal(d.capabilities.runtime_os_type, "");
    gcs_negotiate_response_done(&d);

    struct lcow_error *err = NULL;
    static const char neg[] = "{\"MinimumVersion\":-1}";
    expect_fail(gcs_decode_negotiate_request(neg, LEN(neg), &q, &err), &err, EINVAL,
                "MinimumVersion");
    static const char big[] = "{\"MaximumVersion\":4294967296}";
    expect_fail(gcs_decode_negotiate_request(big, LEN(big), &q, &err), &err, EINVAL,
                "MaximumVersion");
    static const char flt[] = "{\"MaximumVersion\":4.0}";
    expect_fail(gcs_decode_negotiate_request(flt, LEN(flt), &q, &err), &err, EINVAL,
                "MaximumVersion");
    static const char huge[] = "{\"MaximumVersion\":123456789012345678901234567890}";
    expect_fail(gcs_decode_negotiate_request(huge, LEN(huge), &q, &err), &err, EINVAL, NULL);
}

/* ---- Create ---- */

static const char create_req[] =
    "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO
    "\",\"ContainerConfig\":\"{\\\"SchemaVersion\\\":"
    "{\\\"Major\\\":2,\\\"Minor\\\":1},\\\"OciBundlePath\\\":\\\"/run/gcs/c/c1\\\","
    "\\\"OciSpecification\\\":{\\\"ociVersion\\\":\\\"1.1.0\\\",\\\"process\\\":{\\\"terminal\\\":"
    "false,\\\"user\\\":{\\\"uid\\\":0,\\\"gid\\\":0},\\\"args\\\":[\\\"/bin/sh\\\",\\\"-c\\\","
    "\\\"echo "
    "hi\\\"],\\\"env\\\":[\\\"PATH=/usr/bin:/bin\\\"],\\\"cwd\\\":\\\"/\\\"},\\\"root\\\":{"
    "\\\"path\\\":\\\"/run/gcs/c/c1/rootfs\\\"},\\\"linux\\\":{\\\"namespaces\\\":[{\\\"type\\\":"
    "\\\"pid\\\"},{\\\"type\\\":\\\"ipc\\\"},{\\\"type\\\":\\\"uts\\\"},{\\\"type\\\":"
    "\\\"mount\\\"},"
    "{\\\"type\\\":\\\"network\\\"}]}},\\\"ScratchDirPath\\\":\\\"/run/gcs/c/c1/scratch/c1\\\"}\"}";

static void test_create(void **state)
{
    struct gcs_create_request q = {0};
    ROUND_TRIP(create_req, gcs_decode_create_request, gcs_encode_create_request, q);
    assert_string_equal(q.base.container_id, "c1");
    assert_int_equal(q.config.schema_version.major, 2);
    assert_int_equal(q.config.schema_version.minor, 1);
    assert_string_equal(q.config.oci_bundle_path, "/run/gcs/c/c1");
    assert_string_equal(q.config.scratch_dir_path, "/run/gcs/c/c1/scratch/c1");
    assert_non_null(q.config.oci_specification);
    cleanup_free char *spec = NULL;
    assert_int_equal(gcs_container_config_spec_json(&q.config, &spec, NULL), 0);
    assert_non_null(strstr(spec, "\"args\":[\"/bin/sh\",\"-c\",\"echo hi\"]"));
    gcs_create_request_done(&q);
    assert_null(q.config.oci_specification);
    assert_int_equal(gcs_container_config_spec_json(&q.config, &spec, NULL), -ENOENT);

    struct gcs_create_response cr = {0};
    static const char resp[] =
        "{\"Result\":0,\"ActivityId\":\"" ZERO "\",\"SelectedProtocolVersion\":0}";
    ROUND_TRIP(resp, gcs_decode_create_response, gcs_encode_create_response, cr);
    gcs_create_response_done(&cr);
}

/* ---- OCI documents: type-checked as Go's runtime-spec structs would decode them ---- */

/* Wraps an OCI spec (as JSON text) into a Create payload. */
static char *create_with_spec(const char *spec)
{
    struct json_object *s = NULL;
    assert_int_equal(lcow_json_parse(spec, strlen(spec), "spec", &s, NULL), 0);
    struct gcs_create_request c = {
        .base = {.container_id = (char *)"c1", .activity_id = (char *)""},
        .config = {
            .schema_version = {2, 1}, .oci_specification = s, .scratch_dir_path = (char *)""}};
    char *out = NULL;
    assert_int_equal(gcs_encode_create_request(&c, &out, NULL), 0);
    json_object_put(s);
    return out;
}

static void test_oci_types(void **state)
{
    static const char *const ok[] = {
        /* Unknown fields ignored, null anywhere, RLIM_INFINITY as uint64, negative oomScoreAdj. */
        "{\"ociVersion\":\"1.1.0\",\"process\":{\"user\":{\"uid\":0,\"gid\":null,"
        "\"additionalGids\":[1,2]},\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
        "\"hard\":18446744073709551615,\"soft\":1024}],\"oomScoreAdj\":-1000,\"future\":{\"x\":1}},"
        "\"linux\":{\"resources\":{\"cpu\":{\"quota\":-1,\"shares\":1024},\"memory\":{\"limit\":"
        "-1}},\"namespaces\":[{\"type\":\"pid\"}],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}},"
        "\"annotations\":{\"a\":\"b\"},\"windows\":{\"network\":{\"networkNamespace\":\"ns\"},"
        "\"devices\":[{\"id\":\"x\",\"idType\":\"gpu\"}]},\"hooks\":null}",
        "{}",
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ok); i++) {
        cleanup_free char *p = create_with_spec(ok[i]);
        struct gcs_create_request q = {0};
        struct lcow_error *err = NULL;
        if (gcs_decode_create_request(p, strlen(p), &q, &err) < 0)
            fail_msg("spec %zu: %s", i, lcow_error_message(err));
        gcs_create_request_done(&q);
    }
    static const char *const bad[][2] = {
        {"{\"ociVersion\":1}", "OciSpecification.ociVersion: expected string"},
        {"{\"process\":{\"user\":{\"uid\":\"0\"}}}", "OciSpecification.process.user.uid"},
        {"{\"process\":{\"user\":{\"uid\":4294967296}}}", "process.user.uid: integer out of range"},
        {"{\"process\":{\"args\":[\"a\",1]}}", "OciSpecification.process.args[1]"},
        {"{\"process\":{\"rlimits\":[{\"hard\":-1}]}}", "process.rlimits[0].hard"},
        {"{\"process\":{\"terminal\":\"yes\"}}", "process.terminal: expected boolean"},
        {"{\"annotations\":{\"a\":1}}", "OciSpecification.annotations.a"},
        {"{\"mounts\":[{\"options\":\"ro\"}]}", "OciSpecification.mounts[0].options"},
        {"{\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}",
         "linux.resources.memory.limit"},
        {"{\"linux\":{\"resources\":{\"cpu\":{\"shares\":-1}}}}", "linux.resources.cpu.shares"},
        {"{\"linux\":{\"namespaces\":{}}}", "OciSpecification.linux.namespaces: expected array"},
        {"{\"linux\":{\"seccomp\":{\"syscalls\":[{\"args\":[{\"index\":-1}]}]}}}",
         "linux.seccomp.syscalls[0].args[0].index"},
        {"{\"hooks\":{\"prestart\":[{\"timeout\":\"5\"}]}}", "hooks.prestart[0].timeout"},
        {"{\"root\":[]}", "OciSpecification.root: expected object"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        cleanup_free char *p = create_with_spec(bad[i][0]);
        struct gcs_create_request q = {0};
        struct lcow_error *err = NULL;
        int r = gcs_decode_create_request(p, strlen(p), &q, &err);
        assert_int_equal(gcs_hresult_from_decode_error(r), GCS_HCS_E_INVALID_JSON);
        expect_fail(r, &err, EINVAL, bad[i][1]);
    }
    /* ExecuteProcess' OciProcess gets the same check. */
    static const char exec_bad[] = "{\"Settings\":{\"ProcessParameters\":\"{\\\"OciProcess\\\":{"
                                   "\\\"env\\\":[\\\"A=1\\\",false]}}\"}}";
    struct gcs_execute_process_request e = {0};
    struct lcow_error *err = NULL;
    expect_fail(gcs_decode_execute_process_request(exec_bad, strlen(exec_bad), &e, &err), &err,
                EINVAL, "Settings.ProcessParameters.OciProcess.env[1]");
}

static void test_create_bad(void **state)
{
    struct gcs_create_request q = {0};
    struct lcow_error *err = NULL;
    static const char *const bad[][2] = {
        /* payload, what the message must name */
        {"{\"ContainerId\":\"c\"}", "ContainerConfig"},
        {"{\"ContainerConfig\":\"\"}", "ContainerConfig"},
        {"{\"ContainerConfig\":{}}", "ContainerConfig"},
        {"{\"ContainerConfig\":\"not json\"}", "ContainerConfig"},
        {"{\"ContainerConfig\":\"[1]\"}", "ContainerConfig"},
        {"{\"ContainerConfig\":\"{}\"}", "SchemaVersion"},
        {"{\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":2,\\\"Minor\\\":0}}\"}",
         "2.0"},
        {"{\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":\\\"2\\\"}}\"}",
         "ContainerConfig.SchemaVersion.Major"},
        {"{\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":2,\\\"Minor\\\":1},"
         "\\\"OciSpecification\\\":[]}\"}",
         "ContainerConfig.OciSpecification"},
        {"{\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":2,\\\"Minor\\\":1},"
         "\\\"OciBundlePath\\\":1}\"}",
         "ContainerConfig.OciBundlePath"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        int r = gcs_decode_create_request(bad[i][0], LEN(bad[i][0]), &q, &err);
        expect_fail(r, &err, EINVAL, bad[i][1]);
        assert_null(q.config.oci_specification);
    }
    /* Later schema versions are accepted; so is a 3.0. */
    static const char v3[] = "{\"ContainerConfig\":\"{\\\"SchemaVersion\\\":{\\\"Major\\\":3}}\"}";
    assert_int_equal(gcs_decode_create_request(v3, LEN(v3), &q, NULL), 0);
    assert_null(q.config.oci_specification);
    gcs_create_request_done(&q);
}

/* ---- ExecuteProcess ---- */

static const char exec_init[] =
    "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO "\",\"Settings\":{\"ProcessParameters\":"
    "\"{\\\"CreateStdInPipe\\\":true,\\\"CreateStdOutPipe\\\":true,\\\"CreateStdErrPipe\\\":true}"
    "\","
    "\"VsockStdioRelaySettings\":{\"StdIn\":1073741825,\"StdOut\":1073741826,\"StdErr\":"
    "1073741827}}}";

static const char exec_extra[] =
    "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO "\",\"Settings\":{\"ProcessParameters\":"
    "\"{\\\"CreateStdOutPipe\\\":true,\\\"CreateStdErrPipe\\\":true,\\\"OciProcess\\\":{"
    "\\\"terminal\\\":false,\\\"user\\\":{\\\"uid\\\":0,\\\"gid\\\":0},\\\"args\\\":[\\\"ps\\\"],"
    "\\\"cwd\\\":\\\"/\\\"}}\",\"VsockStdioRelaySettings\":{\"StdOut\":1073741828,\"StdErr\":"
    "1073741829}}}";

static const char exec_uvm[] =
    "{\"ContainerId\":\"" ZERO "\",\"ActivityId\":\"" ZERO "\",\"Settings\":{\"ProcessParameters\":"
    "\"{\\\"CommandArgs\\\":[\\\"cat\\\",\\\"/proc/cmdline\\\"],\\\"WorkingDirectory\\\":\\\"/\\\","
    "\\\"Environment\\\":{\\\"PATH\\\":\\\"/usr/bin:/bin\\\"},\\\"CreateStdOutPipe\\\":true}\","
    "\"VsockStdioRelaySettings\":{\"StdOut\":1073741830}}}";

static void test_execute_examples(void **state)
{
    struct gcs_execute_process_request q = {0};
    ROUND_TRIP(exec_init, gcs_decode_execute_process_request, gcs_encode_execute_process_request,
               q);
    assert_true(q.params.create_std_in_pipe && q.params.create_std_out_pipe &&
                q.params.create_std_err_pipe);
    assert_null(q.params.oci_process);
    assert_int_equal(q.relay.std_in, 0x40000001);
    assert_int_equal(q.relay.std_err, 0x40000003);
    gcs_execute_process_request_done(&q);

    ROUND_TRIP(exec_extra, gcs_decode_execute_process_request, gcs_encode_execute_process_request,
               q);
    assert_false(q.params.create_std_in_pipe);
    assert_non_null(q.params.oci_process);
    assert_int_equal(q.relay.std_in, 0);
    cleanup_free char *proc = NULL;
    assert_int_equal(gcs_process_parameters_oci_process_json(&q.params, &proc, NULL), 0);
    assert_string_equal(proc,
                        "{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"ps\"],"
                        "\"cwd\":\"/\"}");
    gcs_execute_process_request_done(&q);

    ROUND_TRIP(exec_uvm, gcs_decode_execute_process_request, gcs_encode_execute_process_request, q);
    assert_string_equal(q.params.working_directory, "/");
    assert_string_equal(q.params.environment[0], "PATH=/usr/bin:/bin");
    assert_null(q.params.environment[1]);
    cleanup_strv char **argv = NULL;
    assert_int_equal(gcs_process_parameters_argv(&q.params, &argv, NULL), 0);
    assert_string_equal(argv[0], "cat");
    assert_string_equal(argv[1], "/proc/cmdline");
    assert_null(argv[2]);
    gcs_execute_process_request_done(&q);

    struct gcs_execute_process_response r = {0};
    static const char resp[] = "{\"Result\":0,\"ProcessId\":42}";
    ROUND_TRIP(resp, gcs_decode_execute_process_response, gcs_encode_execute_process_response, r);
    assert_int_equal(r.process_id, 42);
    gcs_execute_process_response_done(&r);
}

static void test_execute_params(void **state)
{
    struct gcs_execute_process_request q = {0};
    /* Case-insensitive names inside the nested document, CreateInUtilityVm spelled the host's
     * way, CommandLine, environment order kept on decode and sorted on encode, ConsoleSize,
     * ignored Windows fields. */
    static const char p[] =
        "{\"ContainerId\":\"x\",\"Settings\":{\"processparameters\":\"{\\\"commandline\\\":"
        "\\\"sh -c 'echo hi'\\\",\\\"Environment\\\":{\\\"Z\\\":\\\"1\\\",\\\"A\\\":\\\"x=y\\\","
        "\\\"E\\\":null},\\\"CreateInUtilityVm\\\":true,\\\"EmulateConsole\\\":true,"
        "\\\"ConsoleSize\\\":[24,80],\\\"User\\\":\\\"root\\\",\\\"ApplicationName\\\":7}\"}}";
    assert_int_equal(gcs_decode_execute_process_request(p, LEN(p), &q, NULL), 0);
    assert_true(q.params.create_in_utility_vm);
    assert_true(q.params.emulate_console);
    assert_true(q.params.has_console_size);
    assert_int_equal(q.params.console_height, 24);
    assert_int_equal(q.params.console_width, 80);
    assert_string_equal(q.params.environment[0], "Z=1");
    assert_string_equal(q.params.environment[1], "A=x=y");
    assert_string_equal(q.params.environment[2], "E=");
    cleanup_strv char **argv = NULL;
    assert_int_equal(gcs_process_parameters_argv(&q.params, &argv, NULL), 0);
    assert_string_equal(argv[2], "echo hi");
    cleanup_free char *out = NULL;
    assert_int_equal(gcs_encode_execute_process_request(&q, &out, NULL), 0);
    assert_non_null(strstr(out, "\\\"CommandLine\\\":\\\"sh -c 'echo hi'\\\",\\\"Environment\\\":{"
                                "\\\"A\\\":\\\"x=y\\\",\\\"E\\\":\\\"\\\",\\\"Z\\\":\\\"1\\\"},"
                                "\\\"EmulateConsole\\\":true,\\\"ConsoleSize\\\":[24,80],"
                                "\\\"CreateInUtilityVm\\\":true}"));
    assert_non_null(strstr(out, "\"VsockStdioRelaySettings\":{}"));
    gcs_execute_process_request_done(&q);

    /* A malformed ConsoleSize is ignored, as by the Go guest (not a field it knows). */
    static const char cs[] =
        "{\"Settings\":{\"ProcessParameters\":\"{\\\"ConsoleSize\\\":\\\"x\\\"}\"}}";
    assert_int_equal(gcs_decode_execute_process_request(cs, LEN(cs), &q, NULL), 0);
    assert_false(q.params.has_console_size);
    /* Neither CommandArgs nor CommandLine: no argv (the Go GCS would crash). */
    struct lcow_error *err = NULL;
    char **v = NULL;
    expect_fail(gcs_process_parameters_argv(&q.params, &v, &err), &err, EINVAL, "no words");
    assert_null(v);
    gcs_execute_process_request_done(&q);
}

static void test_execute_bad(void **state)
{
    struct gcs_execute_process_request q = {0};
    struct lcow_error *err = NULL;
    static const char *const bad[][2] = {
        {"{\"Settings\":{}}", "Settings.ProcessParameters"},
        {"{\"Settings\":[]}", "Settings"},
        {"{\"Settings\":{\"ProcessParameters\":{}}}", "Settings.ProcessParameters"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\"}}", "Settings.ProcessParameters"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"CreateStdInPipe\\\":1}\"}}",
         "Settings.ProcessParameters.CreateStdInPipe"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"CommandArgs\\\":[\\\"a\\\",1]}\"}}",
         "Settings.ProcessParameters.CommandArgs[1]"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"Environment\\\":{\\\"A\\\":1}}\"}}",
         "Settings.ProcessParameters.Environment.A"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"Environment\\\":[]}\"}}",
         "Settings.ProcessParameters.Environment"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"OciProcess\\\":\\\"x\\\"}\"}}",
         "Settings.ProcessParameters.OciProcess"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"CommandArgs\\\":[\\\"a\\\\u0000b\\\"]}\"}}",
         "Settings.ProcessParameters.CommandArgs[0]"},
        {"{\"Settings\":{\"ProcessParameters\":\"{\\\"Environment\\\":{\\\"A\\\":\\\"\\\\u0000\\\"}"
         "}\"}}",
         "Settings.ProcessParameters.Environment.A"},
        {"{\"Settings\":{\"ProcessParameters\":\"{}\",\"VsockStdioRelaySettings\":{\"StdIn\":-1}}}",
         "Settings.VsockStdioRelaySettings.StdIn"},
        {"{\"Settings\":{\"ProcessParameters\":\"{}\",\"VsockStdioRelaySettings\":{\"StdOut\":"
         "4294967296}}}",
         "Settings.VsockStdioRelaySettings.StdOut"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++)
        expect_fail(gcs_decode_execute_process_request(bad[i][0], LEN(bad[i][0]), &q, &err), &err,
                    EINVAL, bad[i][1]);
    assert_null(q.params.environment);
}

/* ---- Wait, Signal, Resize, GetProperties requests ---- */

static void test_small_requests(void **state)
{
    static const char wait[] = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO
                               "\",\"ProcessId\":42,\"TimeoutInMs\":4294967295}";
    struct gcs_wait_for_process_request w = {0};
    ROUND_TRIP(wait, gcs_decode_wait_for_process_request, gcs_encode_wait_for_process_request, w);
    assert_int_equal(w.process_id, 42);
    assert_int_equal(w.timeout_in_ms, GCS_INFINITE_TIMEOUT);
    gcs_wait_for_process_request_done(&w);

    static const char sig[] = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO
                              "\",\"ProcessId\":42,\"Options\":{\"Signal\":15}}";
    struct gcs_signal_process_request s = {0};
    ROUND_TRIP(sig, gcs_decode_signal_process_request, gcs_encode_signal_process_request, s);
    assert_true(s.has_options);
    assert_int_equal(s.signal, 15);
    gcs_signal_process_request_done(&s);

    static const char kill[] =
        "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO "\",\"ProcessId\":42}";
    ROUND_TRIP(kill, gcs_decode_signal_process_request, gcs_encode_signal_process_request, s);
    assert_false(s.has_options);
    assert_int_equal(s.signal, 0);
    gcs_signal_process_request_done(&s);

    static const char resize[] = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO
                                 "\",\"ProcessId\":42,\"Height\":24,\"Width\":80}";
    struct gcs_resize_console_request rc = {0};
    ROUND_TRIP(resize, gcs_decode_resize_console_request, gcs_encode_resize_console_request, rc);
    assert_int_equal(rc.height, 24);
    assert_int_equal(rc.width, 80);
    gcs_resize_console_request_done(&rc);

    static const char props[] = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO
                                "\",\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"}";
    struct gcs_get_properties_request gp = {0};
    ROUND_TRIP(props, gcs_decode_get_properties_request, gcs_encode_get_properties_request, gp);
    assert_int_equal(gp.query.flags, GCS_PROPERTY_PROCESS_LIST);
    gcs_get_properties_request_done(&gp);

    static const char both[] = "{\"Query\":\"{\\\"PropertyTypes\\\":[\\\"Statistics\\\","
                               "\\\"Memory\\\",\\\"ProcessList\\\"]}\"}";
    assert_int_equal(gcs_decode_get_properties_request(both, LEN(both), &gp, NULL), 0);
    assert_int_equal(gp.query.flags, GCS_PROPERTY_PROCESS_LIST | GCS_PROPERTY_STATISTICS);
    assert_string_equal(gp.query.property_types[1], "Memory");
    gcs_get_properties_request_done(&gp);
    /* An empty Query asks for nothing. */
    static const char none[] = "{\"Query\":\"\"}";
    assert_int_equal(gcs_decode_get_properties_request(none, LEN(none), &gp, NULL), 0);
    assert_int_equal(gp.query.flags, 0);
    assert_null(gp.query.property_types);
    gcs_get_properties_request_done(&gp);

    struct lcow_error *err = NULL;
    static const char q1[] = "{\"Query\":\"{\\\"PropertyTypes\\\":\\\"ProcessList\\\"}\"}";
    expect_fail(gcs_decode_get_properties_request(q1, LEN(q1), &gp, &err), &err, EINVAL,
                "Query.PropertyTypes");
    static const char q2[] = "{\"Query\":\"nope\"}";
    expect_fail(gcs_decode_get_properties_request(q2, LEN(q2), &gp, &err), &err, EINVAL, "Query");
    static const char r1[] = "{\"Height\":65536}";
    expect_fail(gcs_decode_resize_console_request(r1, LEN(r1), &rc, &err), &err, EINVAL, "Height");
    static const char s1[] = "{\"Options\":{\"Signal\":\"KILL\"}}";
    expect_fail(gcs_decode_signal_process_request(s1, LEN(s1), &s, &err), &err, EINVAL,
                "Options.Signal");
    static const char s2[] = "{\"Options\":{\"Signal\":2147483648}}";
    expect_fail(gcs_decode_signal_process_request(s2, LEN(s2), &s, &err), &err, EINVAL,
                "Options.Signal");
    static const char w1[] = "{\"ProcessId\":true}";
    expect_fail(gcs_decode_wait_for_process_request(w1, LEN(w1), &w, &err), &err, EINVAL,
                "ProcessId");
}

/* ---- responses ---- */

static void test_error_response(void **state)
{
    /* §2.7: a timed-out WaitForProcess, exactly as the Go GCS writes it. */
    static const char want[] =
        "{\"Result\":-1070137079,\"ActivityId\":\"" ZERO "\",\"ErrorMessage\":\"HRESULT: "
        "0xc0370109\",\"ErrorRecords\":[{\"Result\":-1070137079,\"Message\":\"HRESULT: "
        "0xc0370109\",\"ModuleName\":\"gcs\",\"FileName\":\"\",\"Line\":4294967295}]}";
    cleanup_free char *out = NULL;
    assert_int_equal(
        gcs_encode_error_response(GCS_HCS_E_CONNECTION_TIMEOUT, ZERO, NULL, &out, NULL), 0);
    assert_string_equal(out, want);

    /* An empty ActivityId is omitted (the host parses it as a GUID). */
    cleanup_free char *o2 = NULL;
    assert_int_equal(gcs_encode_error_response(GCS_E_NOTIMPL, "",
                                               "HRESULT 0x80004001: bridge: "
                                               "function not supported, header type: 1",
                                               &o2, NULL),
                     0);
    assert_null(strstr(o2, "ActivityId"));
    assert_non_null(strstr(o2, "\"Result\":-2147467263,\"ErrorMessage\":\"HRESULT 0x80004001"));

    /* The host decodes the base and its record. */
    struct gcs_response_base b = {0};
    assert_int_equal(gcs_decode_response_base(want, LEN(want), &b, NULL), 0);
    assert_int_equal(b.result, GCS_HCS_E_CONNECTION_TIMEOUT);
    assert_string_equal(b.error_message, "HRESULT: 0xc0370109");
    assert_int_equal(b.n_error_records, 1);
    assert_string_equal(b.error_records[0].module_name, "gcs");
    assert_int_equal(b.error_records[0].line, UINT32_MAX);
    gcs_response_base_done(&b);

    /* A failing typed response carries only the base. */
    struct gcs_wait_for_process_response w = {.base = {.result = GCS_E_NOT_FOUND}, .exit_code = 3};
    cleanup_free char *o3 = NULL;
    assert_int_equal(gcs_encode_wait_for_process_response(&w, &o3, NULL), 0);
    assert_null(strstr(o3, "ExitCode"));
    assert_non_null(strstr(o3, "\"Result\":-2147023728"));

    struct lcow_error *err = NULL;
    static const char bad[] = "{\"Result\":3224830222}";
    expect_fail(gcs_decode_response_base(bad, LEN(bad), &b, &err), &err, EINVAL, "Result");
    static const char bad2[] = "{\"Result\":0,\"ErrorRecords\":[1]}";
    expect_fail(gcs_decode_response_base(bad2, LEN(bad2), &b, &err), &err, EINVAL,
                "ErrorRecords[0]");
}

static void assert_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 4;
        for (int i = 1; i < n; i++)
            assert_int_equal(p[i] & 0xC0, 0x80);
        p += n;
    }
}

/* Every response stays within 64 KiB: long texts are cut at a UTF-8 boundary. */
static void test_response_size_limits(void **state)
{
    size_t n = 300 * 1024;
    cleanup_free char *msg = malloc(n + 1);
    assert_non_null(msg);
    for (size_t i = 0; i + 2 <= n; i += 2)
        memcpy(msg + i, "\xc3\xa9", 2);
    msg[n] = '\0';
    cleanup_free char *out = NULL;
    assert_int_equal(gcs_encode_error_response(GCS_E_FAIL, ZERO, msg, &out, NULL), 0);
    assert_true(strlen(out) <= GCS_MAX_WRITE_PAYLOAD);
    assert_true(strlen(out) > GCS_MAX_WRITE_PAYLOAD - 64);
    struct gcs_response_base b = {0};
    assert_int_equal(gcs_decode_response_base(out, strlen(out), &b, NULL), 0);
    assert_utf8_valid(b.error_message);
    assert_string_equal(b.error_message, b.error_records[0].message);
    assert_true(strncmp(b.error_message, msg, strlen(b.error_message)) == 0);
    gcs_response_base_done(&b);

    /* Control characters expand sixfold when escaped; the cut accounts for it. */
    memset(msg, '\x01', 100000);
    msg[100000] = '\0';
    cleanup_free char *o2 = NULL;
    assert_int_equal(gcs_encode_error_response(GCS_E_FAIL, NULL, msg, &o2, NULL), 0);
    assert_true(strlen(o2) <= GCS_MAX_WRITE_PAYLOAD);

    /* DumpStacks: the stacks are cut, the rest kept. */
    memset(msg, 'g', n);
    msg[n] = '\0';
    struct gcs_dump_stacks_response ds = {.base = {.activity_id = (char *)ZERO},
                                          .guest_stacks = msg};
    cleanup_free char *o3 = NULL;
    assert_int_equal(gcs_encode_dump_stacks_response(&ds, &o3, NULL), 0);
    assert_true(strlen(o3) <= GCS_MAX_WRITE_PAYLOAD);
    struct gcs_dump_stacks_response dd = {0};
    assert_int_equal(gcs_decode_dump_stacks_response(o3, strlen(o3), &dd, NULL), 0);
    assert_string_equal(dd.base.activity_id, ZERO);
    assert_true(strlen(dd.guest_stacks) > 60000);
    gcs_dump_stacks_response_done(&dd);

    /* A failing DumpStacks is the base alone, however long its stacks. */
    ds.base.result = GCS_E_FAIL;
    ds.base.error_message = msg;
    cleanup_free char *o4 = NULL;
    assert_int_equal(gcs_encode_dump_stacks_response(&ds, &o4, NULL), 0);
    assert_true(strlen(o4) <= GCS_MAX_WRITE_PAYLOAD);
    assert_null(strstr(o4, "GuestStacks"));

    /* A small one round-trips. */
    static const char small[] = "{\"Result\":0,\"GuestStacks\":\"goroutine 1\\nmain()\"}";
    ROUND_TRIP(small, gcs_decode_dump_stacks_response, gcs_encode_dump_stacks_response, dd);
    gcs_dump_stacks_response_done(&dd);
}

static void test_properties_response(void **state)
{
    static const char one[] =
        "{\"Result\":0,\"Properties\":\"{\\\"ProcessList\\\":[{\\\"ProcessId\\\":12}]}\"}";
    struct gcs_get_properties_response r = {0};
    ROUND_TRIP(one, gcs_decode_get_properties_response, gcs_encode_get_properties_response, r);
    assert_true(r.properties.has_process_list);
    assert_int_equal(r.properties.n_process_ids, 1);
    assert_int_equal(r.properties.process_ids[0], 12);
    gcs_get_properties_response_done(&r);

    /* Nothing requested: "{}". */
    static const char none[] = "{\"Result\":0,\"Properties\":\"{}\"}";
    struct gcs_get_properties_response e = {0};
    cleanup_free char *o0 = NULL;
    assert_int_equal(gcs_encode_get_properties_response(&e, &o0, NULL), 0);
    assert_string_equal(o0, none);

    /* Statistics: blkio and rdma reset, network dropped, the caller's object untouched. */
    struct lcow_error *err = NULL;
    static const char m[] = "{\"pids\":{\"current\":3},\"blkio\":{\"io_service_bytes_recursive\":"
                            "[{\"op\":\"Read\",\"value\":1}]},\"rdma\":{\"current\":[]},"
                            "\"network\":[{\"name\":\"eth0\"}]}";
    struct json_object *metrics = NULL;
    assert_int_equal(lcow_json_parse(m, LEN(m), "m", &metrics, &err), 0);
    struct gcs_get_properties_response s = {.properties.lcow_metrics = metrics};
    cleanup_free char *o1 = NULL;
    assert_int_equal(gcs_encode_get_properties_response(&s, &o1, NULL), 0);
    assert_string_equal(o1, "{\"Result\":0,\"Properties\":\"{\\\"LCOWMetrics\\\":{\\\"pids\\\":{"
                            "\\\"current\\\":3},\\\"blkio\\\":{},\\\"rdma\\\":{}}}\"}");
    assert_non_null(lcow_json_field(metrics, "network"));
    struct gcs_get_properties_response d = {0};
    assert_int_equal(gcs_decode_get_properties_response(o1, strlen(o1), &d, NULL), 0);
    assert_non_null(d.properties.lcow_metrics);
    assert_false(d.properties.has_process_list);
    gcs_get_properties_response_done(&d);
    gcs_get_properties_response_done(&s);

    /* A process list too long for 64 KiB is trimmed. */
    size_t n = 20000;
    struct gcs_get_properties_response big = {0};
    big.properties.process_ids = calloc(n, sizeof(uint32_t));
    assert_non_null(big.properties.process_ids);
    big.properties.n_process_ids = n;
    for (size_t i = 0; i < n; i++)
        big.properties.process_ids[i] = 4000000 + (uint32_t)i;
    cleanup_free char *o2 = NULL;
    assert_int_equal(gcs_encode_get_properties_response(&big, &o2, NULL), 0);
    assert_true(strlen(o2) <= GCS_MAX_WRITE_PAYLOAD);
    assert_int_equal(gcs_decode_get_properties_response(o2, strlen(o2), &d, NULL), 0);
    assert_true(d.properties.n_process_ids > 1000);
    assert_true(d.properties.n_process_ids < n);
    assert_int_equal(d.properties.process_ids[0], 4000000);
    gcs_get_properties_response_done(&d);
    gcs_get_properties_response_done(&big);

    static const char badp[] = "{\"Result\":0,\"Properties\":\"{\\\"ProcessList\\\":[7]}\"}";
    expect_fail(gcs_decode_get_properties_response(badp, LEN(badp), &d, &err), &err, EINVAL,
                "Properties.ProcessList[0]");
}

static void test_wait_response(void **state)
{
    static const char resp[] = "{\"Result\":0,\"ActivityId\":\"" ZERO "\",\"ExitCode\":137}";
    struct gcs_wait_for_process_response r = {0};
    ROUND_TRIP(resp, gcs_decode_wait_for_process_response, gcs_encode_wait_for_process_response, r);
    assert_int_equal(r.exit_code, 137);
    gcs_wait_for_process_response_done(&r);
    /* An external process killed by a signal exits with -1, sent as 4294967295. */
    struct gcs_wait_for_process_response k = {.exit_code = UINT32_MAX};
    cleanup_free char *o = NULL;
    assert_int_equal(gcs_encode_wait_for_process_response(&k, &o, NULL), 0);
    assert_string_equal(o, "{\"Result\":0,\"ExitCode\":4294967295}");
}

static void test_notification(void **state)
{
    static const char want[] =
        "{\"ContainerId\":\"c1\",\"ActivityId\":\"" ZERO
        "\",\"Type\":\"UnexpectedExit\",\"Operation\":\"None\",\"Result\":0}";
    struct gcs_container_notification n = {0};
    ROUND_TRIP(want, gcs_decode_container_notification, gcs_encode_container_notification, n);
    assert_string_equal(n.type, GCS_NOTIFY_UNEXPECTED_EXIT);
    gcs_container_notification_done(&n);

    /* Unknown ActivityId -> the zero GUID, never ""; Operation defaults to None. */
    struct gcs_container_notification m = {.container_id = (char *)"c1",
                                           .type = (char *)GCS_NOTIFY_UNEXPECTED_EXIT};
    cleanup_free char *out = NULL;
    assert_int_equal(gcs_encode_container_notification(&m, &out, NULL), 0);
    assert_string_equal(out, want);

    cleanup_free char *id = malloc(70000);
    assert_non_null(id);
    memset(id, 'a', 69999);
    id[69999] = '\0';
    m.container_id = id;
    char *o2 = NULL;
    struct lcow_error *err = NULL;
    expect_fail(gcs_encode_container_notification(&m, &o2, &err), &err, EMSGSIZE, NULL);
    assert_null(o2);
}

/* ---- a whole conversation through frames, both directions ---- */

/* Frames `payload` as message (type, id), parses the frame back as the other side would. */
static void through_frame(uint32_t type, uint64_t id, const char *payload, uint32_t cap,
                          struct gcs_header *h, char **ret)
{
    cleanup_free uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(gcs_frame_build(type, id, payload, strlen(payload), cap, &buf, &len, NULL), 0);
    const char *p = NULL;
    size_t plen = 0;
    assert_int_equal(gcs_frame_parse(buf, len, cap, h, &p, &plen, NULL), 0);
    *ret = strndup(p, plen);
    assert_non_null(*ret);
}

/* The §8 sequence for one container: the host encodes each request, the guest decodes it and
 * answers, the host decodes the answer; ids and response types match as the host requires. */
static void test_conversation(void **state)
{
    uint64_t id = 0;
    struct gcs_header h;

    /* Negotiate. */
    struct gcs_negotiate_request nq = {
        .base = {.container_id = (char *)"", .activity_id = (char *)ZERO},
        .minimum_version = 4,
        .maximum_version = 4};
    cleanup_free char *nq_json = NULL, *nq_rx = NULL;
    assert_int_equal(gcs_encode_negotiate_request(&nq, &nq_json, NULL), 0);
    through_frame(GCS_MSG_NEGOTIATE_PROTOCOL, id, nq_json, GCS_MAX_READ_MESSAGE, &h, &nq_rx);
    struct gcs_negotiate_request ng = {0};
    assert_int_equal(gcs_decode_negotiate_request(nq_rx, strlen(nq_rx), &ng, NULL), 0);
    struct gcs_negotiate_response nr = {0};
    assert_int_equal(gcs_negotiate_response_default(ng.base.activity_id, &nr, NULL), 0);
    cleanup_free char *nr_json = NULL, *nr_rx = NULL;
    assert_int_equal(gcs_encode_negotiate_response(&nr, &nr_json, NULL), 0);
    through_frame(gcs_response_type(h.type), h.id, nr_json, GCS_MAX_WRITE_MESSAGE, &h, &nr_rx);
    assert_int_equal(h.type, 0x20100b01);
    assert_int_equal(h.id, id);
    struct gcs_negotiate_response hn = {0};
    assert_int_equal(gcs_decode_negotiate_response(nr_rx, strlen(nr_rx), &hn, NULL), 0);
    assert_int_equal(hn.version, 4);
    assert_string_equal(hn.base.activity_id, ZERO);
    gcs_negotiate_request_done(&ng);
    gcs_negotiate_response_done(&nr);
    gcs_negotiate_response_done(&hn);

    /* A SCSI layer, then a container exec, each answered. */
    id++;
    char *opts[] = {(char *)"ro", NULL};
    struct gcs_modify_settings_request mq = {
        .base = {.container_id = (char *)GCS_UVM_CONTAINER_ID, .activity_id = (char *)ZERO},
        .request = {.resource_type = GCS_RESOURCE_MAPPED_VIRTUAL_DISK,
                    .request_type = GCS_REQUEST_ADD,
                    .has_settings = true,
                    .settings.mapped_virtual_disk = {.mount_path = (char *)"/run/mounts/scsi/m0",
                                                     .lun = 1,
                                                     .read_only = true,
                                                     .options = opts}}};
    cleanup_free char *mq_json = NULL, *mq_rx = NULL;
    assert_int_equal(gcs_encode_modify_settings_request(&mq, &mq_json, NULL), 0);
    assert_string_equal(mq_json, "{\"ContainerId\":\"" ZERO "\",\"ActivityId\":\"" ZERO
                                 "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":"
                                 "\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"/run/mounts/"
                                 "scsi/m0\",\"Lun\":1,\"ReadOnly\":true,\"Options\":[\"ro\"]}}}");
    through_frame(GCS_MSG_MODIFY_SETTINGS, id, mq_json, GCS_MAX_READ_MESSAGE, &h, &mq_rx);
    struct gcs_modify_settings_request mg = {0};
    assert_int_equal(gcs_decode_modify_settings_request(mq_rx, strlen(mq_rx), &mg, NULL), 0);
    assert_int_equal(mg.request.settings.mapped_virtual_disk.lun, 1);
    gcs_modify_settings_request_done(&mg);

    id++;
    struct gcs_execute_process_request eq = {
        .base = {.container_id = (char *)"c1", .activity_id = (char *)ZERO},
        .params = {.create_std_out_pipe = true},
        .relay = {.std_out = 0x40000001}};
    cleanup_free char *eq_json = NULL, *eq_rx = NULL;
    assert_int_equal(gcs_encode_execute_process_request(&eq, &eq_json, NULL), 0);
    through_frame(GCS_MSG_EXECUTE_PROCESS, id, eq_json, GCS_MAX_READ_MESSAGE, &h, &eq_rx);
    struct gcs_execute_process_request eg = {0};
    assert_int_equal(gcs_decode_execute_process_request(eq_rx, strlen(eq_rx), &eg, NULL), 0);
    assert_true(eg.params.create_std_out_pipe);
    assert_int_equal(eg.relay.std_out, 0x40000001);
    struct gcs_execute_process_response er = {.base = {.activity_id = eg.base.activity_id},
                                              .process_id = 4242};
    cleanup_free char *er_json = NULL, *er_rx = NULL;
    assert_int_equal(gcs_encode_execute_process_response(&er, &er_json, NULL), 0);
    through_frame(gcs_response_type(h.type), h.id, er_json, GCS_MAX_WRITE_MESSAGE, &h, &er_rx);
    assert_int_equal(h.type, 0x20100501);
    assert_int_equal(h.id, 2);
    struct gcs_execute_process_response he = {0};
    assert_int_equal(gcs_decode_execute_process_response(er_rx, strlen(er_rx), &he, NULL), 0);
    assert_int_equal(he.process_id, 4242);
    assert_int_equal(he.base.result, 0);
    gcs_execute_process_response_done(&he);
    gcs_execute_process_request_done(&eg);

    /* The exit notification, ID 0. */
    struct gcs_container_notification n = {.container_id = (char *)"c1",
                                           .activity_id = (char *)ZERO,
                                           .type = (char *)GCS_NOTIFY_FORCED_EXIT};
    cleanup_free char *n_json = NULL, *n_rx = NULL;
    assert_int_equal(gcs_encode_container_notification(&n, &n_json, NULL), 0);
    through_frame(GCS_MSG_CONTAINER_NOTIFICATION, 0, n_json, GCS_MAX_WRITE_MESSAGE, &h, &n_rx);
    assert_int_equal(gcs_msg_kind(h.type), GCS_MSG_KIND_NOTIFY);
    struct gcs_container_notification hn2 = {0};
    assert_int_equal(gcs_decode_container_notification(n_rx, strlen(n_rx), &hn2, NULL), 0);
    assert_string_equal(hn2.type, "ForcedExit");
    assert_string_equal(hn2.operation, "None");
    gcs_container_notification_done(&hn2);
}

/* The last resorts of the 64 KiB rule: an oversized ActivityId is dropped, oversized metrics
 * are dropped; malformed responses are errors for the host. */
static void test_response_last_resorts(void **state)
{
    size_t n = 100000;
    cleanup_free char *aid = malloc(n + 1);
    assert_non_null(aid);
    memset(aid, 'a', n);
    aid[n] = '\0';
    cleanup_free char *o1 = NULL;
    assert_int_equal(gcs_encode_error_response(GCS_E_FAIL, aid, "boom", &o1, NULL), 0);
    assert_true(strlen(o1) <= GCS_MAX_WRITE_PAYLOAD);
    assert_null(strstr(o1, "ActivityId"));
    assert_non_null(strstr(o1, "\"ErrorMessage\":\"boom\""));

    struct json_object *m = json_object_new_object();
    assert_non_null(m);
    assert_int_equal(json_object_object_add(m, "memory", json_object_new_string(aid)), 0);
    struct gcs_get_properties_response r = {.properties.lcow_metrics = m};
    cleanup_free char *o2 = NULL;
    assert_int_equal(gcs_encode_get_properties_response(&r, &o2, NULL), 0);
    assert_string_equal(o2, "{\"Result\":0,\"Properties\":\"{}\"}");
    gcs_get_properties_response_done(&r);

    static const char *const bad[][2] = {
        {"{\"Version\":\"4\"}", "Version"},
        {"{\"Capabilities\":{\"SupportedSchemaVersions\":[3]}}",
         "Capabilities.SupportedSchemaVersions[0]"},
        {"{\"Capabilities\":{\"GuestDefinedCapabilities\":[]}}",
         "Capabilities.GuestDefinedCapabilities"},
    };
    struct lcow_error *err = NULL;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        struct gcs_negotiate_response q = {0};
        expect_fail(gcs_decode_negotiate_response(bad[i][0], strlen(bad[i][0]), &q, &err), &err,
                    EINVAL, bad[i][1]);
    }
    struct gcs_execute_process_response e = {0};
    expect_fail(gcs_decode_execute_process_response("{\"ProcessId\":-4}", 16, &e, &err), &err,
                EINVAL, "ProcessId");
    struct gcs_dump_stacks_response d = {0};
    expect_fail(gcs_decode_dump_stacks_response("{\"GuestStacks\":1}", 17, &d, &err), &err, EINVAL,
                "GuestStacks");
    struct gcs_container_notification c = {0};
    expect_fail(gcs_decode_container_notification("{\"Result\":\"0\"}", 14, &c, &err), &err, EINVAL,
                "Result");
    assert_null(c.container_id);
}

static void test_utf8_truncate(void **state)
{
    static const char s[] = "a\xc3\xa9\xe2\x82\xac";
    assert_int_equal(gcs_utf8_truncate_len(s, 6, 10), 6);
    assert_int_equal(gcs_utf8_truncate_len(s, 6, 6), 6);
    assert_int_equal(gcs_utf8_truncate_len(s, 6, 5), 3);
    assert_int_equal(gcs_utf8_truncate_len(s, 6, 4), 3);
    assert_int_equal(gcs_utf8_truncate_len(s, 6, 2), 1);
    assert_int_equal(gcs_utf8_truncate_len(s, 6, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_codec),
        cmocka_unit_test(test_header_validate),
        cmocka_unit_test(test_frame_build_parse),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_hresults),
        cmocka_unit_test(test_request_base),
        cmocka_unit_test(test_peek_base),
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_create_bad),
        cmocka_unit_test(test_execute_examples),
        cmocka_unit_test(test_execute_params),
        cmocka_unit_test(test_execute_bad),
        cmocka_unit_test(test_small_requests),
        cmocka_unit_test(test_error_response),
        cmocka_unit_test(test_response_size_limits),
        cmocka_unit_test(test_properties_response),
        cmocka_unit_test(test_wait_response),
        cmocka_unit_test(test_notification),
        cmocka_unit_test(test_utf8_truncate),
        cmocka_unit_test(test_oci_types),
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_response_last_resorts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
