/* make bench: round trips per second of a small request (Start, base-only answer) over unix:
 * against gcs, and the same client loop against a minimal C echo server speaking the same
 * framing (the floor: no JSON, no dispatch). Prints both rates, their ratio, and gcs's idle RSS.
 * Targets (issue 2): ratio >= 0.80, idle RSS <= 1.5 MiB. Figures, not assertions. */
#include <errno.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "vsock/transport.h"

#define ROUNDS  20000
#define REPEATS 5

static const char start_payload[] =
    "{\"ContainerId\":\"c1\",\"ActivityId\":\"00000000-0000-0000-0000-000000000000\"}";

/* One request/response exchange with a pre-built frame; returns 0 or -1. */
static int round_trip(int fd, const uint8_t *frame, size_t len, uint8_t *buf, size_t cap)
{
    if (lcow_write_all(fd, frame, len) < 0)
        return -1;
    if (lcow_read_exact(fd, buf, GCS_HEADER_SIZE) != GCS_HEADER_SIZE)
        return -1;
    struct gcs_header h;
    gcs_header_decode(buf, &h);
    size_t plen = gcs_header_payload_len(&h);
    if (plen > cap || lcow_read_exact(fd, buf, plen) != (ssize_t)plen)
        return -1;
    return 0;
}

static double rate(int fd, const uint8_t *frame, size_t len)
{
    static uint8_t buf[65536];
    uint64_t t0 = lcow_now_ns();
    for (int i = 0; i < ROUNDS; i++)
        if (round_trip(fd, frame, len, buf, sizeof(buf)) < 0)
            return -1;
    return ROUNDS / ((lcow_now_ns() - t0) / 1e9);
}

/* The floor: reads a frame, answers with the response type, same id and a fixed small body. */
static void echo_server(int lfd)
{
    int fd = vsock_accept(lfd, NULL);
    uint8_t buf[65536];
    static const char resp[] = "{\"Result\":0}";
    for (;;) {
        if (lcow_read_exact(fd, buf, GCS_HEADER_SIZE) != GCS_HEADER_SIZE)
            _exit(0);
        struct gcs_header h;
        gcs_header_decode(buf, &h);
        size_t plen = gcs_header_payload_len(&h);
        if (plen > sizeof(buf) || lcow_read_exact(fd, buf, plen) != (ssize_t)plen)
            _exit(1);
        struct gcs_header out = {.type = gcs_response_type(h.type),
                                 .size = (uint32_t)(GCS_HEADER_SIZE + sizeof(resp) - 1),
                                 .id = h.id};
        uint8_t frame[GCS_HEADER_SIZE + sizeof(resp)];
        gcs_header_encode(&out, frame);
        memcpy(frame + GCS_HEADER_SIZE, resp, sizeof(resp) - 1);
        if (lcow_write_all(fd, frame, sizeof(frame) - 1) < 0)
            _exit(1);
    }
}

#define SPAWNS 200

/* Floor for process start: posix_spawn + waitpid of /bin/true, locally. */
static double local_spawn_rate(void)
{
    extern char **environ;
    char *argv[] = {"/bin/true", NULL};
    uint64_t t0 = lcow_now_ns();
    for (int i = 0; i < SPAWNS; i++) {
        pid_t pid;
        if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
            return -1;
        waitpid(pid, NULL, 0);
    }
    return SPAWNS / ((lcow_now_ns() - t0) / 1e9);
}

/* ExecuteProcess + WaitForProcess of /bin/true through gcs, with its stdout relayed. */
static double bridge_spawn_rate(const char *addr, const char *gcs)
{
    struct host_bridge *b = NULL;
    double r = -1;
    if (host_bridge_listen(addr, &b, NULL) < 0)
        return -1;
    pid_t g = fork();
    if (g == 0) {
        execl(gcs, gcs, "-bridge", addr, "-loglevel", "warning", "-log-format", "json",
              "-kmsgLogLevel=0", NULL);
        _exit(127);
    }
    if (host_bridge_accept(b, 5000, NULL) == 0 && host_bridge_negotiate(b, 5000, NULL) == 0) {
        const char *argv[] = {"/bin/true", NULL};
        struct host_exec x = {.argv = argv, .std_out = true};
        uint64_t t0 = lcow_now_ns();
        int i = 0;
        for (; i < SPAWNS; i++) {
            struct host_process p;
            uint32_t code = 1;
            struct lcow_error *err = NULL;
            if (host_bridge_exec(b, NULL, &x, 5000, &p, NULL, &err) < 0) {
                fprintf(stderr, "exec: %s\n", lcow_error_message(err));
                lcow_error_release(&err);
                break;
            }
            int rc = host_bridge_wait_process(b, NULL, p.pid, GCS_INFINITE_TIMEOUT, 5000, &code,
                                              NULL, &err);
            host_process_close(&p);
            if (rc < 0 || code != 0) {
                fprintf(stderr, "wait: %s (exit %u)\n", lcow_error_message(err), code);
                lcow_error_release(&err);
                break;
            }
        }
        if (i == SPAWNS)
            r = SPAWNS / ((lcow_now_ns() - t0) / 1e9);
    }
    kill(g, SIGKILL);
    waitpid(g, NULL, 0);
    host_bridge_free(b);
    return r;
}

