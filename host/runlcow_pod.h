/* runlcow's supervisor internals, shared by runlcow_super.c (the poll loop, processes, the
 * control requests, one container's set-up and release) and runlcow_pod.c (the UVM's disks
 * shared by its containers, placing a workload into another container's UVM, the workload's
 * own small supervisor). Not an API: both files are one program.
 *
 * A UVM is owned by the supervisor of the container that booted it (its "own" container: a
 * pod sandbox or a standalone container). Containers placed into that UVM later (runhcs's
 * `--host`, or the CRI annotations) are more `struct rl_ctr`s in the same supervisor, which
 * alone talks to the bridge and QMP (the bridge client is single-threaded); each of them also
 * has a small member process of its own (the pid runc's contract exposes), which hands the
 * owner its stdio and relays its control socket to the owner's. */
#ifndef LCOW_HOST_RUNLCOW_POD_H
#define LCOW_HOST_RUNLCOW_POD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "host/p9_binds.h"
#include "host/runlcow.h"
#include "host/runlcow2.h"
#include "host/uvm.h"
#include "vsock/transport.h"

#define RL_CALL_MS    60000 /* one bridge or QMP call (EnsureFilesystem formats under TCG) */
#define RL_LAYERS_MAX 62u
#define RL_LUNS       128u /* SCSI LUNs on controller 0 handed out by the owner */

/* CRI annotations (gcs-protocol.md §4.1). */
#define RL_CRI_TYPE    "io.kubernetes.cri.container-type"
#define RL_CRI_SANDBOX "io.kubernetes.cri.sandbox-id"

/* A disk in the UVM: a read-only layer (shared by every container using the same image file,
 * refcounted, as hcsshim's attach manager does) or one container's scratch. */
struct rl_disk {
    struct rl_disk *next;
    bool pmem; /* cold-plugged virtio-pmem, index = DeviceNumber; else SCSI, index = LUN */
    bool ro;
    unsigned index;
    char *host_path;
    char *mount; /* guest mount path */
    unsigned refs;
    bool plugged, mounted; /* host half (QMP), guest half (ModifySettings) */
};

struct rl_ctr;

struct proc {
    struct proc *next;
    struct rl_ctr *c;
    uint32_t pid; /* in the UVM */
    bool is_init;
    bool keep_local; /* local[] are this process's own stdio: never closed */
    bool tty;
    int vs[3];    /* the GCS's stdio connections */
    int local[3]; /* host side: ours (own init), the member's (workload init), an exec caller's */
    bool in_open;
    bool waiting;
    uint64_t wait_id;
    bool exited;
    uint32_t code;
    uint64_t exit_ns;
    int ctl; /* control connection owed {"exit": code}, or -1 */
};

enum {
    R_SCRATCH_FILE = 1 << 0,
    R_COMBINED = 1 << 1,
    R_CREATED = 1 << 2,
};

/* One container in the UVM. */
struct rl_ctr {
    struct rl_ctr *next;
    struct super *s;
    char *id, *dir, *bundle;
    struct json_object *spec; /* config.json (a reference) */
    bool own;                 /* the container whose supervisor owns the UVM */
    bool foreground;          /* own: `run` without -d */
    unsigned seq;             /* 0 for the own container, then 1, 2, ... */
    int member;               /* workload: its member process's connection, or -1 */
    int stdio[3];             /* the init's stdio until it starts (workload: the member's) */
    struct rl_state st;
    char *scratch; /* host scratch file in the container's state directory */
    char **images; /* read-only layers, top-most first */
    size_t n_images, n_layers;
    struct rl_disk *layers[RL_LAYERS_MAX];
    struct rl_disk *scratch_disk;
    char *bundle_path, *root_path, *scratch_path;
    unsigned res;
    struct proc *init;
    bool notified, stopping, finished;
    bool deferred; /* own, finished while others ran: released with the UVM (their /etc files
                      and namespaces live on its scratch and init) */
    uint64_t stop_ns;
    int delete_ctl;
    bool paused; /* by runlcow2's pause (the container's cgroup frozen) */
    struct host_p9_binds binds;
    struct json_object *guest_spec; /* the Create spec, bind sources already rewritten */
    bool shared;                    /* binds added to the server */
    size_t n_mapped;                /* MappedDirectory Adds the GCS accepted */
    int exit_code;
    uint64_t t_layers, t_created, t_started, t_output, t_exit;
};

