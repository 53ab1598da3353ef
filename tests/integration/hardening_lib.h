/* Shared fixture of the hardening and wire-replay tests (issue 12): gcs over unix: under a
 * cgroup root and a temporary directory this fixture creates and removes, a busybox rootfs,
 * and request helpers over host/bridge_client.h. Every wait is bounded (HL_MS). */
#ifndef LCOW_TESTS_HARDENING_LIB_H
#define LCOW_TESTS_HARDENING_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"

#define HL_MS  20000
#define HL_INF GCS_INFINITE_TIMEOUT
#define HL_AID "11111111-2222-3333-4444-555555555555"

struct hl {
    char dir[64];
    char addr[128];
    char log[128];
    char rootfs[128];
    char cgroot[64];
    char devroot[96];
    pid_t gcs;
    struct host_bridge *b;
};

/* The gcs binary (next to the test binary's build dir, or $LCOW_GCS). */
const char *hl_gcs_bin(void);
/* Makes the temporary tree and the busybox rootfs; listens; starts gcs with `extra` arguments
 * (NULL-terminated, may be NULL) behind the optional `wrapper` argv (e.g. valgrind), accepts its
 * connection and negotiates. 0 or -1 (after printing why and cleaning up). */
int hl_setup(struct hl **ret, const char *const *extra, const char *const *wrapper);
/* Kills gcs (unless it already exited), unmounts and removes everything the fixture made. */
void hl_teardown(struct hl *h);
/* Stops gcs with SIGTERM and returns its wait status (valgrind's exit code). */
int hl_stop_gcs(struct hl *h, int timeout_ms);

void hl_make_rootfs(const char *root);
void hl_write_text(const char *path, const char *text);

struct json_object *hl_strv(const char *const *v);
struct json_object *hl_oci_process(const char *const *args, bool tty);
/* A spec with pid/mount/ipc/uts namespaces, /proc, /tmp tmpfs and /dev/pts. */
struct json_object *hl_base_spec(struct hl *h, const char *const *args);
void hl_add_mount(struct json_object *spec, const char *dst, const char *type, const char *src,
                  const char *const *options);
void hl_bundle_of(struct hl *h, const char *cid, char *buf, size_t cap);
char *hl_create_payload(struct hl *h, const char *cid, struct json_object *spec);

/* Request helpers: the response's Result (HRESULT); *ret_payload / *ret_error when non-NULL. */
int32_t hl_call(struct hl *h, uint32_t type, const char *payload, char **ret_payload,
                char **ret_error);
int32_t hl_create(struct hl *h, const char *cid, struct json_object *spec, char **ret_error);
int32_t hl_simple(struct hl *h, uint32_t type, const char *cid);
/* ExecuteProcess: the init when proc is NULL, else an exec (proc taken). */
int32_t hl_execute(struct hl *h, const char *cid, struct json_object *proc, bool in, bool out,
                   bool err, struct host_process *ret, char **ret_error);
int32_t hl_wait(struct hl *h, const char *cid, uint32_t pid, uint32_t timeout, uint32_t *code);
uint32_t hl_wait_exit(struct hl *h, const char *cid, uint32_t pid);
/* Reads fd to EOF (bounded) into buf, NUL-terminated; closes fd. */
size_t hl_read_all(int fd, char *buf, size_t cap);
/* The next notification must be for cid with this Type. */
void hl_expect_notification(struct hl *h, const char *cid, const char *type);
void hl_no_notification(struct hl *h, int ms);
/* Create + Start + init of `args` with stdout; returns the init pid and its stdout fd. */
uint32_t hl_run(struct hl *h, const char *cid, struct json_object *spec, int *ret_out);

/* gcs's footprint: open fds, VmRSS in KiB, mounts whose path contains h->dir, cgroup dirs
 * under the cgroup root (memory hierarchy). */
int hl_gcs_fds(struct hl *h);
long hl_gcs_rss_kib(struct hl *h);
int hl_mounts_under(const char *dir);
int hl_cgroups_under(struct hl *h);

#endif
