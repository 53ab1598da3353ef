/* The hardening and wire-replay tests' cmocka layer over tests/lib/gcs_harness.h (issue 12):
 * gcs over unix: started as the UVM's init starts it (soft RLIMIT_NOFILE 1024) under a cgroup
 * root and a temporary tree the harness removes, a busybox rootfs, and request helpers that
 * fail the test when the bridge itself fails. Every wait is bounded (HL_MS). */
#ifndef LCOW_TESTS_HARDENING_LIB_H
#define LCOW_TESTS_HARDENING_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "tests/lib/gcs_harness.h"

#define HL_MS  20000
#define HL_INF GCS_INFINITE_TIMEOUT
#define HL_AID GH_AID

/* The harness tree with the busybox rootfs and DIR/c for bundles; listens; starts gcs with
 * `extra` arguments (NULL-terminated, may be NULL) behind the optional `wrapper` argv (e.g.
 * valgrind), accepts its connection and negotiates. 0 or -1 (after printing why and cleaning
 * up). */
int hl_setup(struct gcs_harness **ret, const char *const *extra, const char *const *wrapper);
/* Kills gcs (unless it already exited), keeps its log when $HL_KEEP_LOG names a file, unmounts
 * and removes everything the fixture made. */
void hl_teardown(struct gcs_harness *h);

/* The busybox rootfs of these tests at root (gh_make_rootfs plus /root). */
void hl_make_rootfs(const char *root);
void hl_write_text(const char *path, const char *text);

struct json_object *hl_oci_process(const char *const *args, bool tty);
struct json_object *hl_base_spec(struct gcs_harness *h, const char *const *args);

/* Request helpers: the response's Result (HRESULT); *ret_payload / *ret_error when non-NULL. */
int32_t hl_call(struct gcs_harness *h, uint32_t type, const char *payload, char **ret_payload,
                char **ret_error);
int32_t hl_create(struct gcs_harness *h, const char *cid, struct json_object *spec,
                  char **ret_error);
int32_t hl_simple(struct gcs_harness *h, uint32_t type, const char *cid);
/* ExecuteProcess: the init when proc is NULL, else an exec (proc taken). */
int32_t hl_execute(struct gcs_harness *h, const char *cid, struct json_object *proc, bool in,
                   bool out, bool err, struct host_process *ret, char **ret_error);
int32_t hl_wait(struct gcs_harness *h, const char *cid, uint32_t pid, uint32_t timeout,
                uint32_t *code);
uint32_t hl_wait_exit(struct gcs_harness *h, const char *cid, uint32_t pid);
/* Reads fd to EOF (bounded) into buf, NUL-terminated; closes fd. */
size_t hl_read_all(int fd, char *buf, size_t cap);
/* The next notification must be for cid with this Type. */
void hl_expect_notification(struct gcs_harness *h, const char *cid, const char *type);
void hl_no_notification(struct gcs_harness *h, int ms);
/* Create + Start + init of `args` with stdout; returns the init pid and its stdout fd. */
uint32_t hl_run(struct gcs_harness *h, const char *cid, struct json_object *spec, int *ret_out);

#endif
