/* Pods in runlcow (issue 11; runlcow_pod.h has the model): the disks of a UVM shared by its
 * containers, the owner's side of placing a container into its UVM, the CRI workload's spec,
 * and the two client-side pieces: where a new container goes (rl_pod_place) and the member
 * process of a container placed into another's UVM (rl_member_main). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "host/qmp.h"
#include "host/spawn.h"
#include "host/runlcow_pod.h"

#define FS_WAIT_NS  15000000000ull
#define ADD_WAIT_MS 600000 /* a workload's set-up: layers, scratch format, Create under TCG */
#define UNPLUG_MS   10000

/* ---- bridge helpers ------------------------------------------------------------------------ */

int rl_check(struct host_message *m, const char *what, struct lcow_error **err)
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

int rl_modify(struct super *s, struct gcs_modify_request *q, const char *what,
              struct lcow_error **err)
{
    q->has_settings = true;
    int r = host_bridge_modify(s->uvm->bridge, NULL, q, RL_CALL_MS, NULL, err);
    return r < 0 ? lcow_error_wrap(err, "%s", what) : 0;
}

static void nap_100ms(void)
{
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL);
}

/* init loads the file system modules while gcs already serves (initrd/init.c), so the first
 * mount right after boot can find ext4 not registered yet: an Add is retried on that, bounded.
 * Likewise nd_pmem binds /dev/pmemN late (ENXIO, "No such device"), and overlay may not be
 * registered yet for CombinedLayers (ENODEV). */
int rl_modify_retry(struct super *s, struct gcs_modify_request *q, const char *what,
                    const char *transient, struct lcow_error **err)
{
    uint64_t deadline = lcow_now_ns() + FS_WAIT_NS;
    for (;;) {
        struct lcow_error *e = NULL;
        int r = rl_modify(s, q, what, &e);
        if (r >= 0)
            return r;
        if (q->request_type != GCS_REQUEST_ADD || lcow_now_ns() >= deadline ||
            !strstr(lcow_error_message(e), transient)) {
            if (err && !*err)
                *err = e;
            else
                lcow_error_release(&e);
            return r;
        }
        lcow_error_release(&e);
        nap_100ms();
    }
}

static int scsi_disk(struct super *s, const struct rl_disk *d, bool add, bool ensure_fs,
                     struct lcow_error **err)
{
    char *ro_opts[] = {"ro", NULL};
    struct gcs_modify_request q = {
        .resource_type = GCS_RESOURCE_MAPPED_VIRTUAL_DISK,
        .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
        .request_type_name = add ? "Add" : "Remove",
    };
    q.settings.mapped_virtual_disk = (struct gcs_mapped_virtual_disk){
        .mount_path = d->mount,
        .lun = (uint8_t)d->index,
        .read_only = d->ro,
        .options = add && d->ro ? ro_opts : NULL,
        .ensure_filesystem = add && ensure_fs,
        .filesystem = add && ensure_fs ? "ext4" : NULL,
    };
    const char *what = d->ro ? (add ? "layer MappedVirtualDisk" : "layer Remove")
                             : (add ? "scratch MappedVirtualDisk" : "scratch Remove");
    return rl_modify_retry(s, &q, what, "not supported", err);
}

static int scsi_unplug_guest(struct super *s, unsigned lun, struct lcow_error **err)
{
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_SCSI_DEVICE,
                                   .request_type = GCS_REQUEST_REMOVE,
                                   .request_type_name = "Remove"};
    q.settings.scsi_device = (struct gcs_scsi_device){.controller = 0, .lun = (uint8_t)lun};
    return rl_modify(s, &q, "SCSIDevice Remove", err);
}

static int vpmem(struct super *s, const struct rl_disk *d, bool add, struct lcow_error **err)
{
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_VPMEM_DEVICE,
                                   .request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE,
                                   .request_type_name = add ? "Add" : "Remove"};
    q.settings.vpmem_device =
        (struct gcs_vpmem_device){.device_number = d->index, .mount_path = d->mount};
    return rl_modify_retry(s, &q, add ? "layer VPMemDevice Add" : "layer VPMemDevice Remove",
                           "No such device", err);
}

