/* cgroup v1 (legacy) writers: one function per controller, each writing only the fields the
 * spec sets, with runc's file names, units and ordering rules. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/cgroup_internal.h"

/* ---------------------------------------------------------------- memory */

static int write_i64(const char *dir, const char *file, int64_t v, struct lcow_error **err)
{
    return cg_writef(dir, file, err, "%" PRId64, v);
}

/* Deprecated kmem files: kernels >= 5.16 reject limits and 6.x drops the files; runc ignores
 * these fields entirely. Write them where they still work, never fail on them. */
static void write_kmem(const char *dir, const char *file, const struct oci_opt_i64 *v)
{
    if (v->set && v->v != 0 && cg_file_exists(dir, file))
        (void)write_i64(dir, file, v->v, NULL);
}

/* memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every moment, so when the
 * new limit grows, memsw goes first; when it shrinks, the limit goes first. */
static int memory_and_swap(const char *dir, const struct oci_memory *m, struct lcow_error **err)
{
    int64_t limit = m->limit.set ? m->limit.v : 0;
    int64_t swap = m->swap.set ? m->swap.v : 0;
    bool memsw = cg_file_exists(dir, "memory.memsw.limit_in_bytes");
    int r;
    /* Unlimited memory with swap unset means both unlimited (runc). */
    if (limit == -1 && swap == 0)
        swap = -1;
    if (swap != 0 && !memsw) {
        if (swap == -1)
            swap = 0; /* nothing to lift: no swap accounting */
        else
            return lcow_error_make(err, EOPNOTSUPP,
                                   "linux.resources.memory.swap: swap accounting is not enabled "
                                   "(no memory.memsw.limit_in_bytes in `%s`)",
                                   dir);
    }
    bool swap_first = false;
    if (limit != 0 && swap != 0) {
        uint64_t cur = 0;
        if ((r = cg_read_u64(dir, "memory.limit_in_bytes", &cur, err)) < 0)
            return r;
        swap_first = limit == -1 || (uint64_t)limit > cur;
    }
    if (swap_first && (r = write_i64(dir, "memory.memsw.limit_in_bytes", swap, err)) < 0)
        return r;
    if (limit != 0 && (r = write_i64(dir, "memory.limit_in_bytes", limit, err)) < 0)
        return r;
    if (!swap_first && swap != 0 &&
        (r = write_i64(dir, "memory.memsw.limit_in_bytes", swap, err)) < 0)
        return r;
    return 0;
}

int cg_v1_memory(const char *dir, const struct oci_memory *m, bool update, struct lcow_error **err)
{
    int r;
    if ((r = memory_and_swap(dir, m, err)) < 0)
        return r;
    if (m->reservation.set && m->reservation.v != 0 &&
        (r = write_i64(dir, "memory.soft_limit_in_bytes", m->reservation.v, err)) < 0)
        return r;
    write_kmem(dir, "memory.kmem.limit_in_bytes", &m->kernel);
    write_kmem(dir, "memory.kmem.tcp.limit_in_bytes", &m->kernel_tcp);
    if (m->swappiness.set &&
        (r = cg_writef(dir, "memory.swappiness", err, "%" PRIu64, m->swappiness.v)) < 0)
        return r;
    if (m->disable_oom_killer.set && (m->disable_oom_killer.v || update) &&
        (r = cg_write(dir, "memory.oom_control", m->disable_oom_killer.v ? "1" : "0", err)) < 0)
        return r;
    if (m->use_hierarchy.set &&
        (r = cg_write(dir, "memory.use_hierarchy", m->use_hierarchy.v ? "1" : "0", err)) < 0)
        return r;
    return 0;
}

/* ---------------------------------------------------------------- cpu, cpuset */

/* The kernel clamps cpu.shares silently; runc reports a value that did not stick. */
static int write_shares(const char *dir, uint64_t shares, struct lcow_error **err)
{
    uint64_t got = 0;
    int r = cg_writef(dir, "cpu.shares", err, "%" PRIu64, shares);
    if (r < 0 || (r = cg_read_u64(dir, "cpu.shares", &got, err)) < 0)
        return r;
    if (got != shares)
        return lcow_error_make(err, ERANGE,
                               "linux.resources.cpu.shares: %" PRIu64
                               " outside the kernel's range (it stored %" PRIu64 ")",
                               shares, got);
    return 0;
}

/* cfs_quota_us must not exceed what the period allows in the parent at any time; if writing the
 * period first fails, the quota goes first (runc retries the same way). */
