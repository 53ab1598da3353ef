/* The container table and status machine (§4.1, §4.3, §4.5-4.7, §4.11, §5.8): Create through
 * the embedded executor, waits with deadlines, signals, resize, shutdown, delete, the
 * ContainerConstraints update, and the exit path ending in exactly one notification. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "gcs/bridge.h"
#include "gcs/container_internal.h"
#include "gcs/network.h"
#include "gcs/plan9.h"
#include "gcs/reaper.h"
#include "gcs/storage.h"
#include "oci/cgroup.h"
#include "oci/executor.h"
#include "oci/spec.h"

#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

pthread_mutex_t ct_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t ct_spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ct_cond; /* helper thread: deadlines and init cleanups */
static struct ct_container *ct_list;
static struct gcs *ct_g;
static bool helper_running;
static struct oci_cgroup_layout *layout;

struct gcs *ct_gcs(void)
{
    return ct_g;
}

const struct oci_cgroup_layout *ct_layout(struct lcow_error **err)
{
    pthread_mutex_lock(&ct_lock);
    if (!layout && oci_cgroup_layout_detect(NULL, &layout, err) < 0)
        layout = NULL;
    const struct oci_cgroup_layout *l = layout;
    pthread_mutex_unlock(&ct_lock);
    return l;
}

/* ---- table ------------------------------------------------------------------------------- */

