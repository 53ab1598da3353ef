/* The per-container supervisor (runlcow.h): boots the UVM, builds and attaches the layers,
 * creates the container over the bridge, then serves the control socket and relays stdio
 * until the container's init exits; then releases everything in the Windows host's order
 * (lcow-host.md §3.1 steps 12-14) and exits with the init's exit code.
 *
 * One thread, one poll loop. Bridge calls the loop makes are synchronous (bounded); the
 * WaitForProcess requests stay outstanding and their answers, like the exit notification,
 * are picked up by a non-blocking drain after every wake-up. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "host/layers.h"
#include "host/oci_image.h"
#include "host/p9_binds.h"
#include "host/p9_server.h"
#include "host/qmp.h"
#include "host/runlcow.h"
#include "host/runlcow2.h"
#include "host/uvm.h"
#include "vsock/transport.h"

#define CALL_MS        60000 /* one bridge or QMP call (EnsureFilesystem formats under TCG) */
#define STDIO_GRACE_NS 2000000000ull /* output still flowing after an exit */
#define DELETE_WAIT_NS 10000000000ull
#define NOTIFY_WAIT_MS 5000
#define FS_WAIT_NS     15000000000ull
#define LAYER_LUN      0u
#define SCRATCH_LUN    1u
/* Layer i (top-most first) sits at LUN 0 for i = 0, else i + 1 (LUN 1 is the scratch), and is
 * mounted at /run/mounts/scsi/m<LUN>. */
#define LAYERS_MAX 62u
static unsigned layer_lun(size_t i)
{
    return i == 0 ? LAYER_LUN : (unsigned)i + 1;
}

enum {
    R_LAYER_PLUG = 1 << 0,
    R_LAYER_MOUNT = 1 << 1,
    R_SCRATCH_FILE = 1 << 2,
    R_SCRATCH_PLUG = 1 << 3,
    R_SCRATCH_MOUNT = 1 << 4,
    R_COMBINED = 1 << 5,
    R_CREATED = 1 << 6,
};

struct proc {
    struct proc *next;
    uint32_t pid; /* in the UVM */
    bool is_init;
    bool tty;
    int vs[3];    /* the GCS's stdio connections */
    int local[3]; /* host side: ours (init) or the exec caller's */
    bool in_open;
    bool waiting;
    uint64_t wait_id;
    bool exited;
    uint32_t code;
    uint64_t exit_ns;
    int ctl; /* control connection owed {"exit": code}, or -1 */
};

