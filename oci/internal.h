/* Internals of the executor shared by prepare.c (parent, before clone), child.c (the cloned
 * child, between clone and exec) and executor.c (the parent's side of the handshake).
 *
 * The plan is everything the child needs, computed in the parent: strings, arrays and fds.
 * The child only reads it and calls syscalls; it never allocates (style.md C5). */
#ifndef LCOW_OCI_INTERNAL_H
#define LCOW_OCI_INTERNAL_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

/* ---- mount options (mount_options.c) ---- */

enum {
    OCI_MOUNT_EXT_TMPCOPYUP = 1u << 0,
    OCI_MOUNT_EXT_IDMAP = 1u << 1,
    OCI_MOUNT_EXT_RECURSIVE_IDMAP = 1u << 2,
};

struct oci_mount_flags {
    unsigned long flags;       /* MS_* to set, including MS_BIND/MS_REC/MS_REMOUNT */
    unsigned long clear;       /* MS_* named explicitly as off ("rw", "suid", ...) */
    unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE [| MS_REC], 0 = none */
    uint64_t rec_attr_set;     /* MOUNT_ATTR_* applied recursively (rro, rnosuid, ...) */
    uint64_t rec_attr_clr;
    unsigned extensions; /* OCI_MOUNT_EXT_* */
    char *data;          /* options the kernel gets as data, comma-joined; NULL when none */
};

/* Parses a mount's options array (NULL-terminated, may be NULL). */
int oci_mount_parse_options(char *const *options, struct oci_mount_flags *ret,
                            struct lcow_error **err);
void oci_mount_flags_done(struct oci_mount_flags *f);

/* ---- the plan ---- */

enum plan_mount_kind {
    PLAN_MOUNT_FS,        /* mount(source, target, type, flags, data) */
    PLAN_MOUNT_BIND,      /* bind (+ remount for flags) */
    PLAN_MOUNT_CGROUP_V1, /* tmpfs + per-hierarchy binds of the container's cgroups */
    PLAN_MOUNT_CGROUP_V2, /* cgroup2 */
    PLAN_MOUNT_TREE,      /* move_mount of a detached tree prepared in the parent (idmap) */
};

/* One bind of a v1 hierarchy for a "cgroup" mount: host dir -> /sys/fs/cgroup/<name>. */
struct plan_cgroup_bind {
    const char *source;   /* host directory of the container's cgroup in that hierarchy */
    const char *name;     /* "cpu,cpuacct", "memory", ... */
    const char *links[3]; /* co-mounted controller names that get a symlink to name */
};

struct plan_mount {
    enum plan_mount_kind kind;
    const char *source; /* absolute host path for binds */
    const char *target; /* destination inside the rootfs, absolute */
    const char *type;
    unsigned long flags;
    unsigned long propagation;
    uint64_t rec_attr_set, rec_attr_clr;
    const char *data;
    bool tmpcopyup;
    int tree_fd; /* PLAN_MOUNT_TREE */
    struct plan_cgroup_bind *cgroup_binds;
    size_t n_cgroup_binds;
};

struct plan_device {
    const char *path; /* inside the container */
    mode_t mode;      /* S_IFCHR/S_IFBLK/S_IFIFO | permissions */
    dev_t dev;
    uid_t uid;
    gid_t gid;
};

struct plan_sysctl {
    const char *path; /* /proc/sys/... */
    const char *value;
};

struct plan_rlimit {
    int resource;
    uint64_t soft, hard;
};

/* How the child learns that `start` happened. */
enum plan_wait {
    PLAN_WAIT_SYNC, /* a message on the sync socket (library callers, `run`) */
    PLAN_WAIT_FIFO, /* a byte on the exec fifo (`ocirun create` / `start`) */
};

struct oci_plan {
    int sync_fd; /* child's end of the SEQPACKET socketpair */