struct ct_container *ct_find(const char *id)
{
    for (struct ct_container *c = ct_list; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

struct ct_proc *ct_find_proc(struct ct_container *c, pid_t pid)
{
    if (c->init && c->init->pid == pid)
        return c->init;
    for (struct ct_proc *p = c->execs; p; p = p->next)
        if (p->pid == pid)
            return p;
    return NULL;
}

static int lookup_locked(const char *id, struct ct_container **ret, struct lcow_error **err)
{
    struct ct_container *c = ct_find(id);
    if (!c)
        return lcow_error_make(err, GCS_ERR_SYSTEM_NOT_FOUND, "container `%s` not found", id);
    if (c->status == CT_CREATING)
        return lcow_error_make(err, EBUSY, "container `%s` is still being created", id);
    *ret = c;
    return 0;
}

int ct_get_busy(const char *id, struct ct_container **ret, struct lcow_error **err)
{
    pthread_mutex_lock(&ct_lock);
    int r = lookup_locked(id, ret, err);
    if (r == 0)
        (*ret)->busy++;
    pthread_mutex_unlock(&ct_lock);
    return r;
}

void ct_put_busy(struct ct_container *c)
{
    pthread_mutex_lock(&ct_lock);
    c->busy--;
    pthread_cond_broadcast(&ct_cond);
    pthread_mutex_unlock(&ct_lock);
}

static void proc_free(struct ct_proc *p)
{
    for (struct ct_waiter *w = p->waiters, *n; w; w = n) {
        n = w->next;
        gcs_req_free(w->req);
        free(w);
    }
    for (int i = 0; i < 3; i++)
        if (p->hold[i] >= 0)
            close(p->hold[i]);
    if (p->stdin_shut >= 0) {
        (void)shutdown(p->stdin_shut, SHUT_RD); /* the stdin copier must not outlive us */
        close(p->stdin_shut);
    }
    free(p);
}

static struct ct_proc *proc_new(struct ct_container *c, pid_t pid, bool is_init)
{
    struct ct_proc *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    *p = (struct ct_proc){.c = c,
                          .pid = pid,
                          .is_init = is_init,
                          .master = -1,
                          .hold = {-1, -1, -1},
                          .stdin_shut = -1};
    return p;
}

void ct_container_free(struct ct_container *c)
{
    if (!c)
        return;
    if (c->init)
        proc_free(c->init);
    for (struct ct_proc *p = c->execs, *n; p; p = n) {
        n = p->next;
        proc_free(p);
    }
    oci_cgroup_free(c->cg);
    oci_spec_free(c->spec);
    json_object_put(c->rlimits);
    pthread_mutex_destroy(&c->oc_lock);
    free(c->id);
    free(c->activity_id);
    free(c->sandbox_id);
    free(c->bundle);
    free(c->root);
    free(c->rootfs);
    free(c->scratch_dir);
    free(c->netns_id);
    free(c->cgroups_path);
    free(c->tee_log);
    free(c);
}

static void unlink_container(struct ct_container *victim)
{
    for (struct ct_container **pp = &ct_list; *pp; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            return;
        }
    }
}

static void reply_pid_not_found(struct gcs *g, struct gcs_req *r, uint32_t pid);

/* ---- exits, publication, notification ----------------------------------------------------- */

static void send_notification(struct gcs *g, struct ct_container *c)
{
    struct gcs_container_notification n = {
        .container_id = c->id,
        .activity_id = c->activity_id,
        .type = (char *)(c->exit_type ? c->exit_type : GCS_NOTIFY_UNEXPECTED_EXIT),
        .operation = (char *)GCS_OPERATION_NONE,
    };
    cleanup_error struct lcow_error *e = NULL;
    if (gcs_notify(g, &n, &e) < 0)
        lcow_warn("notification for container %s: %s", c->id, lcow_error_message(e));
    c->notified = true;
}

static bool publishable(const struct ct_proc *p)
{
    return p->exited && p->relays_done && (!p->is_init || p->cleanup_done);
}

void ct_try_publish(struct gcs *g, struct ct_proc *p)
{
    if (publishable(p) && p->stdin_shut >= 0) {
        (void)shutdown(p->stdin_shut, SHUT_RD); /* unblocks the stdin copier */
        p->stdin_shut = lcow_close_nointr(p->stdin_shut);
    }
    if (!publishable(p) || !p->waiters)
        return;
    for (struct ct_waiter *w = p->waiters, *n; w; w = n) {
        n = w->next;
        gcs_reply_exit(g, w->req, p->exit_code);
        gcs_req_free(w->req);
        free(w);
    }
    p->waiters = NULL;
    p->answered = true;
    struct ct_container *c = p->c;
    if (p->is_init) {
        if (!c->notified)
            send_notification(g, c); /* §2.9: exited, drained, and waited: exactly once */
        return;
    }
    /* Exec processes leave the table once their code was delivered (§4.5). */
    for (struct ct_proc **pp = &c->execs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    proc_free(p);
}

static void on_exit_status(pid_t pid, int status, void *data)
{
    struct gcs *g = data;
    pthread_mutex_lock(&ct_lock);
    for (struct ct_container *c = ct_list; c; c = c->next) {
        struct ct_proc *p = ct_find_proc(c, pid);
        if (!p || p->exited)
            continue;
        p->exited = true;
        p->exit_code = (uint32_t)oci_wait_status_to_exit_code(status);
        lcow_debug("container %s process %d exited: %u", c->id, (int)pid, p->exit_code);
        if (p->is_init) {
            if (c->oc)
                oci_container_exited(c->oc, status);
            c->status = CT_TERMINATED;
            /* Without its own pid namespace nothing kills the rest for us (§5.8). */
            p->cleanup_done = c->owns_pidns;
            /* Died before any start wired its stdio (killed while created): nothing to drain,
             * so its waiters and the notification are not held back by relays never made. */
            if (!c->init_started)
                p->relays_done = true;
            if (!p->cleanup_done)
                pthread_cond_broadcast(&ct_cond);
        }
        ct_try_publish(g, p);
        break;
    }
    pthread_mutex_unlock(&ct_lock);
}

void ct_watch(struct gcs *g, pid_t pid)
{
    if (gcs_reaper_watch(pid, on_exit_status, g) < 0)
        lcow_warn("process %d is already watched", (int)pid);
}

/* ---- the helper thread: deadlines and init cleanups -------------------------------------- */

static uint64_t expire_waiters(struct gcs *g, uint64_t now)
{
    uint64_t next = 0;
    for (struct ct_container *c = ct_list; c; c = c->next) {
        struct ct_proc *lists[2] = {c->init, c->execs};
        for (int l = 0; l < 2; l++) {
            for (struct ct_proc *p = lists[l]; p; p = l ? p->next : NULL) {
                for (struct ct_waiter **wp = &p->waiters; *wp;) {
                    struct ct_waiter *w = *wp;
                    if (w->deadline_ns && w->deadline_ns <= now) {
                        *wp = w->next;
                        gcs_reply_error(g, w->req, GCS_HCS_E_CONNECTION_TIMEOUT, NULL);
                        gcs_req_free(w->req);
                        free(w);
                        continue;
                    }
                    if (w->deadline_ns && (!next || w->deadline_ns < next))
                        next = w->deadline_ns;
                    wp = &w->next;
                }
            }
        }
    }
    return next;
}

/* One init whose leftovers must be killed, or NULL (caller holds ct_lock). */
static struct ct_container *next_cleanup(void)
{
    for (struct ct_container *c = ct_list; c; c = c->next)
        if (c->init && c->init->exited && !c->init->cleanup_done)
            return c;
    return NULL;
}

static void *helper_main(void *arg)
{
    struct gcs *g = arg;
    pthread_mutex_lock(&ct_lock);
    for (;;) {
        struct ct_container *c = next_cleanup();
        if (c) {
            c->busy++;
            pthread_mutex_unlock(&ct_lock);
            cleanup_error struct lcow_error *e = NULL;
            pthread_mutex_lock(&c->oc_lock);
            if (c->cg && oci_cgroup_kill_all(c->cg, SIGKILL, &e) < 0)
                lcow_warn("container %s: kill the rest: %s", c->id, lcow_error_message(e));
            pthread_mutex_unlock(&c->oc_lock);
            pthread_mutex_lock(&ct_lock);
            c->busy--;
            c->init->cleanup_done = true;
            ct_try_publish(g, c->init);
            pthread_cond_broadcast(&ct_cond);
            continue;
        }
        uint64_t next = expire_waiters(g, lcow_now_ns());
        if (!next) {
            pthread_cond_wait(&ct_cond, &ct_lock);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull),
                                  .tv_nsec = (long)(next % 1000000000ull)};
            pthread_cond_timedwait(&ct_cond, &ct_lock, &ts);
        }
    }
    return NULL;
}

