/* linux.resources ⇄ struct oci_linux_resources (see spec_resources.h). Each subtree has a
 * small parse function; a table drives the top-level keys so that a new controller is one row. */
#include "oci/spec_resources.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"

#define PATH_MAX_LEN 256

/* snprintf for JSON paths in messages: a path longer than the buffer is cut, never overflowed
 * (out of line so that the compiler does not flag the deliberate truncation). */
static void __attribute__((format(printf, 3, 4)))
path_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static const char *join(char *buf, size_t cap, const char *path, const char *key)
{
    snprintf(buf, cap, "%s%s%s", path, *path ? "." : "", key);
    return buf;
}

static const char *join_idx(char *buf, size_t cap, const char *path, const char *key, size_t i)
{
    snprintf(buf, cap, "%s%s%s[%zu]", path, *path ? "." : "", key, i);
    return buf;
}

/* Optional scalars: presence is recorded so that 0 and "absent" differ. */
static int opt_i64(const struct json_object *o, const char *path, const char *key,
                   struct oci_opt_i64 *ret, struct lcow_error **err)
{
    if (lcow_json_field(o, key) == NULL)
        return 0;
    int64_t v = 0;
    int r = lcow_json_get_int64(o, path, key, &v, err);
    if (r < 0)
        return r;
    *ret = (struct oci_opt_i64){.v = v, .set = true};
    return 0;
}

static int opt_u64_max(const struct json_object *o, const char *path, const char *key, uint64_t max,
                       struct oci_opt_u64 *ret, struct lcow_error **err)
{
    if (lcow_json_field(o, key) == NULL)
        return 0;
    uint64_t v = 0;
    int r = lcow_json_get_uint64(o, path, key, &v, err);
    if (r < 0)
        return r;
    if (v > max) {
        char p[PATH_MAX_LEN];
        return lcow_error_make(err, ERANGE, "%s: %llu out of range (max %llu)",
                               join(p, sizeof(p), path, key), (unsigned long long)v,
                               (unsigned long long)max);
    }
    *ret = (struct oci_opt_u64){.v = v, .set = true};
    return 0;
}

static int opt_u64(const struct json_object *o, const char *path, const char *key,
                   struct oci_opt_u64 *ret, struct lcow_error **err)
{
    return opt_u64_max(o, path, key, UINT64_MAX, ret, err);
}

static int opt_bool(const struct json_object *o, const char *path, const char *key,
                    struct oci_opt_bool *ret, struct lcow_error **err)
{
    if (lcow_json_field(o, key) == NULL)
        return 0;
    bool v = false;
    int r = lcow_json_get_bool(o, path, key, &v, err);
    if (r < 0)
        return r;
    *ret = (struct oci_opt_bool){.v = v, .set = true};
    return 0;
}

