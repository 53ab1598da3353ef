/* make bench: cost of the bridge codecs (gcs/protocol*.c) per message, next to the floor of
 * plain json-c (json_tokener_parse + put of the same bytes: no Go semantics, no typed struct).
 * For each host payload: decode ns/op, floor ns/op, their ratio, and re-encode ns/op; then a
 * Create carrying a ~1 MiB OCI spec (MB/s), and the 64 KiB-bounded encoders at their limits.
 * Figures, not assertions. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "gcs/protocol.h"

#define Z "00000000-0000-0000-0000-000000000000"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*codec_fn)(const char *buf, size_t len, char **out);

/* A decoder (and, with `out`, the matching re-encoder) bound to one message type. */
#define CODEC(name, T, dec, enc, done)                                                             \
    static int name(const char *buf, size_t len, char **out)                                       \
    {                                                                                              \
        struct T v = {0};                                                                          \
        int r = dec(buf, len, &v, NULL);                                                           \
        if (r == 0 && out != NULL)                                                                 \
            r = enc(&v, out, NULL);                                                                \
        done(&v);                                                                                  \
        return r;                                                                                  \
    }

CODEC(negotiate, gcs_negotiate_request, gcs_decode_negotiate_request, gcs_encode_negotiate_request,
      gcs_negotiate_request_done)
CODEC(create, gcs_create_request, gcs_decode_create_request, gcs_encode_create_request,
      gcs_create_request_done)
CODEC(execute, gcs_execute_process_request, gcs_decode_execute_process_request,
      gcs_encode_execute_process_request, gcs_execute_process_request_done)
CODEC(wait_req, gcs_wait_for_process_request, gcs_decode_wait_for_process_request,
      gcs_encode_wait_for_process_request, gcs_wait_for_process_request_done)
CODEC(modify, gcs_modify_settings_request, gcs_decode_modify_settings_request,
      gcs_encode_modify_settings_request, gcs_modify_settings_request_done)

static const struct {
    const char *name;
    codec_fn fn;
    const char *payload;
} cases[] = {
    {"NegotiateProtocol", negotiate,
     "{\"ContainerId\":\"\",\"ActivityId\":\"" Z "\",\"MinimumVersion\":4,\"MaximumVersion\":4}"},
    {"WaitForProcess", wait_req,
     "{\"ContainerId\":\"c1\",\"ActivityId\":\"" Z
     "\",\"ProcessId\":42,\"TimeoutInMs\":4294967295}"},
    {"ExecuteProcess", execute,
     "{\"ContainerId\":\"c1\",\"ActivityId\":\"" Z "\",\"Settings\":{\"ProcessParameters\":\"{\\\""
     "CreateStdOutPipe\\\":true,\\\"CreateStdErrPipe\\\":true,\\\"OciProcess\\\":{\\\"terminal\\\""
     ":false,\\\"user\\\":{\\\"uid\\\":0,\\\"gid\\\":0},\\\"args\\\":[\\\"ps\\\"],\\\"cwd\\\":\\\"/"
     "\\\"}}\",\"VsockStdioRelaySettings\":{\"StdOut\":1073741828,\"StdErr\":1073741829}}}"},
    {"Modify SCSI", modify,
     "{\"ContainerId\":\"" Z "\",\"ActivityId\":\"" Z "\",\"Request\":{\"RequestType\":\"Add\","
     "\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"/run/mounts/scsi/m0\","
     "\"Lun\":1,\"ReadOnly\":true,\"Options\":[\"ro\"]}}}"},
    {"Modify Network", modify,
     "{\"ContainerId\":\"" Z "\",\"ActivityId\":\"" Z "\",\"Request\":{\"RequestType\":\"Add\","
     "\"ResourceType\":\"Network\",\"Settings\":{\"NamespaceID\":\"ns-guid\",\"ID\":\"nic-guid\","
     "\"MacAddress\":\"00-15-5D-52-C0-00\",\"DNSSuffix\":\"svc.cluster.local\",\"DNSServerList\":"
     "\"10.0.0.10\",\"IPConfigs\":[{\"IPAddress\":\"10.0.0.5\",\"PrefixLength\":24}],\"Routes\":[{"
     "\"NextHop\":\"10.0.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}]}}}"},
};