    /* namespaces */
    unsigned long clone_flags;     /* namespaces created by clone itself */
    int join_fds[OCI_NS_KIND_MAX]; /* -1 when not joined */
    bool new_userns;
    bool unshare_cgroupns; /* after the parent placed us in the cgroup */
    /* New namespaces made by unshare() after the setns() calls instead of by clone: when a
     * user namespace is joined, they must be owned by it (runc's order). */
    unsigned long unshare_after_join;
    bool unshare_pidns; /* unshared after clone, needs the extra fork */
    bool unshare_timens;
    bool need_fork;
    /* Wait for the cgroup attach before anything else (a cgroup namespace, or a fork whose
     * child must inherit the cgroup); otherwise the mounts overlap it. */
    bool early_cgroup_wait;
    /* The child moves itself into its v1 cgroups by writing "0" to each `tasks` file (the
     * v2 part, in hybrid mode, is done by CLONE_INTO_CGROUP). Moving `current` skips the
     * global threadgroup lock, whose RCU grace period the parent's cgroup.procs write pays. */
    bool child_joins_cgroup;
    char **cgroup_tasks;      /* NULL-terminated paths */
    const char *time_offsets; /* for /proc/self/timens_offsets, or NULL */
    bool new_keyring;

    /* rootfs and mounts */
    bool new_mountns;
    const char *rootfs;               /* absolute host path */
    unsigned long root_propagation;   /* for "/" before binding the rootfs */
    unsigned long rootfs_propagation; /* linux.rootfsPropagation, 0 = none */
    bool readonly_root;
    bool no_pivot;
    struct plan_mount *mounts;
    size_t n_mounts;
    bool setup_dev;    /* no bind mount on /dev: create default devices and links */
    bool bind_devices; /* in a user namespace mknod is refused: bind host nodes */
    struct plan_device *devices;
    size_t n_devices;
    char **masked_paths;
    char **readonly_paths;
    struct plan_sysctl *sysctls;
    size_t n_sysctls;
    const char *hostname, *domainname;

    /* process */
    bool has_process;
    char *const *argv;
    char *const *envp;
    const char *path_env; /* PATH used to find argv[0] */
    const char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t n_groups;
    bool set_groups;
    bool caps_present;
    uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
    int cap_last; /* from /proc/sys/kernel/cap_last_cap */
    struct plan_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    bool has_umask;
    mode_t umask;
    bool has_personality;
    unsigned long personality;
    bool has_ioprio;
    int ioprio; /* IOPRIO_PRIO_VALUE(class, data) */
    bool has_affinity_initial, has_affinity_final;
    cpu_set_t affinity_initial, affinity_final; /* execCPUAffinity */
    bool has_sched;
    uint32_t sched_attr[14]; /* struct sched_attr, filled by prepare */
    const struct oci_seccomp_program *seccomp;

    /* stdio and terminal */
    int stdio[3]; /* -1: keep the inherited fd */
    int preserve_fds;
    bool terminal;
    int console_fd; /* connected --console-socket, or -1: master goes to the parent */
    bool has_console_size;
    unsigned short console_rows, console_cols;

    /* hooks: sync_hooks asks the parent to run prestart/createRuntime before the pivot and
     * to hand over the state memfd the in-container hooks read */
    bool sync_hooks;
    const struct oci_hook *create_container_hooks, *start_container_hooks;
    size_t n_create_container_hooks, n_start_container_hooks;

    /* start */
    enum plan_wait wait;
    int fifo_fd; /* PLAN_WAIT_FIFO: the exec fifo, opened O_RDONLY|O_NONBLOCK */
};

/* ---- sync protocol between parent and child (SOCK_SEQPACKET, one struct per message) ---- */

enum sync_type {
    SYNC_USERNS = 1,   /* child -> parent: write my uid/gid maps */
    SYNC_USERNS_DONE,  /* parent -> child */
    SYNC_CGROUP_DONE,  /* parent -> child: placed in the cgroup, continue */
    SYNC_PID,          /* child -> parent: after the extra fork, `pid` is the container init */
    SYNC_CREATED,      /* child -> parent: set up, waiting for start (pty master attached) */
    SYNC_START,        /* parent -> child (PLAN_WAIT_SYNC) */
    SYNC_ERROR,        /* child -> parent: errno + message, the child exits */
    SYNC_HOOKS,        /* child -> parent: mounts done, run prestart/createRuntime hooks */
    SYNC_HOOKS_DONE,   /* parent -> child, with the hook state memfd attached */
    SYNC_SECCOMP,      /* child -> parent: the seccomp listener fd (SCMP_ACT_NOTIFY) attached */
    SYNC_SECCOMP_DONE, /* parent -> child: sent to linux.seccomp.listenerPath */
};

#define OCI_SYNC_MSG_MAX 512

struct sync_msg {
    int32_t type;
    int32_t err; /* positive errno for SYNC_ERROR */
    int32_t pid;
    char msg[OCI_SYNC_MSG_MAX];
};