void ct_kick(void)
{
    pthread_cond_broadcast(&ct_cond);
}

/* Starts the helper once (caller holds ct_lock). */
static int ensure_helper(struct gcs *g)
{
    if (helper_running)
        return 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* lcow_now_ns() is monotonic */
    pthread_cond_init(&ct_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    pthread_t t;
    int r = pthread_create(&t, &attr, helper_main, g);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -r;
    ct_g = g;
    helper_running = true;
    return 0;
}

/* ---- Create (§4.1) ------------------------------------------------------------------------- */

static void reply_error(struct gcs *g, struct gcs_req *r, const struct lcow_error *e)
{
    gcs_reply_error(g, r, e && e->code == EBUSY ? GCS_E_FAIL : 0, e);
}

/* pivot_root is impossible when / is the initramfs (the UVM): use --no-pivot there. */
static unsigned create_flags(void)
{
    struct statfs s;
    if (statfs("/", &s) == 0 && (s.f_type == RAMFS_MAGIC || s.f_type == TMPFS_MAGIC))
        return OCI_CREATE_NO_PIVOT;
    return 0;
}

static int make_stdio(struct ct_container *c, struct oci_create_opts *o, int child[3],
                      struct lcow_error **err)
{
    if (c->spec->process->terminal)
        return 0; /* the executor makes the pty inside the container */
    for (int i = 0; i < 3; i++) {
        int p[2];
        if (ct_stdio_pipe(p) < 0)
            return lcow_error_errno(err, "pipe");
        /* stdin: the container reads p[0]; stdout/stderr: it writes p[1]. */
        child[i] = i == 0 ? p[0] : p[1];
        c->init->hold[i] = i == 0 ? p[1] : p[0];
        o->stdio[i] = child[i];
    }
    return 0;
}

static int run_create(struct gcs *g, struct ct_container *c, struct lcow_error **err)
{
    const struct oci_cgroup_layout *l = ct_layout(err);
    if (!l)
        return -EIO;
    c->init = proc_new(c, 0, true);
    if (!c->init)
        return -ENOMEM;
    int child[3] = {-1, -1, -1};
    struct oci_create_opts o = {
        .id = c->id,
        .bundle = c->bundle,
        .spec = c->spec,
        .flags = create_flags(),
        .stdio = {-1, -1, -1},
        .cgroup_layout = l,
    };
    pthread_mutex_lock(&ct_spawn_lock);
    int r = make_stdio(c, &o, child, err);
    if (r == 0)
        r = oci_container_create(&o, &c->oc, err);
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0)
            close(child[i]);
    pthread_mutex_unlock(&ct_spawn_lock);
    if (r < 0)
        return r;
    if (c->spec->process->terminal) {
        c->init->tty = true;
        c->init->hold[1] = oci_container_take_pty_master(c->oc);
    }
    c->init->pid = oci_container_pid(c->oc);
    const struct oci_namespace *pidns =
        c->spec->linux_ ? &c->spec->linux_->namespaces[OCI_NS_PID] : NULL;
    c->owns_pidns = pidns && pidns->present && !pidns->path;
    if (oci_cgroup_open(l, c->cgroups_path, c->id, &c->cg, NULL) < 0)
        c->cg = NULL;
    ct_watch(g, c->init->pid);
    return 0;
}

