/* Operations on a container cgroup: applying resources (dispatching each family to the
 * hierarchy that owns its controller), entering, freezing, signalling, listing, OOM events,
 * and the v1→v2 value conversions runc defines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "oci/cgroup.h"
#include "oci/cgroup_internal.h"

#define FREEZE_WAIT_MS 2000
#define MAX_PIDS       65536 /* cap on what pids() collects */

/* ---------------------------------------------------------------- conversions */

uint64_t oci_cgroup_shares_to_weight(uint64_t shares)
{
    /* runc: linear map of [2, 262144] onto [1, 10000]. */
    if (shares == 0)
        return 0;
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t oci_cgroup_blkio_to_io_weight(uint64_t weight)
{
    /* runc: linear map of [10, 1000] onto [1, 10000]. */
    if (weight == 0)
        return 0;
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + (weight - 10) * 9999 / 990;
}

int oci_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, struct lcow_error **err)
{
    /* OCI swap is v1 memsw (memory + swap); v2 memory.swap.max is the swap part alone.
     * Unlimited memory with swap unset means both unlimited, as on v1. */
    if (limit == -1 && swap == 0) {
        *ret = -1;
        return 0;
    }
    if (swap == -1 || swap == 0) {
        *ret = swap; /* "max", or 0 = leave alone */
        return 0;
    }
    if (limit == 0 || limit == -1)
        return lcow_error_make(err, EINVAL, "memory.swap (%lld) needs a memory.limit",
                               (long long)swap);
    if (limit < 0)
        return lcow_error_make(err, EINVAL, "invalid memory.limit %lld", (long long)limit);
    if (swap < limit)
        return lcow_error_make(err, EINVAL,
                               "memory.swap (%lld) must be >= memory.limit (%lld): it includes it",
                               (long long)swap, (long long)limit);
    *ret = swap - limit;
    return 0;
}

/* ---------------------------------------------------------------- default devices */

#define DEV(t, ma, mi, acc)                                                                        \
    {                                                                                              \
        .allow = true, .type = t, .major = ma, .minor = mi, .access = acc                          \
    }
static const struct oci_cgroup_default_device default_devices[] = {
    {NULL, DEV('c', -1, -1, "m")},        {NULL, DEV('b', -1, -1, "m")},
    {"/dev/null", DEV('c', 1, 3, "rwm")}, {"/dev/random", DEV('c', 1, 8, "rwm")},
    {"/dev/full", DEV('c', 1, 7, "rwm")}, {"/dev/tty", DEV('c', 5, 0, "rwm")},
    {"/dev/zero", DEV('c', 1, 5, "rwm")}, {"/dev/urandom", DEV('c', 1, 9, "rwm")},
    {NULL, DEV('c', 136, -1, "rwm")},     {NULL, DEV('c', 5, 2, "rwm")},
};
#undef DEV

const struct oci_cgroup_default_device *oci_cgroup_default_devices(size_t *ret_n)
{
    *ret_n = LCOW_ARRAY_SIZE(default_devices);
    return default_devices;
}

static bool path_listed(const char *const *paths, const char *p)
{
    for (size_t i = 0; paths && paths[i]; i++)
        if (strcmp(paths[i], p) == 0)
            return true;
    return false;
}

/* The spec's rules followed by the defaults (runc appends them, dropping a default whose node
 * linux.devices redefines). */
static int merged_rules(const struct oci_linux_resources *res, const char *const *dev_paths,
                        bool defaults, struct oci_device_rule **ret, size_t *ret_n)
{
    size_t cap = res->n_devices + (defaults ? LCOW_ARRAY_SIZE(default_devices) : 0);
    struct oci_device_rule *v = calloc(cap ? cap : 1, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < res->n_devices; i++)
        v[n++] = res->devices[i];
    for (size_t i = 0; defaults && i < LCOW_ARRAY_SIZE(default_devices); i++) {
        const struct oci_cgroup_default_device *d = &default_devices[i];
        if (d->path == NULL || !path_listed(dev_paths, d->path))
            v[n++] = d->rule;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* ---------------------------------------------------------------- apply */

static int missing(const char *what, struct lcow_error **err)
{
    return lcow_error_make(err, EOPNOTSUPP, "%s: controller not available on this host", what);
}

static bool cpu_wants_cpuset(const struct oci_cpu *c)
{
    return (c->cpus && *c->cpus) || (c->mems && *c->mems);
}

static bool cpu_wants_cpu(const struct oci_cpu *c)
{
    return c->shares.set || c->quota.set || c->period.set || c->burst.set ||
           c->realtime_period.set || c->realtime_runtime.set || c->idle.set;
}

static int apply_cpu(struct oci_cgroup *cg, const struct oci_cpu *c, struct lcow_error **err)
{
    bool v2 = false;
    const char *dir;
    int r;
    if (cpu_wants_cpu(c)) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_CPU, &v2)) == NULL)
            return missing("linux.resources.cpu", err);
        r = v2 ? cg_v2_cpu(dir, c, err) : cg_v1_cpu(dir, c, err);
        if (r < 0)
            return r;
    }
    if (cpu_wants_cpuset(c)) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_CPUSET, &v2)) == NULL)
            return missing("linux.resources.cpu.cpus/mems", err);
        return v2 ? cg_v2_cpuset(dir, c, err) : cg_v1_cpuset(dir, c, err);
    }
    return 0;
}

