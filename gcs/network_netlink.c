/* rtnetlink over libmnl: links, addresses, routes and rules (see network_netlink.h for why
 * not libnl). Each request is one message followed by one ack; nothing is dumped. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/network_netlink.h"

/* Big enough for any single request here and for one RTM_NEWLINK reply (which carries stats
 * and, with many VFs, more; IFLA_EXT_MASK is not requested so replies stay small). */
#define NL_BUF_SIZE 32768

struct gcs_nl {
    struct mnl_socket *sk;
    unsigned portid;
    unsigned seq;
    char buf[NL_BUF_SIZE];
};

const char *gcs_nl_ip_str(const struct gcs_net_ip *ip, char *buf)
{
    if (!inet_ntop(ip->family, ip->addr, buf, INET6_ADDRSTRLEN))
        snprintf(buf, INET6_ADDRSTRLEN, "?");
    return buf;
}

static int nl_setup(struct gcs_nl *nl, struct lcow_error **err)
{
    int one = 1;
    nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl->sk)
        return lcow_error_errno(err, "netlink socket");
    if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0)
        return lcow_error_errno(err, "netlink bind");
    /* Acks without the echoed request, plus the kernel's explanation of a failure. Both are
     * optional (older kernels): failures to enable them are ignored on purpose. */
    (void)mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
    (void)mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
    nl->portid = mnl_socket_get_portid(nl->sk);
    nl->seq = (unsigned)lcow_now_ns();
    return 0;
}

int gcs_nl_open(int netns_fd, struct gcs_nl **ret, struct lcow_error **err)
{
    cleanup_nl struct gcs_nl *nl = calloc(1, sizeof(*nl));
    cleanup_close int self = -1;
    int r;

    if (!nl)
        return lcow_error_make(err, ENOMEM, "netlink: out of memory");
    if (netns_fd < 0) {
        r = nl_setup(nl, err);
        if (r < 0)
            return r;
        *ret = steal_pointer(&nl);
        return 0;
    }
    /* Network namespaces are per thread: only this thread switches, and only briefly. */
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return lcow_error_errno(err, "open /proc/thread-self/ns/net");
    if (setns(netns_fd, CLONE_NEWNET) < 0)
        return lcow_error_errno(err, "setns into the target network namespace");
    r = nl_setup(nl, err);
    if (setns(self, CLONE_NEWNET) < 0) {
        /* Cannot happen short of a kernel bug; report it loudly through the error chain
         * rather than carry on in the wrong namespace. */
        lcow_error_release(err);
        return lcow_error_errno(err, "setns back into the agent's network namespace");
    }
    if (r < 0)
        return r;
    *ret = steal_pointer(&nl);
    return 0;
}

void gcs_nl_close(struct gcs_nl *nl)
{
    if (!nl)
        return;
    if (nl->sk)
        mnl_socket_close(nl->sk);
    free(nl);
}

void gcs_nl_closep(struct gcs_nl **nl)
{
    gcs_nl_close(*nl);
    *nl = NULL;
}

static struct nlmsghdr *nl_msg(struct gcs_nl *nl, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    h->nlmsg_seq = ++nl->seq;
    return h;
}

