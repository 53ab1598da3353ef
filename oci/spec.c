/* config.json -> struct oci_spec. One small function per object of the runtime spec; each
 * checks type and value of every field it reads and names the JSON path when it refuses. */
#include "oci/spec.h"

#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "oci/spec_resources.h"
#include "oci/spec_seccomp.h"

#define PATH_BUF 256

static char *path_join(char *buf, const char *path, const char *key)
{
    if (snprintf(buf, PATH_BUF, "%s%s%s", path, *path ? "." : "", key) >= PATH_BUF)
        buf[PATH_BUF - 1] = '\0'; /* a truncated path is still a useful hint */
    return buf;
}

static char *path_index(char *buf, const char *path, const char *key, size_t i)
{
    if (snprintf(buf, PATH_BUF, "%s%s%s[%zu]", path, *path ? "." : "", key, i) >= PATH_BUF)
        buf[PATH_BUF - 1] = '\0';
    return buf;
}

static int oom(struct lcow_error **err, const char *path)
{
    return lcow_error_make(err, ENOMEM, "%s: out of memory", path);
}

static int get_strv(const struct json_object *o, const char *path, const char *key, char ***ret,
                    struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(o, path, key, &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    if (json_object_array_length(arr) > OCI_MAX_ARRAY) {
        char p[PATH_BUF];
        return lcow_error_make(err, E2BIG, "%s: more than %u entries", path_join(p, path, key),
                               OCI_MAX_ARRAY);
    }
    return lcow_json_get_strv(o, path, key, ret, err);
}

/* Borrowed array `key` of o with its length; *ret_arr NULL when absent. */
static int get_array(const struct json_object *o, const char *path, const char *key, size_t max,
                     struct json_object **ret_arr, size_t *ret_n, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(o, path, key, &arr, err);
    if (r < 0)
        return r;
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n > max) {
        char p[PATH_BUF];
        return lcow_error_make(err, E2BIG, "%s: more than %zu entries", path_join(p, path, key),
                               max);
    }
    *ret_arr = arr;
    *ret_n = n;
    return 0;
}

/* An array element that must be an object. */
static int elem_object(struct json_object *arr, size_t i, const char *p, struct json_object **ret,
                       struct lcow_error **err)
{
    struct json_object *e = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(e, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", p,
                               json_type_to_name(json_object_get_type(e)));
    *ret = e;
    return 0;
}

