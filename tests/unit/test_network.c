/* Unit tests for gcs/network*.c that need no privileges: resolv.conf / hosts text, DNS union
 * and de-duplication, hostname validation, Settings decoding and validation, route selection,
 * the namespace table, and interface lookup against fake sysfs trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/json.h"
#include "gcs/network.h"
#include "gcs/protocol.h"

/* ---- DNS and host files ---- */

static void test_dns_merge(void **state)
{
    cleanup_strv char **v = NULL;
    assert_int_equal(gcs_net_dns_merge(&v, " Svc.Cluster.Local ,cluster.local,,"), 0);
    assert_int_equal(gcs_net_dns_merge(&v, "CLUSTER.local, corp.example ,svc.cluster.local"), 0);
    assert_non_null(v);
    assert_string_equal(v[0], "svc.cluster.local");
    assert_string_equal(v[1], "cluster.local");
    assert_string_equal(v[2], "corp.example");
    assert_null(v[3]);
}

static void test_dns_merge_empty(void **state)
{
    cleanup_strv char **v = NULL;
    assert_int_equal(gcs_net_dns_merge(&v, ""), 0);
    assert_int_equal(gcs_net_dns_merge(&v, " , ,"), 0);
    assert_non_null(v);
    assert_null(v[0]);
}

static void test_resolv_conf_text(void **state)
{
    char *search[] = {"a.example", "b.example", NULL};
    char *servers[] = {"10.0.0.10", "fd00::10", NULL};
    char *none[] = {NULL};
    cleanup_free char *t1 = NULL;
    cleanup_free char *t2 = NULL;
    cleanup_free char *t3 = NULL;

    assert_int_equal(gcs_net_resolv_conf_text(search, servers, &t1, NULL), 0);
    assert_string_equal(t1, "search a.example b.example\nnameserver 10.0.0.10\n"
                            "nameserver fd00::10\n");
    assert_int_equal(gcs_net_resolv_conf_text(none, servers, &t2, NULL), 0);
    assert_string_equal(t2, "nameserver 10.0.0.10\nnameserver fd00::10\n");
    assert_int_equal(gcs_net_resolv_conf_text(none, none, &t3, NULL), 0);
    assert_string_equal(t3, "");
}

static void test_resolv_conf_too_many_searches(void **state)
{
    char *six[] = {"a", "b", "c", "d", "e", "f", NULL};
    char *seven[] = {"a", "b", "c", "d", "e", "f", "g", NULL};
    char *none[] = {NULL};
    cleanup_free char *t = NULL;
    cleanup_free char *t2 = NULL;
    cleanup_error struct lcow_error *err = NULL;

    assert_int_equal(gcs_net_resolv_conf_text(six, none, &t, NULL), 0);
    assert_string_equal(t, "search a b c d e f\n");
    assert_int_equal(gcs_net_resolv_conf_text(seven, none, &t2, &err), -EINVAL);
    assert_null(t2);
    assert_non_null(strstr(err->msg, "more than 6"));
}

/* An item with a newline would inject a line of its own (found by fuzz_etc_files). */
static void test_resolv_conf_injection(void **state)
{
    char *evil[] = {"x\nnameserver", NULL};
    char *tab[] = {"10.0.0.1\t6.6.6.6", NULL};
    char *none[] = {NULL};
    cleanup_free char *t = NULL;
    cleanup_error struct lcow_error *err = NULL;
    cleanup_error struct lcow_error *err2 = NULL;

    assert_int_equal(gcs_net_resolv_conf_text(evil, none, &t, &err), -EINVAL);
    assert_null(t);
    assert_non_null(strstr(err->msg, "DNSSuffix item 0"));
    assert_int_equal(gcs_net_resolv_conf_text(none, tab, &t, &err2), -EINVAL);
    assert_non_null(strstr(err2->msg, "DNSServerList"));
}

