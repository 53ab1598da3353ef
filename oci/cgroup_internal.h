/* Shared between oci/cgroup*.c only: the cgroup object and cgroupfs file helpers. */
#ifndef OCI_CGROUP_INTERNAL_H
#define OCI_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "oci/cgroup.h"

struct oci_cgroup {
    const struct oci_cgroup_layout *layout;
    char *path;                    /* cleaned cgroupsPath (absolute or relative) */
    char *v1_dir[OCI_CG_CTRL_MAX]; /* full directory per v1 controller (NULL = absent) */
    char *v2_dir;                  /* full directory in the cgroup2 mount (NULL = none) */
    int v2_fd;                     /* O_DIRECTORY fd of v2_dir, -1 when none */
    char **created;                /* directories create() made, in creation order */
    size_t n_created;
    int bpf_prog_fd; /* v2 device program we attached, -1 when none */
};

/* Writes `value` to dir/file with one write(2), as cgroupfs requires. Errors name both. */
int cg_write(const char *dir, const char *file, const char *value, struct lcow_error **err);
int cg_writef(const char *dir, const char *file, struct lcow_error **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads dir/file (at most 1 MiB) into a heap string. */
int cg_read(const char *dir, const char *file, char **ret, struct lcow_error **err);
/* Reads one unsigned number; "max" reads as UINT64_MAX. */
int cg_read_u64(const char *dir, const char *file, uint64_t *ret, struct lcow_error **err);
/* Finds "key value" in a flat-keyed file such as memory.stat or cpu.stat. -ENOENT if absent. */
int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *ret,
                  struct lcow_error **err);
bool cg_file_exists(const char *dir, const char *file);

/* The directory that holds controller c's files for this cgroup and whether it is v2. NULL when
 * the controller exists nowhere. */
const char *cg_ctrl_dir(const struct oci_cgroup *cg, enum oci_cgroup_ctrl c, bool *ret_v2);

/* Writers per resource family (cgroup_v1.c / cgroup_v2.c): each receives the directory and
 * writes only the fields present. */
int cg_v1_memory(const char *dir, const struct oci_memory *m, bool update, struct lcow_error **err);
int cg_v1_cpu(const char *dir, const struct oci_cpu *c, struct lcow_error **err);
int cg_v1_cpuset(const char *dir, const struct oci_cpu *c, struct lcow_error **err);
int cg_v1_blkio(const char *dir, const struct oci_blkio *b, struct lcow_error **err);
int cg_v1_net_cls(const char *dir, const struct oci_network *n, struct lcow_error **err);
int cg_v1_net_prio(const char *dir, const struct oci_network *n, struct lcow_error **err);
/* update: a live container's list is changed by difference (allows first, then removals)
 * instead of a deny-all reset, so a device allowed before and after is never refused. */
int cg_v1_devices(const char *dir, const struct oci_device_rule *rules, size_t n, bool update,
                  struct lcow_error **err);

int cg_v2_memory(const char *dir, const struct oci_memory *m, struct lcow_error **err);
int cg_v2_cpu(const char *dir, const struct oci_cpu *c, struct lcow_error **err);
int cg_v2_cpuset(const char *dir, const struct oci_cpu *c, struct lcow_error **err);
int cg_v2_io(const char *dir, const struct oci_blkio *b, struct lcow_error **err);
/* hugetlb: the same files but for their suffix (v1 limit_in_bytes, v2 max). */
int cg_hugetlb(const char *dir, const struct oci_hugepage_limit *h, size_t n, bool v2,
               struct lcow_error **err);
/* rdma.max has one format on both versions. */
int cg_rdma(const char *dir, const struct oci_rdma_limit *l, size_t n, struct lcow_error **err);
int cg_pids(const char *dir, const struct oci_pids *p, struct lcow_error **err);

/* Writes the unified map verbatim into a v2 directory. */
int cg_v2_unified(const char *dir, const struct oci_kv *kv, size_t n, struct lcow_error **err);

#endif
