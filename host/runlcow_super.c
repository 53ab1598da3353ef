/* The supervisor (runlcow.h, runlcow_pod.h): boots the UVM for its own container, builds and
 * attaches the layers, creates the container over the bridge, then serves the control socket
 * and relays stdio until the container's init exits; then releases everything in the Windows
 * host's order (lcow-host.md §3.1 steps 12-14) and exits with the init's exit code. Containers
 * placed into this UVM later (pods, runlcow_pod.c) are served by the same loop; the UVM stops
 * once none of its containers runs any more.
 *
 * One thread, one poll loop. Bridge calls the loop makes are synchronous (bounded); the
 * WaitForProcess requests stay outstanding and their answers, like the exit notifications,
 * are picked up by a non-blocking drain after every wake-up. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "host/layers.h"
#include "host/oci_image.h"
#include "host/p9_server.h"
#include "host/qmp.h"
#include "host/runlcow_pod.h"

#define STDIO_GRACE_NS 2000000000ull /* output still flowing after an exit */
#define DELETE_WAIT_NS 10000000000ull
#define NOTIFY_WAIT_MS 5000

/* ---- small helpers ---------------------------------------------------------------------- */

static void warn_err(struct lcow_error **e)
{
    if (*e)
        lcow_log(LCOW_LOG_WARNING, "release: %s", lcow_error_message(*e));
    lcow_error_release(e);
}

bool rl_bridge_up(const struct super *s)
{
    return s->uvm && !s->uvm_lost && !s->uvm->qemu_exited;
}

size_t rl_ctr_others(const struct super *s)
{
    size_t n = 0;
    for (const struct rl_ctr *c = s->ctrs; c; c = c->next)
        n += !c->own;
    return n;
}

struct rl_ctr *rl_ctr_find(struct super *s, const char *id)
{
    for (struct rl_ctr *c = s->ctrs; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

void rl_save_state(struct super *s, struct rl_ctr *c)
{
    cleanup_error struct lcow_error *err = NULL;
    /* Only the owner's state names the UVM's processes (delete kills leftovers by them). */
    if (c->own && s->uvm) {
        c->st.qemu_pid = s->uvm->qemu_pid;
        c->st.backend_pid = s->uvm->backend_pid;
    } else {
        c->st.qemu_pid = c->st.backend_pid = 0;
    }
    if (c->own)
        c->st.hosted = (unsigned)rl_ctr_others(s);
    if (rl_state_write(s->g, &c->st, &err) < 0)
        lcow_log(LCOW_LOG_WARNING, "write state: %s", lcow_error_message(err));
}

void rl_reply(int fd, const char *key, struct json_object *val)
{
    cleanup_json struct json_object *o = json_object_new_object();
    json_object_object_add(o, key, val);
    struct lcow_error *e = NULL;
    (void)rl_ctl_send(fd, o, NULL, 0, &e);
    lcow_error_release(&e);
}

void rl_reply_err(int fd, const struct lcow_error *e)
{
    rl_reply(fd, "error", json_object_new_string(lcow_error_message(e)));
}

static struct json_object *obj(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object))
        return v;
    return NULL;
}

static void unlink_port(struct super *s, uint32_t port)
{
    char path[128];
    if (s->base.kind == VSOCK_ADDR_UNIX && vsock_unix_path(&s->base, port, path, sizeof(path)) == 0)
        (void)unlink(path);
}

/* hcsshim's guest path for layer i: /run/layers/p<N> (VPMem) or /run/mounts/scsi/m<LUN>. */
static int combined_layers(struct super *s, struct rl_ctr *c, bool add, struct lcow_error **err)
{
    struct gcs_layer layers[RL_LAYERS_MAX] = {0};
    for (size_t i = 0; i < c->n_layers && i < RL_LAYERS_MAX; i++)
        layers[i].path = c->layers[i]->mount;
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_COMBINED_LAYERS,
                                   .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
                                   .request_type_name = add ? "Add" : "Remove"};
    q.settings.combined_layers = (struct gcs_combined_layers){
        .container_id = add ? c->id : NULL,
        .container_root_path = c->root_path,
        .layers = add ? layers : NULL,
        .n_layers = add ? c->n_layers : 0,
        .scratch_path = add ? c->scratch_path : NULL,
    };
    return rl_modify_retry(s, &q, add ? "CombinedLayers Add" : "CombinedLayers Remove",
                           "No such device", err);
}

/* VPMem when every image can be a virtio-pmem device (a multiple of 2 MiB: lcow-tar2ext4's
 * images are), hcsshim's first choice for read-only layers; SCSI otherwise. Only the
 * container that boots the UVM can have them (cold-plugged). */