static void *alloc_array(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

static int parse_id_mappings(const struct json_object *o, const char *path, const char *key,
                             struct oci_id_mapping **ret, size_t *ret_n, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(o, path, key, OCI_MAX_ARRAY, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    cleanup_free struct oci_id_mapping *m = alloc_array(n, sizeof(*m));
    if (m == NULL)
        return oom(err, path);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = NULL;
        path_index(p, path, key, i);
        if ((r = elem_object(arr, i, p, &e, err)) < 0 ||
            (r = lcow_json_get_uint32(e, p, "containerID", &m[i].container_id, err)) < 0 ||
            (r = lcow_json_get_uint32(e, p, "hostID", &m[i].host_id, err)) < 0 ||
            (r = lcow_json_get_uint32(e, p, "size", &m[i].size, err)) < 0)
            return r;
        if (m[i].size == 0)
            return lcow_error_make(err, EINVAL, "%s.size: must be positive", p);
    }
    *ret = steal_pointer(&m);
    *ret_n = n;
    return 0;
}

static int parse_kv_object(const struct json_object *o, const char *path, const char *key,
                           struct oci_kv **ret, size_t *ret_n, struct lcow_error **err)
{
    struct json_object *obj = NULL;
    char p[PATH_BUF];
    int r = lcow_json_get_object(o, path, key, &obj, err);
    if (r < 0 || obj == NULL)
        return r;
    path_join(p, path, key);
    size_t n = (size_t)json_object_object_length(obj);
    if (n > OCI_MAX_ARRAY)
        return lcow_error_make(err, E2BIG, "%s: more than %u entries", p, OCI_MAX_ARRAY);
    struct oci_kv *kv = alloc_array(n, sizeof(*kv));
    if (kv == NULL)
        return oom(err, p);
    size_t i = 0;
    json_object_object_foreach(obj, k, v)
    {
        if (!json_object_is_type(v, json_type_string)) {
            r = lcow_error_make(err, EINVAL, "%s.%s: expected string, got %s", p, k,
                                json_type_to_name(json_object_get_type(v)));
            goto fail;
        }
        kv[i].key = strdup(k);
        kv[i].value = strdup(json_object_get_string(v));
        i++;
        if (kv[i - 1].key == NULL || kv[i - 1].value == NULL) {
            r = oom(err, p);
            goto fail;
        }
    }
    *ret = kv;
    *ret_n = i;
    return 0;
fail:
    for (size_t j = 0; j < i; j++) {
        free(kv[j].key);
        free(kv[j].value);
    }
    free(kv);
    return r;
}

/* ---- process ---- */

static int parse_cap_set(const struct json_object *o, const char *path, const char *key,
                         uint64_t *ret, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(o, path, key, OCI_MAX_ARRAY, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = json_object_array_get_idx(arr, i);
        path_index(p, path, key, i);
        if (!json_object_is_type(e, json_type_string))
            return lcow_error_make(err, EINVAL, "%s: expected string", p);
        int cap = oci_cap_from_name(json_object_get_string(e));
        if (cap < 0)
            return lcow_error_make(err, EINVAL, "%s: unknown capability `%s`", p,
                                   json_object_get_string(e));
        mask |= 1ULL << cap;
    }
    *ret = mask;
    return 0;
}

static int parse_caps(const struct json_object *o, const char *path, struct oci_caps *caps,
                      struct lcow_error **err)
{
    struct json_object *c = NULL;
    char p[PATH_BUF];
    int r = lcow_json_get_object(o, path, "capabilities", &c, err);
    if (r < 0 || c == NULL)
        return r;
    path_join(p, path, "capabilities");
    caps->present = true;
    if ((r = parse_cap_set(c, p, "bounding", &caps->bounding, err)) < 0 ||
        (r = parse_cap_set(c, p, "effective", &caps->effective, err)) < 0 ||
        (r = parse_cap_set(c, p, "inheritable", &caps->inheritable, err)) < 0 ||
        (r = parse_cap_set(c, p, "permitted", &caps->permitted, err)) < 0 ||
        (r = parse_cap_set(c, p, "ambient", &caps->ambient, err)) < 0)
        return r;
    return 0;
}

static int parse_rlimits(const struct json_object *o, const char *path, struct oci_process *proc,
                         struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(o, path, "rlimits", 64, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    proc->rlimits = alloc_array(n, sizeof(*proc->rlimits));
    if (proc->rlimits == NULL)
        return oom(err, path);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = NULL;
        const char *type = NULL;
        struct oci_rlimit *rl = &proc->rlimits[i];
        path_index(p, path, "rlimits", i);
        if ((r = elem_object(arr, i, p, &e, err)) < 0 ||
            (r = lcow_json_get_string(e, p, "type", &type, err)) < 0 ||
            (r = lcow_json_get_uint64(e, p, "hard", &rl->hard, err)) < 0 ||
            (r = lcow_json_get_uint64(e, p, "soft", &rl->soft, err)) < 0)
            return r;
        if (type == NULL)
            return lcow_error_make(err, EINVAL, "%s.type: required", p);
        rl->resource = oci_rlimit_from_name(type);
        if (rl->resource < 0)
            return lcow_error_make(err, EINVAL, "%s.type: unknown rlimit `%s`", p, type);
        if (rl->soft > rl->hard)
            return lcow_error_make(err, EINVAL, "%s: soft limit %llu exceeds hard limit %llu", p,
                                   (unsigned long long)rl->soft, (unsigned long long)rl->hard);
        for (size_t j = 0; j < i; j++)
            if (proc->rlimits[j].resource == rl->resource)
                return lcow_error_make(err, EINVAL, "%s.type: duplicate rlimit `%s`", p, type);
        proc->n_rlimits = i + 1;
    }
    return 0;
}

static int parse_user(const struct json_object *o, const char *path, struct oci_user *u,
                      struct lcow_error **err)
{
    struct json_object *uo = NULL;
    char p[PATH_BUF];
    int r = lcow_json_get_object(o, path, "user", &uo, err);
    if (r < 0 || uo == NULL)
        return r;
    path_join(p, path, "user");
    if ((r = lcow_json_get_uint32(uo, p, "uid", &u->uid, err)) < 0 ||
        (r = lcow_json_get_uint32(uo, p, "gid", &u->gid, err)) < 0)
        return r;
    if (lcow_json_field(uo, "umask") != NULL) {
        if ((r = lcow_json_get_uint32(uo, p, "umask", &u->umask, err)) < 0)
            return r;
        if (u->umask > 07777)
            return lcow_error_make(err, EINVAL, "%s.umask: %u is not a file mode mask", p,
                                   u->umask);
        u->has_umask = true;
    }
    struct json_object *arr = NULL;
    size_t n = 0;
    if ((r = get_array(uo, p, "additionalGids", 65536, &arr, &n, err)) < 0 || arr == NULL)
        return r;
    u->additional_gids = alloc_array(n, sizeof(uint32_t));
    if (u->additional_gids == NULL)
        return oom(err, p);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_BUF];
        uint64_t v = 0;
        path_index(ep, p, "additionalGids", i);
        if ((r = lcow_json_as_uint64(json_object_array_get_idx(arr, i), ep, &v, err)) < 0)
            return r;
        if (v > UINT32_MAX)
            return lcow_error_make(err, ERANGE, "%s: gid out of range", ep);
        u->additional_gids[i] = (uint32_t)v;
        u->n_additional_gids = i + 1;
    }
    return 0;
}

static const struct {
    const char *name;
    int value;
} sched_policies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

static const struct {
    const char *name;
    uint64_t value;
} sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