static void test_hosts_text(void **state)
{
    static const char tail[] = "\n# The following lines are desirable for IPv6 capable hosts\n"
                               "::1     ip6-localhost ip6-loopback\n"
                               "fe00::0 ip6-localnet\n"
                               "ff00::0 ip6-mcastprefix\n"
                               "ff02::1 ip6-allnodes\n"
                               "ff02::2 ip6-allrouters\n";
    cleanup_free char *plain = NULL;
    cleanup_free char *dotted = NULL;
    char want[1024];

    assert_int_equal(gcs_net_hosts_text("pod1", &plain, NULL), 0);
    snprintf(want, sizeof(want), "127.0.0.1 localhost\n127.0.0.1 pod1\n%s", tail);
    assert_string_equal(plain, want);
    assert_int_equal(gcs_net_hosts_text("web.corp.example", &dotted, NULL), 0);
    snprintf(want, sizeof(want), "127.0.0.1 localhost\n127.0.0.1 web.corp.example web\n%s", tail);
    assert_string_equal(dotted, want);
}

static void test_hostname_valid(void **state)
{
    char long_ok[256], long_bad[257];
    memset(long_ok, 'a', 255);
    long_ok[255] = '\0';
    memset(long_bad, 'a', 256);
    long_bad[256] = '\0';
    assert_true(gcs_net_hostname_valid(""));
    assert_true(gcs_net_hostname_valid("pod-1.example_x"));
    assert_true(gcs_net_hostname_valid(long_ok));
    assert_false(gcs_net_hostname_valid(long_bad));
    assert_false(gcs_net_hostname_valid("a b"));
    assert_false(gcs_net_hostname_valid("a/b"));
    assert_false(gcs_net_hostname_valid("caf\xc3\xa9"));
    assert_false(gcs_net_hostname_valid("x\n"));
}