/* Moves the sandbox's / standalone container's adapters into its new netns (§5.6). */
static int sync_network(struct gcs *g, struct ct_container *c, bool host_network,
                        struct lcow_error **err)
{
    if (c->kind == CT_WORKLOAD || !c->netns_id[0])
        return 0; /* no namespace entry to fill ("" is every unnamed container's) */
    struct gcs_network *net = gcs_network_for(g);
    if (!net)
        return -ENOMEM;
    if (host_network)
        return gcs_network_namespace_sync_host(net, c->netns_id, err);
    return gcs_network_namespace_sync_pid(net, c->netns_id, c->init->pid, err);
}

static bool annotation_true(const struct oci_spec *s, const char *key)
{
    for (size_t i = 0; i < s->n_annotations; i++)
        if (strcmp(s->annotations[i].key, key) == 0)
            return strcmp(s->annotations[i].value, "true") == 0;
    return false;
}

/* Everything after registration; on failure the caller unregisters and undoes. */
static int create_container(struct gcs *g, struct ct_container *c, struct gcs_create_request *q,
                            struct lcow_error **err)
{
    struct json_object *spec = q->config.oci_specification;
    if (!spec)
        return lcow_error_make(err, GCS_ERR_INVALID_JSON, "ContainerConfig: no OciSpecification");
    int r = ct_prepare_spec(g, c, spec, err);
    if (r < 0)
        return r;
    const char *text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    cleanup_free char *cfg = NULL;
    if (asprintf(&cfg, "%s/config.json", c->bundle) < 0)
        return -ENOMEM;
    r = lcow_write_file_atomic(cfg, text, strlen(text), 0600, err);
    if (r < 0)
        return lcow_error_wrap(err, "write `%s`", cfg);
    r = oci_spec_from_json(spec, &c->spec, err);
    if (r < 0)
        return r;
    if (!c->spec->process)
        return lcow_error_make(err, EINVAL, "OciSpecification: no process");
    r = run_create(g, c, err);
    if (r < 0)
        return r;
    bool host_net = annotation_true(c->spec, "io.microsoft.virtualmachine.lcow.hostnetwork");
    return sync_network(g, c, host_net, err);
}

/* Undoes a failed create: the container object, then the spec's files and mounts. */
static void undo_create(struct gcs *g, struct ct_container *c)
{
    cleanup_error struct lcow_error *e = NULL;
    if (c->oc && oci_container_destroy(c->oc, &e) < 0)
        lcow_warn("create %s: undo: %s", c->id, lcow_error_message(e));
    c->oc = NULL;
    lcow_error_release(&e);
    if (ct_unprepare(g, c, &e) < 0)
        lcow_warn("create %s: undo: %s", c->id, lcow_error_message(e));
}

/* runc's id rule: ^[\w+-\.]+$ (and not "." or ".."). */
static bool id_valid(const char *id)
{
    if (!id[0] || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 1024)
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_+-.", *p))
            return false;
    return true;
}

