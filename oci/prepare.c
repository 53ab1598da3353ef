/* Parent side, before clone: turns the spec into the flat plan the child executes (oci/child.c).
 * Every allocation, name lookup, file read and libseccomp call happens here, so that the
 * child needs none; every refusal of a spec the kernel could not honour happens here too, with
 * a message naming the field. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "oci/cgroup.h"
#include "oci/executor.h"
#include "oci/internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct oci_plan_storage {
    void **ptrs;
    size_t n, cap;
    int fds[OCI_NS_KIND_MAX];
    struct oci_seccomp_program prog;
    bool has_prog;
    int trees[OCI_MAX_MOUNTS]; /* detached idmapped trees, moved into place by the child */
    size_t n_trees;
};

/* Takes ownership of p (freed with the storage); NULL when p is NULL or on OOM. */
static void *keep(struct oci_plan_storage *s, void *p)
{
    if (p == NULL)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        void **n = realloc(s->ptrs, cap * sizeof(void *));
        if (n == NULL) {
            free(p);
            return NULL;
        }
        s->ptrs = n;
        s->cap = cap;
    }
    s->ptrs[s->n++] = p;
    return p;
}

__attribute__((format(printf, 2, 3))) static char *keep_fmt(struct oci_plan_storage *s,
                                                            const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&out, fmt, ap);
    va_end(ap);
    return r < 0 ? NULL : keep(s, out);
}

void oci_plan_storage_free(struct oci_plan_storage *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->ptrs[i]);
    free(s->ptrs);
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        if (s->fds[k] >= 0)
            close(s->fds[k]);
    if (s->has_prog)
        oci_seccomp_program_done(&s->prog);
    for (size_t i = 0; i < s->n_trees; i++)
        close(s->trees[i]);
    free(s);
}

static int oom(struct lcow_error **err)
{
    return lcow_error_make(err, ENOMEM, "prepare container: out of memory");
}

/* ---- namespaces ---- */

static int plan_new_namespace(struct oci_plan *plan, enum oci_ns_kind k, bool new_time)
{
    switch (k) {
    case OCI_NS_PID:
        /* With a new time namespace the init must be forked after unshare(): pid 1 of a new
         * pid namespace cannot be that helper, so the pid namespace is unshared too. */
        if (new_time)
            plan->unshare_pidns = true;
        else
            plan->clone_flags |= CLONE_NEWPID;
        break;
    case OCI_NS_CGROUP:
        plan->unshare_cgroupns = true; /* after the parent moved us into the cgroup */
        break;
    case OCI_NS_TIME:
        plan->unshare_timens = true;
        plan->need_fork = true;
        break;
    case OCI_NS_USER:
        plan->new_userns = true;
        plan->clone_flags |= CLONE_NEWUSER;
        break;
    case OCI_NS_NET:
    case OCI_NS_IPC:
    case OCI_NS_UTS:
    case OCI_NS_MOUNT:
    default:
        plan->clone_flags |= (unsigned long)oci_ns_clone_flag(k);
        break;
    }
    return 0;
}