static void test_write_etc_files(void **state)
{
    char dir[] = "/tmp/lcow-test-net-etc-XXXXXX";
    cleanup_free char *hn = NULL;
    cleanup_free char *rc = NULL;
    cleanup_free char *hosts = NULL;
    cleanup_error struct lcow_error *err = NULL;
    char path[128];

    assert_non_null(mkdtemp(dir));
    assert_int_equal(gcs_net_write_etc_files(dir, "bad name", NULL, &err), -EINVAL);
    snprintf(path, sizeof(path), "%s/hostname", dir);
    assert_int_equal(access(path, F_OK), -1); /* nothing written for bad input */
    assert_int_equal(gcs_net_write_etc_files(dir, "pod1", "nameserver 1.1.1.1\n", NULL), 0);
    assert_int_equal(lcow_read_file(path, 4096, &hn, NULL, NULL), 0);
    assert_string_equal(hn, "pod1\n");
    snprintf(path, sizeof(path), "%s/resolv.conf", dir);
    assert_int_equal(lcow_read_file(path, 4096, &rc, NULL, NULL), 0);
    assert_string_equal(rc, "nameserver 1.1.1.1\n");
    unlink(path);
    snprintf(path, sizeof(path), "%s/hosts", dir);
    assert_int_equal(lcow_read_file(path, 4096, &hosts, NULL, NULL), 0);
    assert_non_null(strstr(hosts, "127.0.0.1 pod1\n"));
    unlink(path);
    snprintf(path, sizeof(path), "%s/hostname", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- Settings decoding and validation ---- */

static int adapter_json(const char *json, struct gcs_net_adapter **ret, struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    int r = lcow_json_parse(json, strlen(json), "Settings", &o, err);
    return r < 0 ? r : gcs_net_adapter_from_json(o, ret, err);
}

static void test_adapter_json(void **state)
{
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    char s[INET6_ADDRSTRLEN];
    static const char json[] =
        "{\"NamespaceID\":\"NS-GUID\",\"ID\":\"Nic-GUID\",\"MacAddress\":\"00-15-5D-52-C0-00\","
        "\"DNSSuffix\":\"svc.cluster.local\",\"DNSServerList\":\"10.0.0.10\","
        "\"EncapOverhead\":50,\"policybasedrouting\":true,"
        "\"IPConfigs\":[{\"IPAddress\":\"10.0.0.5\",\"PrefixLength\":24},"
        "{\"IPAddress\":\"fd00::5\",\"PrefixLength\":64}],"
        "\"Routes\":[{\"NextHop\":\"10.0.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"},"
        "{\"NextHop\":\"\",\"DestinationPrefix\":\"192.168.7.9/16\",\"Metric\":7}]}";

    assert_int_equal(adapter_json(json, &a, NULL), 0);
    assert_string_equal(a->namespace_id, "ns-guid");
    assert_string_equal(a->id, "Nic-GUID");
    assert_true(a->has_mac);
    assert_memory_equal(a->mac, "\x00\x15\x5d\x52\xc0\x00", 6);
    assert_int_equal(a->encap_overhead, 50);
    assert_true(a->policy_based_routing);
    assert_false(a->enable_low_metric);
    assert_int_equal(a->n_ipconfigs, 2);
    assert_int_equal(a->ipconfigs[1].ip.family, AF_INET6);
    assert_int_equal(a->ipconfigs[1].prefix_len, 64);
    assert_int_equal(a->n_routes, 2);
    assert_true(a->routes[0].is_default);
    assert_true(a->routes[0].has_gw);
    /* Host bits of the destination are cleared, as Go's ParseCIDR does. */
    assert_string_equal(inet_ntop(AF_INET, a->routes[1].dst.addr, s, sizeof(s)), "192.168.0.0");
    assert_int_equal(a->routes[1].dst_len, 16);
    assert_false(a->routes[1].has_gw);
    assert_int_equal(a->routes[1].metric, 7);
}

static void expect_bad(const char *json, const char *needle)
{
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(adapter_json(json, &a, &err), -EINVAL);
    assert_null(a);
    assert_non_null(err);
    if (!strstr(err->msg, needle))
        fail_msg("error `%s` does not mention `%s`", err->msg, needle);
}

static void test_adapter_bad_input(void **state)
{
    expect_bad("{\"ID\":\"a\",\"IPConfigs\":[{\"IPAddress\":\"10.0.0.300\",\"PrefixLength\":8}]}",
               "IPConfigs[0].IPAddress: malformed IP `10.0.0.300`");
    expect_bad("{\"ID\":\"a\",\"IPConfigs\":[{\"IPAddress\":\"10.0.0.3\",\"PrefixLength\":33}]}",
               "IPConfigs[0].PrefixLength 33");
    expect_bad("{\"ID\":\"a\",\"IPConfigs\":[{\"IPAddress\":\"fd00::3\",\"PrefixLength\":129}]}",
               "IPConfigs[0].PrefixLength 129");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"10.0.0.1\",\"DestinationPrefix\":\"x\"}]}",
               "Routes[0].DestinationPrefix");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"1.2.3\",\"DestinationPrefix\":"
               "\"0.0.0.0/0\"}]}",
               "Routes[0].NextHop: malformed IP");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"fd00::1\",\"DestinationPrefix\":"
               "\"10.0.0.0/8\"}]}",
               "differ in family");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"224.0.0.5\",\"DestinationPrefix\":"
               "\"10.0.0.0/8\"}]}",
               "Routes[0].NextHop `224.0.0.5` is not a unicast address");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"255.255.255.255\",\"DestinationPrefix\":"
               "\"10.0.0.0/8\"}]}",
               "not a unicast");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"127.0.0.1\",\"DestinationPrefix\":"
               "\"10.0.0.0/8\"}]}",
               "not a unicast");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"NextHop\":\"ff02::1\",\"DestinationPrefix\":"
               "\"::/0\"}]}",
               "not a unicast");
    expect_bad("{\"ID\":\"a\",\"Routes\":[{\"DestinationPrefix\":\"10.0.0.0/33\"}]}",
               "prefix length out of range");
    expect_bad("{\"ID\":\"a\",\"MacAddress\":\"00-15-5D-52-C0\"}", "malformed MacAddress");
    expect_bad("{\"ID\":\"a\",\"MacAddress\":\"00-15:5D-52-C0-00\"}", "malformed MacAddress");
    expect_bad("{\"ID\":\"\"}", "ID is empty");
    expect_bad("{\"ID\":\"../x\"}", "invalid ID");
    expect_bad("{\"ID\":\"a\",\"EncapOverhead\":70000}", "EncapOverhead");
    expect_bad("{\"ID\":\"a\",\"IPConfigs\":[{\"IPAddress\":5}]}", "IPAddress");
    expect_bad("{\"ID\":\"a\",\"IPConfigs\":{}}", "IPConfigs");
}

