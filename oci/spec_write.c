/* struct oci_spec -> config.json: the reverse of spec.c, with runtime-spec field names and
 * kernel numbers turned back into names. Absent optional fields stay absent, so parse ->
 * write -> parse gives the same structs (tests/unit/test_oci_spec.c checks that). The
 * linux.resources and linux.seccomp subtrees are kept as the JSON they were parsed from
 * (their structs belong to spec_resources/spec_seccomp) and written back verbatim. */
#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "oci/spec.h"

/* json-c's add functions take ownership; a NULL value (OOM) is caught by the final check
 * of the top object, since json_object_object_add of NULL stores a JSON null. */
static void add(struct json_object *o, const char *k, struct json_object *v)
{
    json_object_object_add(o, k, v);
}

static struct json_object *str(const char *s)
{
    return json_object_new_string(s);
}

static struct json_object *strv(char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && v && v[i]; i++)
        json_object_array_add(a, str(v[i]));
    return a;
}

static struct json_object *caps_array(uint64_t mask)
{
    struct json_object *a = json_object_new_array();
    for (int c = 0; a && c <= oci_cap_last(); c++)
        if (mask >> c & 1)
            json_object_array_add(a, str(oci_cap_name(c)));
    return a;
}

/* Empty sets are left out, as Go's omitempty does in runc's output. */
static void add_caps(struct json_object *o, const char *k, uint64_t mask)
{
    if (mask != 0)
        json_object_object_add(o, k, caps_array(mask));
}

static struct json_object *id_mappings(const struct oci_id_mapping *m, size_t n)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < n; i++) {
        struct json_object *e = json_object_new_object();
        add(e, "containerID", json_object_new_int64(m[i].container_id));
        add(e, "hostID", json_object_new_int64(m[i].host_id));
        add(e, "size", json_object_new_int64(m[i].size));
        json_object_array_add(a, e);
    }
    return a;
}

static struct json_object *kv_object(const struct oci_kv *kv, size_t n)
{
    struct json_object *o = json_object_new_object();
    for (size_t i = 0; o && i < n; i++)
        add(o, kv[i].key, str(kv[i].value));
    return o;
}

static void write_user(struct json_object *p, const struct oci_user *u)
{
    struct json_object *o = json_object_new_object();
    add(o, "uid", json_object_new_int64(u->uid));
    add(o, "gid", json_object_new_int64(u->gid));
    if (u->has_umask)
        add(o, "umask", json_object_new_int64(u->umask));
    if (u->n_additional_gids > 0) {
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < u->n_additional_gids; i++)
            json_object_array_add(a, json_object_new_int64(u->additional_gids[i]));
        add(o, "additionalGids", a);
    }
    add(p, "user", o);
}

static void write_caps(struct json_object *p, const struct oci_caps *c)
{
    if (!c->present)
        return;
    struct json_object *o = json_object_new_object();
    add_caps(o, "bounding", c->bounding);
    add_caps(o, "effective", c->effective);
    add_caps(o, "inheritable", c->inheritable);
    add_caps(o, "permitted", c->permitted);
    add_caps(o, "ambient", c->ambient);
    add(p, "capabilities", o);
}

static void write_rlimits(struct json_object *p, const struct oci_process *proc)
{
    if (proc->n_rlimits == 0)
        return;
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < proc->n_rlimits; i++) {
        struct json_object *e = json_object_new_object();
        add(e, "type", str(oci_rlimit_name(proc->rlimits[i].resource)));
        add(e, "hard", json_object_new_uint64(proc->rlimits[i].hard));
        add(e, "soft", json_object_new_uint64(proc->rlimits[i].soft));
        json_object_array_add(a, e);
    }
    add(p, "rlimits", a);
}

static void write_sched_io(struct json_object *p, const struct oci_process *proc)
{
    static const char *const classes[] = {"", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                          "IOPRIO_CLASS_IDLE"};
    static const char *const policies[] = {"SCHED_OTHER",   "SCHED_FIFO", "SCHED_RR",
                                           "SCHED_BATCH",   "SCHED_ISO",  "SCHED_IDLE",
                                           "SCHED_DEADLINE"};
    static const char *const flags[] = {
        "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
        "SCHED_FLAG_KEEP_POLICY",    "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
        "SCHED_FLAG_UTIL_CLAMP_MAX",
    };
    if (proc->has_io_priority && proc->io_priority_class >= 1 && proc->io_priority_class <= 3) {
        struct json_object *o = json_object_new_object();
        add(o, "class", str(classes[proc->io_priority_class]));
        add(o, "priority", json_object_new_int(proc->io_priority));
        add(p, "ioPriority", o);
    }
    const struct oci_scheduler *s = &proc->scheduler;
    if (s->present && s->policy >= 0 && (size_t)s->policy < LCOW_ARRAY_SIZE(policies)) {
        struct json_object *o = json_object_new_object();
        struct json_object *f = json_object_new_array();
        for (size_t i = 0; f && i < LCOW_ARRAY_SIZE(flags); i++)
            if (s->flags >> i & 1)
                json_object_array_add(f, str(flags[i]));
        add(o, "policy", str(policies[s->policy]));
        add(o, "nice", json_object_new_int(s->nice));
        add(o, "priority", json_object_new_int(s->priority));
        add(o, "flags", f);
        add(o, "runtime", json_object_new_uint64(s->runtime));
        add(o, "deadline", json_object_new_uint64(s->deadline));
        add(o, "period", json_object_new_uint64(s->period));
        add(p, "scheduler", o);
    }
}

