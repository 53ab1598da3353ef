/* Unit tests for ModifySettings (gcs/protocol_modify.c): every ResourceType of gcs-protocol.md
 * §4.9 decoded into its typed settings, the host's example payloads (lcow-host.md §3.2)
 * re-encoded byte for byte, and bad settings, unknown ResourceTypes and overflowing fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/protocol.h"

#define UVM                                                                                        \
    "{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\",\"ActivityId\":"                    \
    "\"00000000-0000-0000-0000-000000000000\",\"Request\":"

/* Decodes `payload`, checks that it re-encodes to itself, and leaves the result in *q. */
static void round_trip(const char *payload, struct gcs_modify_settings_request *q)
{
    struct lcow_error *err = NULL;
    if (gcs_decode_modify_settings_request(payload, strlen(payload), q, &err) < 0)
        fail_msg("decode `%s`: %s", payload, lcow_error_message(err));
    cleanup_free char *out = NULL;
    if (gcs_encode_modify_settings_request(q, &out, &err) < 0)
        fail_msg("encode: %s", lcow_error_message(err));
    assert_string_equal(out, payload);
}

static void test_vpmem(void **state)
{
    static const char p[] = UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"VPMemDevice\","
                                "\"Settings\":{\"DeviceNumber\":1,\"MountPath\":\"/run/layers/"
                                "p1-0-8392704\",\"MappingInfo\":{\"DeviceSizeInBytes\":8392704}}}}";
    struct gcs_modify_settings_request q = {0};
    round_trip(p, &q);
    assert_string_equal(q.base.container_id, GCS_UVM_CONTAINER_ID);
    assert_int_equal(q.request.resource_type, GCS_RESOURCE_VPMEM_DEVICE);
    assert_int_equal(q.request.request_type, GCS_REQUEST_ADD);
    const struct gcs_vpmem_device *d = &q.request.settings.vpmem_device;
    assert_int_equal(d->device_number, 1);
    assert_string_equal(d->mount_path, "/run/layers/p1-0-8392704");
    assert_true(d->has_mapping_info);
    assert_int_equal(d->mapping_info.device_offset_in_bytes, 0);
    assert_int_equal(d->mapping_info.device_size_in_bytes, 8392704);
    assert_null(d->verity_info);
    gcs_modify_settings_request_done(&q);

    /* Device 0 without mapping: both left out by the host. */
    static const char p0[] = UVM "{\"RequestType\":\"Remove\",\"ResourceType\":\"VPMemDevice\","
                                 "\"Settings\":{\"MountPath\":\"/run/layers/p0\"}}}";
    round_trip(p0, &q);
    assert_int_equal(q.request.request_type, GCS_REQUEST_REMOVE);
    assert_int_equal(q.request.settings.vpmem_device.device_number, 0);
    assert_false(q.request.settings.vpmem_device.has_mapping_info);
    gcs_modify_settings_request_done(&q);
}