/* The host's request as lcow-host.md §3.2 shows it, through the bridge's decoder. */
static void test_adapter_from_wire(void **state)
{
    static const char wire[] =
        "{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\",\"ActivityId\":"
        "\"00000000-0000-0000-0000-000000000000\",\"Request\":{\"RequestType\":\"Add\","
        "\"ResourceType\":\"Network\",\"Settings\":{\"NamespaceID\":\"ns-guid\",\"ID\":"
        "\"nic-guid\",\"MacAddress\":\"00-15-5D-52-C0-00\",\"DNSSuffix\":\"svc.cluster.local\","
        "\"DNSServerList\":\"10.0.0.10\",\"IPConfigs\":[{\"IPAddress\":\"10.0.0.5\","
        "\"PrefixLength\":24}],\"Routes\":[{\"NextHop\":\"10.0.0.1\",\"DestinationPrefix\":"
        "\"0.0.0.0/0\"}]}}}";
    struct gcs_modify_settings_request q = {0};
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_error struct lcow_error *err = NULL;
    struct gcs_net_route_op ops[2];
    size_t n = 0;

    assert_int_equal(gcs_decode_modify_settings_request(wire, sizeof(wire) - 1, &q, NULL), 0);
    assert_int_equal(q.request.resource_type, GCS_RESOURCE_NETWORK);
    assert_int_equal(gcs_net_adapter_from_settings(&q.request.settings.network, &a, NULL), 0);
    assert_string_equal(a->namespace_id, "ns-guid");
    assert_string_equal(a->id, "nic-guid");
    assert_memory_equal(a->mac, "\x00\x15\x5d\x52\xc0\x00", 6);
    assert_string_equal(a->dns_suffix, "svc.cluster.local");
    assert_int_equal(a->n_ipconfigs, 1);
    assert_int_equal(a->ipconfigs[0].prefix_len, 24);
    gcs_net_plan_routes(a, false, ops, &n);
    assert_int_equal(n, 1);
    assert_false(ops[0].has_dst);
    assert_true(ops[0].has_gw);
    gcs_modify_settings_request_done(&q);

    /* Shape-valid JSON (the decoder accepts it) that the adapter validation refuses. */
    memset(&q, 0, sizeof(q));
    static const char bad[] = "{\"ContainerId\":\"x\",\"Request\":{\"ResourceType\":\"Network\","
                              "\"Settings\":{\"ID\":\"n\",\"IPConfigs\":[{\"IPAddress\":"
                              "\"fe80::1::2\",\"PrefixLength\":64}]}}}";
    assert_int_equal(gcs_decode_modify_settings_request(bad, sizeof(bad) - 1, &q, NULL), 0);
    assert_int_equal(gcs_net_adapter_from_settings(&q.request.settings.network, &a, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "IPConfigs[0].IPAddress: malformed IP `fe80::1::2`"));
    gcs_modify_settings_request_done(&q);
}

static void test_mac_parse(void **state)
{
    unsigned char m[6];
    assert_int_equal(gcs_net_mac_parse("aa:BB:cc:00:11:ff", m), 0);
    assert_memory_equal(m, "\xaa\xbb\xcc\x00\x11\xff", 6);
    assert_int_equal(gcs_net_mac_parse("aa:bb:cc:00:11:fg", m), -EINVAL);
    assert_int_equal(gcs_net_mac_parse("aa:bb:cc:00:11:ff:", m), -EINVAL);
    assert_int_equal(gcs_net_mac_parse("", m), -EINVAL);
}

