/* See qmp.h. One command at a time: QMP answers commands in order, so the next "return" or
 * "error" line is the answer; event lines in between are dropped (DEVICE_DELETED ids are
 * remembered for device_del). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "host/qmp.h"

#define QMP_LINE_MAX    (1u << 20)
#define QMP_DELETED_MAX 32

struct host_qmp {
    int fd;
    char *buf;
    size_t len, cap;
    char *deleted[QMP_DELETED_MAX]; /* DEVICE_DELETED ids seen, not yet claimed */
};

static int remaining(unsigned long long deadline)
{
    unsigned long long now = lcow_now_ns();
    return now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
}

static int dial(const char *path, int timeout_ms, struct lcow_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return lcow_error_make(err, ENAMETOOLONG, "QMP socket path `%s` is too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return lcow_error_errno(err, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        int e = errno;
        close(fd);
        /* QEMU creates the socket a little after it starts. */
        if ((e != ENOENT && e != ECONNREFUSED) || remaining(deadline) == 0) {
            errno = e;
            return lcow_error_errno(err, "connect to QMP at `%s`", path);
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Reads the next JSON line. */
static int read_line(struct host_qmp *q, unsigned long long deadline, struct json_object **ret,
                     struct lcow_error **err)
{
    for (;;) {
        char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - q->buf) + 1;
            int r = lcow_json_parse(q->buf, n, "QMP message", ret, err);
            memmove(q->buf, q->buf + n, q->len - n);
            q->len -= n;
            return r;
        }
        if (q->cap - q->len < 4096) {
            if (q->cap >= QMP_LINE_MAX)
                return lcow_error_make(err, EMSGSIZE, "QMP line over %u bytes", QMP_LINE_MAX);
            size_t cap = q->cap ? q->cap * 2 : 16384;
            char *b = realloc(q->buf, cap);
            if (!b)
                return lcow_error_make(err, ENOMEM, "QMP buffer");
            q->buf = b;
            q->cap = cap;
        }
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        int r = poll(&p, 1, remaining(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lcow_error_errno(err, "poll QMP");
        if (r == 0)
            return lcow_error_make(err, ETIMEDOUT, "QEMU did not answer on QMP in time");
        ssize_t n = read(q->fd, q->buf + q->len, q->cap - q->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lcow_error_errno(err, "read QMP");
        if (n == 0)
            return lcow_error_make(err, ECONNRESET, "QEMU closed QMP (it exited)");
        q->len += (size_t)n;
    }
}

static void note_event(struct host_qmp *q, struct json_object *msg)
{
    const char *ev = NULL;
    if (lcow_json_get_string(msg, "", "event", &ev, NULL) < 0 || !ev ||
        strcmp(ev, "DEVICE_DELETED") != 0)
        return;
    const char *dev = NULL;
    struct json_object *data = lcow_json_field(msg, "data");
    if (lcow_json_get_string(data, "data", "device", &dev, NULL) < 0 || !dev)
        return;
    for (size_t i = 0; i < QMP_DELETED_MAX; i++) {
        if (!q->deleted[i]) {
            q->deleted[i] = strdup(dev);
            return;
        }
    }
}

static bool claim_deleted(struct host_qmp *q, const char *id)
{
    for (size_t i = 0; i < QMP_DELETED_MAX; i++) {
        if (q->deleted[i] && strcmp(q->deleted[i], id) == 0) {
            free(q->deleted[i]);
            q->deleted[i] = NULL;
            return true;
        }
    }
    return false;
}

int host_qmp_call(struct host_qmp *q, const char *command, struct json_object *args, int timeout_ms,
                  struct json_object **ret, struct lcow_error **err)
{
    cleanup_json struct json_object *cmd = json_object_new_object();
    if (!cmd) {
        json_object_put(args);
        return lcow_error_make(err, ENOMEM, "QMP command");
    }
    json_object_object_add(cmd, "execute", json_object_new_string(command));
    if (args)
        json_object_object_add(cmd, "arguments", args);
    const char *text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
    if (lcow_write_all(q->fd, text, strlen(text)) < 0 || lcow_write_all(q->fd, "\n", 1) < 0)
        return lcow_error_errno(err, "send QMP `%s`", command);
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    for (;;) {
        cleanup_json struct json_object *msg = NULL;
        int r = read_line(q, deadline, &msg, err);
        if (r < 0)
            return lcow_error_wrap(err, "QMP `%s`", command);
        struct json_object *v = NULL;
        if (json_object_object_get_ex(msg, "return", &v)) {
            if (ret)
                *ret = json_object_get(v);
            return 0;
        }
        if (json_object_object_get_ex(msg, "error", &v)) {
            const char *desc = "unknown error";
            (void)lcow_json_get_string(v, "error", "desc", &desc, NULL);
            return lcow_error_make(err, EREMOTEIO, "QMP `%s`: %s", command, desc);
        }
        note_event(q, msg);
    }
}

int host_qmp_connect(const char *path, int timeout_ms, struct host_qmp **ret,
                     struct lcow_error **err)
{
    struct host_qmp *q = calloc(1, sizeof(*q));
    if (!q)
        return lcow_error_make(err, ENOMEM, "QMP client");
    q->fd = dial(path, timeout_ms, err);
    if (q->fd < 0) {
        int r = q->fd;
        free(q);
        return r;
    }
    /* The greeting comes first; then capabilities negotiation ends with qmp_capabilities. */
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    cleanup_json struct json_object *greeting = NULL;
    int r = read_line(q, deadline, &greeting, err);
    if (r >= 0 && !lcow_json_field(greeting, "QMP"))
        r = lcow_error_make(err, EPROTO, "QMP greeting expected");
    if (r >= 0)
        r = host_qmp_call(q, "qmp_capabilities", NULL, timeout_ms, NULL, err);
    if (r < 0) {
        host_qmp_free(q);
        return r;
    }
    *ret = q;
    return 0;
}

void host_qmp_free(struct host_qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    for (size_t i = 0; i < QMP_DELETED_MAX; i++)
        free(q->deleted[i]);
    free(q->buf);
    free(q);
}

int host_qmp_blockdev_add(struct host_qmp *q, const char *node, const char *file, bool read_only,
                          int timeout_ms, struct lcow_error **err)
{
    struct json_object *f = json_object_new_object();
    json_object_object_add(f, "driver", json_object_new_string("file"));
    json_object_object_add(f, "filename", json_object_new_string(file));
    json_object_object_add(f, "read-only", json_object_new_boolean(read_only));
    struct json_object *a = json_object_new_object();
    json_object_object_add(a, "node-name", json_object_new_string(node));
    json_object_object_add(a, "driver", json_object_new_string("raw"));
    json_object_object_add(a, "read-only", json_object_new_boolean(read_only));
    json_object_object_add(a, "file", f);
    return host_qmp_call(q, "blockdev-add", a, timeout_ms, NULL, err);
}

int host_qmp_blockdev_del(struct host_qmp *q, const char *node, int timeout_ms,
                          struct lcow_error **err)
{
    struct json_object *a = json_object_new_object();
    json_object_object_add(a, "node-name", json_object_new_string(node));
    return host_qmp_call(q, "blockdev-del", a, timeout_ms, NULL, err);
}

int host_qmp_scsi_add(struct host_qmp *q, const char *id, const char *node, const char *bus,
                      unsigned lun, int timeout_ms, struct lcow_error **err)
{
    struct json_object *a = json_object_new_object();
    json_object_object_add(a, "driver", json_object_new_string("scsi-hd"));
    json_object_object_add(a, "id", json_object_new_string(id));
    json_object_object_add(a, "drive", json_object_new_string(node));
    json_object_object_add(a, "bus", json_object_new_string(bus));
    json_object_object_add(a, "channel", json_object_new_int(0));
    json_object_object_add(a, "scsi-id", json_object_new_int(0));
    json_object_object_add(a, "lun", json_object_new_int((int)lun));
    return host_qmp_call(q, "device_add", a, timeout_ms, NULL, err);
}

int host_qmp_device_del(struct host_qmp *q, const char *id, int timeout_ms, struct lcow_error **err)
{
    struct json_object *a = json_object_new_object();
    json_object_object_add(a, "id", json_object_new_string(id));
    int r = host_qmp_call(q, "device_del", a, timeout_ms, NULL, err);
    if (r < 0)
        return r;
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    while (!claim_deleted(q, id)) {
        cleanup_json struct json_object *msg = NULL;
        r = read_line(q, deadline, &msg, err);
        if (r < 0)
            return lcow_error_wrap(err, "wait for device `%s` to go", id);
        note_event(q, msg);
    }
    return 0;
}
