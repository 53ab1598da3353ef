/* cgroup v2 (unified) writers: the OCI (v1-shaped) values converted as runc converts them
 * (shares→cpu.weight, memsw→memory.swap.max, blkio weight→io.weight), and the `unified` map
 * written verbatim. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/cgroup_internal.h"

/* -1 and "unlimited" are spelled "max" in v2 files. */
static int write_limit(const char *dir, const char *file, int64_t v, struct lcow_error **err)
{
    if (v < 0)
        return cg_write(dir, file, "max", err);
    return cg_writef(dir, file, err, "%" PRId64, v);
}

/* ---------------------------------------------------------------- memory */

/* checkBeforeUpdate: refuse a limit below current usage instead of letting the kernel OOM. */
static int check_usage(const char *dir, int64_t limit, struct lcow_error **err)
{
    uint64_t cur = 0;
    int r = cg_read_u64(dir, "memory.current", &cur, err);
    if (r < 0)
        return r;
    if (cur > (uint64_t)limit)
        return lcow_error_make(err, EBUSY,
                               "linux.resources.memory.limit %" PRId64
                               " is below the current usage %" PRIu64,
                               limit, cur);
    return 0;
}

int cg_v2_memory(const char *dir, const struct oci_memory *m, struct lcow_error **err)
{
    int64_t limit = m->limit.set ? m->limit.v : 0;
    int64_t swap = 0;
    int r = oci_cgroup_swap_to_v2(m->swap.set ? m->swap.v : 0, limit, &swap, err);
    if (r < 0) {
        lcow_error_wrap(err, "linux.resources.memory");
        return r;
    }
    if (swap != 0) {
        if (!cg_file_exists(dir, "memory.swap.max")) {
            if (swap > 0)
                return lcow_error_make(err, EOPNOTSUPP,
                                       "linux.resources.memory.swap: no memory.swap.max in `%s`",
                                       dir);
        } else if ((r = write_limit(dir, "memory.swap.max", swap, err)) < 0) {
            return r;
        }
    }
    if (limit != 0) {
        if (m->check_before_update.set && m->check_before_update.v && limit > 0 &&
            (r = check_usage(dir, limit, err)) < 0)
            return r;
        if ((r = write_limit(dir, "memory.max", limit, err)) < 0)
            return r;
    }
    if (m->reservation.set && m->reservation.v != 0 &&
        (r = write_limit(dir, "memory.low", m->reservation.v, err)) < 0)
        return r;
    /* swappiness, disableOOMKiller, useHierarchy and kmem have no v2 file; runc ignores them. */
    return 0;
}

/* ---------------------------------------------------------------- cpu, cpuset */

int cg_v2_cpu(const char *dir, const struct oci_cpu *c, struct lcow_error **err)
{
    int r;
    if ((c->realtime_period.set && c->realtime_period.v != 0) ||
        (c->realtime_runtime.set && c->realtime_runtime.v != 0))
        return lcow_error_make(err, EOPNOTSUPP,
                               "linux.resources.cpu.realtime*: not supported on cgroup v2");
    if (c->shares.set && c->shares.v != 0 &&
        (r = cg_writef(dir, "cpu.weight", err, "%" PRIu64,
                       oci_cgroup_shares_to_weight(c->shares.v))) < 0)
        return r;
    bool quota = c->quota.set && c->quota.v != 0;
    bool period = c->period.set && c->period.v != 0;
    if (quota || period) {
        char v[64];
        int n = quota && c->quota.v > 0 ? snprintf(v, sizeof(v), "%" PRId64, c->quota.v)
                                        : snprintf(v, sizeof(v), "max");
        if (period)
            snprintf(v + n, sizeof(v) - (size_t)n, " %" PRIu64, c->period.v);
        if ((r = cg_write(dir, "cpu.max", v, err)) < 0)
            return r;
    }
    if (c->burst.set && (r = cg_writef(dir, "cpu.max.burst", err, "%" PRIu64, c->burst.v)) < 0)
        return r;
    if (c->idle.set && (r = cg_writef(dir, "cpu.idle", err, "%" PRId64, c->idle.v)) < 0)
        return r;
    return 0;
}

int cg_v2_cpuset(const char *dir, const struct oci_cpu *c, struct lcow_error **err)
{
    int r;
    if (c->cpus && *c->cpus && (r = cg_write(dir, "cpuset.cpus", c->cpus, err)) < 0)
        return r;
    if (c->mems && *c->mems && (r = cg_write(dir, "cpuset.mems", c->mems, err)) < 0)
        return r;
    return 0;
}

/* ---------------------------------------------------------------- io */

static int io_max(const char *dir, const char *key, const struct oci_blkio_throttles *t,
                  struct lcow_error **err)
{
    for (size_t i = 0; i < t->n; i++) {
        int r = cg_writef(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t->v[i].major,
                          t->v[i].minor, key, t->v[i].rate);
        if (r < 0)
            return r;
    }
    return 0;
}

int cg_v2_io(const char *dir, const struct oci_blkio *b, struct lcow_error **err)
{
    /* BFQ takes the v1 weight range as is; io.weight needs the converted value. */
    bool bfq = cg_file_exists(dir, "io.bfq.weight");
    const char *wfile = bfq ? "io.bfq.weight" : "io.weight";
    int r;
    if (b->weight.set && b->weight.v != 0 &&
        (r = cg_writef(dir, wfile, err, "%" PRIu64,
                       bfq ? b->weight.v : oci_cgroup_blkio_to_io_weight(b->weight.v))) < 0)
        return r;
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const struct oci_blkio_weight_device *d = &b->weight_device[i];
        if (!d->weight.set)
            continue; /* leafWeight has no v2 equivalent */
        uint64_t w = bfq ? d->weight.v : oci_cgroup_blkio_to_io_weight(d->weight.v);
        if ((r = cg_writef(dir, wfile, err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                           w)) < 0)
            return r;
    }
    if ((r = io_max(dir, "rbps", &b->read_bps, err)) < 0 ||
        (r = io_max(dir, "wbps", &b->write_bps, err)) < 0 ||
        (r = io_max(dir, "riops", &b->read_iops, err)) < 0 ||
        (r = io_max(dir, "wiops", &b->write_iops, err)) < 0)
        return r;
    return 0;
}

/* ---------------------------------------------------------------- unified */

int cg_v2_unified(const char *dir, const struct oci_kv *kv, size_t n, struct lcow_error **err)
{
    for (size_t i = 0; i < n; i++) {
        int r = cg_write(dir, kv[i].key, kv[i].value, err);
        if (r == -ENOENT) {
            lcow_error_wrap(err,
                            "linux.resources.unified.%s: no such cgroup file (controller "
                            "not enabled?)",
                            kv[i].key);
            return r;
        }
        if (r < 0) {
            lcow_error_wrap(err, "linux.resources.unified.%s", kv[i].key);
            return r;
        }
    }
    return 0;
}