static int plan_namespaces(const struct oci_spec *spec, struct oci_plan *plan,
                           struct oci_plan_storage *s, struct lcow_error **err)
{
    const struct oci_linux *lx = spec->linux_;
    const struct oci_namespace *ns = lx->namespaces;
    bool new_time = ns[OCI_NS_TIME].present && ns[OCI_NS_TIME].path == NULL;
    for (int k = 0; k < OCI_NS_KIND_MAX; k++) {
        plan->join_fds[k] = -1;
        if (!ns[k].present)
            continue;
        if (ns[k].path == NULL) {
            plan_new_namespace(plan, k, new_time);
            continue;
        }
        int fd = open(ns[k].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return lcow_error_errno(err, "linux.namespaces: open %s namespace `%s`", oci_ns_name(k),
                                    ns[k].path);
        s->fds[k] = plan->join_fds[k] = fd;
        if (k == OCI_NS_PID || k == OCI_NS_TIME)
            plan->need_fork = true; /* they apply to children only */
    }
    if (plan->join_fds[OCI_NS_USER] >= 0) {
        /* Namespaces made by clone would belong to our user namespace, not the joined one. */
        if (plan->clone_flags & CLONE_NEWPID)
            plan->unshare_pidns = true;
        plan->unshare_after_join = plan->clone_flags & ~(unsigned long)CLONE_NEWPID;
        plan->clone_flags = 0;
    }
    if (plan->unshare_pidns)
        plan->need_fork = true;
    plan->early_cgroup_wait = plan->need_fork || plan->unshare_cgroupns;
    plan->new_mountns = ns[OCI_NS_MOUNT].present;
    if (!plan->new_mountns)
        return lcow_error_make(err, EINVAL, "linux.namespaces: a mount namespace is required");
    if ((spec->hostname && *spec->hostname) && !ns[OCI_NS_UTS].present)
        return lcow_error_make(err, EINVAL, "hostname: needs a private UTS namespace");
    if ((spec->domainname && *spec->domainname) && !ns[OCI_NS_UTS].present)
        return lcow_error_make(err, EINVAL, "domainname: needs a private UTS namespace");
    if (lx->has_time_monotonic || lx->has_time_boottime) {
        if (!new_time)
            return lcow_error_make(err, EINVAL, "linux.timeOffsets: needs a new time namespace");
        plan->time_offsets = keep_fmt(s, "monotonic %lld %u\nboottime %lld %u\n",
                                      (long long)lx->time_monotonic_secs, lx->time_monotonic_nsecs,
                                      (long long)lx->time_boottime_secs, lx->time_boottime_nsecs);
        if (plan->time_offsets == NULL)
            return oom(err);
    }
    if (lx->n_uid_mappings && !plan->new_userns)
        return lcow_error_make(err, EINVAL, "linux.uidMappings: needs a new user namespace");
    return 0;
}

/* ---- mounts ---- */

static const char *absolute_source(const char *src, const char *bundle, struct oci_plan_storage *s)
{
    if (src == NULL)
        return NULL;
    if (src[0] == '/')
        return src;
    return keep_fmt(s, "%s/%s", bundle, src);
}

static int plan_cgroup_binds(const struct oci_cgroup_layout *l, const struct oci_cgroup *cg,
                             struct plan_mount *pm, struct oci_plan_storage *s,
                             struct lcow_error **err)
{
    pm->cgroup_binds = keep(s, calloc(OCI_CG_CTRL_MAX, sizeof(*pm->cgroup_binds)));
    if (pm->cgroup_binds == NULL)
        return oom(err);
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        const char *mnt = l->v1_mount[c];
        bool dup = false;
        if (mnt == NULL)
            continue;
        for (size_t i = 0; i < pm->n_cgroup_binds; i++)
            dup |= strcmp(pm->cgroup_binds[i].name, strrchr(mnt, '/') + 1) == 0;
        if (dup)
            continue;
        struct plan_cgroup_bind *b = &pm->cgroup_binds[pm->n_cgroup_binds];
        b->name = strrchr(mnt, '/') + 1;
        const char *dir = cg ? oci_cgroup_dir(cg, (enum oci_cgroup_ctrl)c) : NULL;
        b->source = dir ? dir : keep_fmt(s, "%s%s", mnt, l->v1_own[c] ? l->v1_own[c] : "");
        if (b->source == NULL)
            return oom(err);
        /* "cpu,cpuacct" also appears as "cpu" and "cpuacct" (symlinks, as runc makes). */
        if (strchr(b->name, ',')) {
            char *names = keep(s, strdup(b->name));
            char *save = NULL;
            int nl = 0;
            if (names == NULL)
                return oom(err);
            for (char *t = strtok_r(names, ",", &save); t && nl < 3; t = strtok_r(NULL, ",", &save))
                b->links[nl++] = t;
        }
        pm->n_cgroup_binds++;
    }
    return 0;
}

