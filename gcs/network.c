/* The namespace table and Sync (gcs-protocol.md §5.6).
 *
 * Entries are keyed by the lower-cased HNS NamespaceID and hold the adapters added to them
 * plus, once a container exists, the target: a network namespace fd, or "host" (configure
 * in place). Sync configures each adapter not yet configured; each adapter's changes are
 * journalled and undone in reverse order if any step fails, so a bad route or address
 * leaves both namespaces as they were and the adapter back where it started.
 *
 * One mutex guards the table and serialises configuration: Sync may run udhcpc for up to its
 * timeout, which then delays other network requests, never the bridge. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/network.h"
#include "gcs/network_netlink.h"

#define JOURNAL_MAX (2 * GCS_NET_MAX_IPCONFIGS + 2 * GCS_NET_MAX_ROUTES + 4)

struct nic {
    struct gcs_net_adapter *a;
    char ifname[IFNAMSIZ];
    bool configured; /* moved into (or set up in) the entry's current target */
};

struct ns_entry {
    char *id; /* lower-cased */
    struct nic *nics;
    size_t n_nics;
    int netns_fd; /* target network namespace, -1 while unassigned */
    bool host;    /* target is the agent's own namespace (hostnetwork annotation) */
    struct ns_entry *next;
};

struct gcs_network {
    pthread_mutex_t lock;
    struct ns_entry *entries;
    char *sysfs_root;
    unsigned lookup_timeout_ms;
    char **dhcp_argv;
    char *dhcp_script;
    unsigned dhcp_timeout_ms;
    gcs_net_wait_fn wait_child;
};

/* ---- configuration and lifetime ---- */

static char **strv_dup(const char *const *v)
{
    size_t n = 0;
    char **r;
    while (v && v[n])
        n++;
    r = calloc(n + 1, sizeof(*r));
    for (size_t i = 0; r && i < n; i++)
        if (!(r[i] = strdup(v[i]))) {
            lcow_strv_freep(&r);
            return NULL;
        }
    return r;
}

int gcs_network_new(const struct gcs_network_config *cfg, struct gcs_network **ret,
                    struct lcow_error **err)
{
    static const struct gcs_network_config defaults = {0};
    struct gcs_network *net = calloc(1, sizeof(*net));
    const char *const *dhcp;

    if (!cfg)
        cfg = &defaults;
    dhcp = cfg->dhcp_argv ? cfg->dhcp_argv : gcs_net_dhcp_default_argv();
    if (!net)
        return lcow_error_make(err, ENOMEM, "network table: out of memory");
    pthread_mutex_init(&net->lock, NULL);
    net->sysfs_root = strdup(cfg->sysfs_root ? cfg->sysfs_root : "/sys");
    net->dhcp_script = strdup(cfg->dhcp_script ? cfg->dhcp_script : "/sbin/udhcpc_config.script");
    net->dhcp_argv = strv_dup(dhcp); /* NULL vector: no client; Sync reports it if needed */
    net->lookup_timeout_ms = cfg->lookup_timeout_ms ? cfg->lookup_timeout_ms : 5000;
    net->dhcp_timeout_ms = cfg->dhcp_timeout_ms ? cfg->dhcp_timeout_ms : 30000;
    net->wait_child = cfg->wait_child;
    if (!net->sysfs_root || !net->dhcp_script || (dhcp && !net->dhcp_argv)) {
        gcs_network_free(net);
        return lcow_error_make(err, ENOMEM, "network table: out of memory");
    }
    *ret = net;
    return 0;
}

static void entry_free(struct ns_entry *e)
{
    for (size_t i = 0; i < e->n_nics; i++)
        gcs_net_adapter_free(e->nics[i].a);
    free(e->nics);
    if (e->netns_fd >= 0)
        lcow_close_nointr(e->netns_fd);
    free(e->id);
    free(e);
}