static int write_quota_period(const char *dir, const struct oci_cpu *c, struct lcow_error **err)
{
    bool period = c->period.set && c->period.v != 0;
    bool quota = c->quota.set && c->quota.v != 0;
    int r;
    if (period) {
        cleanup_error struct lcow_error *first = NULL;
        r = cg_writef(dir, "cpu.cfs_period_us", &first, "%" PRIu64, c->period.v);
        if (r == -EINVAL && quota) {
            if ((r = cg_writef(dir, "cpu.cfs_quota_us", err, "%" PRId64, c->quota.v)) < 0)
                return r;
            return cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, c->period.v);
        }
        if (r < 0) {
            *err = steal_pointer(&first);
            return r;
        }
    }
    if (quota)
        return cg_writef(dir, "cpu.cfs_quota_us", err, "%" PRId64, c->quota.v);
    return 0;
}

int cg_v1_cpu(const char *dir, const struct oci_cpu *c, struct lcow_error **err)
{
    int r;
    if (c->shares.set && c->shares.v != 0 && (r = write_shares(dir, c->shares.v, err)) < 0)
        return r;
    if ((r = write_quota_period(dir, c, err)) < 0)
        return r;
    if (c->burst.set && (r = cg_writef(dir, "cpu.cfs_burst_us", err, "%" PRIu64, c->burst.v)) < 0)
        return r;
    /* The realtime period goes before the runtime it bounds. */
    if (c->realtime_period.set && c->realtime_period.v != 0 &&
        (r = cg_writef(dir, "cpu.rt_period_us", err, "%" PRIu64, c->realtime_period.v)) < 0)
        return r;
    if (c->realtime_runtime.set && c->realtime_runtime.v != 0 &&
        (r = cg_writef(dir, "cpu.rt_runtime_us", err, "%" PRId64, c->realtime_runtime.v)) < 0)
        return r;
    if (c->idle.set && (r = cg_writef(dir, "cpu.idle", err, "%" PRId64, c->idle.v)) < 0)
        return r;
    return 0;
}

int cg_v1_cpuset(const char *dir, const struct oci_cpu *c, struct lcow_error **err)
{
    int r;
    if (c->cpus && *c->cpus && (r = cg_write(dir, "cpuset.cpus", c->cpus, err)) < 0)
        return r;
    if (c->mems && *c->mems && (r = cg_write(dir, "cpuset.mems", c->mems, err)) < 0)
        return r;
    return 0;
}

/* ---------------------------------------------------------------- pids, rdma (both versions) */

int cg_pids(const char *dir, const struct oci_pids *p, struct lcow_error **err)
{
    if (!p->limit.set || p->limit.v == 0)
        return 0;
    if (p->limit.v < 0)
        return cg_write(dir, "pids.max", "max", err);
    return cg_writef(dir, "pids.max", err, "%" PRId64, p->limit.v);
}