/* ---- route selection ---- */

static void test_plan_routes(void **state)
{
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    struct gcs_net_route_op ops[8];
    size_t n = 0;

    assert_int_equal(gcs_net_adapter_new("ns", "id", NULL, NULL, NULL, &a, NULL), 0);
    assert_int_equal(gcs_net_adapter_add_route(a, "0.0.0.0", "0.0.0.0/0", 0, NULL), 0);
    assert_int_equal(gcs_net_adapter_add_route(a, "::", "::/0", 0, NULL), 0);
    assert_int_equal(gcs_net_adapter_add_route(a, "10.0.0.1", "0.0.0.0/0", 0, NULL), 0);
    assert_int_equal(gcs_net_adapter_add_route(a, "", "10.1.0.0/16", 20, NULL), 0);
    assert_int_equal(gcs_net_adapter_add_route(a, "fd00::1", "::/0", 0, NULL), 0);
    assert_int_equal(gcs_net_adapter_add_route(a, "", "0.0.0.0/0", 0, NULL), 0);

    gcs_net_plan_routes(a, false, ops, &n);
    assert_int_equal(n, 4); /* both all-zero-gateway defaults skipped */
    assert_false(ops[0].has_dst);
    assert_true(ops[0].has_gw);
    assert_int_equal(ops[0].metric, 0);
    assert_int_equal(ops[0].table, 0);
    assert_true(ops[1].has_dst);
    assert_int_equal(ops[1].dst_len, 16);
    assert_false(ops[1].has_gw);
    assert_int_equal(ops[1].metric, 20);
    assert_int_equal(ops[2].family, AF_INET6);
    assert_false(ops[2].has_dst);
    assert_false(ops[3].has_dst); /* empty NextHop on a default: a device route */
    assert_false(ops[3].has_gw);

    gcs_net_plan_routes(a, true, ops, &n);
    assert_int_equal(n, 4);
    assert_int_equal(ops[0].metric, GCS_NET_LOWMETRIC_METRIC);
    assert_int_equal(ops[0].table, GCS_NET_LOWMETRIC_TABLE);
    assert_int_equal(ops[1].metric, 20); /* an explicit metric is kept */
    assert_int_equal(ops[1].table, GCS_NET_LOWMETRIC_TABLE);
}

/* ---- fake sysfs trees ---- */

struct fake_sysfs {
    char root[64];
};

static void mkdirs(const char *root, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(lcow_mkdir_p(path, 0755, NULL), 0);
}

static void put(const char *root, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(
        lcow_write_file(path, text, strlen(text), O_CREAT | O_TRUNC | O_WRONLY, 0644, NULL), 0);
}