/* QMP node and device name of a SCSI disk: d<LUN> (unique while the LUN is taken). */
static void node_name(const struct rl_disk *d, char *buf, size_t len)
{
    snprintf(buf, len, "d%u", d->index);
}

static int plug(struct super *s, struct rl_disk *d, struct lcow_error **err)
{
    char name[16];
    node_name(d, name, sizeof(name));
    int r = host_qmp_blockdev_add(s->uvm->qmp, name, d->host_path, d->ro, RL_CALL_MS, err);
    if (r >= 0) {
        r = host_qmp_scsi_add(s->uvm->qmp, name, name, "scsi0.0", d->index, RL_CALL_MS, err);
        if (r < 0) {
            struct lcow_error *e = NULL;
            (void)host_qmp_blockdev_del(s->uvm->qmp, name, RL_CALL_MS, &e);
            lcow_error_release(&e);
        }
    }
    if (r < 0)
        return lcow_error_wrap(err, "hot-plug `%s` at LUN %u", d->host_path, d->index);
    d->plugged = true;
    return 0;
}

static void unplug(struct super *s, struct rl_disk *d)
{
    char name[16];
    node_name(d, name, sizeof(name));
    struct lcow_error *e = NULL;
    if (host_qmp_device_del(s->uvm->qmp, name, UNPLUG_MS, &e) < 0 ||
        host_qmp_blockdev_del(s->uvm->qmp, name, UNPLUG_MS, &e) < 0)
        lcow_log(LCOW_LOG_WARNING, "unplug %s: %s", name, lcow_error_message(e));
    lcow_error_release(&e);
    d->plugged = false;
}

/* ---- disks ------------------------------------------------------------------------------- */

static void disk_free(struct rl_disk *d)
{
    free(d->host_path);
    free(d->mount);
    free(d);
}

/* mount NULL: hcsshim's path for the slot, /run/layers/p<N> or /run/mounts/scsi/m<LUN>. */
static struct rl_disk *disk_new(struct super *s, bool pmem, bool ro, unsigned index,
                                const char *path, const char *mount)
{
    struct rl_disk *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    *d = (struct rl_disk){.pmem = pmem, .ro = ro, .index = index, .refs = 1};
    d->host_path = strdup(path);
    int n = mount ? ((d->mount = strdup(mount)) ? 0 : -1)
                  : asprintf(&d->mount, pmem ? "/run/layers/p%u" : "/run/mounts/scsi/m%u", index);
    if (n < 0)
        d->mount = NULL;
    if (!d->host_path || !d->mount) {
        disk_free(d);
        return NULL;
    }
    if (!pmem)
        s->lun_used[index] = true;
    return d;
}

static int lun_alloc(struct super *s, struct lcow_error **err)
{
    for (unsigned i = 0; i < RL_LUNS; i++)
        if (!s->lun_used[i])
            return (int)i;
    return lcow_error_make(err, ENOSPC, "no free SCSI LUN in the UVM (%u in use)", RL_LUNS);
}

/* Guest half first, then the host half; the LUN is free again. */
static void disk_remove(struct super *s, struct rl_disk *d)
{
    struct lcow_error *e = NULL;
    if (rl_bridge_up(s)) {
        if (d->mounted &&
            (d->pmem ? vpmem(s, d, false, &e) : scsi_disk(s, d, false, false, &e)) < 0)
            lcow_log(LCOW_LOG_WARNING, "release: %s", lcow_error_message(e));
        lcow_error_release(&e);
        /* Cold-plugged pmem devices go with the VM. */
        if (!d->pmem && d->plugged) {
            if (scsi_unplug_guest(s, d->index, &e) < 0)
                lcow_log(LCOW_LOG_WARNING, "release: %s", lcow_error_message(e));
            lcow_error_release(&e);
            unplug(s, d);
        }
    }
    d->mounted = false;
    if (!d->pmem)
        s->lun_used[d->index] = false;
    disk_free(d);
}

static void disk_link(struct super *s, struct rl_disk *d)
{
    d->next = s->disks;
    s->disks = d;
}

