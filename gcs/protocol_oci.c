/* Type checks for the OCI documents the bridge carries as raw JSON (Create's OciSpecification,
 * ExecuteProcess's OciProcess, ContainerConstraints' Linux resources). The Go GCS decodes them
 * into the runtime-spec Go structs, so a field of the wrong JSON type (or an integer out of the
 * field's range) fails the request with HCS_E_INVALID_JSON before anything runs; these tables
 * reproduce that check without building the structs (the executor parses the documents
 * itself). As in Go, unknown fields are ignored and null is accepted anywhere. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "gcs/protocol_internal.h"

enum js_kind {
    JS_STRING,
    JS_BOOL,
    JS_I64, /* int64, and Go's int on amd64 */
    JS_I32,
    JS_U64, /* uint64, and Go's uint */
    JS_U32,
    JS_U16,
    JS_STRUCT,
    JS_ARRAY,
    JS_MAP,
    JS_ANY, /* interface{}: anything */
};

struct js_field;

struct js_type {
    enum js_kind kind;
    const struct js_field *fields; /* JS_STRUCT, terminated by a NULL name */
    const struct js_type *elem;    /* JS_ARRAY, JS_MAP */
};

struct js_field {
    const char *name;
    const struct js_type *type;
};

static const struct js_type t_string = {JS_STRING}, t_bool = {JS_BOOL}, t_i64 = {JS_I64},
                            t_i32 = {JS_I32}, t_u64 = {JS_U64}, t_u32 = {JS_U32}, t_u16 = {JS_U16},
                            t_any = {JS_ANY};
static const struct js_type t_strings = {JS_ARRAY, NULL, &t_string};
static const struct js_type t_u32s = {JS_ARRAY, NULL, &t_u32};
static const struct js_type t_string_map = {JS_MAP, NULL, &t_string};