static void rm_rf(const char *path)
{
    /* Test-owned temporary tree only; fork/exec with argv, never a shell string. */
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

static int sysfs_setup(void **state)
{
    struct fake_sysfs *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/lcow-test-net-sysfs-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    /* Hyper-V synthetic NIC */
    mkdirs(f->root, "bus/vmbus/devices/6a2c4f1e-0000-4a1b-9c3d-00155d52c000/net/eth0");
    /* VPCI NIC below its PCI bridge */
    mkdirs(f->root, "bus/vmbus/devices/7b3d5a2f-1234-4b2c-8d4e-00155d52c001/pci1234:00/"
                    "1234:00:00.0/net/eth1");
    /* A VMBus device whose net/ is empty (not ready), and one with two interfaces. */
    mkdirs(f->root, "bus/vmbus/devices/empty-dev/net");
    mkdirs(f->root, "bus/vmbus/devices/two-dev/net/eth5");
    mkdirs(f->root, "bus/vmbus/devices/two-dev/net/eth6");
    /* class/net for MAC lookup: eth2 matches; eth3 is a VF enslaved to eth2 with the same MAC */
    mkdirs(f->root, "class/net/eth2");
    put(f->root, "class/net/eth2/address", "52:54:00:12:34:56\n");
    mkdirs(f->root, "class/net/eth3");
    put(f->root, "class/net/eth3/address", "52:54:00:12:34:56\n");
    mkdirs(f->root, "class/net/eth3/master");
    /* An InfiniBand address whose first six octets look like eth2's MAC must not match. */
    mkdirs(f->root, "class/net/ib0");
    put(f->root, "class/net/ib0/address",
        "52:54:00:12:34:56:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a\n");
    mkdirs(f->root, "class/net/lo");
    put(f->root, "class/net/lo/address", "00:00:00:00:00:00\n");
    mkdirs(f->root, "class/net/dup1");
    put(f->root, "class/net/dup1/address", "02:00:00:00:00:09\n");
    mkdirs(f->root, "class/net/dup2");
    put(f->root, "class/net/dup2/address", "02:00:00:00:00:09\n");
    *state = f;
    return 0;
}

static int sysfs_teardown(void **state)
{
    struct fake_sysfs *f = *state;
    rm_rf(f->root);
    free(f);
    return 0;
}

static void test_lookup_instance_id(void **state)
{
    struct fake_sysfs *f = *state;
    char ifname[IFNAMSIZ];
    cleanup_error struct lcow_error *err = NULL;

    /* Upper-case ids are looked up lower-cased, as the Go GCS does. */
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "6A2C4F1E-0000-4A1B-9C3D-00155D52C000",
                                                false, ifname, NULL),
                     0);
    assert_string_equal(ifname, "eth0");
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "7b3d5a2f-1234-4b2c-8d4e-00155d52c001",
                                                true, ifname, NULL),
                     0);
    assert_string_equal(ifname, "eth1");
    /* The VPCI NIC has no net/ directly below its VMBus device. */
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "7b3d5a2f-1234-4b2c-8d4e-00155d52c001",
                                                false, ifname, NULL),
                     -ENOENT);
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "missing", false, ifname, NULL), -ENOENT);
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "empty-dev", false, ifname, NULL),
                     -ENOENT);
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "two-dev", false, ifname, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "more than one"));
    lcow_error_release(&err);
    assert_int_equal(gcs_net_lookup_instance_id(f->root, "*", true, ifname, &err), -EINVAL);
}

static void test_lookup_mac(void **state)
{
    struct fake_sysfs *f = *state;
    char ifname[IFNAMSIZ];
    unsigned char mac[6];
    cleanup_error struct lcow_error *err = NULL;

    assert_int_equal(gcs_net_mac_parse("52-54-00-12-34-56", mac), 0);
    assert_int_equal(gcs_net_lookup_mac(f->root, mac, ifname, NULL), 0);
    assert_string_equal(ifname, "eth2"); /* the enslaved eth3 is skipped */
    assert_int_equal(gcs_net_mac_parse("52:54:00:12:34:57", mac), 0);
    assert_int_equal(gcs_net_lookup_mac(f->root, mac, ifname, NULL), -ENOENT);
    assert_int_equal(gcs_net_mac_parse("02:00:00:00:00:09", mac), 0);
    assert_int_equal(gcs_net_lookup_mac(f->root, mac, ifname, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "matches"));
}

static void test_lookup_wait(void **state)
{
    struct fake_sysfs *f = *state;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_net_adapter struct gcs_net_adapter *b = NULL;
    cleanup_error struct lcow_error *err = NULL;
    char ifname[IFNAMSIZ];
    unsigned long long t0;

    /* No VMBus device with this id: falls back to the MAC (QEMU). */
    assert_int_equal(gcs_net_adapter_new("ns", "nic-1", "52-54-00-12-34-56", NULL, NULL, &a, NULL),
                     0);
    assert_int_equal(gcs_net_lookup_wait(f->root, a, 100, ifname, NULL), 0);
    assert_string_equal(ifname, "eth2");
    /* Unknown everything: a bounded wait, then a clear error. */
    assert_int_equal(gcs_net_adapter_new("ns", "nic-2", "52-54-00-ff-ff-ff", NULL, NULL, &b, NULL),
                     0);
    t0 = lcow_now_ns();
    assert_int_equal(gcs_net_lookup_wait(f->root, b, 150, ifname, &err), -ETIMEDOUT);
    assert_true(lcow_now_ns() - t0 >= 150000000ull);
    assert_true(lcow_now_ns() - t0 < 2000000000ull);
    assert_non_null(strstr(err->msg, "52:54:00:ff:ff:ff"));
}