static int scsi_attach(struct super *s, const char *path, bool ro, const char *mount,
                       struct rl_disk **ret, struct lcow_error **err)
{
    int lun = lun_alloc(s, err);
    if (lun < 0)
        return lun;
    struct rl_disk *d = disk_new(s, false, ro, (unsigned)lun, path, mount);
    if (!d)
        return lcow_error_make(err, ENOMEM, "disk");
    int r = plug(s, d, err);
    if (r >= 0 && (r = scsi_disk(s, d, true, !ro, err)) >= 0)
        d->mounted = true;
    if (r < 0) {
        disk_remove(s, d); /* hcsshim rolls the host half back when the guest half fails */
        return r;
    }
    disk_link(s, d);
    *ret = d;
    return 0;
}

int rl_disk_layer(struct super *s, const char *path, struct rl_disk **ret, struct lcow_error **err)
{
    for (struct rl_disk *d = s->disks; d; d = d->next) {
        if (d->ro && d->mounted && strcmp(d->host_path, path) == 0) {
            d->refs++;
            *ret = d;
            return 0;
        }
    }
    return scsi_attach(s, path, true, NULL, ret, err);
}

int rl_disk_pmem(struct super *s, size_t i, const char *path, struct rl_disk **ret,
                 struct lcow_error **err)
{
    struct rl_disk *d = disk_new(s, true, true, (unsigned)i, path, NULL);
    if (!d)
        return lcow_error_make(err, ENOMEM, "disk");
    d->plugged = true; /* cold-plugged with the VM */
    int r = vpmem(s, d, true, err);
    if (r < 0) {
        disk_free(d);
        return r;
    }
    d->mounted = true;
    disk_link(s, d);
    *ret = d;
    return 0;
}

int rl_disk_scratch(struct super *s, const char *path, const char *mount, struct rl_disk **ret,
                    struct lcow_error **err)
{
    return scsi_attach(s, path, false, mount, ret, err);
}