/* The NLMSGERR_ATTR_MSG text of an error ack, or NULL. */
static const char *ext_ack_msg(const struct nlmsghdr *h)
{
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
    size_t off = sizeof(*e);
    const struct nlattr *a;

    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return NULL;
    /* Without NETLINK_CAP_ACK the whole request is echoed before the TLVs. */
    if (!(h->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
    if (mnl_nlmsg_get_payload_len(h) < off)
        return NULL;
    mnl_attr_for_each(a, h, off)
    {
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
            return mnl_attr_get_str(a);
    }
    return NULL;
}

typedef int (*nl_data_cb)(const struct nlmsghdr *h, void *data);

/* Sends h and reads until its ack. Data replies with h's sequence number go to cb.
 * Returns 0 or -errno from the kernel, with *err naming `what` and the kernel's text. */
static int nl_talk(struct gcs_nl *nl, struct nlmsghdr *h, nl_data_cb cb, void *data,
                   const char *what, struct lcow_error **err)
{
    unsigned seq = h->nlmsg_seq;

    if (mnl_socket_sendto(nl->sk, h, h->nlmsg_len) < 0)
        return lcow_error_errno(err, "%s: netlink send", what);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
        const struct nlmsghdr *m = (const struct nlmsghdr *)nl->buf;
        int len = (int)n;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return lcow_error_errno(err, "%s: netlink receive", what);
        }
        for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_seq != seq || (m->nlmsg_pid && m->nlmsg_pid != nl->portid))
                continue; /* a stale reply of an earlier, failed exchange */
            if (m->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                const char *ext;
                if (mnl_nlmsg_get_payload_len(m) < sizeof(*e))
                    return lcow_error_make(err, EPROTO, "%s: truncated netlink ack", what);
                if (e->error == 0)
                    return 0;
                ext = ext_ack_msg(m);
                errno = -e->error;
                return ext ? lcow_error_errno(err, "%s: %s", what, ext)
                           : lcow_error_errno(err, "%s", what);
            }
            if (m->nlmsg_type == NLMSG_DONE)
                return 0;
            if (cb && cb(m, data) < 0)
                return lcow_error_make(err, EPROTO, "%s: malformed netlink reply", what);
        }
    }
}

/* ---- links ---- */

static int link_attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);
    if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
        return MNL_CB_OK; /* newer kernel attribute: not ours */
    switch (type) {
    case IFLA_IFNAME:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
            return MNL_CB_ERROR;
        break;
    case IFLA_MTU:
        if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
            return MNL_CB_ERROR;
        break;
    default:
        break;
    }
    tb[type] = a;
    return MNL_CB_OK;
}

static int link_reply_cb(const struct nlmsghdr *h, void *data)
{
    struct gcs_nl_link *l = data;
    const struct nlattr *tb[IFLA_MAX + 1] = {0};
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);

    if (h->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(h) < sizeof(*ifi))
        return -1;
    if (mnl_attr_parse(h, sizeof(*ifi), link_attr_cb, tb) != MNL_CB_OK)
        return -1;
    l->ifindex = ifi->ifi_index;
    l->flags = ifi->ifi_flags;
    if (tb[IFLA_IFNAME])
        snprintf(l->ifname, sizeof(l->ifname), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
    if (tb[IFLA_MTU])
        l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
        memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
        l->has_mac = true;
    }
    return 0;
}

int gcs_nl_link_get(struct gcs_nl *nl, const char *ifname, struct gcs_nl_link *ret,
                    struct lcow_error **err)
{
    struct nlmsghdr *h = nl_msg(nl, RTM_GETLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    struct gcs_nl_link l = {.ifindex = 0};
    char what[64];
    int r;

    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, ifname);
    snprintf(what, sizeof(what), "get link `%s`", ifname);
    r = nl_talk(nl, h, link_reply_cb, &l, what, err);
    if (r < 0)
        return r;
    if (l.ifindex <= 0)
        return lcow_error_make(err, ENODEV, "%s: no reply", what);
    *ret = l;
    return 0;
}

int gcs_nl_link_set(struct gcs_nl *nl, int ifindex, int up, unsigned mtu, struct lcow_error **err)
{
    struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    char what[64];

    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    if (up >= 0) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = up ? IFF_UP : 0;
    }
    if (mtu)
        mnl_attr_put_u32(h, IFLA_MTU, mtu);
    snprintf(what, sizeof(what), "set link %d%s%s mtu %u", ifindex, up < 0 ? "" : " ",
             up < 0 ? "" : (up ? "up" : "down"), mtu);
    return nl_talk(nl, h, NULL, NULL, what, err);
}