static double per_op_ns(codec_fn fn, const char *p, size_t len, bool encode, long rounds)
{
    double t0 = now_s();
    for (long i = 0; i < rounds; i++) {
        char *out = NULL;
        if (fn(p, len, encode ? &out : NULL) < 0) {
            fprintf(stderr, "codec failed\n");
            exit(1);
        }
        free(out);
    }
    return (now_s() - t0) * 1e9 / (double)rounds;
}

static double floor_ns(const char *p, long rounds)
{
    double t0 = now_s();
    for (long i = 0; i < rounds; i++)
        json_object_put(json_tokener_parse(p));
    return (now_s() - t0) * 1e9 / (double)rounds;
}

/* A Create whose OCI spec holds `n_env` environment entries: about 1 MiB for 20000. */
static char *big_create(size_t n_env)
{
    struct json_object *spec = json_object_new_object();
    struct json_object *proc = json_object_new_object();
    struct json_object *env = json_object_new_array();
    for (size_t i = 0; i < n_env; i++) {
        char e[64];
        snprintf(e, sizeof(e), "VARIABLE_%06zu=some-value-of-moderate-size-%zu", i, i);
        json_object_array_add(env, json_object_new_string(e));
    }
    json_object_object_add(proc, "env", env);
    json_object_object_add(spec, "process", proc);
    struct gcs_create_request c = {.base = {.container_id = (char *)"c1", .activity_id = (char *)Z},
                                   .config = {.schema_version = {2, 1},
                                              .oci_bundle_path = (char *)"/run/gcs/c/c1",
                                              .oci_specification = spec,
                                              .scratch_dir_path = (char *)"/s"}};
    char *out = NULL;
    if (gcs_encode_create_request(&c, &out, NULL) < 0)
        exit(1);
    json_object_put(spec);
    return out;
}

int main(void)
{
    long rounds = 100000;
    printf("%-18s %12s %12s %8s %12s\n", "message", "decode ns", "json-c ns", "ratio",
           "round-trip ns");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = cases[i].payload;
        size_t len = strlen(p);
        per_op_ns(cases[i].fn, p, len, false, rounds / 10); /* warm up */
        double dec = per_op_ns(cases[i].fn, p, len, false, rounds);
        double flo = floor_ns(p, rounds);
        double rt = per_op_ns(cases[i].fn, p, len, true, rounds);
        printf("%-18s %12.0f %12.0f %8.2f %12.0f\n", cases[i].name, dec, flo, dec / flo, rt);
    }

    cleanup_free char *big = big_create(20000);
    size_t blen = strlen(big);
    long brounds = 20;
    double dec = per_op_ns(create, big, blen, false, brounds);
    double flo = floor_ns(big, brounds);
    printf("%-18s %12.0f %12.0f %8.2f   (%.2f MiB: %.0f MB/s decode)\n", "Create ~1MiB spec", dec,
           flo, dec / flo, (double)blen / (1 << 20), (double)blen / (dec / 1e9) / 1e6);

    /* The bounded encoders at their limit: a 1 MiB ErrorMessage cut to 64 KiB. */
    cleanup_free char *msg = malloc(1 << 20);
    if (msg == NULL)
        return 1;
    memset(msg, 'e', (1 << 20) - 1);
    msg[(1 << 20) - 1] = '\0';
    double t0 = now_s();
    for (int i = 0; i < 200; i++) {
        char *out = NULL;
        if (gcs_encode_error_response(GCS_E_FAIL, Z, msg, &out, NULL) < 0)
            return 1;
        free(out);
    }
    printf("%-18s %12.0f ns/op (1 MiB message truncated to fit 64 KiB)\n", "error response",
           (now_s() - t0) * 1e9 / 200);
    return 0;
}