/* The kernel's rules for sched_setattr, checked here so the error names the field. */
static int check_scheduler(struct oci_scheduler *s, const char *p, struct lcow_error **err)
{
    bool realtime = s->policy == 1 || s->policy == 2; /* FIFO, RR */
    bool deadline = s->policy == 6;
    if (realtime && (s->priority < 1 || s->priority > 99))
        return lcow_error_make(err, EINVAL, "%s.priority: %d outside [1, 99] for %s", p,
                               s->priority, s->policy == 1 ? "SCHED_FIFO" : "SCHED_RR");
    if (!realtime && s->priority != 0)
        return lcow_error_make(err, EINVAL, "%s.priority: only SCHED_FIFO/SCHED_RR take one", p);
    if (!deadline && (s->runtime || s->deadline || s->period))
        return lcow_error_make(err, EINVAL,
                               "%s: runtime/deadline/period are for SCHED_DEADLINE only", p);
    if (deadline && (s->runtime == 0 || s->runtime > s->deadline ||
                     (s->period != 0 && s->deadline > s->period)))
        return lcow_error_make(err, EINVAL,
                               "%s: SCHED_DEADLINE needs 0 < runtime <= deadline <= period", p);
    s->present = true;
    return 0;
}

static int parse_scheduler(const struct json_object *o, const char *path, struct oci_scheduler *s,
                           struct lcow_error **err)
{
    struct json_object *so = NULL;
    char p[PATH_BUF];
    const char *policy = NULL;
    int r = lcow_json_get_object(o, path, "scheduler", &so, err);
    if (r < 0 || so == NULL)
        return r;
    path_join(p, path, "scheduler");
    if ((r = lcow_json_get_string(so, p, "policy", &policy, err)) < 0 ||
        (r = lcow_json_get_int32(so, p, "nice", &s->nice, err)) < 0 ||
        (r = lcow_json_get_int32(so, p, "priority", &s->priority, err)) < 0 ||
        (r = lcow_json_get_uint64(so, p, "runtime", &s->runtime, err)) < 0 ||
        (r = lcow_json_get_uint64(so, p, "deadline", &s->deadline, err)) < 0 ||
        (r = lcow_json_get_uint64(so, p, "period", &s->period, err)) < 0)
        return r;
    if (policy == NULL)
        return lcow_error_make(err, EINVAL, "%s.policy: required", p);
    s->policy = -1;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(sched_policies); i++)
        if (strcmp(sched_policies[i].name, policy) == 0)
            s->policy = sched_policies[i].value;
    if (s->policy < 0)
        return lcow_error_make(err, EINVAL, "%s.policy: unknown policy `%s`", p, policy);
    if (s->nice < -20 || s->nice > 19)
        return lcow_error_make(err, EINVAL, "%s.nice: %d outside [-20, 19]", p, s->nice);
    cleanup_strv char **flags = NULL;
    if ((r = get_strv(so, p, "flags", &flags, err)) < 0)
        return r;
    for (size_t i = 0; flags && flags[i]; i++) {
        size_t j = 0;
        while (j < LCOW_ARRAY_SIZE(sched_flags) && strcmp(sched_flags[j].name, flags[i]) != 0)
            j++;
        if (j == LCOW_ARRAY_SIZE(sched_flags))
            return lcow_error_make(err, EINVAL, "%s.flags[%zu]: unknown flag `%s`", p, i, flags[i]);
        s->flags |= sched_flags[j].value;
    }
    return check_scheduler(s, p, err);
}

static int parse_io_priority(const struct json_object *o, const char *path,
                             struct oci_process *proc, struct lcow_error **err)
{
    static const char *const classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                          "IOPRIO_CLASS_IDLE"};
    struct json_object *io = NULL;
    char p[PATH_BUF];
    const char *cls = NULL;
    int r = lcow_json_get_object(o, path, "ioPriority", &io, err);
    if (r < 0 || io == NULL)
        return r;
    path_join(p, path, "ioPriority");
    int32_t prio = 0;
    if ((r = lcow_json_get_string(io, p, "class", &cls, err)) < 0 ||
        (r = lcow_json_get_int32(io, p, "priority", &prio, err)) < 0)
        return r;
    if (cls == NULL)
        return lcow_error_make(err, EINVAL, "%s.class: required", p);
    proc->io_priority_class = 0;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(classes); i++)
        if (strcmp(classes[i], cls) == 0)
            proc->io_priority_class = (int)i + 1; /* IOPRIO_CLASS_RT = 1 */
    if (proc->io_priority_class == 0)
        return lcow_error_make(err, EINVAL, "%s.class: unknown class `%s`", p, cls);
    if (prio < 0 || prio > 7)
        return lcow_error_make(err, EINVAL, "%s.priority: %d outside [0, 7]", p, prio);
    proc->io_priority = prio;
    proc->has_io_priority = true;
    return 0;
}