/* A required object element of an array. */
static int want_object(const struct json_object *v, const char *path, struct lcow_error **err)
{
    if (!json_object_is_type(v, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", path,
                               json_type_to_name(json_object_get_type(v)));
    return 0;
}

/* major/minor: absent = wildcard (-1); anything below -1 is meaningless. */
static int device_number(const struct json_object *o, const char *path, const char *key,
                         int64_t *ret, struct lcow_error **err)
{
    int64_t v = -1;
    int r = lcow_json_get_int64(o, path, key, &v, err);
    if (r < 0)
        return r;
    if (v < -1) {
        char p[PATH_MAX_LEN];
        return lcow_error_make(err, ERANGE, "%s: invalid device number %lld",
                               join(p, sizeof(p), path, key), (long long)v);
    }
    *ret = v;
    return 0;
}

static int parse_access(const char *s, const char *path, char out[4], struct lcow_error **err)
{
    bool seen[3] = {false, false, false};
    static const char order[] = "rwm";
    /* runc: "device access at %d field cannot be empty". */
    if (s == NULL || *s == '\0')
        return lcow_error_make(err, EINVAL, "%s.access: device access cannot be empty", path);
    for (const char *c = s; *c; c++) {
        const char *at = strchr(order, *c);
        if (at == NULL || seen[at - order])
            return lcow_error_make(err, EINVAL, "%s.access: invalid device access `%s`", path, s);
        seen[at - order] = true;
    }
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (seen[i])
            out[n++] = order[i];
    out[n] = '\0';
    return 0;
}

int oci_device_rule_parse(const struct json_object *obj, const char *json_path,
                          struct oci_device_rule *ret, struct lcow_error **err)
{
    struct oci_device_rule d = {.type = 'a', .major = -1, .minor = -1};
    const char *type = NULL, *access = NULL;
    int r = want_object(obj, json_path, err);
    if (r < 0)
        return r;
    if ((r = lcow_json_get_bool(obj, json_path, "allow", &d.allow, err)) < 0 ||
        (r = lcow_json_get_string(obj, json_path, "type", &type, err)) < 0 ||
        (r = device_number(obj, json_path, "major", &d.major, err)) < 0 ||
        (r = device_number(obj, json_path, "minor", &d.minor, err)) < 0 ||
        (r = lcow_json_get_string(obj, json_path, "access", &access, err)) < 0)
        return r;
    if (type != NULL && *type != '\0') {
        if (strlen(type) != 1 || strchr("abc", type[0]) == NULL)
            return lcow_error_make(err, EINVAL, "%s.type: invalid device type `%s`", json_path,
                                   type);
        d.type = type[0];
    }
    r = parse_access(access, json_path, d.access, err);
    if (r < 0)
        return r;
    *ret = d;
    return 0;
}

static int parse_devices(const struct json_object *res, const char *path,
                         struct oci_linux_resources *out, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(res, path, "devices", &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    out->devices = calloc(n ? n : 1, sizeof(*out->devices));
    if (out->devices == NULL)
        return lcow_error_make(err, ENOMEM, "%s.devices: out of memory", path);
    out->has_devices = true;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX_LEN];
        join_idx(p, sizeof(p), path, "devices", i);
        r = oci_device_rule_parse(json_object_array_get_idx(arr, i), p, &out->devices[i], err);
        if (r < 0)
            return r;
        out->n_devices++;
    }
    return 0;
}

static int parse_memory(const struct json_object *o, const char *p, struct oci_linux_resources *out,
                        struct lcow_error **err)
{
    struct oci_memory *m = &out->memory;
    int r;
    if ((r = opt_i64(o, p, "limit", &m->limit, err)) < 0 ||
        (r = opt_i64(o, p, "reservation", &m->reservation, err)) < 0 ||
        (r = opt_i64(o, p, "swap", &m->swap, err)) < 0 ||
        (r = opt_i64(o, p, "kernel", &m->kernel, err)) < 0 ||
        (r = opt_i64(o, p, "kernelTCP", &m->kernel_tcp, err)) < 0 ||
        (r = opt_u64_max(o, p, "swappiness", 100, &m->swappiness, err)) < 0 ||
        (r = opt_bool(o, p, "disableOOMKiller", &m->disable_oom_killer, err)) < 0 ||
        (r = opt_bool(o, p, "useHierarchy", &m->use_hierarchy, err)) < 0 ||
        (r = opt_bool(o, p, "checkBeforeUpdate", &m->check_before_update, err)) < 0)
        return r;
    out->has_memory = true;
    return 0;
}

static int parse_cpu(const struct json_object *o, const char *p, struct oci_linux_resources *out,
                     struct lcow_error **err)
{
    struct oci_cpu *c = &out->cpu;
    int r;
    if ((r = opt_u64(o, p, "shares", &c->shares, err)) < 0 ||
        (r = opt_i64(o, p, "quota", &c->quota, err)) < 0 ||
        (r = opt_u64(o, p, "burst", &c->burst, err)) < 0 ||
        (r = opt_u64(o, p, "period", &c->period, err)) < 0 ||
        (r = opt_i64(o, p, "realtimeRuntime", &c->realtime_runtime, err)) < 0 ||
        (r = opt_u64(o, p, "realtimePeriod", &c->realtime_period, err)) < 0 ||
        (r = opt_i64(o, p, "idle", &c->idle, err)) < 0 ||
        (r = lcow_json_get_strdup(o, p, "cpus", &c->cpus, err)) < 0 ||
        (r = lcow_json_get_strdup(o, p, "mems", &c->mems, err)) < 0)
        return r;
    out->has_cpu = true;
    return 0;
}

