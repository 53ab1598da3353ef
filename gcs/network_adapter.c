/* The `Network` Settings object (gcs-protocol.md §4.9): decoding, validation, and the route
 * selection rules of §5.6. Everything the host sends is parsed here, before any interface
 * is touched, so malformed input never leaves half-applied configuration behind. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/network.h"
#include "gcs/protocol.h"

int gcs_net_ip_parse(const char *s, struct gcs_net_ip *ret)
{
    struct gcs_net_ip ip = {0};
    if (!s)
        return -EINVAL;
    if (inet_pton(AF_INET, s, ip.addr) == 1)
        ip.family = AF_INET;
    else if (inet_pton(AF_INET6, s, ip.addr) == 1)
        ip.family = AF_INET6;
    else
        return -EINVAL;
    *ret = ip;
    return 0;
}

static unsigned family_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

static bool ip_is_zero(const struct gcs_net_ip *ip)
{
    for (unsigned i = 0; i < family_bits(ip->family) / 8; i++)
        if (ip->addr[i])
            return false;
    return true;
}

/* A next hop must be a unicast address: multicast, broadcast, loopback, "this network" and
 * reserved (240/4) IPv4 gateways, and multicast or loopback IPv6 ones, are refused up front.
 * (The kernel would reject some of them only after the gateway retry of §5.6 had already
 * added the bogus address to the link.) */
static bool ip_is_unicast(const struct gcs_net_ip *ip)
{
    static const unsigned char v6_loopback[16] = {[15] = 1};
    const unsigned char *a = ip->addr;
    if (ip->family == AF_INET)
        return a[0] != 0 && a[0] != 127 && a[0] < 224;
    return a[0] != 0xff && memcmp(a, v6_loopback, 16) != 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int gcs_net_mac_parse(const char *s, unsigned char ret[6])
{
    unsigned char mac[6];
    char sep;

    /* Exactly six two-digit groups with one separator style: HNS sends dashes, Linux colons. */
    if (!s || strlen(s) != 17)
        return -EINVAL;
    sep = s[2];
    if (sep != '-' && sep != ':')
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != sep))
            return -EINVAL;
        mac[i] = (unsigned char)(hi << 4 | lo);
    }
    memcpy(ret, mac, 6);
    return 0;
}

/* strdup with a bound; NULL input becomes "". */
static int dup_bounded(const char *s, size_t max, const char *field, char **ret,
                       struct lcow_error **err)
{
    if (!s)
        s = "";
    if (strnlen(s, max + 1) > max)
        return lcow_error_make(err, EINVAL, "%s is longer than %zu bytes", field, max);
    *ret = strdup(s);
    return *ret ? 0 : lcow_error_make(err, ENOMEM, "%s: out of memory", field);
}

int gcs_net_adapter_new(const char *namespace_id, const char *id, const char *mac_address,
                        const char *dns_suffix, const char *dns_server_list,
                        struct gcs_net_adapter **ret, struct lcow_error **err)
{
    cleanup_net_adapter struct gcs_net_adapter *a = calloc(1, sizeof(*a));
    int r;

