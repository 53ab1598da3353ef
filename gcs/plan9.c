/* MappedDirectory Add/Remove (gcs-protocol.md §5.5) and the registry of Plan9 mounts. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/bridge.h"
#include "gcs/plan9.h"
#include "gcs/protocol.h"
#include "mount/mount.h"
#include "mount/plan9.h"
#include "vsock/transport.h"

struct p9_entry {
    char *path;
    bool pending; /* an Add or Remove is running on it */
    bool stuck;   /* release_under could not unmount it */
    struct p9_entry *next;
};

struct gcs_plan9 {
    pthread_mutex_t lock;
    unsigned fs_wait_ms;
    struct p9_entry *head;
};

struct gcs_plan9 *gcs_plan9_new(unsigned fs_wait_ms)
{
    struct gcs_plan9 *p = calloc(1, sizeof(*p));
    if (p) {
        pthread_mutex_init(&p->lock, NULL);
        p->fs_wait_ms = fs_wait_ms;
    }
    return p;
}

struct gcs_plan9 *gcs_plan9_free(struct gcs_plan9 *p)
{
    if (!p)
        return NULL;
    while (p->head) {
        struct p9_entry *e = p->head;
        p->head = e->next;
        free(e->path);
        free(e);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

static struct p9_entry *find_locked(struct gcs_plan9 *p, const char *path)
{
    for (struct p9_entry *e = p->head; e; e = e->next)
        if (strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

/* Makes the path visible as pending, so a concurrent Add of it fails instead of stacking. */
static int reserve(struct gcs_plan9 *p, const char *path, struct p9_entry **ret,
                   struct lcow_error **err)
{
    struct p9_entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->path = strdup(path))) {
        free(e);
        return lcow_error_make(err, ENOMEM, "MappedDirectory `%s`", path);
    }
    e->pending = true;
    pthread_mutex_lock(&p->lock);
    bool busy = find_locked(p, path) != NULL;
    if (!busy) {
        e->next = p->head;
        p->head = e;
    }
    pthread_mutex_unlock(&p->lock);
    if (busy) {
        free(e->path);
        free(e);
        return lcow_error_make(err, EBUSY, "MappedDirectory `%s` is already added", path);
    }
    *ret = e;
    return 0;
}

static void drop(struct gcs_plan9 *p, struct p9_entry *e)
{
    pthread_mutex_lock(&p->lock);
    for (struct p9_entry **pp = &p->head; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    free(e->path);
    free(e);
}

static void set_pending(struct gcs_plan9 *p, struct p9_entry *e, bool pending)
{
    pthread_mutex_lock(&p->lock);
    e->pending = pending;
    pthread_mutex_unlock(&p->lock);
}

static int add(struct gcs_plan9 *p, const struct vsock_addr *base,
               const struct gcs_mapped_directory *d, struct lcow_error **err)
{
    if (d->port <= 0)
        return lcow_error_make(err, EINVAL, "MappedDirectory: Port %d is not a port", d->port);
    struct mount_plan9_config cfg = {
        .target = d->mount_path,
        .fd = 0,
        .read_only = d->read_only,
        .share_name = d->share_name,
        .fs_wait_ms = p->fs_wait_ms,
    };
    char opts[512];
    int r = mount_plan9_options(&cfg, opts, sizeof(opts), err); /* the name, before any work */
    if (r < 0)
        return r;
    if (mount_is_mount_point_at(AT_FDCWD, d->mount_path) == 1)
        return lcow_error_make(err, EBUSY, "MappedDirectory: `%s` is already a mount point",
                               d->mount_path);
    struct p9_entry *e = NULL;
    if ((r = reserve(p, d->mount_path, &e, err)) < 0)
        return r;
    cleanup_close int fd = vsock_dial(base, (uint32_t)d->port, err);
    if (fd < 0) {
        drop(p, e);
        return lcow_error_wrap(err, "MappedDirectory `%s`: dial the host's 9p server",
                               d->mount_path);
    }
    cfg.fd = fd;
    if ((r = mount_plan9_add(&cfg, err)) < 0) {
        drop(p, e);
        return r;
    }
    set_pending(p, e, false);
    return 0;
}

static int remove_share(struct gcs_plan9 *p, const struct gcs_mapped_directory *d,
                        struct lcow_error **err)
{
    pthread_mutex_lock(&p->lock);
    struct p9_entry *e = find_locked(p, d->mount_path);
    int r = 0;
    struct stat st;
    if (!e && lstat(d->mount_path, &st) < 0 && errno == ENOENT)
        r = 1; /* already gone (released with its bundle): done, as the Go GCS answers */
    else if (!e)
        r = lcow_error_make(err, ENOENT, "MappedDirectory Remove: `%s` was not added",
                            d->mount_path);
    else if (e->pending)
        r = lcow_error_make(err, EBUSY, "MappedDirectory Remove: `%s` is being added or removed",
                            d->mount_path);
    else
        e->pending = true;
    pthread_mutex_unlock(&p->lock);
    if (r != 0)
        return r < 0 ? r : 0;
    if ((r = mount_plan9_remove(d->mount_path, err)) < 0) {
        set_pending(p, e, false); /* still mounted: a later Remove may succeed */
        return r;
    }
    drop(p, e);
    return 0;
}

int gcs_plan9_apply(struct gcs_plan9 *p, const struct vsock_addr *base,
                    const struct gcs_modify_request *req, struct lcow_error **err)
{
    const struct gcs_mapped_directory *d = &req->settings.mapped_directory;
    if (!d->mount_path || !*d->mount_path)
        return lcow_error_make(err, EINVAL, "MappedDirectory: MountPath is empty");
    switch (req->request_type) {
    case GCS_REQUEST_ADD: {
        int r = mount_validate_run_path(d->mount_path, "MountPath", false, err);
        return r < 0 ? r : add(p, base, d, err);
    }
    case GCS_REQUEST_REMOVE:
        /* Only a path this registry added (and validated then) is removed. It is not looked
         * at again first: once the host's server is gone, stat of the mount point is EIO. */
        return remove_share(p, d, err);
    default:
        return lcow_error_make(err, ENOTSUP, "MappedDirectory: RequestType `%s` is not supported",
                               req->request_type_name ? req->request_type_name : "");
    }
}

int gcs_plan9_track(struct gcs_plan9 *p, const char *path, struct lcow_error **err)
{
    struct p9_entry *e = NULL;
    int r = reserve(p, path, &e, err);
    if (r == 0)
        set_pending(p, e, false);
    return r;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Claims one settled entry under dir (marks it pending), or NULL. */
static struct p9_entry *claim_under(struct gcs_plan9 *p, const char *dir)
{
    pthread_mutex_lock(&p->lock);
    struct p9_entry *e = p->head;
    while (e && (e->pending || !under(e->path, dir)))
        e = e->next;
    if (e)
        e->pending = true;
    pthread_mutex_unlock(&p->lock);
    return e;
}

int gcs_plan9_release_under(struct gcs_plan9 *p, const char *dir, struct lcow_error **err)
{
    int first = 0;
    struct p9_entry *e;
    /* An entry that fails stays claimed (pending, so it is not picked again) until the end. */
    while ((e = claim_under(p, dir)) != NULL) {
        struct lcow_error *e2 = NULL;
        int r = mount_plan9_remove(e->path, &e2);
        if (r == 0) {
            drop(p, e);
            continue;
        }
        e->stuck = true;
        if (!first) {
            first = r;
            if (err && !*err)
                *err = steal_pointer(&e2);
        }
        lcow_error_release(&e2);
    }
    pthread_mutex_lock(&p->lock);
    for (e = p->head; e; e = e->next) {
        if (e->stuck) {
            e->stuck = false;
            e->pending = false;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return first;
}

static struct gcs_plan9 *registry;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_init(void)
{
    registry = gcs_plan9_new(GCS_PLAN9_FS_WAIT_MS);
}

int gcs_plan9_release_bundle(const char *dir, struct lcow_error **err)
{
    pthread_once(&registry_once, registry_init);
    if (!registry)
        return lcow_error_make(err, ENOMEM, "plan9 registry");
    return gcs_plan9_release_under(registry, dir, err);
}

int gcs_plan9_mapped_directory(struct gcs *g, const struct gcs_modify_request *req,
                               struct lcow_error **err)
{
    pthread_once(&registry_once, registry_init);
    if (!registry)
        return lcow_error_make(err, ENOMEM, "plan9 registry");
    return gcs_plan9_apply(registry, &g->stdio_addr, req, err);
}