static int parse_pids(const struct json_object *o, const char *p, struct oci_linux_resources *out,
                      struct lcow_error **err)
{
    int r = opt_i64(o, p, "limit", &out->pids.limit, err);
    if (r < 0)
        return r;
    out->has_pids = true;
    return 0;
}

static int parse_weight_devices(const struct json_object *o, const char *p, struct oci_blkio *b,
                                struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(o, p, "weightDevice", &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    b->weight_device = calloc(n ? n : 1, sizeof(*b->weight_device));
    if (b->weight_device == NULL)
        return lcow_error_make(err, ENOMEM, "%s.weightDevice: out of memory", p);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_MAX_LEN];
        const struct json_object *e = json_object_array_get_idx(arr, i);
        struct oci_blkio_weight_device *d = &b->weight_device[i];
        join_idx(ep, sizeof(ep), p, "weightDevice", i);
        d->major = d->minor = 0;
        if ((r = want_object(e, ep, err)) < 0 ||
            (r = lcow_json_get_int64(e, ep, "major", &d->major, err)) < 0 ||
            (r = lcow_json_get_int64(e, ep, "minor", &d->minor, err)) < 0 ||
            (r = opt_u64_max(e, ep, "weight", UINT16_MAX, &d->weight, err)) < 0 ||
            (r = opt_u64_max(e, ep, "leafWeight", UINT16_MAX, &d->leaf_weight, err)) < 0)
            return r;
        b->n_weight_device++;
    }
    return 0;
}

static int parse_throttles(const struct json_object *o, const char *p, const char *key,
                           struct oci_blkio_throttles *t, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(o, p, key, &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    t->v = calloc(n ? n : 1, sizeof(*t->v));
    if (t->v == NULL)
        return lcow_error_make(err, ENOMEM, "%s.%s: out of memory", p, key);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_MAX_LEN];
        const struct json_object *e = json_object_array_get_idx(arr, i);
        join_idx(ep, sizeof(ep), p, key, i);
        if ((r = want_object(e, ep, err)) < 0 ||
            (r = lcow_json_get_int64(e, ep, "major", &t->v[i].major, err)) < 0 ||
            (r = lcow_json_get_int64(e, ep, "minor", &t->v[i].minor, err)) < 0 ||
            (r = lcow_json_get_uint64(e, ep, "rate", &t->v[i].rate, err)) < 0)
            return r;
        t->n++;
    }
    return 0;
}

static int parse_blkio(const struct json_object *o, const char *p, struct oci_linux_resources *out,
                       struct lcow_error **err)
{
    struct oci_blkio *b = &out->blkio;
    int r;
    if ((r = opt_u64_max(o, p, "weight", UINT16_MAX, &b->weight, err)) < 0 ||
        (r = opt_u64_max(o, p, "leafWeight", UINT16_MAX, &b->leaf_weight, err)) < 0 ||
        (r = parse_weight_devices(o, p, b, err)) < 0 ||
        (r = parse_throttles(o, p, "throttleReadBpsDevice", &b->read_bps, err)) < 0 ||
        (r = parse_throttles(o, p, "throttleWriteBpsDevice", &b->write_bps, err)) < 0 ||
        (r = parse_throttles(o, p, "throttleReadIOPSDevice", &b->read_iops, err)) < 0 ||
        (r = parse_throttles(o, p, "throttleWriteIOPSDevice", &b->write_iops, err)) < 0)
        return r;
    out->has_blkio = true;
    return 0;
}

/* "2MB", "1GB", "64KB": the hugetlb file names the kernel uses (hugetlb.<size>.limit_in_bytes). */
static bool valid_page_size(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 8 || s[0] == '0')
        return false;
    return strcmp(s + n, "KB") == 0 || strcmp(s + n, "MB") == 0 || strcmp(s + n, "GB") == 0;
}

