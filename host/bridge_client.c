/* See bridge_client.h. Single-threaded: a call that waits for one response reads frames and
 * parks the others (responses to other ids, notifications) in arrival order. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "vsock/transport.h"

struct parked {
    struct parked *next;
    struct host_message m;
};

struct host_bridge {
    struct vsock_addr addr;
    int listen_fd; /* bridge listener, -1 in connect mode */
    int fd;
    uint64_t next_id;
    uint32_t next_port;
    uint8_t *ibuf;
    size_t ilen, icap;
    struct parked *parked;
    /* Ids sent and not answered yet, oldest first; answered slots hold ID_DONE until the
     * front passes them (responses mostly come back in order). */
    uint64_t *ids;
    size_t ids_head, ids_tail, ids_cap;
};

#define ID_DONE UINT64_MAX

void host_message_done(struct host_message *m)
{
    free(m->payload);
    m->payload = NULL;
    m->len = 0;
}

static uint64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? 0 : lcow_now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/* Remaining milliseconds until deadline (0: forever -> -1). */
static int remaining_ms(uint64_t deadline)
{
    if (!deadline)
        return -1;
    uint64_t now = lcow_now_ns();
    return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

static int wait_readable(int fd, uint64_t deadline, struct lcow_error **err)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lcow_error_errno(err, "poll");
        if (r == 0)
            return lcow_error_make(err, ETIMEDOUT, "timed out waiting for the GCS");
        return 0;
    }
}

static int parse_addr(const char *addr, struct vsock_addr *ret, struct lcow_error **err)
{
    const char *s = strncmp(addr, "listen:", 7) == 0 ? addr + 7 : addr;
    int r = vsock_addr_parse(s, ret, err);
    if (r < 0)
        return r;
    ret->listen = false;
    return 0;
}

static uint32_t bridge_port(const struct vsock_addr *a)
{
    return a->has_port ? a->port : VSOCK_PORT_BRIDGE;
}

/* A bridge for `addr` (listen: prefix allowed) with no socket yet. */
static int bridge_new(const char *addr, struct host_bridge **ret, struct lcow_error **err)
{
    struct vsock_addr a;
    int r = parse_addr(addr, &a, err);
    if (r < 0)
        return r;
    struct host_bridge *b = calloc(1, sizeof(*b));
    if (!b)
        return lcow_error_make(err, ENOMEM, "allocate the bridge");
    b->addr = a;
    b->listen_fd = -1;
    b->fd = -1;
    b->next_port = HOST_STDIO_PORT_BASE;
    *ret = b;
    return 0;
}

int host_bridge_listen(const char *addr, struct host_bridge **ret, struct lcow_error **err)
{
    struct host_bridge *b = NULL;
    int r = bridge_new(addr, &b, err);
    if (r < 0)
        return r;
    /* The bridge port of a vsock address is the default port (0x40000000), not the written one
     * when the written one names the CID's default: `vsock:2` listens on 0x40000000. */
    b->listen_fd = vsock_listen(&b->addr, bridge_port(&b->addr), 4, err);
    if (b->listen_fd < 0) {
        free(b);
        return lcow_error_wrap(err, "listen for the GCS at `%s`", addr);
    }
    *ret = b;
    return 0;
}

int host_bridge_connect(const char *addr, int timeout_ms, struct host_bridge **ret,
                        struct lcow_error **err)
{
    struct host_bridge *b = NULL;
    int r = bridge_new(addr, &b, err);
    if (r < 0)
        return r;
    b->fd = vsock_dial_retry(&b->addr, bridge_port(&b->addr), 50, timeout_ms, err);
    if (b->fd < 0) {
        free(b);
        return lcow_error_wrap(err, "connect to the GCS at `%s`", addr);
    }
    *ret = b;
    return 0;
}

int host_bridge_adopt(const char *addr, int fd, struct host_bridge **ret, struct lcow_error **err)
{
    struct host_bridge *b = NULL;
    int r = bridge_new(addr, &b, err);
    if (r < 0) {
        close(fd);
        return r;
    }
    b->fd = fd;
    *ret = b;
    return 0;
}

