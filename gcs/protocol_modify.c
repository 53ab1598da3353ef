/* ModifySettings (§4.9): the Request object and its Settings, decoded according to ResourceType
 * through one table row per resource (name, reader, writer, destructor). */
#include "gcs/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "gcs/protocol_internal.h"

#define SP "Request.Settings" /* the JSON path every settings field is named under */

#define READ GCS_PR_TRY

/* ---- shared pieces ---- */

static void verity_free(struct gcs_verity_info *v)
{
    if (v == NULL)
        return;
    free(v->algorithm);
    free(v->root_digest);
    free(v->salt);
    free(v);
}

static int read_verity(const struct json_object *s, struct gcs_verity_info **ret,
                       struct lcow_error **err)
{
    static const char path[] = SP ".VerityInfo";
    struct json_object *o = NULL;
    READ(gcs_pr_get_object(s, SP, "VerityInfo", &o, err));
    if (o == NULL)
        return 0;
    struct gcs_verity_info *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return lcow_error_make(err, ENOMEM, "%s: out of memory", path);
    *ret = v; /* owned by the settings from here on, so the caller's _done frees it */
    READ(gcs_pr_get_i64(o, path, "Ext4SizeInBytes", &v->ext4_size_in_bytes, err));
    READ(gcs_pr_get_i64(o, path, "Version", &v->version, err));
    READ(gcs_pr_get_string(o, path, "Algorithm", &v->algorithm, err));
    READ(gcs_pr_get_bool(o, path, "SuperBlock", &v->super_block, err));
    READ(gcs_pr_get_string(o, path, "RootDigest", &v->root_digest, err));
    READ(gcs_pr_get_string(o, path, "Salt", &v->salt, err));
    READ(gcs_pr_get_i64(o, path, "BlockSize", &v->block_size, err));
    return 0;
}

static void write_verity(struct gcs_pw *w, struct json_object *o, const struct gcs_verity_info *v)
{
    if (v == NULL)
        return;
    struct json_object *x = gcs_pw_object(w);
    gcs_pw_int(w, x, "Ext4SizeInBytes", v->ext4_size_in_bytes, true);
    gcs_pw_int(w, x, "Version", v->version, true);
    gcs_pw_string(w, x, "Algorithm", v->algorithm, true);
    gcs_pw_bool(w, x, "SuperBlock", v->super_block, true);
    gcs_pw_string(w, x, "RootDigest", v->root_digest, true);
    gcs_pw_string(w, x, "Salt", v->salt, true);
    gcs_pw_int(w, x, "BlockSize", v->block_size, true);
    gcs_pw_add(w, o, "VerityInfo", x);
}

/* An array of objects under key: allocates n elements of `size` bytes and calls `one` on each.
 * The count is stored before the elements are read, so _done frees partial results. */
typedef int (*read_elem_fn)(const struct json_object *e, const char *path, void *elem,
                            struct lcow_error **err);

static int read_array(const struct json_object *s, const char *key, size_t size, void **ret,
                      size_t *ret_n, read_elem_fn one, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    READ(gcs_pr_get_array(s, SP, key, &arr, err));
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n == 0)
        return 0;
    char *v = calloc(n, size);
    if (v == NULL)
        return lcow_error_make(err, ENOMEM, SP ".%s: out of memory", key);
    *ret = v;
    *ret_n = n;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        char path[GCS_PR_PATH_MAX];
        snprintf(path, sizeof(path), SP ".%s[%zu]", key, i);
        if (e != NULL && !json_object_is_type(e, json_type_object))
            return lcow_error_make(err, EINVAL, "%s: expected object, got %s", path,
                                   json_type_to_name(json_object_get_type(e)));
        READ(one(e, path, v + i * size, err));
    }
    return 0;
}

/* ---- MappedVirtualDisk ---- */

