/* Request routing (§2.8, §3, §6): a table maps each message type to its handler. Quick
 * handlers run inline on the loop thread; those that may block are handed to a worker. Every
 * request gets exactly one response, with the request's ID and response type. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/bridge.h"
#include "gcs/container.h"
#include "gcs/limits.h"
#include "gcs/modify.h"

#define DUMP_STACKS_MAX (60u * 1024) /* §4.10: keep the text well under 64 KiB */

typedef void (*handler_fn)(struct gcs *g, struct gcs_req *r);
static void submit(struct gcs *g, struct gcs_req *r, gcs_job_fn fn);

struct handler_def {
    uint32_t type;
    handler_fn fn;
};

static bool is_uvm_id(const char *id)
{
    return strcmp(id, GCS_UVM_CONTAINER_ID) == 0;
}

/* The UVM id names no container: requests that act on a container's process answer what an
 * unknown container id gets (0xC037010E). */
static int uvm_id_not_a_container(const char *id, const char *what, struct lcow_error **err)
{
    return lcow_error_make(err, GCS_ERR_SYSTEM_NOT_FOUND,
                           "%s: container `%s` not found (the UVM's processes are not reachable)",
                           what, id);
}

/* Answers a failed strict decode: InvalidJSON for malformed input, E_FAIL for the rest. */
static void reply_decode_error(struct gcs *g, struct gcs_req *r, int rc, struct lcow_error *e)
{
    gcs_reply_error(g, r, gcs_hresult_from_decode_error(-rc), e);
}

static void reply_payload(struct gcs *g, struct gcs_req *r, int rc, char *payload,
                          struct lcow_error *e)
{
    if (rc < 0)
        gcs_reply_error(g, r, GCS_E_FAIL, e);
    else
        gcs_reply(g, r, payload);
}

/* ---- NegotiateProtocol (§3) -------------------------------------------------------------- */

static void handle_negotiate(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_negotiate_request q = {0};
    int rc = gcs_decode_negotiate_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
        goto out;
    }
    if (q.maximum_version < GCS_PROTOCOL_VERSION || q.minimum_version > GCS_PROTOCOL_VERSION) {
        lcow_error_make(&e, GCS_ERR_UNSUPPORTED_VERSION,
                        "unsupported protocol version range [%u, %u]", q.minimum_version,
                        q.maximum_version);
        gcs_reply_error(g, r, 0, e);
        goto out;
    }
    struct gcs_negotiate_response resp = {0};
    char *payload = NULL;
    rc = gcs_negotiate_response_default(gcs_req_activity_id(r), &resp, &e);
    if (rc >= 0)
        rc = gcs_encode_negotiate_response(&resp, &payload, &e);
    gcs_negotiate_response_done(&resp);
    if (rc >= 0)
        g->negotiated = true; /* recorded when the handler completes (§2.8) */
    reply_payload(g, r, rc, payload, e);
out:
    gcs_negotiate_request_done(&q);
    gcs_req_free(r);
}

/* ---- base-only requests ------------------------------------------------------------------ */

/* Strict decode of the base into r->base; answers and returns false when it fails. */
static bool decode_base(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_request_base b = {0};
    int rc = gcs_decode_request_base(r->payload, r->len, &b, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
        return false;
    }
    gcs_req_take_base(r, &b);
    return true;
}

static void handle_dump_stacks(struct gcs *g, struct gcs_req *r)
{
    if (decode_base(g, r)) {
        cleanup_error struct lcow_error *e = NULL;
        struct gcs_dump_stacks_response resp = {
            .base.activity_id = (char *)gcs_req_activity_id(r),
            .guest_stacks = gcs_dump_stacks(g),
        };
        char *payload = NULL;
        int rc = resp.guest_stacks ? gcs_encode_dump_stacks_response(&resp, &payload, &e)
                                   : lcow_error_make(&e, ENOMEM, "DumpStacks");
        free(resp.guest_stacks);
        reply_payload(g, r, rc, payload, e);
    }
    gcs_req_free(r);
}