static bool memory_wanted(const struct oci_memory *m)
{
    return m->limit.set || m->reservation.set || m->swap.set || m->swappiness.set ||
           m->disable_oom_killer.set || m->use_hierarchy.set || m->kernel.set || m->kernel_tcp.set;
}

static bool blkio_wanted(const struct oci_blkio *b)
{
    return b->weight.set || b->leaf_weight.set || b->n_weight_device || b->read_bps.n ||
           b->write_bps.n || b->read_iops.n || b->write_iops.n;
}

static int apply_network(struct oci_cgroup *cg, const struct oci_network *n,
                         struct lcow_error **err)
{
    int r = 0;
    /* net_cls/net_prio exist only on v1. runc fails when they are asked for but not mounted
     * ("cannot set net_cls limit"); a classID of 0 means "unset". */
    if (n->class_id.set && n->class_id.v != 0) {
        if (cg->v1_dir[OCI_CG_NET_CLS] == NULL)
            return missing("linux.resources.network.classID (net_cls)", err);
        r = cg_v1_net_cls(cg->v1_dir[OCI_CG_NET_CLS], n, err);
    }
    if (r >= 0 && n->n_priorities) {
        if (cg->v1_dir[OCI_CG_NET_PRIO] == NULL)
            return missing("linux.resources.network.priorities (net_prio)", err);
        r = cg_v1_net_prio(cg->v1_dir[OCI_CG_NET_PRIO], n, err);
    }
    return r;
}

static int apply_devices(struct oci_cgroup *cg, const struct oci_linux_resources *res,
                         const char *const *dev_paths, unsigned flags, struct lcow_error **err)
{
    bool v2 = false;
    if ((flags & OCI_CGROUP_UPDATE) && !res->has_devices)
        return 0;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_DEVICES, &v2);
    if (dir == NULL)
        return res->n_devices ? missing("linux.resources.devices", err) : 0;
    cleanup_free struct oci_device_rule *rules = NULL;
    size_t n = 0;
    if (merged_rules(res, dev_paths, !(flags & OCI_CGROUP_NO_DEFAULT_DEVICES), &rules, &n) < 0)
        return lcow_error_make(err, ENOMEM, "devices: out of memory");
    if (!v2)
        return cg_v1_devices(dir, rules, n, flags & OCI_CGROUP_UPDATE, err);
    cleanup_free struct bpf_insn *prog = NULL;
    size_t plen = 0;
    int r = oci_cgroup_devices_bpf_build(rules, n, &prog, &plen, err);
    if (r < 0)
        return r;
    int fd = oci_cgroup_devices_bpf_attach(cg->v2_fd, prog, plen, err);
    if (fd < 0) {
        lcow_error_wrap(err, "devices of `%s`", cg->v2_dir);
        return fd;
    }
    if (cg->bpf_prog_fd >= 0)
        lcow_close_nointr(cg->bpf_prog_fd);
    cg->bpf_prog_fd = fd;
    return 0;
}