/* ---- executor.c, shared with exec.c ---- */

/* A connected AF_UNIX stream socket (CLOEXEC) to --console-socket `path`, for the pty master. */
int oci_console_connect(const char *path, struct lcow_error **err);

/* ---- child.c ---- */

/* Runs in the cloned child; never returns (execs or _exits). */
__attribute__((noreturn)) void oci_child_main(const struct oci_plan *plan);

/* Resolves `path` inside the tree rooted at root_fd without leaving it (openat2
 * RESOLVE_IN_ROOT, or a component walk that re-roots absolute symlinks and clamps ".."), and
 * returns an O_PATH fd of the result. With `create` (S_IFDIR or S_IFREG) missing components
 * are made as directories and a missing last one as that type. No allocation: usable between
 * clone and exec. Returns the fd or -errno. */
int oci_resolve_in_root(int root_fd, const char *path, mode_t create, bool force_fallback);

/* ---- mount_ext.c: tmpcopyup (child side, no allocation) ---- */

/* Copies the tree below directory fd from_dir into to_dir (owners, modes, symlinks, nodes).
 * depth starts at 0. 0 or -errno. */
int oci_copy_tree(int from_dir, int to_dir, int depth);

/* ---- mount_ext.c: idmapped mounts (parent side) ---- */

/* A detached, idmapped copy of `source` (recursive for "ridmap"), with ro/nosuid/nodev/
 * noexec from ms_flags applied; the fd (CLOEXEC) is for move_mount() in the child. */
int oci_idmap_tree(const char *source, bool recursive, unsigned long ms_flags,
                   const struct oci_id_mapping *uids, size_t n_uids,
                   const struct oci_id_mapping *gids, size_t n_gids, struct lcow_error **err);

/* ---- hooks.c ---- */

/* The runtime-spec state object given to hooks on stdin (heap string, NULL on OOM). */
char *oci_hook_state_json(const struct oci_spec *spec, const char *id, const char *status,
                          pid_t pid, const char *bundle);
/* A CLOEXEC memfd holding `state`. */
int oci_hook_state_fd(const char *state, struct lcow_error **err);
/* Runs spec's hooks of `kind` in the caller's namespaces, in order; the first failure stops
 * them (-EIO exit/signal, -ETIMEDOUT, with a message naming kind, index and path). */
int oci_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state,
                  struct lcow_error **err);
/* Child side (no allocation): runs hooks with state_fd as stdin. 0, or -errno with
 * *ret_failed naming the hook. */
int oci_hooks_run_child(const struct oci_hook *hooks, size_t n, int state_fd,
                        const struct oci_hook **ret_failed);

/* ---- prepare.c ---- */

struct oci_create_opts;
struct oci_plan_storage;
struct oci_cgroup;
struct oci_cgroup_layout;

/* Builds *plan (and the storage behind it) from the options: everything but the sync, stdio,
 * console and fifo fds, which the caller fills. `rootfs` is the absolute, resolved rootfs;
 * `cg` (may be NULL) gives the sources of a "cgroup" mount. The join fds of path namespaces
 * are opened here and owned by the storage. */
int oci_plan_build(const struct oci_create_opts *opts, const char *rootfs,
                   const struct oci_cgroup_layout *layout, const struct oci_cgroup *cg,
                   struct oci_plan *plan, struct oci_plan_storage **ret_storage,
                   struct lcow_error **err);
void oci_plan_storage_free(struct oci_plan_storage *s);

/* Reads the user's home from the rootfs's /etc/passwd and, with member_groups, appends to
 * *groups the groups of /etc/group that list the user by name (no NSS). A numeric uid, as
 * config.json gives, gets no member groups in runc: create passes false; `exec --user NAME`
 * style callers pass true. *ret_home is heap or NULL. */
int oci_user_lookup(int rootfs_fd, uid_t uid, gid_t gid, bool member_groups, char **ret_home,
                    gid_t **groups, size_t *n_groups, struct lcow_error **err);
/* Resolves "name" or "id" against the rootfs's /etc/passwd (users) or /etc/group (groups).
 * -ENOENT with a message when there is no such entry. */
int oci_user_resolve_name(int rootfs_fd, bool group, const char *name, uint32_t *ret_id,
                          uint32_t *ret_gid, struct lcow_error **err);

#endif