static int parse_process_misc(const struct json_object *o, const char *path,
                              struct oci_process *proc, struct lcow_error **err)
{
    int r;
    struct json_object *cs = NULL, *aff = NULL;
    char p[PATH_BUF];
    if ((r = lcow_json_get_bool(o, path, "terminal", &proc->terminal, err)) < 0 ||
        (r = lcow_json_get_bool(o, path, "noNewPrivileges", &proc->no_new_privileges, err)) < 0 ||
        (r = lcow_json_get_strdup(o, path, "apparmorProfile", &proc->apparmor_profile, err)) < 0 ||
        (r = lcow_json_get_strdup(o, path, "selinuxLabel", &proc->selinux_label, err)) < 0 ||
        (r = lcow_json_get_object(o, path, "consoleSize", &cs, err)) < 0 ||
        (r = lcow_json_get_object(o, path, "execCPUAffinity", &aff, err)) < 0)
        return r;
    if (cs != NULL) {
        path_join(p, path, "consoleSize");
        if ((r = lcow_json_get_uint32(cs, p, "height", &proc->console_height, err)) < 0 ||
            (r = lcow_json_get_uint32(cs, p, "width", &proc->console_width, err)) < 0)
            return r;
        proc->has_console_size = true;
    }
    if (aff != NULL) {
        cpu_set_t set;
        path_join(p, path, "execCPUAffinity");
        if ((r = lcow_json_get_strdup(aff, p, "initial", &proc->cpu_affinity_initial, err)) < 0 ||
            (r = lcow_json_get_strdup(aff, p, "final", &proc->cpu_affinity_final, err)) < 0)
            return r;
        if (proc->cpu_affinity_initial && oci_cpu_list_parse(proc->cpu_affinity_initial, &set) < 0)
            return lcow_error_make(err, EINVAL, "%s.initial: bad CPU list `%s`", p,
                                   proc->cpu_affinity_initial);
        if (proc->cpu_affinity_final && oci_cpu_list_parse(proc->cpu_affinity_final, &set) < 0)
            return lcow_error_make(err, EINVAL, "%s.final: bad CPU list `%s`", p,
                                   proc->cpu_affinity_final);
    }
    if (lcow_json_field(o, "oomScoreAdj") != NULL) {
        int32_t v = 0;
        if ((r = lcow_json_get_int32(o, path, "oomScoreAdj", &v, err)) < 0)
            return r;
        if (v < -1000 || v > 1000)
            return lcow_error_make(err, EINVAL, "%s: %d outside [-1000, 1000]",
                                   path_join(p, path, "oomScoreAdj"), v);
        proc->oom_score_adj = v;
        proc->has_oom_score_adj = true;
    }
    return 0;
}

int oci_process_from_json(const struct json_object *o, const char *path, struct oci_process **ret,
                          struct lcow_error **err)
{
    char p[PATH_BUF];
    int r;
    struct oci_process *proc = calloc(1, sizeof(*proc));
    if (proc == NULL)
        return oom(err, path);
    if ((r = parse_process_misc(o, path, proc, err)) < 0 ||
        (r = parse_user(o, path, &proc->user, err)) < 0 ||
        (r = get_strv(o, path, "args", &proc->args, err)) < 0 ||
        (r = get_strv(o, path, "env", &proc->env, err)) < 0 ||
        (r = lcow_json_get_strdup(o, path, "cwd", &proc->cwd, err)) < 0 ||
        (r = parse_caps(o, path, &proc->caps, err)) < 0 ||
        (r = parse_rlimits(o, path, proc, err)) < 0 ||
        (r = parse_io_priority(o, path, proc, err)) < 0 ||
        (r = parse_scheduler(o, path, &proc->scheduler, err)) < 0)
        goto fail;
    if (proc->args == NULL || proc->args[0] == NULL || proc->args[0][0] == '\0') {
        r = lcow_error_make(err, EINVAL, "%s: must not be empty", path_join(p, path, "args"));
        goto fail;
    }
    for (size_t i = 0; proc->env && proc->env[i]; i++) {
        /* runc refuses these too: execve would pass them on as garbage. */
        if (strchr(proc->env[i], '=') == NULL || proc->env[i][0] == '=') {
            r = lcow_error_make(err, EINVAL, "%s.env[%zu]: `%s` is not KEY=VALUE", path, i,
                                proc->env[i]);
            goto fail;
        }
    }
    if (proc->env == NULL && (proc->env = calloc(1, sizeof(char *))) == NULL) {
        r = oom(err, path);
        goto fail;
    }
    if (proc->cwd == NULL && (proc->cwd = strdup("/")) == NULL) {
        r = oom(err, path);
        goto fail;
    }
    if (proc->cwd[0] != '/') {
        r = lcow_error_make(err, EINVAL, "%s: `%s` is not an absolute path",
                            path_join(p, path, "cwd"), proc->cwd);
        goto fail;
    }
    *ret = proc;
    return 0;
fail:
    oci_process_free(proc);
    return r;
}

/* ---- root, mounts, hooks ---- */

static int parse_root(const struct json_object *o, struct oci_spec *spec, struct lcow_error **err)
{
    struct json_object *root = NULL;
    int r = lcow_json_get_object(o, "", "root", &root, err);
    if (r < 0)
        return r;
    if (root == NULL)
        return lcow_error_make(err, EINVAL, "root: required");
    if ((r = lcow_json_get_strdup(root, "root", "path", &spec->root_path, err)) < 0 ||
        (r = lcow_json_get_bool(root, "root", "readonly", &spec->root_readonly, err)) < 0)
        return r;
    if (spec->root_path == NULL || spec->root_path[0] == '\0')
        return lcow_error_make(err, EINVAL, "root.path: required");
    return 0;
}

