/* UVM-level setup at gcs start (gcs-protocol.md §5.9), all of it under -cgroup-root so a test
 * can point it at its own cgroup: child subreaper (container inits are re-parented to gcs),
 * the core pattern, v1 memory.use_hierarchy, /pods with its memory limit (MemTotal minus
 * -root-mem-reserve-bytes), /gcs holding gcs itself, the -gcs-mem-limit-bytes warning, time
 * sync (chronyd on the Hyper-V PTP clock; skipped quietly when there is none), and
 * /var/run/gcsrunc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/bridge.h"
#include "gcs/container.h"
#include "gcs/protocol.h"
#include "oci/cgroup.h"
#include "oci/spec_resources.h"

char *gcs_cgroup_join(struct gcs *g, const char *path)
{
    const char *root = g && g->opt.cgroup_root ? g->opt.cgroup_root : "/";
    while (*path == '/')
        path++;
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    char *out = NULL;
    if (asprintf(&out, "%.*s/%s", (int)n, root, path) < 0)
        return NULL;
    return out;
}

/* MemTotal in bytes (0 when unknown). */
static uint64_t mem_total(void)
{
    cleanup_free char *text = NULL;
    if (lcow_read_file("/proc/meminfo", 1 << 16, &text, NULL, NULL) < 0)
        return 0;
    const char *p = strstr(text, "MemTotal:");
    unsigned long long kb = 0;
    if (!p || sscanf(p, "MemTotal: %llu kB", &kb) != 1)
        return 0;
    return (uint64_t)kb * 1024;
}

/* §7.1 (main_test.go): the /pods limit is total - reserve, never below zero. */
static int64_t pods_limit(uint64_t total, uint64_t reserve)
{
    return total > reserve ? (int64_t)(total - reserve) : -1;
}

/* A gcs started inside a non-root cgroup without -cgroup-root runs on some host (a test, a
 * developer's shell), not as the UVM's agent: it leaves the machine's cgroups alone. */
static bool in_root_cgroup(void)
{
    cleanup_free char *text = NULL;
    if (lcow_read_file("/proc/self/cgroup", 1 << 16, &text, NULL, NULL) < 0)
        return false;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        const char *path = strrchr(l, ':');
        if (path && strcmp(path, ":/") != 0)
            return false;
    }
    return true;
}

static bool pods_managed; /* /pods was set up by this gcs (PodCgroupMemoryLimit may update) */

/* Writes the /pods memory limit: MemTotal - reserve (memory may have been hot-added). */
static int apply_pods_limit(struct gcs *g, const struct oci_cgroup_layout *l,
                            struct oci_cgroup *pcg, struct lcow_error **err)
{
    int64_t limit = pods_limit(mem_total(), g->opt.root_mem_reserve_bytes);
    if (limit <= 0 || !oci_cgroup_layout_has(l, OCI_CG_MEMORY))
        return 0;
    struct oci_linux_resources res = {0};
    res.has_memory = true;
    res.memory.limit = (struct oci_opt_i64){.v = limit, .set = true};
    return oci_cgroup_apply(pcg, &res, NULL, OCI_CGROUP_UPDATE | OCI_CGROUP_NO_DEFAULT_DEVICES,
                            err);
}

/* The cgroup watcher (§5.9): the -gcs-mem-limit-bytes threshold on /gcs (v1: an eventfd on
 * memory.usage_in_bytes via cgroup.event_control; v2: memory.current checked each round), OOM
 * events on /pods (logged), and the /pods limit recomputed every 60 s for memory hot-add. */
struct watch {
    struct gcs *g;
    struct oci_cgroup_layout *l;
    struct oci_cgroup *pods, *gcs;
    int threshold_fd; /* v1 eventfd, or -1 */
    int oom_fd;       /* /pods OOM events, or -1 */
    char *current;    /* v2 memory.current of /gcs, or NULL */
};

#define WATCH_PERIOD_MS 60000

static int v1_threshold_fd(const char *memdir, uint64_t threshold)
{
    cleanup_free char *usage = NULL, *ctl = NULL;
    if (asprintf(&usage, "%s/memory.usage_in_bytes", memdir) < 0 ||
        asprintf(&ctl, "%s/cgroup.event_control", memdir) < 0)
        return -ENOMEM;
    cleanup_close int ufd = open(usage, O_RDONLY | O_CLOEXEC);
    int efd = eventfd(0, EFD_CLOEXEC);
    if (ufd < 0 || efd < 0) {
        if (efd >= 0)
            close(efd);
        return -errno;
    }
    char line[96];
    int n = snprintf(line, sizeof(line), "%d %d %llu", efd, ufd, (unsigned long long)threshold);
    if (lcow_write_file(ctl, line, (size_t)n, O_WRONLY, 0, NULL) < 0) {
        close(efd);
        return -EIO;
    }
    return efd;
}