/* ShutdownGraceful/Forced (§4.3). For the UVM: answer, stop serving, exit 0. gcs never powers
 * anything off; init does when gcs exits. */
static void handle_shutdown(struct gcs *g, struct gcs_req *r)
{
    if (decode_base(g, r)) {
        if (is_uvm_id(r->base.container_id)) {
            lcow_info("shutdown of the UVM requested (%s)",
                      r->type == GCS_MSG_SHUTDOWN_FORCED ? "forced" : "graceful");
            gcs_reply_ok(g, r);
            g->stopping = true;
        } else {
            cleanup_error struct lcow_error *e = NULL;
            if (gcs_container_shutdown(g, r->base.container_id, r->type == GCS_MSG_SHUTDOWN_FORCED,
                                       &e) < 0)
                gcs_reply_error(g, r, e->code == EBUSY ? GCS_E_FAIL : 0, e);
            else
                gcs_reply_ok(g, r);
        }
    }
    gcs_req_free(r);
}

/* Start is a no-op that always succeeds (§4.2): the container starts on its first Execute. */
static void handle_start(struct gcs *g, struct gcs_req *r)
{
    if (decode_base(g, r))
        gcs_reply_ok(g, r);
    gcs_req_free(r);
}

/* Requests about containers (gcs/container*.c): delete unmounts and removes files, and
 * statistics read cgroup files, so both run on a worker. */
static void handle_delete_state(struct gcs *g, struct gcs_req *r)
{
    submit(g, r, gcs_container_delete_job);
}

static void handle_get_properties(struct gcs *g, struct gcs_req *r)
{
    submit(g, r, gcs_container_properties_job);
}

/* Worker: a Create carries a whole OCI spec, so even its decode stays off the loop thread. */
static void job_create(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_create_request q = {0};
    int rc = gcs_decode_create_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
    } else if ((rc = gcs_limits_check_create(&q, &e)) < 0) {
        gcs_reply_error(g, r, rc == -EINVAL ? GCS_E_INVALIDARG : GCS_E_FAIL, e);
    } else {
        gcs_container_create(g, r, &q);
    }
    gcs_create_request_done(&q);
    gcs_req_free(r);
}

/* ---- processes ----------------------------------------------------------------------------- */

static void handle_wait(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_wait_for_process_request q = {0};
    int rc = gcs_decode_wait_for_process_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
    } else if (is_uvm_id(q.base.container_id)) {
        gcs_proc_wait(g, r, &q); /* takes r */
        r = NULL;
    } else {
        gcs_container_wait(g, r, &q); /* takes r */
        r = NULL;
    }
    gcs_wait_for_process_request_done(&q);
    gcs_req_free(r);
}

/* SignalProcess (§4.6): container lookup first. The UVM id is not a container, so its external
 * processes answer 0xC037010E here, as the Go GCS does: a host stops them with the UVM. */
static void handle_signal(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_signal_process_request q = {0};
    int rc = gcs_decode_signal_process_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
    } else {
        int sig = q.signal == 0 ? SIGKILL : q.signal; /* absent Options or 0: SIGKILL */
        if (is_uvm_id(q.base.container_id))
            rc = uvm_id_not_a_container(q.base.container_id, "SignalProcess", &e);
        else if (sig < 1 || sig > SIGRTMAX)
            rc = lcow_error_make(&e, EINVAL, "invalid signal %d", (int)q.signal);
        else
            rc = gcs_container_signal(g, q.base.container_id, q.process_id, sig, &e);
        if (rc < 0 && e && e->code == EBUSY)
            e->code = EIO; /* "still being created": E_FAIL */
        if (rc < 0)
            gcs_reply_error(g, r, 0, e);
        else
            gcs_reply_ok(g, r);
    }
    gcs_signal_process_request_done(&q);
    gcs_req_free(r);
}

