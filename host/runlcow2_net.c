/* See runlcow2.h (networking). QEMU's user networking (slirp) with restrict=on: the guest
 * reaches nothing outside the VM except the guestfwd endpoints the bundle names, each a
 * guest address:port that QEMU connects to a host address:port (a test server on loopback).
 * The adapter is announced with Network ModifySettings as HNS would describe it: the gcs
 * finds the NIC by MAC (no VMBus under QEMU), moves it into the container's namespace and
 * configures the slirp address, gateway and DNS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "host/runlcow2.h"

/* slirp's fixed plan for net=10.0.2.0/24. */
#define NET_GUEST_IP "10.0.2.15"
#define NET_GATEWAY  "10.0.2.2"
#define NET_DNS      "10.0.2.3"
#define NET_PREFIX   24
#define NET_MAC      "02:4c:43:4f:57:01" /* locally administered */
#define NET_MAC_HNS  "02-4C-43-4F-57-01"
#define NET_NIC_ID   "6c636f77-6e69-6330-0000-000000000001"
#define GUESTFWD_MAX 8

static const char *annotation(const struct json_object *spec, const char *key)
{
    struct json_object *ann = lcow_json_field(spec, "annotations"), *v = NULL;
    if (ann && json_object_object_get_ex(ann, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* One guestfwd: "tcp:GUESTIP:PORT-tcp:HOSTIP:PORT", only characters QEMU's option parser
 * treats as data (no ',' which would start another suboption). */
static int check_guestfwd(const char *f, struct lcow_error **err)
{
    unsigned a, b, c, d, p, e, g, h, k, q;
    int n = 0;
    if (sscanf(f, "tcp:%u.%u.%u.%u:%u-tcp:%u.%u.%u.%u:%u%n", &a, &b, &c, &d, &p, &e, &g, &h, &k, &q,
               &n) != 10 ||
        f[n] != '\0' || a > 255 || b > 255 || c > 255 || d > 255 || e > 255 || g > 255 || h > 255 ||
        k > 255 || p == 0 || p > 65535 || q == 0 || q > 65535)
        return lcow_error_make(err, EINVAL,
                               "annotation " RL2_NET_GUESTFWD_ANNOTATION
                               ": `%s` is not tcp:GUESTIP:PORT-tcp:HOSTIP:PORT",
                               f);
    return 0;
}

int rl2_net_from_spec(const struct json_object *spec, struct rl2_net *ret, struct lcow_error **err)
{
    memset(ret, 0, sizeof(*ret));
    const char *mode = annotation(spec, RL2_NET_ANNOTATION);
    if (!mode || strcmp(mode, "none") == 0)
        return 0;
    if (strcmp(mode, "user") != 0)
        return lcow_error_make(err, EINVAL, "annotation " RL2_NET_ANNOTATION ": `%s` (user|none)",
                               mode);
    const char *ns = NULL;
    struct json_object *net = lcow_json_field(lcow_json_field(spec, "windows"), "network");
    int r = lcow_json_get_string(net, "windows.network", "networkNamespace", &ns, err);
    if (r < 0)
        return r;
    if (!ns || !*ns || strlen(ns) > 64 || strpbrk(ns, "/ ,"))
        return lcow_error_make(err, EINVAL,
                               "network `user` needs windows.network.networkNamespace (a GUID)");
    snprintf(ret->namespace_id, sizeof(ret->namespace_id), "%s", ns);
    cleanup_free char *netdev =
        strdup("user,id=net0,restrict=on,net=10.0.2.0/24,host=" NET_GATEWAY ",dns=" NET_DNS);
    if (!netdev)
        return lcow_error_make(err, ENOMEM, "netdev");
    const char *fwd = annotation(spec, RL2_NET_GUESTFWD_ANNOTATION);
    cleanup_free char *list = fwd ? strdup(fwd) : NULL;
    char *save = NULL;
    int count = 0;
    for (char *f = list ? strtok_r(list, " ;", &save) : NULL; f; f = strtok_r(NULL, " ;", &save)) {
        if (++count > GUESTFWD_MAX)
            return lcow_error_make(err, E2BIG, "more than %d guestfwd entries", GUESTFWD_MAX);
        if ((r = check_guestfwd(f, err)) < 0)
            return r;
        char *n = NULL;
        if (asprintf(&n, "%s,guestfwd=%s", netdev, f) < 0)
            return lcow_error_make(err, ENOMEM, "netdev");
        free(netdev);
        netdev = n;
    }
    ret->enabled = true;
    ret->netdev = steal_pointer(&netdev);
    if (!(ret->device = strdup("virtio-net-pci,netdev=net0,mac=" NET_MAC)))
        return lcow_error_make(err, ENOMEM, "netdev");
    return 0;
}

void rl2_net_done(struct rl2_net *n)
{
    free(n->netdev);
    free(n->device);
    n->netdev = n->device = NULL;
}

size_t rl2_net_qemu_args(const struct rl2_net *n, const char **argv, size_t cap)
{
    if (!n->enabled || cap < 5)
        return 0;
    argv[0] = "-netdev";
    argv[1] = n->netdev;
    argv[2] = "-device";
    argv[3] = n->device;
    argv[4] = NULL;
    return 4;
}

int rl2_net_modify(struct host_bridge *b, const struct rl2_net *n, bool add,
                   struct lcow_error **err)
{
    if (!n->enabled)
        return 0;
    struct gcs_ip_config ip = {.ip_address = NET_GUEST_IP, .prefix_length = NET_PREFIX};
    struct gcs_route route = {.next_hop = NET_GATEWAY, .destination_prefix = "0.0.0.0/0"};
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_NETWORK,
                                   .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
                                   .request_type_name = add ? "Add" : "Remove",
                                   .has_settings = true};
    q.settings.network = (struct gcs_network_adapter){
        .namespace_id = (char *)n->namespace_id,
        .id = NET_NIC_ID,
        .mac_address = add ? NET_MAC_HNS : NULL,
        .dns_server_list = add ? NET_DNS : NULL,
        .ip_configs = add ? &ip : NULL,
        .n_ip_configs = add ? 1 : 0,
        .routes = add ? &route : NULL,
        .n_routes = add ? 1 : 0,
    };
    int32_t result = 0;
    int r = host_bridge_modify(b, NULL, &q, 30000, &result, err);
    return r < 0 ? lcow_error_wrap(err, "Network %s", add ? "Add" : "Remove") : 0;
}