void gcs_container_create(struct gcs *g, struct gcs_req *r, struct gcs_create_request *q)
{
    cleanup_error struct lcow_error *e = NULL;
    const char *id = q->base.container_id;
    struct ct_container *c = calloc(1, sizeof(*c));
    if (!c || !(c->id = strdup(id)) || !(c->activity_id = strdup(gcs_req_activity_id(r))) ||
        !(c->bundle = strdup(q->config.oci_bundle_path)) ||
        !(c->scratch_dir = strdup(q->config.scratch_dir_path))) {
        ct_container_free(c);
        lcow_error_make(&e, ENOMEM, "create container `%s`", id);
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        return;
    }
    pthread_mutex_init(&c->oc_lock, NULL);
    pthread_mutex_lock(&ct_lock);
    int rc = ensure_helper(g);
    size_t n = 0;
    for (struct ct_container *x = ct_list; x; x = x->next)
        n++;
    if (rc < 0)
        lcow_error_make(&e, -rc, "start the container helper thread");
    else if (ct_find(id))
        rc = lcow_error_make(&e, GCS_ERR_SYSTEM_EXISTS, "container `%s` already exists", id);
    else if (!id_valid(id))
        rc = lcow_error_make(&e, GCS_ERR_INVALIDARG, "invalid id format `%s`", id);
    else if (n >= CT_MAX)
        rc = lcow_error_make(&e, EAGAIN, "too many containers (%zu)", n);
    if (rc < 0) {
        pthread_mutex_unlock(&ct_lock);
        ct_container_free(c);
        gcs_reply_error(g, r, 0, e);
        return;
    }
    c->status = CT_CREATING;
    c->next = ct_list;
    ct_list = c;
    pthread_mutex_unlock(&ct_lock);

    rc = create_container(g, c, q, &e);
    pthread_mutex_lock(&ct_lock);
    if (rc < 0) {
        unlink_container(c);
        pthread_mutex_unlock(&ct_lock);
        undo_create(g, c);
        ct_container_free(c);
        gcs_reply_error(g, r, e && e->code >= GCS_ERR_BASE ? 0 : GCS_E_FAIL, e);
        if (e && e->code >= GCS_ERR_BASE)
            lcow_debug("create %s failed: %s", id, lcow_error_message(e));
        return;
    }
    c->status = CT_CREATED;
    pthread_mutex_unlock(&ct_lock);
    lcow_info("container %s created (init pid %d)", id, (int)c->init->pid);
    struct gcs_create_response resp = {.base.activity_id = (char *)gcs_req_activity_id(r)};
    char *payload = NULL;
    if (gcs_encode_create_response(&resp, &payload, &e) < 0)
        gcs_reply_error(g, r, GCS_E_FAIL, e);
    else
        gcs_reply(g, r, payload);
}

/* ---- WaitForProcess (§4.5) ----------------------------------------------------------------- */

static void reply_pid_not_found(struct gcs *g, struct gcs_req *r, uint32_t pid)
{
    cleanup_error struct lcow_error *e = NULL;
    lcow_error_make(&e, GCS_ERR_NOT_FOUND, "process %u not found", pid);
    gcs_reply_error(g, r, 0, e);
}

void gcs_container_wait(struct gcs *g, struct gcs_req *r,
                        const struct gcs_wait_for_process_request *q)
{
    cleanup_error struct lcow_error *e = NULL;
    struct ct_container *c = NULL;
    pthread_mutex_lock(&ct_lock);
    if (lookup_locked(q->base.container_id, &c, &e) < 0) {
        reply_error(g, r, e);
        goto free;
    }
    struct ct_proc *p =
        q->process_id && q->process_id <= INT32_MAX ? ct_find_proc(c, (pid_t)q->process_id) : NULL;
    if (!p) {
        reply_pid_not_found(g, r, q->process_id);
        goto free;
    }
    if (publishable(p)) {
        /* Exec entries only live until a waiter got the code, so p here is the init, or an
         * exec whose exit was ready before anybody waited. */
        gcs_reply_exit(g, r, p->exit_code);
        gcs_req_free(r);
        r = NULL;
        p->answered = true;
        if (p->is_init) {
            if (!c->notified)
                send_notification(g, c);
        } else {
            for (struct ct_proc **pp = &c->execs; *pp; pp = &(*pp)->next) {
                if (*pp == p) {
                    *pp = p->next;
                    break;
                }
            }
            proc_free(p);
        }
        goto out;
    }
    if (q->timeout_in_ms == 0) {
        gcs_reply_error(g, r, GCS_HCS_E_CONNECTION_TIMEOUT, NULL);
        goto free;
    }
    unsigned n = 0;
    for (struct ct_waiter *x = p->waiters; x; x = x->next)
        n++;
    if (n >= CT_WAITERS_MAX) {
        lcow_error_make(&e, EAGAIN, "too many waiters on process %u", q->process_id);
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        goto free;
    }
    struct ct_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        lcow_error_make(&e, ENOMEM, "WaitForProcess");
        gcs_reply_error(g, r, GCS_E_FAIL, e);
        goto free;
    }
    w->req = r;
    r = NULL;
    if (q->timeout_in_ms != GCS_INFINITE_TIMEOUT) {
        w->deadline_ns = lcow_now_ns() + (uint64_t)q->timeout_in_ms * 1000000ull;
        pthread_cond_broadcast(&ct_cond);
    }
    w->next = p->waiters;
    p->waiters = w;
    goto out;
