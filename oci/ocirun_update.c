/* `ocirun update`: new resource limits for a running container, from --resources FILE|- (an
 * OCI LinuxResources object, what containerd's shim sends) or runc's flags (turned into the
 * same JSON, so one parser checks both). They are applied through oci_cgroup_apply(...,
 * OCI_CGROUP_UPDATE) and merged into the frozen config.json, so later commands see them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "oci/cgroup.h"
#include "oci/ocirun_ext.h"
#include "oci/spec_resources.h"

#define RESOURCES_MAX (1u << 20)

enum {
    U_RESOURCES,
    U_BLKIO_WEIGHT,
    U_CPU_PERIOD,
    U_CPU_QUOTA,
    U_CPU_SHARE,
    U_CPU_RT_PERIOD,
    U_CPU_RT_RUNTIME,
    U_CPUSET_CPUS,
    U_CPUSET_MEMS,
    U_KERNEL_MEMORY,
    U_KERNEL_MEMORY_TCP,
    U_MEMORY,
    U_MEMORY_RESERVATION,
    U_MEMORY_SWAP,
    U_PIDS_LIMIT,
    U_L3_CACHE,
    U_MEM_BW,
};

static const struct ocirun_opt update_opts[] = {
    [U_RESOURCES] = {"resources", 'r', OPT_VALUE},
    [U_BLKIO_WEIGHT] = {"blkio-weight", 0, OPT_VALUE},
    [U_CPU_PERIOD] = {"cpu-period", 0, OPT_VALUE},
    [U_CPU_QUOTA] = {"cpu-quota", 0, OPT_VALUE},
    [U_CPU_SHARE] = {"cpu-share", 0, OPT_VALUE},
    [U_CPU_RT_PERIOD] = {"cpu-rt-period", 0, OPT_VALUE},
    [U_CPU_RT_RUNTIME] = {"cpu-rt-runtime", 0, OPT_VALUE},
    [U_CPUSET_CPUS] = {"cpuset-cpus", 0, OPT_VALUE},
    [U_CPUSET_MEMS] = {"cpuset-mems", 0, OPT_VALUE},
    [U_KERNEL_MEMORY] = {"kernel-memory", 0, OPT_VALUE},
    [U_KERNEL_MEMORY_TCP] = {"kernel-memory-tcp", 0, OPT_VALUE},
    [U_MEMORY] = {"memory", 0, OPT_VALUE},
    [U_MEMORY_RESERVATION] = {"memory-reservation", 0, OPT_VALUE},
    [U_MEMORY_SWAP] = {"memory-swap", 0, OPT_VALUE},
    [U_PIDS_LIMIT] = {"pids-limit", 0, OPT_VALUE},
    [U_L3_CACHE] = {"l3-cache-schema", 0, OPT_VALUE},
    [U_MEM_BW] = {"mem-bw-schema", 0, OPT_VALUE},
};

/* How each flag lands in the LinuxResources JSON. */
enum value_kind { V_INT, V_BYTES, V_STRING };
static const struct {
    int opt;
    const char *section, *key;
    enum value_kind kind;
} flag_map[] = {
    {U_BLKIO_WEIGHT, "blockIO", "weight", V_INT},
    {U_CPU_PERIOD, "cpu", "period", V_INT},
    {U_CPU_QUOTA, "cpu", "quota", V_INT},
    {U_CPU_SHARE, "cpu", "shares", V_INT},
    {U_CPU_RT_PERIOD, "cpu", "realtimePeriod", V_INT},
    {U_CPU_RT_RUNTIME, "cpu", "realtimeRuntime", V_INT},
    {U_CPUSET_CPUS, "cpu", "cpus", V_STRING},
    {U_CPUSET_MEMS, "cpu", "mems", V_STRING},
    {U_KERNEL_MEMORY, "memory", "kernel", V_BYTES},
    {U_KERNEL_MEMORY_TCP, "memory", "kernelTCP", V_BYTES},
    {U_MEMORY, "memory", "limit", V_BYTES},
    {U_MEMORY_RESERVATION, "memory", "reservation", V_BYTES},
    {U_MEMORY_SWAP, "memory", "swap", V_BYTES},
    {U_PIDS_LIMIT, "pids", "limit", V_INT},
};

/* Docker's RAMInBytes: a number with an optional binary k/m/g/t/p suffix (b, ib allowed);
 * "-1" is unlimited. */
static int parse_bytes(const char *s, int64_t *ret)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < -1)
        return -EINVAL;
    if (v == -1 && *end == '\0') {
        *ret = -1;
        return 0;
    }
    static const char units[] = "kmgtp";
    double mul = 1;
    if (*end) {
        const char *u = strchr(units, end[0] | 0x20);
        if (u == NULL)
            return -EINVAL;
        for (const char *c = units; c <= u; c++)
            mul *= 1024;
        end++;
        if ((*end | 0x20) == 'i')
            end++;
        if ((*end | 0x20) == 'b')
            end++;
        if (*end)
            return -EINVAL;
    }
    if (v < 0 || v * mul > 9.2e18)
        return -EINVAL;
    *ret = (int64_t)(v * mul);
    return 0;
}

static int parse_int(const char *s, int64_t *ret)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno)
        return -EINVAL;
    *ret = v;
    return 0;
}

static struct json_object *section(struct json_object *o, const char *name)
{
    struct json_object *s = NULL;
    if (!json_object_object_get_ex(o, name, &s) || !json_object_is_type(s, json_type_object)) {
        s = json_object_new_object();
        json_object_object_add(o, name, s);
    }
    return s;
}

