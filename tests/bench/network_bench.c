/* make bench: the cost of one Network Add with a sandbox namespace already assigned (find the
 * interface by MAC, move it, MTU, up, 2 addresses, 4 routes), as the library call gcs makes,
 * against the same work done by fork/exec of iproute2 (`ip`, the floor): one command per step
 * as a script would, and `ip -batch` (two execs). Each round gets a fresh veth pair and a fresh
 * target namespace, made untimed. Run by network_bench.sh inside a namespace of its own.
 *   network_bench ROUNDS PREFIX */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/network.h"

#define MAX_ROUNDS 500

static const char *ip_bin;

/* fork/exec `ip ARGS...` (argv only); returns its exit status. */
static int run_ip(char *const args[])
{
    char *argv[24];
    size_t n = 0;
    pid_t pid;
    int st;

    argv[n++] = (char *)ip_bin;
    for (; args[n - 1] && n < 23; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(ip_bin, argv);
        _exit(127);
    }
    if (LCOW_RETRY_EINTR(waitpid(pid, &st, 0)) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define IP(...)                                                                                    \
    do {                                                                                           \
        char *const _a[] = {__VA_ARGS__, NULL};                                                    \
        if (run_ip(_a) != 0) {                                                                     \
            fprintf(stderr, "network_bench: ip command failed (%s %s %s)\n", _a[0], _a[1], _a[2]); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

struct round {
    char ns[64], nspath[128], dev[16], peer[16], mac[18], nsid[32];
};

/* Untimed: a veth pair in our namespace and an empty target namespace. */
static void setup(struct round *r, const char *prefix, const char *kind, int i)
{
    snprintf(r->ns, sizeof(r->ns), "%s-%s%d", prefix, kind, i);
    snprintf(r->nspath, sizeof(r->nspath), "/var/run/netns/%.63s", r->ns);
    snprintf(r->dev, sizeof(r->dev), "b%s%d", kind, i);
    snprintf(r->peer, sizeof(r->peer), "p%s%d", kind, i);
    snprintf(r->mac, sizeof(r->mac), "02:42:%02x:00:%02x:%02x", kind[0], (i >> 8) & 0xff, i & 0xff);
    snprintf(r->nsid, sizeof(r->nsid), "ns-%s-%d", kind, i);
    IP("netns", "add", r->ns);
    IP("link", "add", r->dev, "address", r->mac, "type", "veth", "peer", "name", r->peer);
}

static void teardown(struct round *r, bool in_place)
{
    if (in_place)
        IP("link", "del", "dev", r->dev); /* its peer goes with it */
    IP("netns", "del", r->ns);            /* a moved end goes with it, and its peer with it */
}

static unsigned long long round_gcs(struct gcs_network *net, struct round *r, bool in_place)
{
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_error struct lcow_error *err = NULL;
    unsigned long long t0, t1;

    if (gcs_net_adapter_new(r->nsid, r->nsid, r->mac, "svc.cluster.local", "10.99.0.10", &a, &err) <
            0 ||
        gcs_net_adapter_add_ipconfig(a, "10.99.0.5", 24, &err) < 0 ||
        gcs_net_adapter_add_ipconfig(a, "fd00:99::5", 64, &err) < 0 ||
        gcs_net_adapter_add_route(a, "10.99.0.1", "0.0.0.0/0", 0, &err) < 0 ||
        gcs_net_adapter_add_route(a, "10.99.0.1", "10.100.0.0/16", 10, &err) < 0 ||
        gcs_net_adapter_add_route(a, "10.99.0.1", "10.101.0.0/16", 20, &err) < 0 ||
        gcs_net_adapter_add_route(a, "fd00:99::1", "::/0", 0, &err) < 0)
        goto fail;
    a->encap_overhead = 50;
    /* The sandbox exists first (as after a container create); Add then moves + configures. */
    if ((in_place ? gcs_network_namespace_sync_host(net, r->nsid, &err)
                  : gcs_network_namespace_sync_path(net, r->nsid, r->nspath, &err)) < 0)
        goto fail;
    t0 = lcow_now_ns();
    if (gcs_network_add(net, &a, &err) < 0)
        goto fail;
    t1 = lcow_now_ns();
    return t1 - t0;
fail:
    fprintf(stderr, "network_bench: %s\n", lcow_error_message(err));
    exit(1);
}

/* in_place: host-network mode, no move (the target namespace is then unused). */
static unsigned long long round_ip(struct round *r, bool in_place)
{
    unsigned long long t0 = lcow_now_ns();
    if (in_place) {
        IP("link", "set", "dev", r->dev, "mtu", "1450", "up");
        IP("addr", "add", "10.99.0.5/24", "dev", r->dev);
        IP("addr", "add", "fd00:99::5/64", "dev", r->dev);
        IP("route", "add", "default", "via", "10.99.0.1", "dev", r->dev);
        IP("route", "add", "10.100.0.0/16", "via", "10.99.0.1", "dev", r->dev, "metric", "10");
        IP("route", "add", "10.101.0.0/16", "via", "10.99.0.1", "dev", r->dev, "metric", "20");
        IP("-6", "route", "add", "default", "via", "fd00:99::1", "dev", r->dev);
        return lcow_now_ns() - t0;
    }
    IP("link", "set", "dev", r->dev, "down");
    IP("link", "set", "dev", r->dev, "netns", r->ns);
    IP("-n", r->ns, "link", "set", "dev", r->dev, "mtu", "1450", "up");
    IP("-n", r->ns, "addr", "add", "10.99.0.5/24", "dev", r->dev);
    IP("-n", r->ns, "addr", "add", "fd00:99::5/64", "dev", r->dev);
    IP("-n", r->ns, "route", "add", "default", "via", "10.99.0.1", "dev", r->dev);
    IP("-n", r->ns, "route", "add", "10.100.0.0/16", "via", "10.99.0.1", "dev", r->dev, "metric",
       "10");
    IP("-n", r->ns, "route", "add", "10.101.0.0/16", "via", "10.99.0.1", "dev", r->dev, "metric",
       "20");
    IP("-n", r->ns, "-6", "route", "add", "default", "via", "fd00:99::1", "dev", r->dev);
    return lcow_now_ns() - t0;
}

static unsigned long long round_ip_batch(struct round *r, const char *dir)
{
    char path[128], text[1024];
    unsigned long long t0;
    snprintf(path, sizeof(path), "%s/%s.batch", dir, r->dev);
    snprintf(text, sizeof(text),
             "link set dev %s mtu 1450 up\naddr add 10.99.0.5/24 dev %s\n"
             "addr add fd00:99::5/64 dev %s\nroute add default via 10.99.0.1 dev %s\n"
             "route add 10.100.0.0/16 via 10.99.0.1 dev %s metric 10\n"
             "route add 10.101.0.0/16 via 10.99.0.1 dev %s metric 20\n"
             "route add ::/0 via fd00:99::1 dev %s\n",
             r->dev, r->dev, r->dev, r->dev, r->dev, r->dev, r->dev);
    if (lcow_write_file(path, text, strlen(text), O_CREAT | O_TRUNC | O_WRONLY, 0600, NULL) < 0)
        exit(1);
    t0 = lcow_now_ns();
    IP("link", "set", "dev", r->dev, "netns", r->ns);
    IP("-n", r->ns, "-batch", path);
    return lcow_now_ns() - t0;
}

static int cmp_ull(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

static double median_us(unsigned long long *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_ull);
    return (n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0) / 1000.0;
}

int main(int argc, char **argv)
{
    static unsigned long long t[5][MAX_ROUNDS];
    static const char *const names[5] = {
        "gcs library call (move + configure)",
        "ip, one exec per step (9)",
        "ip -batch (2 execs)",
        "gcs library call, in place (host network)",
        "ip, one exec per step (7), in place",
    };
    struct gcs_network_config cfg = {.lookup_timeout_ms = 2000};
    struct gcs_network *net = NULL;
    double med[5];
    int rounds;
    const char *prefix;

    if (argc != 4) {
        fprintf(stderr, "usage: network_bench ROUNDS PREFIX TMPDIR\n");
        return 2;
    }
    rounds = atoi(argv[1]);
    prefix = argv[2];
    if (rounds < 1 || rounds > MAX_ROUNDS)
        return 2;
    ip_bin = access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
    if (gcs_network_new(&cfg, &net, NULL) < 0)
        return 1;
    /* Interleaved, so drift on the shared machine hits every variant alike. */
    for (int i = 0; i < rounds; i++) {
        struct round r[5];
        static const char *const kind[5] = {"g", "i", "b", "h", "j"};
        for (int k = 0; k < 3; k++)
            setup(&r[k], prefix, kind[k], i);
        t[0][i] = round_gcs(net, &r[0], false);
        t[1][i] = round_ip(&r[1], false);
        t[2][i] = round_ip_batch(&r[2], argv[3]);
        for (int k = 0; k < 3; k++)
            teardown(&r[k], false);
        /* In place, both variants share this namespace's main table: one at a time. */
        setup(&r[3], prefix, kind[3], i);
        t[3][i] = round_gcs(net, &r[3], true);
        teardown(&r[3], true);
        setup(&r[4], prefix, kind[4], i);
        t[4][i] = round_ip(&r[4], true);
        teardown(&r[4], true);
    }
    gcs_network_free(net);
    for (int k = 0; k < 5; k++)
        med[k] = median_us(t[k], rounds);
    printf("network Add, 1 adapter: MAC lookup, MTU, up, 2 addresses, 4 routes; median of %d "
           "rounds\n",
           rounds);
    for (int k = 0; k < 5; k++)
        printf("  %-44s %9.1f us\n", names[k], med[k]);
    printf("ratios: gcs/ip = %.3f, gcs/ip-batch = %.3f (both dominated by the kernel's netns "
           "move); in place: gcs/ip = %.3f\n",
           med[0] / med[1], med[0] / med[2], med[3] / med[4]);
    return 0;
}
