/* rtnetlink requests Sync needs (internal to gcs/network*.c), on libnl-route.
 *
 * libnl-route builds every request (rtnl_addr / rtnl_route / rtnl_rule objects and their
 * build_*_request functions); the ack is read here rather than by nl_send_sync(), because the
 * gateway-outside-subnet retry (§5.6) must tell ENETUNREACH from other failures and libnl 3.7
 * folds ENETUNREACH into NLE_FAILURE ("Unspecific failure"). So every request is acked
 * (NETLINK_CAP_ACK, NETLINK_EXT_ACK), its sequence number is checked, and an error carries the
 * kernel's errno and extended-ack text. (libmnl would fit too, but Debian ships no static
 * libmnl and gcs links statically.) */
#ifndef LCOW_GCS_NETWORK_NETLINK_H
#define LCOW_GCS_NETWORK_NETLINK_H

#include <net/if.h>
#include <stdbool.h>

#include "common/error.h"
#include "gcs/network.h"

struct gcs_nl;

/* A route socket in the network namespace netns_fd (-1: the calling thread's). The thread
 * enters netns_fd only for the socket() call and returns at once; a socket stays bound to
 * the namespace it was created in. */
int gcs_nl_open(int netns_fd, struct gcs_nl **ret, struct lcow_error **err);
void gcs_nl_close(struct gcs_nl *nl);
void gcs_nl_closep(struct gcs_nl **nl);
#define cleanup_nl __attribute__((cleanup(gcs_nl_closep)))

struct gcs_nl_link {
    int ifindex;
    char ifname[IFNAMSIZ];
    unsigned mtu;
    unsigned flags; /* IFF_* */
    bool has_mac;
    unsigned char mac[6];
};

/* RTM_GETLINK by name: -ENODEV when absent. */
int gcs_nl_link_get(struct gcs_nl *nl, const char *ifname, struct gcs_nl_link *ret,
                    struct lcow_error **err);
/* up: 1 up, 0 down, -1 unchanged; mtu 0 unchanged. */
int gcs_nl_link_set(struct gcs_nl *nl, int ifindex, int up, unsigned mtu, struct lcow_error **err);
/* Moves the link into the namespace netns_fd (IFLA_NET_NS_FD). */
int gcs_nl_link_move(struct gcs_nl *nl, int ifindex, int netns_fd, struct lcow_error **err);

/* add: RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL), else RTM_DELADDR. */
int gcs_nl_addr(struct gcs_nl *nl, bool add, int ifindex, const struct gcs_net_ip *ip,
                unsigned prefix_len, struct lcow_error **err);
/* add: RTM_NEWROUTE (scope universe, proto boot, unicast) on dev ifindex; else RTM_DELROUTE. */
int gcs_nl_route(struct gcs_nl *nl, bool add, int ifindex, const struct gcs_net_route_op *op,
                 struct lcow_error **err);
/* add: RTM_NEWRULE `from src/len table T priority P`; else RTM_DELRULE. */
int gcs_nl_rule(struct gcs_nl *nl, bool add, const struct gcs_net_ip *src, unsigned src_len,
                unsigned table, unsigned priority, struct lcow_error **err);

/* Textual form of ip for messages ("10.0.0.1", "fd00::1"); buf has INET6_ADDRSTRLEN bytes. */
const char *gcs_nl_ip_str(const struct gcs_net_ip *ip, char *buf);

#endif
