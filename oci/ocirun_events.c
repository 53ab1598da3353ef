/* `ocirun events`: runc's event stream for one container. `--stats` prints one
 * {"type":"stats","id":...,"data":{...}} line and exits; otherwise a stats line every
 * --interval (default 5s) and an {"type":"oom","id":...} line for each OOM kill, until the
 * container stops. The data object has runc's field names (libcontainer's types.Stats, with
 * Go's omitempty), built from oci_cgroup_stats(). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "oci/cgroup.h"
#include "oci/ocirun_ext.h"

enum { E_INTERVAL, E_STATS };
static const struct ocirun_opt events_opts[] = {
    [E_INTERVAL] = {"interval", 0, OPT_VALUE},
    [E_STATS] = {"stats", 0, OPT_FLAG},
};

/* A Go duration ("5s", "100ms", "1m30s", "1.5s") in milliseconds; -EINVAL when malformed or
 * not positive. */
static int parse_duration_ms(const char *s, long *ret)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}};
    double total = 0;
    if (*s == '\0')
        return -EINVAL;
    while (*s) {
        char *end = NULL;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -EINVAL;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(units); i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(end, units[i].unit, l) == 0 && l > best_len) {
                best = i;
                best_len = l;
            }
        }
        if (best_len == 0)
            return -EINVAL;
        total += v * units[best].ms;
        s = end + best_len;
    }
    if (total < 1 || total > 86400e3)
        return -EINVAL;
    *ret = (long)total;
    return 0;
}

/* ---- libcontainer's Stats shape ---- */

static void put_u64(struct json_object *o, const char *key, uint64_t v, bool omitempty)
{
    if (v || !omitempty)
        json_object_object_add(o, key, json_object_new_uint64(v));
}

static struct json_object *mem_entry(const struct oci_cg_mem_entry *e)
{
    struct json_object *o = json_object_new_object();
    put_u64(o, "limit", e->limit, false);
    put_u64(o, "usage", e->usage, true);
    put_u64(o, "max", e->max_usage, true);
    put_u64(o, "failcnt", e->failcnt, false);
    return o;
}

static struct json_object *memory(const struct oci_cgroup_stats *s)
{
    struct json_object *m = json_object_new_object(), *raw = json_object_new_object();
    uint64_t cache = 0;
    for (size_t i = 0; i < s->n_mem_stat; i++) {
        put_u64(raw, s->mem_stat[i].name, s->mem_stat[i].value, false);
        if (strcmp(s->mem_stat[i].name, "cache") == 0)
            cache = s->mem_stat[i].value;
    }
    put_u64(m, "cache", cache, true);
    json_object_object_add(m, "usage", mem_entry(&s->mem));
    json_object_object_add(m, "swap", mem_entry(&s->swap));
    json_object_object_add(m, "kernel", mem_entry(&s->kernel));
    json_object_object_add(m, "kernelTCP", mem_entry(&s->kernel_tcp));
    json_object_object_add(m, "raw", raw);
    return m;
}

static struct json_object *cpu(const struct oci_cgroup_stats *s)
{
    struct json_object *c = json_object_new_object(), *u = json_object_new_object();
    struct json_object *t = json_object_new_object();
    put_u64(u, "total", s->cpu_total, true);
    if (s->n_cpu_per_cpu) {
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < s->n_cpu_per_cpu; i++)
            json_object_array_add(a, json_object_new_uint64(s->cpu_per_cpu[i]));
        json_object_object_add(u, "percpu", a);
    }
    put_u64(u, "kernel", s->cpu_kernel, false);
    put_u64(u, "user", s->cpu_user, false);
    put_u64(t, "periods", s->throttle_periods, true);
    put_u64(t, "throttled_periods", s->throttled_periods, true);
    put_u64(t, "throttled_time", s->throttled_time, true);
    json_object_object_add(c, "usage", u);
    json_object_object_add(c, "throttling", t);
    return c;
}

static struct json_object *blkio_list(const struct oci_cg_blkio_entry *v, size_t n)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_new_object();
        put_u64(e, "major", v[i].major, false);
        put_u64(e, "minor", v[i].minor, false);
        json_object_object_add(e, "op", json_object_new_string(v[i].op));
        put_u64(e, "value", v[i].value, false);
        json_object_array_add(a, e);
    }
    return a;
}

