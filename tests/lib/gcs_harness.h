/* The integration tests' gcs-over-unix harness: a temporary tree, a -cgroup-root name, a busybox
 * rootfs, gcs started as a child dialling a host_bridge this side listens on, and a teardown
 * that leaves no process, mount, cgroup or file behind. No cmocka here: benchmarks link it too.
 * Callers assert on the return values (0 or negative errno). */
#ifndef LCOW_TESTS_GCS_HARNESS_H
#define LCOW_TESTS_GCS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "host/bridge_client.h"

struct gcs_harness {
    char dir[64];     /* /tmp/NAME-XXXXXX */
    char addr[128];   /* unix:DIR/b */
    char log[128];    /* DIR/gcs.log */
    char rootfs[128]; /* DIR/rootfs (made by gh_make_rootfs) */
    char cgroot[64];  /* /NAME-PID-N: gcs's -cgroup-root */
    char devroot[96]; /* DIR/dev (made by gh_make_devroot) */
    pid_t gcs;        /* -1 when not running */
    struct host_bridge *b;
    unsigned long nofile; /* gh_start: gcs's soft RLIMIT_NOFILE when non-zero (GH_UVM_NOFILE) */
};

/* The soft RLIMIT_NOFILE the UVM's init gives gcs (initrd/init_system.c). */
#define GH_UVM_NOFILE 1024ul

/* Makes h->dir and fills in the paths; nothing else exists yet. */
int gh_init(struct gcs_harness *h, const char *name);
/* $LCOW_TOP/$BUILD/bin/NAME (defaults . and build) into buf. */
void gh_bin_path(char *buf, size_t cap, const char *name);
/* Forks argv (argv[0] the binary) with stdin/stdout from in/out when >= 0; the child dies with
 * this process (PDEATHSIG). The pid, or -errno when fork fails. */
pid_t gh_spawn(const char *const *argv, int in, int out);
/* Listens on h->addr, spawns argv as h->gcs (argv[0] looked up in PATH when it has no slash;
 * with h->nofile as its soft RLIMIT_NOFILE when set), accepts its connection within timeout_ms
 * and, when negotiate, negotiates the protocol. */
int gh_start(struct gcs_harness *h, const char *const *argv, bool negotiate, int timeout_ms,
             struct lcow_error **err);
/* The gcs to test: $LCOW_GCS, else bin/gcs of the build dir this test binary is in
 * ($BUILD/tests/NAME). */
void gh_gcs_bin(char *buf, size_t cap);
/* gh_start (negotiated) of `wrapper... gh_gcs_bin() <the test flags> extra...`: JSON debug log
 * to h->log, bridge h->addr, -cgroup-root h->cgroot, -dev-root h->devroot, no time sync.
 * wrapper and extra are NULL-terminated, or NULL. */
int gh_start_gcs(struct gcs_harness *h, const char *const *wrapper, const char *const *extra,
                 int timeout_ms, struct lcow_error **err);
/* Stops gcs with SIGTERM, SIGKILL after timeout_ms; its wait status, or -1 when it had to be
 * killed or was not running. */
int gh_terminate(struct gcs_harness *h, int timeout_ms);
/* A busybox-static rootfs at root (which must not exist): bin/busybox with links for applets
 * (NULL-terminated), etc/{passwd,group,hostname,hosts,resolv.conf}, empty proc, dev, tmp,
 * shared. */
int gh_make_rootfs(const char *root, const char *const *applets);
/* h->devroot with fakezero (1,5) and fakenull (1,3): a -dev-root for gcs. */
int gh_make_devroot(struct gcs_harness *h);
/* Kills gcs (SIGKILL) and reaps it, then closes the bridge. */
void gh_stop(struct gcs_harness *h);
/* gh_stop, then unmounts what is left under h->dir, removes h->cgroot in every hierarchy and
 * removes h->dir. */
void gh_teardown(struct gcs_harness *h);
/* The pieces of gh_teardown. */
void gh_unmount_under(const char *dir);
void gh_remove_cgroups(const char *cgroot);
void gh_remove_tree(const char *dir);
/* Reads fd to EOF (or until buf is full), NUL-terminates buf and closes fd: the byte count, or
 * -ETIMEDOUT when nothing arrived within timeout_ms. */
ssize_t gh_read_all(int fd, char *buf, size_t cap, int timeout_ms);

/* gcs's footprint (each -errno when it cannot be read): open fds, VmRSS in KiB, mount points
 * under dir (this process's view), cgroup dirs under h->cgroot in the memory hierarchy. */
int gh_gcs_fds(const struct gcs_harness *h);
long gh_gcs_rss_kib(const struct gcs_harness *h);
int gh_mounts_under(const char *dir);
int gh_cgroups_under(const struct gcs_harness *h);

/* ---- requests (json-c objects; "taken" arguments are owned by the result) ---------------- */
struct json_object;
#define GH_AID "11111111-2222-3333-4444-555555555555"
struct json_object *gh_strv(const char *const *v);
/* An OCI process running args as root in / with env (NULL: PATH=/bin). */
struct json_object *gh_oci_process(const char *const *args, const char *const *env, bool tty);
/* A spec of h->rootfs (read-only) with pid/mount/ipc/uts namespaces, /proc, /tmp tmpfs and
 * /dev/pts. */
struct json_object *gh_base_spec(const struct gcs_harness *h, const char *const *args, bool tty);
void gh_add_mount(struct json_object *spec, const char *dst, const char *type, const char *src,
                  const char *const *options);
/* DIR/c/CID: the OciBundlePath gh_create_payload gives cid. */
void gh_bundle_of(const struct gcs_harness *h, const char *cid, char *buf, size_t cap);
/* A schema 2.1 Create request of cid with spec (taken), ActivityId GH_AID; NULL on ENOMEM. */
char *gh_create_payload(const struct gcs_harness *h, const char *cid, struct json_object *spec);
/* The same with another OciBundlePath. */
char *gh_create_payload_at(const char *cid, const char *bundle, struct json_object *spec);
/* Sends a request and waits for its response: 0 with *ret_hr its Result, and when non-NULL
 * *ret_payload the payload and *ret_error the ErrorMessage ("" when none), both malloc'd; or
 * -errno when the bridge failed. */
int gh_call(struct gcs_harness *h, uint32_t type, const char *payload, int timeout_ms,
            int32_t *ret_hr, char **ret_payload, char **ret_error, struct lcow_error **err);
/* ExecuteProcess in container cid (the init when proc is NULL, else an exec of proc, taken),
 * with the stdio streams asked for; on success (*ret_hr 0) *ret has the pid and the accepted
 * sockets. */
int gh_execute(struct gcs_harness *h, const char *cid, struct json_object *proc, const bool std[3],
               int timeout_ms, struct host_process *ret, int32_t *ret_hr, char **ret_error,
               struct lcow_error **err);

#endif