#define STRUCT(name, ...)                                                                          \
    static const struct js_field name##_fields[] = {__VA_ARGS__, {NULL, NULL}};                    \
    static const struct js_type name = {JS_STRUCT, name##_fields, NULL}
#define ARRAY(name, of) static const struct js_type name = {JS_ARRAY, NULL, &of}
#define MAP(name, of)   static const struct js_type name = {JS_MAP, NULL, &of}

/* ---- process ---- */
STRUCT(t_box, {"height", &t_u64}, {"width", &t_u64});
STRUCT(t_user, {"uid", &t_u32}, {"gid", &t_u32}, {"umask", &t_u32}, {"additionalGids", &t_u32s},
       {"username", &t_string});
STRUCT(t_caps, {"bounding", &t_strings}, {"effective", &t_strings}, {"inheritable", &t_strings},
       {"permitted", &t_strings}, {"ambient", &t_strings});
STRUCT(t_rlimit, {"type", &t_string}, {"hard", &t_u64}, {"soft", &t_u64});
ARRAY(t_rlimits, t_rlimit);
STRUCT(t_sched, {"policy", &t_string}, {"nice", &t_i32}, {"priority", &t_i32},
       {"flags", &t_strings}, {"runtime", &t_u64}, {"deadline", &t_u64}, {"period", &t_u64});
STRUCT(t_ioprio, {"class", &t_string}, {"priority", &t_i64});
STRUCT(t_affinity, {"initial", &t_string}, {"final", &t_string});
STRUCT(t_process, {"terminal", &t_bool}, {"consoleSize", &t_box}, {"user", &t_user},
       {"args", &t_strings}, {"commandLine", &t_string}, {"env", &t_strings}, {"cwd", &t_string},
       {"capabilities", &t_caps}, {"rlimits", &t_rlimits}, {"noNewPrivileges", &t_bool},
       {"apparmorProfile", &t_string}, {"oomScoreAdj", &t_i64}, {"scheduler", &t_sched},
       {"selinuxLabel", &t_string}, {"ioPriority", &t_ioprio}, {"execCPUAffinity", &t_affinity});

/* ---- linux.resources ---- */
STRUCT(t_dev_cgroup, {"allow", &t_bool}, {"type", &t_string}, {"major", &t_i64}, {"minor", &t_i64},
       {"access", &t_string});
ARRAY(t_dev_cgroups, t_dev_cgroup);
STRUCT(t_memory, {"limit", &t_i64}, {"reservation", &t_i64}, {"swap", &t_i64}, {"kernel", &t_i64},
       {"kernelTCP", &t_i64}, {"swappiness", &t_u64}, {"disableOOMKiller", &t_bool},
       {"useHierarchy", &t_bool}, {"checkBeforeUpdate", &t_bool});
STRUCT(t_cpu, {"shares", &t_u64}, {"quota", &t_i64}, {"burst", &t_u64}, {"period", &t_u64},
       {"realtimeRuntime", &t_i64}, {"realtimePeriod", &t_u64}, {"cpus", &t_string},
       {"mems", &t_string}, {"idle", &t_i64});
STRUCT(t_pids, {"limit", &t_i64});
STRUCT(t_weight_dev, {"major", &t_i64}, {"minor", &t_i64}, {"weight", &t_u16},
       {"leafWeight", &t_u16});
ARRAY(t_weight_devs, t_weight_dev);
STRUCT(t_throttle_dev, {"major", &t_i64}, {"minor", &t_i64}, {"rate", &t_u64});
ARRAY(t_throttle_devs, t_throttle_dev);
STRUCT(t_blkio, {"weight", &t_u16}, {"leafWeight", &t_u16}, {"weightDevice", &t_weight_devs},
       {"throttleReadBpsDevice", &t_throttle_devs}, {"throttleWriteBpsDevice", &t_throttle_devs},
       {"throttleReadIOPSDevice", &t_throttle_devs}, {"throttleWriteIOPSDevice", &t_throttle_devs});
STRUCT(t_hugepage, {"pageSize", &t_string}, {"limit", &t_u64});
ARRAY(t_hugepages, t_hugepage);
STRUCT(t_prio, {"name", &t_string}, {"priority", &t_u32});
ARRAY(t_prios, t_prio);
STRUCT(t_net, {"classID", &t_u32}, {"priorities", &t_prios});
STRUCT(t_rdma, {"hcaHandles", &t_u32}, {"hcaObjects", &t_u32});
MAP(t_rdmas, t_rdma);
STRUCT(t_resources, {"devices", &t_dev_cgroups}, {"memory", &t_memory}, {"cpu", &t_cpu},
       {"pids", &t_pids}, {"blockIO", &t_blkio}, {"hugepageLimits", &t_hugepages},
       {"network", &t_net}, {"rdma", &t_rdmas}, {"unified", &t_string_map});

/* ---- the rest of the spec ---- */
STRUCT(t_idmap, {"containerID", &t_u32}, {"hostID", &t_u32}, {"size", &t_u32});
ARRAY(t_idmaps, t_idmap);
STRUCT(t_root, {"path", &t_string}, {"readonly", &t_bool});
STRUCT(t_mount, {"destination", &t_string}, {"type", &t_string}, {"source", &t_string},
       {"options", &t_strings}, {"uidMappings", &t_idmaps}, {"gidMappings", &t_idmaps});
ARRAY(t_mounts, t_mount);
STRUCT(t_hook, {"path", &t_string}, {"args", &t_strings}, {"env", &t_strings}, {"timeout", &t_i64});
ARRAY(t_hook_list, t_hook);
STRUCT(t_hooks, {"prestart", &t_hook_list}, {"createRuntime", &t_hook_list},
       {"createContainer", &t_hook_list}, {"startContainer", &t_hook_list},
       {"poststart", &t_hook_list}, {"poststop", &t_hook_list});
STRUCT(t_ns, {"type", &t_string}, {"path", &t_string});
ARRAY(t_nss, t_ns);
STRUCT(t_device, {"path", &t_string}, {"type", &t_string}, {"major", &t_i64}, {"minor", &t_i64},
       {"fileMode", &t_u32}, {"uid", &t_u32}, {"gid", &t_u32});
ARRAY(t_devices, t_device);
STRUCT(t_netdev, {"name", &t_string});
MAP(t_netdevs, t_netdev);
STRUCT(t_sc_arg, {"index", &t_u64}, {"value", &t_u64}, {"valueTwo", &t_u64}, {"op", &t_string});
ARRAY(t_sc_args, t_sc_arg);
STRUCT(t_syscall, {"names", &t_strings}, {"action", &t_string}, {"errnoRet", &t_u64},
       {"args", &t_sc_args});
ARRAY(t_syscalls, t_syscall);
STRUCT(t_seccomp, {"defaultAction", &t_string}, {"defaultErrnoRet", &t_u64},
       {"architectures", &t_strings}, {"flags", &t_strings}, {"listenerPath", &t_string},
       {"listenerMetadata", &t_string}, {"syscalls", &t_syscalls});
STRUCT(t_personality, {"domain", &t_string}, {"flags", &t_strings});
STRUCT(t_timeoffset, {"secs", &t_i64}, {"nanosecs", &t_u32});
MAP(t_timeoffsets, t_timeoffset);
STRUCT(t_linux, {"uidMappings", &t_idmaps}, {"gidMappings", &t_idmaps}, {"sysctl", &t_string_map},
       {"resources", &t_resources}, {"cgroupsPath", &t_string}, {"namespaces", &t_nss},
       {"devices", &t_devices}, {"netDevices", &t_netdevs}, {"seccomp", &t_seccomp},
       {"rootfsPropagation", &t_string}, {"maskedPaths", &t_strings}, {"readonlyPaths", &t_strings},
       {"mountLabel", &t_string}, {"intelRdt", &t_any}, {"memoryPolicy", &t_any},
       {"personality", &t_personality}, {"timeOffsets", &t_timeoffsets});
STRUCT(t_win_device, {"id", &t_string}, {"idType", &t_string});
ARRAY(t_win_devices, t_win_device);
STRUCT(t_win_network, {"endpointList", &t_strings}, {"allowUnqualifiedDNSQuery", &t_bool},
       {"DNSSearchList", &t_strings}, {"networkSharedContainerName", &t_string},
       {"networkNamespace", &t_string});
STRUCT(t_windows, {"layerFolders", &t_strings}, {"devices", &t_win_devices}, {"resources", &t_any},
       {"credentialSpec", &t_any}, {"servicing", &t_bool}, {"ignoreFlushesDuringBoot", &t_bool},
       {"hyperv", &t_any}, {"network", &t_win_network});
STRUCT(t_spec, {"ociVersion", &t_string}, {"process", &t_process}, {"root", &t_root},
       {"hostname", &t_string}, {"domainname", &t_string}, {"mounts", &t_mounts},
       {"hooks", &t_hooks}, {"annotations", &t_string_map}, {"linux", &t_linux},
       {"windows", &t_windows});

/* ---- the checker ---- */

static int type_error(const char *path, const char *want, const struct json_object *v,
                      struct lcow_error **err)
{
    return lcow_error_make(err, EINVAL, "%s: expected %s, got %s", path, want,
                           json_type_to_name(json_object_get_type(v)));
}

static int check_int(const struct js_type *t, const struct json_object *v, const char *path,
                     struct lcow_error **err)
{
    static const struct {
        int64_t min;
        uint64_t max;
    } ranges[] = {
        [JS_I64] = {INT64_MIN, INT64_MAX}, [JS_I32] = {INT32_MIN, INT32_MAX},
        [JS_U64] = {0, UINT64_MAX},        [JS_U32] = {0, UINT32_MAX},
        [JS_U16] = {0, UINT16_MAX},
    };
    if (!json_object_is_type(v, json_type_int))
        return type_error(path, "integer", v, err);
    int64_t s = json_object_get_int64(v);
    uint64_t u = json_object_get_uint64(v);
    bool huge = s == INT64_MAX && u > INT64_MAX; /* json-c keeps these as uint64 */
    if (s < ranges[t->kind].min || (huge ? u : (uint64_t)(s < 0 ? 0 : s)) > ranges[t->kind].max ||
        (huge && t->kind != JS_U64))
        return lcow_error_make(err, EINVAL, "%s: integer out of range", path);
    return 0;
}

static int check(const struct js_type *t, const struct json_object *v, const char *path, int depth,
                 struct lcow_error **err);

static int check_struct(const struct js_type *t, const struct json_object *v, const char *path,
                        int depth, struct lcow_error **err)
{
    if (!json_object_is_type(v, json_type_object))
        return type_error(path, "object", v, err);
    for (const struct js_field *f = t->fields; f->name != NULL; f++) {
        struct json_object *fv = lcow_json_field(v, f->name);
        char p[GCS_PR_PATH_MAX];
        GCS_PR_TRY(check(f->type, fv, gcs_pr_join(p, sizeof(p), path, f->name), depth + 1, err));
    }
    return 0;
}

static int check_container(const struct js_type *t, const struct json_object *v, const char *path,
                           int depth, struct lcow_error **err)
{
    char p[GCS_PR_PATH_MAX];
    if (t->kind == JS_ARRAY) {
        if (!json_object_is_type(v, json_type_array))
            return type_error(path, "array", v, err);
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            snprintf(p, sizeof(p), "%s[%zu]", path, i);
            GCS_PR_TRY(check(t->elem, json_object_array_get_idx(v, i), p, depth + 1, err));
        }
        return 0;
    }
    if (!json_object_is_type(v, json_type_object))
        return type_error(path, "object", v, err);
    json_object_object_foreach((struct json_object *)v, key, val)
    {
        GCS_PR_TRY(check(t->elem, val, gcs_pr_join(p, sizeof(p), path, key), depth + 1, err));
    }
    return 0;
}