void gcs_network_free(struct gcs_network *net)
{
    if (!net)
        return;
    while (net->entries) {
        struct ns_entry *e = net->entries;
        net->entries = e->next;
        entry_free(e);
    }
    free(net->sysfs_root);
    free(net->dhcp_script);
    lcow_strv_freep(&net->dhcp_argv);
    pthread_mutex_destroy(&net->lock);
    free(net);
}

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gcs_network *default_net;

struct gcs_network *gcs_network_default(const struct gcs_network_config *cfg)
{
    struct gcs_network *net;
    pthread_mutex_lock(&default_lock);
    if (!default_net)
        (void)gcs_network_new(cfg, &default_net, NULL);
    net = default_net;
    pthread_mutex_unlock(&default_lock);
    return net;
}

/* ---- table helpers (lock held) ---- */

static size_t strv_count(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static char *lower_dup(const char *s)
{
    char *r = strdup(s ? s : "");
    for (char *c = r; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return r;
}

static struct ns_entry *entry_find(struct gcs_network *net, const char *id)
{
    cleanup_free char *key = lower_dup(id);
    for (struct ns_entry *e = net->entries; key && e; e = e->next)
        if (strcmp(e->id, key) == 0)
            return e;
    return NULL;
}

static int entry_get_or_add(struct gcs_network *net, const char *id, struct ns_entry **ret,
                            struct lcow_error **err)
{
    struct ns_entry *e = entry_find(net, id);
    if (!e) {
        if (strlen(id) > GCS_NET_MAX_ID_LEN)
            return lcow_error_make(err, EINVAL, "namespace id longer than %d bytes",
                                   GCS_NET_MAX_ID_LEN);
        e = calloc(1, sizeof(*e));
        if (!e || !(e->id = lower_dup(id))) {
            free(e);
            return lcow_error_make(err, ENOMEM, "namespace `%s`: out of memory", id);
        }
        e->netns_fd = -1;
        e->next = net->entries;
        net->entries = e;
    }
    *ret = e;
    return 0;
}

static void entry_unlink(struct gcs_network *net, struct ns_entry *e)
{
    for (struct ns_entry **p = &net->entries; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            return;
        }
}

static struct nic *nic_find(struct ns_entry *e, const char *adapter_id)
{
    for (size_t i = 0; i < e->n_nics; i++)
        if (strcasecmp(e->nics[i].a->id, adapter_id) == 0)
            return &e->nics[i];
    return NULL;
}

/* The search and server unions over e's adapters, plus `extra` (NULL: none). */
static int dns_union(const struct ns_entry *e, const struct gcs_net_adapter *extra,
                     char ***ret_search, char ***ret_servers)
{
    cleanup_strv char **search = NULL;
    cleanup_strv char **servers = NULL;
    size_t n = e ? e->n_nics : 0;

    for (size_t i = 0; i <= n; i++) {
        const struct gcs_net_adapter *a = i < n ? e->nics[i].a : extra;
        if (!a)
            continue;
        if (gcs_net_dns_merge(&search, a->dns_suffix) < 0 ||
            gcs_net_dns_merge(&servers, a->dns_server_list) < 0)
            return -ENOMEM;
    }
    if ((!search && gcs_net_dns_merge(&search, "") < 0) ||
        (!servers && gcs_net_dns_merge(&servers, "") < 0))
        return -ENOMEM;
    *ret_search = steal_pointer(&search);
    *ret_servers = steal_pointer(&servers);
    return 0;
}

/* ---- the undo journal of one adapter's configuration ---- */

enum jkind { J_ADDR, J_RULE, J_ROUTE, J_MTU, J_UP, J_MOVE };

struct jentry {
    enum jkind kind;
    int ifindex;
    struct gcs_net_ip ip;
    unsigned plen;
    struct gcs_net_route_op route;
    unsigned mtu;
    bool was_up;
};

struct journal {
    struct jentry e[JOURNAL_MAX];
    size_t n;
};

static void jpush(struct journal *j, struct jentry e)
{
    if (j->n < JOURNAL_MAX)
        j->e[j->n++] = e;
}

/* Best effort, newest first: every step is tried even if one fails. tgt is the socket in the
 * target namespace, uvm the one in the agent's, uvm_fd the agent's namespace, ifname the
 * adapter's interface. */
static void journal_undo(struct journal *j, struct gcs_nl *tgt, struct gcs_nl *uvm, int uvm_fd,
                         const char *ifname)
{
    while (j->n > 0) {
        struct jentry *e = &j->e[--j->n];
        switch (e->kind) {
        case J_ADDR:
            (void)gcs_nl_addr(tgt, false, e->ifindex, &e->ip, e->plen, NULL);
            break;
        case J_RULE:
            (void)gcs_nl_rule(tgt, false, &e->ip, e->plen, GCS_NET_LOWMETRIC_TABLE,
                              GCS_NET_LOWMETRIC_PRIO, NULL);
            break;
        case J_ROUTE:
            (void)gcs_nl_route(tgt, false, e->ifindex, &e->route, NULL);
            break;
        case J_MTU:
            (void)gcs_nl_link_set(tgt, e->ifindex, -1, e->mtu, NULL);
            break;
        case J_UP:
            (void)gcs_nl_link_set(tgt, e->ifindex, e->was_up, 0, NULL);
            break;
        case J_MOVE: {
            /* ifindex is the link's index in the target; back home the kernel may give it
             * another one, so it is looked up again by name there. */
            struct gcs_nl_link home;
            if (gcs_nl_link_move(tgt, e->ifindex, uvm_fd, NULL) == 0 && e->was_up &&
                gcs_nl_link_get(uvm, ifname, &home, NULL) == 0)
                (void)gcs_nl_link_set(uvm, home.ifindex, 1, 0, NULL);
            break;
        }
        default:
            break;
        }
    }
}

/* ---- configuring one adapter ---- */

struct nic_ctx {
    struct gcs_network *net;
    struct nic *nic;
    bool low_metric;
    int target_fd; /* -1: host mode */
    struct gcs_nl *uvm, *tgt;
    int uvm_fd;
    struct gcs_nl_link link; /* as seen in the target */
    struct journal j;
};

static unsigned host_len(int family)
{
    return family == AF_INET ? 32 : 128;
}

static int add_route(struct nic_ctx *c, const struct gcs_net_route_op *op, struct lcow_error **err)
{
    struct lcow_error *first = NULL;
    int r = gcs_nl_route(c->tgt, true, c->link.ifindex, op, &first);
    if (r == -ENETUNREACH && op->has_gw) {
        /* Gateway outside every subnet on the link (§5.6): the Go GCS adds the gateway
         * itself as a host address on the link and retries once. */
        lcow_error_release(&first);
        lcow_debug("network: gateway of a route on %s is outside its subnets: adding it as a "
                   "host address, then retrying",
                   c->nic->ifname);
        r = gcs_nl_addr(c->tgt, true, c->link.ifindex, &op->gw, host_len(op->family), err);
        if (r == -EEXIST)
            r = 0; /* already there (another route through the same gateway) */
        else if (r == 0)
            jpush(&c->j, (struct jentry){.kind = J_ADDR,
                                         .ifindex = c->link.ifindex,
                                         .ip = op->gw,
                                         .plen = host_len(op->family)});
        if (r < 0)
            return lcow_error_wrap(err, "gateway outside the subnet");
        r = gcs_nl_route(c->tgt, true, c->link.ifindex, op, err);
    } else if (r < 0) {
        if (err && !*err)
            *err = first; /* hand the route error up as is */
        else
            lcow_error_release(&first);
    }
    if (r == 0)
        jpush(&c->j, (struct jentry){.kind = J_ROUTE, .ifindex = c->link.ifindex, .route = *op});
    return r;
}

static int configure_static(struct nic_ctx *c, struct lcow_error **err)
{
    const struct gcs_net_adapter *a = c->nic->a;
    struct gcs_net_route_op ops[GCS_NET_MAX_ROUTES];
    size_t n_ops = 0;
    int r;

    r = gcs_nl_link_set(c->tgt, c->link.ifindex, 1, 0, err);
    if (r < 0)
        return r;
    jpush(&c->j, (struct jentry){.kind = J_UP,
                                 .ifindex = c->link.ifindex,
                                 .was_up = (c->link.flags & IFF_UP) != 0});
    for (size_t i = 0; i < a->n_ipconfigs; i++) {
        const struct gcs_net_ipconfig *ic = &a->ipconfigs[i];
        r = gcs_nl_addr(c->tgt, true, c->link.ifindex, &ic->ip, ic->prefix_len, err);
        if (r < 0)
            return r;
        jpush(&c->j, (struct jentry){.kind = J_ADDR,
                                     .ifindex = c->link.ifindex,
                                     .ip = ic->ip,
                                     .plen = ic->prefix_len});
        if (!c->low_metric)
            continue;
        r = gcs_nl_rule(c->tgt, true, &ic->ip, host_len(ic->ip.family), GCS_NET_LOWMETRIC_TABLE,
                        GCS_NET_LOWMETRIC_PRIO, err);
        if (r < 0)
            return r;
        jpush(&c->j,
              (struct jentry){.kind = J_RULE, .ip = ic->ip, .plen = host_len(ic->ip.family)});
    }
    gcs_net_plan_routes(a, c->low_metric, ops, &n_ops);
    for (size_t i = 0; i < n_ops; i++) {
        r = add_route(c, &ops[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Moves the link (looked up in the agent's namespace) into the target, down first. */
static int move_link(struct nic_ctx *c, struct lcow_error **err)
{
    struct gcs_nl_link l;
    int r = gcs_nl_link_get(c->uvm, c->nic->ifname, &l, err);
    if (r < 0)
        return r;
    if (l.flags & IFF_UP) {
        r = gcs_nl_link_set(c->uvm, l.ifindex, 0, 0, err);
        if (r < 0)
            return r;
    }
    r = gcs_nl_link_move(c->uvm, l.ifindex, c->target_fd, err);
    if (r < 0) {
        if (l.flags & IFF_UP)
            (void)gcs_nl_link_set(c->uvm, l.ifindex, 1, 0, NULL);
        return r;
    }
    r = gcs_nl_open(c->target_fd, &c->tgt, err);
    if (r >= 0)
        r = gcs_nl_link_get(c->tgt, c->nic->ifname, &c->link, err);
    if (r < 0) {
        /* Without a socket (or the link) in the target the move cannot be undone from there;
         * this needs the kernel to be out of memory or the namespace to be gone. */
        return r;
    }
    jpush(&c->j, (struct jentry){.kind = J_MOVE,
                                 .ifindex = c->link.ifindex,
                                 .was_up = (l.flags & IFF_UP) != 0});
    return 0;
}

static int configure_nic_steps(struct nic_ctx *c, struct lcow_error **err)
{
    const struct gcs_net_adapter *a = c->nic->a;
    int r;

    /* A DHCP adapter needs the client and its script: find out before moving anything. */
    if (a->n_ipconfigs == 0 && !c->net->dhcp_argv)
        return lcow_error_make(
            err, ENOENT, "adapter `%s` has no IPConfigs and no DHCP client is installed", a->id);
    if (a->n_ipconfigs == 0 && access(c->net->dhcp_script, X_OK) < 0)
        return lcow_error_errno(err, "DHCP on `%s`: event script `%s`", c->nic->ifname,
                                c->net->dhcp_script);
    if (c->target_fd >= 0) {
        r = move_link(c, err);
    } else {
        c->tgt = c->uvm;
        r = gcs_nl_link_get(c->tgt, c->nic->ifname, &c->link, err);
    }
    if (r < 0)
        return r;
    if (a->encap_overhead) {
        if (a->encap_overhead >= c->link.mtu)
            return lcow_error_make(err, EINVAL, "EncapOverhead %u >= MTU %u of `%s`",
                                   a->encap_overhead, c->link.mtu, c->nic->ifname);
        r = gcs_nl_link_set(c->tgt, c->link.ifindex, -1, c->link.mtu - a->encap_overhead, err);
        if (r < 0)
            return r;
        jpush(&c->j,
              (struct jentry){.kind = J_MTU, .ifindex = c->link.ifindex, .mtu = c->link.mtu});
    }
    if (a->n_ipconfigs > 0)
        return configure_static(c, err);
    return gcs_net_dhcp_run((const char *const *)c->net->dhcp_argv, c->net->dhcp_script,
                            c->nic->ifname, c->target_fd, c->net->dhcp_timeout_ms,
                            c->net->wait_child, err);
}

/* Moves (unless host mode) and configures one adapter; all or nothing. */
static int configure_nic(struct gcs_network *net, struct ns_entry *e, size_t index,
                         struct lcow_error **err)
{
    struct nic_ctx *c = calloc(1, sizeof(*c)); /* the journal is large: keep it off the stack */
    cleanup_nl struct gcs_nl *uvm = NULL;
    cleanup_close int uvm_fd = -1;
    int r;

    if (!c)
        return lcow_error_make(err, ENOMEM, "configure adapter: out of memory");
    c->net = net;
    c->nic = &e->nics[index];
    /* Every adapter after the first gets the low metric under PolicyBasedRouting (§5.6). */
    c->low_metric = c->nic->a->enable_low_metric || (index > 0 && c->nic->a->policy_based_routing);
    c->target_fd = e->host ? -1 : e->netns_fd;
    uvm_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    r = uvm_fd < 0 ? lcow_error_errno(err, "open /proc/thread-self/ns/net")
                   : gcs_nl_open(-1, &uvm, err);
    if (r >= 0) {
        c->uvm = uvm;
        c->uvm_fd = uvm_fd;
        r = configure_nic_steps(c, err);
        if (r < 0)
            journal_undo(&c->j, c->tgt, c->uvm, c->uvm_fd, c->nic->ifname);
    }
    if (c->tgt && c->tgt != uvm)
        gcs_nl_close(c->tgt);
    free(c);
    if (r < 0)
        return lcow_error_wrap(err, "configure adapter `%s` (%s)", e->nics[index].a->id,
                               e->nics[index].ifname);
    e->nics[index].configured = true;
    lcow_debug("network: adapter %s (%s) configured in namespace %s (%s)", e->nics[index].a->id,
               e->nics[index].ifname, e->id, e->host ? "host network" : "moved");
    return 0;
}

static int entry_sync(struct gcs_network *net, struct ns_entry *e, struct lcow_error **err)
{
    if (e->netns_fd < 0 && !e->host)
        return 0;
    for (size_t i = 0; i < e->n_nics; i++) {
        int r;
        if (e->nics[i].configured)
            continue; /* unlike the Go GCS, never move an adapter twice */
        r = configure_nic(net, e, i, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- public operations ---- */

/* The checks an Add must pass against entry e (NULL: no entry yet): a new adapter id, and a
 * DNS search union that stays within resolv.conf's limit. */
static int add_check(const struct ns_entry *e, const struct gcs_net_adapter *a,
                     struct lcow_error **err)
{
    cleanup_strv char **search = NULL;
    cleanup_strv char **servers = NULL;

    if (e && nic_find((struct ns_entry *)e, a->id))
        return lcow_error_make(
            err, EEXIST, "adapter with id `%s` already present in namespace `%s`", a->id, e->id);
    if (dns_union(e, a, &search, &servers) < 0)
        return lcow_error_make(err, ENOMEM, "DNS settings: out of memory");
    if (strv_count(search) > GCS_NET_MAX_DNS_SEARCH)
        return lcow_error_make(err, EINVAL,
                               "adapter `%s`: namespace `%s` would have %zu DNS search domains, "
                               "more than %d",
                               a->id, a->namespace_id, strv_count(search), GCS_NET_MAX_DNS_SEARCH);
    return 0;
}

int gcs_network_add(struct gcs_network *net, struct gcs_net_adapter **ap, struct lcow_error **err)
{
    struct gcs_net_adapter *a = *ap;
    struct ns_entry *e;
    struct nic *nics;
    char ifname[IFNAMSIZ];
    bool created;
    int r;

    /* Cheap checks first, then the (up to lookup_timeout_ms) interface wait without the lock,
     * so other network requests are not held up by a slow hot-add. */
    pthread_mutex_lock(&net->lock);
    r = add_check(entry_find(net, a->namespace_id), a, err);
    pthread_mutex_unlock(&net->lock);
    if (r < 0)
        return r;
    r = gcs_net_lookup_wait(net->sysfs_root, a, net->lookup_timeout_ms, ifname, err);
    if (r < 0)
        return r;

    pthread_mutex_lock(&net->lock);
    created = entry_find(net, a->namespace_id) == NULL;
    r = entry_get_or_add(net, a->namespace_id, &e, err);
    if (r < 0)
        goto out;
    r = add_check(e, a, err); /* again: the table may have changed while unlocked */
    if (r < 0)
        goto out;
    nics = realloc(e->nics, (e->n_nics + 1) * sizeof(*nics));
    if (!nics) {
        r = lcow_error_make(err, ENOMEM, "adapter `%s`: out of memory", a->id);
        goto out;
    }
    e->nics = nics;
    e->nics[e->n_nics] = (struct nic){.a = a};
    memcpy(e->nics[e->n_nics].ifname, ifname, IFNAMSIZ);
    e->n_nics++;
    r = entry_sync(net, e, err);
    if (r < 0) {
        e->n_nics--; /* not recorded: the host may retry the Add */
        goto out;
    }
    *ap = NULL; /* the table owns it now */
out:
    if (r < 0 && created && (e = entry_find(net, a->namespace_id)) && e->n_nics == 0) {
        entry_unlink(net, e);
        entry_free(e);
    }
    pthread_mutex_unlock(&net->lock);
    return r;
}

int gcs_network_remove(struct gcs_network *net, const char *namespace_id, const char *adapter_id,
                       struct lcow_error **err)
{
    struct ns_entry *e;
    struct nic *n;

    pthread_mutex_lock(&net->lock);
    e = entry_find(net, namespace_id);
    n = e ? nic_find(e, adapter_id) : NULL;
    if (!n)
        lcow_debug("network: Remove of adapter %s: not in namespace %s (nothing to do)", adapter_id,
                   namespace_id);
    if (n) {
        size_t i = (size_t)(n - e->nics);
        gcs_net_adapter_free(n->a);
        memmove(&e->nics[i], &e->nics[i + 1], (e->n_nics - i - 1) * sizeof(*n));
        e->n_nics--;
    }
    pthread_mutex_unlock(&net->lock);
    return 0;
}

int gcs_network_namespace_get_or_add(struct gcs_network *net, const char *namespace_id,
                                     struct lcow_error **err)
{
    struct ns_entry *e;
    int r;
    pthread_mutex_lock(&net->lock);
    r = entry_get_or_add(net, namespace_id, &e, err);
    pthread_mutex_unlock(&net->lock);
    return r;
}

int gcs_network_namespace_remove(struct gcs_network *net, const char *namespace_id,
                                 struct lcow_error **err)
{
    struct ns_entry *e;
    int r = 0;
    pthread_mutex_lock(&net->lock);
    e = entry_find(net, namespace_id);
    if (e && e->n_nics > 0) {
        r = lcow_error_make(err, EBUSY, "network namespace `%s` contains adapters", e->id);
    } else if (e) {
        entry_unlink(net, e);
        entry_free(e);
    }
    pthread_mutex_unlock(&net->lock);
    return r;
}

bool gcs_network_namespace_exists(struct gcs_network *net, const char *namespace_id)
{
    bool found;
    pthread_mutex_lock(&net->lock);
    found = entry_find(net, namespace_id) != NULL;
    pthread_mutex_unlock(&net->lock);
    return found;
}

int gcs_network_adapter_count(struct gcs_network *net, const char *namespace_id)
{
    struct ns_entry *e;
    int n;
    pthread_mutex_lock(&net->lock);
    e = entry_find(net, namespace_id);
    n = e ? (int)e->n_nics : -ENOENT;
    pthread_mutex_unlock(&net->lock);
    return n;
}

static bool same_netns(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Assigns the target (netns_fd >= 0, or host) to the entry and syncs it. A first assignment
 * whose sync configures nothing is withdrawn again on failure. */
static int sync_target(struct gcs_network *net, const char *namespace_id, int netns_fd, bool host,
                       struct lcow_error **err)
{
    struct ns_entry *e;
    bool assigned_now = false;
    int r;

    pthread_mutex_lock(&net->lock);
    r = entry_get_or_add(net, namespace_id, &e, err);
    if (r < 0)
        goto out;
    if (e->netns_fd < 0 && !e->host) {
        if (!host) {
            e->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 3);
            if (e->netns_fd < 0) {
                r = lcow_error_errno(err, "duplicate the network namespace fd");
                goto out;
            }
        }
        e->host = host;
        assigned_now = true;
    } else if (host != e->host || (!host && !same_netns(netns_fd, e->netns_fd))) {
        r = lcow_error_make(err, EBUSY,
                            "network namespace `%s` was previously assigned to "
                            "another %s",
                            e->id, e->host ? "target (host network)" : "container namespace");
        goto out;
    }
    r = entry_sync(net, e, err);
    if (r < 0 && assigned_now) {
        bool any = false;
        for (size_t i = 0; i < e->n_nics; i++)
            any = any || e->nics[i].configured;
        if (!any) {
            if (e->netns_fd >= 0)
                e->netns_fd = lcow_close_nointr(e->netns_fd);
            e->host = false;
        }
    }
out:
    pthread_mutex_unlock(&net->lock);
    return r;
}

int gcs_network_namespace_sync(struct gcs_network *net, const char *namespace_id, int netns_fd,
                               struct lcow_error **err)
{
    if (netns_fd < 0)
        return lcow_error_make(err, EBADF, "sync `%s`: no network namespace fd", namespace_id);
    return sync_target(net, namespace_id, netns_fd, false, err);
}

int gcs_network_namespace_sync_path(struct gcs_network *net, const char *namespace_id,
                                    const char *path, struct lcow_error **err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open network namespace `%s`", path);
    return sync_target(net, namespace_id, fd, false, err);
}

int gcs_network_namespace_sync_pid(struct gcs_network *net, const char *namespace_id, pid_t pid,
                                   struct lcow_error **err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    return gcs_network_namespace_sync_path(net, namespace_id, path, err);
}

int gcs_network_namespace_sync_host(struct gcs_network *net, const char *namespace_id,
                                    struct lcow_error **err)
{
    return sync_target(net, namespace_id, -1, true, err);
}

int gcs_network_resolv_conf(struct gcs_network *net, const char *namespace_id, char **ret,
                            struct lcow_error **err)
{
    cleanup_strv char **search = NULL;
    cleanup_strv char **servers = NULL;
    struct ns_entry *e;
    int r;

    pthread_mutex_lock(&net->lock);
    e = entry_find(net, namespace_id);
    r = e ? dns_union(e, NULL, &search, &servers) : -ENOENT;
    pthread_mutex_unlock(&net->lock);
    if (r == -ENOENT)
        return lcow_error_make(err, ENOENT, "network namespace `%s` not found", namespace_id);
    if (r < 0)
        return lcow_error_make(err, ENOMEM, "resolv.conf: out of memory");
    return gcs_net_resolv_conf_text(search, servers, ret, err);
}