/* ResizeConsole (§4.7): external processes are not reachable either (0xC037010E). */
static void handle_resize(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_resize_console_request q = {0};
    int rc = gcs_decode_resize_console_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
    } else if (is_uvm_id(q.base.container_id)) {
        uvm_id_not_a_container(q.base.container_id, "ResizeConsole", &e);
        gcs_reply_error(g, r, 0, e);
    } else if (gcs_container_resize(g, q.base.container_id, q.process_id, q.height, q.width, &e) <
               0) {
        gcs_reply_error(g, r, e->code == EBUSY ? GCS_E_FAIL : 0, e);
    } else {
        gcs_reply_ok(g, r);
    }
    gcs_resize_console_request_done(&q);
    gcs_req_free(r);
}

/* ---- ModifySettings (§4.9) ----------------------------------------------------------------- */

static void job_modify(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_modify_settings_request q = {0};
    int rc = gcs_decode_modify_settings_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        reply_decode_error(g, r, rc, e);
    } else if (!is_uvm_id(q.base.container_id)) {
        /* The container is looked up first (unknown: 0xC037010E), then only ContainerConstraints
         * applies to it (E_FAIL otherwise), as the Go GCS does (§4.9). */
        if (gcs_container_update(g, q.base.container_id, &q.request, &e) < 0)
            gcs_reply_error(g, r, e->code == EBUSY ? GCS_E_FAIL : 0, e);
        else
            gcs_reply_ok(g, r);
    } else if (gcs_modify_dispatch(g, &q.request, &e) < 0) {
        gcs_reply_error(g, r, 0, e);
    } else {
        gcs_reply_ok(g, r);
    }
    gcs_modify_settings_request_done(&q);
    gcs_req_free(r);
}

/* ---- table and routing --------------------------------------------------------------------- */

static void submit(struct gcs *g, struct gcs_req *r, gcs_job_fn fn)
{
    int rc = gcs_workers_submit(g, fn, r);
    if (rc < 0) {
        cleanup_error struct lcow_error *e = NULL;
        if (rc == -EBUSY)
            lcow_error_make(&e, EBUSY, "more than %u requests wait for a worker",
                            GCS_LIMIT_QUEUED_REQUESTS);
        else
            lcow_error_make(&e, EAGAIN, "no worker thread available");
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        gcs_req_free(r);
    }
}

static void handle_create(struct gcs *g, struct gcs_req *r)
{
    submit(g, r, job_create);
}

static void handle_execute(struct gcs *g, struct gcs_req *r)
{
    submit(g, r, gcs_proc_execute);
}

static void handle_modify(struct gcs *g, struct gcs_req *r)
{
    submit(g, r, job_modify);
}

static const struct handler_def handlers[] = {
    {GCS_MSG_CREATE, handle_create},
    {GCS_MSG_START, handle_start},
    {GCS_MSG_SHUTDOWN_GRACEFUL, handle_shutdown},
    {GCS_MSG_SHUTDOWN_FORCED, handle_shutdown},
    {GCS_MSG_EXECUTE_PROCESS, handle_execute},
    {GCS_MSG_WAIT_FOR_PROCESS, handle_wait},
    {GCS_MSG_SIGNAL_PROCESS, handle_signal},
    {GCS_MSG_RESIZE_CONSOLE, handle_resize},
    {GCS_MSG_GET_PROPERTIES, handle_get_properties},
    {GCS_MSG_MODIFY_SETTINGS, handle_modify},
    {GCS_MSG_NEGOTIATE_PROTOCOL, handle_negotiate},
    {GCS_MSG_DUMP_STACKS, handle_dump_stacks},
    {GCS_MSG_DELETE_CONTAINER_STATE, handle_delete_state},
};

/* §6: unknown types, anything before negotiation, and a second Negotiate. */
static void reply_not_impl(struct gcs *g, struct gcs_req *r)
{
    char name[64];
    cleanup_error struct lcow_error *e = NULL;
    lcow_error_make(&e, GCS_ERR_NOTIMPL,
                    "HRESULT 0x80004001: bridge: function not supported, header type: %s",
                    gcs_msg_type_format(r->type, name, sizeof(name)));
    gcs_reply_error(g, r, GCS_E_NOTIMPL, e);
    gcs_req_free(r);
}