static int parse_hugepages(const struct json_object *res, const char *path,
                           struct oci_linux_resources *out, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(res, path, "hugepageLimits", &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    out->hugepage_limits = calloc(n ? n : 1, sizeof(*out->hugepage_limits));
    if (out->hugepage_limits == NULL)
        return lcow_error_make(err, ENOMEM, "%s.hugepageLimits: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_MAX_LEN];
        const struct json_object *e = json_object_array_get_idx(arr, i);
        struct oci_hugepage_limit *h = &out->hugepage_limits[i];
        join_idx(ep, sizeof(ep), path, "hugepageLimits", i);
        if ((r = want_object(e, ep, err)) < 0 ||
            (r = lcow_json_get_strdup(e, ep, "pageSize", &h->page_size, err)) < 0 ||
            (r = lcow_json_get_uint64(e, ep, "limit", &h->limit, err)) < 0) {
            out->n_hugepage_limits = i + 1; /* so done() frees page_size */
            return r;
        }
        out->n_hugepage_limits++;
        if (h->page_size == NULL || !valid_page_size(h->page_size))
            return lcow_error_make(err, EINVAL, "%s.pageSize: invalid page size `%s`", ep,
                                   h->page_size ? h->page_size : "");
    }
    return 0;
}

static int parse_network(const struct json_object *o, const char *p,
                         struct oci_linux_resources *out, struct lcow_error **err)
{
    struct oci_network *net = &out->network;
    struct json_object *arr = NULL;
    int r;
    if ((r = opt_u64_max(o, p, "classID", UINT32_MAX, &net->class_id, err)) < 0 ||
        (r = lcow_json_get_array(o, p, "priorities", &arr, err)) < 0)
        return r;
    out->has_network = true;
    if (arr == NULL)
        return 0;
    size_t n = json_object_array_length(arr);
    net->priorities = calloc(n ? n : 1, sizeof(*net->priorities));
    if (net->priorities == NULL)
        return lcow_error_make(err, ENOMEM, "%s.priorities: out of memory", p);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_MAX_LEN];
        const struct json_object *e = json_object_array_get_idx(arr, i);
        struct oci_net_priority *np = &net->priorities[i];
        join_idx(ep, sizeof(ep), p, "priorities", i);
        net->n_priorities++;
        if ((r = want_object(e, ep, err)) < 0 ||
            (r = lcow_json_get_strdup(e, ep, "name", &np->name, err)) < 0 ||
            (r = lcow_json_get_uint32(e, ep, "priority", &np->priority, err)) < 0)
            return r;
        if (np->name == NULL || *np->name == '\0' || strchr(np->name, ' ') != NULL)
            return lcow_error_make(err, EINVAL, "%s.name: invalid interface name", ep);
    }
    return 0;
}

static int parse_rdma(const struct json_object *res, const char *path,
                      struct oci_linux_resources *out, struct lcow_error **err)
{
    struct json_object *map = NULL;
    int r = lcow_json_get_object(res, path, "rdma", &map, err);
    if (r < 0 || map == NULL)
        return r;
    size_t n = (size_t)json_object_object_length(map);
    out->rdma = calloc(n ? n : 1, sizeof(*out->rdma));
    if (out->rdma == NULL)
        return lcow_error_make(err, ENOMEM, "%s.rdma: out of memory", path);
    json_object_object_foreach(map, k, v)
    {
        char ep[PATH_MAX_LEN];
        struct oci_rdma_limit *l = &out->rdma[out->n_rdma];
        path_fmt(ep, sizeof(ep), "%s.rdma.%s", path, k);
        if (v == NULL)
            continue; /* null = absent */
        if ((r = want_object(v, ep, err)) < 0)
            return r;
        if (*k == '\0' || strchr(k, ' ') != NULL || strchr(k, '\n') != NULL)
            return lcow_error_make(err, EINVAL, "%s: invalid rdma device name", ep);
        l->device = strdup(k);
        if (l->device == NULL)
            return lcow_error_make(err, ENOMEM, "%s: out of memory", ep);
        out->n_rdma++;
        if ((r = opt_u64_max(v, ep, "hcaHandles", UINT32_MAX, &l->hca_handles, err)) < 0 ||
            (r = opt_u64_max(v, ep, "hcaObjects", UINT32_MAX, &l->hca_objects, err)) < 0)
            return r;
    }
    return 0;
}

/* A unified key names a file in the cgroup directory: never a path. */
static bool valid_unified_key(const char *k)
{
    return *k != '\0' && strchr(k, '/') == NULL && strcmp(k, ".") != 0 && strcmp(k, "..") != 0;
}