static void test_mapped_virtual_disk(void **state)
{
    struct gcs_modify_settings_request q = {0};
    static const char layer[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\""
            ",\"Settings\":{\"MountPath\":\"/run/mounts/scsi/m0\",\"Lun\":1,"
            "\"ReadOnly\":true,\"Options\":[\"ro\"]}}}";
    round_trip(layer, &q);
    const struct gcs_mapped_virtual_disk *d = &q.request.settings.mapped_virtual_disk;
    assert_int_equal(q.request.resource_type, GCS_RESOURCE_MAPPED_VIRTUAL_DISK);
    assert_string_equal(d->mount_path, "/run/mounts/scsi/m0");
    assert_int_equal(d->lun, 1);
    assert_int_equal(d->controller, 0);
    assert_true(d->read_only);
    assert_string_equal(d->options[0], "ro");
    assert_null(d->options[1]);
    assert_string_equal(d->filesystem, "");
    gcs_modify_settings_request_done(&q);

    static const char scratch[] = UVM "{\"RequestType\":\"Add\",\"ResourceType\":"
                                      "\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"/run/gcs"
                                      "/c/c1\",\"Lun\":2,\"EnsureFilesystem\":true,\"Filesystem\":"
                                      "\"ext4\"}}}";
    round_trip(scratch, &q);
    d = &q.request.settings.mapped_virtual_disk;
    assert_true(d->ensure_filesystem);
    assert_string_equal(d->filesystem, "ext4");
    assert_null(d->options);
    gcs_modify_settings_request_done(&q);

    static const char remove[] = UVM "{\"RequestType\":\"Remove\",\"ResourceType\":"
                                     "\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"/run/gcs/"
                                     "c/c1\",\"Lun\":2}}}";
    round_trip(remove, &q);
    gcs_modify_settings_request_done(&q);

    /* Every field, including the deprecated VerityInfo, in Go's order. */
    static const char all[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{"
            "\"MountPath\":\"/run/mounts/scsi/m3\",\"Lun\":63,\"Controller\":3,\"Partition\":2,"
            "\"ReadOnly\":true,\"Encrypted\":true,\"Options\":[\"ro\",\"rshared\"],\"BlockDev\":"
            "true,\"VerityInfo\":{\"Ext4SizeInBytes\":4096,\"Version\":1,\"Algorithm\":\"sha256\","
            "\"SuperBlock\":true,\"RootDigest\":\"ab\",\"Salt\":\"cd\",\"BlockSize\":4096},"
            "\"EnsureFilesystem\":true,\"Filesystem\":\"xfs\"}}}";
    round_trip(all, &q);
    d = &q.request.settings.mapped_virtual_disk;
    assert_int_equal(d->controller, 3);
    assert_int_equal(d->partition, 2);
    assert_true(d->encrypted && d->block_dev);
    assert_non_null(d->verity_info);
    assert_string_equal(d->verity_info->algorithm, "sha256");
    assert_int_equal(d->verity_info->block_size, 4096);
    gcs_modify_settings_request_done(&q);
}

static void test_scsi_device(void **state)
{
    static const char p[] = UVM "{\"RequestType\":\"Remove\",\"ResourceType\":\"SCSIDevice\","
                                "\"Settings\":{\"Lun\":2}}}";
    struct gcs_modify_settings_request q = {0};
    round_trip(p, &q);
    assert_int_equal(q.request.resource_type, GCS_RESOURCE_SCSI_DEVICE);
    assert_int_equal(q.request.settings.scsi_device.lun, 2);
    assert_int_equal(q.request.settings.scsi_device.controller, 0);
    gcs_modify_settings_request_done(&q);
}

static void test_combined_layers(void **state)
{
    static const char add[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
            "\"ContainerID\":\"c1\",\"ContainerRootPath\":\"/run/gcs/c/c1/rootfs\",\"Layers\":[{"
            "\"Path\":\"/run/layers/p1-0-8392704\"},{\"Path\":\"/run/mounts/scsi/m0\"}],"
            "\"ScratchPath\":\"/run/gcs/c/c1/scratch/c1\"}}}";
    struct gcs_modify_settings_request q = {0};
    round_trip(add, &q);
    const struct gcs_combined_layers *c = &q.request.settings.combined_layers;
    assert_string_equal(c->container_id, "c1");
    assert_int_equal(c->n_layers, 2);
    assert_string_equal(c->layers[0].path, "/run/layers/p1-0-8392704");
    assert_string_equal(c->layers[1].path, "/run/mounts/scsi/m0");
    assert_string_equal(c->layers[1].id, "");
    assert_string_equal(c->scratch_path, "/run/gcs/c/c1/scratch/c1");
    gcs_modify_settings_request_done(&q);

    static const char rm[] = UVM "{\"RequestType\":\"Remove\",\"ResourceType\":\"CombinedLayers\","
                                 "\"Settings\":{\"ContainerRootPath\":\"/run/gcs/c/c1/rootfs\"}}}";
    round_trip(rm, &q);
    assert_int_equal(q.request.settings.combined_layers.n_layers, 0);
    assert_null(q.request.settings.combined_layers.layers);
    gcs_modify_settings_request_done(&q);

    static const char full[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{"
            "\"Layers\":[{\"Id\":\"1\",\"Path\":\"/l\",\"PathType\":\"AbsolutePath\",\"Cache\":"
            "\"Disabled\"}]}}}";
    round_trip(full, &q);
    assert_string_equal(q.request.settings.combined_layers.layers[0].path_type, "AbsolutePath");
    gcs_modify_settings_request_done(&q);
}

static void test_network(void **state)
{
    static const char p[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"Network\",\"Settings\":{\"NamespaceID\":"
            "\"ns-guid\",\"ID\":\"nic-guid\",\"MacAddress\":\"00-15-5D-52-C0-00\",\"DNSSuffix\":"
            "\"svc.cluster.local\",\"DNSServerList\":\"10.0.0.10\",\"IPConfigs\":[{\"IPAddress\":"
            "\"10.0.0.5\",\"PrefixLength\":24}],\"Routes\":[{\"NextHop\":\"10.0.0.1\","
            "\"DestinationPrefix\":\"0.0.0.0/0\"}]}}}";
    struct gcs_modify_settings_request q = {0};
    round_trip(p, &q);
    const struct gcs_network_adapter *n = &q.request.settings.network;
    assert_int_equal(q.request.resource_type, GCS_RESOURCE_NETWORK);
    assert_string_equal(n->namespace_id, "ns-guid");
    assert_string_equal(n->id, "nic-guid");
    assert_string_equal(n->mac_address, "00-15-5D-52-C0-00");
    assert_string_equal(n->dns_suffix, "svc.cluster.local");
    assert_int_equal(n->n_ip_configs, 1);
    assert_string_equal(n->ip_configs[0].ip_address, "10.0.0.5");
    assert_int_equal(n->ip_configs[0].prefix_length, 24);
    assert_int_equal(n->n_routes, 1);
    assert_string_equal(n->routes[0].destination_prefix, "0.0.0.0/0");
    assert_int_equal(n->routes[0].metric, 0);
    gcs_modify_settings_request_done(&q);

    static const char all[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"Network\",\"Settings\":{\"NamespaceID\":"
            "\"n\",\"ID\":\"i\",\"EncapOverhead\":50,\"VPCIAssigned\":true,\"IPConfigs\":[{"
            "\"IPAddress\":\"fd00::5\",\"PrefixLength\":64},{\"IPAddress\":\"10.1.1.1\","
            "\"PrefixLength\":32}],\"Routes\":[{\"NextHop\":\"fd00::1\",\"DestinationPrefix\":"
            "\"::/0\",\"Metric\":500}],\"PolicyBasedRouting\":true,\"EnableLowMetric\":true}}}";
    round_trip(all, &q);
    n = &q.request.settings.network;
    assert_int_equal(n->encap_overhead, 50);
    assert_true(n->vpci_assigned && n->policy_based_routing && n->enable_low_metric);
    assert_int_equal(n->n_ip_configs, 2);
    assert_int_equal(n->routes[0].metric, 500);
    gcs_modify_settings_request_done(&q);
}

static void test_mapped_directory(void **state)
{
    static const char p[] = UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"MappedDirectory\","
                                "\"Settings\":{\"MountPath\":\"/run/gcs/c/c1/mounts/m0\",\"Port\":"
                                "564,\"ShareName\":\"1\",\"ReadOnly\":true}}}";
    struct gcs_modify_settings_request q = {0};
    round_trip(p, &q);
    const struct gcs_mapped_directory *d = &q.request.settings.mapped_directory;
    assert_string_equal(d->mount_path, "/run/gcs/c/c1/mounts/m0");
    assert_int_equal(d->port, 564);
    assert_string_equal(d->share_name, "1");
    assert_true(d->read_only);
    gcs_modify_settings_request_done(&q);
}

static void test_other_resources(void **state)
{
    struct gcs_modify_settings_request q = {0};
    static const char vpci[] = UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"VPCIDevice\","
                                   "\"Settings\":{\"VMBusGUID\":\"1234\"}}}";
    round_trip(vpci, &q);
    assert_string_equal(q.request.settings.vpci_device.vmbus_guid, "1234");
    gcs_modify_settings_request_done(&q);

    static const char cc[] =
        "{\"ContainerId\":\"c1\",\"ActivityId\":\"00000000-0000-0000-0000-000000000000\","
        "\"Request\":{\"RequestType\":\"Update\",\"ResourceType\":\"ContainerConstraints\","
        "\"Settings\":{\"Linux\":{\"cpu\":{\"shares\":512,\"quota\":-1,\"period\":100000},"
        "\"memory\":{\"limit\":1073741824}}}}}";
    round_trip(cc, &q);
    assert_int_equal(q.request.request_type, GCS_REQUEST_UPDATE);
    assert_null(q.request.settings.container_constraints.windows);
    struct json_object *lin = q.request.settings.container_constraints.linux_resources;
    assert_non_null(lin);
    assert_non_null(lcow_json_field(lcow_json_field(lin, "memory"), "limit"));
    gcs_modify_settings_request_done(&q);

    static const char pol[] =
        UVM "{\"RequestType\":\"Add\",\"ResourceType\":\"SecurityPolicy\",\"Settings\":{"
            "\"EnforcerType\":\"rego\",\"EncodedSecurityPolicy\":\"cGFja2FnZQ==\","
            "\"EncodedUVMReference\":\"ref\",\"EncodedUVMHashEnvelopeReference\":\"env\"}}}";
    round_trip(pol, &q);
    assert_string_equal(q.request.settings.security_policy.enforcer_type, "rego");
    assert_string_equal(q.request.settings.security_policy.encoded_uvm_hash_envelope_reference,
                        "env");
    gcs_modify_settings_request_done(&q);

    static const char frag[] = UVM "{\"RequestType\":\"Add\",\"ResourceType\":"
                                   "\"SecurityPolicyFragment\",\"Settings\":{\"Fragment\":\"x\","
                                   "\"MediaType\":\"application/cose-x509+rego\"}}}";
    round_trip(frag, &q);
    assert_string_equal(q.request.settings.security_policy_fragment.media_type,
                        "application/cose-x509+rego");
    gcs_modify_settings_request_done(&q);

    /* PodCgroupMemoryLimit: settings, whatever they are, are dropped (as Go does). */
    static const char pod[] = UVM "{\"RequestType\":\"Update\",\"ResourceType\":"
                                  "\"PodCgroupMemoryLimit\",\"Settings\":{\"x\":[1,\"y\"]}}}";
    assert_int_equal(gcs_decode_modify_settings_request(pod, strlen(pod), &q, NULL), 0);
    assert_int_equal(q.request.resource_type, GCS_RESOURCE_POD_CGROUP_MEMORY_LIMIT);
    gcs_modify_settings_request_done(&q);
}

static void test_request_types(void **state)
{
    struct gcs_modify_settings_request q = {0};
    /* An empty or missing RequestType means Add; unknown ones are kept for the handler's E_FAIL. */
    static const char none[] = UVM "{\"ResourceType\":\"SCSIDevice\"}}";
    assert_int_equal(gcs_decode_modify_settings_request(none, strlen(none), &q, NULL), 0);
    assert_int_equal(q.request.request_type, GCS_REQUEST_ADD);
    assert_string_equal(q.request.request_type_name, "");
    assert_false(q.request.has_settings);
    gcs_modify_settings_request_done(&q);
    static const char pre[] = UVM "{\"RequestType\":\"PreAdd\",\"ResourceType\":\"Network\"}}";
    assert_int_equal(gcs_decode_modify_settings_request(pre, strlen(pre), &q, NULL), 0);
    assert_int_equal(q.request.request_type, GCS_REQUEST_PRE_ADD);
    gcs_modify_settings_request_done(&q);
    static const char odd[] = UVM "{\"RequestType\":\"add\",\"ResourceType\":\"Network\"}}";
    assert_int_equal(gcs_decode_modify_settings_request(odd, strlen(odd), &q, NULL), 0);
    assert_int_equal(q.request.request_type, GCS_REQUEST_TYPE_OTHER);
    assert_string_equal(q.request.request_type_name, "add");
    gcs_modify_settings_request_done(&q);

    for (int t = 0; t < GCS_RESOURCE_TYPE_MAX; t++) {
        const char *name = gcs_resource_type_name((enum gcs_resource_type)t);
        assert_non_null(name);
        assert_int_equal(gcs_resource_type_from_name(name), t);
    }
    assert_null(gcs_resource_type_name(GCS_RESOURCE_TYPE_MAX));
    assert_null(gcs_resource_type_name(GCS_RESOURCE_TYPE_INVALID));
    assert_string_equal(gcs_request_type_name(GCS_REQUEST_UPDATE), "Update");
    assert_null(gcs_request_type_name(GCS_REQUEST_TYPE_OTHER));
}

/* Unknown and Windows-only ResourceTypes are -EOPNOTSUPP (E_FAIL), not invalid JSON. */
static void test_unknown_resource(void **state)
{
    static const char *const names[] = {"HvSocket",
                                        "NetworkNamespace",
                                        "MappedVirtualDiskForContainerScratch",
                                        "WCOWBlockCims",
                                        "CWCOWCombinedLayers",
                                        "mappedvirtualdisk",
                                        "",
                                        "Bogus"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(names); i++) {
        char p[256];
        snprintf(p, sizeof(p), UVM "{\"ResourceType\":\"%s\",\"Settings\":{\"a\":1}}}", names[i]);
        struct gcs_modify_settings_request q = {0};
        struct lcow_error *err = NULL;
        int r = gcs_decode_modify_settings_request(p, strlen(p), &q, &err);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_int_equal(gcs_hresult_from_decode_error(r), GCS_E_FAIL);
        assert_non_null(strstr(err->msg, "invalid ResourceType"));
        lcow_error_release(&err);
    }
    /* No Request at all is the same: its ResourceType is empty. */
    struct gcs_modify_settings_request q = {0};
    assert_int_equal(gcs_decode_modify_settings_request("{}", 2, &q, NULL), -EOPNOTSUPP);
}

static void test_bad_settings(void **state)
{
    static const char *const bad[][2] = {
        {"{\"Request\":\"x\"}", "Request"},
        {"{\"Request\":{\"ResourceType\":7}}", "Request.ResourceType"},
        {"{\"Request\":{\"ResourceType\":\"Network\",\"Settings\":\"{}\"}}", "Request.Settings"},
        {"{\"Request\":{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"Lun\":256}}}",
         "Request.Settings.Lun"},
        {"{\"Request\":{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"Lun\":-1}}}",
         "Request.Settings.Lun"},
        {"{\"Request\":{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"Options\":\"ro\"}}}",
         "Request.Settings.Options"},
        {"{\"Request\":{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"ReadOnly\":\"true\"}"
         "}}",
         "Request.Settings.ReadOnly"},
        {"{\"Request\":{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"VerityInfo\":{"
         "\"Salt\":1}}}}",
         "Request.Settings.VerityInfo.Salt"},
        {"{\"Request\":{\"ResourceType\":\"SCSIDevice\",\"Settings\":{\"Controller\":1000}}}",
         "Request.Settings.Controller"},
        {"{\"Request\":{\"ResourceType\":\"VPMemDevice\",\"Settings\":{\"MappingInfo\":{"
         "\"DeviceSizeInBytes\":-5}}}}",
         "Request.Settings.MappingInfo.DeviceSizeInBytes"},
        {"{\"Request\":{\"ResourceType\":\"CombinedLayers\",\"Settings\":{\"Layers\":[{\"Path\":"
         "\"/a\"},\"b\"]}}}",
         "Request.Settings.Layers[1]"},
        {"{\"Request\":{\"ResourceType\":\"CombinedLayers\",\"Settings\":{\"Layers\":[{\"Path\":"
         "2}]}}}",
         "Request.Settings.Layers[0].Path"},
        {"{\"Request\":{\"ResourceType\":\"Network\",\"Settings\":{\"EncapOverhead\":65536}}}",
         "Request.Settings.EncapOverhead"},
        {"{\"Request\":{\"ResourceType\":\"Network\",\"Settings\":{\"IPConfigs\":[{"
         "\"PrefixLength\":300}]}}}",
         "Request.Settings.IPConfigs[0].PrefixLength"},
        {"{\"Request\":{\"ResourceType\":\"Network\",\"Settings\":{\"Routes\":{}}}}",
         "Request.Settings.Routes"},
        {"{\"Request\":{\"ResourceType\":\"MappedDirectory\",\"Settings\":{\"Port\":2147483648}}}",
         "Request.Settings.Port"},
        {"{\"Request\":{\"ResourceType\":\"ContainerConstraints\",\"Settings\":{\"Linux\":[]}}}",
         "Request.Settings.Linux"},
        {"{\"Request\":{\"ResourceType\":\"ContainerConstraints\",\"Settings\":{\"Linux\":{"
         "\"memory\":{\"limit\":\"1G\"}}}}}",
         "Request.Settings.Linux.memory.limit"},
        {"{\"Request\":{\"ResourceType\":\"ContainerConstraints\",\"Settings\":{\"Linux\":{"
         "\"blockIO\":{\"weight\":65536}}}}}",
         "Request.Settings.Linux.blockIO.weight"},
        {"{\"Request\":{\"ResourceType\":\"ContainerConstraints\",\"Settings\":{\"Windows\":"
         "7}}}",
         "Request.Settings.Windows"},
        {"{\"Request\":{\"ResourceType\":\"SecurityPolicy\",\"Settings\":{\"EnforcerType\":{}}}}",
         "Request.Settings.EnforcerType"},
        {"{\"Request\":{\"ResourceType\":\"VPCIDevice\",\"Settings\":{\"VMBusGUID\":false}}}",
         "Request.Settings.VMBusGUID"},
        {"{\"Request\":{\"ResourceType\":\"SecurityPolicyFragment\",\"Settings\":{\"Fragment\":"
         "[]}}}",
         "Request.Settings.Fragment"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        struct gcs_modify_settings_request q = {0};
        struct lcow_error *err = NULL;
        int r = gcs_decode_modify_settings_request(bad[i][0], strlen(bad[i][0]), &q, &err);
        if (r != -EINVAL)
            fail_msg("`%s`: got %d (%s)", bad[i][0], r, lcow_error_message(err));
        assert_int_equal(gcs_hresult_from_decode_error(r), GCS_HCS_E_INVALID_JSON);
        if (strstr(err->msg, bad[i][1]) == NULL)
            fail_msg("`%s`: message `%s` does not name `%s`", bad[i][0], err->msg, bad[i][1]);
        assert_non_null(strstr(err->msg, "ModifySettings"));
        lcow_error_release(&err);
        /* The failed decode left nothing behind to free. */
        assert_null(q.request.request_type_name);
        assert_int_equal(q.request.resource_type, 0);
    }
}

/* Large inputs: thousands of layers and routes decode, and free cleanly. */
static void test_many_elements(void **state)
{
    size_t n = 5000;
    size_t cap = n * 40 + 256;
    cleanup_free char *p = malloc(cap);
    assert_non_null(p);
    size_t off = (size_t)snprintf(p, cap,
                                  UVM "{\"ResourceType\":\"CombinedLayers\",\"Settings\":"
                                      "{\"Layers\":[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(p + off, cap - off, "%s{\"Path\":\"/run/layers/p%zu\"}",
                                i ? "," : "", i);
    off += (size_t)snprintf(p + off, cap - off, "]}}}");
    assert_true(off < cap);
    struct gcs_modify_settings_request q = {0};
    assert_int_equal(gcs_decode_modify_settings_request(p, off, &q, NULL), 0);
    assert_int_equal(q.request.settings.combined_layers.n_layers, n);
    assert_string_equal(q.request.settings.combined_layers.layers[n - 1].path, "/run/layers/p4999");
    gcs_modify_settings_request_done(&q);
    gcs_modify_settings_request_done(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vpmem),
        cmocka_unit_test(test_mapped_virtual_disk),
        cmocka_unit_test(test_scsi_device),
        cmocka_unit_test(test_combined_layers),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_mapped_directory),
        cmocka_unit_test(test_other_resources),
        cmocka_unit_test(test_request_types),
        cmocka_unit_test(test_unknown_resource),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_many_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
