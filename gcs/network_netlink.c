/* rtnetlink over libnl-route: links, addresses, routes and rules (see network_netlink.h for
 * why the acks are read here). Each request is one message followed by one ack; nothing is
 * dumped. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/network_netlink.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Big enough for one RTM_NEWLINK reply with its statistics (IFLA_EXT_MASK is not requested,
 * so no per-VF data), and for any error ack. */
#define NL_BUF_SIZE 32768

struct gcs_nl {
    struct nl_sock *sk;
    char buf[NL_BUF_SIZE];
};

static void nl_msg_freep(struct nl_msg **m)
{
    if (*m)
        nlmsg_free(*m);
}
static void nl_addr_putp(struct nl_addr **a)
{
    if (*a)
        nl_addr_put(*a);
}
static void rtnl_addr_putp(struct rtnl_addr **a)
{
    if (*a)
        rtnl_addr_put(*a);
}
static void rtnl_route_putp(struct rtnl_route **r)
{
    if (*r)
        rtnl_route_put(*r);
}
static void rtnl_rule_putp(struct rtnl_rule **r)
{
    if (*r)
        rtnl_rule_put(*r);
}
#define cleanup_nlmsg      __attribute__((cleanup(nl_msg_freep)))
#define cleanup_nladdr     __attribute__((cleanup(nl_addr_putp)))
#define cleanup_rtnl_addr  __attribute__((cleanup(rtnl_addr_putp)))
#define cleanup_rtnl_route __attribute__((cleanup(rtnl_route_putp)))
#define cleanup_rtnl_rule  __attribute__((cleanup(rtnl_rule_putp)))

const char *gcs_nl_ip_str(const struct gcs_net_ip *ip, char *buf)
{
    if (!inet_ntop(ip->family, ip->addr, buf, INET6_ADDRSTRLEN))
        snprintf(buf, INET6_ADDRSTRLEN, "?");
    return buf;
}

static int nl_setup(struct gcs_nl *nl, struct lcow_error **err)
{
    int one = 1, fd, r;

    nl->sk = nl_socket_alloc();
    if (!nl->sk)
        return lcow_error_make(err, ENOMEM, "netlink socket: out of memory");
    /* Replies are matched by sequence number here, not by libnl's receive path. */
    nl_socket_disable_seq_check(nl->sk);
    r = nl_connect(nl->sk, NETLINK_ROUTE); /* socket(..., SOCK_CLOEXEC) in libnl >= 3.2.26 */
    if (r < 0)
        return lcow_error_make(err, EIO, "netlink connect: %s", nl_geterror(r));
    fd = nl_socket_get_fd(nl->sk);
    /* Acks without the echoed request, plus the kernel's explanation of a failure. Both are
     * optional (older kernels): failures to enable them are ignored on purpose. */
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
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
        /* Cannot happen short of a kernel bug; report it rather than carry on in the wrong
         * namespace. */
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
        nl_socket_free(nl->sk);
    free(nl);
}

void gcs_nl_closep(struct gcs_nl **nl)
{
    gcs_nl_close(*nl);
    *nl = NULL;
}

/* The NLMSGERR_ATTR_MSG text of an error ack, or NULL. */
static const char *ext_ack_msg(const struct nlmsghdr *h)
{
    const struct nlmsgerr *e = NLMSG_DATA(h);
    size_t off = NLMSG_HDRLEN + sizeof(*e);
    struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return NULL;
    /* Without NETLINK_CAP_ACK the whole request is echoed before the TLVs. */
    if (!(h->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - NLMSG_HDRLEN;
    if (h->nlmsg_len < off)
        return NULL;
    if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)h + off),
                  (int)(h->nlmsg_len - off), NULL) < 0 ||
        !tb[NLMSGERR_ATTR_MSG] || nla_len(tb[NLMSGERR_ATTR_MSG]) < 1)
        return NULL;
    /* The kernel NUL-terminates it; do not trust that blindly. */
    if (((const char *)nla_data(tb[NLMSGERR_ATTR_MSG]))[nla_len(tb[NLMSGERR_ATTR_MSG]) - 1])
        return NULL;
    return nla_get_string(tb[NLMSGERR_ATTR_MSG]);
}