static int read_mvd(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_mapped_virtual_disk *d = out;
    READ(gcs_pr_get_string(s, SP, "MountPath", &d->mount_path, err));
    READ(gcs_pr_get_u8(s, SP, "Lun", &d->lun, err));
    READ(gcs_pr_get_u8(s, SP, "Controller", &d->controller, err));
    READ(gcs_pr_get_u64(s, SP, "Partition", &d->partition, err));
    READ(gcs_pr_get_bool(s, SP, "ReadOnly", &d->read_only, err));
    READ(gcs_pr_get_bool(s, SP, "Encrypted", &d->encrypted, err));
    READ(gcs_pr_get_strv(s, SP, "Options", &d->options, err));
    READ(gcs_pr_get_bool(s, SP, "BlockDev", &d->block_dev, err));
    READ(read_verity(s, &d->verity_info, err));
    READ(gcs_pr_get_bool(s, SP, "EnsureFilesystem", &d->ensure_filesystem, err));
    READ(gcs_pr_get_string(s, SP, "Filesystem", &d->filesystem, err));
    return 0;
}

static void write_mvd(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_mapped_virtual_disk *d = in;
    gcs_pw_string(w, s, "MountPath", d->mount_path, true);
    gcs_pw_uint(w, s, "Lun", d->lun, true);
    gcs_pw_uint(w, s, "Controller", d->controller, true);
    gcs_pw_uint(w, s, "Partition", d->partition, true);
    gcs_pw_bool(w, s, "ReadOnly", d->read_only, true);
    gcs_pw_bool(w, s, "Encrypted", d->encrypted, true);
    gcs_pw_strv(w, s, "Options", d->options, true);
    gcs_pw_bool(w, s, "BlockDev", d->block_dev, true);
    write_verity(w, s, d->verity_info);
    gcs_pw_bool(w, s, "EnsureFilesystem", d->ensure_filesystem, true);
    gcs_pw_string(w, s, "Filesystem", d->filesystem, true);
}

static void done_mvd(void *p)
{
    struct gcs_mapped_virtual_disk *d = p;
    free(d->mount_path);
    gcs_pr_strv_free(d->options);
    verity_free(d->verity_info);
    free(d->filesystem);
}

/* ---- SCSIDevice ---- */

static int read_scsi(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_scsi_device *d = out;
    READ(gcs_pr_get_u8(s, SP, "Controller", &d->controller, err));
    READ(gcs_pr_get_u8(s, SP, "Lun", &d->lun, err));
    return 0;
}

static void write_scsi(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_scsi_device *d = in;
    gcs_pw_uint(w, s, "Controller", d->controller, true);
    gcs_pw_uint(w, s, "Lun", d->lun, true);
}

static void done_nothing(void *p)
{
}

/* ---- MappedDirectory ---- */

static int read_mdir(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_mapped_directory *d = out;
    READ(gcs_pr_get_string(s, SP, "MountPath", &d->mount_path, err));
    READ(gcs_pr_get_i32(s, SP, "Port", &d->port, err));
    READ(gcs_pr_get_string(s, SP, "ShareName", &d->share_name, err));
    READ(gcs_pr_get_bool(s, SP, "ReadOnly", &d->read_only, err));
    return 0;
}

static void write_mdir(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_mapped_directory *d = in;
    gcs_pw_string(w, s, "MountPath", d->mount_path, true);
    gcs_pw_int(w, s, "Port", d->port, true);
    gcs_pw_string(w, s, "ShareName", d->share_name, true);
    gcs_pw_bool(w, s, "ReadOnly", d->read_only, true);
}

static void done_mdir(void *p)
{
    struct gcs_mapped_directory *d = p;
    free(d->mount_path);
    free(d->share_name);
}

/* ---- VPMemDevice ---- */

