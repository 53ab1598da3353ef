/* lcow-bridge: a tiny host for one GCS, on host/bridge_client.h. Tests and runlcow use it.
 *   lcow-bridge (--listen ADDR | --connect ADDR) [--timeout SEC] COMMAND [ARGS]
 *     exec [-t] [-i] [--cwd DIR] [--env K=V]... [--cid ID] -- ARGV...
 *                    run a process in the UVM with our stdio relayed; exit with its code
 *     negotiate      negotiate and exit 0
 *     dump-stacks    print the GCS's DumpStacks text
 *     shutdown [--forced]
 *     raw TYPE JSON  send one request (TYPE decimal or 0x hex), print the response payload
 *     bench N [M]    N sequential Start round trips, then M ExecuteProcess + WaitForProcess of
 *                    /bin/true with stdout (default 0); prints the rates */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"

#define MAX_ENV 256

struct cli {
    const char *listen;
    const char *connect;
    int timeout_ms;
    struct host_bridge *b;
};

static int fail(struct lcow_error *err)
{
    fprintf(stderr, "lcow-bridge: %s\n", lcow_error_message(err));
    return 125;
}

static int usage(void)
{
    fputs("usage: lcow-bridge (--listen ADDR | --connect ADDR) [--timeout SEC] COMMAND\n"
          "commands: exec [-t] [-i] [--cwd DIR] [--env K=V]... [--cid ID] -- ARGV...\n"
          "          negotiate | dump-stacks | shutdown [--forced] | raw TYPE JSON | bench N [M]\n",
          stderr);
    return 125;
}

/* Copies data between our stdio and the process's sockets until its output ends. */
static void relay(struct host_process *p, bool forward_stdin)
{
    int in_open = forward_stdin && p->fd[0] >= 0;
    char buf[16384];
    for (;;) {
        struct pollfd pf[3] = {{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
                               {.fd = p->fd[1], .events = POLLIN},
                               {.fd = p->fd[2], .events = POLLIN}};
        if (pf[1].fd < 0 && pf[2].fd < 0)
            break;
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n <= 0 || lcow_write_all(p->fd[0], buf, (size_t)n) < 0) {
                shutdown(p->fd[0], SHUT_WR); /* the half-close the GCS expects (§1.6) */
                in_open = 0;
            }
        }
        for (int i = 1; i < 3; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            ssize_t n = read(p->fd[i], buf, sizeof(buf));
            if (n <= 0) {
                p->fd[i] = lcow_close_nointr(p->fd[i]);
                continue;
            }
            (void)lcow_write_all(i, buf, (size_t)n);
        }
    }
}

static int cmd_exec(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"tty", no_argument, NULL, 't'},       {"interactive", no_argument, NULL, 'i'},
        {"cwd", required_argument, NULL, 'C'}, {"env", required_argument, NULL, 'e'},
        {"cid", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0},
    };
    const char *env[MAX_ENV + 1] = {NULL};
    size_t n_env = 0;
    struct host_exec x = {.std_out = true, .std_err = true};
    const char *cid = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+tie:C:c:", opts, NULL)) != -1) {
        switch (o) {
        case 't':
            x.tty = true;
            break;
        case 'i':
            x.std_in = true;
            break;
        case 'C':
            x.cwd = optarg;
            break;
        case 'e':
            if (n_env == MAX_ENV)
                return usage();
            env[n_env++] = optarg;
            break;
        case 'c':
            cid = optarg;
            break;
        default:
            return usage();
        }
    }
    if (optind >= argc)
        return usage();
    x.argv = (const char *const *)argv + optind;
    x.env = n_env ? env : NULL;
    if (x.tty) {
        x.std_err = false; /* a pty has one output stream */
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
            x.rows = ws.ws_row;
            x.cols = ws.ws_col;
        }
    }
    cleanup_error struct lcow_error *err = NULL;
    struct host_process p;
    if (host_bridge_exec(c->b, cid, &x, c->timeout_ms, &p, NULL, &err) < 0)
        return fail(err);
    /* With a console the remote pty does the line discipline: ours goes raw meanwhile. */
    struct termios saved;
    bool raw = x.tty && x.std_in && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        (void)tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    relay(&p, x.std_in);
    if (raw)
        (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    uint32_t code = 0;
    int r = host_bridge_wait_process(c->b, cid, p.pid, GCS_INFINITE_TIMEOUT, -1, &code, NULL, &err);
    host_process_close(&p);
    if (r < 0)
        return fail(err);
    return code == 0xFFFFFFFFu ? 255 : (int)(code & 0xFF);
}

static int cmd_print(struct cli *c, uint32_t type, const char *payload)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    int r = payload ? host_bridge_call(c->b, type, payload, c->timeout_ms, &m, &err)
                    : host_bridge_simple(c->b, type, NULL, c->timeout_ms, &m, &err);
    if (r < 0)
        return fail(err);
    int32_t result = 0;
    r = host_message_result(&m, &result, NULL, &err);
    if (type == GCS_MSG_DUMP_STACKS && r >= 0 && result == 0) {
        struct gcs_dump_stacks_response d = {0};
        if (gcs_decode_dump_stacks_response(m.payload, m.len, &d, NULL) == 0)
            fputs(d.guest_stacks, stdout);
        gcs_dump_stacks_response_done(&d);
    } else {
        printf("%s\n", m.payload);
    }
    host_message_done(&m);
    return r < 0 ? fail(err) : result != 0;
}

