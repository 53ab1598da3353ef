/* boot-selftest: a small stand-in for the host side of the boot chain, used two ways:
 *  - inside the TCG guest (init -x), over vsock loopback (CID 1): it listens on the entropy,
 *    log and bridge ports, serves 512 random bytes, copies gcs's stderr to the console, and
 *    does NegotiateProtocol with gcs; then prints init's kmsg timeline and a PASS marker, and
 *    asks gcs to shut the UVM down (ShutdownForced on the UVM id), which ends in init's
 *    power-off.
 *  - on this machine over unix: sockets, as the host that init's and vsockexec's integration
 *    tests dial.
 *   boot-selftest --listen ADDR [--entropy PORT] [--log PORT] [--bridge PORT] [--out FILE]
 *                 [--daemon] [--shutdown] [--kmsg] [--timeout SEC]
 * ADDR is listen:vsock:0 (any CID, every port given) or listen:unix:PATH (PATH_PORT). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "vsock/transport.h"

#define MAX_CONNS          16
#define ENTROPY_BYTES      512
#define TYPE_NEGOTIATE     0x10100b01u
#define TYPE_SHUTDOWN_HARD 0x10100401u
#define RESPONSE_OF(t)     (0x20000000u | ((t)&0x0fffffffu))
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif
#define UVM_ID "00000000-0000-0000-0000-000000000000"

enum role {
    ROLE_ENTROPY,
    ROLE_LOG,
    ROLE_BRIDGE,
};

struct opts {
    struct vsock_addr listen;
    uint32_t port[3];
    bool has[3];
    const char *out;
    bool daemon, shutdown, kmsg;
    int timeout_s;
};

struct conn {
    int fd;
    bool line_start;
};

static int out_fd = STDOUT_FILENO;

static double uptime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    (void)lcow_write_all(out_fd, buf, (size_t)n);
}

static int usage(void)
{
    fprintf(stderr, "usage: boot-selftest --listen ADDR [--entropy PORT] [--log PORT] "
                    "[--bridge PORT] [--out FILE] [--daemon] [--shutdown] [--kmsg] "
                    "[--timeout SEC]\n");
    return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const char *const port_opts[] = {"--entropy", "--log", "--bridge"};
    bool have_listen = false;
    o->timeout_s = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool used = true;
        if (strcmp(a, "--daemon") == 0)
            o->daemon = true, used = false;
        else if (strcmp(a, "--shutdown") == 0)
            o->shutdown = true, used = false;
        else if (strcmp(a, "--kmsg") == 0)
            o->kmsg = true, used = false;
        else if (v == NULL)
            return usage();
        else if (strcmp(a, "--listen") == 0)
            have_listen = vsock_addr_parse(v, &o->listen, NULL) == 0 && o->listen.listen;
        else if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--timeout") == 0)
            o->timeout_s = atoi(v);
        else {
            int k = 0;
            while (k < 3 && strcmp(a, port_opts[k]) != 0)
                k++;
            if (k == 3 || vsock_port_parse(v, &o->port[k]) < 0)
                return usage();
            o->has[k] = true;
        }
        i += used;
    }
    return have_listen ? 0 : usage();
}

/* Writes one bridge message: 16-byte little-endian header, then the JSON. */
static int send_msg(int fd, uint32_t type, uint64_t id, const char *json)
{
    size_t len = strlen(json);
    unsigned char h[16];
    uint32_t size = (uint32_t)(16 + len);
    for (int i = 0; i < 4; i++) {
        h[i] = (unsigned char)(type >> (8 * i));
        h[4 + i] = (unsigned char)(size >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        h[8 + i] = (unsigned char)(id >> (8 * i));
    if (lcow_write_all(fd, h, sizeof(h)) < 0 || lcow_write_all(fd, json, len) < 0)
        return -1;
    return 0;
}

/* Reads one message; *ret_json is heap NUL-terminated. */
static int recv_msg(int fd, uint32_t *ret_type, uint64_t *ret_id, char **ret_json)
{
    unsigned char h[16];
    if (lcow_read_exact(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
        return -1;
    uint32_t type = 0, size = 0;
    uint64_t id = 0;
    for (int i = 0; i < 4; i++) {
        type |= (uint32_t)h[i] << (8 * i);
        size |= (uint32_t)h[4 + i] << (8 * i);
    }
    for (int i = 0; i < 8; i++)
        id |= (uint64_t)h[8 + i] << (8 * i);
    if (size < 16 || size > 0x10000)
        return -1;
    char *json = malloc(size - 16 + 1);
    if (json == NULL || lcow_read_exact(fd, json, size - 16) != (ssize_t)(size - 16)) {
        free(json);
        return -1;
    }
    json[size - 16] = '\0';
    *ret_type = type, *ret_id = id, *ret_json = json;
    return 0;
}

/* NegotiateProtocol as hcsshim sends it; checks what the host would check (gcs-protocol §3). */
static bool negotiate(int fd)
{
    if (send_msg(fd, TYPE_NEGOTIATE, 0,
                 "{\"ContainerId\":\"" UVM_ID "\",\"ActivityId\":\"" UVM_ID
                 "\",\"MinimumVersion\":4,\"MaximumVersion\":4}\n") < 0) {
        say("SELFTEST: bridge write failed: %s", strerror(errno));
        return false;
    }
    uint32_t type;
    uint64_t id;
    cleanup_free char *json = NULL;
    if (recv_msg(fd, &type, &id, &json) < 0) {
        say("SELFTEST: no NegotiateProtocol response");
        return false;
    }
    cleanup_json struct json_object *o = NULL;
    int32_t result = -1;
    uint32_t version = 0;
    const char *os = NULL;
    struct json_object *caps = NULL;
    if (type != RESPONSE_OF(TYPE_NEGOTIATE) || id != 0 ||
        lcow_json_parse(json, strlen(json), "response", &o, NULL) < 0 ||
        lcow_json_get_int32(o, "", "Result", &result, NULL) < 0 ||
        lcow_json_get_uint32(o, "", "Version", &version, NULL) < 0 ||
        lcow_json_get_object(o, "", "Capabilities", &caps, NULL) < 0 || caps == NULL ||
        lcow_json_get_string(caps, "Capabilities", "RuntimeOsType", &os, NULL) < 0) {
        say("SELFTEST: bad response type %#x id %llu: %s", type, (unsigned long long)id, json);
        return false;
    }
    if (result != 0 || version != 4 || os == NULL || strcasecmp(os, "linux") != 0) {
        say("SELFTEST: negotiation refused: %s", json);
        return false;
    }
    return true;
}

/* Reads init's records from the kernel log into buf (one "TIMELINE t text" line each);
 * returns true once init reported its late modules, the last step of its boot. */
static bool read_kmsg_timeline(char *buf, size_t cap)
{
    cleanup_close int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    size_t pos = 0;
    bool done = false;
    buf[0] = '\0';
    if (fd < 0)
        return true; /* no kernel log to wait for */
    char rec[2048];
    for (;;) {
        ssize_t n = read(fd, rec, sizeof(rec) - 1);
        if (n < 0 && errno == EPIPE)
            continue; /* records overwritten while reading */
        if (n <= 0)
            break;
        rec[n] = '\0';
        unsigned long long usec;
        char *text = strchr(rec, ';');
        if (text == NULL || sscanf(rec, "%*u,%*u,%llu", &usec) != 1 ||
            strncmp(text + 1, "init: ", 6) != 0)
            continue;
        text++;
        done |= strstr(text, "late modules") != NULL;
        int w = snprintf(buf + pos, cap - pos, "TIMELINE %.3f %.*s\n", (double)usec / 1e6,
                         (int)strcspn(text, "\n"), text);
        if (w > 0 && (size_t)w < cap - pos)
            pos += (size_t)w;
    }
    return done;
}

/* Prints init's timeline once its boot is complete (or after 20 s). */
static void print_kmsg_timeline(void)
{
    static char buf[16384];
    for (int i = 0; i < 200 && !read_kmsg_timeline(buf, sizeof(buf)); i++)
        usleep(100 * 1000);
    (void)lcow_write_all(out_fd, buf, strlen(buf));
}

static void serve_entropy(int fd)
{
    unsigned char buf[ENTROPY_BYTES];
    /* GRND_INSECURE: a fresh TCG guest's pool is not initialised yet, and blocking here
     * would stall init's boot by a second; the bytes only need to be unpredictable enough. */
    if (getrandom(buf, sizeof(buf), GRND_INSECURE) != (ssize_t)sizeof(buf))
        memset(buf, 0x5a, sizeof(buf));
    (void)lcow_write_all(fd, buf, sizeof(buf));
    say("SELFTEST: entropy served at %.3f", uptime());
    close(fd);
}

static void handle_bridge(const struct opts *o, int fd)
{
    say("TIMELINE %.3f selftest: bridge connected", uptime());
    if (!negotiate(fd)) {
        say("BOOT-SELFTEST FAIL");
        return;
    }
    say("TIMELINE %.3f selftest: negotiated", uptime());
    if (o->kmsg)
        print_kmsg_timeline();
    say("BOOT-SELFTEST PASS");
    if (o->shutdown &&
        send_msg(fd, TYPE_SHUTDOWN_HARD, 1,
                 "{\"ContainerId\":\"" UVM_ID "\",\"ActivityId\":\"" UVM_ID "\"}\n") == 0)
        say("SELFTEST: ShutdownForced sent");
}

/* Copies a log connection's bytes to the output, each line prefixed. false at EOF. */
static bool relay_log(struct conn *c)
{
    char buf[4096];
    ssize_t n = LCOW_RETRY_EINTR(read(c->fd, buf, sizeof(buf)));
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n;) {
        if (c->line_start)
            (void)lcow_write_all(out_fd, "log| ", 5);
        char *nl = memchr(buf + i, '\n', (size_t)(n - i));
        ssize_t end = nl ? nl - buf + 1 : n;
        (void)lcow_write_all(out_fd, buf + i, (size_t)(end - i));
        c->line_start = nl != NULL;
        i = end;
    }
    return true;
}

static int open_listeners(const struct opts *o, int fds[3])
{
    for (int k = 0; k < 3; k++) {
        fds[k] = -1;
        if (!o->has[k])
            continue;
        cleanup_error struct lcow_error *err = NULL;
        fds[k] = vsock_listen(&o->listen, o->port[k], 8, &err);
        if (fds[k] < 0) {
            fprintf(stderr, "boot-selftest: %s\n", lcow_error_message(err));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    if (o.out && (out_fd = open(o.out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
        return 2;
    int lfd[3];
    if (open_listeners(&o, lfd) < 0)
        return 1;
    if (o.daemon) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid > 0)
            _exit(0); /* listening: init may go on */
        setsid();
    }
    say("SELFTEST: listening at %.3f", uptime());
    struct conn logs[MAX_CONNS];
    size_t nlogs = 0;
    int bridge = -1;
    double deadline = uptime() + o.timeout_s;
    for (;;) {
        struct pollfd p[3 + MAX_CONNS + 1];
        size_t n = 0;
        for (int k = 0; k < 3; k++)
            p[n++] = (struct pollfd){.fd = lfd[k], .events = POLLIN};
        for (size_t i = 0; i < nlogs; i++)
            p[n++] = (struct pollfd){.fd = logs[i].fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = bridge, .events = POLLIN};
        double left = deadline - uptime();
        if (left <= 0) {
            say("BOOT-SELFTEST FAIL: timeout after %d s", o.timeout_s);
            return 1;
        }
        if (poll(p, n, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return 1;
        for (int k = 0; k < 3; k++) {
            if (!(p[k].revents & POLLIN))
                continue;
            int c = vsock_accept(lfd[k], NULL);
            if (c < 0)
                continue;
            if (k == ROLE_ENTROPY)
                serve_entropy(c);
            else if (k == ROLE_LOG && nlogs < MAX_CONNS) {
                logs[nlogs++] = (struct conn){.fd = c, .line_start = true};
                say("SELFTEST: log connection at %.3f", uptime());
            } else if (k == ROLE_BRIDGE && bridge < 0)
                handle_bridge(&o, bridge = c);
            else
                close(c);
        }
        size_t kept = 0;
        for (size_t i = 0; i < nlogs; i++) {
            if (p[3 + i].revents && !relay_log(&logs[i])) {
                close(logs[i].fd);
                continue;
            }
            logs[kept++] = logs[i];
        }
        nlogs = kept;
        if (bridge >= 0 && p[n - 1].revents) {
            char b;
            if (read(bridge, &b, 1) <= 0) {
                say("SELFTEST: bridge closed at %.3f", uptime());
                bridge = lcow_close_nointr(bridge);
            }
        }
    }
}