typedef int (*nl_data_cb)(const struct nlmsghdr *h, void *data);

/* Sends msg and reads until its ack. Data replies with msg's sequence number go to cb.
 * Returns 0 or -errno from the kernel, with *err naming `what` and the kernel's text. */
static int nl_talk(struct gcs_nl *nl, struct nl_msg *msg, nl_data_cb cb, void *data,
                   const char *what, struct lcow_error **err)
{
    int fd = nl_socket_get_fd(nl->sk);
    unsigned seq, port = nl_socket_get_local_port(nl->sk);
    int r;

    nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
    r = nl_send_auto(nl->sk, msg); /* fills in the port and the next sequence number */
    if (r < 0)
        return lcow_error_make(err, EIO, "%s: netlink send: %s", what, nl_geterror(r));
    seq = nlmsg_hdr(msg)->nlmsg_seq;
    for (;;) {
        ssize_t n = LCOW_RETRY_EINTR(recv(fd, nl->buf, sizeof(nl->buf), 0));
        const struct nlmsghdr *m = (const struct nlmsghdr *)nl->buf;
        int len = (int)n;

        if (n < 0)
            return lcow_error_errno(err, "%s: netlink receive", what);
        for (; NLMSG_OK(m, (unsigned)len); m = NLMSG_NEXT(m, len)) {
            if (m->nlmsg_seq != seq || (m->nlmsg_pid && m->nlmsg_pid != port))
                continue; /* a stale reply of an earlier, failed exchange */
            if (m->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(m);
                const char *ext;
                if (m->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
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

static int nomem(struct lcow_error **err, const char *what)
{
    return lcow_error_make(err, ENOMEM, "%s: out of memory", what);
}

/* A libnl address (with prefix length) from ours. */
static struct nl_addr *to_nl_addr(const struct gcs_net_ip *ip, unsigned prefix_len)
{
    struct nl_addr *a = nl_addr_build(ip->family, ip->addr, ip->family == AF_INET ? 4 : 16);
    if (a)
        nl_addr_set_prefixlen(a, (int)prefix_len);
    return a;
}

/* ---- links (plain RTM_*LINK messages: libnl-route's link builders want a full object) ---- */

static int link_reply_cb(const struct nlmsghdr *h, void *data)
{
    struct gcs_nl_link *l = data;
    struct nlattr *tb[IFLA_MAX + 1];
    const struct ifinfomsg *ifi = NLMSG_DATA(h);

    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
        return -1;
    if (nlmsg_parse((struct nlmsghdr *)h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
        return -1;
    l->ifindex = ifi->ifi_index;
    l->flags = ifi->ifi_flags;
    if (tb[IFLA_IFNAME] && nla_len(tb[IFLA_IFNAME]) > 0 && nla_len(tb[IFLA_IFNAME]) <= IFNAMSIZ)
        nla_strlcpy(l->ifname, tb[IFLA_IFNAME], sizeof(l->ifname));
    if (tb[IFLA_MTU] && nla_len(tb[IFLA_MTU]) == 4)
        l->mtu = nla_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) {
        memcpy(l->mac, nla_data(tb[IFLA_ADDRESS]), 6);
        l->has_mac = true;
    }
    return 0;
}

int gcs_nl_link_get(struct gcs_nl *nl, const char *ifname, struct gcs_nl_link *ret,
                    struct lcow_error **err)
{
    cleanup_nlmsg struct nl_msg *msg = NULL;
    struct gcs_nl_link l = {.ifindex = 0};
    char what[64];
    int r;

    snprintf(what, sizeof(what), "get link `%s`", ifname);
    if (rtnl_link_build_get_request(0, ifname, &msg) < 0)
        return nomem(err, what);
    r = nl_talk(nl, msg, link_reply_cb, &l, what, err);
    if (r < 0)
        return r;
    if (l.ifindex <= 0)
        return lcow_error_make(err, ENODEV, "%s: no reply", what);
    *ret = l;
    return 0;
}

static struct nl_msg *link_msg(int ifindex, unsigned change, unsigned flags)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
    ifi.ifi_change = change;
    ifi.ifi_flags = flags;
    if (msg && nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
        nlmsg_free(msg);
        return NULL;
    }
    return msg;
}

int gcs_nl_link_set(struct gcs_nl *nl, int ifindex, int up, unsigned mtu, struct lcow_error **err)
{
    cleanup_nlmsg struct nl_msg *msg = link_msg(ifindex, up >= 0 ? IFF_UP : 0, up > 0 ? IFF_UP : 0);
    char what[64];

    snprintf(what, sizeof(what), "set link %d%s%s mtu %u", ifindex, up < 0 ? "" : " ",
             up < 0 ? "" : (up ? "up" : "down"), mtu);
    if (!msg || (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0))
        return nomem(err, what);
    return nl_talk(nl, msg, NULL, NULL, what, err);
}

int gcs_nl_link_move(struct gcs_nl *nl, int ifindex, int netns_fd, struct lcow_error **err)
{
    cleanup_nlmsg struct nl_msg *msg = link_msg(ifindex, 0, 0);
    char what[64];

    snprintf(what, sizeof(what), "move link %d to another network namespace", ifindex);
    if (!msg || nla_put_u32(msg, IFLA_NET_NS_FD, (uint32_t)netns_fd) < 0)
        return nomem(err, what);
    return nl_talk(nl, msg, NULL, NULL, what, err);
}

/* ---- addresses, routes, rules (libnl-route objects) ---- */

int gcs_nl_addr(struct gcs_nl *nl, bool add, int ifindex, const struct gcs_net_ip *ip,
                unsigned prefix_len, struct lcow_error **err)
{
    cleanup_rtnl_addr struct rtnl_addr *a = rtnl_addr_alloc();
    cleanup_nladdr struct nl_addr *local = to_nl_addr(ip, prefix_len);
    cleanup_nlmsg struct nl_msg *msg = NULL;
    char what[128], s[INET6_ADDRSTRLEN];
    int r;

    snprintf(what, sizeof(what), "%s address %s/%u", add ? "add" : "delete", gcs_nl_ip_str(ip, s),
             prefix_len);
    if (!a || !local)
        return nomem(err, what);
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_family(a, ip->family);
    if (rtnl_addr_set_local(a, local) < 0)
        return lcow_error_make(err, EINVAL, "%s: bad address", what);
    rtnl_addr_set_prefixlen(a, (int)prefix_len);
    rtnl_addr_set_scope(a, RT_SCOPE_UNIVERSE);
    r = add ? rtnl_addr_build_add_request(a, NLM_F_CREATE | NLM_F_EXCL, &msg)
            : rtnl_addr_build_delete_request(a, 0, &msg);
    if (r < 0)
        return lcow_error_make(err, EINVAL, "%s: %s", what, nl_geterror(r));
    return nl_talk(nl, msg, NULL, NULL, what, err);
}

static int route_object(int ifindex, const struct gcs_net_route_op *op, struct rtnl_route **ret)
{
    cleanup_rtnl_route struct rtnl_route *rt = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    cleanup_nladdr struct nl_addr *dst = NULL;
    cleanup_nladdr struct nl_addr *gw = NULL;

    if (!rt || !nh) {
        if (nh)
            rtnl_route_nh_free(nh);
        return -ENOMEM;
    }
    rtnl_route_set_family(rt, (uint8_t)op->family);
    rtnl_route_set_table(rt, op->table ? op->table : RT_TABLE_MAIN);
    rtnl_route_set_protocol(rt, RTPROT_BOOT);
    rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
    rtnl_route_set_type(rt, RTN_UNICAST);
    rtnl_route_set_priority(rt, op->metric);
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_add_nexthop(rt, nh); /* rt owns nh from here */
    /* libnl insists on a destination: a default route is 0.0.0.0/0 or ::/0. */
    if (op->has_dst) {
        dst = to_nl_addr(&op->dst, op->dst_len);
    } else {
        struct gcs_net_ip any = {.family = op->family};
        dst = to_nl_addr(&any, 0);
    }
    if (!dst || rtnl_route_set_dst(rt, dst) < 0)
        return -ENOMEM;
    if (op->has_gw) {
        gw = to_nl_addr(&op->gw, op->family == AF_INET ? 32 : 128);
        if (!gw)
            return -ENOMEM;
        rtnl_route_nh_set_gateway(nh, gw);
    }
    *ret = steal_pointer(&rt);
    return 0;
}

int gcs_nl_route(struct gcs_nl *nl, bool add, int ifindex, const struct gcs_net_route_op *op,
                 struct lcow_error **err)
{
    cleanup_rtnl_route struct rtnl_route *rt = NULL;
    cleanup_nlmsg struct nl_msg *msg = NULL;
    char what[192], d[INET6_ADDRSTRLEN + 5], g[INET6_ADDRSTRLEN];
    unsigned table = op->table ? op->table : RT_TABLE_MAIN;
    int r;

    if (op->has_dst)
        snprintf(d + strlen(gcs_nl_ip_str(&op->dst, d)), 5, "/%u", op->dst_len);
    snprintf(what, sizeof(what), "%s route %s%s%s metric %u table %u", add ? "add" : "delete",
             op->has_dst ? d : "default", op->has_gw ? " via " : "",
             op->has_gw ? gcs_nl_ip_str(&op->gw, g) : "", op->metric, table);
    if (route_object(ifindex, op, &rt) < 0)
        return nomem(err, what);
    r = add ? rtnl_route_build_add_request(rt, NLM_F_CREATE | NLM_F_EXCL, &msg)
            : rtnl_route_build_del_request(rt, 0, &msg);
    if (r < 0)
        return lcow_error_make(err, EINVAL, "%s: %s", what, nl_geterror(r));
    return nl_talk(nl, msg, NULL, NULL, what, err);
}

int gcs_nl_rule(struct gcs_nl *nl, bool add, const struct gcs_net_ip *src, unsigned src_len,
                unsigned table, unsigned priority, struct lcow_error **err)
{
    cleanup_rtnl_rule struct rtnl_rule *rule = rtnl_rule_alloc();
    cleanup_nladdr struct nl_addr *from = to_nl_addr(src, src_len);
    cleanup_nlmsg struct nl_msg *msg = NULL;
    char what[128], s[INET6_ADDRSTRLEN];
    int r;

    snprintf(what, sizeof(what), "%s rule from %s/%u table %u priority %u", add ? "add" : "delete",
             gcs_nl_ip_str(src, s), src_len, table, priority);
    if (!rule || !from)
        return nomem(err, what);
    rtnl_rule_set_family(rule, src->family);
    if (rtnl_rule_set_src(rule, from) < 0)
        return lcow_error_make(err, EINVAL, "%s: bad source", what);
    rtnl_rule_set_table(rule, table);
    rtnl_rule_set_prio(rule, priority);
    rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
    r = add ? rtnl_rule_build_add_request(rule, NLM_F_CREATE | NLM_F_EXCL, &msg)
            : rtnl_rule_build_delete_request(rule, 0, &msg);
    if (r < 0)
        return lcow_error_make(err, EINVAL, "%s: %s", what, nl_geterror(r));
    return nl_talk(nl, msg, NULL, NULL, what, err);
}
