/* The named resource limits of gcs (issue 12, design.md §8), in one place: what the host may
 * ask for before gcs answers with an error instead of growing. Several live next to the code
 * that enforces them; this header names every one and adds the checks that had no home (and
 * the Create checks of ids and host paths made before anything is created).
 * tests/integration/hardening_limits.c tests each at the limit and one past it.
 *
 * Past a limit the request gets an error response (HRESULT below) and gcs keeps serving; only
 * a frame over the read cap drops the connection (a frame cannot be skipped without reading
 * it), after which gcs redials. */
#ifndef LCOW_GCS_LIMITS_H
#define LCOW_GCS_LIMITS_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>

#include "common/error.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "oci/spec.h"

/* Bridge message size: a frame read (header + body) larger than this drops the connection
 * (gcs/bridge.c); every message gcs writes is at most GCS_MAX_WRITE_MESSAGE (64 KiB). */
#define GCS_LIMIT_MESSAGE_BYTES GCS_MAX_READ_MESSAGE
/* Requests waiting for a worker thread (Create, ExecuteProcess, ModifySettings, GetProperties,
 * ...) on top of the -workers running ones: one more is answered E_FAIL at once, so a host
 * flooding blocking requests costs at most this many queued frames (gcs/worker.c). */
#define GCS_LIMIT_QUEUED_REQUESTS 256u
/* Containers in the table, created or running (gcs/container.c, CT_MAX): one more Create is
 * answered E_FAIL; a deleted one frees its slot. */
#define GCS_LIMIT_CONTAINERS 1024u
/* External (UVM) processes gcs tracks, running or exited and not yet waited (gcs/process.c,
 * PROC_MAX): one more ExecuteProcess is answered E_FAIL; the first wait frees the slot. */
#define GCS_LIMIT_UVM_PROCESSES 4096u
/* Processes exec'd into one container that gcs tracks (running, or exited and not yet waited):
 * one more is answered E_FAIL (gcs/container_exec.c). */
#define GCS_LIMIT_CONTAINER_PROCESSES 512u
/* Each process has at most three stdio connections (stdin, stdout, stderr). */
#define GCS_LIMIT_STDIO_PER_PROCESS 3u
/* Stdio connections gcs keeps open at once (gcs/stdio.c): those of container processes and of
 * console processes, held by their relays until the output is drained; a non-console UVM
 * process's are handed to it and held only while it starts. Each kept one costs a socket, a
 * pipe and a share of a relay thread, so an ExecuteProcess that would pass the limit is
 * answered E_FAIL before any stream is dialled. 4096 is 1365 processes with all three
 * streams, well beyond a UVM's containers (the Go GCS has no bound). -max-stdio-connections N
 * lowers it (a test hook: the bridge test reaches it with a few hundred processes). */
#define GCS_LIMIT_STDIO_CONNECTIONS 4096u
/* argv and environment of one process, in bytes as execve counts them (each string + its NUL):
 * well under Linux's limit (a quarter of the 8 MiB stack), so a request past these is refused
 * before anything is made, with E_FAIL and execve's "Argument list too long" as an exec failure
 * gets from the Go GCS. */
#define GCS_LIMIT_ARGV_BYTES (1u << 20)
#define GCS_LIMIT_ENV_BYTES  (1u << 20)
/* Mounts per container in the host's spec. The executor's parser refuses more than
 * OCI_MAX_MOUNTS (oci/spec.c); gcs adds a few of its own (/etc/hostname, hosts, resolv.conf,
 * sandbox and shm mounts), so the host gets the rest, checked before anything is made. */
#define GCS_LIMIT_GCS_ADDED_MOUNTS 16u
#define GCS_LIMIT_MOUNTS           (OCI_MAX_MOUNTS - GCS_LIMIT_GCS_ADDED_MOUNTS)

/* File descriptors: the UVM's init starts gcs with a soft RLIMIT_NOFILE of 1024 (hard 1 Mi),
 * fewer than the limits above need (a created container alone holds about seven: pidfd, sync
 * socket, stdio pipes, cgroup dirs). gcs raises its soft limit to the hard one at start, as Go's
 * runtime does for the Go GCS, and gives the processes it starts the limit it was started with
 * (external processes; containers whose spec sets no RLIMIT_NOFILE), as Go's os/exec does. */
static inline int gcs_limits_raise_nofile(struct rlimit *ret_orig)
{
    if (getrlimit(RLIMIT_NOFILE, ret_orig) < 0)
        return -errno;
    struct rlimit raised = {.rlim_cur = ret_orig->rlim_max, .rlim_max = ret_orig->rlim_max};
    return setrlimit(RLIMIT_NOFILE, &raised) < 0 ? -errno : 0;
}