/* An idmapped bind: the mount's own mappings, or (plain "idmap") the container's. The tree
 * is made now, in the caller's mount namespace; the child moves it into place. */
static int plan_idmap(const struct oci_create_opts *opts, const struct oci_mount *m,
                      struct plan_mount *pm, struct oci_plan_storage *s,
                      const struct oci_mount_flags *f, size_t i, struct lcow_error **err)
{
    const struct oci_linux *lx = opts->spec->linux_;
    bool own = m->n_uid_mappings || m->n_gid_mappings;
    int fd = oci_idmap_tree(pm->source, (f->extensions & OCI_MOUNT_EXT_RECURSIVE_IDMAP) != 0,
                            f->flags, own ? m->uid_mappings : lx->uid_mappings,
                            own ? m->n_uid_mappings : lx->n_uid_mappings,
                            own ? m->gid_mappings : lx->gid_mappings,
                            own ? m->n_gid_mappings : lx->n_gid_mappings, err);
    if (fd < 0)
        return lcow_error_wrap(err, "mounts[%zu]", i);
    if (s->n_trees == OCI_MAX_MOUNTS) {
        close(fd);
        return lcow_error_make(err, E2BIG, "mounts[%zu]: too many idmapped mounts", i);
    }
    s->trees[s->n_trees++] = fd;
    pm->kind = PLAN_MOUNT_TREE;
    pm->tree_fd = fd;
    return 0;
}

static int plan_one_mount(const struct oci_create_opts *opts, const struct oci_mount *m,
                          const struct oci_cgroup_layout *layout, const struct oci_cgroup *cg,
                          struct plan_mount *pm, struct oci_plan_storage *s, size_t i,
                          struct lcow_error **err)
{
    struct oci_mount_flags f = {0};
    int r = oci_mount_parse_options(m->options, &f, err);
    if (r < 0)
        return r;
    keep(s, f.data);
    if ((f.extensions & OCI_MOUNT_EXT_TMPCOPYUP) && (m->type == NULL || strcmp(m->type, "tmpfs")))
        return lcow_error_make(err, EINVAL, "mounts[%zu]: tmpcopyup needs a tmpfs mount", i);
    pm->tmpcopyup = (f.extensions & OCI_MOUNT_EXT_TMPCOPYUP) != 0;
    pm->target = m->destination;
    pm->flags = f.flags;
    pm->propagation = f.propagation;
    pm->rec_attr_set = f.rec_attr_set;
    pm->rec_attr_clr = f.rec_attr_clr;
    pm->data = f.data;
    pm->type = m->type;
    bool bind = (m->type && strcmp(m->type, "bind") == 0) || (f.flags & MS_BIND);
    if (bind) {
        pm->kind = PLAN_MOUNT_BIND;
        pm->flags |= MS_BIND;
        pm->source = absolute_source(m->source, opts->bundle, s);
        if (pm->source == NULL)
            return lcow_error_make(err, EINVAL, "mounts[%zu].source: required for a bind mount", i);
        if ((f.extensions & OCI_MOUNT_EXT_IDMAP) || m->n_uid_mappings || m->n_gid_mappings)
            return plan_idmap(opts, m, pm, s, &f, i, err);
        return 0;
    }
    if ((f.extensions & OCI_MOUNT_EXT_IDMAP) || m->n_uid_mappings || m->n_gid_mappings)
        return lcow_error_make(err, EINVAL, "mounts[%zu]: only bind mounts can be idmapped", i);
    if (m->type && strcmp(m->type, "cgroup") == 0 && layout && layout->mode != OCI_CGROUP_UNIFIED) {
        pm->kind = PLAN_MOUNT_CGROUP_V1;
        return plan_cgroup_binds(layout, cg, pm, s, err);
    }
    pm->kind = PLAN_MOUNT_FS;
    if (m->type && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)) {
        pm->kind = PLAN_MOUNT_CGROUP_V2;
        pm->type = "cgroup2";
    }
    pm->source = m->source ? m->source : (pm->type ? pm->type : "none");
    return 0;
}