static int read_vpmem(const struct json_object *s, void *out, struct lcow_error **err)
{
    static const char mpath[] = SP ".MappingInfo";
    struct gcs_vpmem_device *d = out;
    struct json_object *mi = NULL;
    READ(gcs_pr_get_u32(s, SP, "DeviceNumber", &d->device_number, err));
    READ(gcs_pr_get_string(s, SP, "MountPath", &d->mount_path, err));
    READ(gcs_pr_get_object(s, SP, "MappingInfo", &mi, err));
    if (mi != NULL) {
        d->has_mapping_info = true;
        READ(gcs_pr_get_u64(mi, mpath, "DeviceOffsetInBytes",
                            &d->mapping_info.device_offset_in_bytes, err));
        READ(gcs_pr_get_u64(mi, mpath, "DeviceSizeInBytes", &d->mapping_info.device_size_in_bytes,
                            err));
    }
    READ(read_verity(s, &d->verity_info, err));
    return 0;
}

static void write_vpmem(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_vpmem_device *d = in;
    gcs_pw_uint(w, s, "DeviceNumber", d->device_number, true);
    gcs_pw_string(w, s, "MountPath", d->mount_path, true);
    if (d->has_mapping_info) {
        struct json_object *mi = gcs_pw_object(w);
        gcs_pw_uint(w, mi, "DeviceOffsetInBytes", d->mapping_info.device_offset_in_bytes, true);
        gcs_pw_uint(w, mi, "DeviceSizeInBytes", d->mapping_info.device_size_in_bytes, true);
        gcs_pw_add(w, s, "MappingInfo", mi);
    }
    write_verity(w, s, d->verity_info);
}

static void done_vpmem(void *p)
{
    struct gcs_vpmem_device *d = p;
    free(d->mount_path);
    verity_free(d->verity_info);
}

/* ---- CombinedLayers ---- */

static int read_layer(const struct json_object *e, const char *path, void *elem,
                      struct lcow_error **err)
{
    struct gcs_layer *l = elem;
    READ(gcs_pr_get_string(e, path, "Id", &l->id, err));
    READ(gcs_pr_get_string(e, path, "Path", &l->path, err));
    READ(gcs_pr_get_string(e, path, "PathType", &l->path_type, err));
    READ(gcs_pr_get_string(e, path, "Cache", &l->cache, err));
    return 0;
}

static int read_layers(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_combined_layers *c = out;
    READ(gcs_pr_get_string(s, SP, "ContainerID", &c->container_id, err));
    READ(gcs_pr_get_string(s, SP, "ContainerRootPath", &c->container_root_path, err));
    READ(read_array(s, "Layers", sizeof(struct gcs_layer), (void **)&c->layers, &c->n_layers,
                    read_layer, err));
    READ(gcs_pr_get_string(s, SP, "ScratchPath", &c->scratch_path, err));
    return 0;
}

static void write_layers(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_combined_layers *c = in;
    gcs_pw_string(w, s, "ContainerID", c->container_id, true);
    gcs_pw_string(w, s, "ContainerRootPath", c->container_root_path, true);
    if (c->n_layers > 0) {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < c->n_layers; i++) {
            const struct gcs_layer *l = &c->layers[i];
            struct json_object *x = gcs_pw_object(w);
            gcs_pw_string(w, x, "Id", l->id, true);
            gcs_pw_string(w, x, "Path", l->path, true);
            gcs_pw_string(w, x, "PathType", l->path_type, true);
            gcs_pw_string(w, x, "Cache", l->cache, true);
            if (x == NULL || json_object_array_add(arr, x) < 0) {
                json_object_put(x);
                w->failed = true;
            }
        }
        gcs_pw_add(w, s, "Layers", arr);
    }
    gcs_pw_string(w, s, "ScratchPath", c->scratch_path, true);
}

static void done_layers(void *p)
{
    struct gcs_combined_layers *c = p;
    free(c->container_id);
    free(c->container_root_path);
    for (size_t i = 0; c->layers != NULL && i < c->n_layers; i++) {
        free(c->layers[i].id);
        free(c->layers[i].path);
        free(c->layers[i].path_type);
        free(c->layers[i].cache);
    }
    free(c->layers);
    free(c->scratch_path);
}