static uint64_t read_u64(const char *path)
{
    cleanup_free char *t = NULL;
    return lcow_read_file(path, 64, &t, NULL, NULL) == 0 ? strtoull(t, NULL, 10) : 0;
}

static void *watch_main(void *arg)
{
    struct watch *w = arg;
    uint64_t limit = w->g->opt.gcs_mem_limit_bytes;
    bool above = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = w->threshold_fd, .events = POLLIN},
                              {.fd = w->oom_fd, .events = POLLIN}};
        int n = poll(p, 2, WATCH_PERIOD_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            uint64_t v;
            (void)!read(w->threshold_fd, &v, sizeof(v));
            lcow_warn("gcs memory usage crossed the threshold of %llu bytes",
                      (unsigned long long)limit);
        }
        if (p[1].revents) {
            oci_cgroup_oom_drain(w->oom_fd);
            lcow_warn("OOM in /pods");
        }
        if (w->current && limit) {
            bool now = read_u64(w->current) > limit;
            if (now && !above)
                lcow_warn("gcs memory usage exceeds the threshold of %llu bytes",
                          (unsigned long long)limit);
            above = now;
        }
        if (n == 0) {
            cleanup_error struct lcow_error *e = NULL;
            if (apply_pods_limit(w->g, w->l, w->pods, &e) < 0)
                lcow_debug("/pods memory limit: %s", lcow_error_message(e));
        }
    }
    return NULL;
}

static int start_watch(struct gcs *g, struct oci_cgroup_layout *l, struct oci_cgroup *pods,
                       struct oci_cgroup *gcg)
{
    struct watch *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct watch){.g = g, .l = l, .pods = pods, .gcs = gcg, .threshold_fd = -1};
    const char *memdir = oci_cgroup_dir(gcg, OCI_CG_MEMORY);
    if (g->opt.gcs_mem_limit_bytes && memdir && l->v1_mount[OCI_CG_MEMORY]) {
        w->threshold_fd = v1_threshold_fd(memdir, g->opt.gcs_mem_limit_bytes);
        cleanup_free char *usage = NULL;
        if (asprintf(&usage, "%s/memory.usage_in_bytes", memdir) >= 0 &&
            read_u64(usage) > g->opt.gcs_mem_limit_bytes) /* already above: say so now */
            lcow_warn("gcs memory usage exceeds the threshold of %llu bytes",
                      (unsigned long long)g->opt.gcs_mem_limit_bytes);
    } else if (g->opt.gcs_mem_limit_bytes && oci_cgroup_v2_dir(gcg)) {
        if (asprintf(&w->current, "%s/memory.current", oci_cgroup_v2_dir(gcg)) < 0)
            w->current = NULL;
    }
    w->oom_fd = oci_cgroup_oom_fd(pods, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int r = pthread_create(&t, &attr, watch_main, w);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        if (w->threshold_fd >= 0)
            close(w->threshold_fd);
        if (w->oom_fd >= 0)
            close(w->oom_fd);
        free(w->current);
        free(w);
        return -r;
    }
    return 0;
}

static int setup_cgroups(struct gcs *g, struct lcow_error **err)
{
    struct oci_cgroup_layout *l = NULL;
    int r = oci_cgroup_layout_detect(NULL, &l, err);
    if (r < 0)
        return r;
    cleanup_free char *pods = gcs_cgroup_join(g, "/pods");
    cleanup_free char *gcsp = gcs_cgroup_join(g, "/gcs");
    cleanup_free char *root = gcs_cgroup_join(g, "/");
    struct oci_cgroup *pcg = NULL, *gcg = NULL, *rcg = NULL;
    if (!pods || !gcsp || !root) {
        r = -ENOMEM;
        goto out;
    }
    /* v1: hierarchical memory accounting below the root (fatal in the Go GCS when missing). */
    if (oci_cgroup_layout_has(l, OCI_CG_MEMORY) &&
        oci_cgroup_open(l, root, NULL, &rcg, NULL) == 0) {
        const char *mdir = oci_cgroup_dir(rcg, OCI_CG_MEMORY);
        cleanup_free char *f = NULL;
        if (mdir && l->mode != OCI_CGROUP_UNIFIED &&
            asprintf(&f, "%s/memory.use_hierarchy", mdir) >= 0) {
            cleanup_free char *cur = NULL;
            if (lcow_read_file(f, 64, &cur, NULL, NULL) < 0) {
                r = lcow_error_errno(err, "read `%s`", f);
                goto out;
            }
            if (cur[0] != '1' && lcow_write_file(f, "1", 1, O_WRONLY, 0, NULL) < 0)
                lcow_debug("memory.use_hierarchy stays %c (the kernel decides)", cur[0]);
        }
    }
    r = oci_cgroup_create(l, pods, NULL, 0, &pcg, err);
    if (r < 0)
        goto out;
    int64_t limit = pods_limit(mem_total(), g->opt.root_mem_reserve_bytes);
    cleanup_error struct lcow_error *e = NULL;
    if (apply_pods_limit(g, l, pcg, &e) < 0)
        lcow_warn("/pods memory limit: %s", lcow_error_message(e));
    pods_managed = true;
    r = oci_cgroup_create(l, gcsp, NULL, 0, &gcg, err);
    if (r == 0)
        r = oci_cgroup_enter(gcg, getpid(), err);
    if (r == 0) {
        lcow_info("cgroups: %s (limit %" PRId64 "), %s", pods, limit, gcsp);
        if (start_watch(g, l, pcg, gcg) == 0)
            l = NULL, pcg = gcg = NULL; /* the watcher keeps them */
    }
out:
    oci_cgroup_free(rcg);
    oci_cgroup_free(pcg);
    oci_cgroup_free(gcg);
    oci_cgroup_layout_free(l);
    return r;
}