static struct json_object *stats_data(const struct oci_cgroup_stats *s)
{
    struct json_object *d = json_object_new_object(), *b = json_object_new_object();
    struct json_object *h = json_object_new_object(), *p = json_object_new_object();
    json_object_object_add(d, "cpu", cpu(s));
    json_object_object_add(d, "memory", memory(s));
    put_u64(p, "current", s->pids_current, true);
    put_u64(p, "limit", s->pids_limit, true);
    json_object_object_add(d, "pids", p);
    if (s->n_io_service_bytes)
        json_object_object_add(b, "ioServiceBytesRecursive",
                               blkio_list(s->io_service_bytes, s->n_io_service_bytes));
    if (s->n_io_serviced)
        json_object_object_add(b, "ioServicedRecursive",
                               blkio_list(s->io_serviced, s->n_io_serviced));
    json_object_object_add(d, "blkio", b);
    for (size_t i = 0; i < s->n_hugetlb; i++) {
        struct json_object *e = json_object_new_object();
        put_u64(e, "usage", s->hugetlb[i].usage, true);
        put_u64(e, "max", s->hugetlb[i].max, true);
        put_u64(e, "failcnt", s->hugetlb[i].failcnt, false);
        json_object_object_add(h, s->hugetlb[i].page_size, e);
    }
    json_object_object_add(d, "hugetlb", h);
    json_object_object_add(d, "intel_rdt", json_object_new_object());
    json_object_object_add(d, "network_interfaces", NULL);
    return d;
}

static void print_event(const char *type, const char *id, struct json_object *data)
{
    cleanup_json struct json_object *e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string(type));
    json_object_object_add(e, "id", json_object_new_string(id));
    if (data)
        json_object_object_add(e, "data", data);
    puts(
        json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

static int print_stats(const struct oci_state *st, const struct oci_cgroup *cg,
                       struct lcow_error **err)
{
    struct oci_cgroup_stats s = {0};
    int r = oci_cgroup_stats(cg, &s, err);
    if (r < 0)
        return r;
    print_event("stats", st->id, stats_data(&s));
    oci_cgroup_stats_done(&s);
    return 0;
}

/* The stream: stats every interval, OOM kills as they happen, until the container stops. */
static int stream(const char *dir, const struct oci_state *st, const struct oci_cgroup *cg,
                  long interval_ms, struct lcow_error **err)
{
    cleanup_close int oom = oci_cgroup_oom_fd(cg, NULL); /* no memory controller: stats only */
    uint64_t kills = 0;
    (void)oci_cgroup_oom_kills(cg, &kills, NULL);
    const char *mem = oci_cgroup_dir(cg, OCI_CG_MEMORY), *v2 = oci_cgroup_v2_dir(cg);
    bool v1 = mem && !(v2 && strcmp(mem, v2) == 0);
    int64_t next = (int64_t)(lcow_now_ns() / 1000000) + interval_ms;
    for (;;) {
        int64_t now = (int64_t)(lcow_now_ns() / 1000000);
        int wait = next > now ? (int)(next - now) : 0;
        /* Wake up at least every 500 ms to notice that the container stopped. */
        struct pollfd p = {.fd = oom, .events = POLLIN};
        int n = poll(&p, 1, wait < 500 ? wait : 500);
        if (n < 0 && errno != EINTR)
            return lcow_error_errno(err, "poll");
        if (n > 0 && (p.revents & POLLIN)) {
            uint64_t now_kills = 0;
            oci_cgroup_oom_drain(oom);
            /* v1's eventfd fires once per OOM condition (runc reports each), possibly before
             * the kill is counted; v2's inotify fires on any memory.events change. */
            if (oci_cgroup_oom_kills(cg, &now_kills, NULL) < 0 || now_kills > kills || v1)
                print_event("oom", st->id, NULL);
            kills = now_kills;
        }
        if (strcmp(ocirun_status(dir, st, NULL), "stopped") == 0)
            return 0;
        if ((int64_t)(lcow_now_ns() / 1000000) >= next) {
            int r = print_stats(st, cg, err);
            if (r < 0)
                return r;
            next += interval_ms;
        }
    }
}

int ocirun_cmd_events(int argc, char **argv)
{
    cleanup_error struct lcow_error *err = NULL;
    struct ocirun_args a;
    struct oci_state st = {0};
    struct oci_cgroup_layout *layout = NULL;
    struct oci_cgroup *cg = NULL;
    char dir[4096];
    long interval = 5000;
    if (ocirun_parse("events", events_opts, LCOW_ARRAY_SIZE(events_opts), argc, argv, 0, &a))
        return 1;
    int code = 0;
    if (a.n_pos != 1)
        code = ocirun_fail(1, "events: exactly one container id is required");
    else if (a.value[E_INTERVAL] && parse_duration_ms(a.value[E_INTERVAL], &interval) < 0)
        code = ocirun_fail(1, "events: invalid --interval `%s`", a.value[E_INTERVAL]);
    else if ((code = ocirun_load(a.pos[0], &st, dir, sizeof(dir), 1)) == 0) {
        if (strcmp(ocirun_status(dir, &st, NULL), "stopped") == 0)
            code = ocirun_fail(1, "container with id %s is not running", st.id);
        else if (ocirun_cgroup_open(&st, &layout, &cg, &err) < 0 ||
                 (a.set[E_STATS] ? print_stats(&st, cg, &err)
                                 : stream(dir, &st, cg, interval, &err)) < 0)
            code = ocirun_fail(1, "%s", lcow_error_message(err));
        ocirun_cgroup_close(layout, cg);
        oci_state_done(&st);
    }
    ocirun_args_done(&a);
    return code;
}
