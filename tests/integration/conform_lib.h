/* Wire-conformance checks of gcs against gcs-protocol.md, as a host written only from that
 * contract would see them: gcs over unix: (tests/lib/gcs_harness.h), raw JSON requests, and
 * every response checked field by field (§2.2 type, §2.5 size, §2.6-2.7 base object and
 * ErrorRecords, ActivityId echo) before the test looks at its own fields. cmocka asserts. */
#ifndef LCOW_TESTS_CONFORM_LIB_H
#define LCOW_TESTS_CONFORM_LIB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "tests/lib/gcs_harness.h"

#define CF_MS  20000
#define CF_AID "0a1b2c3d-0000-4000-8000-0123456789ab"
#define CF_UVM GCS_ZERO_GUID
/* Result values a check accepts without asserting one (cf_call's `want`). */
#define CF_ANY_RESULT INT64_MAX

/* gcs started (busybox rootfs, -cgroup-root, -dev-root) and connected; negotiated if asked. */
int cf_setup(struct gcs_harness **ret, bool negotiate);
/* The same with -sysfs-root DIR/sys (made empty) and -device-timeout-ms 1500, negotiated. */
int cf_setup_sysfs(struct gcs_harness **ret);
void cf_teardown(struct gcs_harness *h);
/* Drops the connection and accepts gcs's redial: a fresh, unnegotiated connection. */
void cf_reconnect(struct gcs_harness *h);

/* Checks one response to a request of req_type: response type (top nibble 2, the rest echoed),
 * ≤ 64 KiB, a JSON object whose Result is a signed int32 equal to want (unless CF_ANY_RESULT),
 * ActivityId equal to aid (NULL: must be absent, never ""), and on failure only the base
 * fields with a non-empty ErrorMessage and exactly one ErrorRecord of the same Result. Returns
 * the parsed payload (json_object_put it). */
struct json_object *cf_check(const struct host_message *m, uint32_t req_type, int64_t want,
                             const char *aid);
/* Sends payload (printf format) as req_type and cf_check()s the answer. */
struct json_object *cf_call(struct gcs_harness *h, uint32_t req_type, int64_t want, const char *aid,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The Result of the response (checked as above with CF_ANY_RESULT). */
int32_t cf_result(struct gcs_harness *h, uint32_t req_type, const char *aid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A u32 field of a response object (asserts it is there). */
uint32_t cf_u32(struct json_object *o, const char *field);

/* The JSON text of s as a JSON string literal (quotes included; malloc'd). */
char *cf_quote(const char *s);
/* An OCI spec running args (a JSON array text) on h->rootfs with pid/mount/ipc/uts namespaces,
 * /proc and /dev/pts; `extra` (text after a comma, or "") is appended to the top object. */
char *cf_spec(const struct gcs_harness *h, const char *args, bool tty, const char *extra);
/* Create of cid with spec (taken) and ActivityId aid (NULL: none); returns the Result. */
int32_t cf_create(struct gcs_harness *h, const char *cid, char *spec, const char *aid);
/* ExecuteProcess with ProcessParameters params (JSON text) and the streams std[] (in, out, err)
 * on fresh ports; accepts them on success. Returns the Result; *ret the pid and sockets. */
int32_t cf_exec(struct gcs_harness *h, const char *cid, const char *params, const bool std[3],
                struct host_process *ret);
/* WaitForProcess: the Result; *code the ExitCode on success. */
int32_t cf_wait(struct gcs_harness *h, const char *cid, uint32_t pid, uint32_t timeout_ms,
                uint32_t *code);
/* Reads fd to EOF (bounded by CF_MS) into buf (NUL-terminated) and closes it. */
void cf_read_all(int fd, char *buf, size_t cap);

/* The next notification: 0x30100101, ID 0, exactly ContainerId/ActivityId/Type/Operation "None"/
 * Result 0 (no ResultInfo). */
void cf_notification(struct gcs_harness *h, const char *cid, const char *aid, const char *type);
void cf_no_notification(struct gcs_harness *h, int ms);

#endif