int host_bridge_track(struct host_bridge *b, uint64_t id, struct lcow_error **err)
{
    if (b->ids_head > 0 && b->ids_head >= b->ids_cap / 2) {
        memmove(b->ids, b->ids + b->ids_head, (b->ids_tail - b->ids_head) * sizeof(*b->ids));
        b->ids_tail -= b->ids_head;
        b->ids_head = 0;
    }
    if (b->ids_tail == b->ids_cap) {
        size_t cap = b->ids_cap ? b->ids_cap * 2 : 64;
        uint64_t *n = realloc(b->ids, cap * sizeof(*n));
        if (!n)
            return lcow_error_make(err, ENOMEM, "track request %llu", (unsigned long long)id);
        b->ids = n;
        b->ids_cap = cap;
    }
    b->ids[b->ids_tail++] = id;
    return 0;
}

/* Marks id answered; false when it was not outstanding. */
static bool untrack(struct host_bridge *b, uint64_t id)
{
    for (size_t i = b->ids_head; i < b->ids_tail; i++) {
        if (b->ids[i] == id) {
            b->ids[i] = ID_DONE;
            while (b->ids_head < b->ids_tail && b->ids[b->ids_head] == ID_DONE)
                b->ids_head++;
            return true;
        }
    }
    return false;
}

static void parked_free_all(struct host_bridge *b)
{
    while (b->parked) {
        struct parked *p = b->parked;
        b->parked = p->next;
        host_message_done(&p->m);
        free(p);
    }
}

void host_bridge_drop(struct host_bridge *b)
{
    if (b->fd >= 0)
        b->fd = lcow_close_nointr(b->fd);
    b->ilen = 0;
    b->ids_head = b->ids_tail = 0;
    parked_free_all(b);
}

int host_bridge_accept(struct host_bridge *b, int timeout_ms, struct lcow_error **err)
{
    if (b->listen_fd < 0)
        return lcow_error_make(err, EINVAL, "the bridge was dialled, not listened for");
    int r = wait_readable(b->listen_fd, deadline_of(timeout_ms), err);
    if (r < 0)
        return r;
    int fd = vsock_accept(b->listen_fd, err);
    if (fd < 0)
        return fd;
    host_bridge_drop(b);
    b->fd = fd;
    b->next_id = 0; /* hcsshim numbers requests from 0 on each connection */
    return 0;
}

/* Removes the socket file of a unix: port (vsock ports have none). */
static void unlink_port(const struct host_bridge *b, uint32_t port)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (b->addr.kind == VSOCK_ADDR_UNIX && vsock_unix_path(&b->addr, port, path, sizeof(path)) == 0)
        (void)unlink(path);
}

void host_bridge_free(struct host_bridge *b)
{
    if (!b)
        return;
    host_bridge_drop(b);
    if (b->listen_fd >= 0) {
        close(b->listen_fd);
        unlink_port(b, bridge_port(&b->addr));
    }
    free(b->ibuf);
    free(b->ids);
    free(b);
}

int host_bridge_fd(const struct host_bridge *b)
{
    return b->fd;
}

/* ---- frames ------------------------------------------------------------------------------ */

int host_bridge_send_raw(struct host_bridge *b, const void *buf, size_t len,
                         struct lcow_error **err)
{
    if (b->fd < 0)
        return lcow_error_make(err, ENOTCONN, "no GCS connection");
    int r = lcow_write_all(b->fd, buf, len);
    if (r < 0)
        return lcow_error_make(err, -r, "write to the GCS: %s", strerror(-r));
    return 0;
}

int host_bridge_send(struct host_bridge *b, uint32_t type, const char *payload, uint64_t *ret_id,
                     struct lcow_error **err)
{
    cleanup_free uint8_t *frame = NULL;
    size_t len = 0;
    uint64_t id = b->next_id;
    int r = gcs_frame_build(type, id, payload, strlen(payload), GCS_MAX_READ_MESSAGE, &frame, &len,
                            err);
    if (r < 0)
        return r;
    r = host_bridge_track(b, id, err);
    if (r >= 0)
        r = host_bridge_send_raw(b, frame, len, err);
    if (r < 0)
        return r;
    b->next_id++;
    if (ret_id)
        *ret_id = id;
    return 0;
}

