/* Network adapters and namespaces of the GCS (gcs-protocol.md §4.9 `Network`, §5.6).
 *
 * A process-wide table maps the lower-cased HNS NamespaceID to the adapters (NICs) added to
 * it and, once a sandbox or standalone container exists, to that container's network
 * namespace. Adding an adapter resolves its Linux interface (VMBus instance id, VPCI, or MAC
 * address); syncing a namespace moves every adapter not yet moved into the target netns and
 * configures MTU, addresses, routes and policy rules there over rtnetlink (libnl-route), or
 * runs udhcpc when the adapter has no IPConfigs. A failed sync undoes its own changes, so bad
 * input leaves the namespaces as they were.
 *
 * Every function is thread-safe: one table lock, held while adapters are configured (so a
 * DHCP exchange delays other network requests, never the bridge), not while Add waits for
 * its interface to appear. Functions return 0 or a negative errno with *err set
 * (common/error.h) and never log above debug. */
#ifndef LCOW_GCS_NETWORK_H
#define LCOW_GCS_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct json_object;

#define GCS_NET_MAX_DNS_SEARCH   6  /* resolv.conf(5) limit the Go GCS enforces */
#define GCS_NET_MAX_IPCONFIGS    64 /* bounds on host input (style.md C10) */
#define GCS_NET_MAX_ROUTES       256
#define GCS_NET_MAX_ID_LEN       256
#define GCS_NET_MAX_DNS_LEN      4096
#define GCS_NET_LOWMETRIC_TABLE  101 /* EnableLowMetric / PolicyBasedRouting */
#define GCS_NET_LOWMETRIC_PRIO   5
#define GCS_NET_LOWMETRIC_METRIC 500

struct gcs_net_ip {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
};

struct gcs_net_ipconfig {
    struct gcs_net_ip ip;
    unsigned prefix_len;
};

struct gcs_net_route {
    bool is_default;       /* DestinationPrefix 0.0.0.0/0 or ::/0 */
    struct gcs_net_ip dst; /* network address (host bits cleared, as Go's ParseCIDR) */
    unsigned dst_len;
    bool has_gw;  /* false for an empty or all-zero NextHop */
    bool gw_zero; /* NextHop was 0.0.0.0 / :: ("no gateway" as HNS writes it) */
    struct gcs_net_ip gw;
    uint32_t metric;
};

/* One `Network` Settings object, validated: every address parsed, every prefix in range. */
struct gcs_net_adapter {
    char *namespace_id; /* lower-cased */
    char *id;           /* as sent; compared case-insensitively */
    bool has_mac;
    unsigned char mac[6];
    char *dns_suffix;      /* comma-separated search list, as sent ("" when absent) */
    char *dns_server_list; /* comma-separated, as sent ("" when absent) */
    uint16_t encap_overhead;
    bool vpci_assigned;
    bool policy_based_routing;
    bool enable_low_metric;
    struct gcs_net_ipconfig *ipconfigs;
    size_t n_ipconfigs;
    struct gcs_net_route *routes;
    size_t n_routes;
};

/* Builder. gcs_net_adapter_new() validates the ids (non-empty ID without '/' or NUL, bounded
 * lengths), the MAC ("00-15-5D-52-C0-00" or colon form; NULL/"" = none) and the DNS strings
 * (bounded; NULL = ""). The add_* calls parse one IPConfig / Route and name the offending
 * field in the error ("IPConfigs[1].PrefixLength 33 > 32"). */
int gcs_net_adapter_new(const char *namespace_id, const char *id, const char *mac_address,
                        const char *dns_suffix, const char *dns_server_list,
                        struct gcs_net_adapter **ret, struct lcow_error **err);
int gcs_net_adapter_add_ipconfig(struct gcs_net_adapter *a, const char *ip_address,
                                 int64_t prefix_length, struct lcow_error **err);
int gcs_net_adapter_add_route(struct gcs_net_adapter *a, const char *next_hop,
                              const char *destination_prefix, int64_t metric,
                              struct lcow_error **err);
void gcs_net_adapter_free(struct gcs_net_adapter *a);
void gcs_net_adapter_freep(struct gcs_net_adapter **a);
#define cleanup_net_adapter __attribute__((cleanup(gcs_net_adapter_freep)))

/* Decodes a ModifySettings `Network` Settings object the way the Go GCS reads it
 * (common/json.h rules), then validates it as above. */
int gcs_net_adapter_from_json(const struct json_object *settings, struct gcs_net_adapter **ret,
                              struct lcow_error **err);

/* Parses "a.b.c.d" or an IPv6 literal. 0 or -EINVAL (no error object: callers name the field). */
int gcs_net_ip_parse(const char *s, struct gcs_net_ip *ret);
/* Parses "00-15-5D-52-C0-00" / "00:15:5d:52:c0:00". 0 or -EINVAL. */
int gcs_net_mac_parse(const char *s, unsigned char ret[6]);