struct json_object *oci_process_to_json(const struct oci_process *proc)
{
    struct json_object *p = json_object_new_object();
    if (p == NULL)
        return NULL;
    /* false booleans and empty lists are omitted, as runc's Go encoder does. */
    if (proc->terminal)
        add(p, "terminal", json_object_new_boolean(true));
    if (proc->has_console_size) {
        struct json_object *cs = json_object_new_object();
        add(cs, "height", json_object_new_int64(proc->console_height));
        add(cs, "width", json_object_new_int64(proc->console_width));
        add(p, "consoleSize", cs);
    }
    write_user(p, &proc->user);
    add(p, "args", strv(proc->args));
    if (proc->env && proc->env[0])
        add(p, "env", strv(proc->env));
    add(p, "cwd", str(proc->cwd));
    write_caps(p, &proc->caps);
    write_rlimits(p, proc);
    if (proc->no_new_privileges)
        add(p, "noNewPrivileges", json_object_new_boolean(true));
    if (proc->apparmor_profile)
        add(p, "apparmorProfile", str(proc->apparmor_profile));
    if (proc->selinux_label)
        add(p, "selinuxLabel", str(proc->selinux_label));
    if (proc->has_oom_score_adj)
        add(p, "oomScoreAdj", json_object_new_int(proc->oom_score_adj));
    write_sched_io(p, proc);
    if (proc->cpu_affinity_initial || proc->cpu_affinity_final) {
        struct json_object *a = json_object_new_object();
        if (proc->cpu_affinity_initial)
            add(a, "initial", str(proc->cpu_affinity_initial));
        if (proc->cpu_affinity_final)
            add(a, "final", str(proc->cpu_affinity_final));
        add(p, "execCPUAffinity", a);
    }
    return p;
}

static struct json_object *mounts_json(const struct oci_spec *spec)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < spec->n_mounts; i++) {
        const struct oci_mount *m = &spec->mounts[i];
        struct json_object *e = json_object_new_object();
        add(e, "destination", str(m->destination));
        if (m->type)
            add(e, "type", str(m->type));
        if (m->source)
            add(e, "source", str(m->source));
        if (m->options)
            add(e, "options", strv(m->options));
        if (m->n_uid_mappings)
            add(e, "uidMappings", id_mappings(m->uid_mappings, m->n_uid_mappings));
        if (m->n_gid_mappings)
            add(e, "gidMappings", id_mappings(m->gid_mappings, m->n_gid_mappings));
        json_object_array_add(a, e);
    }
    return a;
}

static struct json_object *hooks_json(const struct oci_spec *spec)
{
    static const char *const names[OCI_HOOK_KIND_MAX] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    };
    struct json_object *o = json_object_new_object();
    for (int k = 0; o && k < OCI_HOOK_KIND_MAX; k++) {
        if (spec->n_hooks[k] == 0)
            continue;
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < spec->n_hooks[k]; i++) {
            const struct oci_hook *h = &spec->hooks[k][i];
            struct json_object *e = json_object_new_object();
            add(e, "path", str(h->path));
            if (h->args)
                add(e, "args", strv(h->args));
            if (h->env)
                add(e, "env", strv(h->env));
            if (h->timeout > 0)
                add(e, "timeout", json_object_new_int(h->timeout));
            json_object_array_add(a, e);
        }
        add(o, names[k], a);
    }
    return o;
}

static struct json_object *namespaces_json(const struct oci_linux *lx)
{
    struct json_object *a = json_object_new_array();
    for (int k = 0; a && k < OCI_NS_KIND_MAX; k++) {
        if (!lx->namespaces[k].present)
            continue;
        struct json_object *e = json_object_new_object();
        add(e, "type", str(oci_ns_name(k)));
        if (lx->namespaces[k].path)
            add(e, "path", str(lx->namespaces[k].path));
        json_object_array_add(a, e);
    }
    return a;
}

static struct json_object *devices_json(const struct oci_linux *lx)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < lx->n_devices; i++) {
        const struct oci_device *d = &lx->devices[i];
        char type[2] = {d->type, '\0'};
        struct json_object *e = json_object_new_object();
        add(e, "type", str(type));
        add(e, "path", str(d->path));
        if (d->type != 'p') {
            add(e, "major", json_object_new_int64(d->major));
            add(e, "minor", json_object_new_int64(d->minor));
        }
        if (d->has_file_mode)
            add(e, "fileMode", json_object_new_int64(d->file_mode));
        if (d->has_uid)
            add(e, "uid", json_object_new_int64(d->uid));
        if (d->has_gid)
            add(e, "gid", json_object_new_int64(d->gid));
        json_object_array_add(a, e);
    }
    return a;
}

