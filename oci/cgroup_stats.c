/* Statistics of a container cgroup in a neutral shape (oci_cgroup_stats) close to containerd's
 * v1 Metrics, which gcs serialises for GetProperties. v2 values are converted the way hcsshim
 * converts them (µs→ns, memory.current→usage, anon→rss, file→cache). Files a kernel lacks are
 * left zero: statistics are best effort, never an error. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "oci/cgroup_internal.h"

#define MAX_STAT_LINES 256
#define MAX_IO_ENTRIES 512
#define MAX_CPUS       4096

static uint64_t rd(const char *dir, const char *file)
{
    uint64_t v = 0;
    if (cg_read_u64(dir, file, &v, NULL) < 0)
        return 0;
    return v;
}

static uint64_t rd_keyed(const char *dir, const char *file, const char *key)
{
    uint64_t v = 0;
    if (cg_read_keyed(dir, file, key, &v, NULL) < 0)
        return 0;
    return v;
}

/* "max" is unlimited: report it as the v1 kernel does (a huge number), never as 0. */
static uint64_t rd_limit(const char *dir, const char *file)
{
    return rd(dir, file);
}

static int add_kv(struct oci_cgroup_stats *s, const char *name, uint64_t v)
{
    if (s->n_mem_stat >= MAX_STAT_LINES)
        return 0;
    struct oci_cg_stat_kv *n = realloc(s->mem_stat, (s->n_mem_stat + 1) * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    s->mem_stat = n;
    snprintf(n[s->n_mem_stat].name, sizeof(n->name), "%.39s", name);
    n[s->n_mem_stat].value = v;
    s->n_mem_stat++;
    return 0;
}

/* memory.stat: "name value" lines. On v2 the v1 names gcs expects are added alongside. */
static int read_mem_stat(const char *dir, bool v2, struct oci_cgroup_stats *s)
{
    cleanup_free char *buf = NULL;
    if (cg_read(dir, "memory.stat", &buf, NULL) < 0)
        return 0;
    for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
        char name[64];
        uint64_t v = 0;
        if (sscanf(l, "%63s %" SCNu64, name, &v) != 2)
            continue;
        int r = add_kv(s, name, v);
        if (r == 0 && v2 && strcmp(name, "anon") == 0)
            r = add_kv(s, "rss", v);
        if (r == 0 && v2 && strcmp(name, "file") == 0)
            r = add_kv(s, "cache", v);
        if (r < 0)
            return r;
    }
    return 0;
}

static void mem_entry(const char *dir, const char *prefix, struct oci_cg_mem_entry *e)
{
    char f[96];
    snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
    e->usage = rd(dir, f);
    snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
    e->max_usage = rd(dir, f);
    snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
    e->limit = rd_limit(dir, f);
    snprintf(f, sizeof(f), "%s.failcnt", prefix);
    e->failcnt = rd(dir, f);
}

static int memory_stats(const char *dir, bool v2, struct oci_cgroup_stats *s)
{
    s->has_memory = true;
    if (!v2) {
        mem_entry(dir, "memory", &s->mem);
        mem_entry(dir, "memory.memsw", &s->swap);
        mem_entry(dir, "memory.kmem", &s->kernel);
        mem_entry(dir, "memory.kmem.tcp", &s->kernel_tcp);
        s->oom_kill = rd_keyed(dir, "memory.oom_control", "oom_kill");
        s->under_oom = rd_keyed(dir, "memory.oom_control", "under_oom");
        s->oom_kill_disable = rd_keyed(dir, "memory.oom_control", "oom_kill_disable");
    } else {
        s->mem.usage = rd(dir, "memory.current");
        s->mem.max_usage = rd(dir, "memory.peak");
        s->mem.limit = rd_limit(dir, "memory.max");
        s->mem.failcnt = rd_keyed(dir, "memory.events", "max");
        s->swap.usage = rd(dir, "memory.swap.current");
        s->swap.limit = rd_limit(dir, "memory.swap.max");
        s->swap.failcnt = rd_keyed(dir, "memory.swap.events", "max");
        s->oom_kill = rd_keyed(dir, "memory.events", "oom_kill");
        s->under_oom = 0;
    }
    return read_mem_stat(dir, v2, s);
}