int oci_cgroup_apply(struct oci_cgroup *cg, const struct oci_linux_resources *res,
                     const char *const *linux_device_paths, unsigned flags, struct lcow_error **err)
{
    static const struct oci_linux_resources empty;
    bool v2 = false;
    const char *dir;
    int r = 0;
    if (res == NULL)
        res = &empty;
    if (memory_wanted(&res->memory)) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_MEMORY, &v2)) == NULL)
            return missing("linux.resources.memory", err);
        r = v2 ? cg_v2_memory(dir, &res->memory, err)
               : cg_v1_memory(dir, &res->memory, flags & OCI_CGROUP_UPDATE, err);
    }
    if (r >= 0)
        r = apply_cpu(cg, &res->cpu, err);
    if (r >= 0 && res->pids.limit.set && res->pids.limit.v != 0) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_PIDS, &v2)) == NULL)
            return missing("linux.resources.pids", err);
        r = cg_pids(dir, &res->pids, err);
    }
    if (r >= 0 && blkio_wanted(&res->blkio)) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_BLKIO, &v2)) == NULL)
            return missing("linux.resources.blockIO", err);
        r = v2 ? cg_v2_io(dir, &res->blkio, err) : cg_v1_blkio(dir, &res->blkio, err);
    }
    if (r >= 0 && res->n_hugepage_limits) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_HUGETLB, &v2)) == NULL)
            return missing("linux.resources.hugepageLimits", err);
        r = cg_hugetlb(dir, res->hugepage_limits, res->n_hugepage_limits, v2, err);
    }
    if (r >= 0 && res->n_rdma) {
        if ((dir = cg_ctrl_dir(cg, OCI_CG_RDMA, &v2)) == NULL)
            return missing("linux.resources.rdma", err);
        r = cg_rdma(dir, res->rdma, res->n_rdma, err);
    }
    if (r >= 0)
        r = apply_network(cg, &res->network, err);
    if (r >= 0 && res->n_unified) {
        if (cg->v2_dir == NULL)
            return lcow_error_make(
                err, EOPNOTSUPP, "linux.resources.unified: cgroup v2 is not mounted on this host");
        r = cg_v2_unified(cg->v2_dir, res->unified, res->n_unified, err);
    }
    if (r >= 0)
        r = apply_devices(cg, res, linux_device_paths, flags, err);
    return r;
}

/* ---------------------------------------------------------------- enter */

int oci_cgroup_enter(const struct oci_cgroup *cg, pid_t pid, struct lcow_error **err)
{
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        if (cg->v1_dir[c] == NULL)
            continue;
        /* Co-mounted controllers share one directory: one write is enough, more are harmless. */
        int r = cg_writef(cg->v1_dir[c], "cgroup.procs", err, "%d", (int)pid);
        if (r < 0)
            return r;
    }
    if (cg->v2_dir != NULL)
        return cg_writef(cg->v2_dir, "cgroup.procs", err, "%d", (int)pid);
    return 0;
}

/* ---------------------------------------------------------------- freeze */

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int v1_freeze(const char *dir, bool frozen, struct lcow_error **err)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    for (int waited = 0; waited < FREEZE_WAIT_MS; waited += 2) {
        int r = cg_write(dir, "freezer.state", want, err);
        if (r < 0)
            return r;
        cleanup_free char *s = NULL;
        if ((r = cg_read(dir, "freezer.state", &s, err)) < 0)
            return r;
        if (strncmp(s, want, strlen(want)) == 0)
            return 0;
        sleep_ms(2); /* FREEZING: tasks still running towards the freezer */
    }
    return lcow_error_make(err, EBUSY, "freeze `%s`: still not %s after %d ms", dir, want,
                           FREEZE_WAIT_MS);
}

static int v2_freeze(const char *dir, bool frozen, struct lcow_error **err)
{
    int r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err);
    if (r < 0)
        return r;
    for (int waited = 0; waited < FREEZE_WAIT_MS; waited += 2) {
        uint64_t v = 0;
        r = cg_read_keyed(dir, "cgroup.events", "frozen", &v, err);
        if (r < 0)
            return r == -ENOENT ? 0 : r;
        if ((v == 1) == frozen)
            return 0;
        sleep_ms(2);
    }
    return lcow_error_make(err, EBUSY, "freeze `%s`: cgroup.events not settled after %d ms", dir,
                           FREEZE_WAIT_MS);
}

int oci_cgroup_freeze(const struct oci_cgroup *cg, bool frozen, struct lcow_error **err)
{
    bool v2 = false;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_FREEZER, &v2);
    if (dir == NULL)
        return missing("freezer", err);
    return v2 ? v2_freeze(dir, frozen, err) : v1_freeze(dir, frozen, err);
}

int oci_cgroup_is_frozen(const struct oci_cgroup *cg, struct lcow_error **err)
{
    bool v2 = false;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_FREEZER, &v2);
    if (dir == NULL)
        return 0;
    if (v2) {
        uint64_t v = 0;
        int r = cg_read_u64(dir, "cgroup.freeze", &v, err);
        return r < 0 ? r : v == 1;
    }
    cleanup_free char *s = NULL;
    int r = cg_read(dir, "freezer.state", &s, err);
    if (r < 0)
        return r;
    /* FREEZING counts as paused, as runc reports it. */
    return strncmp(s, "THAWED", 6) != 0;
}

/* ---------------------------------------------------------------- pids */

struct pidset {
    pid_t *v;
    size_t n, cap;
};

static int pidset_add(struct pidset *s, pid_t p)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == p)
            return 0;
    if (s->n >= MAX_PIDS)
        return -E2BIG;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        pid_t *nv = realloc(s->v, nc * sizeof(*nv));
        if (nv == NULL)
            return -ENOMEM;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = p;
    return 0;
}

