/* libFuzzer target for the `Network` Settings the host sends (gcs-protocol.md §4.9): JSON →
 * validated adapter (gcs/network_adapter.c), then everything derived from it without touching
 * the kernel: route selection, the DNS union and resolv.conf, hosts text, and the MAC / IP
 * parsers on the raw bytes. Properties checked besides "no crash, leak or UB":
 *   - an accepted adapter has every prefix within its family and at most the bounded counts;
 *   - route selection never yields more routes than given, and low metric means table 101
 *     and no metric 0;
 *   - resolv.conf is refused when the search union exceeds 6 domains (or an item has blanks). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_adapter(const struct gcs_net_adapter *a)
{
    struct gcs_net_route_op *ops = calloc(a->n_routes + 1, sizeof(*ops));
    cleanup_strv char **search = NULL;
    cleanup_strv char **servers = NULL;
    cleanup_free char *rc = NULL;
    size_t n = 0, ns = 0;
    int r;

    CHECK(ops);
    CHECK(a->n_ipconfigs <= GCS_NET_MAX_IPCONFIGS && a->n_routes <= GCS_NET_MAX_ROUTES);
    for (size_t i = 0; i < a->n_ipconfigs; i++)
        CHECK(a->ipconfigs[i].prefix_len <= (a->ipconfigs[i].ip.family == AF_INET ? 32u : 128u));
    for (size_t i = 0; i < a->n_routes; i++)
        CHECK(!a->routes[i].has_gw || a->routes[i].gw.family == a->routes[i].dst.family);
    for (int low = 0; low < 2; low++) {
        gcs_net_plan_routes(a, low, ops, &n);
        CHECK(n <= a->n_routes);
        for (size_t i = 0; i < n; i++)
            CHECK(!low || (ops[i].table == GCS_NET_LOWMETRIC_TABLE && ops[i].metric != 0));
    }
    free(ops);
    CHECK(gcs_net_dns_merge(&search, a->dns_suffix) == 0);
    CHECK(gcs_net_dns_merge(&servers, a->dns_server_list) == 0);
    while (search[ns])
        ns++;
    r = gcs_net_resolv_conf_text(search, servers, &rc, NULL);
    CHECK(r != 0 || ns <= GCS_NET_MAX_DNS_SEARCH); /* refused too: blanks inside an item */
    if (gcs_net_hostname_valid(a->namespace_id)) {
        cleanup_free char *hosts = NULL;
        CHECK(gcs_net_hosts_text(a->namespace_id, &hosts, NULL) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cleanup_json struct json_object *o = NULL;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_free char *s = malloc(size + 1);
    struct gcs_net_ip ip;
    unsigned char mac[6];

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    (void)gcs_net_ip_parse(s, &ip);
    (void)gcs_net_mac_parse(s, mac);
    (void)gcs_net_hostname_valid(s);
    if (lcow_json_parse(s, size, "Settings", &o, NULL) < 0)
        return 0;
    if (gcs_net_adapter_from_json(o, &a, NULL) == 0)
        check_adapter(a);
    return 0;
}