static int per_cpu(const char *dir, struct oci_cgroup_stats *s)
{
    cleanup_free char *buf = NULL;
    if (cg_read(dir, "cpuacct.usage_percpu", &buf, NULL) < 0)
        return 0;
    for (char *sv = NULL, *t = strtok_r(buf, " \n", &sv); t && s->n_cpu_per_cpu < MAX_CPUS;
         t = strtok_r(NULL, " \n", &sv)) {
        uint64_t *n = realloc(s->cpu_per_cpu, (s->n_cpu_per_cpu + 1) * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        s->cpu_per_cpu = n;
        n[s->n_cpu_per_cpu++] = strtoull(t, NULL, 10);
    }
    return 0;
}

static int cpu_stats(const struct oci_cgroup *cg, struct oci_cgroup_stats *s)
{
    bool v2 = false;
    const char *acct = cg_ctrl_dir(cg, OCI_CG_CPUACCT, &v2);
    const char *cpu = cg_ctrl_dir(cg, OCI_CG_CPU, &v2);
    if (v2 && cpu) {
        s->has_cpu = true;
        s->cpu_total = rd_keyed(cpu, "cpu.stat", "usage_usec") * 1000;
        s->cpu_user = rd_keyed(cpu, "cpu.stat", "user_usec") * 1000;
        s->cpu_kernel = rd_keyed(cpu, "cpu.stat", "system_usec") * 1000;
        s->throttle_periods = rd_keyed(cpu, "cpu.stat", "nr_periods");
        s->throttled_periods = rd_keyed(cpu, "cpu.stat", "nr_throttled");
        s->throttled_time = rd_keyed(cpu, "cpu.stat", "throttled_usec") * 1000;
        return 0;
    }
    if (cpu) {
        s->has_cpu = true;
        s->throttle_periods = rd_keyed(cpu, "cpu.stat", "nr_periods");
        s->throttled_periods = rd_keyed(cpu, "cpu.stat", "nr_throttled");
        s->throttled_time = rd_keyed(cpu, "cpu.stat", "throttled_time");
    }
    if (cg->v1_dir[OCI_CG_CPUACCT] != NULL) {
        acct = cg->v1_dir[OCI_CG_CPUACCT];
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ns_per_tick = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
        s->has_cpu = true;
        s->cpu_total = rd(acct, "cpuacct.usage");
        s->cpu_user = rd_keyed(acct, "cpuacct.stat", "user") * ns_per_tick;
        s->cpu_kernel = rd_keyed(acct, "cpuacct.stat", "system") * ns_per_tick;
        return per_cpu(acct, s);
    }
    return 0;
}

static int add_io(struct oci_cg_blkio_entry **v, size_t *n, uint64_t maj, uint64_t min,
                  const char *op, uint64_t value)
{
    if (*n >= MAX_IO_ENTRIES)
        return 0;
    struct oci_cg_blkio_entry *nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    nv[*n] = (struct oci_cg_blkio_entry){.major = maj, .minor = min, .value = value};
    snprintf(nv[*n].op, sizeof(nv->op), "%.11s", op);
    (*n)++;
    return 0;
}

/* v1 blkio files: "MAJ:MIN Op value" lines and a final "Total value". */
static int v1_io_file(const char *dir, const char *file, struct oci_cg_blkio_entry **v, size_t *n)
{
    cleanup_free char *buf = NULL;
    if (cg_read(dir, file, &buf, NULL) < 0)
        return 0;
    for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
        uint64_t maj = 0, min = 0, val = 0;
        char op[16];
        if (sscanf(l, "%" SCNu64 ":%" SCNu64 " %15s %" SCNu64, &maj, &min, op, &val) != 4)
            continue;
        int r = add_io(v, n, maj, min, op, val);
        if (r < 0)
            return r;
    }
    return 0;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N". */
static int v2_io_stat(const char *dir, struct oci_cgroup_stats *s)
{
    cleanup_free char *buf = NULL;
    if (cg_read(dir, "io.stat", &buf, NULL) < 0)
        return 0;
    for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
        uint64_t maj = 0, min = 0, rb = 0, wb = 0, ri = 0, wi = 0;
        if (sscanf(l, "%" SCNu64 ":%" SCNu64, &maj, &min) != 2)
            continue;
        char *p;
        if ((p = strstr(l, "rbytes=")))
            rb = strtoull(p + 7, NULL, 10);
        if ((p = strstr(l, "wbytes=")))
            wb = strtoull(p + 7, NULL, 10);
        if ((p = strstr(l, "rios=")))
            ri = strtoull(p + 5, NULL, 10);
        if ((p = strstr(l, "wios=")))
            wi = strtoull(p + 5, NULL, 10);
        int r = add_io(&s->io_service_bytes, &s->n_io_service_bytes, maj, min, "Read", rb);
        if (r >= 0)
            r = add_io(&s->io_service_bytes, &s->n_io_service_bytes, maj, min, "Write", wb);
        if (r >= 0)
            r = add_io(&s->io_serviced, &s->n_io_serviced, maj, min, "Read", ri);
        if (r >= 0)
            r = add_io(&s->io_serviced, &s->n_io_serviced, maj, min, "Write", wi);
        if (r < 0)
            return r;
    }
    return 0;
}