/* The NIC's sysfs entry shows up while Add is already waiting for it (a hot-add). */
static void *hot_add(void *root)
{
    struct timespec ts = {0, 150 * 1000000L};
    nanosleep(&ts, NULL);
    mkdirs(root, "bus/vmbus/devices/late-nic/net/eth9");
    return NULL;
}

static void test_lookup_late_device(void **state)
{
    struct fake_sysfs *f = *state;
    struct gcs_network_config cfg = {.sysfs_root = f->root, .lookup_timeout_ms = 3000};
    struct gcs_network *net = NULL;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    pthread_t t;

    assert_int_equal(gcs_network_new(&cfg, &net, NULL), 0);
    assert_int_equal(gcs_net_adapter_new("ns", "LATE-NIC", NULL, NULL, NULL, &a, NULL), 0);
    assert_int_equal(pthread_create(&t, NULL, hot_add, f->root), 0);
    assert_int_equal(gcs_network_add(net, &a, NULL), 0);
    pthread_join(t, NULL);
    assert_int_equal(gcs_network_adapter_count(net, "ns"), 1);
    gcs_network_free(net);
}

/* ---- the namespace table (no target assigned: nothing touches the kernel) ---- */

static void test_table(void **state)
{
    struct fake_sysfs *f = *state;
    struct gcs_network_config cfg = {.sysfs_root = f->root, .lookup_timeout_ms = 100};
    struct gcs_network *net = NULL;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_net_adapter struct gcs_net_adapter *dup = NULL;
    cleanup_net_adapter struct gcs_net_adapter *b = NULL;
    cleanup_error struct lcow_error *err = NULL;
    cleanup_free char *rc = NULL;

    assert_int_equal(gcs_network_new(&cfg, &net, NULL), 0);
    assert_int_equal(gcs_net_adapter_new("NS1", "6A2C4F1E-0000-4A1B-9C3D-00155D52C000", NULL,
                                         "b.example,A.example", "10.0.0.10", &a, NULL),
                     0);
    assert_int_equal(gcs_network_add(net, &a, NULL), 0);
    assert_null(a); /* owned by the table */
    assert_true(gcs_network_namespace_exists(net, "ns1"));
    assert_int_equal(gcs_network_adapter_count(net, "Ns1"), 1);

    /* Same adapter id, different case: refused, table unchanged. */
    assert_int_equal(gcs_net_adapter_new("ns1", "6a2c4f1e-0000-4a1b-9c3d-00155d52c000", NULL, NULL,
                                         NULL, &dup, NULL),
                     0);
    assert_int_equal(gcs_network_add(net, &dup, &err), -EEXIST);
    assert_non_null(dup);
    assert_non_null(strstr(err->msg, "already present"));
    lcow_error_release(&err);

    /* A second adapter found by MAC; DNS union. */
    assert_int_equal(gcs_net_adapter_new("ns1", "nic-b", "52:54:00:12:34:56", "a.example,c.example",
                                         "10.0.0.10, 10.0.0.11", &b, NULL),
                     0);
    assert_int_equal(gcs_network_add(net, &b, NULL), 0);
    assert_int_equal(gcs_network_resolv_conf(net, "NS1", &rc, NULL), 0);
    assert_string_equal(rc, "search b.example a.example c.example\n"
                            "nameserver 10.0.0.10\nnameserver 10.0.0.11\n");

    /* A namespace with adapters refuses removal; removing adapters then allows it. */
    assert_int_equal(gcs_network_namespace_remove(net, "ns1", &err), -EBUSY);
    assert_non_null(strstr(err->msg, "contains adapters"));
    assert_int_equal(gcs_network_remove(net, "NS1", "NIC-B", NULL), 0);
    assert_int_equal(gcs_network_adapter_count(net, "ns1"), 1);
    assert_int_equal(gcs_network_remove(net, "ns1", "6a2c4f1e-0000-4a1b-9c3d-00155d52c000", NULL),
                     0);
    assert_int_equal(gcs_network_remove(net, "ns1", "never-added", NULL), 0);
    assert_int_equal(gcs_network_remove(net, "no-such-ns", "x", NULL), 0);
    assert_int_equal(gcs_network_namespace_remove(net, "ns1", NULL), 0);
    assert_false(gcs_network_namespace_exists(net, "ns1"));
    assert_int_equal(gcs_network_namespace_remove(net, "ns1", NULL), 0);
    assert_int_equal(gcs_network_adapter_count(net, "ns1"), -ENOENT);
    gcs_network_free(net);
}