free:
    gcs_req_free(r);
out:
    pthread_mutex_unlock(&ct_lock);
}

void gcs_container_forget_waiters(struct gcs *g, uint64_t gen)
{
    (void)g;
    pthread_mutex_lock(&ct_lock);
    for (struct ct_container *c = ct_list; c; c = c->next) {
        struct ct_proc *lists[2] = {c->init, c->execs};
        for (int l = 0; l < 2; l++) {
            for (struct ct_proc *p = lists[l]; p; p = l ? p->next : NULL) {
                for (struct ct_waiter **wp = &p->waiters; *wp;) {
                    struct ct_waiter *w = *wp;
                    if (w->req->gen <= gen) {
                        *wp = w->next;
                        gcs_req_free(w->req);
                        free(w);
                    } else {
                        wp = &w->next;
                    }
                }
            }
        }
    }
    pthread_mutex_unlock(&ct_lock);
}

/* ---- SignalProcess, ResizeConsole, Shutdown (§4.3, §4.6, §4.7) --------------------------- */

/* A created (not yet started) init blocks every signal until start, and as the pid-namespace
 * init it would ignore SIGTERM even then. runc's created init (a Go program) dies of a
 * terminating request, so Shutdown or a SIGTERM of a never-started container ends it there:
 * deliver those as SIGKILL (exit code 137; the notification keeps the requested kind). */
static int deliverable_signal(struct ct_container *c, int sig)
{
    bool fatal = sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT;
    return fatal && oci_container_status(c->oc) == OCI_CONTAINER_CREATED ? SIGKILL : sig;
}

static int signal_init(struct ct_container *c, int sig, struct lcow_error **err)
{
    if (!c->oc || c->init->exited)
        return lcow_error_make(err, GCS_ERR_SYSTEM_STOPPED, "container `%s` is not running", c->id);
    pthread_mutex_lock(&c->oc_lock);
    int r = oci_container_signal(c->oc, deliverable_signal(c, sig), false, err);
    pthread_mutex_unlock(&c->oc_lock);
    if (r == -ESRCH) {
        lcow_error_release(err);
        return lcow_error_make(err, GCS_ERR_SYSTEM_STOPPED, "container `%s` is not running", c->id);
    }
    if (r == 0 && (sig == SIGTERM || sig == SIGKILL))
        c->exit_type = sig == SIGTERM ? GCS_NOTIFY_GRACEFUL_EXIT : GCS_NOTIFY_FORCED_EXIT;
    return r;
}

int gcs_container_signal(struct gcs *g, const char *cid, uint32_t pid, int sig,
                         struct lcow_error **err)
{
    (void)g;
    struct ct_container *c = NULL;
    pthread_mutex_lock(&ct_lock);
    int r = lookup_locked(cid, &c, err);
    struct ct_proc *p = r < 0 ? NULL : ct_find_proc(c, (pid_t)pid);
    if (r < 0) {
    } else if (!p || !pid || p->exited) {
        r = lcow_error_make(err, GCS_ERR_NOT_FOUND, "process %u not found", pid);
    } else if (p->is_init) {
        r = signal_init(c, sig, err);
        if (r < 0 && (*err)->code == GCS_ERR_SYSTEM_STOPPED) {
            lcow_error_release(err);
            r = lcow_error_make(err, GCS_ERR_NOT_FOUND, "process %u not found", pid);
        }
    } else if (kill(p->pid, sig) < 0) {
        /* Not exited under the lock: the pid is still ours (gcs reaps it). */
        r = errno == ESRCH ? lcow_error_make(err, GCS_ERR_NOT_FOUND, "process %u not found", pid)
                           : lcow_error_errno(err, "kill %u %d", pid, sig);
    }
    pthread_mutex_unlock(&ct_lock);
    return r;
}