struct super {
    struct rl_globals *g;
    const struct rl_super_args *a;
    char *dir; /* the own container's state directory: the UVM's sockets and logs */
    struct host_uvm *uvm;
    struct vsock_addr base;
    struct rl_ctr *ctrs, *own;
    unsigned next_seq;
    struct rl_disk *disks;
    bool lun_used[RL_LUNS];
    bool vpmem; /* the own container's layers are cold-plugged virtio-pmem */
    struct proc *procs;
    int ctl_listen, sigfd;
    bool uvm_lost;
    bool raw; /* our terminal is in raw mode for a console init */
    struct termios saved;
    struct rl2_net net; /* the own container's user networking (runlcow2_net.c) */
    bool net_added;
    struct host_p9_server *p9; /* one Plan9 server per UVM, started with the first bind */
    uint32_t share_counter;    /* hcsshim's per-UVM share counter */
};

/* ---- runlcow_super.c ------------------------------------------------------------------------ */

bool rl_bridge_up(const struct super *s);
/* The container's set-up in the running UVM: layers, scratch, CombinedLayers, binds, Create.
 * On failure the caller releases it (rl_ctr_release). */
int rl_ctr_setup(struct super *s, struct rl_ctr *c, struct lcow_error **err);
void rl_ctr_release(struct super *s, struct rl_ctr *c);
int rl_ctr_start(struct super *s, struct rl_ctr *c, struct lcow_error **err);
/* A new container record (state "creating", spec referenced); NULL on ENOMEM. */
struct rl_ctr *rl_ctr_new(struct super *s, const char *id, const char *bundle,
                          struct json_object *spec, bool own);
void rl_ctr_free(struct rl_ctr *c);
struct rl_ctr *rl_ctr_find(struct super *s, const char *id);
size_t rl_ctr_others(const struct super *s);
void rl_save_state(struct super *s, struct rl_ctr *c);
void rl_reply(int fd, const char *key, struct json_object *val);
void rl_reply_err(int fd, const struct lcow_error *e);

/* ---- runlcow_pod.c: bridge and disk helpers ------------------------------------------------- */

/* The Result of a response (m is consumed). */
int rl_check(struct host_message *m, const char *what, struct lcow_error **err);
int rl_modify(struct super *s, struct gcs_modify_request *q, const char *what,
              struct lcow_error **err);
/* rl_modify, an Add retried (bounded, 15 s) while the GCS's error contains `transient`: a
 * module the guest's init loads after gcs starts (ext4, overlay, nd_pmem). */
int rl_modify_retry(struct super *s, struct gcs_modify_request *q, const char *what,
                    const char *transient, struct lcow_error **err);
/* A read-only layer image: the disk already in the UVM for that file (another reference), else
 * hot-plugged at the first free LUN and mounted at /run/mounts/scsi/m<LUN>. */
int rl_disk_layer(struct super *s, const char *path, struct rl_disk **ret, struct lcow_error **err);
/* The own container's layer i as virtio-pmem device i (cold-plugged at boot). */
int rl_disk_pmem(struct super *s, size_t i, const char *path, struct rl_disk **ret,
                 struct lcow_error **err);
/* A container's scratch: hot-plugged read-write, formatted if blank and mounted at mount. */
int rl_disk_scratch(struct super *s, const char *path, const char *mount, struct rl_disk **ret,
                    struct lcow_error **err);
/* Formats a new scratch file as ext4 on the host (mke2fs, a few ms), so the guest's
 * EnsureFilesystem finds ext4 and skips its detection retry and mkfs (about a second of TCG). */
int rl_scratch_format(const char *path, struct lcow_error **err);
/* Drops a reference; the last one removes the guest half, then the host half (§3.1 step 13). */
void rl_disk_put(struct super *s, struct rl_disk *d);
/* Every disk's host bookkeeping after the UVM is gone. */
void rl_disks_forget(struct super *s);

/* ---- runlcow_pod.c: pods -------------------------------------------------------------------- */

/* The owner's side of a member's {"op":"add"}: the workload is set up in this UVM (and started
 * for `run`); the connection stays open for its {"exit": code}. Takes fd and fds. */
void rl_pod_add(struct super *s, int fd, struct json_object *req, int *fds, size_t n_fds);
/* A CRI workload's Create spec: the namespaces it shares with its sandbox (network, ipc, uts,
 * and pid when the spec names a path) point at the sandbox init's, its hostname goes. */
int rl_pod_workload_spec(struct super *s, struct rl_ctr *c, struct lcow_error **err);

#endif
