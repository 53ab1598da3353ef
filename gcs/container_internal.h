/* Shared by gcs/container*.c only: the container table, processes and relays. */
#ifndef LCOW_GCS_CONTAINER_INTERNAL_H
#define LCOW_GCS_CONTAINER_INTERNAL_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "gcs/container.h"
#include "gcs/limits.h"
#include "gcs/stdio.h"

struct oci_container;
struct oci_spec;
struct oci_cgroup;
struct oci_cgroup_layout;

#define CT_MAX         GCS_LIMIT_CONTAINERS /* containers (gcs/limits.h, style.md C10) */
#define CT_WAITERS_MAX 256                  /* outstanding WaitForProcess per process */

enum ct_status { CT_CREATING, CT_CREATED, CT_RUNNING, CT_TERMINATED };
enum ct_kind { CT_STANDALONE, CT_SANDBOX, CT_WORKLOAD };

struct ct_waiter {
    struct ct_waiter *next;
    struct gcs_req *req;
    uint64_t deadline_ns; /* 0: infinite */
};

struct ct_proc {
    struct ct_proc *next;
    struct ct_container *c;
    pid_t pid;
    bool is_init;
    bool exited;
    uint32_t exit_code;
    bool relays_done;  /* stdout/stderr drained (or none) */
    bool cleanup_done; /* init: what is left in the cgroup was killed */
    bool answered;     /* a waiter received the exit code */
    bool tty;
    int master;     /* pty master while its relay runs (resize), else -1 */
    int hold[3];    /* init before its Execute: gcs's ends of the stdio pipes (or master in [1]) */
    int stdin_shut; /* a dup of the stdin socket: shut down (SHUT_RD) once the exit is ready,
                     * so the stdin copier stops (§1.6); -1 when none */
    struct ct_waiter *waiters;
};

struct ct_container {
    struct ct_container *next;
    char *id;
    char *activity_id; /* of the Create request, for the notification */
    enum ct_status status;
    enum ct_kind kind;
    char *sandbox_id;
    char *bundle;       /* OciBundlePath */
    char *root;         /* sandbox root (hostname, hosts, resolv.conf, sandboxMounts, ...) */
    char *rootfs;       /* absolute rootfs path */
    char *scratch_dir;  /* ScratchDirPath (removed at delete when gcs made it) */
    char *netns_id;     /* lower-cased Windows.Network.NetworkNamespace ("" none) */
    char *cgroups_path; /* as written into config.json */
    char *tee_log;      /* tee-log-path: init stdout/stderr also appended here */
    bool owns_pidns;
    bool made_bundle, made_root, made_pod_cgroup;
    bool root_mounts; /* sandboxMounts/sandboxTmpfsMounts/hugepages mounted by gcs */
    bool init_started;
    bool has_user_name; /* the spec named a user: execs inherit uid/gid */
    uint32_t uid, gid;
    struct json_object *rlimits; /* the spec's process.rlimits (execs get them), or NULL */
    struct oci_spec *spec;
    struct oci_container *oc;
    pthread_mutex_t oc_lock; /* one executor call at a time on oc */
    struct oci_cgroup *cg;   /* the container's cgroup (stats, update, exec placement) */
    struct ct_proc *init;
    struct ct_proc *execs;
    const char *exit_type; /* GCS_NOTIFY_*: set by the last SIGTERM/SIGKILL to init */
    bool notified;
    unsigned busy;   /* workers using c without the lock (exec, properties, delete waits) */
    unsigned relays; /* relay threads still pointing at c: the last one frees a deleted c */
    bool deleted;    /* unlinked by DeleteContainerState, kept only for its relays */
};

/* The one lock and the table (container.c). */
extern pthread_mutex_t ct_lock;
/* Held while gcs has child-side stdio/sync fds open (create, exec spawn): a container init
 * cloned meanwhile would inherit them until its exec (it waits for start in between), and
 * then a pipe never reaches EOF and the executor's start never sees its exec. */
extern pthread_mutex_t ct_spawn_lock;
/* Caller holds ct_lock. */
struct ct_container *ct_find(const char *id);
struct ct_proc *ct_find_proc(struct ct_container *c, pid_t pid);
/* Looks up id (not found: GCS_ERR_SYSTEM_NOT_FOUND; creating: E_FAIL) and marks it busy. */
int ct_get_busy(const char *id, struct ct_container **ret, struct lcow_error **err);
void ct_put_busy(struct ct_container *c);
/* The cgroup layout detected once. */
const struct oci_cgroup_layout *ct_layout(struct lcow_error **err);
/* Frees a container (no lock needed: it is unlinked and nobody else points at it). */
void ct_container_free(struct ct_container *c);
/* Publishes a process's exit when it is ready (caller holds ct_lock). */
void ct_try_publish(struct gcs *g, struct ct_proc *p);
/* Registers p for its exit and for the table (caller holds ct_lock for the table part). */
void ct_watch(struct gcs *g, pid_t pid);
/* Wakes the helper thread (deadlines, init cleanup). */
void ct_kick(void);
struct gcs *ct_gcs(void);

/* container_spec.c: spec preparation for each kind, sandbox root files and mounts. */
int ct_prepare_spec(struct gcs *g, struct ct_container *c, struct json_object *spec,
                    struct lcow_error **err);
/* Undoes what ct_prepare_spec made for c (mounts, dirs, files, pod cgroup). */
int ct_unprepare(struct gcs *g, struct ct_container *c, struct lcow_error **err);
/* user[:group] against the rootfs's /etc/passwd and /etc/group. */
int ct_resolve_user(const char *rootfs, const char *spec, uint32_t *ret_uid, uint32_t *ret_gid,
                    struct lcow_error **err);
/* Lexical join of base and rel that must stay under base (no symlinks followed). */
int ct_join_inside(const char *base, const char *rel, char **ret, struct lcow_error **err);

/* container_exec.c */
/* A stdio pipe (CLOEXEC) with a larger buffer: fewer wake-ups per MiB relayed. */
int ct_stdio_pipe(int fds[2]);
/* Starts the relay thread of p for the host's sockets s and gcs's ends (in: stdin write end,
 * out/err: read ends; or a pty master). Takes every fd (also on failure). */
int ct_relay_start(struct gcs *g, struct ct_proc *p, struct gcs_stdio *s, int in, int out, int err_,
                   int master, const char *tee_log);

#endif