static const char *propagation_name(unsigned long flags)
{
    static const struct {
        unsigned long flags;
        const char *name;
    } names[] = {
        {MS_SHARED, "shared"},
        {MS_SLAVE, "slave"},
        {MS_PRIVATE, "private"},
        {MS_UNBINDABLE, "unbindable"},
        {MS_SHARED | MS_REC, "rshared"},
        {MS_SLAVE | MS_REC, "rslave"},
        {MS_PRIVATE | MS_REC, "rprivate"},
        {MS_UNBINDABLE | MS_REC, "runbindable"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(names); i++)
        if (names[i].flags == flags)
            return names[i].name;
    return NULL;
}

static void time_offset(struct json_object *o, const char *clock, int64_t secs, uint32_t nsecs)
{
    struct json_object *e = json_object_new_object();
    add(e, "secs", json_object_new_int64(secs));
    add(e, "nanosecs", json_object_new_int64(nsecs));
    add(o, clock, e);
}

static void write_linux_misc(struct json_object *l, const struct oci_linux *lx)
{
    if (lx->has_time_monotonic || lx->has_time_boottime) {
        struct json_object *to = json_object_new_object();
        if (lx->has_time_monotonic)
            time_offset(to, "monotonic", lx->time_monotonic_secs, lx->time_monotonic_nsecs);
        if (lx->has_time_boottime)
            time_offset(to, "boottime", lx->time_boottime_secs, lx->time_boottime_nsecs);
        add(l, "timeOffsets", to);
    }
    if (lx->n_sysctl)
        add(l, "sysctl", kv_object(lx->sysctl, lx->n_sysctl));
    if (lx->masked_paths)
        add(l, "maskedPaths", strv(lx->masked_paths));
    if (lx->readonly_paths)
        add(l, "readonlyPaths", strv(lx->readonly_paths));
    if (lx->mount_label)
        add(l, "mountLabel", str(lx->mount_label));
    if (lx->has_personality) {
        struct json_object *p = json_object_new_object();
        add(p, "domain", str(lx->personality == PER_LINUX32 ? "LINUX32" : "LINUX"));
        add(l, "personality", p);
    }
    const char *prop = propagation_name(lx->rootfs_propagation);
    if (prop)
        add(l, "rootfsPropagation", str(prop));
    if (lx->resources_json)
        add(l, "resources", json_object_get(lx->resources_json));
    if (lx->seccomp_json)
        add(l, "seccomp", json_object_get(lx->seccomp_json));
    if (lx->intel_rdt_json)
        add(l, "intelRdt", json_object_get(lx->intel_rdt_json));
}

static struct json_object *linux_json(const struct oci_linux *lx)
{
    struct json_object *l = json_object_new_object();
    if (l == NULL)
        return NULL;
    add(l, "namespaces", namespaces_json(lx));
    if (lx->n_uid_mappings)
        add(l, "uidMappings", id_mappings(lx->uid_mappings, lx->n_uid_mappings));
    if (lx->n_gid_mappings)
        add(l, "gidMappings", id_mappings(lx->gid_mappings, lx->n_gid_mappings));
    if (lx->n_devices)
        add(l, "devices", devices_json(lx));
    if (lx->cgroups_path)
        add(l, "cgroupsPath", str(lx->cgroups_path));
    write_linux_misc(l, lx);
    return l;
}

struct json_object *oci_spec_to_json(const struct oci_spec *spec)
{
    cleanup_json struct json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    add(o, "ociVersion", str(spec->oci_version));
    if (spec->process)
        add(o, "process", oci_process_to_json(spec->process));
    struct json_object *root = json_object_new_object();
    add(root, "path", str(spec->root_path));
    if (spec->root_readonly)
        add(root, "readonly", json_object_new_boolean(true));
    add(o, "root", root);
    if (spec->hostname)
        add(o, "hostname", str(spec->hostname));
    if (spec->domainname)
        add(o, "domainname", str(spec->domainname));
    add(o, "mounts", mounts_json(spec));
    bool any_hook = false;
    for (int k = 0; k < OCI_HOOK_KIND_MAX; k++)
        any_hook |= spec->n_hooks[k] > 0;
    if (any_hook)
        add(o, "hooks", hooks_json(spec));
    if (spec->n_annotations)
        add(o, "annotations", kv_object(spec->annotations, spec->n_annotations));
    if (spec->linux_)
        add(o, "linux", linux_json(spec->linux_));
    return steal_pointer(&o);
}

int oci_spec_write(const struct oci_spec *spec, char **ret, struct lcow_error **err)
{
    cleanup_json struct json_object *o = oci_spec_to_json(spec);
    const char *text =
        o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE)
          : NULL;
    char *copy = text ? strdup(text) : NULL;
    if (copy == NULL)
        return lcow_error_make(err, ENOMEM, "write config.json: out of memory");
    *ret = copy;
    return 0;
}
