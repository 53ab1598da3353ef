/* libFuzzer target for everything the bridge decodes from the host (and the host client from
 * the guest): frame headers, every request decoder, every response/notification decoder, the
 * CommandLine splitter. Input: one selector byte, then the payload. Selector 'F' means the rest
 * is a stream of framed messages, dispatched by header type as the bridge does.
 *
 * Besides "no crash, no leak, no UB" (ASan/UBSan), it checks properties of the codecs:
 *   - whatever decodes re-encodes, and the encoding decodes again (requests and responses);
 *   - every response/notification encoding fits GCS_MAX_WRITE_PAYLOAD;
 *   - the error response for any decode failure fits and decodes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "gcs/cmdline.h"
#include "gcs/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* An encoder may only fail for lack of memory or room. */
static void check_encoded(int r, char *out, bool response)
{
    CHECK(r == 0 || r == -ENOMEM || r == -EMSGSIZE);
    if (r == 0 && response)
        CHECK(strlen(out) <= GCS_MAX_WRITE_PAYLOAD);
    free(out);
}

/* What the bridge sends when the decode fails: must fit and decode. */
static void check_error_reply(const char *buf, size_t len, int r, struct lcow_error *err)
{
    struct gcs_request_base b = {0};
    if (gcs_peek_request_base(buf, len, &b) < 0)
        return;
    char *out = NULL;
    int32_t hr = gcs_hresult_from_decode_error(r);
    CHECK(hr != 0);
    int e = gcs_encode_error_response(hr, b.activity_id, lcow_error_message(err), &out, NULL);
    if (e == 0) {
        struct gcs_response_base rb = {0};
        CHECK(strlen(out) <= GCS_MAX_WRITE_PAYLOAD);
        CHECK(gcs_decode_response_base(out, strlen(out), &rb, NULL) == 0);
        CHECK(rb.result == hr);
        gcs_response_base_done(&rb);
    }
    free(out);
    gcs_request_base_done(&b);
}

/* Decode, then encode, then decode the encoding again. */
#define ROUND(T, dec, enc, done, response)                                                         \
    static void fuzz_##dec(const char *buf, size_t len)                                            \
    {                                                                                              \
        struct T v = {0}, again = {0};                                                             \
        struct lcow_error *err = NULL;                                                             \
        int r = dec(buf, len, &v, &err);                                                           \
        if (r < 0) {                                                                               \
            CHECK(r == -EINVAL || r == -ENOMEM || r == -EOPNOTSUPP);                               \
            check_error_reply(buf, len, r, err);                                                   \
            lcow_error_release(&err);                                                              \
            return;                                                                                \
        }                                                                                          \
        char *out = NULL;                                                                          \
        r = enc(&v, &out, NULL);                                                                   \
        if (r == 0) {                                                                              \
            int d = dec(out, strlen(out), &again, &err);                                           \
            if (d < 0)                                                                             \
                fprintf(stderr, "re-decode of `%s`: %s\n", out, lcow_error_message(err));          \
            CHECK(d == 0 || d == -ENOMEM);                                                         \
            done(&again);                                                                          \
            lcow_error_release(&err);                                                              \
        }                                                                                          \
        check_encoded(r, out, response);                                                           \
        done(&v);                                                                                  \
    }

ROUND(gcs_request_base, gcs_decode_request_base, gcs_encode_request_base, gcs_request_base_done,
      false)
ROUND(gcs_negotiate_request, gcs_decode_negotiate_request, gcs_encode_negotiate_request,
      gcs_negotiate_request_done, false)
ROUND(gcs_create_request, gcs_decode_create_request, gcs_encode_create_request,
      gcs_create_request_done, false)
ROUND(gcs_execute_process_request, gcs_decode_execute_process_request,
      gcs_encode_execute_process_request, gcs_execute_process_request_done, false)
ROUND(gcs_wait_for_process_request, gcs_decode_wait_for_process_request,
      gcs_encode_wait_for_process_request, gcs_wait_for_process_request_done, false)
ROUND(gcs_signal_process_request, gcs_decode_signal_process_request,
      gcs_encode_signal_process_request, gcs_signal_process_request_done, false)
ROUND(gcs_resize_console_request, gcs_decode_resize_console_request,
      gcs_encode_resize_console_request, gcs_resize_console_request_done, false)
ROUND(gcs_get_properties_request, gcs_decode_get_properties_request,
      gcs_encode_get_properties_request, gcs_get_properties_request_done, false)
ROUND(gcs_modify_settings_request, gcs_decode_modify_settings_request,
      gcs_encode_modify_settings_request, gcs_modify_settings_request_done, false)
ROUND(gcs_response_base, gcs_decode_response_base, gcs_encode_response_base, gcs_response_base_done,
      true)
ROUND(gcs_negotiate_response, gcs_decode_negotiate_response, gcs_encode_negotiate_response,
      gcs_negotiate_response_done, true)
ROUND(gcs_create_response, gcs_decode_create_response, gcs_encode_create_response,
      gcs_create_response_done, true)
ROUND(gcs_execute_process_response, gcs_decode_execute_process_response,
      gcs_encode_execute_process_response, gcs_execute_process_response_done, true)
ROUND(gcs_wait_for_process_response, gcs_decode_wait_for_process_response,
      gcs_encode_wait_for_process_response, gcs_wait_for_process_response_done, true)
ROUND(gcs_get_properties_response, gcs_decode_get_properties_response,
      gcs_encode_get_properties_response, gcs_get_properties_response_done, true)
ROUND(gcs_dump_stacks_response, gcs_decode_dump_stacks_response, gcs_encode_dump_stacks_response,
      gcs_dump_stacks_response_done, true)