int gcs_container_resize(struct gcs *g, const char *cid, uint32_t pid, uint16_t height,
                         uint16_t width, struct lcow_error **err)
{
    (void)g;
    struct ct_container *c = NULL;
    pthread_mutex_lock(&ct_lock);
    int r = lookup_locked(cid, &c, err);
    struct ct_proc *p = r < 0 ? NULL : ct_find_proc(c, (pid_t)pid);
    if (r < 0) {
    } else if (!p || !pid) {
        r = lcow_error_make(err, GCS_ERR_NOT_FOUND, "process %u not found", pid);
    } else if (!p->tty) {
        r = lcow_error_make(err, ENOTTY, "process %u has no console", pid);
    } else {
        int m = p->master >= 0 ? p->master : (p->is_init ? p->hold[1] : -1);
        struct winsize ws = {.ws_row = height, .ws_col = width};
        if (m >= 0 && ioctl(m, TIOCSWINSZ, &ws) < 0)
            r = lcow_error_errno(err, "resize the console of process %u", pid);
    }
    pthread_mutex_unlock(&ct_lock);
    return r;
}

int gcs_container_shutdown(struct gcs *g, const char *cid, bool forced, struct lcow_error **err)
{
    (void)g;
    struct ct_container *c = NULL;
    pthread_mutex_lock(&ct_lock);
    int r = lookup_locked(cid, &c, err);
    if (r == 0)
        r = signal_init(c, forced ? SIGKILL : SIGTERM, err);
    pthread_mutex_unlock(&ct_lock);
    return r;
}

/* ---- DeleteContainerState (§4.11) ---------------------------------------------------------- */

static int delete_container(struct gcs *g, struct ct_container *c, struct lcow_error **err)
{
    int first = 0;
    cleanup_error struct lcow_error *e = NULL;
    /* Whatever still runs goes now (the host normally deletes after the exit). */
    if (c->oc) {
        pthread_mutex_lock(&c->oc_lock);
        int r = oci_container_destroy(c->oc, &e);
        c->oc = NULL;
        pthread_mutex_unlock(&c->oc_lock);
        if (r < 0 && !first) {
            first = r;
            lcow_error_wrap(&e, "delete container `%s`", c->id);
            *err = steal_pointer(&e);
        }
        lcow_error_release(&e);
    }
    /* Undo gcs's own mounts first: a sandbox's root mounts sit inside its bundle, and with a
     * v2 pod's bundle bound onto the scratch (CombinedLayers) they would keep that bind busy. */
    int r = ct_unprepare(g, c, &e);
    if (r < 0 && !first) {
        first = r;
        *err = steal_pointer(&e);
    }
    lcow_error_release(&e);
    /* hcsshim deletes the state before removing its Plan9 shares, which live in the bundle:
     * unmount them here, or the bundle tree cannot go (and must never be walked through). */
    r = gcs_plan9_release_bundle(c->bundle, &e);
    if (r < 0 && !first) {
        first = r;
        *err = steal_pointer(&e);
    }
    lcow_error_release(&e);
    r = gcs_storage_delete_container_bundle(c->bundle, &e);
    if (r < 0 && !first) {
        first = r;
        *err = steal_pointer(&e);
    }
    lcow_error_release(&e);
    if (r == 0 && c->made_bundle && c->bundle)
        (void)rmdir(c->bundle); /* a mount point until the bind went */
    if (c->kind != CT_WORKLOAD && c->netns_id[0] && strcasecmp(c->netns_id, c->id) == 0) {
        struct gcs_network *net = gcs_network_for(g);
        if (net && gcs_network_namespace_remove(net, c->netns_id, &e) < 0)
            lcow_debug("delete %s: %s", c->id, lcow_error_message(e));
    }
    return first;
}