/* ---- the namespace table ---- */

/* Waits for child pid to exit and returns its raw wait status; gcs passes gcs_reaper_wait()
 * (its one reaper), the default waits through the pidfd. 0 or -errno. */
typedef int (*gcs_net_wait_fn)(pid_t pid, int *ret_status);

struct gcs_network_config {
    const char *sysfs_root;       /* default "/sys" (tests use a fake tree) */
    unsigned lookup_timeout_ms;   /* interface lookup bound; default 5000 (the Go GCS's 5 s) */
    const char *const *dhcp_argv; /* DHCP client argv prefix; default udhcpc (or busybox's) */
    const char *dhcp_script;      /* default /sbin/udhcpc_config.script */
    unsigned dhcp_timeout_ms;     /* default 30000 */
    gcs_net_wait_fn wait_child;   /* how the DHCP client is reaped (NULL: its pidfd) */
};

struct gcs_network;

/* cfg may be NULL (all defaults). Strings in cfg are copied. */
int gcs_network_new(const struct gcs_network_config *cfg, struct gcs_network **ret,
                    struct lcow_error **err);
void gcs_network_free(struct gcs_network *net);

/* A process-wide table: the first call creates it from cfg (NULL: defaults), later calls
 * return the same table and ignore cfg. NULL only when out of memory. Inside gcs use
 * gcs_network_for(), which passes gcs's options and reaper. */
struct gcs_network *gcs_network_default(const struct gcs_network_config *cfg);

/* Network Add: the namespace entry is created on demand; -EEXIST when an adapter with this
 * ID (case-insensitive) is already in it; -EINVAL when the DNS search union would exceed
 * GCS_NET_MAX_DNS_SEARCH. Resolves the interface within lookup_timeout_ms (-ETIMEDOUT
 * otherwise). If the namespace already has a target (sync_* was called), the adapter is moved
 * and configured now; on failure it is not recorded. Takes ownership of *a on success (*a is
 * set to NULL); on failure *a stays with the caller. */
int gcs_network_add(struct gcs_network *net, struct gcs_net_adapter **a, struct lcow_error **err);

/* Network Remove: drops the adapter from its namespace. A missing namespace or adapter is
 * success, as in the Go GCS; nothing is torn down in the guest (the NIC leaves with the
 * hot-remove). */
int gcs_network_remove(struct gcs_network *net, const char *namespace_id, const char *adapter_id,
                       struct lcow_error **err);

/* Creates the entry if missing (standalone create, skip-networking sandboxes). */
int gcs_network_namespace_get_or_add(struct gcs_network *net, const char *namespace_id,
                                     struct lcow_error **err);
/* Removes an entry: -EBUSY while it holds adapters; a missing entry is success. */
int gcs_network_namespace_remove(struct gcs_network *net, const char *namespace_id,
                                 struct lcow_error **err);
bool gcs_network_namespace_exists(struct gcs_network *net, const char *namespace_id);
/* Number of adapters in the entry, or -ENOENT. */
int gcs_network_adapter_count(struct gcs_network *net, const char *namespace_id);

/* Sync (the containers issue calls this when a sandbox's / standalone container's network
 * namespace exists): assigns the target and moves + configures every adapter not yet moved.
 * The entry is created if missing. Assigning a different target than before is -EBUSY
 * ("previously assigned"); the same target again just syncs adapters added since.
 *   _sync:      netns_fd is borrowed (duplicated internally), e.g. open("/proc/PID/ns/net").
 *   _sync_pid:  opens /proc/<pid>/ns/net.
 *   _sync_path: opens path (e.g. /var/run/netns/NAME).
 *   _sync_host: host-network mode: configure in place, in the caller's netns. */
int gcs_network_namespace_sync(struct gcs_network *net, const char *namespace_id, int netns_fd,
                               struct lcow_error **err);
int gcs_network_namespace_sync_pid(struct gcs_network *net, const char *namespace_id, pid_t pid,
                                   struct lcow_error **err);
int gcs_network_namespace_sync_path(struct gcs_network *net, const char *namespace_id,
                                    const char *path, struct lcow_error **err);
int gcs_network_namespace_sync_host(struct gcs_network *net, const char *namespace_id,
                                    struct lcow_error **err);

/* resolv.conf text for the namespace (§5.6): union of all its adapters' DNS settings.
 * -ENOENT when the entry is missing. *ret is heap text the caller frees. */
int gcs_network_resolv_conf(struct gcs_network *net, const char *namespace_id, char **ret,
                            struct lcow_error **err);

/* ---- DNS and host files (pure text, gcs/network_dns.c) ---- */

/* Appends the comma-separated items of `list` to the NULL-terminated heap vector *v: each
 * trimmed and lower-cased, empty items and duplicates dropped, order kept. 0 or -ENOMEM. */