/* Reads one whole frame, validated as the real host validates it. */
static int read_frame(struct host_bridge *b, uint64_t deadline, struct host_message *ret,
                      struct lcow_error **err)
{
    for (;;) {
        if (b->ilen >= GCS_HEADER_SIZE) {
            struct gcs_header h;
            gcs_header_decode(b->ibuf, &h);
            int r = gcs_header_validate(&h, GCS_MAX_WRITE_MESSAGE, err);
            if (r < 0)
                return lcow_error_make(err, EBADMSG, "GCS sent a bad frame");
            uint32_t kind = gcs_msg_kind(h.type);
            if (kind != GCS_MSG_KIND_RESPONSE && h.type != GCS_MSG_CONTAINER_NOTIFICATION)
                return lcow_error_make(err, EBADMSG, "GCS sent message type 0x%08x", h.type);
            if (h.type == GCS_MSG_CONTAINER_NOTIFICATION && h.id != 0)
                return lcow_error_make(err, EBADMSG, "notification with id %llu",
                                       (unsigned long long)h.id);
            if (b->ilen >= h.size) {
                if (kind == GCS_MSG_KIND_RESPONSE && !untrack(b, h.id))
                    return lcow_error_make(err, EBADMSG, "response to id %llu, not outstanding",
                                           (unsigned long long)h.id);
                size_t plen = gcs_header_payload_len(&h);
                char *p = malloc(plen + 1);
                if (!p)
                    return lcow_error_make(err, ENOMEM, "read a message");
                memcpy(p, b->ibuf + GCS_HEADER_SIZE, plen);
                p[plen] = '\0';
                memmove(b->ibuf, b->ibuf + h.size, b->ilen - h.size);
                b->ilen -= h.size;
                *ret = (struct host_message){.type = h.type, .id = h.id, .payload = p, .len = plen};
                return 0;
            }
        }
        if (b->fd < 0)
            return lcow_error_make(err, ENOTCONN, "no GCS connection");
        if (b->icap - b->ilen < 4096) {
            size_t cap = b->icap ? b->icap * 2 : 65536 + GCS_HEADER_SIZE;
            uint8_t *n = realloc(b->ibuf, cap);
            if (!n)
                return lcow_error_make(err, ENOMEM, "read a message");
            b->ibuf = n;
            b->icap = cap;
        }
        int r = wait_readable(b->fd, deadline, err);
        if (r < 0)
            return r;
        ssize_t n = read(b->fd, b->ibuf + b->ilen, b->icap - b->ilen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lcow_error_errno(err, "read from the GCS");
        if (n == 0)
            return lcow_error_make(err, ECONNRESET, "the GCS closed the bridge");
        b->ilen += (size_t)n;
    }
}

static void park(struct host_bridge *b, struct parked *p)
{
    struct parked **pp = &b->parked;
    while (*pp)
        pp = &(*pp)->next;
    *pp = p;
}

/* Takes the first parked message matching (notification, id). */
static bool unpark(struct host_bridge *b, bool notification, uint64_t id, struct host_message *ret)
{
    for (struct parked **pp = &b->parked; *pp; pp = &(*pp)->next) {
        struct parked *p = *pp;
        bool is_notify = p->m.type == GCS_MSG_CONTAINER_NOTIFICATION;
        if (is_notify == notification && (notification || p->m.id == id)) {
            *pp = p->next;
            *ret = p->m;
            free(p);
            return true;
        }
    }
    return false;
}

static int recv_matching(struct host_bridge *b, bool notification, uint64_t id, int timeout_ms,
                         struct host_message *ret, struct lcow_error **err)
{
    if (unpark(b, notification, id, ret))
        return 0;
    uint64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        struct host_message m = {0};
        int r = read_frame(b, deadline, &m, err);
        if (r < 0)
            return r;
        bool is_notify = m.type == GCS_MSG_CONTAINER_NOTIFICATION;
        if (is_notify == notification && (notification || m.id == id)) {
            *ret = m;
            return 0;
        }
        struct parked *p = calloc(1, sizeof(*p));
        if (!p) {
            host_message_done(&m);
            return lcow_error_make(err, ENOMEM, "park a message");
        }
        p->m = m;
        park(b, p);
    }
}