static int resources_from_flags(const struct ocirun_args *a, struct json_object **ret,
                                struct lcow_error **err)
{
    cleanup_json struct json_object *o = json_object_new_object();
    if (o == NULL)
        return lcow_error_make(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(flag_map); i++) {
        const char *v = a->value[flag_map[i].opt];
        int64_t n = 0;
        if (v == NULL)
            continue;
        struct json_object *val = NULL;
        if (flag_map[i].kind == V_STRING)
            val = json_object_new_string(v);
        else if ((flag_map[i].kind == V_BYTES ? parse_bytes(v, &n) : parse_int(v, &n)) < 0)
            return lcow_error_make(err, EINVAL, "invalid value for --%s: `%s`",
                                   update_opts[flag_map[i].opt].name, v);
        else
            val = json_object_new_int64(n);
        json_object_object_add(section(o, flag_map[i].section), flag_map[i].key, val);
    }
    /* runc: a memory limit of -1 without an explicit swap makes swap unlimited too. */
    struct json_object *mem = NULL, *lim = NULL, *swap = NULL;
    if (json_object_object_get_ex(o, "memory", &mem) &&
        json_object_object_get_ex(mem, "limit", &lim) && json_object_get_int64(lim) == -1 &&
        !json_object_object_get_ex(mem, "swap", &swap))
        json_object_object_add(mem, "swap", json_object_new_int64(-1));
    *ret = steal_pointer(&o);
    return 0;
}

static int resources_from_file(const char *path, struct json_object **ret, struct lcow_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;
    int r;
    if (strcmp(path, "-") == 0) {
        size_t cap = 0;
        for (;;) {
            if (len + 4097 > cap) {
                char *nb = cap < RESOURCES_MAX ? realloc(buf, cap = cap ? cap * 2 : 8192) : NULL;
                if (nb == NULL)
                    return lcow_error_make(err, EFBIG, "--resources -: input too large");
                buf = nb;
            }
            ssize_t n = LCOW_RETRY_EINTR(read(0, buf + len, 4096));
            if (n < 0)
                return lcow_error_errno(err, "read --resources from stdin");
            if (n == 0)
                break;
            len += (size_t)n;
        }
    } else if ((r = lcow_read_file(path, RESOURCES_MAX, &buf, &len, err)) < 0) {
        return r;
    }
    return lcow_json_parse(buf ? buf : "", len, "resources", ret, err);
}

/* Deep-merges src's objects into dst (scalars and arrays replace). */
static void merge(struct json_object *dst, struct json_object *src)
{
    json_object_object_foreach(src, key, val)
    {
        struct json_object *cur = NULL;
        if (json_object_is_type(val, json_type_object) &&
            json_object_object_get_ex(dst, key, &cur) && json_object_is_type(cur, json_type_object))
            merge(cur, val);
        else
            json_object_object_add(dst, key, json_object_get(val));
    }
}

/* The frozen config.json gets the new values: later commands (and runc's `update` semantics)
 * start from them. */
static int persist(const char *dir, struct json_object *res, struct lcow_error **err)
{
    char path[4200];
    cleanup_free char *buf = NULL;
    cleanup_json struct json_object *cfg = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/config.json", dir);
    int r = lcow_read_file(path, OCI_SPEC_MAX_SIZE, &buf, &len, err);
    if (r < 0 || (r = lcow_json_parse(buf, len, path, &cfg, err)) < 0)
        return r;
    merge(section(section(cfg, "linux"), "resources"), res);
    const char *text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
    return lcow_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int update(const struct ocirun_args *a, struct lcow_error **err)
{
    struct oci_state st = {0};
    char dir[4096];
    if (a->value[U_L3_CACHE] || a->value[U_MEM_BW])
        return lcow_error_make(err, EOPNOTSUPP, "Intel RDT is not supported");
    if (ocirun_load(a->pos[0], &st, dir, sizeof(dir), 1))
        return -ENOENT;
    cleanup_json struct json_object *res = NULL;
    struct oci_linux_resources parsed = {0};
    struct oci_cgroup_layout *layout = NULL;
    struct oci_cgroup *cg = NULL;
    int r;
    if (strcmp(ocirun_status(dir, &st, NULL), "stopped") == 0)
        r = lcow_error_make(err, ESRCH, "container `%s` is not running", st.id);
    else if ((r = a->value[U_RESOURCES] ? resources_from_file(a->value[U_RESOURCES], &res, err)
                                        : resources_from_flags(a, &res, err)) == 0 &&
             (r = oci_linux_resources_parse(res, "resources", &parsed, err)) == 0) {
        if ((r = ocirun_cgroup_open(&st, &layout, &cg, err)) == 0 &&
            (r = oci_cgroup_apply(cg, &parsed, NULL, OCI_CGROUP_UPDATE, err)) == 0) {
            lcow_debug("update `%s`: %s", st.id, json_object_to_json_string(res));
            r = persist(dir, res, err);
        }
        oci_linux_resources_done(&parsed);
    }
    ocirun_cgroup_close(layout, cg);
    oci_state_done(&st);
    return r;
}

int ocirun_cmd_update(int argc, char **argv)
{
    cleanup_error struct lcow_error *err = NULL;
    struct ocirun_args a;
    if (ocirun_parse("update", update_opts, LCOW_ARRAY_SIZE(update_opts), argc, argv, 0, &a))
        return 1;
    int code = 0;
    if (a.n_pos != 1)
        code = ocirun_fail(1, "update: exactly one container id is required");
    else if (update(&a, &err) < 0)
        code = err ? ocirun_fail(1, "%s", lcow_error_message(err)) : 1;
    ocirun_args_done(&a);
    return code;
}