/* ---- Network ---- */

static int read_ipconfig(const struct json_object *e, const char *path, void *elem,
                         struct lcow_error **err)
{
    struct gcs_ip_config *c = elem;
    READ(gcs_pr_get_string(e, path, "IPAddress", &c->ip_address, err));
    READ(gcs_pr_get_u8(e, path, "PrefixLength", &c->prefix_length, err));
    return 0;
}

static int read_route(const struct json_object *e, const char *path, void *elem,
                      struct lcow_error **err)
{
    struct gcs_route *r = elem;
    READ(gcs_pr_get_string(e, path, "NextHop", &r->next_hop, err));
    READ(gcs_pr_get_string(e, path, "DestinationPrefix", &r->destination_prefix, err));
    READ(gcs_pr_get_u16(e, path, "Metric", &r->metric, err));
    return 0;
}

static int read_network(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_network_adapter *n = out;
    READ(gcs_pr_get_string(s, SP, "NamespaceID", &n->namespace_id, err));
    READ(gcs_pr_get_string(s, SP, "ID", &n->id, err));
    READ(gcs_pr_get_string(s, SP, "MacAddress", &n->mac_address, err));
    READ(gcs_pr_get_string(s, SP, "DNSSuffix", &n->dns_suffix, err));
    READ(gcs_pr_get_string(s, SP, "DNSServerList", &n->dns_server_list, err));
    READ(gcs_pr_get_u16(s, SP, "EncapOverhead", &n->encap_overhead, err));
    READ(gcs_pr_get_bool(s, SP, "VPCIAssigned", &n->vpci_assigned, err));
    READ(read_array(s, "IPConfigs", sizeof(struct gcs_ip_config), (void **)&n->ip_configs,
                    &n->n_ip_configs, read_ipconfig, err));
    READ(read_array(s, "Routes", sizeof(struct gcs_route), (void **)&n->routes, &n->n_routes,
                    read_route, err));
    READ(gcs_pr_get_bool(s, SP, "PolicyBasedRouting", &n->policy_based_routing, err));
    READ(gcs_pr_get_bool(s, SP, "EnableLowMetric", &n->enable_low_metric, err));
    return 0;
}

static void write_network(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_network_adapter *n = in;
    gcs_pw_string(w, s, "NamespaceID", n->namespace_id, true);
    gcs_pw_string(w, s, "ID", n->id, true);
    gcs_pw_string(w, s, "MacAddress", n->mac_address, true);
    gcs_pw_string(w, s, "DNSSuffix", n->dns_suffix, true);
    gcs_pw_string(w, s, "DNSServerList", n->dns_server_list, true);
    gcs_pw_uint(w, s, "EncapOverhead", n->encap_overhead, true);
    gcs_pw_bool(w, s, "VPCIAssigned", n->vpci_assigned, true);
    if (n->n_ip_configs > 0) {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n->n_ip_configs; i++) {
            struct json_object *x = gcs_pw_object(w);
            gcs_pw_string(w, x, "IPAddress", n->ip_configs[i].ip_address, true);
            gcs_pw_uint(w, x, "PrefixLength", n->ip_configs[i].prefix_length, true);
            if (x == NULL || json_object_array_add(arr, x) < 0) {
                json_object_put(x);
                w->failed = true;
            }
        }
        gcs_pw_add(w, s, "IPConfigs", arr);
    }
    if (n->n_routes > 0) {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n->n_routes; i++) {
            struct json_object *x = gcs_pw_object(w);
            gcs_pw_string(w, x, "NextHop", n->routes[i].next_hop, true);
            gcs_pw_string(w, x, "DestinationPrefix", n->routes[i].destination_prefix, true);
            gcs_pw_uint(w, x, "Metric", n->routes[i].metric, true);
            if (x == NULL || json_object_array_add(arr, x) < 0) {
                json_object_put(x);
                w->failed = true;
            }
        }
        gcs_pw_add(w, s, "Routes", arr);
    }
    gcs_pw_bool(w, s, "PolicyBasedRouting", n->policy_based_routing, true);
    gcs_pw_bool(w, s, "EnableLowMetric", n->enable_low_metric, true);
}

