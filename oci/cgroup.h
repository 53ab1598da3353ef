/* Container cgroups for the embedded executor: v1 (legacy), v2 (unified) and hybrid (v1
 * controllers plus a cgroup2 mount at <root>/unified that may own some controllers, e.g.
 * hugetlb on the CI machines). crun refuses hybrid; we create the container cgroup in every
 * mounted hierarchy and write each resource to whichever hierarchy owns its controller.
 *
 * cgroupsPath follows runc's cgroupfs driver: an absolute path is taken relative to each
 * hierarchy's root; a relative one (or the container id when cgroupsPath is empty) lands under
 * the caller's own cgroup in that hierarchy (/proc/self/cgroup). ".." never escapes.
 *
 * Library rules: no logging above debug, no exit, errors through struct lcow_error. Nothing in
 * here may be called between clone and exec except the documented fd accessors. */
#ifndef OCI_CGROUP_H
#define OCI_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/spec_resources.h"

enum oci_cgroup_mode {
    OCI_CGROUP_LEGACY,  /* v1 only */
    OCI_CGROUP_HYBRID,  /* v1 controllers + a cgroup2 mount */
    OCI_CGROUP_UNIFIED, /* v2 only */
};

enum oci_cgroup_ctrl {
    OCI_CG_CPU,
    OCI_CG_CPUACCT,
    OCI_CG_CPUSET,
    OCI_CG_MEMORY,
    OCI_CG_DEVICES,
    OCI_CG_FREEZER,
    OCI_CG_BLKIO, /* "io" on v2 */
    OCI_CG_PIDS,
    OCI_CG_HUGETLB,
    OCI_CG_NET_CLS,
    OCI_CG_NET_PRIO,
    OCI_CG_RDMA,
    OCI_CG_PERF_EVENT,
    OCI_CG_MISC,
    OCI_CG_SYSTEMD, /* the named "name=systemd" v1 hierarchy: created and joined, no files */
    OCI_CG_CTRL_MAX,
};

/* Where the hierarchies are. Built by oci_cgroup_layout_detect(), or by hand in tests. */
struct oci_cgroup_layout {
    enum oci_cgroup_mode mode;
    /* v1: mount point of the hierarchy carrying each controller (NULL = not on v1), the
     * mountinfo root of that mount, and the caller's own cgroup in it. Co-mounted controllers
     * (cpu,cpuacct) share one mount string value but each slot holds its own copy. */
    char *v1_mount[OCI_CG_CTRL_MAX];
    char *v1_root[OCI_CG_CTRL_MAX];
    char *v1_own[OCI_CG_CTRL_MAX];
    /* v2: the cgroup2 mount (NULL if none), its mountinfo root, the caller's own "0::" cgroup,
     * and the controllers that cgroup2 root offers (bit i = enum oci_cgroup_ctrl i). */
    char *v2_mount;
    char *v2_root;
    char *v2_own;
    uint32_t v2_controllers;
};

/* Inputs of detection; NULL members take the defaults (/proc/self/mountinfo,
 * /proc/self/cgroup, no prefix). `prefix` is prepended to every mount point found (tests
 * point it at a fake tree with a hand-written mountinfo). */
struct oci_cgroup_sources {
    const char *mountinfo;
    const char *self_cgroup;
    const char *prefix;
};

/* Detects the layout. A hierarchy root that is "/" in mountinfo is the plain case; a
 * non-"/" root (inside a cgroup namespace) is recorded and stripped from own paths.
 * Returns 0 or -ENOENT (no cgroup mounted) / -errno; *ret freed with
 * oci_cgroup_layout_free(). */
int oci_cgroup_layout_detect(const struct oci_cgroup_sources *src, struct oci_cgroup_layout **ret,
                             struct lcow_error **err);
struct oci_cgroup_layout *oci_cgroup_layout_free(struct oci_cgroup_layout *l);

const char *oci_cgroup_mode_name(enum oci_cgroup_mode m);
/* The kernel's controller name ("cpu", "memory", "blkio"/"io", ...). */
const char *oci_cgroup_ctrl_name(enum oci_cgroup_ctrl c, bool v2);
/* True when controller c is usable: on v1, or listed in the v2 root's cgroup.controllers. */
bool oci_cgroup_layout_has(const struct oci_cgroup_layout *l, enum oci_cgroup_ctrl c);

/* Cleans a cgroupsPath as runc's CleanPath: "" stays "", ".." components cannot climb above
 * the start, absolute stays absolute. Returns a heap string or NULL (ENOMEM). */
char *oci_cgroup_clean_path(const char *path);

/* One container's cgroup across all hierarchies. */
struct oci_cgroup;

enum {
    /* Fail if the cgroup already exists in any hierarchy (create only). */
    OCI_CGROUP_EXCLUSIVE = 1u << 0,
    /* runc >= 1.2's rule instead: an existing cgroup may be reused, but not one that holds
     * processes (-EBUSY) or is frozen (-EBUSY; runc 1.1 hung there). */
    OCI_CGROUP_REQUIRE_EMPTY = 1u << 1,
};