int host_bridge_recv(struct host_bridge *b, uint64_t id, int timeout_ms, struct host_message *ret,
                     struct lcow_error **err)
{
    return recv_matching(b, false, id, timeout_ms, ret, err);
}

int host_bridge_next_notification(struct host_bridge *b, int timeout_ms, struct host_message *ret,
                                  struct lcow_error **err)
{
    return recv_matching(b, true, 0, timeout_ms, ret, err);
}

int host_bridge_call(struct host_bridge *b, uint32_t type, const char *payload, int timeout_ms,
                     struct host_message *ret, struct lcow_error **err)
{
    uint64_t id;
    int r = host_bridge_send(b, type, payload, &id, err);
    if (r < 0)
        return r;
    r = host_bridge_recv(b, id, timeout_ms, ret, err);
    if (r >= 0 && ret->type != gcs_response_type(type)) {
        host_message_done(ret);
        return lcow_error_make(err, EBADMSG, "response type 0x%08x to request type 0x%08x",
                               ret->type, type);
    }
    return r;
}

int host_message_result(const struct host_message *m, int32_t *ret_result, char **ret_error,
                        struct lcow_error **err)
{
    struct gcs_response_base base = {0};
    int r = gcs_decode_response_base(m->payload, m->len, &base, err);
    if (r < 0)
        return lcow_error_make(err, EBADMSG, "undecodable response: %s", m->payload);
    *ret_result = base.result;
    if (ret_error)
        *ret_error = steal_pointer(&base.error_message);
    gcs_response_base_done(&base);
    return 0;
}

/* Turns a failure response into -EREMOTEIO carrying the GCS's message. */
static int check_result(const struct host_message *m, int32_t *ret_result, struct lcow_error **err)
{
    int32_t result = 0;
    cleanup_free char *msg = NULL;
    int r = host_message_result(m, &result, &msg, err);
    if (r < 0)
        return r;
    if (ret_result)
        *ret_result = result;
    if (result != 0)
        return lcow_error_make(err, EREMOTEIO, "GCS error 0x%08x: %s", (uint32_t)result,
                               msg ? msg : "");
    return 0;
}

/* ---- requests ----------------------------------------------------------------------------- */

int host_bridge_negotiate(struct host_bridge *b, int timeout_ms, struct lcow_error **err)
{
    struct gcs_negotiate_request q = {
        .base = {.container_id = (char *)"", .activity_id = (char *)GCS_ZERO_GUID},
        .minimum_version = GCS_PROTOCOL_VERSION,
        .maximum_version = GCS_PROTOCOL_VERSION,
    };
    cleanup_free char *payload = NULL;
    int r = gcs_encode_negotiate_request(&q, &payload, err);
    if (r < 0)
        return r;
    struct host_message m = {0};
    r = host_bridge_call(b, GCS_MSG_NEGOTIATE_PROTOCOL, payload, timeout_ms, &m, err);
    if (r < 0)
        return r;
    struct gcs_negotiate_response resp = {0};
    r = check_result(&m, NULL, err);
    if (r >= 0)
        r = gcs_decode_negotiate_response(m.payload, m.len, &resp, err);
    if (r >= 0 && resp.version != GCS_PROTOCOL_VERSION)
        r = lcow_error_make(err, EPROTO, "GCS negotiated version %u", resp.version);
    if (r >= 0 && (!resp.capabilities.runtime_os_type ||
                   strcasecmp(resp.capabilities.runtime_os_type, "linux") != 0))
        r = lcow_error_make(err, EPROTO, "GCS runtime OS is not linux");
    if (r >= 0 && !resp.capabilities.has_guest_defined)
        r = lcow_error_make(err, EPROTO, "GCS sent no GuestDefinedCapabilities object");
    gcs_negotiate_response_done(&resp);
    host_message_done(&m);
    return r;
}