static void done_network(void *p)
{
    struct gcs_network_adapter *n = p;
    free(n->namespace_id);
    free(n->id);
    free(n->mac_address);
    free(n->dns_suffix);
    free(n->dns_server_list);
    for (size_t i = 0; n->ip_configs != NULL && i < n->n_ip_configs; i++)
        free(n->ip_configs[i].ip_address);
    free(n->ip_configs);
    for (size_t i = 0; n->routes != NULL && i < n->n_routes; i++) {
        free(n->routes[i].next_hop);
        free(n->routes[i].destination_prefix);
    }
    free(n->routes);
}

/* ---- VPCIDevice, ContainerConstraints, SecurityPolicy, SecurityPolicyFragment ---- */

static int read_vpci(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_vpci_device *d = out;
    return gcs_pr_get_string(s, SP, "VMBusGUID", &d->vmbus_guid, err);
}

static void write_vpci(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_vpci_device *d = in;
    gcs_pw_string(w, s, "VMBusGUID", d->vmbus_guid, true);
}

static void done_vpci(void *p)
{
    free(((struct gcs_vpci_device *)p)->vmbus_guid);
}

static int read_constraints(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_container_constraints *c = out;
    READ(gcs_pr_get_object_ref(s, SP, "Windows", &c->windows, err));
    READ(gcs_pr_get_object_ref(s, SP, "Linux", &c->linux_resources, err));
    READ(gcs_pr_check_windows_resources(c->windows, SP ".Windows", err));
    READ(gcs_pr_check_linux_resources(c->linux_resources, SP ".Linux", err));
    return 0;
}

static void write_constraints(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_container_constraints *c = in;
    gcs_pw_ref(w, s, "Windows", c->windows);
    gcs_pw_ref(w, s, "Linux", c->linux_resources);
}

static void done_constraints(void *p)
{
    struct gcs_container_constraints *c = p;
    json_object_put(c->windows);
    json_object_put(c->linux_resources);
}

static int read_policy(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_security_policy *p = out;
    READ(gcs_pr_get_string(s, SP, "EnforcerType", &p->enforcer_type, err));
    READ(gcs_pr_get_string(s, SP, "EncodedSecurityPolicy", &p->encoded_security_policy, err));
    READ(gcs_pr_get_string(s, SP, "EncodedUVMReference", &p->encoded_uvm_reference, err));
    READ(gcs_pr_get_string(s, SP, "EncodedUVMHashEnvelopeReference",
                           &p->encoded_uvm_hash_envelope_reference, err));
    return 0;
}

static void write_policy(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_security_policy *p = in;
    gcs_pw_string(w, s, "EnforcerType", p->enforcer_type, true);
    gcs_pw_string(w, s, "EncodedSecurityPolicy", p->encoded_security_policy, true);
    gcs_pw_string(w, s, "EncodedUVMReference", p->encoded_uvm_reference, true);
    gcs_pw_string(w, s, "EncodedUVMHashEnvelopeReference", p->encoded_uvm_hash_envelope_reference,
                  true);
}

static void done_policy(void *p)
{
    struct gcs_security_policy *x = p;
    free(x->enforcer_type);
    free(x->encoded_security_policy);
    free(x->encoded_uvm_reference);
    free(x->encoded_uvm_hash_envelope_reference);
}

static int read_fragment(const struct json_object *s, void *out, struct lcow_error **err)
{
    struct gcs_security_policy_fragment *f = out;
    READ(gcs_pr_get_string(s, SP, "Fragment", &f->fragment, err));
    READ(gcs_pr_get_string(s, SP, "MediaType", &f->media_type, err));
    return 0;
}

