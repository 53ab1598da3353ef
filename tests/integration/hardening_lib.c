/* The hardening tests' cmocka layer over the gcs harness: see hardening_lib.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/hardening_lib.h"

void hl_write_text(const char *path, const char *text)
{
    assert_int_equal(
        lcow_write_file(path, text, strlen(text), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL), 0);
}

void hl_make_rootfs(const char *root)
{
    static const char *const applets[] = {"sh",    "echo", "cat",  "sleep", "true",
                                          "false", "ls",   "grep", "dd",    "id",
                                          "head",  "wc",   "yes",  "ps",    NULL};
    char p[512];
    snprintf(p, sizeof(p), "%s", root);
    *strrchr(p, '/') = '\0'; /* wire_replay's rootfs sits deep in a layer tree */
    assert_int_equal(lcow_mkdir_p(p, 0755, NULL), 0);
    assert_int_equal(gh_make_rootfs(root, applets), 0);
    snprintf(p, sizeof(p), "%s/root", root);
    assert_int_equal(mkdir(p, 0755), 0);
}

void hl_teardown(struct gcs_harness *h)
{
    if (!h)
        return;
    gh_stop(h);
    const char *keep = getenv("HL_KEEP_LOG"); /* debugging: keep gcs's log */
    cleanup_free char *log = NULL;
    size_t len = 0;
    if (keep && lcow_read_file(h->log, 64u << 20, &log, &len, NULL) == 0)
        lcow_write_file(keep, log, len, O_WRONLY | O_CREAT | O_APPEND, 0644, NULL);
    gh_teardown(h);
    free(h);
}

int hl_setup(struct gcs_harness **ret, const char *const *extra, const char *const *wrapper)
{
    struct gcs_harness *h = calloc(1, sizeof(*h));
    *ret = NULL;
    if (!h || gh_init(h, "lcow-hard") < 0) {
        free(h);
        return -1;
    }
    h->nofile = GH_UVM_NOFILE;
    char c[128];
    snprintf(c, sizeof(c), "%s/c", h->dir);
    cleanup_error struct lcow_error *err = NULL;
    if (mkdir(c, 0755) < 0 || gh_make_devroot(h) < 0) {
        lcow_error_errno(&err, "make `%s`", h->dir);
        goto fail;
    }
    hl_make_rootfs(h->rootfs);
    /* valgrind needs far longer to start */
    if (gh_start_gcs(h, wrapper, extra, wrapper ? 4 * HL_MS : HL_MS, &err) < 0)
        goto fail;
    *ret = h;
    return 0;
fail:
    fprintf(stderr, "setup: %s\n", lcow_error_message(err));
    hl_teardown(h);
    return -1;
}

/* ---- requests ----------------------------------------------------------------------------- */

struct json_object *hl_oci_process(const char *const *args, bool tty)
{
    return gh_oci_process(args, NULL, tty);
}

struct json_object *hl_base_spec(struct gcs_harness *h, const char *const *args)
{
    return gh_base_spec(h, args, false);
}

int32_t hl_call(struct gcs_harness *h, uint32_t type, const char *payload, char **ret_payload,
                char **ret_error)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t hr = 0;
    if (gh_call(h, type, payload, HL_MS, &hr, ret_payload, ret_error, &err) < 0)
        fail_msg("call 0x%08x: %s", type, lcow_error_message(err));
    return hr;
}

int32_t hl_create(struct gcs_harness *h, const char *cid, struct json_object *spec,
                  char **ret_error)
{
    cleanup_free char *p = gh_create_payload(h, cid, spec);
    assert_non_null(p);
    return hl_call(h, GCS_MSG_CREATE, p, NULL, ret_error);
}

int32_t hl_simple(struct gcs_harness *h, uint32_t type, const char *cid)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_simple(h->b, type, cid, HL_MS, &m, &err) < 0)
        fail_msg("simple 0x%08x: %s", type, lcow_error_message(err));
    int32_t hr = 0;
    assert_int_equal(host_message_result(&m, &hr, NULL, &err), 0);
    host_message_done(&m);
    return hr;
}

int32_t hl_execute(struct gcs_harness *h, const char *cid, struct json_object *proc, bool in,
                   bool out, bool errs, struct host_process *ret, char **ret_error)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t hr = 0;
    if (gh_execute(h, cid, proc, (const bool[3]){in, out, errs}, HL_MS, ret, &hr, ret_error, &err) <
        0)
        fail_msg("execute in `%s`: %s", cid ? cid : "", lcow_error_message(err));
    return hr;
}

int32_t hl_wait(struct gcs_harness *h, const char *cid, uint32_t pid, uint32_t timeout,
                uint32_t *code)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t hr = 0;
    int r = host_bridge_wait_process(h->b, cid, pid, timeout, HL_MS, code, &hr, &err);
    if (r < 0 && r != -EREMOTEIO)
        fail_msg("wait: %s", lcow_error_message(err));
    return r < 0 ? hr : 0;
}

uint32_t hl_wait_exit(struct gcs_harness *h, const char *cid, uint32_t pid)
{
    uint32_t code = 0xdead;
    assert_int_equal(hl_wait(h, cid, pid, HL_INF, &code), 0);
    return code;
}

size_t hl_read_all(int fd, char *buf, size_t cap)
{
    ssize_t n = gh_read_all(fd, buf, cap, HL_MS);
    assert_true(n >= 0);
    return (size_t)n;
}

void hl_expect_notification(struct gcs_harness *h, const char *cid, const char *type)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_next_notification(h->b, HL_MS, &m, &err) < 0)
        fail_msg("notification: %s", lcow_error_message(err));
    struct gcs_container_notification n = {0};
    assert_int_equal(gcs_decode_container_notification(m.payload, m.len, &n, &err), 0);
    assert_string_equal(n.container_id, cid);
    assert_string_equal(n.type, type);
    gcs_container_notification_done(&n);
    host_message_done(&m);
}

void hl_no_notification(struct gcs_harness *h, int ms)
{
    struct host_message m = {0};
    int r = host_bridge_next_notification(h->b, ms, &m, NULL);
    if (r == 0)
        fail_msg("unexpected notification: %s", m.payload);
}

uint32_t hl_run(struct gcs_harness *h, const char *cid, struct json_object *spec, int *ret_out)
{
    cleanup_free char *e = NULL;
    int32_t hr = hl_create(h, cid, spec, &e);
    if (hr != 0)
        fail_msg("create %s: 0x%08x %s", cid, (unsigned)hr, e);
    assert_int_equal(hl_simple(h, GCS_MSG_START, cid), 0);
    struct host_process p;
    assert_int_equal(hl_execute(h, cid, NULL, false, ret_out != NULL, false, &p, NULL), 0);
    if (ret_out)
        *ret_out = p.fd[1];
    return p.pid;
}