static int parse_mount(struct json_object *e, const char *p, struct oci_mount *m,
                       struct lcow_error **err)
{
    int r;
    if ((r = lcow_json_get_strdup(e, p, "destination", &m->destination, err)) < 0 ||
        (r = lcow_json_get_strdup(e, p, "type", &m->type, err)) < 0 ||
        (r = lcow_json_get_strdup(e, p, "source", &m->source, err)) < 0 ||
        (r = get_strv(e, p, "options", &m->options, err)) < 0 ||
        (r = parse_id_mappings(e, p, "uidMappings", &m->uid_mappings, &m->n_uid_mappings, err)) <
            0 ||
        (r = parse_id_mappings(e, p, "gidMappings", &m->gid_mappings, &m->n_gid_mappings, err)) < 0)
        return r;
    if (m->destination == NULL || m->destination[0] == '\0')
        return lcow_error_make(err, EINVAL, "%s.destination: required", p);
    if (m->destination[0] != '/') {
        /* Spec 1.2: relative destinations are relative to the container's "/". */
        size_t len = strlen(m->destination) + 2;
        char *abs = malloc(len);
        if (abs == NULL)
            return oom(err, p);
        snprintf(abs, len, "/%s", m->destination);
        free(m->destination);
        m->destination = abs;
    }
    return 0;
}

static int parse_mounts(const struct json_object *o, struct oci_spec *spec, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(o, "", "mounts", OCI_MAX_MOUNTS, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    spec->mounts = alloc_array(n, sizeof(*spec->mounts));
    if (spec->mounts == NULL)
        return oom(err, "mounts");
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = NULL;
        path_index(p, "", "mounts", i);
        spec->n_mounts = i + 1;
        if ((r = elem_object(arr, i, p, &e, err)) < 0 ||
            (r = parse_mount(e, p, &spec->mounts[i], err)) < 0)
            return r;
    }
    return 0;
}

static int parse_hook_list(const struct json_object *hooks, const char *key, struct oci_hook **ret,
                           size_t *ret_n, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(hooks, "hooks", key, 256, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    struct oci_hook *h = alloc_array(n, sizeof(*h));
    if (h == NULL)
        return oom(err, "hooks");
    *ret = h;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = NULL;
        int32_t timeout = 0;
        path_index(p, "hooks", key, i);
        *ret_n = i + 1;
        if ((r = elem_object(arr, i, p, &e, err)) < 0 ||
            (r = lcow_json_get_strdup(e, p, "path", &h[i].path, err)) < 0 ||
            (r = get_strv(e, p, "args", &h[i].args, err)) < 0 ||
            (r = get_strv(e, p, "env", &h[i].env, err)) < 0 ||
            (r = lcow_json_get_int32(e, p, "timeout", &timeout, err)) < 0)
            return r;
        if (h[i].path == NULL || h[i].path[0] != '/')
            return lcow_error_make(err, EINVAL, "%s.path: an absolute path is required", p);
        if (lcow_json_field(e, "timeout") != NULL && timeout <= 0)
            return lcow_error_make(err, EINVAL, "%s.timeout: must be positive", p);
        h[i].timeout = timeout;
    }
    return 0;
}