int gcs_net_dns_merge(char ***v, const char *list);
/* "search a b\n" (if any) then "nameserver X\n" per server. -EINVAL with more than
 * GCS_NET_MAX_DNS_SEARCH searches. */
int gcs_net_resolv_conf_text(char *const *searches, char *const *servers, char **ret,
                             struct lcow_error **err);
/* /etc/hosts for `hostname` exactly as the Go GCS writes it. */
int gcs_net_hosts_text(const char *hostname, char **ret, struct lcow_error **err);
/* ^[a-zA-Z0-9_\-\.]{0,255}$ */
bool gcs_net_hostname_valid(const char *hostname);
/* Writes DIR/hostname ("name\n"), DIR/hosts and, when resolv_conf is non-NULL,
 * DIR/resolv.conf (each atomically, mode 0644). -EINVAL for an invalid hostname. */
int gcs_net_write_etc_files(const char *dir, const char *hostname, const char *resolv_conf,
                            struct lcow_error **err);

/* ---- interface lookup (gcs/network_nic.c) ---- */

/* One attempt (no waiting): the interface name for a VMBus instance id
 * (<sysfs>/bus/vmbus/devices/<id lower>/net/<single entry>, or for VPCI
 * <...>/<id>/pci*\/<bus>*\/net/<single entry>), -ENOENT when not there (yet), -EINVAL when
 * ambiguous. ret has IFNAMSIZ bytes. */
int gcs_net_lookup_instance_id(const char *sysfs_root, const char *id, bool vpci, char *ret,
                               struct lcow_error **err);
/* One attempt: the interface in <sysfs>/class/net whose address is mac (enslaved links, e.g.
 * an accelerated-networking VF, are skipped). -ENOENT, or -EINVAL when ambiguous. */
int gcs_net_lookup_mac(const char *sysfs_root, const unsigned char mac[6], char *ret,
                       struct lcow_error **err);
/* Instance id first, then MAC, polling until timeout_ms: -ETIMEDOUT naming both keys. */
int gcs_net_lookup_wait(const char *sysfs_root, const struct gcs_net_adapter *a,
                        unsigned timeout_ms, char *ret, struct lcow_error **err);

/* ---- what Sync programs (route selection rules, gcs/network_plan.c) ---- */

struct gcs_net_route_op {
    int family;
    bool has_dst; /* false: default route (no RTA_DST) */
    struct gcs_net_ip dst;
    unsigned dst_len;
    bool has_gw;
    struct gcs_net_ip gw;
    uint32_t metric;
    uint32_t table; /* 0: main */
};

/* The routes Sync adds for adapter a (low_metric: EnableLowMetric in effect): a default route
 * whose NextHop is 0.0.0.0 / :: skipped (an empty NextHop gives a device route), metric 500 for
 * Metric 0 under low metric, table 101 under low metric. out has room for a->n_routes entries;
 * *ret_n is the count used. */
void gcs_net_plan_routes(const struct gcs_net_adapter *a, bool low_metric,
                         struct gcs_net_route_op *out, size_t *ret_n);

/* ---- DHCP (gcs/network_dhcp.c) ---- */

/* Runs `argv_prefix... -q -i IFNAME -s SCRIPT` (udhcpc's flags) inside netns_fd (-1: the
 * caller's), with an empty signal mask, stdout to /dev/null and stderr captured, and waits at
 * most timeout_ms (then SIGKILL). The child is reaped by wait_child (NULL: waitid on its
 * pidfd). argv_prefix[0] must be an absolute path. 0, -ETIMEDOUT, or -EIO for a non-zero
 * exit (the message carries the client's stderr). */
int gcs_net_dhcp_run(const char *const *argv_prefix, const char *script, const char *ifname,
                     int netns_fd, unsigned timeout_ms, gcs_net_wait_fn wait_child,
                     struct lcow_error **err);
/* The default client: /sbin/udhcpc, /usr/sbin/udhcpc, else busybox's applet; NULL if none. */
const char *const *gcs_net_dhcp_default_argv(void);

/* ---- inside gcs (gcs/network_modify.c) ---- */

struct gcs;
struct gcs_modify_request;
struct gcs_network_adapter; /* gcs/protocol.h: the decoded Settings */

/* gcs's table: gcs_network_default() configured with -sysfs-root and gcs_reaper_wait(). The
 * containers code calls gcs_network_namespace_sync*() / _resolv_conf() on it. */
struct gcs_network *gcs_network_for(struct gcs *g);
/* Validates a decoded Settings object into an adapter (errors name the field). */
int gcs_net_adapter_from_settings(const struct gcs_network_adapter *s, struct gcs_net_adapter **ret,
                                  struct lcow_error **err);
/* The ModifySettings row of gcs/modify.c: `Network` Add / Remove on the UVM id; any other
 * RequestType is -EOPNOTSUPP ("the RequestType ... is not supported"). */
int gcs_network_modify(struct gcs *g, const struct gcs_modify_request *req,
                       struct lcow_error **err);

#endif