/* Creates (mkdir -p) the cgroup `cgroups_path` (or `id` relative when cgroups_path is NULL/"")
 * in every hierarchy, initialising v1 cpuset.cpus/mems from the parents and enabling the
 * needed controllers in the v2 parents' cgroup.subtree_control. On failure every directory
 * it created is removed again. The layout must outlive the returned object. */
int oci_cgroup_create(const struct oci_cgroup_layout *l, const char *cgroups_path, const char *id,
                      unsigned flags, struct oci_cgroup **ret, struct lcow_error **err);
/* Opens an existing container cgroup (for update/pause/kill/delete/stats of a container made
 * earlier); hierarchies where it is missing are skipped. -ENOENT if it exists nowhere. */
int oci_cgroup_open(const struct oci_cgroup_layout *l, const char *cgroups_path, const char *id,
                    struct oci_cgroup **ret, struct lcow_error **err);
/* Frees the object; the cgroup itself stays (see oci_cgroup_destroy). NULL-safe. */
struct oci_cgroup *oci_cgroup_free(struct oci_cgroup *cg);

/* The cleaned path inside each hierarchy ("/a/b" for absolute, own-cgroup-joined for
 * relative), as runc reports it; and the directory of one controller (NULL if absent). */
const char *oci_cgroup_path(const struct oci_cgroup *cg);
const char *oci_cgroup_dir(const struct oci_cgroup *cg, enum oci_cgroup_ctrl c);
/* Directory of the cgroup in the v2 hierarchy, NULL when there is none. */
const char *oci_cgroup_v2_dir(const struct oci_cgroup *cg);

/* An O_PATH|O_DIRECTORY fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP), valid until
 * oci_cgroup_free(). Only offered in UNIFIED mode (in hybrid the v1 hierarchies need a
 * write to cgroup.procs anyway); -1 otherwise. */
int oci_cgroup_clone_fd(const struct oci_cgroup *cg);

/* Writes every resource present in `res` to the hierarchy owning it. Device rules are
 * followed by runc's default allowed devices (oci_cgroup_default_devices) unless
 * OCI_CGROUP_NO_DEFAULT_DEVICES; as in runc, a default whose path appears in
 * `linux_device_paths` (NULL-terminated paths of linux.devices, may be NULL) is left out.
 * A resource whose controller exists nowhere is -EOPNOTSUPP naming it (runc fails the same
 * way, e.g. "cannot set net_cls limit"); zero/unset values need no controller. The `unified` map on
 * a host without cgroup2 is -EOPNOTSUPP (runc); in hybrid mode it goes to the cgroup2 directory.
 * memory.kernel/kernelTCP are written where the kernel still has the files (deprecated, errors
 * ignored, as runc ignores them). */
enum {
    OCI_CGROUP_NO_DEFAULT_DEVICES = 1u << 0,
    /* update semantics: devices are only touched when present in `res` and, on v1, changed by
     * difference from the live list (no deny-all instant); the v1 memory limit and memsw are
     * written in the order that keeps memsw >= limit at every step. */
    OCI_CGROUP_UPDATE = 1u << 1,
};
int oci_cgroup_apply(struct oci_cgroup *cg, const struct oci_linux_resources *res,
                     const char *const *linux_device_paths, unsigned flags,
                     struct lcow_error **err);

struct oci_cgroup_default_device {
    const char *path; /* NULL for rules not tied to a node (mknod *, pts) */
    struct oci_device_rule rule;
};
/* The default device rules runc appends (static storage). */
const struct oci_cgroup_default_device *oci_cgroup_default_devices(size_t *ret_n);

/* Moves pid into the cgroup in every hierarchy (cgroup.procs). */
int oci_cgroup_enter(const struct oci_cgroup *cg, pid_t pid, struct lcow_error **err);

/* Freezes (true) or thaws (false): v1 freezer.state (waiting until FROZEN), or v2
 * cgroup.freeze (waiting for cgroup.events frozen 1). */
int oci_cgroup_freeze(const struct oci_cgroup *cg, bool frozen, struct lcow_error **err);
/* "FROZEN", "THAWED" state for runc's paused status: 1 when frozen, 0 when not, -errno. */
int oci_cgroup_is_frozen(const struct oci_cgroup *cg, struct lcow_error **err);

/* Sends sig to every process in the cgroup. SIGKILL on a pure v2 host with cgroup.kill
 * (5.14+) uses that; otherwise freezes, signals every pid listed, thaws (runc's
 * signalAllProcesses).
 * -ESRCH never: an empty cgroup is success. */
int oci_cgroup_kill_all(const struct oci_cgroup *cg, int sig, struct lcow_error **err);

/* Every pid in the cgroup (recursively, de-duplicated across hierarchies), heap array. */
int oci_cgroup_pids(const struct oci_cgroup *cg, pid_t **ret, size_t *ret_n,
                    struct lcow_error **err);

/* Removes the cgroup from every hierarchy, deepest first: SIGKILLs leftovers and retries
 * rmdir on EBUSY for up to ~1 s. Missing directories are fine. */
