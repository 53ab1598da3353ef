/* GetProperties for containers (§4.8): ProcessList (every pid of the container's cgroup plus
 * exec processes still in the table) and Statistics (the cgroup's counters, v1 or v2, in the
 * cgroup-v1 Metrics shape under LCOWMetrics). The encoder keeps the reply within 64 KiB. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "gcs/bridge.h"
#include "gcs/container_internal.h"
#include "oci/cgroup.h"

static int add_pid(struct gcs_properties *pr, size_t *cap, uint32_t pid)
{
    for (size_t i = 0; i < pr->n_process_ids; i++)
        if (pr->process_ids[i] == pid)
            return 0;
    if (pr->n_process_ids == *cap) {
        size_t n = *cap ? *cap * 2 : 16;
        uint32_t *v = realloc(pr->process_ids, n * sizeof(*v));
        if (!v)
            return -ENOMEM;
        pr->process_ids = v;
        *cap = n;
    }
    pr->process_ids[pr->n_process_ids++] = pid;
    return 0;
}

static int process_list(struct ct_container *c, struct gcs_properties *pr, struct lcow_error **err)
{
    size_t cap = 0;
    pr->has_process_list = true;
    if (c->cg) {
        cleanup_free pid_t *pids = NULL;
        size_t n = 0;
        int r = oci_cgroup_pids(c->cg, &pids, &n, err);
        if (r < 0)
            return r;
        for (size_t i = 0; i < n; i++)
            if (add_pid(pr, &cap, (uint32_t)pids[i]) < 0)
                return -ENOMEM;
    }
    /* Exec'd processes that exited but were not waited for yet are still the container's. */
    pthread_mutex_lock(&ct_lock);
    int r = 0;
    for (struct ct_proc *p = c->execs; p && r == 0; p = p->next)
        r = add_pid(pr, &cap, (uint32_t)p->pid);
    pthread_mutex_unlock(&ct_lock);
    return r;
}

static int statistics(struct ct_container *c, struct gcs_properties *pr, struct lcow_error **err)
{
    if (!c->cg)
        return lcow_error_make(err, ENOENT, "container `%s` has no cgroup", c->id);
    struct oci_cgroup_stats st = {0};
    int r = oci_cgroup_stats(c->cg, &st, err);
    if (r == 0)
        r = oci_cgroup_stats_to_metrics(&st, &pr->lcow_metrics, err);
    oci_cgroup_stats_done(&st);
    return r;
}

void gcs_container_properties_job(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_get_properties_request q = {0};
    struct gcs_get_properties_response resp = {0};
    struct ct_container *c = NULL;
    int rc = gcs_decode_get_properties_request(r->payload, r->len, &q, &e);
    if (rc < 0) {
        gcs_reply_error(g, r, gcs_hresult_from_decode_error(-rc), e);
        goto out;
    }
    if (strcmp(q.base.container_id, GCS_UVM_CONTAINER_ID) == 0) {
        lcow_error_make(&e, EINVAL, "GetProperties is not supported on the UVM");
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        goto out;
    }
    rc = ct_get_busy(q.base.container_id, &c, &e);
    if (rc < 0) {
        gcs_reply_error(g, r, e->code == EBUSY ? GCS_E_FAIL : 0, e);
        goto out;
    }
    if (q.query.flags & GCS_PROPERTY_PROCESS_LIST)
        rc = process_list(c, &resp.properties, &e);
    if (rc == 0 && (q.query.flags & GCS_PROPERTY_STATISTICS))
        rc = statistics(c, &resp.properties, &e);
    ct_put_busy(c);
    if (rc < 0) {
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        goto out;
    }
    resp.base.activity_id = (char *)gcs_req_activity_id(r);
    char *payload = NULL;
    rc = gcs_encode_get_properties_response(&resp, &payload, &e);
    resp.base.activity_id = NULL;
    if (rc < 0)
        gcs_reply_error(g, r, GCS_E_FAIL, e);
    else
        gcs_reply(g, r, payload);
out:
    gcs_properties_done(&resp.properties);
    gcs_get_properties_request_done(&q);
    gcs_req_free(r);
}
