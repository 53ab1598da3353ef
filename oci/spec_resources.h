/* The `linux.resources` subtree of config.json (runtime-spec 1.2, config-linux.md
 * "Control groups"), also the `Linux` part of the GCS's ContainerConstraints and the input of
 * `ocirun update`.
 *
 * Every optional scalar carries a presence flag so that "absent" (leave the kernel's value)
 * differs from 0, as runc's pointer fields do. The parser checks types, ranges and enumerated
 * strings and names the JSON path of the first bad field; kernel-side limits (a weight outside
 * 10..1000, a cpuset the parent lacks) are left to the cgroup writer, which reports the file. */
#ifndef OCI_SPEC_RESOURCES_H
#define OCI_SPEC_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

struct oci_opt_i64 {
    int64_t v;
    bool set;
};
struct oci_opt_u64 {
    uint64_t v;
    bool set;
};
struct oci_opt_bool {
    bool v;
    bool set;
};

/* linux.resources.devices[]: a device cgroup rule. */
struct oci_device_rule {
    bool allow;
    char type;            /* 'a', 'b' or 'c' ("" in JSON means 'a') */
    int64_t major, minor; /* -1 = wildcard (field absent) */
    char access[4]; /* non-empty subset of "rwm", normalised to that order (runc rejects "") */
};

struct oci_memory {
    struct oci_opt_i64 limit, reservation, swap, kernel, kernel_tcp;
    struct oci_opt_u64 swappiness; /* 0..100 */
    struct oci_opt_bool disable_oom_killer, use_hierarchy, check_before_update;
};

struct oci_cpu {
    struct oci_opt_u64 shares, period, burst, realtime_period;
    struct oci_opt_i64 quota, realtime_runtime, idle;
    char *cpus; /* NULL when absent */
    char *mems;
};

struct oci_pids {
    struct oci_opt_i64 limit; /* <= 0 means unlimited ("max"), as runc */
};

struct oci_blkio_weight_device {
    int64_t major, minor;
    struct oci_opt_u64 weight, leaf_weight; /* uint16 in the spec */
};

struct oci_blkio_throttle {
    int64_t major, minor;
    uint64_t rate;
};

struct oci_blkio_throttles {
    struct oci_blkio_throttle *v;
    size_t n;
};

struct oci_blkio {
    struct oci_opt_u64 weight, leaf_weight; /* uint16 in the spec */
    struct oci_blkio_weight_device *weight_device;
    size_t n_weight_device;
    struct oci_blkio_throttles read_bps, write_bps, read_iops, write_iops;
};

struct oci_hugepage_limit {
    char *page_size; /* "2MB", "1GB", "64KB" (validated: digits then KB/MB/GB) */
    uint64_t limit;
};

struct oci_net_priority {
    char *name;
    uint32_t priority;
};

struct oci_network {
    struct oci_opt_u64 class_id; /* uint32 */
    struct oci_net_priority *priorities;
    size_t n_priorities;
};

struct oci_rdma_limit {
    char *device;
    struct oci_opt_u64 hca_handles, hca_objects; /* uint32 */
};

/* A string→string map entry (`unified`). */
struct oci_kv {
    char *key;
    char *value;
};

struct oci_linux_resources {
    struct oci_device_rule *devices;
    size_t n_devices;
    bool has_devices; /* the array was present (even empty) */
    bool has_memory, has_cpu, has_pids, has_blkio, has_network;
    struct oci_memory memory;
    struct oci_cpu cpu;
    struct oci_pids pids;
    struct oci_blkio blkio;
    struct oci_hugepage_limit *hugepage_limits;
    size_t n_hugepage_limits;
    struct oci_network network;
    struct oci_rdma_limit *rdma;
    size_t n_rdma;
    struct oci_kv *unified; /* keys validated: no '/', not "." or "..", not empty */
    size_t n_unified;
};

/* Parses `obj` (the value of linux.resources; NULL or JSON null gives an empty struct) into
 * *ret, which the caller zero-initialises or leaves unused on failure. `json_path` names obj
 * in errors ("linux.resources", "Settings.Linux"). Returns 0 or -EINVAL/-ERANGE/-ENOMEM with
 * *err naming the path of the first bad field; *ret is untouched on failure. */
int oci_linux_resources_parse(const struct json_object *obj, const char *json_path,
                              struct oci_linux_resources *ret, struct lcow_error **err);

/* Frees the contents and zeroes *r (NULL-safe). */
void oci_linux_resources_done(struct oci_linux_resources *r);
/* Frees the contents and r itself (NULL-safe); returns NULL. */
struct oci_linux_resources *oci_linux_resources_free(struct oci_linux_resources *r);

/* Parses a single device rule (also used for `linux.devices`-derived default rules). */
int oci_device_rule_parse(const struct json_object *obj, const char *json_path,
                          struct oci_device_rule *ret, struct lcow_error **err);

#endif