void gcs_dispatch(struct gcs *g, struct gcs_req *r)
{
    lcow_trace("request %llu type 0x%08x", (unsigned long long)r->id, r->type);
    const struct handler_def *h = NULL;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(handlers); i++)
        if (handlers[i].type == r->type)
            h = &handlers[i];
    bool negotiate = r->type == GCS_MSG_NEGOTIATE_PROTOCOL;
    if (!h || negotiate == g->negotiated) {
        reply_not_impl(g, r);
        return;
    }
    h->fn(g, r);
}

/* ---- DumpStacks text ---------------------------------------------------------------------- */

static void append(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
{
    if (*pos >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos = *pos + (size_t)n < cap ? *pos + (size_t)n : cap;
}

/* Reads /proc/self/task/TID/NAME into out (first line, possibly truncated). */
static void read_task_file(const char *tid, const char *name, char *out, size_t cap)
{
    char path[320];
    cleanup_free char *c = NULL;
    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/self/task/%.255s/%s", tid, name);
    if (lcow_read_file(path, 4096, &c, NULL, NULL) == 0) {
        c[strcspn(c, "\n")] = '\0';
        snprintf(out, cap, "%.*s", (int)(cap - 1), c);
    }
}

/* The thread's kernel stack (root only), indented: shows where a stuck handler sleeps. */
static void dump_kernel_stack(const char *tid, char *buf, size_t cap, size_t *pos)
{
    char path[320];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof(path), "/proc/self/task/%.255s/stack", tid);
    if (lcow_read_file(path, 16384, &text, NULL, NULL) < 0)
        return;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        append(buf, cap, pos, "    %s\n", l);
}

/* One line per thread: name, state and the kernel function it sleeps in, then its stack. */
static void dump_threads(char *buf, size_t cap, size_t *pos)
{
    cleanup_dir DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char comm[64], wchan[64], stat[512];
        read_task_file(de->d_name, "comm", comm, sizeof(comm));
        read_task_file(de->d_name, "wchan", wchan, sizeof(wchan));
        read_task_file(de->d_name, "stat", stat, sizeof(stat));
        const char *rp = strrchr(stat, ')');
        append(buf, cap, pos, "thread %s (%s) state %c wchan %s\n", de->d_name, comm,
               rp && rp[1] && rp[2] ? rp[2] : '?', wchan[0] ? wchan : "-");
        dump_kernel_stack(de->d_name, buf, cap, pos);
    }
}

char *gcs_dump_stacks(struct gcs *g)
{
    char *buf = malloc(DUMP_STACKS_MAX);
    if (!buf)
        return NULL;
    size_t pos = 0;
    unsigned threads = 0, busy = 0, queued = 0;
    gcs_workers_stats(g, &threads, &busy, &queued);
    append(buf, DUMP_STACKS_MAX, &pos,
           "gcs pid %d: bridge %s, connection %llu (%s), %llu requests served\n"
           "workers: %u threads, %u busy, %u queued\n",
           (int)getpid(), g->opt.bridge, (unsigned long long)g->n_connections,
           g->negotiated ? "negotiated" : "not negotiated", (unsigned long long)g->n_requests,
           threads, busy, queued);
    dump_threads(buf, DUMP_STACKS_MAX, &pos);
    if (pos < DUMP_STACKS_MAX)
        pos += gcs_proc_describe(g, buf + pos, DUMP_STACKS_MAX - pos);
    if (pos < DUMP_STACKS_MAX)
        pos += gcs_container_describe(buf + pos, DUMP_STACKS_MAX - pos);
    buf[pos < DUMP_STACKS_MAX ? pos : DUMP_STACKS_MAX - 1] = '\0';
    return buf;
}