static int blkio_stats(const struct oci_cgroup *cg, struct oci_cgroup_stats *s)
{
    bool v2 = false;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_BLKIO, &v2);
    if (dir == NULL)
        return 0;
    if (v2)
        return v2_io_stat(dir, s);
    /* CFQ/BFQ recursive files when present, else the throttle layer's (always there). */
    bool cfq = cg_file_exists(dir, "blkio.io_service_bytes_recursive");
    int r = v1_io_file(
        dir, cfq ? "blkio.io_service_bytes_recursive" : "blkio.throttle.io_service_bytes_recursive",
        &s->io_service_bytes, &s->n_io_service_bytes);
    if (r >= 0)
        r = v1_io_file(dir,
                       cfq ? "blkio.io_serviced_recursive" : "blkio.throttle.io_serviced_recursive",
                       &s->io_serviced, &s->n_io_serviced);
    return r;
}

/* One entry per page size found as hugetlb.<size>.{usage_in_bytes|current}. */
static int hugetlb_stats(const struct oci_cgroup *cg, struct oci_cgroup_stats *s)
{
    bool v2 = false;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_HUGETLB, &v2);
    if (dir == NULL)
        return 0;
    cleanup_dir DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    const char *suffix = v2 ? ".current" : ".usage_in_bytes";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char size[sizeof(((struct oci_cg_hugetlb_entry *)0)->page_size)];
        const char *name = e->d_name;
        size_t nl = strlen(name), sl = strlen(suffix);
        if (strncmp(name, "hugetlb.", 8) != 0 || nl <= 8 + sl ||
            strcmp(name + nl - sl, suffix) != 0 || nl - 8 - sl >= sizeof(size) ||
            strstr(name, ".rsvd") != NULL)
            continue;
        memcpy(size, name + 8, nl - 8 - sl);
        size[nl - 8 - sl] = '\0';
        struct oci_cg_hugetlb_entry *n = realloc(s->hugetlb, (s->n_hugetlb + 1) * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        s->hugetlb = n;
        struct oci_cg_hugetlb_entry *h = &n[s->n_hugetlb++];
        memset(h, 0, sizeof(*h));
        snprintf(h->page_size, sizeof(h->page_size), "%s", size);
        char f[96];
        h->usage = rd(dir, name);
        if (v2) {
            snprintf(f, sizeof(f), "hugetlb.%s.events", size);
            h->failcnt = rd_keyed(dir, f, "max");
            h->max = 0; /* v2 has no high-water mark */
        } else {
            snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", size);
            h->max = rd(dir, f);
            snprintf(f, sizeof(f), "hugetlb.%s.failcnt", size);
            h->failcnt = rd(dir, f);
        }
    }
    return 0;
}

int oci_cgroup_stats(const struct oci_cgroup *cg, struct oci_cgroup_stats *ret,
                     struct lcow_error **err)
{
    struct oci_cgroup_stats s = {0};
    bool v2 = false;
    const char *dir;
    int r = 0;
    if ((dir = cg_ctrl_dir(cg, OCI_CG_MEMORY, &v2)) != NULL)
        r = memory_stats(dir, v2, &s);
    if (r >= 0)
        r = cpu_stats(cg, &s);
    if (r >= 0 && (dir = cg_ctrl_dir(cg, OCI_CG_PIDS, &v2)) != NULL) {
        s.has_pids = true;
        s.pids_current = rd(dir, "pids.current");
        s.pids_limit = rd(dir, "pids.max");
        if (s.pids_limit == UINT64_MAX)
            s.pids_limit = 0;
    }
    if (r >= 0)
        r = blkio_stats(cg, &s);
    if (r >= 0)
        r = hugetlb_stats(cg, &s);
    if (r < 0) {
        oci_cgroup_stats_done(&s);
        return lcow_error_make(err, -r, "statistics of cgroup `%s`: out of memory", cg->path);
    }
    *ret = s;
    return 0;
}