int host_bridge_stdio_listen(struct host_bridge *b, uint32_t *ret_port, struct lcow_error **err)
{
    uint32_t port = b->next_port;
    int fd = vsock_listen(&b->addr, port, 1, err);
    if (fd < 0)
        return fd;
    b->next_port++; /* never reused within a connection (§1.4) */
    *ret_port = port;
    return fd;
}

int host_stdio_accept(int listen_fd, int timeout_ms, struct lcow_error **err)
{
    int r = wait_readable(listen_fd, deadline_of(timeout_ms), err);
    int fd = r < 0 ? r : vsock_accept(listen_fd, err);
    close(listen_fd);
    return fd;
}

void host_process_close(struct host_process *p)
{
    for (int i = 0; i < 3; i++)
        if (p->fd[i] >= 0)
            p->fd[i] = lcow_close_nointr(p->fd[i]);
}

static int exec_request(const char *cid, const struct host_exec *x, const uint32_t ports[3],
                        char **ret, struct lcow_error **err)
{
    struct gcs_execute_process_request q = {
        .base = {.container_id = (char *)(cid ? cid : GCS_UVM_CONTAINER_ID),
                 .activity_id = (char *)GCS_ZERO_GUID},
        .params =
            {
                .command_line = (char *)(x->command_line ? x->command_line : ""),
                .command_args = (char **)x->argv,
                .working_directory = (char *)(x->cwd ? x->cwd : ""),
                .environment = (char **)x->env,
                .emulate_console = x->tty,
                .create_std_in_pipe = x->std_in,
                .create_std_out_pipe = x->std_out,
                .create_std_err_pipe = x->std_err,
                .has_console_size = x->tty && x->rows && x->cols,
                .console_height = x->rows,
                .console_width = x->cols,
            },
        .relay = {.std_in = ports[0], .std_out = ports[1], .std_err = ports[2]},
    };
    return gcs_encode_execute_process_request(&q, ret, err);
}

int host_bridge_exec(struct host_bridge *b, const char *container_id, const struct host_exec *x,
                     int timeout_ms, struct host_process *ret, int32_t *ret_result,
                     struct lcow_error **err)
{
    const bool want[3] = {x->std_in, x->std_out, x->std_err};
    uint32_t ports[3] = {0, 0, 0};
    int lfd[3] = {-1, -1, -1};
    struct host_process p = {.fd = {-1, -1, -1}};
    cleanup_free char *payload = NULL;
    struct host_message m = {0};
    int r = 0;
    /* The listeners exist before the request goes out: the GCS dials before replying. */
    for (int i = 0; i < 3 && r >= 0; i++)
        if (want[i])
            r = lfd[i] = host_bridge_stdio_listen(b, &ports[i], err);
    if (r >= 0)
        r = exec_request(container_id, x, ports, &payload, err);
    if (r >= 0)
        r = host_bridge_call(b, GCS_MSG_EXECUTE_PROCESS, payload, timeout_ms, &m, err);
    if (r >= 0)
        r = check_result(&m, ret_result, err);
    if (r >= 0) {
        struct gcs_execute_process_response resp = {0};
        r = gcs_decode_execute_process_response(m.payload, m.len, &resp, err);
        p.pid = resp.process_id;
        gcs_execute_process_response_done(&resp);
    }
    for (int i = 0; i < 3; i++) {
        if (lfd[i] < 0)
            continue;
        if (r >= 0) {
            p.fd[i] = host_stdio_accept(lfd[i], timeout_ms, err);
            if (p.fd[i] < 0)
                r = p.fd[i];
        } else {
            close(lfd[i]);
        }
        unlink_port(b, ports[i]);
    }
    host_message_done(&m);
    if (r < 0) {
        host_process_close(&p);
        return r;
    }
    *ret = p;
    return 0;
}