void rl_disk_put(struct super *s, struct rl_disk *d)
{
    if (!d || --d->refs > 0)
        return;
    for (struct rl_disk **pp = &s->disks; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    disk_remove(s, d);
}

void rl_disks_forget(struct super *s)
{
    while (s->disks) {
        struct rl_disk *d = s->disks;
        s->disks = d->next;
        disk_free(d);
    }
    memset(s->lun_used, 0, sizeof(s->lun_used));
}

int rl_scratch_format(const char *path, struct lcow_error **err)
{
    /* What the guest's mkfs.ext4 would make (lazy inode tables, which its kernel finishes),
     * minus the zeroed journal a fresh sparse file does not need. */
    const char *argv[] = {access("/usr/sbin/mke2fs", X_OK) == 0 ? "/usr/sbin/mke2fs" : "mke2fs",
                          "-q",
                          "-F",
                          "-t",
                          "ext4",
                          "-m",
                          "0",
                          "-E",
                          "lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                          path,
                          NULL};
    cleanup_free char *out = NULL;
    int r = host_run(argv, &out, err);
    if (r <= 0)
        return r;
    return lcow_error_make(err, EIO, "mke2fs `%s` failed (status %d): %s", path, r,
                           out && *out ? out : "no output");
}

/* ---- the owner's side ----------------------------------------------------------------------- */

static const char *annotation(struct json_object *spec, const char *key)
{
    struct json_object *a = lcow_json_field(spec, "annotations");
    const char *v = NULL;
    if (a && lcow_json_get_string(a, "annotations", key, &v, NULL) < 0)
        v = NULL;
    return v;
}

int rl_pod_workload_spec(struct super *s, struct rl_ctr *c, struct lcow_error **err)
{
    const char *type = annotation(c->spec, RL_CRI_TYPE);
    if (!type || strcmp(type, "container") != 0)
        return 0;
    const char *sid = annotation(c->spec, RL_CRI_SANDBOX);
    if (!sid || !*sid)
        return lcow_error_make(err, EINVAL, "annotation %s is missing (needed with %s=container)",
                               RL_CRI_SANDBOX, RL_CRI_TYPE);
    struct rl_ctr *sb = rl_ctr_find(s, sid);
    if (!sb || sb == c)
        return lcow_error_make(err, ENOENT, "sandbox %s is not in the UVM of %s", sid, s->own->id);
    if (!sb->init || sb->init->exited)
        return lcow_error_make(err, EINVAL, "sandbox %s is not running", sid);
    /* containerd's CRI names the sandbox's namespaces by the host pid it knows, which means
     * nothing in the UVM: they are the sandbox init's there. */
    static const struct {
        const char *type, *ns;
        bool always;
    } shared[] = {{"network", "net", true},
                  {"ipc", "ipc", true},
                  {"uts", "uts", true},
                  {"pid", "pid", false}};
    struct json_object *linux_ = lcow_json_field(c->guest_spec, "linux");
    struct json_object *nss = linux_ ? lcow_json_field(linux_, "namespaces") : NULL;
    bool uts = false;
    for (size_t i = 0;
         nss && json_object_is_type(nss, json_type_array) && i < json_object_array_length(nss);
         i++) {
        struct json_object *ns = json_object_array_get_idx(nss, i);
        const char *t = NULL, *path = NULL;
        if (lcow_json_get_string(ns, "linux.namespaces", "type", &t, err) < 0 ||
            lcow_json_get_string(ns, "linux.namespaces", "path", &path, err) < 0)
            return -EINVAL;
        for (size_t k = 0; t && k < LCOW_ARRAY_SIZE(shared); k++) {
            if (strcmp(t, shared[k].type) != 0 || (!shared[k].always && !(path && *path)))
                continue;
            char p[64];
            snprintf(p, sizeof(p), "/proc/%u/ns/%s", sb->init->pid, shared[k].ns);
            json_object_object_add(ns, "path", json_object_new_string(p));
            uts |= strcmp(t, "uts") == 0;
        }
    }
    /* A workload's hostname is its sandbox's (the GCS refuses one). */
    if (uts)
        json_object_object_del(c->guest_spec, "hostname");
    return 0;
}

static int load_config(const char *dir, struct json_object **ret, struct lcow_error **err)
{
    cleanup_free char *path = NULL, *buf = NULL;
    size_t len = 0;
    if (asprintf(&path, "%s/config.json", dir) < 0)
        return lcow_error_make(err, ENOMEM, "path");
    int r = lcow_read_file(path, 16 << 20, &buf, &len, err);
    return r < 0 ? r : lcow_json_parse(buf, len, "config.json", ret, err);
}

static void unlink_ctr(struct super *s, struct rl_ctr *c)
{
    for (struct rl_ctr **pp = &s->ctrs; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

/* The new container's record, its config.json read back from its state directory. */
static int add_record(struct super *s, int fd, struct json_object *req, int *fds, size_t n_fds,
                      struct rl_ctr **ret, struct lcow_error **err)
{
    const char *id = NULL, *bundle = NULL;
    int r = lcow_json_get_string(req, "", "container", &id, err);
    if (r >= 0)
        r = lcow_json_get_string(req, "", "bundle", &bundle, err);
    if (r < 0)
        return r;
    if (!id || !bundle || bundle[0] != '/' || n_fds != 3)
        return lcow_error_make(err, EINVAL, "malformed add request");
    if ((r = rl_check_id(id, err)) < 0)
        return r;
    if (rl_ctr_find(s, id))
        return lcow_error_make(err, EEXIST, "container %s already exists", id);
    if (!rl_bridge_up(s))
        return lcow_error_make(err, EIO, "the UVM of %s is stopping", s->own->id);
    struct ucred cred = {0};
    socklen_t cl = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
        return lcow_error_errno(err, "peer of the add request");
    cleanup_free char *dir = rl_dir(s->g, id);
    cleanup_json struct json_object *spec = NULL;
    if (!dir)
        return lcow_error_make(err, ENOMEM, "path");
    if ((r = load_config(dir, &spec, err)) < 0)
        return r;
    struct rl_ctr *c = rl_ctr_new(s, id, bundle, spec, false);
    if (!c || !(c->st.host = strdup(s->own->id))) {
        rl_ctr_free(c);
        return lcow_error_make(err, ENOMEM, "container");
    }
    c->st.pid = cred.pid; /* the member process: the pid runc's contract exposes */
    for (int i = 0; i < 3; i++)
        c->stdio[i] = fds[i];
    *ret = c;
    return 0;
}

void rl_pod_add(struct super *s, int fd, struct json_object *req, int *fds, size_t n_fds)
{
    cleanup_error struct lcow_error *err = NULL;
    struct rl_ctr *c = NULL;
    bool start = false;
    int r = lcow_json_get_bool(req, "", "start", &start, &err);
    if (r >= 0)
        r = add_record(s, fd, req, fds, n_fds, &c, &err);
    if (r < 0) {
        for (size_t i = 0; i < n_fds; i++)
            close(fds[i]);
        rl_reply_err(fd, err);
        close(fd);
        return;
    }
    /* Listed from now on: notifications during the set-up find it. */
    struct rl_ctr **tail = &s->ctrs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    rl_save_state(s, c);
    lcow_log(LCOW_LOG_INFO, "container %s joins the UVM of %s", c->id, s->own->id);
    r = rl_ctr_setup(s, c, &err);
    if (r >= 0) {
        c->st.status = RL_CREATED;
        rl_save_state(s, c);
        if (start)
            r = rl_ctr_start(s, c, &err);
    }
    if (r < 0) {
        /* Nothing half-created: the member removes the state directory. */
        lcow_log(LCOW_LOG_WARNING, "container %s: %s", c->id, lcow_error_message(err));
        rl_ctr_release(s, c);
        unlink_ctr(s, c);
        rl_ctr_free(c);
        rl_reply_err(fd, err);
        close(fd);
        return;
    }
    rl_reply(fd, "ok", json_object_new_boolean(true));
    c->member = fd;
    rl_save_state(s, s->own); /* its count of the others */
}

/* ---- client side: placement ----------------------------------------------------------------- */

/* The UVM owner of a running container named by --host or sandbox-id. */
static int owner_of(struct rl_globals *g, const char *id, const char *what, char **ret,
                    struct lcow_error **err)
{
    int r = rl_check_id(id, err);
    if (r < 0)
        return lcow_error_wrap(err, "%s", what);
    struct rl_state st = {0};
    if ((r = rl_state_read(g, id, &st, err)) < 0)
        return lcow_error_wrap(err, "%s", what);
    bool ok = st.status == RL_RUNNING || st.status == RL_PAUSED;
    char *owner = ok ? strdup(st.host ? st.host : id) : NULL;
    enum rl_status status = st.status;
    rl_state_done(&st);
    if (!ok)
        return lcow_error_make(err, EINVAL, "%s: container %s is not running (%s)", what, id,
                               rl_status_name(status));
    if (!owner)
        return lcow_error_make(err, ENOMEM, "owner");
    *ret = owner;
    return 0;
}

int rl_pod_place(struct rl_globals *g, struct json_object *spec, const char *host, char **ret_owner,
                 struct lcow_error **err)
{
    *ret_owner = NULL;
    const char *type = annotation(spec, RL_CRI_TYPE);
    const char *sid = annotation(spec, RL_CRI_SANDBOX);
    if (type && strcmp(type, "sandbox") != 0 && strcmp(type, "container") != 0)
        return lcow_error_make(err, EINVAL, "unsupported '%s' value `%s`", RL_CRI_TYPE, type);
    cleanup_free char *by_sandbox = NULL, *by_host = NULL;
    int r = 0;
    if (type && strcmp(type, "container") == 0) {
        if (!sid || !*sid)
            return lcow_error_make(err, EINVAL, "annotation %s is missing (needed with %s=%s)",
                                   RL_CRI_SANDBOX, RL_CRI_TYPE, type);
        if ((r = owner_of(g, sid, "the sandbox", &by_sandbox, err)) < 0)
            return r;
    }
    if (host && (r = owner_of(g, host, "--host", &by_host, err)) < 0)
        return r;
    if (by_sandbox && by_host && strcmp(by_sandbox, by_host) != 0)
        return lcow_error_make(err, EINVAL, "--host %s and sandbox %s are in different UVMs", host,
                               sid);
    *ret_owner = by_host ? steal_pointer(&by_host) : steal_pointer(&by_sandbox);
    return 0;
}

/* ---- the member process ------------------------------------------------------------------- */

struct member {
    struct rl_globals *g;
    const struct rl_super_args *a;
    char *dir, *owner_dir;
    int listen, owner, sigfd;
};

/* A CLI request on our control socket goes to the owner with the caller's connection, which
 * the owner answers directly (exec keeps it for the exit code). */
static void relay_request(struct member *m)
{
    cleanup_json struct json_object *req = NULL;
    cleanup_error struct lcow_error *err = NULL;
    int fds[4] = {-1, -1, -1, -1};
    size_t n = 3; /* room for the caller's connection */
    int fd = rl_ctl_accept_request(m->listen, &req, fds, &n);
    if (fd < 0)
        return;
    json_object_object_add(req, "container", json_object_new_string(m->a->id));
    json_object_object_add(req, "via", json_object_new_boolean(true));
    fds[n] = fd;
    int o = rl_ctl_dial(m->owner_dir, &err);
    if (o < 0 || rl_ctl_send(o, req, fds, n + 1, &err) < 0)
        rl_reply_err(fd, err);
    if (o >= 0)
        close(o);
    for (size_t i = 0; i <= n; i++)
        close(fds[i]);
}

/* Signals go to the container's init through the owner (a window change as a resize the owner
 * reads from the terminal we passed it); a termination request for one that does not run
 * deletes it, as the supervisor does. */
static void forward_signal(struct member *m)
{
    struct signalfd_siginfo si;
    if (read(m->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    int sig = (int)si.ssi_signo;
    cleanup_json struct json_object *req = json_object_new_object();
    json_object_object_add(req, "container", json_object_new_string(m->a->id));
    struct lcow_error *e = NULL;
    if (sig == SIGWINCH) {
        json_object_object_add(req, "op", json_object_new_string("resize"));
        (void)rl_ctl_call(m->owner_dir, req, NULL, 0, 10000, NULL, NULL, &e);
        lcow_error_release(&e);
        return;
    }
    json_object_object_add(req, "op", json_object_new_string("kill"));
    json_object_object_add(req, "signal", json_object_new_int(sig));
    if (rl_ctl_call(m->owner_dir, req, NULL, 0, 60000, NULL, NULL, &e) < 0 &&
        (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)) {
        lcow_error_release(&e);
        json_object_object_add(req, "op", json_object_new_string("delete"));
        (void)rl_ctl_call(m->owner_dir, req, NULL, 0, 60000, NULL, NULL, &e);
    }
    lcow_error_release(&e);
}

/* Until the owner reports the exit code (or goes). */
static int member_loop(struct member *m)
{
    for (;;) {
        struct pollfd p[3] = {{.fd = m->owner, .events = POLLIN},
                              {.fd = m->listen, .events = POLLIN},
                              {.fd = m->sigfd, .events = POLLIN}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 255;
        }
        if (p[0].revents) {
            cleanup_json struct json_object *msg = NULL;
            struct lcow_error *e = NULL;
            int32_t code = 255;
            if (rl_ctl_recv(m->owner, 0, &msg, NULL, NULL, &e) < 0) {
                lcow_log(LCOW_LOG_ERROR, "lost the UVM owner: %s", lcow_error_message(e));
                lcow_error_release(&e);
                return 255;
            }
            if (lcow_json_field(msg, "exit") &&
                lcow_json_get_int32(msg, "", "exit", &code, NULL) == 0)
                return code & 0xFF;
        }
        if (p[1].revents)
            relay_request(m);
        if (p[2].revents)
            forward_signal(m);
    }
}

/* Asks the owner to set the container up in its UVM (and start it for `run`); our stdio
 * becomes the container's. */
static int member_add(struct member *m, struct lcow_error **err)
{
    int r = m->owner = rl_ctl_dial(m->owner_dir, err);
    if (r < 0)
        return lcow_error_wrap(err, "the UVM of %s", m->a->host);
    cleanup_json struct json_object *req = json_object_new_object(), *rep = NULL;
    json_object_object_add(req, "op", json_object_new_string("add"));
    json_object_object_add(req, "container", json_object_new_string(m->a->id));
    json_object_object_add(req, "bundle", json_object_new_string(m->a->bundle));
    json_object_object_add(req, "start", json_object_new_boolean(m->a->start));
    const int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    if ((r = rl_ctl_send(m->owner, req, fds, 3, err)) < 0 ||
        (r = rl_ctl_recv(m->owner, ADD_WAIT_MS, &rep, NULL, NULL, err)) < 0)
        return r;
    const char *e = NULL;
    if (lcow_json_get_string(rep, "", "error", &e, NULL) == 0 && e)
        return lcow_error_make(err, EIO, "%s", e);
    return 0;
}

static int member_setup(struct member *m, struct lcow_error **err)
{
    m->dir = rl_dir(m->g, m->a->id);
    m->owner_dir = rl_dir(m->g, m->a->host);
    if (!m->dir || !m->owner_dir)
        return lcow_error_make(err, ENOMEM, "paths");
    sigset_t set;
    sigemptyset(&set);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        return lcow_error_errno(err, "signalfd");
    int r = m->listen = rl_ctl_listen(m->dir, err);
    if (r < 0 || (r = member_add(m, err)) < 0)
        return r;
    return m->a->pid_file ? rl_write_pid_file(m->a->pid_file, getpid(), err) : 0;
}

static bool console_init(struct json_object *spec)
{
    struct json_object *p = lcow_json_field(spec, "process"), *t = lcow_json_field(p, "terminal");
    return t && json_object_is_type(t, json_type_boolean) && json_object_get_boolean(t);
}

int rl_member_main(struct rl_globals *g, const struct rl_super_args *a)
{
    struct member m = {.g = g, .a = a, .listen = -1, .owner = -1, .sigfd = -1};
    int ready = a->ready_fd;
    cleanup_error struct lcow_error *err = NULL;
    int code = 1;
    bool ok = member_setup(&m, &err) >= 0;
    if (!ok) {
        if (ready >= 0 || !rl_log_is_stderr())
            lcow_log(LCOW_LOG_ERROR, "%s", lcow_error_message(err));
        if (ready >= 0)
            (void)lcow_write_all(ready, lcow_error_message(err), strlen(lcow_error_message(err)));
        else
            fprintf(stderr, "runlcow: %s\n", lcow_error_message(err));
        struct lcow_error *e = NULL;
        (void)rl_dir_remove(g, a->id, &e);
        lcow_error_release(&e);
    } else {
        if (ready >= 0)
            (void)lcow_write_all(ready, "OK", 2);
        if (ready >= 0)
            ready = lcow_close_nointr(ready);
        /* With a console init in the foreground, the remote pty does the line discipline. */
        struct termios saved;
        bool raw = a->foreground && console_init(a->spec) && isatty(STDIN_FILENO) &&
                   tcgetattr(STDIN_FILENO, &saved) == 0;
        if (raw) {
            struct termios t = saved;
            cfmakeraw(&t);
            raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
        }
        code = member_loop(&m);
        if (raw)
            (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    }
    if (ready >= 0)
        close(ready);
    if (m.listen >= 0) {
        close(m.listen);
        cleanup_free char *p = NULL;
        if (asprintf(&p, "%s/c.sock", m.dir) >= 0)
            (void)unlink(p);
    }
    if (m.owner >= 0)
        close(m.owner);
    if (m.sigfd >= 0)
        close(m.sigfd);
    if (ok && a->foreground) { /* `run` without -d: nothing stays */
        struct lcow_error *e = NULL;
        (void)rl_dir_remove(g, a->id, &e);
        lcow_error_release(&e);
    }
    free(m.dir);
    free(m.owner_dir);
    return code;
}