static void test_table_bad_adds(void **state)
{
    struct fake_sysfs *f = *state;
    struct gcs_network_config cfg = {.sysfs_root = f->root, .lookup_timeout_ms = 50};
    struct gcs_network *net = NULL;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    cleanup_net_adapter struct gcs_net_adapter *b = NULL;
    cleanup_net_adapter struct gcs_net_adapter *c = NULL;
    cleanup_error struct lcow_error *err = NULL;

    assert_int_equal(gcs_network_new(&cfg, &net, NULL), 0);
    /* Unknown adapter: bounded wait, error, and no namespace entry left behind. */
    assert_int_equal(gcs_net_adapter_new("ns2", "nic-x", "02:00:00:00:00:77", NULL, NULL, &a, NULL),
                     0);
    assert_int_equal(gcs_network_add(net, &a, &err), -ETIMEDOUT);
    assert_false(gcs_network_namespace_exists(net, "ns2"));
    lcow_error_release(&err);

    /* More than 6 DNS search domains across the namespace's adapters. */
    assert_int_equal(gcs_net_adapter_new("ns3", "6a2c4f1e-0000-4a1b-9c3d-00155d52c000", NULL,
                                         "a,b,c,d", NULL, &b, NULL),
                     0);
    assert_int_equal(gcs_network_add(net, &b, NULL), 0);
    assert_int_equal(
        gcs_net_adapter_new("ns3", "nic-c", "52:54:00:12:34:56", "e,f,g", NULL, &c, NULL), 0);
    assert_int_equal(gcs_network_add(net, &c, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "more than 6"));
    assert_int_equal(gcs_network_adapter_count(net, "ns3"), 1);
    gcs_network_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_merge),
        cmocka_unit_test(test_dns_merge_empty),
        cmocka_unit_test(test_resolv_conf_text),
        cmocka_unit_test(test_resolv_conf_injection),
        cmocka_unit_test(test_resolv_conf_too_many_searches),
        cmocka_unit_test(test_hosts_text),
        cmocka_unit_test(test_hostname_valid),
        cmocka_unit_test(test_write_etc_files),
        cmocka_unit_test(test_adapter_json),
        cmocka_unit_test(test_adapter_bad_input),
        cmocka_unit_test(test_adapter_from_wire),
        cmocka_unit_test(test_mac_parse),
        cmocka_unit_test(test_plan_routes),
        cmocka_unit_test_setup_teardown(test_lookup_instance_id, sysfs_setup, sysfs_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_mac, sysfs_setup, sysfs_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_wait, sysfs_setup, sysfs_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_late_device, sysfs_setup, sysfs_teardown),
        cmocka_unit_test_setup_teardown(test_table, sysfs_setup, sysfs_teardown),
        cmocka_unit_test_setup_teardown(test_table_bad_adds, sysfs_setup, sysfs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