/* The Hyper-V PTP clock, if any: /dev/ptpN whose clock_name is "hyperv". */
static int find_hyperv_ptp(const char *sysfs, char *ret, size_t cap)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/class/ptp", sysfs);
    cleanup_dir DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *name = NULL, *f = NULL;
        if (asprintf(&f, "%s/%s/clock_name", dir, de->d_name) < 0)
            return -ENOMEM;
        if (lcow_read_file(f, 64, &name, NULL, NULL) == 0 && strcmp(name, "hyperv\n") == 0) {
            snprintf(ret, cap, "/dev/%s", de->d_name);
            return 0;
        }
    }
    return -ENOENT;
}

static void time_sync(struct gcs *g)
{
    if (g->opt.disable_time_sync)
        return;
    char dev[300];
    if (find_hyperv_ptp(g->opt.sysfs_root ? g->opt.sysfs_root : "/sys", dev, sizeof(dev)) < 0) {
        lcow_debug("time sync skipped: no Hyper-V PTP clock");
        return;
    }
    /* chronyd is not part of this UVM image; the config is written for one that has it. */
    char conf[400];
    int n = snprintf(conf, sizeof(conf),
                     "refclock PHC %s poll 3 dpoll -2 offset 0 stratum 2\nmakestep 0.1 -1\n", dev);
    if (lcow_write_file_atomic("/tmp/chronyd.conf", conf, (size_t)n, 0644, NULL) == 0)
        lcow_info("time sync: /tmp/chronyd.conf written for %s", dev);
}

int gcs_startup(struct gcs *g, struct lcow_error **err)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        lcow_warn("cannot become a child subreaper: %s", strerror(errno));
    if (g->opt.core_dump_location && g->opt.core_dump_location[0]) {
        const char *p = g->opt.core_dump_location;
        cleanup_error struct lcow_error *e = NULL;
        if (lcow_write_file("/proc/sys/kernel/core_pattern", p, strlen(p), O_WRONLY, 0, &e) < 0)
            lcow_warn("core dump location: %s", lcow_error_message(e));
    }
    bool explicit_root = g->opt.cgroup_root && strcmp(g->opt.cgroup_root, "/") != 0;
    if (explicit_root || in_root_cgroup()) {
        int r = setup_cgroups(g, err);
        if (r < 0)
            return r;
    } else {
        lcow_debug("cgroups: not in the root cgroup and no -cgroup-root: /pods and /gcs skipped");
    }
    time_sync(g);
    if (in_root_cgroup() || explicit_root)
        (void)mkdir("/var/run/gcsrunc", 0700);
    return 0;
}

int gcs_pod_memory_limit_modify(struct gcs *g, const struct gcs_modify_request *req,
                                struct lcow_error **err)
{
    if (req->request_type != GCS_REQUEST_UPDATE)
        return lcow_error_make(err, ENOTSUP, "the RequestType `%s` is not supported",
                               req->request_type_name[0] ? req->request_type_name : "Add");
    if (!pods_managed)
        return lcow_error_make(err, ENOENT, "gcs did not set up /pods");
    struct oci_cgroup_layout *l = NULL;
    int r = oci_cgroup_layout_detect(NULL, &l, err);
    if (r < 0)
        return r;
    cleanup_free char *pods = gcs_cgroup_join(g, "/pods");
    struct oci_cgroup *pcg = NULL;
    r = pods ? oci_cgroup_open(l, pods, NULL, &pcg, err) : -ENOMEM;
    if (r == 0)
        r = apply_pods_limit(g, l, pcg, err);
    oci_cgroup_free(pcg);
    oci_cgroup_layout_free(l);
    return r;
}
