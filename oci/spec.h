/* The OCI runtime-spec 1.2 model: config.json read into plain C structs.
 *
 * Parsing follows common/json.h (Go rules: strict syntax, case-insensitive keys, unknown fields
 * ignored, null = absent). Every value is checked here, once, so the executor never sees a
 * bad one: names (namespaces, capabilities, rlimits, propagation, scheduler policy, ...) are
 * turned into kernel numbers, and each error names the JSON path ("process.rlimits[2].type").
 * The `linux.resources` and `linux.seccomp` subtrees belong to oci/spec_resources.h and
 * oci/spec_seccomp.h; this parser calls theirs. */
#ifndef LCOW_OCI_SPEC_H
#define LCOW_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/spec_resources.h" /* struct oci_linux_resources, struct oci_kv */
#include "oci/spec_seccomp.h"

/* Caps on caller-controlled sizes (style.md C10). */
#define OCI_SPEC_MAX_SIZE (4u << 20)
#define OCI_MAX_MOUNTS    1024
#define OCI_MAX_ARRAY     4096

struct oci_id_mapping {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
};

struct oci_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t hard;
    uint64_t soft;
};

/* The five capability sets as bit masks (bit n = capability n). */
struct oci_caps {
    bool present;
    uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct oci_user {
    uint32_t uid, gid;
    bool has_umask;
    uint32_t umask;
    uint32_t *additional_gids;
    size_t n_additional_gids;
};

struct oci_scheduler {
    bool present;
    int policy; /* SCHED_* */
    int32_t nice;
    int32_t priority;
    uint64_t flags; /* SCHED_FLAG_* */
    uint64_t runtime, deadline, period;
};

struct oci_process {
    bool terminal;
    bool has_console_size;
    uint32_t console_height, console_width;
    struct oci_user user;
    char **args; /* NULL-terminated, at least one element */
    char **env;  /* NULL-terminated, may be empty */
    char *cwd;   /* absolute */
    struct oci_caps caps;
    struct oci_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    char *apparmor_profile;
    char *selinux_label;
    bool has_oom_score_adj;
    int oom_score_adj;
    bool has_io_priority;
    int io_priority_class; /* IOPRIO_CLASS_* */
    int io_priority;
    struct oci_scheduler scheduler;
    char *cpu_affinity_initial, *cpu_affinity_final;
};

struct oci_mount {
    char *destination;
    char *type;   /* may be NULL */
    char *source; /* may be NULL */
    char **options;
    struct oci_id_mapping *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;
};

struct oci_hook {
    char *path;
    char **args;
    char **env;
    int timeout; /* seconds, 0 = none */
};

enum oci_hook_kind {
    OCI_HOOK_PRESTART,
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_KIND_MAX,
};

/* Namespace kinds, in the order they are joined (user first, as the kernel requires). */
enum oci_ns_kind {
    OCI_NS_USER,
    OCI_NS_PID,
    OCI_NS_NET,
    OCI_NS_IPC,
    OCI_NS_UTS,
    OCI_NS_MOUNT,
    OCI_NS_CGROUP,
    OCI_NS_TIME,
    OCI_NS_KIND_MAX,
};

struct oci_namespace {
    bool present;
    char *path; /* NULL: create a new one */
};

struct oci_device {
    char type; /* 'c', 'b', 'u' or 'p' */
    char *path;
    int64_t major, minor;
    bool has_file_mode, has_uid, has_gid;
    uint32_t file_mode, uid, gid;
};

struct oci_linux {
    struct oci_namespace namespaces[OCI_NS_KIND_MAX];
    struct oci_id_mapping *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;
    bool has_time_monotonic, has_time_boottime;
    int64_t time_monotonic_secs, time_boottime_secs;
    uint32_t time_monotonic_nsecs, time_boottime_nsecs;
    struct oci_device *devices;
    size_t n_devices;
    char *cgroups_path;
    struct oci_linux_resources *resources; /* NULL when absent */
    struct oci_seccomp *seccomp;           /* NULL when absent */
    /* The two subtrees as parsed (references), written back verbatim by oci_spec_to_json. */
    struct json_object *resources_json, *seccomp_json;
    unsigned long rootfs_propagation; /* MS_* propagation flags, 0 = runtime default */
    struct oci_kv *sysctl;
    size_t n_sysctl;
    char **masked_paths;
    char **readonly_paths;
    char *mount_label;
    bool has_personality;
    unsigned long personality; /* PER_LINUX or PER_LINUX32 */
    bool has_intel_rdt;        /* linux.intelRdt was given (not supported: refused at create) */
    struct json_object *intel_rdt_json; /* kept for the writer */
};

struct oci_spec {
    char *oci_version;
    struct oci_process *process; /* NULL when absent (allowed for create-only callers) */
    char *root_path;             /* as written: relative paths are relative to the bundle */
    bool root_readonly;
    char *hostname;
    char *domainname;
    struct oci_mount *mounts;
    size_t n_mounts;
    struct oci_hook *hooks[OCI_HOOK_KIND_MAX];
    size_t n_hooks[OCI_HOOK_KIND_MAX];
    struct oci_kv *annotations;
    size_t n_annotations;
    struct oci_linux *linux_; /* NULL when absent */
};

/* Parses a config.json document. 0, or -EINVAL (-ENOMEM) with an error naming the JSON path. */
int oci_spec_parse(const char *buf, size_t len, struct oci_spec **ret, struct lcow_error **err);
/* Reads and parses PATH (at most OCI_SPEC_MAX_SIZE bytes). */
int oci_spec_load(const char *path, struct oci_spec **ret, struct lcow_error **err);
/* Parses an already-parsed JSON tree (used by oci_spec_parse and by gcs, which gets the spec
 * embedded in a bridge message). */
int oci_spec_from_json(const struct json_object *root, struct oci_spec **ret,
                       struct lcow_error **err);
/* Parses an OCI `process` object on its own (exec --process, gcs exec). */
int oci_process_from_json(const struct json_object *obj, const char *path, struct oci_process **ret,
                          struct lcow_error **err);

/* The reverse direction (spec_write.c): the spec as a JSON tree (caller puts it; NULL on
 * OOM), or as indented text (heap, caller frees). Parsing the result gives equal structs. */
struct json_object *oci_spec_to_json(const struct oci_spec *spec);
struct json_object *oci_process_to_json(const struct oci_process *proc);
int oci_spec_write(const struct oci_spec *spec, char **ret, struct lcow_error **err);

struct oci_spec *oci_spec_free(struct oci_spec *spec);
struct oci_process *oci_process_free(struct oci_process *p);
void oci_spec_freep(struct oci_spec **spec);
#define cleanup_oci_spec __attribute__((cleanup(oci_spec_freep)))

/* Name tables (oci/names.c). Each returns the number, or -1 for an unknown name. */
int oci_cap_from_name(const char *name);    /* "CAP_SYS_ADMIN" -> 21 */
const char *oci_cap_name(int cap);          /* NULL when unknown */
int oci_cap_last(void);                     /* highest capability number we know */
int oci_rlimit_from_name(const char *name); /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE */
const char *oci_rlimit_name(int resource);
/* "KILL", "SIGKILL", "9", "RTMIN+3" -> signal number; -1 when unknown. */
int oci_signal_from_name(const char *name);
const char *oci_signal_name(int sig);
const char *oci_ns_name(enum oci_ns_kind kind); /* runtime-spec name: "network", "mount", ... */
int oci_ns_clone_flag(enum oci_ns_kind kind);   /* CLONE_NEW* */
const char *oci_ns_proc_name(enum oci_ns_kind kind); /* /proc/PID/ns/ name: "net", "mnt", ... */
/* A cpuset list ("0-3,7") into a cpu_set_t (passed as void * to keep <sched.h> out);
 * 0 or -EINVAL. CPUs at or above CPU_SETSIZE are refused. */
int oci_cpu_list_parse(const char *s, void *ret_cpu_set);

#endif