static void write_fragment(struct gcs_pw *w, struct json_object *s, const void *in)
{
    const struct gcs_security_policy_fragment *f = in;
    gcs_pw_string(w, s, "Fragment", f->fragment, true);
    gcs_pw_string(w, s, "MediaType", f->media_type, true);
}

static void done_fragment(void *p)
{
    struct gcs_security_policy_fragment *f = p;
    free(f->fragment);
    free(f->media_type);
}

/* ---- the resource table ---- */

struct resource_codec {
    const char *name;
    int (*read)(const struct json_object *s, void *out, struct lcow_error **err);
    void (*write)(struct gcs_pw *w, struct json_object *s, const void *in);
    void (*done)(void *p);
};

/* PodCgroupMemoryLimit has no settings: Go drops whatever is sent. */
static const struct resource_codec codecs[GCS_RESOURCE_TYPE_MAX] = {
    [GCS_RESOURCE_MAPPED_VIRTUAL_DISK] = {"MappedVirtualDisk", read_mvd, write_mvd, done_mvd},
    [GCS_RESOURCE_SCSI_DEVICE] = {"SCSIDevice", read_scsi, write_scsi, done_nothing},
    [GCS_RESOURCE_MAPPED_DIRECTORY] = {"MappedDirectory", read_mdir, write_mdir, done_mdir},
    [GCS_RESOURCE_VPMEM_DEVICE] = {"VPMemDevice", read_vpmem, write_vpmem, done_vpmem},
    [GCS_RESOURCE_COMBINED_LAYERS] = {"CombinedLayers", read_layers, write_layers, done_layers},
    [GCS_RESOURCE_NETWORK] = {"Network", read_network, write_network, done_network},
    [GCS_RESOURCE_VPCI_DEVICE] = {"VPCIDevice", read_vpci, write_vpci, done_vpci},
    [GCS_RESOURCE_CONTAINER_CONSTRAINTS] = {"ContainerConstraints", read_constraints,
                                            write_constraints, done_constraints},
    [GCS_RESOURCE_SECURITY_POLICY] = {"SecurityPolicy", read_policy, write_policy, done_policy},
    [GCS_RESOURCE_SECURITY_POLICY_FRAGMENT] = {"SecurityPolicyFragment", read_fragment,
                                               write_fragment, done_fragment},
    [GCS_RESOURCE_POD_CGROUP_MEMORY_LIMIT] = {"PodCgroupMemoryLimit", NULL, NULL, done_nothing},
};

static const char *const request_type_names[GCS_REQUEST_TYPE_MAX] = {
    [GCS_REQUEST_ADD] = "Add",       [GCS_REQUEST_REMOVE] = "Remove",
    [GCS_REQUEST_UPDATE] = "Update", [GCS_REQUEST_PRE_ADD] = "PreAdd",
    [GCS_REQUEST_TYPE_OTHER] = NULL,
};

const char *gcs_resource_type_name(enum gcs_resource_type t)
{
    return (t >= 0 && t < GCS_RESOURCE_TYPE_MAX) ? codecs[t].name : NULL;
}

enum gcs_resource_type gcs_resource_type_from_name(const char *name)
{
    for (int t = 0; name != NULL && t < GCS_RESOURCE_TYPE_MAX; t++)
        if (strcmp(codecs[t].name, name) == 0)
            return (enum gcs_resource_type)t;
    return GCS_RESOURCE_TYPE_INVALID;
}

const char *gcs_request_type_name(enum gcs_request_type t)
{
    return (t >= 0 && t < GCS_REQUEST_TYPE_MAX) ? request_type_names[t] : NULL;
}

static enum gcs_request_type request_type_from_name(const char *name)
{
    if (*name == '\0')
        return GCS_REQUEST_ADD;
    for (int t = 0; t < GCS_REQUEST_TYPE_OTHER; t++)
        if (strcmp(request_type_names[t], name) == 0)
            return (enum gcs_request_type)t;
    return GCS_REQUEST_TYPE_OTHER;
}