static int collect_pids(const char *dir, struct pidset *s)
{
    cleanup_free char *procs = NULL;
    if (cg_read(dir, "cgroup.procs", &procs, NULL) < 0)
        return 0; /* a sub-cgroup removed under us: nothing to list */
    for (char *sv = NULL, *t = strtok_r(procs, "\n", &sv); t; t = strtok_r(NULL, "\n", &sv)) {
        int r = pidset_add(s, (pid_t)atoi(t));
        if (r < 0)
            return r;
    }
    cleanup_dir DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        cleanup_free char *sub = NULL;
        if (asprintf(&sub, "%s/%s", dir, e->d_name) < 0)
            return -ENOMEM;
        int r = collect_pids(sub, s);
        if (r < 0)
            return r;
    }
    return 0;
}

int oci_cgroup_pids(const struct oci_cgroup *cg, pid_t **ret, size_t *ret_n,
                    struct lcow_error **err)
{
    struct pidset s = {0};
    int r = 0;
    /* A process entered every hierarchy, but one created later by the container (e.g. with its
     * own cgroup namespace) may sit in only some: union over all of them. */
    for (int c = 0; c < OCI_CG_CTRL_MAX && r >= 0; c++) {
        bool dup = false;
        for (int k = 0; k < c && cg->v1_dir[c]; k++)
            dup |= cg->v1_dir[k] && strcmp(cg->v1_dir[k], cg->v1_dir[c]) == 0;
        if (cg->v1_dir[c] && !dup)
            r = collect_pids(cg->v1_dir[c], &s);
    }
    if (r >= 0 && cg->v2_dir)
        r = collect_pids(cg->v2_dir, &s);
    if (r < 0) {
        free(s.v);
        return lcow_error_make(err, -r, "list pids of cgroup `%s`", cg->path);
    }
    *ret = s.v;
    *ret_n = s.n;
    return 0;
}

/* ---------------------------------------------------------------- kill */

int oci_cgroup_kill_all(const struct oci_cgroup *cg, int sig, struct lcow_error **err)
{
    if (sig == SIGKILL && cg->v2_dir && cg->layout->mode == OCI_CGROUP_UNIFIED &&
        cg_file_exists(cg->v2_dir, "cgroup.kill"))
        return cg_write(cg->v2_dir, "cgroup.kill", "1", err);
    /* Freeze first so nothing forks between listing and signalling (runc's
     * signalAllProcesses); without a freezer, signal what is listed. */
    bool frozen = oci_cgroup_freeze(cg, true, NULL) == 0;
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    int r = oci_cgroup_pids(cg, &pids, &n, err);
    for (size_t i = 0; r >= 0 && i < n; i++)
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            r = lcow_error_errno(err, "kill %d with signal %d", (int)pids[i], sig);
    if (frozen)
        (void)oci_cgroup_freeze(cg, false, NULL);
    return r < 0 ? r : 0;
}

/* ---------------------------------------------------------------- OOM */

int oci_cgroup_oom_fd(const struct oci_cgroup *cg, struct lcow_error **err)
{
    bool v2 = false;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_MEMORY, &v2);
    if (dir == NULL)
        return missing("memory (OOM events)", err);
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, v2 ? "memory.events" : "memory.oom_control") < 0)
        return lcow_error_make(err, ENOMEM, "oom: out of memory");
    if (v2) {
        cleanup_close int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
            return lcow_error_errno(err, "inotify_init1");
        if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
            return lcow_error_errno(err, "inotify_add_watch `%s`", path);
        return take_fd(&fd);
    }
    /* v1: an eventfd registered through cgroup.event_control fires on each OOM (and when the
     * cgroup is removed). */
    cleanup_close int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return lcow_error_errno(err, "eventfd");
    cleanup_close int cfd = open(path, O_RDONLY | O_CLOEXEC);
    if (cfd < 0)
        return lcow_error_errno(err, "open `%s`", path);
    int r = cg_writef(dir, "cgroup.event_control", err, "%d %d", efd, cfd);
    if (r < 0)
        return r;
    return take_fd(&efd);
}

void oci_cgroup_oom_drain(int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

int oci_cgroup_oom_kills(const struct oci_cgroup *cg, uint64_t *ret, struct lcow_error **err)
{
    bool v2 = false;
    const char *dir = cg_ctrl_dir(cg, OCI_CG_MEMORY, &v2);
    if (dir == NULL)
        return missing("memory (OOM events)", err);
    uint64_t v = 0;
    int r = cg_read_keyed(dir, v2 ? "memory.events" : "memory.oom_control", "oom_kill", &v, err);
    if (r == -ENOENT)
        v = 0; /* kernels before 4.13 do not count */
    else if (r < 0)
        return r;
    *ret = v;
    return 0;
}