/* Round trips of a small request (Start of a container id: a base-only answer). */
static int bench_exec(struct cli *c, long n)
{
    cleanup_error struct lcow_error *err = NULL;
    const char *argv[] = {"/bin/true", NULL};
    struct host_exec x = {.argv = argv, .std_out = true};
    uint64_t t0 = lcow_now_ns();
    for (long i = 0; i < n; i++) {
        struct host_process p;
        uint32_t code = 1;
        if (host_bridge_exec(c->b, NULL, &x, c->timeout_ms, &p, NULL, &err) < 0)
            return fail(err);
        char buf[64];
        while (read(p.fd[1], buf, sizeof(buf)) > 0)
            ;
        int r = host_bridge_wait_process(c->b, NULL, p.pid, GCS_INFINITE_TIMEOUT, c->timeout_ms,
                                         &code, NULL, &err);
        host_process_close(&p);
        if (r < 0)
            return fail(err);
    }
    double secs = (double)(lcow_now_ns() - t0) / 1e9;
    printf("%ld exec+wait of /bin/true in %.3f s: %.0f/s, %.2f ms each\n", n, secs,
           (double)n / secs, secs * 1e3 / (double)n);
    return 0;
}

static int cmd_bench(struct cli *c, const char *count, const char *execs)
{
    char *end = NULL, *end2 = NULL;
    long n = strtol(count, &end, 10);
    long n_exec = execs ? strtol(execs, &end2, 10) : 0;
    if (*end || n <= 0 || n > 100000000 || (execs && (*end2 || n_exec < 0 || n_exec > 1000000)))
        return usage();
    cleanup_error struct lcow_error *err = NULL;
    const char *q = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" GCS_ZERO_GUID "\"}";
    uint64_t t0 = lcow_now_ns();
    for (long i = 0; i < n; i++) {
        struct host_message m = {0};
        if (host_bridge_call(c->b, GCS_MSG_START, q, c->timeout_ms, &m, &err) < 0)
            return fail(err);
        host_message_done(&m);
    }
    double secs = (double)(lcow_now_ns() - t0) / 1e9;
    printf("%ld round trips in %.3f s: %.0f/s, %.1f us each\n", n, secs, (double)n / secs,
           secs * 1e6 / (double)n);
    return n_exec > 0 ? bench_exec(c, n_exec) : 0;
}

static int run_command(struct cli *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "exec") == 0)
        return cmd_exec(c, argc, argv);
    if (strcmp(cmd, "negotiate") == 0 && argc == 1)
        return 0;
    if (strcmp(cmd, "dump-stacks") == 0 && argc == 1)
        return cmd_print(c, GCS_MSG_DUMP_STACKS, NULL);
    if (strcmp(cmd, "shutdown") == 0 && argc <= 2) {
        bool forced = argc == 2 && strcmp(argv[1], "--forced") == 0;
        if (argc == 2 && !forced)
            return usage();
        return cmd_print(c, forced ? GCS_MSG_SHUTDOWN_FORCED : GCS_MSG_SHUTDOWN_GRACEFUL, NULL);
    }
    if (strcmp(cmd, "bench") == 0 && (argc == 2 || argc == 3))
        return cmd_bench(c, argv[1], argc == 3 ? argv[2] : NULL);
    if (strcmp(cmd, "raw") == 0 && argc == 3) {
        char *end = NULL;
        unsigned long t = strtoul(argv[1], &end, 0);
        if (*end || t > 0xFFFFFFFFul)
            return usage();
        return cmd_print(c, (uint32_t)t, argv[2]);
    }
    return usage();
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"connect", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    struct cli c = {.timeout_ms = 10000};
    int o;
    while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            c.listen = optarg;
            break;
        case 'c':
            c.connect = optarg;
            break;
        case 'T':
            c.timeout_ms = atoi(optarg) * 1000;
            break;
        default:
            return usage();
        }
    }
    if ((!c.listen == !c.connect) || optind >= argc)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    cleanup_error struct lcow_error *err = NULL;
    int r = c.listen ? host_bridge_listen(c.listen, &c.b, &err)
                     : host_bridge_connect(c.connect, c.timeout_ms, &c.b, &err);
    if (r >= 0 && c.listen)
        r = host_bridge_accept(c.b, c.timeout_ms, &err);
    if (r >= 0)
        r = host_bridge_negotiate(c.b, c.timeout_ms, &err);
    if (r < 0) {
        host_bridge_free(c.b);
        return fail(err);
    }
    r = run_command(&c, argc - optind, argv + optind);
    host_bridge_free(c.b);
    return r;
}