static int check(const struct js_type *t, const struct json_object *v, const char *path, int depth,
                 struct lcow_error **err)
{
    if (v == NULL || t->kind == JS_ANY) /* null: Go leaves the field zero */
        return 0;
    if (depth > LCOW_JSON_MAX_DEPTH)
        return lcow_error_make(err, EINVAL, "%s: nested too deeply", path);
    switch (t->kind) {
    case JS_STRING:
        return json_object_is_type(v, json_type_string) ? 0 : type_error(path, "string", v, err);
    case JS_BOOL:
        return json_object_is_type(v, json_type_boolean) ? 0 : type_error(path, "boolean", v, err);
    case JS_I64:
    case JS_I32:
    case JS_U64:
    case JS_U32:
    case JS_U16:
        return check_int(t, v, path, err);
    case JS_STRUCT:
        return check_struct(t, v, path, depth, err);
    case JS_ARRAY:
    case JS_MAP:
        return check_container(t, v, path, depth, err);
    case JS_ANY:
    default:
        return 0;
    }
}

int gcs_pr_check_oci_spec(const struct json_object *v, const char *path, struct lcow_error **err)
{
    return check(&t_spec, v, path, 0, err);
}

int gcs_pr_check_oci_process(const struct json_object *v, const char *path, struct lcow_error **err)
{
    return check(&t_process, v, path, 0, err);
}

int gcs_pr_check_linux_resources(const struct json_object *v, const char *path,
                                 struct lcow_error **err)
{
    return check(&t_resources, v, path, 0, err);
}

int gcs_pr_check_windows_resources(const struct json_object *v, const char *path,
                                   struct lcow_error **err)
{
    return v == NULL || json_object_is_type(v, json_type_object)
               ? 0
               : type_error(path, "object", v, err);
}