int gcs_nl_link_move(struct gcs_nl *nl, int ifindex, int netns_fd, struct lcow_error **err)
{
    struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    char what[64];

    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
    snprintf(what, sizeof(what), "move link %d to another network namespace", ifindex);
    return nl_talk(nl, h, NULL, NULL, what, err);
}

/* ---- addresses, routes, rules ---- */

static size_t ip_len(const struct gcs_net_ip *ip)
{
    return ip->family == AF_INET ? 4 : 16;
}

int gcs_nl_addr(struct gcs_nl *nl, bool add, int ifindex, const struct gcs_net_ip *ip,
                unsigned prefix_len, struct lcow_error **err)
{
    struct nlmsghdr *h =
        nl_msg(nl, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
    char what[128], s[INET6_ADDRSTRLEN];

    ifa->ifa_family = (unsigned char)ip->family;
    ifa->ifa_prefixlen = (unsigned char)prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)ifindex;
    mnl_attr_put(h, IFA_LOCAL, ip_len(ip), ip->addr);
    mnl_attr_put(h, IFA_ADDRESS, ip_len(ip), ip->addr);
    snprintf(what, sizeof(what), "%s address %s/%u", add ? "add" : "delete", gcs_nl_ip_str(ip, s),
             prefix_len);
    return nl_talk(nl, h, NULL, NULL, what, err);
}

int gcs_nl_route(struct gcs_nl *nl, bool add, int ifindex, const struct gcs_net_route_op *op,
                 struct lcow_error **err)
{
    struct nlmsghdr *h =
        nl_msg(nl, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
    char what[192], d[INET6_ADDRSTRLEN + 5], g[INET6_ADDRSTRLEN];
    unsigned table = op->table ? op->table : RT_TABLE_MAIN;

    rtm->rtm_family = (unsigned char)op->family;
    rtm->rtm_dst_len = op->has_dst ? (unsigned char)op->dst_len : 0;
    rtm->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    if (op->has_dst)
        mnl_attr_put(h, RTA_DST, ip_len(&op->dst), op->dst.addr);
    if (op->has_gw)
        mnl_attr_put(h, RTA_GATEWAY, ip_len(&op->gw), op->gw.addr);
    mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
    mnl_attr_put_u32(h, RTA_PRIORITY, op->metric);
    mnl_attr_put_u32(h, RTA_TABLE, table);
    if (op->has_dst)
        snprintf(d + strlen(gcs_nl_ip_str(&op->dst, d)), 5, "/%u", op->dst_len);
    snprintf(what, sizeof(what), "%s route %s%s%s metric %u table %u", add ? "add" : "delete",
             op->has_dst ? d : "default", op->has_gw ? " via " : "",
             op->has_gw ? gcs_nl_ip_str(&op->gw, g) : "", op->metric, table);
    return nl_talk(nl, h, NULL, NULL, what, err);
}

int gcs_nl_rule(struct gcs_nl *nl, bool add, const struct gcs_net_ip *src, unsigned src_len,
                unsigned table, unsigned priority, struct lcow_error **err)
{
    struct nlmsghdr *h =
        nl_msg(nl, add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(h, sizeof(*frh));
    char what[128], s[INET6_ADDRSTRLEN];

    frh->family = (unsigned char)src->family;
    frh->src_len = (unsigned char)src_len;
    frh->table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
    frh->action = FR_ACT_TO_TBL;
    mnl_attr_put(h, FRA_SRC, ip_len(src), src->addr);
    mnl_attr_put_u32(h, FRA_TABLE, table);
    mnl_attr_put_u32(h, FRA_PRIORITY, priority);
    snprintf(what, sizeof(what), "%s rule from %s/%u table %u priority %u", add ? "add" : "delete",
             gcs_nl_ip_str(src, s), src_len, table, priority);
    return nl_talk(nl, h, NULL, NULL, what, err);
}