/* A container id becomes a path component (bundle, cgroup /pods/<id>): at most NAME_MAX. */
#define GCS_LIMIT_ID_LEN 255u

/* Bytes of a NULL-terminated string vector as execve counts them. */
static inline size_t gcs_limits_strv_bytes(char *const *v)
{
    size_t n = 0;
    for (size_t i = 0; v && v[i]; i++)
        n += strlen(v[i]) + 1;
    return n;
}

/* The same for a JSON array of strings (non-strings count as their text: the decoder refuses
 * them later anyway). */
static inline size_t gcs_limits_json_strv_bytes(const struct json_object *a)
{
    size_t n = 0;
    if (!a || !json_object_is_type(a, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(a, i));
        n += (s ? strlen(s) : 0) + 1;
    }
    return n;
}

static inline int gcs_limits_check_sizes(size_t argv, size_t env, const char *what,
                                         struct lcow_error **err)
{
    if (argv > GCS_LIMIT_ARGV_BYTES)
        return lcow_error_make(err, E2BIG, "%s: argv is %zu bytes, more than the limit of %u: %s",
                               what, argv, GCS_LIMIT_ARGV_BYTES, strerror(E2BIG));
    if (env > GCS_LIMIT_ENV_BYTES)
        return lcow_error_make(err, E2BIG,
                               "%s: environment is %zu bytes, more than the limit of %u: %s", what,
                               env, GCS_LIMIT_ENV_BYTES, strerror(E2BIG));
    return 0;
}

/* An OCI `process` object (ExecuteProcess OciProcess, or a Create spec's process). */
static inline int gcs_limits_check_oci_process(const struct json_object *proc, const char *what,
                                               struct lcow_error **err)
{
    if (!proc || !json_object_is_type(proc, json_type_object))
        return 0;
    return gcs_limits_check_sizes(gcs_limits_json_strv_bytes(lcow_json_field(proc, "args")),
                                  gcs_limits_json_strv_bytes(lcow_json_field(proc, "env")), what,
                                  err);
}

/* Create: the spec's process and its mount count. */
static inline int gcs_limits_check_spec(const struct json_object *spec, struct lcow_error **err)
{
    struct json_object *mounts = lcow_json_field(spec, "mounts");
    if (mounts && json_object_is_type(mounts, json_type_array) &&
        json_object_array_length(mounts) > GCS_LIMIT_MOUNTS)
        return lcow_error_make(err, E2BIG, "mounts: %zu entries, more than the limit of %u: %s",
                               json_object_array_length(mounts), GCS_LIMIT_MOUNTS, strerror(E2BIG));
    return gcs_limits_check_oci_process(lcow_json_field(spec, "process"), "process", err);
}

/* A path from the host that gcs creates or removes: absolute, without a `..` component. */
static inline int gcs_limits_check_host_path(const char *path, const char *what,
                                             struct lcow_error **err)
{
    if (!path || !*path)
        return 0;
    if (path[0] != '/')
        return lcow_error_make(err, EINVAL, "%s `%s` is not absolute", what, path);
    for (const char *p = path; (p = strstr(p, "..")); p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return lcow_error_make(err, EINVAL, "%s `%s` has a `..` component", what, path);
    return 0;
}

/* Create, before anything is made: id length, OciBundlePath and ScratchDirPath, the spec. */
static inline int gcs_limits_check_create(const struct gcs_create_request *q,
                                          struct lcow_error **err)
{
    size_t n = strlen(q->base.container_id ? q->base.container_id : "");
    if (n > GCS_LIMIT_ID_LEN)
        return lcow_error_make(err, EINVAL, "container id is %zu characters, more than %u", n,
                               GCS_LIMIT_ID_LEN);
    int r = gcs_limits_check_host_path(q->config.oci_bundle_path, "OciBundlePath", err);
    if (r == 0)
        r = gcs_limits_check_host_path(q->config.scratch_dir_path, "ScratchDirPath", err);
    if (r == 0)
        r = gcs_limits_check_spec(q->config.oci_specification, err);
    return r;
}

/* ExecuteProcess: the UVM-process fields and the OciProcess. */
static inline int gcs_limits_check_exec(const struct gcs_process_parameters *pp,
                                        struct lcow_error **err)
{
    size_t argv = pp->command_args ? gcs_limits_strv_bytes(pp->command_args)
                                   : strlen(pp->command_line ? pp->command_line : "") + 1;
    int r = gcs_limits_check_sizes(argv, gcs_limits_strv_bytes(pp->environment),
                                   "ProcessParameters", err);
    if (r < 0)
        return r;
    return gcs_limits_check_oci_process(pp->oci_process, "OciProcess", err);
}

#endif
