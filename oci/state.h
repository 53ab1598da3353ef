/* ocirun's state directory, runc's contract: <root>/<id>/ holds state.json (what later
 * commands need: pid and its start time, bundle, rootfs, cgroup, annotations) and, between
 * create and start, exec.fifo. The status is derived, never stored: "creating" while create
 * runs, "stopped" when the pid is gone, a zombie or reused (start time differs), "created"
 * while exec.fifo exists, "running" otherwise. gcs does not use this: it keeps containers in
 * memory. "paused" (runc's addition) is reported while the container's cgroup is frozen. */
#ifndef LCOW_OCI_STATE_H
#define LCOW_OCI_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

#define OCI_STATE_FILE "state.json"
#define OCI_EXEC_FIFO  "exec.fifo"

struct oci_state {
    char *id;
    char *oci_version;
    pid_t pid;
    uint64_t start_time;
    char *bundle;
    char *rootfs;
    char *created; /* RFC 3339 with nanoseconds, UTC */
    char *owner;
    char *cgroups_path; /* linux.cgroupsPath as given (NULL: none) */
    bool no_cgroup;
    bool creating;
    struct oci_kv *annotations;
    size_t n_annotations;
};

enum oci_status {
    OCI_STATUS_CREATING,
    OCI_STATUS_CREATED,
    OCI_STATUS_RUNNING,
    OCI_STATUS_STOPPED,
    OCI_STATUS_PAUSED, /* created or running, with its cgroup frozen (runc's extra status) */
};

/* runc's id rule: [A-Za-z0-9_+.-]+, not "." or "..". 0 or -EINVAL with a message. */
int oci_state_validate_id(const char *id, struct lcow_error **err);

/* <root>/<id> into buf. 0 or -ENAMETOOLONG. */
int oci_state_dir(const char *root, const char *id, char *buf, size_t cap);

int oci_state_write(const char *dir, const struct oci_state *s, struct lcow_error **err);
/* -ENOENT (with "container `id` does not exist") when there is no such container. */
int oci_state_read(const char *root, const char *id, struct oci_state *ret,
                   struct lcow_error **err);
void oci_state_done(struct oci_state *s);

enum oci_status oci_state_status(const char *dir, const struct oci_state *s);
const char *oci_status_name(enum oci_status st);

/* The runtime-spec state object (runc's `state` output and `list -f json` elements);
 * heap string. `indent` gives runc's two-space indented form. */
char *oci_state_to_json(const struct oci_state *s, enum oci_status st, bool indent);

/* Current time as RFC 3339 with trailing zeros of the fraction trimmed, as Go prints it. */
void oci_rfc3339_now(char *buf, size_t cap);

#endif