struct super {
    struct rl_globals *g;
    const struct rl_super_args *a;
    char *dir;
    struct rl_state st;
    struct host_uvm *uvm;
    struct vsock_addr base;
    char *image, *scratch;
    char **images; /* read-only layers, top-most first (image = images[0]) */
    size_t n_images, n_plugged, n_mounted;
    bool vpmem; /* layers cold-plugged as virtio-pmem (VPMemDevice), else SCSI */
    char *bundle_path, *root_path, *scratch_path;
    unsigned res;
    struct proc *procs, *init;
    int ctl_listen, sigfd;
    bool notified, uvm_lost, stopping;
    uint64_t stop_ns;
    int delete_ctl;
    bool paused; /* by runlcow2's pause (the container's cgroup frozen) */
    bool raw;    /* our terminal is in raw mode for a console init */
    struct termios saved;
    struct rl2_net net; /* runlcow2_net.c: user networking, when the bundle asks */
    /* Bind mounts of host paths (issue 13): a 9P server per UVM, started with the first one. */
    struct host_p9_server *p9;
    struct host_p9_binds binds;
    struct json_object *guest_spec; /* the Create spec, bind sources already rewritten */
    uint32_t share_counter;         /* hcsshim's per-UVM share counter */
    bool shared;                    /* binds added to the server */
    size_t n_mapped;                /* MappedDirectory Adds the GCS accepted */
    uint64_t t_layers, t_created, t_started, t_output, t_exit;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void save_state(struct super *s)
{
    cleanup_error struct lcow_error *err = NULL;
    if (s->uvm) {
        s->st.qemu_pid = s->uvm->qemu_pid;
        s->st.backend_pid = s->uvm->backend_pid;
    } else {
        s->st.qemu_pid = s->st.backend_pid = 0;
    }
    if (rl_state_write(s->g, &s->st, &err) < 0)
        lcow_log(LCOW_LOG_WARNING, "write state: %s", lcow_error_message(err));
}

static int check(struct host_message *m, const char *what, struct lcow_error **err)
{
    int32_t result = 0;
    cleanup_free char *msg = NULL;
    int r = host_message_result(m, &result, &msg, err);
    host_message_done(m);
    if (r < 0)
        return lcow_error_wrap(err, "%s", what);
    if (result != 0)
        return lcow_error_make(err, EREMOTEIO, "%s: the GCS answered 0x%08x: %s", what,
                               (unsigned)result, msg ? msg : "");
    return 0;
}

static int modify(struct super *s, struct gcs_modify_request *q, const char *what,
                  struct lcow_error **err)
{
    q->has_settings = true;
    int r = host_bridge_modify(s->uvm->bridge, NULL, q, CALL_MS, NULL, err);
    return r < 0 ? lcow_error_wrap(err, "%s", what) : 0;
}

static int scsi_disk(struct super *s, bool add, unsigned lun, const char *mount, bool ro,
                     bool ensure_fs, const char *what, struct lcow_error **err)
{
    char *ro_opts[] = {"ro", NULL};
    struct gcs_modify_request q = {
        .resource_type = GCS_RESOURCE_MAPPED_VIRTUAL_DISK,
        .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
        .request_type_name = add ? "Add" : "Remove",
    };
    q.settings.mapped_virtual_disk = (struct gcs_mapped_virtual_disk){
        .mount_path = (char *)mount,
        .lun = (uint8_t)lun,
        .read_only = ro,
        .options = add && ro ? ro_opts : NULL,
        .ensure_filesystem = add && ensure_fs,
        .filesystem = add && ensure_fs ? "ext4" : NULL,
    };
    /* init loads the file system modules while gcs already serves (initrd/init.c), so the
     * first mount right after boot can find ext4 not registered yet: retry that, bounded. */
    uint64_t deadline = lcow_now_ns() + FS_WAIT_NS;
    for (;;) {
        int r = modify(s, &q, what, err);
        if (r >= 0 || !add || lcow_now_ns() >= deadline ||
            !strstr(lcow_error_message(*err), "not supported"))
            return r;
        lcow_error_release(err);
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static int scsi_unplug_guest(struct super *s, unsigned lun, struct lcow_error **err)
{
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_SCSI_DEVICE,
                                   .request_type = GCS_REQUEST_REMOVE,
                                   .request_type_name = "Remove"};
    q.settings.scsi_device = (struct gcs_scsi_device){.controller = 0, .lun = (uint8_t)lun};
    return modify(s, &q, "SCSIDevice Remove", err);
}

/* hcsshim's guest paths: /run/layers/p<DeviceNumber> for VPMem, /run/mounts/scsi/m<n>. */
static char *layer_mount(const struct super *s, size_t i)
{
    char *p = NULL;
    int n = s->vpmem ? asprintf(&p, "/run/layers/p%zu", i)
                     : asprintf(&p, "/run/mounts/scsi/m%u", layer_lun(i));
    return n < 0 ? NULL : p;
}

/* VPMem when every image can be a virtio-pmem device (a multiple of 2 MiB: lcow-tar2ext4's
 * images are), hcsshim's first choice for read-only layers; SCSI otherwise. */
static bool layers_fit_pmem(const struct super *s)
{
    if (s->n_images > HOST_UVM_PMEM_MAX)
        return false;
    for (size_t i = 0; i < s->n_images; i++) {
        struct stat st;
        if (stat(s->images[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size % HOST_UVM_PMEM_ALIGN)
            return false;
    }
    return true;
}

static int vpmem_layer(struct super *s, bool add, size_t i, const char *mount,
                       struct lcow_error **err)
{
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_VPMEM_DEVICE,
                                   .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
                                   .request_type_name = add ? "Add" : "Remove"};
    q.settings.vpmem_device =
        (struct gcs_vpmem_device){.device_number = (uint32_t)i, .mount_path = (char *)mount};
    if (!add)
        return modify(s, &q, "layer VPMemDevice Remove", err);
    /* Under QEMU nd_pmem binds the namespaces after the GCS starts (a late module): until then
     * /dev/pmemN opens with ENXIO. Retried as the fs-module wait above. */
    uint64_t deadline = lcow_now_ns() + FS_WAIT_NS;
    for (;;) {
        struct lcow_error *e = NULL;
        int r = modify(s, &q, "layer VPMemDevice Add", &e);
        if (r >= 0)
            return r;
        if (lcow_now_ns() >= deadline || !strstr(lcow_error_message(e), "No such device")) {
            if (err && !*err)
                *err = e;
            else
                lcow_error_release(&e);
            return r;
        }
        lcow_error_release(&e);
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static int combined_layers(struct super *s, bool add, struct lcow_error **err)
{
    struct gcs_layer layers[LAYERS_MAX] = {0};
    char mounts[LAYERS_MAX][32];
    for (size_t i = 0; i < s->n_images && i < LAYERS_MAX; i++) {
        cleanup_free char *m = layer_mount(s, i);
        snprintf(mounts[i], sizeof(mounts[i]), "%s", m ? m : "");
        layers[i].path = mounts[i];
    }
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_COMBINED_LAYERS,
                                   .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
                                   .request_type_name = add ? "Add" : "Remove"};
    q.settings.combined_layers = (struct gcs_combined_layers){
        .container_id = add ? (char *)s->a->id : NULL,
        .container_root_path = s->root_path,
        .layers = add ? layers : NULL,
        .n_layers = add ? s->n_images : 0,
        .scratch_path = add ? s->scratch_path : NULL,
    };
    return modify(s, &q, add ? "CombinedLayers Add" : "CombinedLayers Remove", err);
}

/* QMP node/device names: l0 (the layer), s0 (scratch). */
static int plug(struct super *s, const char *name, const char *file, bool ro, unsigned lun,
                struct lcow_error **err)
{
    int r = host_qmp_blockdev_add(s->uvm->qmp, name, file, ro, CALL_MS, err);
    if (r >= 0) {
        r = host_qmp_scsi_add(s->uvm->qmp, name, name, "scsi0.0", lun, CALL_MS, err);
        if (r < 0) {
            struct lcow_error *e = NULL;
            (void)host_qmp_blockdev_del(s->uvm->qmp, name, CALL_MS, &e);
            lcow_error_release(&e);
        }
    }
    return r < 0 ? lcow_error_wrap(err, "hot-plug `%s` at LUN %u", file, lun) : 0;
}

static void unplug(struct super *s, const char *name)
{
    struct lcow_error *e = NULL;
    if (host_qmp_device_del(s->uvm->qmp, name, 10000, &e) < 0 ||
        host_qmp_blockdev_del(s->uvm->qmp, name, 10000, &e) < 0)
        lcow_log(LCOW_LOG_WARNING, "unplug %s: %s", name, lcow_error_message(e));
    lcow_error_release(&e);
}

static void unlink_port(struct super *s, uint32_t port);

/* The guest's spec, its host-path bind mounts numbered as shares and rewritten to UVM paths:
 * done before the boot, so a missing or unusable bind source fails with nothing started. */
static int guest_spec(struct super *s, struct lcow_error **err)
{
    int r = rl_guest_spec(s->a->spec, s->root_path, &s->guest_spec, err);
    if (r < 0)
        return r;
    s->share_counter = 1;
    return host_p9_spec_binds(s->guest_spec, s->a->id, &s->share_counter, &s->binds, err);
}

/* The binds become Plan9 shares: the host half (server, shares) first, then one
 * MappedDirectory Add each. */
static int share_binds(struct super *s, struct lcow_error **err)
{
    int r = 0;
    if (s->binds.n == 0)
        return 0;
    if (!s->p9) {
        struct host_p9_server *p9 = NULL;
        if ((r = host_p9_server_new(0, &p9, err)) < 0)
            return r;
        s->p9 = p9;
        if (s->base.kind == VSOCK_ADDR_UNIX)
            unlink_port(s, HOST_P9_DEFAULT_PORT); /* a stale socket from a killed run */
        if ((r = host_p9_server_listen(s->p9, &s->base, HOST_P9_DEFAULT_PORT, err)) < 0)
            return lcow_error_wrap(err, "the Plan9 server");
    }
    if ((r = host_p9_binds_share(s->p9, &s->binds, err)) < 0)
        return r;
    s->shared = true;
    for (size_t i = 0; i < s->binds.n; i++) {
        struct gcs_modify_request q;
        host_p9_bind_request(&s->binds.v[i], true, &q);
        if ((r = modify(s, &q, "MappedDirectory Add", err)) < 0)
            return lcow_error_wrap(err, "bind mount %u (share %s)", s->binds.v[i].index,
                                   s->binds.v[i].share_name);
        s->n_mapped = i + 1;
    }
    return 0;
}

/* Guest half (MappedDirectory Remove, newest first) when the bridge is up, then the host half;
 * the server and its socket go too. */
static void unshare_binds(struct super *s, bool guest)
{
    for (size_t i = s->n_mapped; guest && i-- > 0;) {
        struct lcow_error *e = NULL;
        struct gcs_modify_request q;
        host_p9_bind_request(&s->binds.v[i], false, &q);
        if (modify(s, &q, "MappedDirectory Remove", &e) < 0)
            lcow_log(LCOW_LOG_WARNING, "release: %s", lcow_error_message(e));
        lcow_error_release(&e);
    }
    s->n_mapped = 0;
    if (s->shared && s->p9)
        host_p9_binds_unshare(s->p9, &s->binds);
    s->shared = false;
    host_p9_binds_done(&s->binds);
    if (s->p9) {
        host_p9_server_free(s->p9);
        s->p9 = NULL;
        unlink_port(s, HOST_P9_DEFAULT_PORT);
    }
}

static int create_container(struct super *s, struct lcow_error **err)
{
    struct gcs_create_request q = {
        .base = {.container_id = (char *)s->a->id, .activity_id = GCS_ZERO_GUID},
        .config = {.schema_version = {.major = 2, .minor = 1},
                   .oci_bundle_path = s->bundle_path,
                   .scratch_dir_path = s->scratch_path},
    };
    q.config.oci_specification = s->guest_spec;
    int r = share_binds(s, err);
    if (r < 0)
        return r;
    cleanup_free char *payload = NULL;
    r = gcs_encode_create_request(&q, &payload, err);
    if (r < 0)
        return r;
    struct host_message m = {0};
    r = host_bridge_call(s->uvm->bridge, GCS_MSG_CREATE, payload, CALL_MS, &m, err);
    return r < 0 ? lcow_error_wrap(err, "Create") : check(&m, "Create", err);
}

static struct json_object *obj(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object))
        return v;
    return NULL;
}

/* ---- set-up and release ------------------------------------------------------------------ */

static int uvm_config_start(struct super *s, struct lcow_error **err)
{
    struct host_uvm_config c = {
        .dir = s->dir,
        .qemu = s->g->qemu,
        .kernel = s->g->kernel,
        .initrd = s->g->initrd,
        .backend = s->g->backend,
        .memory_mb = s->g->memory_mb,
        .cpus = s->g->cpus,
        .accel = s->g->accel,
        .vsock = s->g->vsock,
        .kernel_args = s->g->kernel_args,
        .gcs_log_level = s->g->debug ? "debug" : "info",
        .timeout_ms = s->g->boot_timeout_ms,
    };
    if (s->vpmem)
        c.pmem = (const char *const *)s->images;
    const char *net_args[5] = {NULL};
    if (rl2_net_qemu_args(&s->net, net_args, LCOW_ARRAY_SIZE(net_args)) > 0)
        c.extra_args = net_args;
    int r = host_uvm_start(&c, &s->uvm, err);
    if (r < 0)
        return lcow_error_wrap(err, "boot the UVM");
    s->st.qemu_pid = s->uvm->qemu_pid;
    return vsock_addr_parse(s->uvm->vsock_base, &s->base, err);
}

static int setup(struct super *s, struct lcow_error **err)
{
    cleanup_free char *cache = NULL;
    if (asprintf(&cache, "%s/.layers", s->g->root) < 0 ||
        asprintf(&s->scratch, "%s/scratch.img", s->dir) < 0)
        return lcow_error_make(err, ENOMEM, "paths");
    /* The network settings and images first: bad ones fail before anything boots. */
    int r = rl2_net_from_spec(s->a->spec, &s->net, err);
    if (r < 0 || (r = guest_spec(s, err)) < 0)
        return r;
    r = host_bundle_layers(s->st.bundle, s->st.rootfs, s->st.annotations, cache, &s->images, err);
    if (r < 0)
        return r;
    while (s->images[s->n_images])
        s->n_images++;
    if (s->n_images == 0 || s->n_images > LAYERS_MAX)
        return lcow_error_make(err, E2BIG, "%zu layers (1 to %u)", s->n_images, LAYERS_MAX);
    if (!(s->image = strdup(s->images[0])))
        return lcow_error_make(err, ENOMEM, "paths");
    s->vpmem = layers_fit_pmem(s);
    if ((r = host_scratch_create(s->scratch, s->g->scratch_bytes, err)) < 0)
        return r;
    s->res |= R_SCRATCH_FILE;
    if ((r = uvm_config_start(s, err)) < 0)
        return r;
    save_state(s);
    for (size_t i = 0; i < s->n_images; i++) {
        char node[32];
        snprintf(node, sizeof(node), "l%zu", i);
        cleanup_free char *mount = layer_mount(s, i);
        if (!mount)
            return lcow_error_make(err, ENOMEM, "paths");
        if (!s->vpmem && (r = plug(s, node, s->images[i], true, layer_lun(i), err)) < 0)
            return r;
        s->n_plugged = i + 1;
        s->res |= R_LAYER_PLUG;
        if (s->vpmem)
            r = vpmem_layer(s, true, i, mount, err);
        else
            r = scsi_disk(s, true, layer_lun(i), mount, true, false, "layer MappedVirtualDisk",
                          err);
        if (r < 0)
            return r;
        s->n_mounted = i + 1;
        s->res |= R_LAYER_MOUNT;
    }
    if ((r = plug(s, "s0", s->scratch, false, SCRATCH_LUN, err)) < 0)
        return r;
    s->res |= R_SCRATCH_PLUG;
    if ((r = scsi_disk(s, true, SCRATCH_LUN, s->bundle_path, false, true,
                       "scratch MappedVirtualDisk", err)) < 0)
        return r;
    s->res |= R_SCRATCH_MOUNT;
    if ((r = combined_layers(s, true, err)) < 0)
        return r;
    s->res |= R_COMBINED;
    s->t_layers = lcow_now_ns();
    if ((r = rl2_net_modify(s->uvm->bridge, &s->net, true, err)) < 0)
        return r;
    if ((r = create_container(s, err)) < 0)
        return r;
    s->res |= R_CREATED;
    s->t_created = lcow_now_ns();
    return 0;
}

static void warn_err(struct lcow_error **e)
{
    if (*e)
        lcow_log(LCOW_LOG_WARNING, "release: %s", lcow_error_message(*e));
    lcow_error_release(e);
}

static bool bridge_up(struct super *s)
{
    return s->uvm && !s->uvm_lost && !s->uvm->qemu_exited;
}

/* Reverse order of acquisition; the guest half of each removal goes before the host half. */
static void release(struct super *s)
{
    struct lcow_error *e = NULL;
    if (bridge_up(s)) {
        if (s->res & R_CREATED && !s->notified) {
            /* Shutdown (§3.1 step 12) for a container whose init never ran or still runs. */
            struct host_message m = {0};
            if (host_bridge_simple(s->uvm->bridge, GCS_MSG_SHUTDOWN_FORCED, s->a->id, 30000, &m,
                                   &e) >= 0)
                host_message_done(&m);
            warn_err(&e);
        }
        if (s->res & R_CREATED && !s->notified) {
            struct host_message m = {0};
            if (host_bridge_next_notification(s->uvm->bridge, NOTIFY_WAIT_MS, &m, &e) >= 0)
                host_message_done(&m);
            warn_err(&e);
        }
        if (s->res & R_COMBINED && combined_layers(s, false, &e) < 0)
            warn_err(&e);
        /* Before the scratch goes: the shares are mounted under its /run/gcs/c/<id>. */
        unshare_binds(s, true);
        /* No DeleteContainerState: hcsshim's v1 path never sends it, and the UVM goes next. */
        if (s->res & R_SCRATCH_MOUNT && scsi_disk(s, false, SCRATCH_LUN, s->bundle_path, false,
                                                  false, "scratch Remove", &e) < 0)
            warn_err(&e);
        if (s->res & R_SCRATCH_PLUG) {
            if (scsi_unplug_guest(s, SCRATCH_LUN, &e) < 0)
                warn_err(&e);
            unplug(s, "s0");
        }
        /* Guest half before host half, every layer (hcsshim's release order). */
        for (size_t i = s->n_plugged; i-- > 0;) {
            cleanup_free char *mount = layer_mount(s, i);
            char node[32];
            snprintf(node, sizeof(node), "l%zu", i);
            if (s->res & R_LAYER_MOUNT && i < s->n_mounted && mount &&
                (s->vpmem ? vpmem_layer(s, false, i, mount, &e)
                          : scsi_disk(s, false, layer_lun(i), mount, true, false, "layer Remove",
                                      &e)) < 0)
                warn_err(&e);
            /* Cold-plugged pmem devices go with the VM. */
            if (s->res & R_LAYER_PLUG && !s->vpmem) {
                if (scsi_unplug_guest(s, layer_lun(i), &e) < 0)
                    warn_err(&e);
                unplug(s, node);
            }
        }
        s->n_plugged = s->n_mounted = 0;
    }
    unshare_binds(s, false); /* host half when the UVM is lost (no-op when done above) */
    s->res &= R_SCRATCH_FILE;
    if (s->uvm) {
        host_uvm_stop(s->uvm, 20000);
        s->st.qemu_pid = s->st.backend_pid = 0;
    }
    if (s->res & R_SCRATCH_FILE)
        (void)unlink(s->scratch);
    s->res = 0;
}

/* ---- processes ----------------------------------------------------------------------------- */

static void proc_free(struct proc *p)
{
    for (int i = 0; i < 3; i++) {
        if (p->vs[i] >= 0)
            close(p->vs[i]);
        if (!p->is_init && p->local[i] >= 0)
            close(p->local[i]);
    }
    if (p->ctl >= 0)
        close(p->ctl);
    free(p);
}

static void unlink_port(struct super *s, uint32_t port)
{
    char path[128];
    if (s->base.kind == VSOCK_ADDR_UNIX && vsock_unix_path(&s->base, port, path, sizeof(path)) == 0)
        (void)unlink(path);
}

/* ExecuteProcess (no oci_process: the container's init from the Create spec), stdio accepted,
 * then the WaitForProcess that stays outstanding. */
static int exec_proc(struct super *s, struct json_object *oci_process, bool tty, struct proc *p,
                     struct lcow_error **err)
{
    struct host_bridge *b = s->uvm->bridge;
    const bool want[3] = {true, true, !tty};
    uint32_t ports[3] = {0, 0, 0};
    int lfd[3] = {-1, -1, -1};
    int r = 0;
    for (int i = 0; i < 3 && r >= 0; i++)
        if (want[i])
            r = lfd[i] = host_bridge_stdio_listen(b, &ports[i], err);
    struct gcs_execute_process_request q = {
        .base = {.container_id = (char *)s->a->id, .activity_id = GCS_ZERO_GUID},
        .params = {.command_line = "",
                   .working_directory = "",
                   .create_std_in_pipe = want[0],
                   .create_std_out_pipe = want[1],
                   .create_std_err_pipe = want[2],
                   .oci_process = oci_process},
        .relay = {.std_in = ports[0], .std_out = ports[1], .std_err = ports[2]},
    };
    cleanup_free char *payload = NULL;
    struct host_message m = {0};
    if (r >= 0)
        r = gcs_encode_execute_process_request(&q, &payload, err);
    if (r >= 0)
        r = host_bridge_call(b, GCS_MSG_EXECUTE_PROCESS, payload, CALL_MS, &m, err);
    if (r >= 0) {
        struct gcs_execute_process_response resp = {0};
        r = gcs_decode_execute_process_response(m.payload, m.len, &resp, err);
        p->pid = resp.process_id;
        gcs_execute_process_response_done(&resp);
        if (r >= 0)
            r = check(&m, "ExecuteProcess", err);
    }
    host_message_done(&m);
    for (int i = 0; i < 3; i++) {
        if (lfd[i] < 0)
            continue;
        if (r >= 0) {
            p->vs[i] = host_stdio_accept(lfd[i], CALL_MS, err);
            if (p->vs[i] < 0)
                r = p->vs[i];
        } else {
            close(lfd[i]);
        }
        unlink_port(s, ports[i]);
    }
    if (r < 0)
        return r;
    p->in_open = p->local[0] >= 0;
    if (!p->in_open)
        shutdown(p->vs[0], SHUT_WR);
    struct gcs_wait_for_process_request w = {
        .base = {.container_id = (char *)s->a->id, .activity_id = GCS_ZERO_GUID},
        .process_id = p->pid,
        .timeout_in_ms = GCS_INFINITE_TIMEOUT,
    };
    cleanup_free char *wp = NULL;
    r = gcs_encode_wait_for_process_request(&w, &wp, err);
    if (r >= 0)
        r = host_bridge_send(b, GCS_MSG_WAIT_FOR_PROCESS, wp, &p->wait_id, err);
    if (r >= 0)
        p->waiting = true;
    return r;
}

static struct proc *proc_new(int in, int out, int errfd, int ctl, bool is_init)
{
    struct proc *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    *p = (struct proc){
        .vs = {-1, -1, -1}, .local = {in, out, errfd}, .ctl = ctl, .is_init = is_init};
    return p;
}

static bool spec_terminal(struct json_object *process)
{
    struct json_object *v = NULL;
    return process && json_object_object_get_ex(process, "terminal", &v) &&
           json_object_get_boolean(v);
}

/* A console process gets our terminal's size now and on every SIGWINCH. */
static void resize_from(struct super *s, uint32_t pid, int tty_fd)
{
    struct winsize ws;
    if (!isatty(tty_fd) || ioctl(tty_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
        return;
    struct lcow_error *e = NULL;
    if (host_bridge_resize(s->uvm->bridge, s->a->id, pid, ws.ws_row, ws.ws_col, CALL_MS, NULL, &e) <
        0)
        lcow_log(LCOW_LOG_DEBUG, "resize: %s", lcow_error_message(e));
    lcow_error_release(&e);
}

/* With a console init in the foreground, the remote pty does the line discipline. */
static void local_raw(struct super *s)
{
    if (!s->a->foreground || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &s->saved) < 0)
        return;
    struct termios t = s->saved;
    cfmakeraw(&t);
    s->raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

static int start_init(struct super *s, struct lcow_error **err)
{
    struct host_message m = {0};
    int r = host_bridge_simple(s->uvm->bridge, GCS_MSG_START, s->a->id, CALL_MS, &m, err);
    if (r < 0 || (r = check(&m, "Start", err)) < 0)
        return r;
    struct proc *p = proc_new(STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, -1, true);
    if (!p)
        return lcow_error_make(err, ENOMEM, "process");
    r = exec_proc(s, NULL, spec_terminal(obj(s->a->spec, "process")), p, err);
    if (r < 0) {
        proc_free(p);
        return lcow_error_wrap(err, "start the container's process");
    }
    p->next = s->procs;
    s->procs = s->init = p;
    s->t_started = lcow_now_ns();
    if (spec_terminal(obj(s->a->spec, "process"))) {
        p->tty = true;
        resize_from(s, p->pid, STDIN_FILENO);
        local_raw(s);
    }
    s->st.status = RL_RUNNING;
    save_state(s);
    return 0;
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void finish_wait(struct proc *p, struct host_message *m)
{
    struct gcs_wait_for_process_response resp = {0};
    p->code = 255;
    if (gcs_decode_wait_for_process_response(m->payload, m->len, &resp, NULL) == 0)
        p->code = resp.exit_code;
    gcs_wait_for_process_response_done(&resp);
    host_message_done(m);
    p->waiting = false;
    p->exited = true;
    p->exit_ns = lcow_now_ns();
}

/* Picks up answered waits and notifications without blocking. */
static void drain_bridge(struct super *s)
{
    if (!bridge_up(s))
        return;
    struct host_bridge *b = s->uvm->bridge;
    struct lcow_error *e = NULL;
    for (struct proc *p = s->procs; p; p = p->next) {
        if (!p->waiting)
            continue;
        struct host_message m = {0};
        int r = host_bridge_recv(b, p->wait_id, 0, &m, &e);
        if (r == 0) {
            finish_wait(p, &m);
        } else if (r != -ETIMEDOUT) {
            lcow_log(LCOW_LOG_ERROR, "bridge: %s", lcow_error_message(e));
            s->uvm_lost = true;
        }
        lcow_error_release(&e);
    }
    for (;;) {
        struct host_message m = {0};
        int r = host_bridge_next_notification(b, 0, &m, &e);
        if (r < 0) {
            if (r != -ETIMEDOUT) {
                lcow_log(LCOW_LOG_ERROR, "bridge: %s", lcow_error_message(e));
                s->uvm_lost = true;
            }
            lcow_error_release(&e);
            break;
        }
        struct gcs_container_notification n = {0};
        if (gcs_decode_container_notification(m.payload, m.len, &n, NULL) == 0 && n.container_id &&
            strcmp(n.container_id, s->a->id) == 0)
            s->notified = true;
        gcs_container_notification_done(&n);
        host_message_done(&m);
    }
}

static void relay_in(struct proc *p)
{
    char buf[16384];
    ssize_t n = read(p->local[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0 || lcow_write_all(p->vs[0], buf, (size_t)n) < 0) {
        shutdown(p->vs[0], SHUT_WR); /* the half-close the GCS expects for stdin EOF */
        p->in_open = false;
    }
}

static void relay_out(struct super *s, struct proc *p, int i)
{
    char buf[16384];
    ssize_t n = read(p->vs[i], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        p->vs[i] = lcow_close_nointr(p->vs[i]);
        return;
    }
    if (p->is_init && !s->t_output)
        s->t_output = lcow_now_ns();
    if (p->local[i] >= 0 && lcow_write_all(p->local[i], buf, (size_t)n) < 0 && !p->is_init)
        p->local[i] = lcow_close_nointr(p->local[i]);
}

static bool proc_done(const struct proc *p, uint64_t now)
{
    bool outputs_closed = p->vs[1] < 0 && p->vs[2] < 0;
    return p->exited && (outputs_closed || now - p->exit_ns > STDIO_GRACE_NS);
}

static void reply(int fd, const char *key, struct json_object *val)
{
    cleanup_json struct json_object *o = json_object_new_object();
    json_object_object_add(o, key, val);
    struct lcow_error *e = NULL;
    (void)rl_ctl_send(fd, o, NULL, 0, &e);
    lcow_error_release(&e);
}

static void reply_err(int fd, struct lcow_error *e)
{
    reply(fd, "error", json_object_new_string(lcow_error_message(e)));
}

/* Finished execs answer their caller and go; the init stays for its code. */
static void reap_procs(struct super *s)
{
    uint64_t now = lcow_now_ns();
    for (struct proc **pp = &s->procs; *pp;) {
        struct proc *p = *pp;
        if (p->is_init || !proc_done(p, now)) {
            pp = &p->next;
            continue;
        }
        if (p->ctl >= 0)
            reply(p->ctl, "exit", json_object_new_int((int)(p->code & 0xFF)));
        *pp = p->next;
        proc_free(p);
    }
}

static int signal_proc(struct super *s, uint32_t pid, int sig, struct lcow_error **err)
{
    int32_t result = 0;
    int r = host_bridge_signal(s->uvm->bridge, s->a->id, pid, sig, CALL_MS, &result, err);
    if (r < 0 && (uint32_t)result == 0x80070490u) { /* already gone */
        lcow_error_release(err);
        return 0;
    }
    return r;
}

static void begin_stop(struct super *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_ns = lcow_now_ns();
    struct lcow_error *e = NULL;
    if (s->init && !s->init->exited && bridge_up(s) &&
        signal_proc(s, s->init->pid, SIGKILL, &e) < 0)
        warn_err(&e);
    lcow_error_release(&e);
}

static void ctl_start(struct super *s, int fd)
{
    cleanup_error struct lcow_error *err = NULL;
    if (s->st.status != RL_CREATED) {
        lcow_error_make(&err, EINVAL, "cannot start a container in the %s state",
                        rl_status_name(s->st.status));
        reply_err(fd, err);
    } else if (start_init(s, &err) < 0) {
        reply_err(fd, err);
    } else {
        reply(fd, "ok", json_object_new_boolean(true));
    }
    close(fd);
}

static void ctl_resize(struct super *s, int fd, struct json_object *req)
{
    cleanup_error struct lcow_error *err = NULL;
    uint32_t pid = 0, h = 0, w = 0;
    int r = lcow_json_get_uint32(req, "", "pid", &pid, &err);
    if (r >= 0)
        r = lcow_json_get_uint32(req, "", "height", &h, &err);
    if (r >= 0)
        r = lcow_json_get_uint32(req, "", "width", &w, &err);
    if (r >= 0 && (!h || !w || h > 65535 || w > 65535))
        r = lcow_error_make(&err, EINVAL, "invalid console size %ux%u", w, h);
    if (r >= 0 && !bridge_up(s))
        r = lcow_error_make(&err, EINVAL, "container %s is not running", s->a->id);
    if (r >= 0)
        r = host_bridge_resize(s->uvm->bridge, s->a->id, pid, (uint16_t)h, (uint16_t)w, CALL_MS,
                               NULL, &err);
    if (r < 0)
        reply_err(fd, err);
    else
        reply(fd, "ok", json_object_new_boolean(true));
    close(fd);
}

static void ctl_kill(struct super *s, int fd, struct json_object *req)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t sig = SIGTERM;
    uint32_t pid = s->init ? s->init->pid : 0;
    int r = lcow_json_get_int32(req, "", "signal", &sig, &err);
    if (r >= 0)
        r = lcow_json_get_uint32(req, "", "pid", &pid, &err);
    if (r >= 0 &&
        ((s->st.status != RL_RUNNING && s->st.status != RL_PAUSED) || !s->init || s->init->exited))
        r = lcow_error_make(&err, EINVAL, "container %s is not running", s->a->id);
    if (r >= 0 && (sig <= 0 || sig > 64))
        r = lcow_error_make(&err, EINVAL, "invalid signal %d", sig);
    if (r >= 0)
        r = signal_proc(s, pid, sig, &err);
    if (r < 0)
        reply_err(fd, err);
    else
        reply(fd, "ok", json_object_new_boolean(true));
    close(fd);
}

static void ctl_exec(struct super *s, int fd, struct json_object *req, int fds[3], size_t n_fds)
{
    cleanup_error struct lcow_error *err = NULL;
    struct json_object *process = lcow_json_field(req, "process");
    int r = 0;
    if ((s->st.status != RL_RUNNING && s->st.status != RL_PAUSED) || !s->init || s->init->exited)
        r = lcow_error_make(&err, EINVAL, "cannot exec in a container that is not running");
    else if (!process || !json_object_is_type(process, json_type_object) || n_fds != 3)
        r = lcow_error_make(&err, EINVAL, "malformed exec request");
    struct proc *p = NULL;
    if (r >= 0) {
        p = proc_new(fds[0], fds[1], fds[2], fd, false);
        if (!p)
            r = lcow_error_make(&err, ENOMEM, "process");
    }
    if (r >= 0)
        r = exec_proc(s, process, p->tty = spec_terminal(process), p, &err);
    if (r < 0) {
        reply_err(fd, err);
        if (p) {
            proc_free(p); /* closes the caller's fds and the connection */
        } else {
            for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
            close(fd);
        }
        return;
    }
    reply(fd, "pid", json_object_new_int((int)p->pid));
    p->next = s->procs;
    s->procs = p;
}

/* The verbs of part 2 (host/runlcow2.h: ps, pause, resume, update, events). */
static void ctl_part2(struct super *s, int fd, const char *op, struct json_object *req)
{
    cleanup_error struct lcow_error *err = NULL;
    struct rl2_target t = {.bridge = bridge_up(s) ? s->uvm->bridge : NULL,
                           .qmp = s->uvm ? s->uvm->qmp : NULL,
                           .id = s->a->id,
                           .init_pid = s->init ? s->init->pid : 0,
                           .running = s->st.status >= RL_RUNNING && s->st.status != RL_STOPPED &&
                                      s->init && !s->init->exited,
                           .paused = &s->paused};
    cleanup_json struct json_object *rep = NULL;
    int r = rl2_ctl_op(&t, op, req, &rep, &err);
    if (r == -ENOENT && !err)
        lcow_error_make(&err, EINVAL, "unknown request `%s`", op);
    if (r < 0) {
        reply_err(fd, err);
    } else {
        if (strcmp(op, "pause") == 0 || strcmp(op, "resume") == 0) {
            s->st.status = s->paused ? RL_PAUSED : RL_RUNNING;
            save_state(s);
        }
        (void)rl_ctl_send(fd, rep, NULL, 0, NULL);
    }
    close(fd);
}

static void handle_ctl(struct super *s)
{
    int fd = accept4(s->ctl_listen, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    cleanup_json struct json_object *req = NULL;
    cleanup_error struct lcow_error *err = NULL;
    int fds[3] = {-1, -1, -1};
    size_t n_fds = 3;
    if (rl_ctl_recv(fd, 5000, &req, fds, &n_fds, &err) < 0) {
        close(fd);
        return;
    }
    const char *op = "";
    (void)lcow_json_get_string(req, "", "op", &op, NULL);
    if (strcmp(op, "exec") == 0) {
        ctl_exec(s, fd, req, fds, n_fds);
        return;
    }
    for (size_t i = 0; i < n_fds; i++)
        close(fds[i]);
    if (strcmp(op, "start") == 0) {
        ctl_start(s, fd);
    } else if (strcmp(op, "kill") == 0) {
        ctl_kill(s, fd, req);
    } else if (strcmp(op, "resize") == 0) {
        ctl_resize(s, fd, req);
    } else if (strcmp(op, "delete") == 0 && s->delete_ctl < 0) {
        s->delete_ctl = fd; /* answered once everything is released */
        begin_stop(s);
    } else {
        ctl_part2(s, fd, op, req);
    }
}

static void handle_signal(struct super *s)
{
    struct signalfd_siginfo si;
    if (read(s->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    int sig = (int)si.ssi_signo;
    if (sig == SIGWINCH) {
        if (s->init && s->init->tty && !s->init->exited && bridge_up(s))
            resize_from(s, s->init->pid, STDIN_FILENO);
        return;
    }
    /* Signals go to the container's init, as runc forwards them; without one running, a
     * termination request stops the container. */
    if (s->init && !s->init->exited && bridge_up(s)) {
        struct lcow_error *e = NULL;
        if (signal_proc(s, s->init->pid, sig, &e) < 0)
            warn_err(&e);
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
        begin_stop(s);
    }
}

static size_t fill_pollfds(struct super *s, struct pollfd *pfd, size_t cap, size_t *n_uvm)
{
    size_t n = host_uvm_pollfds(s->uvm, pfd, cap);
    *n_uvm = n;
    int b = bridge_up(s) ? host_bridge_fd(s->uvm->bridge) : -1;
    const int fixed[] = {b, s->ctl_listen, s->sigfd};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fixed) && n < cap; i++)
        if (fixed[i] >= 0)
            pfd[n++] = (struct pollfd){.fd = fixed[i], .events = POLLIN};
    for (struct proc *p = s->procs; p && n + 3 <= cap; p = p->next) {
        if (p->in_open && p->local[0] >= 0 && p->vs[0] >= 0)
            pfd[n++] = (struct pollfd){.fd = p->local[0], .events = POLLIN};
        for (int i = 1; i < 3; i++)
            if (p->vs[i] >= 0)
                pfd[n++] = (struct pollfd){.fd = p->vs[i], .events = POLLIN};
    }
    return n;
}

static void dispatch(struct super *s, struct pollfd *pfd, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!pfd[i].revents)
            continue;
        int fd = pfd[i].fd;
        if (fd == s->ctl_listen) {
            handle_ctl(s);
            continue;
        }
        if (fd == s->sigfd) {
            handle_signal(s);
            continue;
        }
        for (struct proc *p = s->procs; p; p = p->next) {
            if (p->in_open && fd == p->local[0])
                relay_in(p);
            for (int k = 1; k < 3; k++)
                if (fd == p->vs[k])
                    relay_out(s, p, k);
        }
    }
}

static bool loop_done(struct super *s)
{
    uint64_t now = lcow_now_ns();
    if (s->uvm_lost || s->uvm->qemu_exited)
        return true;
    if (s->init && proc_done(s->init, now))
        return true;
    if (s->stopping && (!s->init || now - s->stop_ns > DELETE_WAIT_NS))
        return true;
    return false;
}

static void run_loop(struct super *s)
{
    for (;;) {
        drain_bridge(s);
        reap_procs(s);
        if (loop_done(s))
            break;
        struct pollfd pfd[64];
        size_t n_uvm = 0;
        size_t n = fill_pollfds(s, pfd, LCOW_ARRAY_SIZE(pfd), &n_uvm);
        int r = poll(pfd, n, 200);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        host_uvm_service(s->uvm, pfd, n_uvm);
        dispatch(s, pfd + n_uvm, n - n_uvm);
    }
    /* Execs still waited for went with the container's pid namespace (SIGKILL). */
    for (struct proc *p = s->procs; p; p = p->next) {
        if (p->is_init || p->ctl < 0)
            continue;
        reply(p->ctl, "exit", json_object_new_int(p->exited ? (int)(p->code & 0xFF) : 137));
        p->ctl = lcow_close_nointr(p->ctl);
    }
    if (s->uvm->qemu_exited && !s->uvm_lost) {
        lcow_log(LCOW_LOG_ERROR, "the UVM stopped: QEMU exited with status %d",
                 s->uvm->qemu_status);
        s->uvm_lost = true;
    }
}

/* ---- entry ---------------------------------------------------------------------------------- */

static double ms(uint64_t t, uint64_t t0)
{
    return t && t0 && t >= t0 ? (double)(t - t0) / 1e6 : -1;
}

static void write_timeline(struct super *s, const struct host_uvm_times *t, int code)
{
    if (!s->g->timeline)
        return;
    uint64_t t0 = t->start;
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "{\"console_ms\":%.1f,\"init_ms\":%.1f,\"entropy_ms\":%.1f,\"log_ms\":%.1f,"
                     "\"bridge_ms\":%.1f,\"negotiated_ms\":%.1f,\"layers_ms\":%.1f,"
                     "\"created_ms\":%.1f,\"started_ms\":%.1f,\"output_ms\":%.1f,"
                     "\"exit_ms\":%.1f,\"stopped_ms\":%.1f,\"exit_code\":%d}\n",
                     ms(t->console, t0), ms(t->init, t0), ms(t->entropy, t0), ms(t->log, t0),
                     ms(t->bridge, t0), ms(t->negotiated, t0), ms(s->t_layers, t0),
                     ms(s->t_created, t0), ms(s->t_started, t0), ms(s->t_output, t0),
                     ms(s->t_exit, t0), ms(lcow_now_ns(), t0), code);
    struct lcow_error *e = NULL;
    if (lcow_write_file_atomic(s->g->timeline, buf, (size_t)n, 0644, &e) < 0)
        warn_err(&e);
}

static void signal_ready(int *fd, const char *msg)
{
    if (*fd < 0)
        return;
    (void)lcow_write_all(*fd, msg, strlen(msg));
    *fd = lcow_close_nointr(*fd);
}

static int super_init(struct super *s, struct rl_globals *g, const struct rl_super_args *a)
{
    *s = (struct super){.g = g, .a = a, .ctl_listen = -1, .sigfd = -1, .delete_ctl = -1};
    s->dir = rl_dir(g, a->id);
    const char *root = "rootfs";
    struct json_object *r = obj(a->spec, "root");
    if (r)
        (void)lcow_json_get_string(r, "root", "path", &root, NULL);
    char *rootfs = NULL;
    if (root[0] == '/')
        rootfs = strdup(root);
    else if (asprintf(&rootfs, "%s/%s", a->bundle, root) < 0)
        rootfs = NULL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char created[64], date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(created, sizeof(created), "%s.%09ldZ", date, now.tv_nsec);
    struct json_object *ann = obj(a->spec, "annotations");
    s->st = (struct rl_state){.id = strdup(a->id),
                              .bundle = strdup(a->bundle),
                              .rootfs = rootfs,
                              .created = strdup(created),
                              .pid = getpid(),
                              .status = RL_CREATING,
                              .exit_code = -1,
                              .annotations = ann ? json_object_get(ann) : NULL};
    if (asprintf(&s->bundle_path, "/run/gcs/c/%s", a->id) < 0 ||
        asprintf(&s->root_path, "/run/gcs/c/%s/rootfs", a->id) < 0 ||
        asprintf(&s->scratch_path, "/run/gcs/c/%s/scratch/%s", a->id, a->id) < 0)
        return -ENOMEM;
    return s->dir && s->st.id && s->st.bundle && s->st.rootfs && s->st.created ? 0 : -ENOMEM;
}

static void super_done(struct super *s)
{
    if (s->raw)
        (void)tcsetattr(STDIN_FILENO, TCSANOW, &s->saved);
    while (s->procs) {
        struct proc *p = s->procs;
        s->procs = p->next;
        proc_free(p);
    }
    if (s->uvm)
        host_uvm_free(s->uvm);
    if (s->ctl_listen >= 0) {
        close(s->ctl_listen);
        cleanup_free char *p = NULL;
        if (asprintf(&p, "%s/c.sock", s->dir) >= 0)
            (void)unlink(p);
    }
    if (s->sigfd >= 0)
        close(s->sigfd);
    rl_state_done(&s->st);
    free(s->image);
    lcow_strv_freep(&s->images);
    rl2_net_done(&s->net);
    unshare_binds(s, false);
    json_object_put(s->guest_spec);
    free(s->scratch);
    free(s->bundle_path);
    free(s->root_path);
    free(s->scratch_path);
    free(s->dir);
}

static int setup_signals(struct super *s, struct lcow_error **err)
{
    sigset_t set;
    sigemptyset(&set);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return s->sigfd < 0 ? lcow_error_errno(err, "signalfd") : 0;
}

int rl_super_main(struct rl_globals *g, const struct rl_super_args *a)
{
    struct super s;
    int ready = a->ready_fd;
    cleanup_error struct lcow_error *err = NULL;
    int r = super_init(&s, g, a);
    if (r < 0)
        lcow_error_make(&err, ENOMEM, "supervisor");
    if (r >= 0)
        r = setup_signals(&s, &err);
    if (r >= 0) {
        save_state(&s);
        r = s.ctl_listen = rl_ctl_listen(s.dir, &err);
    }
    if (r >= 0)
        r = setup(&s, &err);
    if (r >= 0) {
        s.st.status = RL_CREATED;
        save_state(&s);
        if (a->start)
            r = start_init(&s, &err);
    }
    if (r >= 0 && a->pid_file)
        r = rl_write_pid_file(a->pid_file, getpid(), &err);
    if (r < 0) {
        /* Nothing half-created: release what was acquired and remove the state. */
        if (ready >= 0 || !rl_log_is_stderr())
            lcow_log(LCOW_LOG_ERROR, "%s", lcow_error_message(err));
        cleanup_free char *msg = NULL;
        if (asprintf(&msg, "%s", lcow_error_message(err)) < 0)
            msg = NULL;
        if (s.uvm || s.res)
            release(&s);
        struct lcow_error *e = NULL;
        (void)rl_dir_remove(g, a->id, &e);
        lcow_error_release(&e);
        if (ready >= 0)
            signal_ready(&ready, msg ? msg : "error");
        else
            fprintf(stderr, "runlcow: %s\n", msg ? msg : "error");
        super_done(&s);
        return 1;
    }
    signal_ready(&ready, "OK");
    run_loop(&s);
    s.t_exit = s.init && s.init->exited ? s.init->exit_ns : lcow_now_ns();
    int code = s.init && s.init->exited ? (int)(s.init->code & 0xFF) : 255;
    if (s.uvm_lost && !(s.init && s.init->exited))
        fprintf(stderr, "runlcow: the UVM of %s stopped before the container exited\n", a->id);
    struct host_uvm_times t = s.uvm->t;
    release(&s);
    s.st.status = RL_STOPPED;
    s.st.exit_code = s.init ? code : -1;
    save_state(&s);
    write_timeline(&s, &t, code);
    if (s.delete_ctl >= 0) {
        reply(s.delete_ctl, "ok", json_object_new_boolean(true));
        close(s.delete_ctl);
    }
    if (a->foreground) {
        struct lcow_error *e = NULL;
        if (rl_dir_remove(g, a->id, &e) < 0)
            warn_err(&e);
    }
    super_done(&s);
    return code;
}