void gcs_modify_request_done(struct gcs_modify_request *r)
{
    if (r->resource_type >= 0 && r->resource_type < GCS_RESOURCE_TYPE_MAX)
        codecs[r->resource_type].done(&r->settings);
    free(r->request_type_name);
    *r = (struct gcs_modify_request){.resource_type = GCS_RESOURCE_TYPE_INVALID};
}

void gcs_modify_settings_request_done(struct gcs_modify_settings_request *r)
{
    gcs_request_base_done(&r->base);
    gcs_modify_request_done(&r->request);
}

static int read_modify_request(const struct json_object *o, struct gcs_modify_request *m,
                               struct lcow_error **err)
{
    struct json_object *req = NULL, *settings = NULL;
    cleanup_free char *resource = NULL;
    READ(gcs_pr_get_object(o, "", "Request", &req, err));
    READ(gcs_pr_get_string(req, "Request", "ResourceType", &resource, err));
    READ(gcs_pr_get_string(req, "Request", "RequestType", &m->request_type_name, err));
    m->request_type = request_type_from_name(m->request_type_name);
    enum gcs_resource_type t = gcs_resource_type_from_name(resource);
    /* Go keeps Settings raw until it knows the type: an unknown type is E_FAIL whatever the
     * settings hold, and PodCgroupMemoryLimit ignores them. */
    if (t == GCS_RESOURCE_TYPE_INVALID)
        return lcow_error_make(err, EOPNOTSUPP, "invalid ResourceType `%s`", resource);
    m->resource_type = t;
    settings = lcow_json_field(req, "Settings");
    m->has_settings = settings != NULL;
    if (codecs[t].read == NULL)
        return 0;
    READ(gcs_pr_get_object(req, "Request", "Settings", &settings, err));
    return codecs[t].read(settings, &m->settings, err);
}

int gcs_decode_modify_settings_request(const char *buf, size_t len,
                                       struct gcs_modify_settings_request *ret,
                                       struct lcow_error **err)
{
    cleanup_json struct json_object *o = NULL;
    struct gcs_modify_settings_request q = {.request.resource_type = GCS_RESOURCE_TYPE_INVALID};
    int r = gcs_pr_parse_object(buf, len, "payload", &o, err);
    if (r == 0)
        r = gcs_pr_read_request_base(o, &q.base, err);
    if (r == 0)
        r = read_modify_request(o, &q.request, err);
    if (r < 0) {
        gcs_modify_settings_request_done(&q);
        return gcs_pr_fail(err, r, "ModifySettings");
    }
    *ret = q;
    return 0;
}

int gcs_encode_modify_settings_request(const struct gcs_modify_settings_request *r, char **ret,
                                       struct lcow_error **err)
{
    const struct gcs_modify_request *m = &r->request;
    const char *resource = gcs_resource_type_name(m->resource_type);
    if (resource == NULL)
        return lcow_error_make(err, EINVAL, "ModifySettings: invalid resource type %d",
                               (int)m->resource_type);
    const char *rt = (m->request_type_name && *m->request_type_name)
                         ? m->request_type_name
                         : gcs_request_type_name(m->request_type);
    struct gcs_pw w = {0};
    struct json_object *o = gcs_pw_object(&w);
    struct json_object *req = gcs_pw_object(&w);
    gcs_pw_request_base(&w, o, &r->base);
    /* guestrequest.ModificationRequest: RequestType, ResourceType, Settings (omitempty all). */
    gcs_pw_string(&w, req, "RequestType", rt, true);
    gcs_pw_string(&w, req, "ResourceType", resource, true);
    if (m->has_settings && codecs[m->resource_type].write != NULL) {
        struct json_object *s = gcs_pw_object(&w);
        codecs[m->resource_type].write(&w, s, &m->settings);
        gcs_pw_add(&w, req, "Settings", s);
    }
    gcs_pw_add(&w, o, "Request", req);
    return gcs_pw_finish(&w, o, "ModifySettings", ret, err);
}