void gcs_container_delete_job(struct gcs *g, struct gcs_req *r)
{
    cleanup_error struct lcow_error *e = NULL;
    struct gcs_request_base b = {0};
    int rc = gcs_decode_request_base(r->payload, r->len, &b, &e);
    if (rc < 0) {
        gcs_reply_error(g, r, gcs_hresult_from_decode_error(-rc), e);
        goto out;
    }
    struct ct_container *c = NULL;
    pthread_mutex_lock(&ct_lock);
    rc = lookup_locked(b.container_id, &c, &e);
    if (rc == 0) {
        /* A sandbox goes last: its workloads use its root. */
        for (struct ct_container *x = ct_list; x && c->kind == CT_SANDBOX; x = x->next) {
            if (x != c && x->kind == CT_WORKLOAD && strcmp(x->sandbox_id, c->id) == 0) {
                rc = lcow_error_make(&e, EBUSY, "sandbox `%s` still has container `%s`", c->id,
                                     x->id);
                break;
            }
        }
    }
    if (rc == 0) {
        unlink_container(c); /* always removed from the table, even if a step fails */
        while (c->busy)
            pthread_cond_wait(&ct_cond, &ct_lock);
    }
    pthread_mutex_unlock(&ct_lock);
    if (rc < 0) {
        reply_error(g, r, e);
        goto out;
    }
    rc = delete_container(g, c, &e);
    /* The init is reaped by the reaper; its exit finds no entry any more. Waits still
     * outstanding learn the process is gone (the host reads 0x80070490 as "exited"). */
    pthread_mutex_lock(&ct_lock);
    struct ct_proc *lists[2] = {c->init, c->execs};
    for (int l = 0; l < 2; l++) {
        for (struct ct_proc *p = lists[l]; p; p = l ? p->next : NULL) {
            for (struct ct_waiter *w = p->waiters, *n; w; w = n) {
                n = w->next;
                reply_pid_not_found(g, w->req, (uint32_t)p->pid);
                gcs_req_free(w->req);
                free(w);
            }
            p->waiters = NULL;
        }
    }
    c->deleted = true;
    bool free_now = c->relays == 0; /* else the last relay thread frees it */
    bool last = ct_list == NULL;
    pthread_mutex_unlock(&ct_lock);
    if (free_now)
        ct_container_free(c);
    if (rc < 0)
        gcs_reply_error(g, r, GCS_E_FAIL, e);
    else
        gcs_reply_ok(g, r);
    if (last) /* the heap of many containers goes back (limits.h: RSS after a churn) */
        malloc_trim(0);
out:
    gcs_request_base_done(&b);
    gcs_req_free(r);
}

/* ---- ContainerConstraints (§4.9) ------------------------------------------------------------ */

int gcs_container_update(struct gcs *g, const char *cid, const struct gcs_modify_request *req,
                         struct lcow_error **err)
{
    (void)g;
    struct ct_container *c = NULL;
    int r = ct_get_busy(cid, &c, err);
    if (r < 0)
        return r;
    if (req->resource_type != GCS_RESOURCE_CONTAINER_CONSTRAINTS) {
        r = lcow_error_make(err, ENOTSUP, "the ResourceType `%s` is not supported for containers",
                            gcs_resource_type_name(req->resource_type));
        ct_put_busy(c);
        return r;
    }
    struct json_object *lin = req->settings.container_constraints.linux_resources;
    if (lin && !c->cg)
        r = lcow_error_make(err, ENOENT, "container `%s` has no cgroup", cid);
    if (lin && r == 0) {
        struct oci_linux_resources res = {0};
        r = oci_linux_resources_parse(lin, "Settings.Linux", &res, err);
        if (r == 0) {
            pthread_mutex_lock(&c->oc_lock);
            r = oci_cgroup_apply(c->cg, &res, NULL, OCI_CGROUP_UPDATE, err);
            pthread_mutex_unlock(&c->oc_lock);
            oci_linux_resources_done(&res);
        }
    }
    ct_put_busy(c);
    return r;
}

/* ---- DumpStacks ---------------------------------------------------------------------------- */

size_t gcs_container_describe(char *buf, size_t cap)
{
    static const char *const names[] = {"creating", "created", "running", "terminated"};
    size_t pos = 0;
    pthread_mutex_lock(&ct_lock);
    for (struct ct_container *c = ct_list; c && pos < cap; c = c->next) {
        unsigned n = 0;
        for (struct ct_proc *p = c->execs; p; p = p->next)
            n++;
        int k = snprintf(buf + pos, cap - pos, "container %s: %s, init %d, %u execs\n", c->id,
                         names[c->status], c->init ? (int)c->init->pid : 0, n);
        if (k > 0)
            pos = pos + (size_t)k < cap ? pos + (size_t)k : cap;
    }
    pthread_mutex_unlock(&ct_lock);
    return pos;
}