static int parse_unified(const struct json_object *res, const char *path,
                         struct oci_linux_resources *out, struct lcow_error **err)
{
    struct json_object *map = NULL;
    int r = lcow_json_get_object(res, path, "unified", &map, err);
    if (r < 0 || map == NULL)
        return r;
    size_t n = (size_t)json_object_object_length(map);
    out->unified = calloc(n ? n : 1, sizeof(*out->unified));
    if (out->unified == NULL)
        return lcow_error_make(err, ENOMEM, "%s.unified: out of memory", path);
    json_object_object_foreach(map, k, v)
    {
        struct oci_kv *kv = &out->unified[out->n_unified];
        if (v == NULL)
            continue;
        if (!json_object_is_type(v, json_type_string))
            return lcow_error_make(err, EINVAL, "%s.unified.%s: expected string, got %s", path, k,
                                   json_type_to_name(json_object_get_type(v)));
        if (!valid_unified_key(k))
            return lcow_error_make(err, EINVAL, "%s.unified: invalid key `%s`", path, k);
        kv->key = strdup(k);
        kv->value = strdup(json_object_get_string(v));
        out->n_unified++;
        if (kv->key == NULL || kv->value == NULL)
            return lcow_error_make(err, ENOMEM, "%s.unified: out of memory", path);
    }
    return 0;
}

/* Object-valued keys: each parser receives the sub-object and its path. */
struct object_key {
    const char *key;
    int (*parse)(const struct json_object *o, const char *path, struct oci_linux_resources *out,
                 struct lcow_error **err);
};

static const struct object_key object_keys[] = {
    {"memory", parse_memory}, {"cpu", parse_cpu},         {"pids", parse_pids},
    {"blockIO", parse_blkio}, {"network", parse_network},
};

/* Keys whose parsers read the resources object itself (arrays and maps). */
static int (*const whole_keys[])(const struct json_object *, const char *,
                                 struct oci_linux_resources *, struct lcow_error **) = {
    parse_devices,
    parse_hugepages,
    parse_rdma,
    parse_unified,
};

int oci_linux_resources_parse(const struct json_object *obj, const char *json_path,
                              struct oci_linux_resources *ret, struct lcow_error **err)
{
    struct oci_linux_resources res = {0};
    const char *path = json_path ? json_path : "";
    int r = 0;
    if (obj != NULL && !json_object_is_type(obj, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", path,
                               json_type_to_name(json_object_get_type(obj)));
    for (size_t i = 0; obj != NULL && i < LCOW_ARRAY_SIZE(whole_keys) && r >= 0; i++)
        r = whole_keys[i](obj, path, &res, err);
    for (size_t i = 0; obj != NULL && i < LCOW_ARRAY_SIZE(object_keys) && r >= 0; i++) {
        struct json_object *sub = NULL;
        char p[PATH_MAX_LEN];
        r = lcow_json_get_object(obj, path, object_keys[i].key, &sub, err);
        if (r >= 0 && sub != NULL)
            r = object_keys[i].parse(sub, join(p, sizeof(p), path, object_keys[i].key), &res, err);
    }
    if (r < 0) {
        oci_linux_resources_done(&res);
        return r;
    }
    *ret = res;
    return 0;
}

static void free_throttles(struct oci_blkio_throttles *t)
{
    free(t->v);
}

void oci_linux_resources_done(struct oci_linux_resources *r)
{
    if (r == NULL)
        return;
    free(r->devices);
    free(r->cpu.cpus);
    free(r->cpu.mems);
    free(r->blkio.weight_device);
    free_throttles(&r->blkio.read_bps);
    free_throttles(&r->blkio.write_bps);
    free_throttles(&r->blkio.read_iops);
    free_throttles(&r->blkio.write_iops);
    for (size_t i = 0; i < r->n_hugepage_limits; i++)
        free(r->hugepage_limits[i].page_size);
    free(r->hugepage_limits);
    for (size_t i = 0; i < r->network.n_priorities; i++)
        free(r->network.priorities[i].name);
    free(r->network.priorities);
    for (size_t i = 0; i < r->n_rdma; i++)
        free(r->rdma[i].device);
    free(r->rdma);
    for (size_t i = 0; i < r->n_unified; i++) {
        free(r->unified[i].key);
        free(r->unified[i].value);
    }
    free(r->unified);
    memset(r, 0, sizeof(*r));
}

struct oci_linux_resources *oci_linux_resources_free(struct oci_linux_resources *r)
{
    oci_linux_resources_done(r);
    free(r);
    return NULL;
}