static int plan_mounts(const struct oci_create_opts *opts, const struct oci_cgroup_layout *layout,
                       const struct oci_cgroup *cg, struct oci_plan *plan,
                       struct oci_plan_storage *s, struct lcow_error **err)
{
    const struct oci_spec *spec = opts->spec;
    plan->mounts = keep(s, calloc(spec->n_mounts + 1, sizeof(*plan->mounts)));
    if (plan->mounts == NULL)
        return oom(err);
    plan->setup_dev = true;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        int r = plan_one_mount(opts, &spec->mounts[i], layout, cg, &plan->mounts[i], s, i, err);
        if (r < 0)
            return r;
        if (plan->mounts[i].kind == PLAN_MOUNT_BIND &&
            strcmp(spec->mounts[i].destination, "/dev") == 0)
            plan->setup_dev = false;
    }
    plan->n_mounts = spec->n_mounts;
    return 0;
}

/* ---- devices ---- */

static const struct {
    const char *path;
    unsigned major, minor;
} default_devices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static int plan_devices(const struct oci_linux *lx, struct oci_plan *plan,
                        struct oci_plan_storage *s, struct lcow_error **err)
{
    size_t max = LCOW_ARRAY_SIZE(default_devices) + lx->n_devices;
    plan->devices = keep(s, calloc(max, sizeof(*plan->devices)));
    if (plan->devices == NULL)
        return oom(err);
    plan->bind_devices = plan->new_userns || plan->join_fds[OCI_NS_USER] >= 0;
    if (!plan->setup_dev)
        return 0; /* /dev is the caller's bind mount: leave it alone, as runc */
    size_t n = 0;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(default_devices); i++) {
        struct plan_device *d = &plan->devices[n++];
        d->path = default_devices[i].path;
        d->mode = S_IFCHR | 0666;
        d->dev = makedev(default_devices[i].major, default_devices[i].minor);
    }
    for (size_t i = 0; i < lx->n_devices; i++) {
        const struct oci_device *od = &lx->devices[i];
        struct plan_device *d = NULL;
        for (size_t j = 0; j < n && d == NULL; j++)
            if (strcmp(plan->devices[j].path, od->path) == 0)
                d = &plan->devices[j];
        if (d == NULL)
            d = &plan->devices[n++];
        mode_t type = od->type == 'b' ? S_IFBLK : od->type == 'p' ? S_IFIFO : S_IFCHR;
        d->path = od->path;
        d->mode = type | (od->has_file_mode ? (od->file_mode & 07777) : 0666);
        d->dev = makedev((unsigned)od->major, (unsigned)od->minor);
        d->uid = od->has_uid ? od->uid : 0;
        d->gid = od->has_gid ? od->gid : 0;
    }
    plan->n_devices = n;
    return 0;
}

/* ---- process ---- */

static int read_cap_last(void)
{
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    int last = oci_cap_last();
    if (fd >= 0) {
        if (read(fd, buf, sizeof(buf) - 1) > 0 && atoi(buf) > 0 && atoi(buf) < last)
            last = atoi(buf);
        close(fd);
    }
    return last;
}

static int plan_env(const struct oci_process *proc, const char *home, struct oci_plan *plan,
                    struct oci_plan_storage *s, struct lcow_error **err)
{
    size_t n = 0;
    bool has_home = false;
    plan->path_env = DEFAULT_PATH;
    for (; proc->env[n]; n++) {
        if (strncmp(proc->env[n], "PATH=", 5) == 0)
            plan->path_env = proc->env[n] + 5;
        has_home |= strncmp(proc->env[n], "HOME=", 5) == 0;
    }
    if (has_home) {
        plan->envp = proc->env;
        return 0;
    }
    /* runc adds HOME from the container's passwd entry ("/" when there is none). */
    char **env = keep(s, calloc(n + 2, sizeof(char *)));
    if (env == NULL)
        return oom(err);
    memcpy(env, proc->env, n * sizeof(char *));
    if ((env[n] = keep_fmt(s, "HOME=%s", home ? home : "/")) == NULL)
        return oom(err);
    plan->envp = env;
    return 0;
}

