/* The integration tests' gcs-over-unix harness: a temporary tree, a -cgroup-root name, a busybox
 * rootfs, gcs started as a child dialling a host_bridge this side listens on, and a teardown
 * that leaves no process, mount, cgroup or file behind. No cmocka here: benchmarks link it too.
 * Callers assert on the return values (0 or negative errno). */
#ifndef LCOW_TESTS_GCS_HARNESS_H
#define LCOW_TESTS_GCS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
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
};

/* Makes h->dir and fills in the paths; nothing else exists yet. */
int gh_init(struct gcs_harness *h, const char *name);
/* $LCOW_TOP/$BUILD/bin/NAME (defaults . and build) into buf. */
void gh_bin_path(char *buf, size_t cap, const char *name);
/* Forks argv (argv[0] the binary) with stdin/stdout from in/out when >= 0; the child dies with
 * this process (PDEATHSIG). The pid, or -errno when fork fails. */
pid_t gh_spawn(const char *const *argv, int in, int out);
/* Listens on h->addr, spawns argv as h->gcs, accepts its connection within timeout_ms and, when
 * negotiate, negotiates the protocol. */
int gh_start(struct gcs_harness *h, const char *const *argv, bool negotiate, int timeout_ms,
             struct lcow_error **err);
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

#endif