static bool layers_fit_pmem(const struct rl_ctr *c)
{
    if (c->n_images > HOST_UVM_PMEM_MAX)
        return false;
    for (size_t i = 0; i < c->n_images; i++) {
        struct stat st;
        if (stat(c->images[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size % HOST_UVM_PMEM_ALIGN)
            return false;
    }
    return true;
}

/* ---- Plan9 binds ------------------------------------------------------------------------ */

/* The guest's spec, its host-path bind mounts numbered as shares and rewritten to UVM paths:
 * done before the boot, so a missing or unusable bind source fails with nothing started. */
static int guest_spec(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    int r = rl_guest_spec(c->spec, c->root_path, &c->guest_spec, err);
    if (r < 0)
        return r;
    if (!c->own && (r = rl_pod_workload_spec(s, c, err)) < 0)
        return r;
    return host_p9_spec_binds(c->guest_spec, c->id, &s->share_counter, &c->binds, err);
}

/* The binds become Plan9 shares: the host half (server, shares) first, then one
 * MappedDirectory Add each. */
static int share_binds(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    int r = 0;
    if (c->binds.n == 0)
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
    if ((r = host_p9_binds_share(s->p9, &c->binds, err)) < 0)
        return r;
    c->shared = true;
    for (size_t i = 0; i < c->binds.n; i++) {
        struct gcs_modify_request q;
        host_p9_bind_request(&c->binds.v[i], true, &q);
        if ((r = rl_modify(s, &q, "MappedDirectory Add", err)) < 0)
            return lcow_error_wrap(err, "bind mount %u (share %s)", c->binds.v[i].index,
                                   c->binds.v[i].share_name);
        c->n_mapped = i + 1;
    }
    return 0;
}

/* Guest half (MappedDirectory Remove, newest first) when the bridge is up, then the host half. */
static void unshare_binds(struct super *s, struct rl_ctr *c, bool guest)
{
    for (size_t i = c->n_mapped; guest && i-- > 0;) {
        struct lcow_error *e = NULL;
        struct gcs_modify_request q;
        host_p9_bind_request(&c->binds.v[i], false, &q);
        if (rl_modify(s, &q, "MappedDirectory Remove", &e) < 0)
            warn_err(&e);
    }
    c->n_mapped = 0;
    if (c->shared && s->p9)
        host_p9_binds_unshare(s->p9, &c->binds);
    c->shared = false;
    host_p9_binds_done(&c->binds);
}

static int create_container(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    struct gcs_create_request q = {
        .base = {.container_id = c->id, .activity_id = GCS_ZERO_GUID},
        .config = {.schema_version = {.major = 2, .minor = 1},
                   .oci_bundle_path = c->bundle_path,
                   .scratch_dir_path = c->scratch_path},
    };
    q.config.oci_specification = c->guest_spec;
    int r = share_binds(s, c, err);
    if (r < 0)
        return r;
    cleanup_free char *payload = NULL;
    r = gcs_encode_create_request(&q, &payload, err);
    if (r < 0)
        return r;
    struct host_message m = {0};
    r = host_bridge_call(s->uvm->bridge, GCS_MSG_CREATE, payload, RL_CALL_MS, &m, err);
    return r < 0 ? lcow_error_wrap(err, "Create") : rl_check(&m, "Create", err);
}

/* ---- set-up and release ------------------------------------------------------------------ */

static int uvm_config_start(struct super *s, struct lcow_error **err)
{
    struct host_uvm_config cfg = {
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
        cfg.pmem = (const char *const *)s->own->images;
    const char *net_args[5] = {NULL};
    if (rl2_net_qemu_args(&s->net, net_args, LCOW_ARRAY_SIZE(net_args)) > 0)
        cfg.extra_args = net_args;
    int r = host_uvm_start(&cfg, &s->uvm, err);
    if (r < 0)
        return lcow_error_wrap(err, "boot the UVM");
    return vsock_addr_parse(s->uvm->vsock_base, &s->base, err);
}

/* What is checked before anything boots or is attached: the network settings, the guest
 * spec and binds, the layer images, the scratch file. */
static int ctr_prepare(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    cleanup_free char *cache = NULL;
    if (asprintf(&cache, "%s/.layers", s->g->root) < 0 ||
        asprintf(&c->scratch, "%s/scratch.img", c->dir) < 0)
        return lcow_error_make(err, ENOMEM, "paths");
    if (c->own) {
        int r = rl2_net_from_spec(c->spec, &s->net, err);
        if (r < 0)
            return r;
    } else {
        struct rl2_net n = {0};
        int r = rl2_net_from_spec(c->spec, &n, err);
        bool asked = n.enabled;
        rl2_net_done(&n);
        if (r < 0)
            return r;
        if (asked)
            return lcow_error_make(err, EINVAL,
                                   "annotation %s: a container placed into another's UVM cannot "
                                   "add a network adapter (the UVM's adapters are set up when it "
                                   "boots)",
                                   RL2_NET_ANNOTATION);
    }
    int r = guest_spec(s, c, err);
    if (r < 0)
        return r;
    r = host_bundle_layers(c->st.bundle, c->st.rootfs, c->st.annotations, cache, &c->images, err);
    if (r < 0)
        return r;
    while (c->images[c->n_images])
        c->n_images++;
    if (c->n_images == 0 || c->n_images > RL_LAYERS_MAX)
        return lcow_error_make(err, E2BIG, "%zu layers (1 to %u)", c->n_images, RL_LAYERS_MAX);
    if (c->own)
        s->vpmem = layers_fit_pmem(c);
    if ((r = host_scratch_create(c->scratch, s->g->scratch_bytes, err)) < 0)
        return r;
    c->res |= R_SCRATCH_FILE;
    return rl_scratch_format(c->scratch, err);
}

int rl_ctr_setup(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    int r = 0;
    if (!c->own && (r = ctr_prepare(s, c, err)) < 0)
        return r;
    for (size_t i = 0; i < c->n_images; i++) {
        r = c->own && s->vpmem ? rl_disk_pmem(s, i, c->images[i], &c->layers[i], err)
                               : rl_disk_layer(s, c->images[i], &c->layers[i], err);
        if (r < 0)
            return r;
        c->n_layers = i + 1;
    }
    if ((r = rl_disk_scratch(s, c->scratch, c->bundle_path, &c->scratch_disk, err)) < 0)
        return r;
    if ((r = combined_layers(s, c, true, err)) < 0)
        return r;
    c->res |= R_COMBINED;
    c->t_layers = lcow_now_ns();
    if (c->own) {
        if ((r = rl2_net_modify(s->uvm->bridge, &s->net, true, err)) < 0)
            return r;
        s->net_added = s->net.enabled;
    }
    if ((r = create_container(s, c, err)) < 0)
        return r;
    c->res |= R_CREATED;
    c->t_created = lcow_now_ns();
    return 0;
}

/* The own container: everything checked, then the boot, then the rest as for any container. */
static int setup(struct super *s, struct lcow_error **err)
{
    int r = ctr_prepare(s, s->own, err);
    if (r < 0 || (r = uvm_config_start(s, err)) < 0)
        return r;
    rl_save_state(s, s->own);
    return rl_ctr_setup(s, s->own, err);
}

/* Takes notifications until the container's own arrives (others are recorded on the way). */
static void note_notification(struct super *s, struct host_message *m)
{
    struct gcs_container_notification n = {0};
    if (gcs_decode_container_notification(m->payload, m->len, &n, NULL) == 0 && n.container_id) {
        struct rl_ctr *c = rl_ctr_find(s, n.container_id);
        if (c)
            c->notified = true;
    }
    gcs_container_notification_done(&n);
    host_message_done(m);
}

static void wait_notified(struct super *s, struct rl_ctr *c, int ms)
{
    uint64_t deadline = lcow_now_ns() + (uint64_t)ms * 1000000u;
    while (!c->notified && rl_bridge_up(s)) {
        uint64_t now = lcow_now_ns();
        if (now >= deadline)
            break;
        struct lcow_error *e = NULL;
        struct host_message m = {0};
        if (host_bridge_next_notification(s->uvm->bridge, (int)((deadline - now) / 1000000u) + 1,
                                          &m, &e) < 0) {
            warn_err(&e);
            break;
        }
        note_notification(s, &m);
    }
}

/* The last container of the UVM takes its network adapter with it (§3.1 step 13: network
 * teardown first), guest half; QEMU's device goes with the VM. */
static void net_release(struct super *s)
{
    if (!s->net_added || !rl_bridge_up(s))
        return;
    struct lcow_error *e = NULL;
    if (rl2_net_modify(s->uvm->bridge, &s->net, false, &e) < 0)
        warn_err(&e);
    s->net_added = false;
}

/* Reverse order of acquisition; the guest half of each removal goes before the host half. */
void rl_ctr_release(struct super *s, struct rl_ctr *c)
{
    struct lcow_error *e = NULL;
    bool up = rl_bridge_up(s);
    if (up && c->res & R_CREATED && !c->notified) {
        /* Shutdown (§3.1 step 12) for a container whose init never ran or still runs. */
        struct host_message m = {0};
        if (host_bridge_simple(s->uvm->bridge, GCS_MSG_SHUTDOWN_FORCED, c->id, 30000, &m, &e) >= 0)
            host_message_done(&m);
        warn_err(&e);
        wait_notified(s, c, NOTIFY_WAIT_MS);
    }
    bool last = true;
    for (struct rl_ctr *o = s->ctrs; o; o = o->next)
        if (o != c && (!o->finished || o->deferred))
            last = false;
    if (last)
        net_release(s);
    if (up && c->res & R_COMBINED && combined_layers(s, c, false, &e) < 0)
        warn_err(&e);
    /* Before DeleteContainerState and the scratch: the shares are mounted under its
     * /run/gcs/c/<id>, which the GCS removes. */
    unshare_binds(s, c, up);
    if (up && c->res & R_CREATED) {
        /* As v2 does after CombinedLayers Remove: the GCS forgets the container and removes
         * its bundle and scratch directories before the scratch disk goes. */
        struct host_message m = {0};
        if (host_bridge_simple(s->uvm->bridge, GCS_MSG_DELETE_CONTAINER_STATE, c->id, 30000, &m,
                               &e) < 0 ||
            rl_check(&m, "DeleteContainerState", &e) < 0)
            warn_err(&e);
    }
    if (c->scratch_disk)
        rl_disk_put(s, c->scratch_disk);
    c->scratch_disk = NULL;
    for (size_t i = c->n_layers; i-- > 0;)
        rl_disk_put(s, c->layers[i]);
    c->n_layers = 0;
    if (c->res & R_SCRATCH_FILE)
        (void)unlink(c->scratch);
    c->res = 0;
}

/* The UVM itself, once no container needs it (§3.1 step 14). */
static void uvm_release(struct super *s)
{
    net_release(s);
    if (s->p9) {
        host_p9_server_free(s->p9);
        s->p9 = NULL;
        unlink_port(s, HOST_P9_DEFAULT_PORT);
    }
    if (s->uvm) {
        host_uvm_stop(s->uvm, 20000);
        s->own->st.qemu_pid = s->own->st.backend_pid = 0;
    }
    rl_disks_forget(s);
}

/* ---- containers ------------------------------------------------------------------------------ */

struct rl_ctr *rl_ctr_new(struct super *s, const char *id, const char *bundle,
                          struct json_object *spec, bool own)
{
    struct rl_ctr *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    *c = (struct rl_ctr){.s = s,
                         .own = own,
                         .seq = own ? 0 : ++s->next_seq,
                         .member = -1,
                         .stdio = {-1, -1, -1},
                         .delete_ctl = -1,
                         .exit_code = -1};
    c->spec = json_object_get(spec);
    c->id = strdup(id);
    c->bundle = strdup(bundle);
    c->dir = rl_dir(s->g, id);
    const char *root = "rootfs";
    struct json_object *r = obj(spec, "root");
    if (r)
        (void)lcow_json_get_string(r, "root", "path", &root, NULL);
    char *rootfs = NULL;
    if (root[0] == '/')
        rootfs = strdup(root);
    else if (asprintf(&rootfs, "%s/%s", bundle, root) < 0)
        rootfs = NULL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char created[64], date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(created, sizeof(created), "%s.%09ldZ", date, now.tv_nsec);
    struct json_object *ann = obj(spec, "annotations");
    c->st = (struct rl_state){.id = strdup(id),
                              .bundle = strdup(bundle),
                              .rootfs = rootfs,
                              .created = strdup(created),
                              .pid = getpid(),
                              .status = RL_CREATING,
                              .exit_code = -1,
                              .annotations = ann ? json_object_get(ann) : NULL};
    if (asprintf(&c->bundle_path, "/run/gcs/c/%s", id) < 0)
        c->bundle_path = NULL;
    if (asprintf(&c->root_path, "/run/gcs/c/%s/rootfs", id) < 0)
        c->root_path = NULL;
    if (asprintf(&c->scratch_path, "/run/gcs/c/%s/scratch/%s", id, id) < 0)
        c->scratch_path = NULL;
    if (!c->id || !c->bundle || !c->dir || !c->st.id || !c->st.bundle || !c->st.rootfs ||
        !c->st.created || !c->bundle_path || !c->root_path || !c->scratch_path) {
        rl_ctr_free(c);
        return NULL;
    }
    return c;
}

void rl_ctr_free(struct rl_ctr *c)
{
    if (!c)
        return;
    for (int i = 0; i < 3; i++)
        if (!c->own && c->stdio[i] >= 0)
            close(c->stdio[i]);
    if (c->member >= 0)
        close(c->member);
    if (c->delete_ctl >= 0)
        close(c->delete_ctl);
    rl_state_done(&c->st);
    lcow_strv_freep(&c->images);
    host_p9_binds_done(&c->binds);
    json_object_put(c->guest_spec);
    json_object_put(c->spec);
    free(c->scratch);
    free(c->bundle_path);
    free(c->root_path);
    free(c->scratch_path);
    free(c->id);
    free(c->bundle);
    free(c->dir);
    free(c);
}

/* ---- processes ----------------------------------------------------------------------------- */

static void proc_free(struct proc *p)
{
    for (int i = 0; i < 3; i++) {
        if (p->vs[i] >= 0)
            close(p->vs[i]);
        if (!p->keep_local && p->local[i] >= 0)
            close(p->local[i]);
    }
    if (p->ctl >= 0)
        close(p->ctl);
    free(p);
}

/* ExecuteProcess (no oci_process: the container's init from the Create spec), stdio accepted,
 * then the WaitForProcess that stays outstanding. */
static int exec_proc(struct super *s, struct rl_ctr *c, struct json_object *oci_process, bool tty,
                     struct proc *p, struct lcow_error **err)
{
    struct host_bridge *b = s->uvm->bridge;
    const bool want[3] = {true, true, !tty};
    uint32_t ports[3] = {0, 0, 0};
    int lfd[3] = {-1, -1, -1};
    int r = 0;
    p->c = c;
    for (int i = 0; i < 3 && r >= 0; i++)
        if (want[i])
            r = lfd[i] = host_bridge_stdio_listen(b, &ports[i], err);
    struct gcs_execute_process_request q = {
        .base = {.container_id = c->id, .activity_id = GCS_ZERO_GUID},
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
        r = host_bridge_call(b, GCS_MSG_EXECUTE_PROCESS, payload, RL_CALL_MS, &m, err);
    if (r >= 0) {
        struct gcs_execute_process_response resp = {0};
        r = gcs_decode_execute_process_response(m.payload, m.len, &resp, err);
        p->pid = resp.process_id;
        gcs_execute_process_response_done(&resp);
        if (r >= 0)
            r = rl_check(&m, "ExecuteProcess", err);
    }
    host_message_done(&m);
    for (int i = 0; i < 3; i++) {
        if (lfd[i] < 0)
            continue;
        if (r >= 0) {
            p->vs[i] = host_stdio_accept(lfd[i], RL_CALL_MS, err);
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
        .base = {.container_id = c->id, .activity_id = GCS_ZERO_GUID},
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
static void resize_from(struct super *s, struct rl_ctr *c, uint32_t pid, int tty_fd)
{
    struct winsize ws;
    if (!isatty(tty_fd) || ioctl(tty_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
        return;
    struct lcow_error *e = NULL;
    if (host_bridge_resize(s->uvm->bridge, c->id, pid, ws.ws_row, ws.ws_col, RL_CALL_MS, NULL, &e) <
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

int rl_ctr_start(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    struct host_message m = {0};
    int r = host_bridge_simple(s->uvm->bridge, GCS_MSG_START, c->id, RL_CALL_MS, &m, err);
    if (r < 0 || (r = rl_check(&m, "Start", err)) < 0)
        return r;
    struct proc *p = proc_new(c->stdio[0], c->stdio[1], c->stdio[2], -1, true);
    if (!p)
        return lcow_error_make(err, ENOMEM, "process");
    p->keep_local = c->own;
    bool tty = spec_terminal(obj(c->spec, "process"));
    r = exec_proc(s, c, NULL, tty, p, err);
    if (r < 0) {
        p->keep_local = true; /* still the container's: closed with it */
        proc_free(p);
        return lcow_error_wrap(err, "start the container's process");
    }
    c->stdio[0] = c->stdio[1] = c->stdio[2] = -1; /* the process has them now */
    if (c->own)
        c->stdio[0] = STDIN_FILENO, c->stdio[1] = STDOUT_FILENO, c->stdio[2] = STDERR_FILENO;
    p->next = s->procs;
    s->procs = c->init = p;
    c->t_started = lcow_now_ns();
    if (tty) {
        p->tty = true;
        /* A placed container's terminal is its member's stdin (passed to us). */
        resize_from(s, c, p->pid, c->own ? STDIN_FILENO : p->local[0]);
        if (c->own)
            local_raw(s);
    }
    c->st.status = RL_RUNNING;
    rl_save_state(s, c);
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
    if (!rl_bridge_up(s))
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
        note_notification(s, &m);
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

static void relay_out(struct proc *p, int i)
{
    char buf[16384];
    ssize_t n = read(p->vs[i], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        p->vs[i] = lcow_close_nointr(p->vs[i]);
        return;
    }
    if (p->is_init && !p->c->t_output)
        p->c->t_output = lcow_now_ns();
    if (p->local[i] >= 0 && lcow_write_all(p->local[i], buf, (size_t)n) < 0 && !p->keep_local)
        p->local[i] = lcow_close_nointr(p->local[i]);
}

static bool proc_done(const struct proc *p, uint64_t now)
{
    bool outputs_closed = p->vs[1] < 0 && p->vs[2] < 0;
    return p->exited && (outputs_closed || now - p->exit_ns > STDIO_GRACE_NS);
}

/* Finished execs answer their caller and go; an init stays for its code. With all: every
 * process of container c (it is finished); execs still waited for went with its pid
 * namespace (SIGKILL). */
static void reap_procs(struct super *s, struct rl_ctr *all)
{
    uint64_t now = lcow_now_ns();
    for (struct proc **pp = &s->procs; *pp;) {
        struct proc *p = *pp;
        bool go = all ? p->c == all : !p->is_init && proc_done(p, now);
        if (!go) {
            pp = &p->next;
            continue;
        }
        if (p->ctl >= 0 && !p->is_init)
            rl_reply(p->ctl, "exit", json_object_new_int(p->exited ? (int)(p->code & 0xFF) : 137));
        *pp = p->next;
        if (all && p == all->init)
            all->init = NULL;
        proc_free(p);
    }
}

static int signal_proc(struct super *s, struct rl_ctr *c, uint32_t pid, int sig,
                       struct lcow_error **err)
{
    int32_t result = 0;
    int r = host_bridge_signal(s->uvm->bridge, c->id, pid, sig, RL_CALL_MS, &result, err);
    if (r < 0 && (uint32_t)result == 0x80070490u) { /* already gone */
        lcow_error_release(err);
        return 0;
    }
    return r;
}

static void begin_stop(struct super *s, struct rl_ctr *c)
{
    if (c->stopping)
        return;
    c->stopping = true;
    c->stop_ns = lcow_now_ns();
    struct lcow_error *e = NULL;
    if (c->init && !c->init->exited && rl_bridge_up(s) &&
        signal_proc(s, c, c->init->pid, SIGKILL, &e) < 0)
        warn_err(&e);
    lcow_error_release(&e);
}

static bool running(const struct rl_ctr *c)
{
    return (c->st.status == RL_RUNNING || c->st.status == RL_PAUSED) && c->init && !c->init->exited;
}

static void ctl_start(struct super *s, struct rl_ctr *c, int fd)
{
    cleanup_error struct lcow_error *err = NULL;
    if (c->st.status != RL_CREATED) {
        lcow_error_make(&err, EINVAL, "cannot start a container in the %s state",
                        rl_status_name(c->st.status));
        rl_reply_err(fd, err);
    } else if (!rl_bridge_up(s)) {
        lcow_error_make(&err, EIO, "the UVM of %s is gone", c->id);
        rl_reply_err(fd, err);
    } else if (rl_ctr_start(s, c, &err) < 0) {
        rl_reply_err(fd, err);
    } else {
        rl_reply(fd, "ok", json_object_new_boolean(true));
    }
    close(fd);
}

static void ctl_resize(struct super *s, struct rl_ctr *c, int fd, struct json_object *req)
{
    cleanup_error struct lcow_error *err = NULL;
    if (!lcow_json_field(req, "height") && !lcow_json_field(req, "width")) {
        /* A member's SIGWINCH (runlcow_pod.c): the init's terminal size, read from it here. */
        if (c->init && c->init->tty && !c->init->exited && rl_bridge_up(s))
            resize_from(s, c, c->init->pid, c->init->local[0]);
        rl_reply(fd, "ok", json_object_new_boolean(true));
        close(fd);
        return;
    }
    uint32_t pid = 0, h = 0, w = 0;
    int r = lcow_json_get_uint32(req, "", "pid", &pid, &err);
    if (r >= 0)
        r = lcow_json_get_uint32(req, "", "height", &h, &err);
    if (r >= 0)
        r = lcow_json_get_uint32(req, "", "width", &w, &err);
    if (r >= 0 && (!h || !w || h > 65535 || w > 65535))
        r = lcow_error_make(&err, EINVAL, "invalid console size %ux%u", w, h);
    if (r >= 0 && !rl_bridge_up(s))
        r = lcow_error_make(&err, EINVAL, "container %s is not running", c->id);
    if (r >= 0)
        r = host_bridge_resize(s->uvm->bridge, c->id, pid, (uint16_t)h, (uint16_t)w, RL_CALL_MS,
                               NULL, &err);
    if (r < 0)
        rl_reply_err(fd, err);
    else
        rl_reply(fd, "ok", json_object_new_boolean(true));
    close(fd);
}

static void ctl_kill(struct super *s, struct rl_ctr *c, int fd, struct json_object *req)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t sig = SIGTERM;
    uint32_t pid = c->init ? c->init->pid : 0;
    int r = lcow_json_get_int32(req, "", "signal", &sig, &err);
    if (r >= 0)
        r = lcow_json_get_uint32(req, "", "pid", &pid, &err);
    if (r >= 0 && (!running(c) || !rl_bridge_up(s)))
        r = lcow_error_make(&err, EINVAL, "container %s is not running", c->id);
    if (r >= 0 && (sig <= 0 || sig > 64))
        r = lcow_error_make(&err, EINVAL, "invalid signal %d", sig);
    if (r >= 0)
        r = signal_proc(s, c, pid, sig, &err);
    if (r < 0)
        rl_reply_err(fd, err);
    else
        rl_reply(fd, "ok", json_object_new_boolean(true));
    close(fd);
}

static void ctl_exec(struct super *s, struct rl_ctr *c, int fd, struct json_object *req, int *fds,
                     size_t n_fds)
{
    cleanup_error struct lcow_error *err = NULL;
    struct json_object *process = lcow_json_field(req, "process");
    int r = 0;
    if (!running(c) || !rl_bridge_up(s))
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
        r = exec_proc(s, c, process, p->tty = spec_terminal(process), p, &err);
    if (r < 0) {
        rl_reply_err(fd, err);
        if (p) {
            proc_free(p); /* closes the caller's fds and the connection */
        } else {
            for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
            close(fd);
        }
        return;
    }
    rl_reply(fd, "pid", json_object_new_int((int)p->pid));
    p->next = s->procs;
    s->procs = p;
}

/* The verbs of part 2 (host/runlcow2.h: ps, pause, resume, update, events). */
static void ctl_part2(struct super *s, struct rl_ctr *c, int fd, const char *op,
                      struct json_object *req)
{
    cleanup_error struct lcow_error *err = NULL;
    struct rl2_target t = {.bridge = rl_bridge_up(s) ? s->uvm->bridge : NULL,
                           .qmp = s->uvm ? s->uvm->qmp : NULL,
                           .id = c->id,
                           .init_pid = c->init ? c->init->pid : 0,
                           .running = running(c),
                           .paused = &c->paused};
    cleanup_json struct json_object *rep = NULL;
    int r = rl2_ctl_op(&t, op, req, &rep, &err);
    if (r == -ENOENT && !err)
        lcow_error_make(&err, EINVAL, "unknown request `%s`", op);
    if (r < 0) {
        rl_reply_err(fd, err);
    } else {
        if (strcmp(op, "pause") == 0 || strcmp(op, "resume") == 0) {
            c->st.status = c->paused ? RL_PAUSED : RL_RUNNING;
            rl_save_state(s, c);
        }
        (void)rl_ctl_send(fd, rep, NULL, 0, NULL);
    }
    close(fd);
}

static void ctl_delete(struct super *s, struct rl_ctr *c, int fd)
{
    size_t others = c->own ? rl_ctr_others(s) : 0;
    if (others || c->delete_ctl >= 0 || c->finished) {
        cleanup_error struct lcow_error *err = NULL;
        if (others)
            lcow_error_make(&err, EBUSY,
                            "cannot delete container %s: its UVM holds %zu other container(s); "
                            "delete them first",
                            c->id, others);
        else
            lcow_error_make(&err, EALREADY, "container %s is already being deleted", c->id);
        rl_reply_err(fd, err);
        close(fd);
        return;
    }
    c->delete_ctl = fd; /* answered once everything is released */
    begin_stop(s, c);
}

static void handle_ctl(struct super *s)
{
    cleanup_json struct json_object *req = NULL;
    cleanup_error struct lcow_error *err = NULL;
    int fds[4] = {-1, -1, -1, -1};
    size_t n_fds = 4;
    int fd = rl_ctl_accept_request(s->ctl_listen, &req, fds, &n_fds);
    if (fd < 0)
        return;
    const char *op = "", *id = NULL;
    bool via = false;
    (void)lcow_json_get_string(req, "", "op", &op, NULL);
    (void)lcow_json_get_string(req, "", "container", &id, NULL);
    (void)lcow_json_get_bool(req, "", "via", &via, NULL);
    if (via && n_fds > 0) {
        /* Relayed by a member process: the last fd is its caller's connection (runlcow_pod.c). */
        close(fd);
        fd = fds[--n_fds];
    }
    if (strcmp(op, "add") == 0) {
        rl_pod_add(s, fd, req, fds, n_fds);
        return;
    }
    struct rl_ctr *c = id ? rl_ctr_find(s, id) : s->own;
    if (!c || (c->finished && !c->own)) {
        lcow_error_make(&err, ENOENT, "container %s is not in this UVM", id ? id : "");
        rl_reply_err(fd, err);
        c = NULL;
    }
    if (c && strcmp(op, "exec") == 0) {
        ctl_exec(s, c, fd, req, fds, n_fds);
        return;
    }
    for (size_t i = 0; i < n_fds; i++)
        close(fds[i]);
    if (!c)
        close(fd);
    else if (strcmp(op, "start") == 0)
        ctl_start(s, c, fd);
    else if (strcmp(op, "kill") == 0)
        ctl_kill(s, c, fd, req);
    else if (strcmp(op, "resize") == 0)
        ctl_resize(s, c, fd, req);
    else if (strcmp(op, "delete") == 0)
        ctl_delete(s, c, fd);
    else
        ctl_part2(s, c, fd, op, req);
}

static void handle_signal(struct super *s)
{
    struct signalfd_siginfo si;
    if (read(s->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    int sig = (int)si.ssi_signo;
    struct rl_ctr *c = s->own;
    if (sig == SIGWINCH) {
        if (c->init && c->init->tty && !c->init->exited && rl_bridge_up(s))
            resize_from(s, c, c->init->pid, STDIN_FILENO);
        return;
    }
    /* Signals go to the container's init, as runc forwards them; without one running, a
     * termination request stops the container. */
    if (c->init && !c->init->exited && rl_bridge_up(s)) {
        struct lcow_error *e = NULL;
        if (signal_proc(s, c, c->init->pid, sig, &e) < 0)
            warn_err(&e);
    } else if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !c->finished) {
        begin_stop(s, c);
    }
}

static size_t fill_pollfds(struct super *s, struct pollfd *pfd, size_t cap, size_t *n_uvm)
{
    size_t n = host_uvm_pollfds(s->uvm, pfd, cap);
    *n_uvm = n;
    int b = rl_bridge_up(s) ? host_bridge_fd(s->uvm->bridge) : -1;
    const int fixed[] = {b, s->ctl_listen, s->sigfd};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fixed) && n < cap; i++)
        if (fixed[i] >= 0)
            pfd[n++] = (struct pollfd){.fd = fixed[i], .events = POLLIN};
    for (struct rl_ctr *c = s->ctrs; c && n < cap; c = c->next)
        if (c->member >= 0)
            pfd[n++] = (struct pollfd){.fd = c->member, .events = POLLIN};
    for (struct proc *p = s->procs; p && n + 3 <= cap; p = p->next) {
        if (p->in_open && p->local[0] >= 0 && p->vs[0] >= 0)
            pfd[n++] = (struct pollfd){.fd = p->local[0], .events = POLLIN};
        for (int i = 1; i < 3; i++)
            if (p->vs[i] >= 0)
                pfd[n++] = (struct pollfd){.fd = p->vs[i], .events = POLLIN};
    }
    return n;
}

/* A member process says nothing after "add": anything readable is its end (EOF), and a
 * container whose member is gone is stopped (nothing would report its exit). */
static void member_gone(struct super *s, struct rl_ctr *c)
{
    lcow_log(LCOW_LOG_WARNING, "the member process of %s is gone: stopping it", c->id);
    c->member = lcow_close_nointr(c->member);
    begin_stop(s, c);
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
        for (struct rl_ctr *c = s->ctrs; c; c = c->next)
            if (c->member >= 0 && fd == c->member)
                member_gone(s, c);
        for (struct proc *p = s->procs; p; p = p->next) {
            if (p->in_open && fd == p->local[0])
                relay_in(p);
            for (int k = 1; k < 3; k++)
                if (fd == p->vs[k])
                    relay_out(p, k);
        }
    }
}

static bool ctr_done(const struct rl_ctr *c, uint64_t now)
{
    if (c->finished)
        return false;
    if (c->init && proc_done(c->init, now))
        return true;
    return c->stopping && (!c->init || now - c->stop_ns > DELETE_WAIT_NS);
}

/* A container whose init is done (or that was deleted): released now, its state stopped, its
 * waiters answered; another container's record goes, the own one stays for the exit code. */
static void finish_ctr(struct super *s, struct rl_ctr *c)
{
    c->t_exit = c->init && c->init->exited ? c->init->exit_ns : lcow_now_ns();
    int code = c->init && c->init->exited ? (int)(c->init->code & 0xFF) : 255;
    c->exit_code = c->init ? code : -1;
    /* A sandbox whose init exits before its workloads keeps its disks until they are gone:
     * the GCS binds their /etc/hostname, hosts and resolv.conf from its scratch. */
    c->deferred = c->own && rl_ctr_others(s) > 0;
    if (!c->deferred)
        rl_ctr_release(s, c);
    c->finished = true;
    reap_procs(s, c);
    c->st.status = RL_STOPPED;
    c->st.exit_code = c->exit_code;
    if (c->own) {
        /* Written (and a delete answered) once the UVM is stopped, unless it outlives its own
         * container for the others. */
        if (rl_ctr_others(s))
            rl_save_state(s, c);
        return;
    }
    rl_save_state(s, c); /* before the member exits: its `run` removes the directory */
    if (c->member >= 0) {
        rl_reply(c->member, "exit", json_object_new_int(code));
        c->member = lcow_close_nointr(c->member);
    }
    if (c->delete_ctl >= 0) {
        rl_reply(c->delete_ctl, "ok", json_object_new_boolean(true));
        c->delete_ctl = lcow_close_nointr(c->delete_ctl);
    }
    for (struct rl_ctr **pp = &s->ctrs; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    rl_ctr_free(c);
    if (!s->own->finished || rl_ctr_others(s))
        rl_save_state(s, s->own); /* its count of the others */
}

static bool loop_done(struct super *s)
{
    uint64_t now = lcow_now_ns();
    if (s->uvm_lost || s->uvm->qemu_exited)
        return true;
    for (struct rl_ctr *c = s->ctrs, *next; c; c = next) {
        next = c->next;
        if (ctr_done(c, now))
            finish_ctr(s, c);
    }
    return s->own->finished && !rl_ctr_others(s);
}

static void run_loop(struct super *s)
{
    for (;;) {
        drain_bridge(s);
        reap_procs(s, NULL);
        if (loop_done(s))
            break;
        struct pollfd pfd[128];
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
    if (s->uvm->qemu_exited && !s->uvm_lost) {
        lcow_log(LCOW_LOG_ERROR, "the UVM stopped: QEMU exited with status %d",
                 s->uvm->qemu_status);
        s->uvm_lost = true;
    }
    /* The UVM is gone: whatever still ran is finished with it (host halves released). */
    for (struct rl_ctr *c = s->ctrs, *next; c; c = next) {
        next = c->next;
        if (!c->finished)
            finish_ctr(s, c);
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
    const struct rl_ctr *c = s->own;
    uint64_t t0 = t->start;
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "{\"console_ms\":%.1f,\"init_ms\":%.1f,\"entropy_ms\":%.1f,\"log_ms\":%.1f,"
                     "\"bridge_ms\":%.1f,\"negotiated_ms\":%.1f,\"layers_ms\":%.1f,"
                     "\"created_ms\":%.1f,\"started_ms\":%.1f,\"output_ms\":%.1f,"
                     "\"exit_ms\":%.1f,\"stopped_ms\":%.1f,\"exit_code\":%d}\n",
                     ms(t->console, t0), ms(t->init, t0), ms(t->entropy, t0), ms(t->log, t0),
                     ms(t->bridge, t0), ms(t->negotiated, t0), ms(c->t_layers, t0),
                     ms(c->t_created, t0), ms(c->t_started, t0), ms(c->t_output, t0),
                     ms(c->t_exit, t0), ms(lcow_now_ns(), t0), code);
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
    *s = (struct super){.g = g, .a = a, .ctl_listen = -1, .sigfd = -1, .share_counter = 1};
    s->dir = rl_dir(g, a->id);
    s->own = rl_ctr_new(s, a->id, a->bundle, a->spec, true);
    if (!s->dir || !s->own)
        return -ENOMEM;
    s->ctrs = s->own;
    s->own->foreground = a->foreground;
    s->own->stdio[0] = STDIN_FILENO;
    s->own->stdio[1] = STDOUT_FILENO;
    s->own->stdio[2] = STDERR_FILENO;
    return 0;
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
    if (s->p9)
        host_p9_server_free(s->p9);
    if (s->ctl_listen >= 0) {
        close(s->ctl_listen);
        cleanup_free char *p = NULL;
        if (s->dir && asprintf(&p, "%s/c.sock", s->dir) >= 0)
            (void)unlink(p);
    }
    if (s->sigfd >= 0)
        close(s->sigfd);
    while (s->ctrs) {
        struct rl_ctr *c = s->ctrs;
        s->ctrs = c->next;
        rl_ctr_free(c);
    }
    rl_disks_forget(s);
    rl2_net_done(&s->net);
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
    if (a->host)
        return rl_member_main(g, a);
    struct super s;
    int ready = a->ready_fd;
    cleanup_error struct lcow_error *err = NULL;
    int r = super_init(&s, g, a);
    if (r < 0)
        lcow_error_make(&err, ENOMEM, "supervisor");
    if (r >= 0)
        r = setup_signals(&s, &err);
    if (r >= 0) {
        rl_save_state(&s, s.own);
        r = s.ctl_listen = rl_ctl_listen(s.dir, &err);
    }
    if (r >= 0)
        r = setup(&s, &err);
    if (r >= 0) {
        s.own->st.status = RL_CREATED;
        rl_save_state(&s, s.own);
        if (a->start)
            r = rl_ctr_start(&s, s.own, &err);
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
        if (s.own) {
            rl_ctr_release(&s, s.own);
            s.own->finished = true;
            uvm_release(&s);
        }
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
    int code = s.own->exit_code >= 0 ? s.own->exit_code : 255;
    if (s.uvm_lost && s.own->exit_code < 0)
        fprintf(stderr, "runlcow: the UVM of %s stopped before the container exited\n", a->id);
    struct host_uvm_times t = s.uvm->t;
    if (s.own->deferred) {
        rl_ctr_release(&s, s.own);
        s.own->deferred = false;
    }
    uvm_release(&s);
    rl_save_state(&s, s.own);
    write_timeline(&s, &t, code);
    if (s.own->delete_ctl >= 0) {
        rl_reply(s.own->delete_ctl, "ok", json_object_new_boolean(true));
        s.own->delete_ctl = lcow_close_nointr(s.own->delete_ctl);
    }
    if (a->foreground) {
        struct lcow_error *e = NULL;
        if (rl_dir_remove(g, a->id, &e) < 0)
            warn_err(&e);
    }
    super_done(&s);
    return code;
}