/* A "Field:   N kB" line of /proc/PID/status. */
static long status_kib(pid_t pid, const char *field)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (lcow_read_file(path, 1 << 16, &text, NULL, NULL) < 0)
        return -1;
    const char *p = strstr(text, field);
    long v = p ? strtol(p + strlen(field), NULL, 10) : -1;
    free(text);
    return v;
}

static long vm_rss_kib(pid_t pid)
{
    return status_kib(pid, "VmRSS:");
}

static int listen_at(const char *addr, struct vsock_addr *a)
{
    if (vsock_addr_parse(addr, a, NULL) < 0)
        return -1;
    return vsock_listen(a, VSOCK_PORT_BRIDGE, 1, NULL);
}

int main(void)
{
    char dir[] = "/tmp/lcow-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char addr[128], sock[160], gcs[512];
    const char *top = getenv("LCOW_TOP"), *build = getenv("BUILD");
    snprintf(gcs, sizeof(gcs), "%s/%s/bin/gcs", top ? top : ".", build ? build : "build");
    uint8_t *frame = NULL, *neg = NULL;
    size_t len = 0, neg_len = 0;
    const char neg_payload[] = "{\"ContainerId\":\"\",\"MinimumVersion\":4,\"MaximumVersion\":4}";
    if (gcs_frame_build(GCS_MSG_START, 1, start_payload, sizeof(start_payload) - 1,
                        GCS_MAX_READ_MESSAGE, &frame, &len, NULL) < 0 ||
        gcs_frame_build(GCS_MSG_NEGOTIATE_PROTOCOL, 0, neg_payload, sizeof(neg_payload) - 1,
                        GCS_MAX_READ_MESSAGE, &neg, &neg_len, NULL) < 0)
        return 1;
    struct vsock_addr a;

    /* Floor: the echo server in a child process, like gcs. */
    snprintf(addr, sizeof(addr), "unix:%s/echo", dir);
    int elfd = listen_at(addr, &a);
    pid_t echo = fork();
    if (echo == 0)
        echo_server(elfd);
    int efd = vsock_dial(&a, VSOCK_PORT_BRIDGE, NULL);

    /* gcs. */
    snprintf(addr, sizeof(addr), "unix:%s/gcs", dir);
    int lfd = listen_at(addr, &a);
    pid_t g = fork();
    if (g == 0) {
        execl(gcs, gcs, "-bridge", addr, "-loglevel", "warning", "-log-format", "json",
              "-kmsgLogLevel=0", NULL);
        _exit(127);
    }
    int fd = vsock_accept(lfd, NULL);
    uint8_t buf[65536];
    double gr = -1, floor = -1;
    long rss_idle = -1, rss_after = -1, rss_anon = -1, rss_file = -1;
    if (efd >= 0 && fd >= 0 && round_trip(fd, neg, neg_len, buf, sizeof(buf)) == 0) {
        usleep(300 * 1000);
        rss_idle = vm_rss_kib(g);
        rss_anon = status_kib(g, "RssAnon:");
        rss_file = status_kib(g, "RssFile:");
        /* Interleaved, best of each: the machine is shared, so load shifts between runs. */
        for (int rep = 0; rep < REPEATS; rep++) {
            double e = rate(efd, frame, len), r = rate(fd, frame, len);
            floor = e > floor ? e : floor;
            gr = r > gr ? r : gr;
        }
        rss_after = vm_rss_kib(g);
    }
    close(efd);
    close(elfd);
    waitpid(echo, NULL, 0);
    kill(g, SIGKILL);
    waitpid(g, NULL, 0);
    if (fd >= 0)
        close(fd);
    close(lfd);
    snprintf(sock, sizeof(sock), "%s/echo_1073741824", dir);
    unlink(sock);
    snprintf(sock, sizeof(sock), "%s/gcs_1073741824", dir);
    unlink(sock);
    free(frame);
    free(neg);

    snprintf(addr, sizeof(addr), "unix:%s/spawn", dir);
    double spawn_local = local_spawn_rate(), spawn_gcs = bridge_spawn_rate(addr, gcs);
    rmdir(dir);

    printf("bridge round trips/s (Start over unix:, best of %d x %d):\n", REPEATS, ROUNDS);
    printf("  echo server (floor): %.0f\n", floor);
    printf("  gcs:                 %.0f\n", gr);
    printf("  ratio gcs/floor:     %.2f (target >= 0.80)\n", floor > 0 ? gr / floor : 0);
    printf("gcs RSS: idle %ld KiB (target <= 1536; private anon %ld KiB, mapped binary %ld KiB), "
           "after the loop %ld KiB\n",
           rss_idle, rss_anon, rss_file, rss_after);
    printf("process starts/s (/bin/true, %d runs): local posix_spawn+waitpid %.0f, "
           "gcs ExecuteProcess+WaitForProcess with stdout %.0f (ratio %.2f)\n",
           SPAWNS, spawn_local, spawn_gcs, spawn_local > 0 ? spawn_gcs / spawn_local : 0);
    return gr > 0 && floor > 0 && rss_idle > 0 ? 0 : 1;
}