static int parse_hooks(const struct json_object *o, struct oci_spec *spec, struct lcow_error **err)
{
    static const char *const names[OCI_HOOK_KIND_MAX] = {
        [OCI_HOOK_PRESTART] = "prestart",
        [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
        [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
        [OCI_HOOK_START_CONTAINER] = "startContainer",
        [OCI_HOOK_POSTSTART] = "poststart",
        [OCI_HOOK_POSTSTOP] = "poststop",
    };
    struct json_object *hooks = NULL;
    int r = lcow_json_get_object(o, "", "hooks", &hooks, err);
    if (r < 0 || hooks == NULL)
        return r;
    for (int k = 0; k < OCI_HOOK_KIND_MAX; k++)
        if ((r = parse_hook_list(hooks, names[k], &spec->hooks[k], &spec->n_hooks[k], err)) < 0)
            return r;
    return 0;
}

/* ---- linux ---- */

static int parse_namespaces(const struct json_object *o, struct oci_linux *lx,
                            struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(o, "linux", "namespaces", 64, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = NULL;
        const char *type = NULL;
        path_index(p, "linux", "namespaces", i);
        if ((r = elem_object(arr, i, p, &e, err)) < 0 ||
            (r = lcow_json_get_string(e, p, "type", &type, err)) < 0)
            return r;
        if (type == NULL)
            return lcow_error_make(err, EINVAL, "%s.type: required", p);
        int kind = 0;
        while (kind < OCI_NS_KIND_MAX && strcmp(oci_ns_name(kind), type) != 0)
            kind++;
        if (kind == OCI_NS_KIND_MAX)
            return lcow_error_make(err, EINVAL, "%s.type: unknown namespace `%s`", p, type);
        struct oci_namespace *ns = &lx->namespaces[kind];
        if (ns->present)
            return lcow_error_make(err, EINVAL, "%s.type: duplicate namespace `%s`", p, type);
        ns->present = true;
        if ((r = lcow_json_get_strdup(e, p, "path", &ns->path, err)) < 0)
            return r;
        if (ns->path != NULL && ns->path[0] == '\0') {
            free(ns->path);
            ns->path = NULL;
        } else if (ns->path != NULL && ns->path[0] != '/') {
            return lcow_error_make(err, EINVAL, "%s.path: `%s` is not an absolute path", p,
                                   ns->path);
        }
    }
    return 0;
}

static int parse_devices(const struct json_object *o, struct oci_linux *lx, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    size_t n = 0;
    int r = get_array(o, "linux", "devices", OCI_MAX_ARRAY, &arr, &n, err);
    if (r < 0 || arr == NULL)
        return r;
    lx->devices = alloc_array(n, sizeof(*lx->devices));
    if (lx->devices == NULL)
        return oom(err, "linux.devices");
    for (size_t i = 0; i < n; i++) {
        char p[PATH_BUF];
        struct json_object *e = NULL;
        const char *type = NULL;
        struct oci_device *d = &lx->devices[i];
        path_index(p, "linux", "devices", i);
        lx->n_devices = i + 1;
        if ((r = elem_object(arr, i, p, &e, err)) < 0 ||
            (r = lcow_json_get_string(e, p, "type", &type, err)) < 0 ||
            (r = lcow_json_get_strdup(e, p, "path", &d->path, err)) < 0 ||
            (r = lcow_json_get_int64(e, p, "major", &d->major, err)) < 0 ||
            (r = lcow_json_get_int64(e, p, "minor", &d->minor, err)) < 0)
            return r;
        if (type == NULL || strlen(type) != 1 || !strchr("cbup", type[0]))
            return lcow_error_make(err, EINVAL, "%s.type: must be one of c, b, u, p", p);
        d->type = type[0];
        if (d->path == NULL || d->path[0] != '/')
            return lcow_error_make(err, EINVAL, "%s.path: an absolute path is required", p);
        if (d->type != 'p' &&
            (lcow_json_field(e, "major") == NULL || lcow_json_field(e, "minor") == NULL))
            return lcow_error_make(err, EINVAL, "%s: major and minor are required", p);
        if (d->major < 0 || d->major > 4095 || d->minor < 0 || d->minor > 0xfffff)
            return lcow_error_make(err, EINVAL, "%s: device number out of range", p);
        d->has_file_mode = lcow_json_field(e, "fileMode") != NULL;
        d->has_uid = lcow_json_field(e, "uid") != NULL;
        d->has_gid = lcow_json_field(e, "gid") != NULL;
        if ((r = lcow_json_get_uint32(e, p, "fileMode", &d->file_mode, err)) < 0 ||
            (r = lcow_json_get_uint32(e, p, "uid", &d->uid, err)) < 0 ||
            (r = lcow_json_get_uint32(e, p, "gid", &d->gid, err)) < 0)
            return r;
        if (d->file_mode > 07777)
            return lcow_error_make(err, EINVAL, "%s.fileMode: %o is not a permission mode", p,
                                   d->file_mode);
    }
    return 0;
}

static int parse_time_offsets(const struct json_object *o, struct oci_linux *lx,
                              struct lcow_error **err)
{
    struct json_object *to = NULL;
    int r = lcow_json_get_object(o, "linux", "timeOffsets", &to, err);
    if (r < 0 || to == NULL)
        return r;
    json_object_object_foreach(to, k, v)
    {
        char p[PATH_BUF];
        snprintf(p, sizeof(p), "linux.timeOffsets.%s", k);
        bool mono = strcmp(k, "monotonic") == 0;
        if (!mono && strcmp(k, "boottime") != 0)
            return lcow_error_make(err, EINVAL, "%s: unknown clock", p);
        if (!json_object_is_type(v, json_type_object))
            return lcow_error_make(err, EINVAL, "%s: expected object", p);
        int64_t *secs = mono ? &lx->time_monotonic_secs : &lx->time_boottime_secs;
        uint32_t *ns = mono ? &lx->time_monotonic_nsecs : &lx->time_boottime_nsecs;
        if ((r = lcow_json_get_int64(v, p, "secs", secs, err)) < 0 ||
            (r = lcow_json_get_uint32(v, p, "nanosecs", ns, err)) < 0)
            return r;
        if (*ns >= 1000000000u)
            return lcow_error_make(err, EINVAL, "%s.nanosecs: must be below 1e9", p);
        *(mono ? &lx->has_time_monotonic : &lx->has_time_boottime) = true;
    }
    return 0;
}

static int parse_propagation_personality(const struct json_object *o, struct oci_linux *lx,
                                         struct lcow_error **err)
{
    static const struct {
        const char *name;
        unsigned long flags;
    } props[] = {
        {"shared", MS_SHARED},
        {"slave", MS_SLAVE},
        {"private", MS_PRIVATE},
        {"unbindable", MS_UNBINDABLE},
        {"rshared", MS_SHARED | MS_REC},
        {"rslave", MS_SLAVE | MS_REC},
        {"rprivate", MS_PRIVATE | MS_REC},
        {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    const char *prop = NULL;
    struct json_object *pers = NULL;
    int r;
    if ((r = lcow_json_get_string(o, "linux", "rootfsPropagation", &prop, err)) < 0 ||
        (r = lcow_json_get_object(o, "linux", "personality", &pers, err)) < 0)
        return r;
    if (prop != NULL && *prop != '\0') {
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(props); i++)
            if (strcmp(props[i].name, prop) == 0)
                lx->rootfs_propagation = props[i].flags;
        if (lx->rootfs_propagation == 0)
            return lcow_error_make(err, EINVAL, "linux.rootfsPropagation: unknown value `%s`",
                                   prop);
    }
    if (pers != NULL) {
        const char *domain = NULL;
        cleanup_strv char **flags = NULL;
        if ((r = lcow_json_get_string(pers, "linux.personality", "domain", &domain, err)) < 0 ||
            (r = get_strv(pers, "linux.personality", "flags", &flags, err)) < 0)
            return r;
        if (domain != NULL && strcmp(domain, "LINUX") == 0)
            lx->personality = PER_LINUX;
        else if (domain != NULL && strcmp(domain, "LINUX32") == 0)
            lx->personality = PER_LINUX32;
        else
            return lcow_error_make(err, EINVAL,
                                   "linux.personality.domain: must be LINUX or LINUX32");
        if (flags != NULL && flags[0] != NULL)
            return lcow_error_make(err, EINVAL, "linux.personality.flags: not supported");
        lx->has_personality = true;
    }
    return 0;
}

static int parse_sysctl(const struct json_object *o, struct oci_linux *lx, struct lcow_error **err)
{
    int r = parse_kv_object(o, "linux", "sysctl", &lx->sysctl, &lx->n_sysctl, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < lx->n_sysctl; i++) {
        const char *k = lx->sysctl[i].key;
        /* The key becomes a path under /proc/sys: refuse anything that could walk out. */
        if (*k == '\0' || *k == '.' || *k == '/' || strstr(k, "..") || strstr(k, "/."))
            return lcow_error_make(err, EINVAL, "linux.sysctl.%s: invalid key", k);
    }
    return 0;
}

static int parse_linux(const struct json_object *o, struct oci_spec *spec, struct lcow_error **err)
{
    struct json_object *lo = NULL, *res = NULL, *sec = NULL;
    int r = lcow_json_get_object(o, "", "linux", &lo, err);
    if (r < 0 || lo == NULL)
        return r;
    struct oci_linux *lx = spec->linux_ = calloc(1, sizeof(*lx));
    if (lx == NULL)
        return oom(err, "linux");
    if ((r = parse_namespaces(lo, lx, err)) < 0 ||
        (r = parse_id_mappings(lo, "linux", "uidMappings", &lx->uid_mappings, &lx->n_uid_mappings,
                               err)) < 0 ||
        (r = parse_id_mappings(lo, "linux", "gidMappings", &lx->gid_mappings, &lx->n_gid_mappings,
                               err)) < 0 ||
        (r = parse_time_offsets(lo, lx, err)) < 0 || (r = parse_devices(lo, lx, err)) < 0 ||
        (r = lcow_json_get_strdup(lo, "linux", "cgroupsPath", &lx->cgroups_path, err)) < 0 ||
        (r = parse_propagation_personality(lo, lx, err)) < 0 ||
        (r = parse_sysctl(lo, lx, err)) < 0 ||
        (r = get_strv(lo, "linux", "maskedPaths", &lx->masked_paths, err)) < 0 ||
        (r = get_strv(lo, "linux", "readonlyPaths", &lx->readonly_paths, err)) < 0 ||
        (r = lcow_json_get_strdup(lo, "linux", "mountLabel", &lx->mount_label, err)) < 0 ||
        (r = lcow_json_get_object(lo, "linux", "resources", &res, err)) < 0 ||
        (r = lcow_json_get_object(lo, "linux", "seccomp", &sec, err)) < 0)
        return r;
    lx->resources_json = res ? json_object_get(res) : NULL;
    lx->seccomp_json = sec ? json_object_get(sec) : NULL;
    struct json_object *rdt = lcow_json_field(lo, "intelRdt");
    lx->has_intel_rdt = rdt != NULL;
    lx->intel_rdt_json = rdt ? json_object_get(rdt) : NULL;
    if (res != NULL) {
        if ((lx->resources = calloc(1, sizeof(*lx->resources))) == NULL)
            return oom(err, "linux.resources");
        if ((r = oci_linux_resources_parse(res, "linux.resources", lx->resources, err)) < 0)
            return r;
    }
    if (sec != NULL) {
        if ((lx->seccomp = calloc(1, sizeof(*lx->seccomp))) == NULL)
            return oom(err, "linux.seccomp");
        if ((r = oci_seccomp_parse(sec, "linux.seccomp", lx->seccomp, err)) < 0)
            return r;
    }
    if (lx->namespaces[OCI_NS_USER].present && lx->namespaces[OCI_NS_USER].path == NULL &&
        (lx->n_uid_mappings == 0 || lx->n_gid_mappings == 0))
        return lcow_error_make(
            err, EINVAL, "linux.uidMappings: a new user namespace needs uid and gid mappings");
    return 0;
}

/* ---- root object ---- */

int oci_spec_from_json(const struct json_object *root, struct oci_spec **ret,
                       struct lcow_error **err)
{
    struct json_object *po = NULL;
    int r;
    if (!json_object_is_type(root, json_type_object))
        return lcow_error_make(err, EINVAL, "config.json: expected an object");
    struct oci_spec *spec = calloc(1, sizeof(*spec));
    if (spec == NULL)
        return oom(err, "config.json");
    if ((r = lcow_json_get_strdup(root, "", "ociVersion", &spec->oci_version, err)) < 0 ||
        (r = lcow_json_get_strdup(root, "", "hostname", &spec->hostname, err)) < 0 ||
        (r = lcow_json_get_strdup(root, "", "domainname", &spec->domainname, err)) < 0 ||
        (r = parse_root(root, spec, err)) < 0 || (r = parse_mounts(root, spec, err)) < 0 ||
        (r = parse_hooks(root, spec, err)) < 0 ||
        (r = parse_kv_object(root, "", "annotations", &spec->annotations, &spec->n_annotations,
                             err)) < 0 ||
        (r = parse_linux(root, spec, err)) < 0 ||
        (r = lcow_json_get_object(root, "", "process", &po, err)) < 0)
        goto fail;
    if (spec->oci_version == NULL) {
        r = lcow_error_make(err, EINVAL, "ociVersion: required");
        goto fail;
    }
    if (po != NULL && (r = oci_process_from_json(po, "process", &spec->process, err)) < 0)
        goto fail;
    *ret = spec;
    return 0;
fail:
    oci_spec_free(spec);
    return r;
}

int oci_spec_parse(const char *buf, size_t len, struct oci_spec **ret, struct lcow_error **err)
{
    cleanup_json struct json_object *root = NULL;
    if (len > OCI_SPEC_MAX_SIZE)
        return lcow_error_make(err, EFBIG, "config.json: larger than %u bytes", OCI_SPEC_MAX_SIZE);
    int r = lcow_json_parse(buf, len, "config.json", &root, err);
    if (r < 0)
        return r;
    return oci_spec_from_json(root, ret, err);
}

int oci_spec_load(const char *path, struct oci_spec **ret, struct lcow_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;
    int r = lcow_read_file(path, OCI_SPEC_MAX_SIZE, &buf, &len, err);
    if (r < 0)
        return r;
    r = oci_spec_parse(buf, len, ret, err);
    if (r < 0)
        return lcow_error_wrap(err, "%s", path);
    return 0;
}

/* ---- destructors ---- */

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void kv_free(struct oci_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

struct oci_process *oci_process_free(struct oci_process *p)
{
    if (p == NULL)
        return NULL;
    free(p->user.additional_gids);
    strv_free(p->args);
    strv_free(p->env);
    free(p->cwd);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
    free(p->cpu_affinity_initial);
    free(p->cpu_affinity_final);
    free(p);
    return NULL;
}

static void linux_free(struct oci_linux *lx)
{
    if (lx == NULL)
        return;
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        free(lx->namespaces[k].path);
    free(lx->uid_mappings);
    free(lx->gid_mappings);
    for (size_t i = 0; i < lx->n_devices; i++)
        free(lx->devices[i].path);
    free(lx->devices);
    free(lx->cgroups_path);
    if (lx->resources != NULL) {
        oci_linux_resources_done(lx->resources);
        free(lx->resources);
    }
    if (lx->seccomp != NULL) {
        oci_seccomp_done(lx->seccomp);
        free(lx->seccomp);
    }
    if (lx->resources_json)
        json_object_put(lx->resources_json);
    if (lx->seccomp_json)
        json_object_put(lx->seccomp_json);
    if (lx->intel_rdt_json)
        json_object_put(lx->intel_rdt_json);
    kv_free(lx->sysctl, lx->n_sysctl);
    strv_free(lx->masked_paths);
    strv_free(lx->readonly_paths);
    free(lx->mount_label);
    free(lx);
}

struct oci_spec *oci_spec_free(struct oci_spec *spec)
{
    if (spec == NULL)
        return NULL;
    free(spec->oci_version);
    oci_process_free(spec->process);
    free(spec->root_path);
    free(spec->hostname);
    free(spec->domainname);
    for (size_t i = 0; i < spec->n_mounts; i++) {
        struct oci_mount *m = &spec->mounts[i];
        free(m->destination);
        free(m->type);
        free(m->source);
        strv_free(m->options);
        free(m->uid_mappings);
        free(m->gid_mappings);
    }
    free(spec->mounts);
    for (int k = 0; k < OCI_HOOK_KIND_MAX; k++) {
        for (size_t i = 0; i < spec->n_hooks[k]; i++) {
            free(spec->hooks[k][i].path);
            strv_free(spec->hooks[k][i].args);
            strv_free(spec->hooks[k][i].env);
        }
        free(spec->hooks[k]);
    }
    kv_free(spec->annotations, spec->n_annotations);
    linux_free(spec->linux_);
    free(spec);
    return NULL;
}

void oci_spec_freep(struct oci_spec **spec)
{
    *spec = oci_spec_free(*spec);
}