ROUND(gcs_container_notification, gcs_decode_container_notification,
      gcs_encode_container_notification, gcs_container_notification_done, true)

/* ExecuteProcess also drives the argv the bridge would exec. */
static void fuzz_execute_argv(const char *buf, size_t len)
{
    struct gcs_execute_process_request q = {0};
    if (gcs_decode_execute_process_request(buf, len, &q, NULL) < 0)
        return;
    char **argv = NULL;
    if (gcs_process_parameters_argv(&q.params, &argv, NULL) == 0) {
        CHECK(argv != NULL && argv[0] != NULL);
        lcow_strv_freep(&argv);
    }
    gcs_execute_process_request_done(&q);
}

static void fuzz_cmdline(const char *buf, size_t len)
{
    cleanup_free char *line = strndup(buf, len);
    char **argv = NULL;
    if (line == NULL)
        return;
    int n = gcs_cmdline_split(line, &argv, NULL);
    if (n > 0) {
        for (int i = 0; i < n; i++)
            CHECK(argv[i] != NULL);
        CHECK(argv[n] == NULL);
        lcow_strv_freep(&argv);
    } else {
        CHECK(argv == NULL && n == -EINVAL);
    }
}

typedef void (*fuzz_fn)(const char *buf, size_t len);

static const struct {
    char key;
    fuzz_fn fn;
} targets[] = {
    {'a', fuzz_gcs_decode_request_base},
    {'b', fuzz_gcs_decode_negotiate_request},
    {'c', fuzz_gcs_decode_create_request},
    {'d', fuzz_gcs_decode_execute_process_request},
    {'e', fuzz_gcs_decode_wait_for_process_request},
    {'f', fuzz_gcs_decode_signal_process_request},
    {'g', fuzz_gcs_decode_resize_console_request},
    {'h', fuzz_gcs_decode_get_properties_request},
    {'i', fuzz_gcs_decode_modify_settings_request},
    {'j', fuzz_gcs_decode_response_base},
    {'k', fuzz_gcs_decode_negotiate_response},
    {'l', fuzz_gcs_decode_create_response},
    {'m', fuzz_gcs_decode_execute_process_response},
    {'n', fuzz_gcs_decode_wait_for_process_response},
    {'o', fuzz_gcs_decode_get_properties_response},
    {'p', fuzz_gcs_decode_dump_stacks_response},
    {'q', fuzz_gcs_decode_container_notification},
    {'r', fuzz_execute_argv},
    {'s', fuzz_cmdline},
};

/* The bridge's choice of decoder for a request type. */
static fuzz_fn decoder_for(uint32_t type)
{
    switch (type) {
    case GCS_MSG_NEGOTIATE_PROTOCOL:
        return fuzz_gcs_decode_negotiate_request;
    case GCS_MSG_CREATE:
        return fuzz_gcs_decode_create_request;
    case GCS_MSG_EXECUTE_PROCESS:
        return fuzz_gcs_decode_execute_process_request;
    case GCS_MSG_WAIT_FOR_PROCESS:
        return fuzz_gcs_decode_wait_for_process_request;
    case GCS_MSG_SIGNAL_PROCESS:
        return fuzz_gcs_decode_signal_process_request;
    case GCS_MSG_RESIZE_CONSOLE:
        return fuzz_gcs_decode_resize_console_request;
    case GCS_MSG_GET_PROPERTIES:
        return fuzz_gcs_decode_get_properties_request;
    case GCS_MSG_MODIFY_SETTINGS:
        return fuzz_gcs_decode_modify_settings_request;
    case GCS_MSG_START:
    case GCS_MSG_SHUTDOWN_GRACEFUL:
    case GCS_MSG_SHUTDOWN_FORCED:
    case GCS_MSG_DUMP_STACKS:
    case GCS_MSG_DELETE_CONTAINER_STATE:
        return fuzz_gcs_decode_request_base;
    case GCS_MSG_CONTAINER_NOTIFICATION:
        return fuzz_gcs_decode_container_notification;
    default:
        return gcs_msg_kind(type) == GCS_MSG_KIND_RESPONSE ? fuzz_gcs_decode_response_base : NULL;
    }
}

/* A byte stream of frames, read the way the bridge reads its socket. */
static void fuzz_frames(const uint8_t *p, size_t n)
{
    while (n >= GCS_HEADER_SIZE) {
        struct gcs_header h;
        gcs_header_decode(p, &h);
        if (gcs_header_validate(&h, GCS_MAX_READ_MESSAGE, NULL) < 0 || h.size > n)
            return; /* the bridge drops the connection */
        const char *payload = NULL;
        size_t plen = 0;
        struct gcs_header h2;
        CHECK(gcs_frame_parse(p, h.size, GCS_MAX_READ_MESSAGE, &h2, &payload, &plen, NULL) == 0);
        CHECK(h2.size == h.size && plen == h.size - GCS_HEADER_SIZE);
        char name[GCS_MSG_TYPE_NAME_MAX];
        gcs_msg_type_format(h.type, name, sizeof(name));
        CHECK(gcs_response_type(h.type) >> 28 == 2);
        fuzz_fn fn = decoder_for(h.type);
        if (fn != NULL)
            fn(payload, plen);
        p += h.size;
        n -= h.size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] == 'F') {
        fuzz_frames(data + 1, len);
        return 0;
    }
    size_t n = sizeof(targets) / sizeof(targets[0]);
    fuzz_fn fn = targets[data[0] % n].fn;
    for (size_t i = 0; i < n; i++)
        if (targets[i].key == (char)data[0])
            fn = targets[i].fn;
    fn(buf, len);
    return 0;
}