    if (!a)
        return lcow_error_make(err, ENOMEM, "network adapter: out of memory");
    if (!id || !*id)
        return lcow_error_make(err, EINVAL, "network adapter: ID is empty");
    /* The ID becomes a sysfs path component: keep it one plain name. */
    if (strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return lcow_error_make(err, EINVAL, "network adapter: invalid ID `%.64s`", id);
    if ((r = dup_bounded(namespace_id, GCS_NET_MAX_ID_LEN, "NamespaceID", &a->namespace_id, err)) <
            0 ||
        (r = dup_bounded(id, GCS_NET_MAX_ID_LEN, "ID", &a->id, err)) < 0 ||
        (r = dup_bounded(dns_suffix, GCS_NET_MAX_DNS_LEN, "DNSSuffix", &a->dns_suffix, err)) < 0 ||
        (r = dup_bounded(dns_server_list, GCS_NET_MAX_DNS_LEN, "DNSServerList", &a->dns_server_list,
                         err)) < 0)
        return r;
    for (char *c = a->namespace_id; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (mac_address && *mac_address) {
        if (gcs_net_mac_parse(mac_address, a->mac) < 0)
            return lcow_error_make(err, EINVAL, "network adapter: malformed MacAddress `%.64s`",
                                   mac_address);
        a->has_mac = true;
    }
    *ret = steal_pointer(&a);
    return 0;
}

int gcs_net_adapter_add_ipconfig(struct gcs_net_adapter *a, const char *ip_address,
                                 int64_t prefix_length, struct lcow_error **err)
{
    size_t i = a->n_ipconfigs;
    struct gcs_net_ipconfig c = {0};
    struct gcs_net_ipconfig *n;

    if (i >= GCS_NET_MAX_IPCONFIGS)
        return lcow_error_make(err, EINVAL, "IPConfigs: more than %d entries",
                               GCS_NET_MAX_IPCONFIGS);
    if (gcs_net_ip_parse(ip_address, &c.ip) < 0)
        return lcow_error_make(err, EINVAL, "IPConfigs[%zu].IPAddress: malformed IP `%.64s`", i,
                               ip_address ? ip_address : "");
    if (prefix_length < 0 || prefix_length > family_bits(c.ip.family))
        return lcow_error_make(err, EINVAL, "IPConfigs[%zu].PrefixLength %lld out of range 0..%u",
                               i, (long long)prefix_length, family_bits(c.ip.family));
    c.prefix_len = (unsigned)prefix_length;
    n = realloc(a->ipconfigs, (i + 1) * sizeof(*n));
    if (!n)
        return lcow_error_make(err, ENOMEM, "IPConfigs: out of memory");
    n[i] = c;
    a->ipconfigs = n;
    a->n_ipconfigs = i + 1;
    return 0;
}

/* "10.0.0.0/8" → network address with host bits cleared (Go's net.ParseCIDR does the same). */
static int parse_prefix(const char *s, struct gcs_net_ip *ret, unsigned *ret_len)
{
    char addr[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    char *end = NULL;
    unsigned long len;
    struct gcs_net_ip ip;

    if (!slash || (size_t)(slash - s) >= sizeof(addr) || !isdigit((unsigned char)slash[1]))
        return -EINVAL;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (gcs_net_ip_parse(addr, &ip) < 0)
        return -EINVAL;
    errno = 0;
    len = strtoul(slash + 1, &end, 10);
    if (errno || *end || len > family_bits(ip.family))
        return -ERANGE;
    for (unsigned b = (unsigned)len; b < family_bits(ip.family); b++)
        ip.addr[b / 8] &= (unsigned char)~(0x80u >> (b % 8));
    *ret = ip;
    *ret_len = (unsigned)len;
    return 0;
}

int gcs_net_adapter_add_route(struct gcs_net_adapter *a, const char *next_hop,
                              const char *destination_prefix, int64_t metric,
                              struct lcow_error **err)
{
    size_t i = a->n_routes;
    struct gcs_net_route rt = {0};
    struct gcs_net_route *n;
    int r;

    if (i >= GCS_NET_MAX_ROUTES)
        return lcow_error_make(err, EINVAL, "Routes: more than %d entries", GCS_NET_MAX_ROUTES);
    r = parse_prefix(destination_prefix, &rt.dst, &rt.dst_len);
    if (r == -ERANGE)
        return lcow_error_make(err, EINVAL,
                               "Routes[%zu].DestinationPrefix `%.64s`: prefix "
                               "length out of range",
                               i, destination_prefix);
    if (r < 0)
        return lcow_error_make(err, EINVAL,
                               "Routes[%zu].DestinationPrefix: malformed prefix "
                               "`%.64s`",
                               i, destination_prefix ? destination_prefix : "");
    rt.is_default = rt.dst_len == 0;
    if (next_hop && *next_hop) {
        if (gcs_net_ip_parse(next_hop, &rt.gw) < 0)
            return lcow_error_make(err, EINVAL, "Routes[%zu].NextHop: malformed IP `%.64s`", i,
                                   next_hop);
        if (rt.gw.family != rt.dst.family)
            return lcow_error_make(err, EINVAL,
                                   "Routes[%zu]: NextHop `%.64s` and "
                                   "DestinationPrefix `%.64s` differ in family",
                                   i, next_hop, destination_prefix);
        rt.gw_zero = ip_is_zero(&rt.gw);
        rt.has_gw = !rt.gw_zero;
        if (rt.has_gw && !ip_is_unicast(&rt.gw))
            return lcow_error_make(err, EINVAL,
                                   "Routes[%zu].NextHop `%.64s` is not a unicast "
                                   "address",
                                   i, next_hop);
    }
    if (metric < 0 || metric > UINT16_MAX)
        return lcow_error_make(err, EINVAL, "Routes[%zu].Metric %lld out of range", i,
                               (long long)metric);
    rt.metric = (uint32_t)metric;
    n = realloc(a->routes, (i + 1) * sizeof(*n));
    if (!n)
        return lcow_error_make(err, ENOMEM, "Routes: out of memory");
    n[i] = rt;
    a->routes = n;
    a->n_routes = i + 1;
    return 0;
}

void gcs_net_adapter_free(struct gcs_net_adapter *a)
{
    if (!a)
        return;
    free(a->namespace_id);
    free(a->id);
    free(a->dns_suffix);
    free(a->dns_server_list);
    free(a->ipconfigs);
    free(a->routes);
    free(a);
}

void gcs_net_adapter_freep(struct gcs_net_adapter **a)
{
    gcs_net_adapter_free(*a);
    *a = NULL;
}

/* ---- JSON (the Settings object of a ModifySettings `Network` request) ---- */

static int json_ipconfigs(const struct json_object *s, struct gcs_net_adapter *a,
                          struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(s, "Settings", "IPConfigs", &arr, err);
    for (size_t i = 0; r >= 0 && arr && i < json_object_array_length(arr); i++) {
        const struct json_object *e = json_object_array_get_idx(arr, i);
        const char *ip = NULL;
        int64_t plen = 0;
        char path[64];
        snprintf(path, sizeof(path), "Settings.IPConfigs[%zu]", i);
        if (!json_object_is_type(e, json_type_object))
            return lcow_error_make(err, EINVAL, "%s: not an object", path);
        if ((r = lcow_json_get_string(e, path, "IPAddress", &ip, err)) < 0 ||
            (r = lcow_json_get_int64(e, path, "PrefixLength", &plen, err)) < 0)
            return r;
        r = gcs_net_adapter_add_ipconfig(a, ip, plen, err);
    }
    return r;
}

static int json_routes(const struct json_object *s, struct gcs_net_adapter *a,
                       struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(s, "Settings", "Routes", &arr, err);
    for (size_t i = 0; r >= 0 && arr && i < json_object_array_length(arr); i++) {
        const struct json_object *e = json_object_array_get_idx(arr, i);
        const char *nh = NULL, *dst = NULL;
        int64_t metric = 0;
        char path[64];
        snprintf(path, sizeof(path), "Settings.Routes[%zu]", i);
        if (!json_object_is_type(e, json_type_object))
            return lcow_error_make(err, EINVAL, "%s: not an object", path);
        if ((r = lcow_json_get_string(e, path, "NextHop", &nh, err)) < 0 ||
            (r = lcow_json_get_string(e, path, "DestinationPrefix", &dst, err)) < 0 ||
            (r = lcow_json_get_int64(e, path, "Metric", &metric, err)) < 0)
            return r;
        r = gcs_net_adapter_add_route(a, nh, dst, metric, err);
    }
    return r;
}

int gcs_net_adapter_from_json(const struct json_object *s, struct gcs_net_adapter **ret,
                              struct lcow_error **err)
{
    const char *ns = NULL, *id = NULL, *mac = NULL, *suffix = NULL, *servers = NULL;
    int64_t encap = 0;
    bool vpci = false, pbr = false, low = false;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    int r;

    if (!json_object_is_type(s, json_type_object))
        return lcow_error_make(err, EINVAL, "Settings: not an object");
    if ((r = lcow_json_get_string(s, "Settings", "NamespaceID", &ns, err)) < 0 ||
        (r = lcow_json_get_string(s, "Settings", "ID", &id, err)) < 0 ||
        (r = lcow_json_get_string(s, "Settings", "MacAddress", &mac, err)) < 0 ||
        (r = lcow_json_get_string(s, "Settings", "DNSSuffix", &suffix, err)) < 0 ||
        (r = lcow_json_get_string(s, "Settings", "DNSServerList", &servers, err)) < 0 ||
        (r = lcow_json_get_int64(s, "Settings", "EncapOverhead", &encap, err)) < 0 ||
        (r = lcow_json_get_bool(s, "Settings", "VPCIAssigned", &vpci, err)) < 0 ||
        (r = lcow_json_get_bool(s, "Settings", "PolicyBasedRouting", &pbr, err)) < 0 ||
        (r = lcow_json_get_bool(s, "Settings", "EnableLowMetric", &low, err)) < 0)
        return r;
    if (encap < 0 || encap > UINT16_MAX)
        return lcow_error_make(err, EINVAL, "Settings.EncapOverhead %lld out of range",
                               (long long)encap);
    r = gcs_net_adapter_new(ns, id, mac, suffix, servers, &a, err);
    if (r < 0)
        return r;
    a->encap_overhead = (uint16_t)encap;
    a->vpci_assigned = vpci;
    a->policy_based_routing = pbr;
    a->enable_low_metric = low;
    if ((r = json_ipconfigs(s, a, err)) < 0 || (r = json_routes(s, a, err)) < 0)
        return r;
    *ret = steal_pointer(&a);
    return 0;
}

/* ---- the decoded Settings of gcs/protocol.h ---- */

int gcs_net_adapter_from_settings(const struct gcs_network_adapter *s, struct gcs_net_adapter **ret,
                                  struct lcow_error **err)
{
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    int r = gcs_net_adapter_new(s->namespace_id, s->id, s->mac_address, s->dns_suffix,
                                s->dns_server_list, &a, err);
    if (r < 0)
        return r;
    a->encap_overhead = s->encap_overhead;
    a->vpci_assigned = s->vpci_assigned;
    a->policy_based_routing = s->policy_based_routing;
    a->enable_low_metric = s->enable_low_metric;
    for (size_t i = 0; i < s->n_ip_configs; i++) {
        r = gcs_net_adapter_add_ipconfig(a, s->ip_configs[i].ip_address,
                                         s->ip_configs[i].prefix_length, err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        r = gcs_net_adapter_add_route(a, s->routes[i].next_hop, s->routes[i].destination_prefix,
                                      s->routes[i].metric, err);
        if (r < 0)
            return r;
    }
    *ret = steal_pointer(&a);
    return 0;
}

/* ---- route selection (§5.6) ---- */

void gcs_net_plan_routes(const struct gcs_net_adapter *a, bool low_metric,
                         struct gcs_net_route_op *out, size_t *ret_n)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_routes; i++) {
        const struct gcs_net_route *rt = &a->routes[i];
        struct gcs_net_route_op op = {0};
        /* HNS writes NextHop 0.0.0.0 / :: for a default route it does not want; the Go GCS
         * skips those. An empty NextHop still gives a device route. */
        if (rt->is_default && rt->gw_zero)
            continue;
        op.family = rt->dst.family;
        op.has_dst = !rt->is_default;
        op.dst = rt->dst;
        op.dst_len = rt->dst_len;
        op.has_gw = rt->has_gw;
        op.gw = rt->gw;
        op.metric = rt->metric;
        if (low_metric) {
            if (op.metric == 0)
                op.metric = GCS_NET_LOWMETRIC_METRIC;
            op.table = GCS_NET_LOWMETRIC_TABLE;
        }
        out[n++] = op;
    }
    *ret_n = n;
}