int cg_rdma(const char *dir, const struct oci_rdma_limit *l, size_t n, struct lcow_error **err)
{
    for (size_t i = 0; i < n; i++) {
        char line[256];
        int len = snprintf(line, sizeof(line), "%.64s", l[i].device);
        if (l[i].hca_handles.set)
            len += snprintf(line + len, sizeof(line) - (size_t)len, " hca_handle=%" PRIu64,
                            l[i].hca_handles.v);
        if (l[i].hca_objects.set)
            len += snprintf(line + len, sizeof(line) - (size_t)len, " hca_object=%" PRIu64,
                            l[i].hca_objects.v);
        if (!l[i].hca_handles.set && !l[i].hca_objects.set)
            continue;
        int r = cg_write(dir, "rdma.max", line, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---------------------------------------------------------------- blkio */

static int write_devices(const char *dir, const char *file, const struct oci_blkio_throttles *t,
                         struct lcow_error **err)
{
    for (size_t i = 0; i < t->n; i++) {
        int r = cg_writef(dir, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, t->v[i].major,
                          t->v[i].minor, t->v[i].rate);
        if (r < 0)
            return r;
    }
    return 0;
}

int cg_v1_blkio(const char *dir, const struct oci_blkio *b, struct lcow_error **err)
{
    /* CFQ's files are gone on multiqueue kernels; BFQ offers blkio.bfq.* instead. */
    bool cfq = cg_file_exists(dir, "blkio.weight");
    const char *wfile = cfq ? "blkio.weight" : "blkio.bfq.weight";
    const char *wdfile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
    int r;
    if (b->weight.set && b->weight.v != 0 &&
        (r = cg_writef(dir, wfile, err, "%" PRIu64, b->weight.v)) < 0)
        return r;
    if (b->leaf_weight.set && b->leaf_weight.v != 0 &&
        (r = cg_writef(dir, "blkio.leaf_weight", err, "%" PRIu64, b->leaf_weight.v)) < 0)
        return r;
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const struct oci_blkio_weight_device *d = &b->weight_device[i];
        if (d->weight.set && (r = cg_writef(dir, wdfile, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
                                            d->major, d->minor, d->weight.v)) < 0)
            return r;
        if (d->leaf_weight.set &&
            (r = cg_writef(dir, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %" PRIu64,
                           d->major, d->minor, d->leaf_weight.v)) < 0)
            return r;
    }
    if ((r = write_devices(dir, "blkio.throttle.read_bps_device", &b->read_bps, err)) < 0 ||
        (r = write_devices(dir, "blkio.throttle.write_bps_device", &b->write_bps, err)) < 0 ||
        (r = write_devices(dir, "blkio.throttle.read_iops_device", &b->read_iops, err)) < 0 ||
        (r = write_devices(dir, "blkio.throttle.write_iops_device", &b->write_iops, err)) < 0)
        return r;
    return 0;
}

/* ---------------------------------------------------------------- hugetlb (both versions) */

int cg_hugetlb(const char *dir, const struct oci_hugepage_limit *h, size_t n, bool v2,
               struct lcow_error **err)
{
    /* The same bound in hugetlb.SIZE.limit_in_bytes (v1) or hugetlb.SIZE.max (v2). */
    const char *limit = v2 ? "max" : "limit_in_bytes";
    for (size_t i = 0; i < n; i++) {
        char file[96], rsvd[96];
        snprintf(file, sizeof(file), "hugetlb.%.32s.%s", h[i].page_size, limit);
        snprintf(rsvd, sizeof(rsvd), "hugetlb.%.32s.rsvd.%s", h[i].page_size, limit);
        int r = cg_writef(dir, file, err, "%" PRIu64, h[i].limit);
        /* The reservation limit (kernel 5.7+) keeps the same bound, as runc sets both. */
        if (r >= 0 && cg_file_exists(dir, rsvd))
            r = cg_writef(dir, rsvd, err, "%" PRIu64, h[i].limit);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---------------------------------------------------------------- net_cls, net_prio */

int cg_v1_net_cls(const char *dir, const struct oci_network *n, struct lcow_error **err)
{
    return cg_writef(dir, "net_cls.classid", err, "%" PRIu64, n->class_id.v);
}

int cg_v1_net_prio(const char *dir, const struct oci_network *n, struct lcow_error **err)
{
    for (size_t i = 0; i < n->n_priorities; i++) {
        int r = cg_writef(dir, "net_prio.ifpriomap", err, "%.64s %u", n->priorities[i].name,
                          n->priorities[i].priority);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---------------------------------------------------------------- devices */

static void rule_line(const struct oci_device_rule *d, char *buf, size_t cap)
{
    char maj[24] = "*", min[24] = "*";
    if (d->major >= 0)
        snprintf(maj, sizeof(maj), "%" PRId64, d->major);
    if (d->minor >= 0)
        snprintf(min, sizeof(min), "%" PRId64, d->minor);
    snprintf(buf, cap, "%c %s:%s %s", d->type, maj, min, d->access);
}

/* ---- a model of the kernel's v1 device list, to update a live cgroup by difference ----
 * The kernel keeps a default behaviour (allow or deny everything) plus exceptions keyed by exact
 * (type, major, minor). Writing "a" resets both; a rule of the other polarity than the
 * behaviour adds access bits to its exception, one of the same polarity removes them. */

#define MAX_EXCEPTIONS 512

struct dev_ex {
    char type;
    int64_t major, minor;
    unsigned access; /* 1 = r, 2 = w, 4 = m */
};

struct dev_model {
    bool allow_all;
    struct dev_ex ex[MAX_EXCEPTIONS];
    size_t n;
};

static unsigned access_bits(const char *a)
{
    unsigned b = 0;
    for (; *a; a++)
        b |= *a == 'r' ? 1u : *a == 'w' ? 2u : *a == 'm' ? 4u : 0u;
    return b;
}

static struct dev_ex *find_ex(struct dev_model *m, char type, int64_t major, int64_t minor)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->ex[i].type == type && m->ex[i].major == major && m->ex[i].minor == minor)
            return &m->ex[i];
    return NULL;
}

/* Returns false when the model overflows (the caller then resets instead). */
static bool model_apply(struct dev_model *m, bool allow, char type, int64_t major, int64_t minor,
                        unsigned access)
{
    if (type == 'a') {
        m->allow_all = allow;
        m->n = 0;
        return true;
    }
    struct dev_ex *e = find_ex(m, type, major, minor);
    if (allow != m->allow_all) { /* an exception to the behaviour: add bits */
        if (e == NULL) {
            if (m->n == MAX_EXCEPTIONS)
                return false;
            e = &m->ex[m->n++];
            *e = (struct dev_ex){.type = type, .major = major, .minor = minor};
        }
        e->access |= access;
    } else if (e != NULL) { /* agrees with the behaviour: take bits away */
        e->access &= ~access;
        if (e->access == 0)
            *e = m->ex[--m->n];
    }
    return true;
}

static int64_t parse_num(const char *s)
{
    return *s == '*' ? -1 : strtoll(s, NULL, 10);
}

/* devices.list: "a *:* rwm" alone for allow-all, else one "T MAJ:MIN ACC" per exception. */
static int read_model(const char *dir, struct dev_model *m, struct lcow_error **err)
{
    cleanup_free char *buf = NULL;
    int r = cg_read(dir, "devices.list", &buf, err);
    if (r < 0)
        return r;
    m->allow_all = false;
    m->n = 0;
    for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
        char type, nums[48], acc[8];
        if (sscanf(l, "%c %47s %7s", &type, nums, acc) != 3)
            continue;
        if (type == 'a') {
            m->allow_all = true;
            continue;
        }
        char *colon = strchr(nums, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        if (!model_apply(m, true, type, parse_num(nums), parse_num(colon + 1), access_bits(acc)))
            return -E2BIG;
    }
    return 0;
}

static void ex_line(const struct dev_ex *e, unsigned access, char *buf, size_t cap)
{
    char maj[24] = "*", min[24] = "*", acc[4];
    size_t k = 0;
    if (e->major >= 0)
        snprintf(maj, sizeof(maj), "%" PRId64, e->major);
    if (e->minor >= 0)
        snprintf(min, sizeof(min), "%" PRId64, e->minor);
    if (access & 1)
        acc[k++] = 'r';
    if (access & 2)
        acc[k++] = 'w';
    if (access & 4)
        acc[k++] = 'm';
    acc[k] = '\0';
    snprintf(buf, cap, "%c %s:%s %s", e->type, maj, min, acc);
}

/* From the current deny-by-default list to the target one: grant what is new, then revoke what
 * is gone. Returns 1 when done, 0 when the difference cannot be written that way. */
static int update_by_difference(const char *dir, const struct oci_device_rule *rules, size_t n,
                                struct lcow_error **err)
{
    /* On the heap: gcs may update several containers from worker threads at once. */
    cleanup_free struct dev_model *models = calloc(2, sizeof(*models));
    if (models == NULL)
        return 0;
    struct dev_model *cur = &models[0], *want = &models[1];
    if (read_model(dir, cur, NULL) < 0 || cur->allow_all)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!model_apply(want, rules[i].allow, rules[i].type, rules[i].major, rules[i].minor,
                         access_bits(rules[i].access)))
            return 0;
    if (want->allow_all)
        return 0;
    char line[80];
    for (size_t i = 0; i < want->n; i++) {
        const struct dev_ex *e = &want->ex[i], *c = find_ex(cur, e->type, e->major, e->minor);
        unsigned add = e->access & ~(c ? c->access : 0u);
        if (add == 0)
            continue;
        ex_line(e, add, line, sizeof(line));
        int r = cg_write(dir, "devices.allow", line, err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < cur->n; i++) {
        const struct dev_ex *e = &cur->ex[i], *w = find_ex(want, e->type, e->major, e->minor);
        unsigned drop = e->access & ~(w ? w->access : 0u);
        if (drop == 0)
            continue;
        ex_line(e, drop, line, sizeof(line));
        int r = cg_write(dir, "devices.deny", line, err);
        if (r < 0)
            return r;
    }
    return 1;
}

/* Start from deny-all, then replay the rules in order: v1 keeps a list where a later rule
 * overrides an earlier one for the devices it names, which is the OCI meaning. */
int cg_v1_devices(const char *dir, const struct oci_device_rule *rules, size_t n, bool update,
                  struct lcow_error **err)
{
    if (update) {
        int d = update_by_difference(dir, rules, n, err);
        if (d != 0)
            return d < 0 ? d : 0;
    }
    int r = cg_write(dir, "devices.deny", "a", err);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        char line[80];
        rule_line(&rules[i], line, sizeof(line));
        r = cg_write(dir, rules[i].allow ? "devices.allow" : "devices.deny", line, err);
    }
    return r;
}
