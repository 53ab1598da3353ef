/* The ModifySettings `Network` row (gcs-protocol.md §4.9): the decoded Settings of
 * gcs/protocol.h become a validated adapter, then an Add or Remove on gcs's namespace table. */
#include <errno.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "gcs/modify.h"
#include "gcs/network.h"
#include "gcs/protocol.h"
#include "gcs/reaper.h"

struct gcs_network *gcs_network_for(struct gcs *g)
{
    const struct gcs_options *o = gcs_get_options(g);
    /* udhcpc is reaped by gcs's one reaper, never by a private waitpid (gcs/reaper.h). */
    struct gcs_network_config cfg = {.sysfs_root = o->sysfs_root, .wait_child = gcs_reaper_wait};
    return gcs_network_default(&cfg);
}

int gcs_network_modify(struct gcs *g, const struct gcs_modify_request *req, struct lcow_error **err)
{
    const struct gcs_network_adapter *s = &req->settings.network;
    struct gcs_network *net = gcs_network_for(g);
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    int r;

    if (!net)
        return lcow_error_make(err, ENOMEM, "network table: out of memory");
    switch (req->request_type) {
    case GCS_REQUEST_ADD:
        r = gcs_net_adapter_from_settings(s, &a, err);
        if (r >= 0)
            r = gcs_network_add(net, &a, err);
        return r < 0 ? lcow_error_wrap(err, "network Add") : 0;
    case GCS_REQUEST_REMOVE:
        return gcs_network_remove(net, s->namespace_id ? s->namespace_id : "", s->id ? s->id : "",
                                  err);
    default:
        return lcow_error_make(err, EOPNOTSUPP, "the RequestType \"%s\" is not supported",
                               req->request_type_name ? req->request_type_name : "");
    }
}