void oci_cgroup_stats_done(struct oci_cgroup_stats *s)
{
    if (s == NULL)
        return;
    free(s->mem_stat);
    free(s->cpu_per_cpu);
    free(s->io_service_bytes);
    free(s->io_serviced);
    free(s->hugetlb);
    memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------------- v1 Metrics JSON */

/* Go's omitempty: a zero number is left out. */
static int put_u64(struct json_object *o, const char *key, uint64_t v)
{
    if (v == 0)
        return 0;
    struct json_object *n = json_object_new_uint64(v);
    if (n == NULL || json_object_object_add(o, key, n) < 0) {
        json_object_put(n);
        return -ENOMEM;
    }
    return 0;
}

static int put_obj(struct json_object *o, const char *key, struct json_object *child)
{
    if (child == NULL || json_object_object_add(o, key, child) < 0) {
        json_object_put(child);
        return -ENOMEM;
    }
    return 0;
}

/* memory.stat name → MemoryStat JSON field, in the struct's declaration order. */
static const char *const mem_fields[][2] = {
    {"cache", "cache"},
    {"rss", "rss"},
    {"rss_huge", "rss_huge"},
    {"mapped_file", "mapped_file"},
    {"dirty", "dirty"},
    {"writeback", "writeback"},
    {"pgpgin", "pg_pg_in"},
    {"pgpgout", "pg_pg_out"},
    {"pgfault", "pg_fault"},
    {"pgmajfault", "pg_maj_fault"},
    {"inactive_anon", "inactive_anon"},
    {"active_anon", "active_anon"},
    {"inactive_file", "inactive_file"},
    {"active_file", "active_file"},
    {"unevictable", "unevictable"},
    {"hierarchical_memory_limit", "hierarchical_memory_limit"},
    {"hierarchical_memsw_limit", "hierarchical_swap_limit"},
    {"total_cache", "total_cache"},
    {"total_rss", "total_rss"},
    {"total_rss_huge", "total_rss_huge"},
    {"total_mapped_file", "total_mapped_file"},
    {"total_dirty", "total_dirty"},
    {"total_writeback", "total_writeback"},
    {"total_pgpgin", "total_pg_pg_in"},
    {"total_pgpgout", "total_pg_pg_out"},
    {"total_pgfault", "total_pg_fault"},
    {"total_pgmajfault", "total_pg_maj_fault"},
    {"total_inactive_anon", "total_inactive_anon"},
    {"total_active_anon", "total_active_anon"},
    {"total_inactive_file", "total_inactive_file"},
    {"total_active_file", "total_active_file"},
    {"total_unevictable", "total_unevictable"},
};

static uint64_t stat_value(const struct oci_cgroup_stats *s, const char *name)
{
    for (size_t i = 0; i < s->n_mem_stat; i++)
        if (strcmp(s->mem_stat[i].name, name) == 0)
            return s->mem_stat[i].value;
    return 0;
}

static struct json_object *mem_entry_json(const struct oci_cg_mem_entry *e)
{
    struct json_object *o = json_object_new_object();
    if (o == NULL || put_u64(o, "limit", e->limit) < 0 || put_u64(o, "usage", e->usage) < 0 ||
        put_u64(o, "max", e->max_usage) < 0 || put_u64(o, "failcnt", e->failcnt) < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static struct json_object *memory_json(const struct oci_cgroup_stats *s)
{
    struct json_object *m = json_object_new_object();
    int r = m ? 0 : -ENOMEM;
    for (size_t i = 0; r == 0 && i < LCOW_ARRAY_SIZE(mem_fields); i++)
        r = put_u64(m, mem_fields[i][1], stat_value(s, mem_fields[i][0]));
    if (r == 0)
        r = put_obj(m, "usage", mem_entry_json(&s->mem));
    if (r == 0)
        r = put_obj(m, "swap", mem_entry_json(&s->swap));
    if (r == 0)
        r = put_obj(m, "kernel", mem_entry_json(&s->kernel));
    if (r == 0)
        r = put_obj(m, "kernel_tcp", mem_entry_json(&s->kernel_tcp));
    if (r < 0) {
        json_object_put(m);
        return NULL;
    }
    return m;
}

static struct json_object *cpu_json(const struct oci_cgroup_stats *s)
{
    struct json_object *c = json_object_new_object(), *u = json_object_new_object(),
                       *t = json_object_new_object();
    int r = c && u && t ? 0 : -ENOMEM;
    if (r == 0 && (r = put_u64(u, "total", s->cpu_total)) == 0 &&
        (r = put_u64(u, "kernel", s->cpu_kernel)) == 0 &&
        (r = put_u64(u, "user", s->cpu_user)) == 0 && s->n_cpu_per_cpu > 0) {
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < s->n_cpu_per_cpu; i++)
            json_object_array_add(a, json_object_new_uint64(s->cpu_per_cpu[i]));
        r = put_obj(u, "per_cpu", a);
    }
    if (r == 0 && (r = put_u64(t, "periods", s->throttle_periods)) == 0 &&
        (r = put_u64(t, "throttled_periods", s->throttled_periods)) == 0)
        r = put_u64(t, "throttled_time", s->throttled_time);
    if (r == 0) {
        r = put_obj(c, "usage", steal_pointer(&u));
        if (r == 0)
            r = put_obj(c, "throttling", steal_pointer(&t));
    }
    json_object_put(u);
    json_object_put(t);
    if (r < 0) {
        json_object_put(c);
        return NULL;
    }
    return c;
}

static struct json_object *hugetlb_json(const struct oci_cgroup_stats *s)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < s->n_hugetlb; i++) {
        const struct oci_cg_hugetlb_entry *h = &s->hugetlb[i];
        struct json_object *e = json_object_new_object();
        if (e == NULL || put_u64(e, "usage", h->usage) < 0 || put_u64(e, "max", h->max) < 0 ||
            put_u64(e, "failcnt", h->failcnt) < 0 ||
            (h->page_size[0] && put_obj(e, "pagesize", json_object_new_string(h->page_size)) < 0) ||
            json_object_array_add(a, e) < 0) {
            json_object_put(e);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

int oci_cgroup_stats_to_metrics(const struct oci_cgroup_stats *s, struct json_object **ret,
                                struct lcow_error **err)
{
    struct json_object *o = json_object_new_object();
    int r = o ? 0 : -ENOMEM;
    if (r == 0 && s->n_hugetlb > 0)
        r = put_obj(o, "hugetlb", hugetlb_json(s));
    if (r == 0 && s->has_pids) {
        struct json_object *p = json_object_new_object();
        if (p == NULL || put_u64(p, "current", s->pids_current) < 0 ||
            put_u64(p, "limit", s->pids_limit) < 0) {
            json_object_put(p);
            r = -ENOMEM;
        } else {
            r = put_obj(o, "pids", p);
        }
    }
    if (r == 0 && s->has_cpu)
        r = put_obj(o, "cpu", cpu_json(s));
    if (r == 0 && s->has_memory)
        r = put_obj(o, "memory", memory_json(s));
    /* The Go GCS resets these two to empty structs and drops network (message size). */
    if (r == 0)
        r = put_obj(o, "blkio", json_object_new_object());
    if (r == 0)
        r = put_obj(o, "rdma", json_object_new_object());
    if (r == 0 && s->has_memory) {
        struct json_object *c = json_object_new_object();
        if (c == NULL || put_u64(c, "oom_kill_disable", s->oom_kill_disable) < 0 ||
            put_u64(c, "under_oom", s->under_oom) < 0 || put_u64(c, "oom_kill", s->oom_kill) < 0) {
            json_object_put(c);
            r = -ENOMEM;
        } else {
            r = put_obj(o, "memory_oom_control", c);
        }
    }
    if (r < 0) {
        json_object_put(o);
        return lcow_error_make(err, ENOMEM, "statistics JSON: out of memory");
    }
    *ret = o;
    return 0;
}