int host_bridge_wait_process(struct host_bridge *b, const char *container_id, uint32_t pid,
                             uint32_t timeout_in_ms, int timeout_ms, uint32_t *ret_exit_code,
                             int32_t *ret_result, struct lcow_error **err)
{
    struct gcs_wait_for_process_request q = {
        .base = {.container_id = (char *)(container_id ? container_id : GCS_UVM_CONTAINER_ID),
                 .activity_id = (char *)GCS_ZERO_GUID},
        .process_id = pid,
        .timeout_in_ms = timeout_in_ms,
    };
    cleanup_free char *payload = NULL;
    struct host_message m = {0};
    int r = gcs_encode_wait_for_process_request(&q, &payload, err);
    if (r >= 0)
        r = host_bridge_call(b, GCS_MSG_WAIT_FOR_PROCESS, payload, timeout_ms, &m, err);
    if (r >= 0)
        r = check_result(&m, ret_result, err);
    if (r >= 0) {
        struct gcs_wait_for_process_response resp = {0};
        r = gcs_decode_wait_for_process_response(m.payload, m.len, &resp, err);
        if (r >= 0)
            *ret_exit_code = resp.exit_code;
        gcs_wait_for_process_response_done(&resp);
    }
    host_message_done(&m);
    return r;
}

int host_bridge_simple(struct host_bridge *b, uint32_t type, const char *container_id,
                       int timeout_ms, struct host_message *ret, struct lcow_error **err)
{
    struct gcs_request_base q = {
        .container_id = (char *)(container_id ? container_id : GCS_UVM_CONTAINER_ID),
        .activity_id = (char *)GCS_ZERO_GUID,
    };
    cleanup_free char *payload = NULL;
    int r = gcs_encode_request_base(&q, &payload, err);
    if (r < 0)
        return r;
    return host_bridge_call(b, type, payload, timeout_ms, ret, err);
}

/* Sends an encoded request and turns the response's Result into the return value. */
static int call_checked(struct host_bridge *b, uint32_t type, int r, char *payload, int timeout_ms,
                        int32_t *ret_result, struct lcow_error **err)
{
    cleanup_free char *p = payload;
    struct host_message m = {0};
    if (r >= 0)
        r = host_bridge_call(b, type, p, timeout_ms, &m, err);
    if (r >= 0)
        r = check_result(&m, ret_result, err);
    host_message_done(&m);
    return r;
}

static struct gcs_request_base base_of(const char *container_id)
{
    return (struct gcs_request_base){
        .container_id = (char *)(container_id ? container_id : GCS_UVM_CONTAINER_ID),
        .activity_id = (char *)GCS_ZERO_GUID,
    };
}

int host_bridge_signal(struct host_bridge *b, const char *container_id, uint32_t pid, int sig,
                       int timeout_ms, int32_t *ret_result, struct lcow_error **err)
{
    struct gcs_signal_process_request q = {
        .base = base_of(container_id),
        .process_id = pid,
        .has_options = sig != 0,
        .signal = sig,
    };
    char *payload = NULL;
    int r = gcs_encode_signal_process_request(&q, &payload, err);
    return call_checked(b, GCS_MSG_SIGNAL_PROCESS, r, payload, timeout_ms, ret_result, err);
}

int host_bridge_resize(struct host_bridge *b, const char *container_id, uint32_t pid,
                       uint16_t height, uint16_t width, int timeout_ms, int32_t *ret_result,
                       struct lcow_error **err)
{
    struct gcs_resize_console_request q = {
        .base = base_of(container_id),
        .process_id = pid,
        .height = height,
        .width = width,
    };
    char *payload = NULL;
    int r = gcs_encode_resize_console_request(&q, &payload, err);
    return call_checked(b, GCS_MSG_RESIZE_CONSOLE, r, payload, timeout_ms, ret_result, err);
}

int host_bridge_modify(struct host_bridge *b, const char *container_id,
                       const struct gcs_modify_request *req, int timeout_ms, int32_t *ret_result,
                       struct lcow_error **err)
{
    struct gcs_modify_settings_request q = {.base = base_of(container_id), .request = *req};
    char *payload = NULL;
    int r = gcs_encode_modify_settings_request(&q, &payload, err);
    return call_checked(b, GCS_MSG_MODIFY_SETTINGS, r, payload, timeout_ms, ret_result, err);
}