static int plan_user(const struct oci_process *proc, const char *rootfs, struct oci_plan *plan,
                     struct oci_plan_storage *s, struct lcow_error **err)
{
    cleanup_close int rootfs_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *home = NULL;
    gid_t *groups = NULL;
    size_t n_groups = 0;
    if (rootfs_fd < 0)
        return lcow_error_errno(err, "open rootfs `%s`", rootfs);
    int r = oci_user_lookup(rootfs_fd, proc->user.uid, proc->user.gid, false, &home, &groups,
                            &n_groups, err);
    if (r < 0) {
        free(groups);
        return r;
    }
    for (size_t i = 0; i < proc->user.n_additional_gids; i++) {
        gid_t *g = realloc(groups, (n_groups + 1) * sizeof(gid_t));
        if (g == NULL) {
            free(groups);
            return oom(err);
        }
        groups = g;
        groups[n_groups++] = proc->user.additional_gids[i];
    }
    plan->groups = groups ? keep(s, groups) : NULL;
    if (groups && plan->groups == NULL)
        return oom(err);
    plan->n_groups = n_groups;
    plan->set_groups = true;
    plan->uid = proc->user.uid;
    plan->gid = proc->user.gid;
    return plan_env(proc, home, plan, s, err);
}

struct sched_attr_v1 {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

static int plan_process(const struct oci_create_opts *opts, const char *rootfs,
                        struct oci_plan *plan, struct oci_plan_storage *s, struct lcow_error **err)
{
    const struct oci_process *proc = opts->spec->process;
    plan->has_process = true;
    plan->argv = proc->args;
    plan->cwd = proc->cwd;
    int r = plan_user(proc, rootfs, plan, s, err);
    if (r < 0)
        return r;
    /* runc's rule: a process without `capabilities` gets none (all five sets empty), not
     * the caller's. */
    plan->caps_present = true;
    plan->cap_bounding = proc->caps.bounding;
    plan->cap_effective = proc->caps.effective;
    plan->cap_inheritable = proc->caps.inheritable;
    plan->cap_permitted = proc->caps.permitted;
    plan->cap_ambient = proc->caps.ambient;
    plan->cap_last = read_cap_last();
    plan->rlimits = keep(s, calloc(proc->n_rlimits + 1, sizeof(*plan->rlimits)));
    if (plan->rlimits == NULL)
        return oom(err);
    for (size_t i = 0; i < proc->n_rlimits; i++)
        plan->rlimits[i] = (struct plan_rlimit){proc->rlimits[i].resource, proc->rlimits[i].soft,
                                                proc->rlimits[i].hard};
    plan->n_rlimits = proc->n_rlimits;
    plan->no_new_privileges = proc->no_new_privileges;
    plan->has_umask = proc->user.has_umask;
    plan->umask = (mode_t)proc->user.umask;
    plan->has_ioprio = proc->has_io_priority;
    plan->ioprio = (proc->io_priority_class << 13) | proc->io_priority;
    if (proc->scheduler.present) {
        struct sched_attr_v1 a = {
            .size = sizeof(a),
            .sched_policy = (uint32_t)proc->scheduler.policy,
            .sched_flags = proc->scheduler.flags,
            .sched_nice = proc->scheduler.nice,
            .sched_priority = (uint32_t)proc->scheduler.priority,
            .sched_runtime = proc->scheduler.runtime,
            .sched_deadline = proc->scheduler.deadline,
            .sched_period = proc->scheduler.period,
        };
        _Static_assert(sizeof(a) == sizeof(plan->sched_attr), "sched_attr layout");
        memcpy(plan->sched_attr, &a, sizeof(a));
        plan->has_sched = true;
    }
    plan->terminal = proc->terminal;
    plan->has_console_size = proc->has_console_size;
    plan->console_rows = (unsigned short)proc->console_height;
    plan->console_cols = (unsigned short)proc->console_width;
    if (proc->apparmor_profile && *proc->apparmor_profile)
        return lcow_error_make(err, EOPNOTSUPP,
                               "process.apparmorProfile: AppArmor is not "
                               "supported");
    /* selinuxLabel (and linux.mountLabel) are ignored, as runc ignores them on a host
     * without SELinux: there is no policy to label with. */
    plan->has_affinity_initial =
        proc->cpu_affinity_initial &&
        oci_cpu_list_parse(proc->cpu_affinity_initial, &plan->affinity_initial) == 0;
    plan->has_affinity_final =
        proc->cpu_affinity_final &&
        oci_cpu_list_parse(proc->cpu_affinity_final, &plan->affinity_final) == 0;
    if (opts->spec->linux_->has_intel_rdt)
        return lcow_error_make(err, EOPNOTSUPP, "linux.intelRdt: Intel RDT is not supported");
    return 0;
}

/* ---- linux misc ---- */

/* runc's rule: a sysctl may only be set when the container has its own copy of it, i.e. its
 * own namespace of the kind that scopes the key; anything else would change the host. */
static int check_sysctl_ns(const struct oci_linux *lx, const char *key, struct lcow_error **err)
{
    static const char *const ipc_keys[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    enum oci_ns_kind need = OCI_NS_KIND_MAX;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ipc_keys); i++)
        if (strcmp(key, ipc_keys[i]) == 0)
            need = OCI_NS_IPC;
    if (strncmp(key, "fs.mqueue.", 10) == 0 || strncmp(key, "fs/mqueue/", 10) == 0)
        need = OCI_NS_IPC;
    else if (strncmp(key, "net.", 4) == 0 || strncmp(key, "net/", 4) == 0)
        need = OCI_NS_NET;
    else if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
        need = OCI_NS_UTS;
    if (need == OCI_NS_KIND_MAX)
        return lcow_error_make(err, EINVAL,
                               "linux.sysctl.%s: not in a namespace the container owns", key);
    const struct oci_namespace *ns = &lx->namespaces[need];
    if (!ns->present)
        return lcow_error_make(err, EINVAL, "linux.sysctl.%s: needs a private %s namespace", key,
                               oci_ns_name(need));
    /* The host's own namespace passed by path is still the host's. */
    if (ns->path != NULL) {
        char self[64];
        struct stat a, b;
        snprintf(self, sizeof(self), "/proc/self/ns/%s", oci_ns_proc_name(need));
        if (stat(ns->path, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            return lcow_error_make(err, EINVAL, "linux.sysctl.%s: the %s namespace is the host's",
                                   key, oci_ns_name(need));
    }
    return 0;
}

static int plan_linux_misc(const struct oci_create_opts *opts, struct oci_plan *plan,
                           struct oci_plan_storage *s, struct lcow_error **err)
{
    const struct oci_spec *spec = opts->spec;
    const struct oci_linux *lx = spec->linux_;
    plan->rootfs_propagation = lx->rootfs_propagation;
    /* "/" stays a slave of the host unless asked otherwise; a shared request is applied after
     * the pivot, since pivot_root refuses shared mounts. */
    if (lx->rootfs_propagation & MS_SHARED)
        plan->root_propagation = MS_PRIVATE | MS_REC;
    else if (lx->rootfs_propagation)
        plan->root_propagation = lx->rootfs_propagation | MS_REC;
    else
        plan->root_propagation = MS_SLAVE | MS_REC;
    plan->readonly_root = spec->root_readonly;
    plan->no_pivot = opts->flags & OCI_CREATE_NO_PIVOT;
    plan->new_keyring = !(opts->flags & OCI_CREATE_NO_NEW_KEYRING);
    plan->masked_paths = lx->masked_paths;
    plan->readonly_paths = lx->readonly_paths;
    plan->hostname = spec->hostname;
    plan->domainname = spec->domainname;
    plan->sysctls = keep(s, calloc(lx->n_sysctl + 1, sizeof(*plan->sysctls)));
    if (plan->sysctls == NULL)
        return oom(err);
    for (size_t i = 0; i < lx->n_sysctl; i++) {
        int r = check_sysctl_ns(lx, lx->sysctl[i].key, err);
        if (r < 0)
            return r;
        char *path = keep_fmt(s, "/proc/sys/%s", lx->sysctl[i].key);
        if (path == NULL)
            return oom(err);
        for (char *c = path + 10; *c; c++)
            if (*c == '.')
                *c = '/';
        plan->sysctls[i] = (struct plan_sysctl){path, lx->sysctl[i].value};
    }
    plan->n_sysctls = lx->n_sysctl;
    plan->create_container_hooks = spec->hooks[OCI_HOOK_CREATE_CONTAINER];
    plan->n_create_container_hooks = spec->n_hooks[OCI_HOOK_CREATE_CONTAINER];
    plan->start_container_hooks = spec->hooks[OCI_HOOK_START_CONTAINER];
    plan->n_start_container_hooks = spec->n_hooks[OCI_HOOK_START_CONTAINER];
    plan->sync_hooks = spec->n_hooks[OCI_HOOK_PRESTART] || spec->n_hooks[OCI_HOOK_CREATE_RUNTIME] ||
                       plan->n_create_container_hooks || plan->n_start_container_hooks;
    if (lx->has_personality) {
        plan->has_personality = true;
        plan->personality = lx->personality;
    }
    if (lx->seccomp && !lx->seccomp->disabled) {
        unsigned o =
            (opts->flags & OCI_CREATE_SECCOMP_FAIL_UNKNOWN) ? OCI_SECCOMP_FAIL_UNKNOWN_SYSCALL : 0;
        int r =
            opts->seccomp_cache_dir
                ? oci_seccomp_compile_cached(lx->seccomp, o, opts->seccomp_cache_dir, &s->prog, err)
                : oci_seccomp_compile(lx->seccomp, o, &s->prog, err);
        if (r < 0)
            return r;
        s->has_prog = true;
        plan->seccomp = &s->prog;
    }
    return 0;
}

int oci_plan_build(const struct oci_create_opts *opts, const char *rootfs,
                   const struct oci_cgroup_layout *layout, const struct oci_cgroup *cg,
                   struct oci_plan *plan, struct oci_plan_storage **ret_storage,
                   struct lcow_error **err)
{
    const struct oci_spec *spec = opts->spec;
    if (spec->linux_ == NULL)
        return lcow_error_make(err, EINVAL, "linux: required");
    if (spec->process == NULL)
        return lcow_error_make(err, EINVAL, "process: required");
    struct oci_plan_storage *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return oom(err);
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        s->fds[k] = -1;
    memset(plan, 0, sizeof(*plan));
    plan->rootfs = rootfs;
    plan->sync_fd = plan->console_fd = plan->fifo_fd = -1;
    int r;
    if ((r = plan_namespaces(spec, plan, s, err)) < 0 ||
        (r = plan_mounts(opts, layout, cg, plan, s, err)) < 0 ||
        (r = plan_devices(spec->linux_, plan, s, err)) < 0 ||
        (r = plan_linux_misc(opts, plan, s, err)) < 0 ||
        (r = plan_process(opts, rootfs, plan, s, err)) < 0) {
        oci_plan_storage_free(s);
        return r;
    }
    *ret_storage = s;
    return 0;
}
