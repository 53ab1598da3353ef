/* ModifySettings dispatch table (see modify.h for the handler contract). Teammates add their
 * resource by replacing the NULL of its row with their handler. */
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "gcs/bridge.h"
#include "gcs/container.h"
#include "gcs/modify.h"
#include "gcs/network.h"
#include "gcs/plan9.h"
#include "gcs/protocol.h"
#include "gcs/storage.h"

/* ContainerConstraints is a host-level row too, but the Go GCS looks the ContainerId up as a
 * container even there: the UVM id is none (HCS_E_SYSTEM_NOT_FOUND). */
static int uvm_container_constraints(struct gcs *g, const struct gcs_modify_request *req,
                                     struct lcow_error **err)
{
    return gcs_container_update(g, GCS_UVM_CONTAINER_ID, req, err);
}

/* Rows follow gcs-protocol.md §4.9. ContainerConstraints also targets container ids. */
static const struct gcs_modify_entry modify_table[] = {
    {"MappedVirtualDisk", GCS_MODIFY_UVM, gcs_storage_mapped_virtual_disk},
    {"SCSIDevice", GCS_MODIFY_UVM, gcs_storage_scsi_device},
    {"MappedDirectory", GCS_MODIFY_UVM, gcs_plan9_mapped_directory},
    {"VPMemDevice", GCS_MODIFY_UVM, gcs_storage_vpmem_device},
    {"CombinedLayers", GCS_MODIFY_UVM, gcs_storage_combined_layers},
    {"Network", GCS_MODIFY_UVM, gcs_network_modify},
    {"VPCIDevice", GCS_MODIFY_UVM, gcs_vpci_device_modify},
    {"ContainerConstraints", GCS_MODIFY_UVM | GCS_MODIFY_CONTAINER, uvm_container_constraints},
    {"SecurityPolicy", GCS_MODIFY_UVM, NULL},
    {"SecurityPolicyFragment", GCS_MODIFY_UVM, NULL},
    {"PodCgroupMemoryLimit", GCS_MODIFY_UVM, gcs_pod_memory_limit_modify},
};

const struct gcs_modify_entry *gcs_modify_table(unsigned *ret_count)
{
    *ret_count = LCOW_ARRAY_SIZE(modify_table);
    return modify_table;
}

const struct gcs_options *gcs_get_options(const struct gcs *g)
{
    return &g->opt;
}

int gcs_modify_dispatch(struct gcs *g, const struct gcs_modify_request *req,
                        struct lcow_error **err)
{
    const char *name = gcs_resource_type_name(req->resource_type);
    if (!name)
        return lcow_error_make(err, ENOTSUP, "invalid ResourceType %d", (int)req->resource_type);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(modify_table); i++) {
        const struct gcs_modify_entry *e = &modify_table[i];
        if (strcmp(e->resource_type, name) != 0)
            continue;
        if (!e->fn)
            return lcow_error_make(err, ENOTSUP, "ResourceType `%s` is not supported", name);
        return e->fn(g, req, err);
    }
    return lcow_error_make(err, ENOTSUP, "invalid ResourceType `%s`", name);
}