int oci_cgroup_destroy(struct oci_cgroup *cg, struct lcow_error **err);

/* OOM events. oci_cgroup_oom_fd() returns a CLOEXEC fd that becomes readable when an OOM
 * occurs (v1: eventfd registered on memory.oom_control; v2: inotify on memory.events).
 * Read it with oci_cgroup_oom_drain() and then check oci_cgroup_oom_kills(). */
int oci_cgroup_oom_fd(const struct oci_cgroup *cg, struct lcow_error **err);
void oci_cgroup_oom_drain(int fd);
/* OOM kill count (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
int oci_cgroup_oom_kills(const struct oci_cgroup *cg, uint64_t *ret, struct lcow_error **err);

/* v1 shares (2..262144) to v2 cpu.weight (1..10000), as runc's ConvertCPUSharesToCgroupV2Value:
 * 0 stays 0 (unset). */
uint64_t oci_cgroup_shares_to_weight(uint64_t shares);
/* v1 blkio weight (10..1000) to v2 io.weight (1..10000), as runc's ConvertBlkIOToIOWeightValue. */
uint64_t oci_cgroup_blkio_to_io_weight(uint64_t weight);
/* memory.swap value for v2 from the OCI (v1 memsw) values: swap - limit, as runc
 * (ConvertMemorySwapToCgroupV2Value). *ret = -1 means "max", 0 "leave unset"; -EINVAL on
 * inconsistent input. */
int oci_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, struct lcow_error **err);

/* ---------- statistics, a neutral shape gcs turns into the v1 Metrics JSON ---------- */

struct oci_cg_mem_entry {
    uint64_t usage, max_usage, limit, failcnt;
};

struct oci_cg_stat_kv {
    char name[40];
    uint64_t value;
};

struct oci_cg_blkio_entry {
    char op[12]; /* "Read", "Write", "Sync", "Async", "Discard", "Total", "" */
    uint64_t major, minor, value;
};

struct oci_cg_hugetlb_entry {
    char page_size[12]; /* "2MB", "1GB" */
    uint64_t usage, max, failcnt;
};

struct oci_cgroup_stats {
    /* memory: usage/max/limit/failcnt of memory, memsw (v2: swap), kmem, kmem.tcp. */
    bool has_memory;
    struct oci_cg_mem_entry mem, swap, kernel, kernel_tcp;
    /* memory.stat lines as read (v1 names; on v2 anon→rss, file→cache are added too). */
    struct oci_cg_stat_kv *mem_stat;
    size_t n_mem_stat;
    uint64_t oom_kill, under_oom, oom_kill_disable;
    /* cpu in nanoseconds */
    bool has_cpu;
    uint64_t cpu_total, cpu_user, cpu_kernel;
    uint64_t *cpu_per_cpu;
    size_t n_cpu_per_cpu;
    uint64_t throttle_periods, throttled_periods, throttled_time;
    /* pids */
    bool has_pids;
    uint64_t pids_current, pids_limit; /* limit 0 = unlimited */
    /* blkio (v1 recursive files; v2 io.stat converted) */
    struct oci_cg_blkio_entry *io_service_bytes, *io_serviced;
    size_t n_io_service_bytes, n_io_serviced;
    struct oci_cg_hugetlb_entry *hugetlb;
    size_t n_hugetlb;
};

/* Reads what every present hierarchy offers; missing files are left zero, not errors. */
int oci_cgroup_stats(const struct oci_cgroup *cg, struct oci_cgroup_stats *ret,
                     struct lcow_error **err);
void oci_cgroup_stats_done(struct oci_cgroup_stats *s);

struct json_object;
/* The statistics as containerd's cgroups v1 `Metrics` JSON, with the field names, order and
 * zero-omission Go's encoding/json gives that struct, trimmed as the Go GCS trims it for
 * GetProperties "Statistics" (gcs-protocol.md §4.8): `blkio` and `rdma` are {} and `network` is
 * absent. memory.stat names map to their Metrics fields (pgpgin → pg_pg_in, ...). *ret is a new
 * object the caller puts. */
int oci_cgroup_stats_to_metrics(const struct oci_cgroup_stats *s, struct json_object **ret,
                                struct lcow_error **err);

/* ---------- v2 device controller: a BPF_PROG_TYPE_CGROUP_DEVICE program ---------- */

struct bpf_insn;
/* Builds the program for `rules` with v1 semantics (the last matching rule decides; no match
 * denies). *ret is a heap array of *ret_n instructions. */
int oci_cgroup_devices_bpf_build(const struct oci_device_rule *rules, size_t n,
                                 struct bpf_insn **ret, size_t *ret_n, struct lcow_error **err);
/* Loads the program and attaches it to the cgroup2 directory fd with BPF_F_ALLOW_MULTI, then
 * detaches every other device program on that cgroup (so an update replaces the old one).
 * Returns the program fd (CLOEXEC) or -errno. */
int oci_cgroup_devices_bpf_attach(int cgroup_fd, const struct bpf_insn *insns, size_t n,
                                  struct lcow_error **err);

#endif
