/* Storage ModifySettings requests and the registry of what gcs mounted (see storage.h). */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "gcs/protocol.h"
#include "gcs/storage.h"
#include "mount/devmapper.h"
#include "mount/scsi.h"

enum entry_kind {
    ENTRY_SCSI,
    ENTRY_PMEM,
    ENTRY_OVERLAY,
    ENTRY_BUNDLE, /* a bundle bind that outlived its overlay (until DeleteContainerState) */
};

static const char *const kind_names[] = {
    [ENTRY_SCSI] = "MappedVirtualDisk",
    [ENTRY_PMEM] = "VPMemDevice",
    [ENTRY_OVERLAY] = "CombinedLayers",
    [ENTRY_BUNDLE] = "CombinedLayers bundle bind",
};

struct entry {
    struct entry *next;
    enum entry_kind kind;
    char *path;   /* MountPath or ContainerRootPath: the key */
    bool pending; /* an Add or Remove of it is running */
    /* SCSI */
    uint8_t controller, lun;
    bool block_dev;
    /* VPMem */
    struct mount_pmem_config pmem;
    /* CombinedLayers: the bundle dir bound onto <scratch>/bundle, if any */
    char *bundle_bound;
};

struct gcs_storage {
    pthread_mutex_t lock;
    struct entry *head;
};

struct gcs_storage *gcs_storage_new(void)
{
    struct gcs_storage *s = calloc(1, sizeof(*s));
    if (s)
        pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->path);
    free(e->bundle_bound);
    free(e);
}

struct gcs_storage *gcs_storage_free(struct gcs_storage *s)
{
    if (!s)
        return NULL;
    for (struct entry *e = s->head, *n; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}

unsigned gcs_storage_count(struct gcs_storage *s)
{
    unsigned n = 0;
    pthread_mutex_lock(&s->lock);
    for (struct entry *e = s->head; e; e = e->next)
        n++;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* kind < 0: an entry of any kind at `path`. */
static struct entry *find_locked(struct gcs_storage *s, const char *path, int kind)
{
    for (struct entry *e = s->head; e; e = e->next)
        if (!strcmp(e->path, path) && (kind < 0 || e->kind == (enum entry_kind)kind))
            return e;
    return NULL;
}

/* Reserves `path` for an Add: the entry is visible (pending) so a concurrent Add of the same
 * path fails instead of stacking a second mount. */
static int reserve(struct gcs_storage *s, enum entry_kind kind, const char *path,
                   struct entry **ret, struct lcow_error **err)
{
    struct entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->path = strdup(path))) {
        free(e);
        return lcow_error_make(err, ENOMEM, "%s `%s`", kind_names[kind], path);
    }
    e->kind = kind;
    e->pending = true;
    pthread_mutex_lock(&s->lock);
    struct entry *old = find_locked(s, path, -1);
    if (old) {
        enum entry_kind ok = old->kind;
        pthread_mutex_unlock(&s->lock);
        entry_free(e);
        return lcow_error_make(err, EBUSY, "`%s` is already in use by a %s", path, kind_names[ok]);
    }
    e->next = s->head;
    s->head = e;
    pthread_mutex_unlock(&s->lock);
    *ret = e;
    return 0;
}

static void unlink_entry(struct gcs_storage *s, struct entry *e)
{
    pthread_mutex_lock(&s->lock);
    for (struct entry **pp = &s->head; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    entry_free(e);
}

static void settle(struct gcs_storage *s, struct entry *e)
{
    pthread_mutex_lock(&s->lock);
    e->pending = false;
    pthread_mutex_unlock(&s->lock);
}

/* Claims an existing entry for Remove. Never-added paths and busy entries are errors. */
static int claim(struct gcs_storage *s, enum entry_kind kind, const char *path, struct entry **ret,
                 struct lcow_error **err)
{
    pthread_mutex_lock(&s->lock);
    struct entry *e = find_locked(s, path, (int)kind);
    int r = 0;
    if (!e)
        r = lcow_error_make(err, ENOENT, "%s Remove: `%s` was not added", kind_names[kind], path);
    else if (e->pending)
        r = lcow_error_make(err, EBUSY, "%s Remove: `%s` is being added or removed",
                            kind_names[kind], path);
    else
        e->pending = true;
    pthread_mutex_unlock(&s->lock);
    if (r == 0)
        *ret = e;
    return r;
}

static int unsupported_request(const struct gcs_modify_request *req, struct lcow_error **err)
{
    return lcow_error_make(err, EOPNOTSUPP, "the RequestType `%s` is not supported for %s",
                           req->request_type_name && *req->request_type_name
                               ? req->request_type_name
                               : gcs_request_type_name(req->request_type),
                           gcs_resource_type_name(req->resource_type));
}

/* ---- MappedVirtualDisk -------------------------------------------------------------------- */

/* BlockDev (§5.2 step 4): a symlink to the disk instead of a mount. */
static int link_block_dev(const char *dev, const char *path, struct lcow_error **err)
{
    cleanup_free char *copy = strdup(path);
    cleanup_free char *created = NULL;
    if (!copy)
        return lcow_error_make(err, ENOMEM, "BlockDev `%s`", path);
    int r = mount_mkdir_p(dirname(copy), 0700, &created, err);
    if (r < 0)
        return r;
    if (symlink(dev, path) < 0) {
        r = lcow_error_errno(err, "symlink `%s` -> `%s`", path, dev);
        if (created)
            (void)mount_remove_tree(created, NULL);
        return r;
    }
    return 0;
}

static int scsi_add(struct gcs_storage *s, const struct mount_env *env,
                    const struct gcs_mapped_virtual_disk *d, struct lcow_error **err)
{
    if (d->encrypted)
        return lcow_error_make(err, EOPNOTSUPP,
                               "MappedVirtualDisk: Encrypted (dm-crypt with integrity) scratch is "
                               "not supported");
    if (d->verity_info)
        return lcow_error_make(err, EOPNOTSUPP, "MappedVirtualDisk: VerityInfo is not supported");
    int r = mount_scsi_validate(d->controller, d->lun, d->partition, err);
    if (r < 0)
        return lcow_error_wrap(err, "MappedVirtualDisk");
    cleanup_free char *dev = NULL;
    if (!d->mount_path || !*d->mount_path) /* §5.2 step 3: attach only */
        return mount_scsi_wait_device(env, d->controller, d->lun, d->partition, &dev, err);
    r = mount_validate_run_path(d->mount_path, "MountPath", false, err);
    if (r < 0)
        return r;
    struct entry *e = NULL;
    r = reserve(s, ENTRY_SCSI, d->mount_path, &e, err);
    if (r < 0)
        return r;
    e->controller = d->controller;
    e->lun = d->lun;
    e->block_dev = d->block_dev;
    r = mount_scsi_wait_device(env, d->controller, d->lun, d->partition, &dev, err);
    if (r == 0 && d->block_dev) {
        r = link_block_dev(dev, d->mount_path, err);
    } else if (r == 0) {
        struct mount_block_config bc = {
            .source = dev,
            .target = d->mount_path,
            .filesystem = d->filesystem,
            .read_only = d->read_only,
            .ensure_filesystem = d->ensure_filesystem,
            .options = d->options,
        };
        r = mount_block_device(env, &bc, err);
    }
    if (r < 0) {
        unlink_entry(s, e);
        return lcow_error_wrap(err, "MappedVirtualDisk Add (controller %u, lun %u)", d->controller,
                               d->lun);
    }
    settle(s, e);
    lcow_info("storage: SCSI %u:%u (%s) at `%s`%s", d->controller, d->lun, dev, d->mount_path,
              d->block_dev ? " (block device link)" : "");
    return 0;
}

static int scsi_remove(struct gcs_storage *s, const struct gcs_mapped_virtual_disk *d,
                       struct lcow_error **err)
{
    if (!d->mount_path || !*d->mount_path)
        return 0; /* an attach-only Add mounted nothing */
    int r = mount_validate_run_path(d->mount_path, "MountPath", true, err);
    if (r < 0)
        return r;
    struct entry *e = NULL;
    r = claim(s, ENTRY_SCSI, d->mount_path, &e, err);
    if (r < 0)
        return r;
    if (e->block_dev) {
        struct stat st;
        if (lstat(e->path, &st) == 0 && !S_ISLNK(st.st_mode))
            r = lcow_error_make(err, EINVAL, "BlockDev `%s` is no longer a symlink", e->path);
        else if (unlink(e->path) < 0 && errno != ENOENT)
            r = lcow_error_errno(err, "unlink `%s`", e->path);
    } else {
        r = mount_unmount_and_remove(e->path, err);
    }
    if (r < 0) {
        settle(s, e);
        return lcow_error_wrap(err, "MappedVirtualDisk Remove");
    }
    lcow_info("storage: SCSI %u:%u removed from `%s`", e->controller, e->lun, e->path);
    unlink_entry(s, e);
    return 0;
}

static int apply_mapped_virtual_disk(struct gcs_storage *s, const struct mount_env *env,
                                     const struct gcs_modify_request *req, struct lcow_error **err)
{
    const struct gcs_mapped_virtual_disk *d = &req->settings.mapped_virtual_disk;
    switch (req->request_type) {
    case GCS_REQUEST_ADD:
        return scsi_add(s, env, d, err);
    case GCS_REQUEST_REMOVE:
        return scsi_remove(s, d, err);
    default:
        return unsupported_request(req, err);
    }
}

/* ---- SCSIDevice ---------------------------------------------------------------------------- */

static int apply_scsi_device(struct gcs_storage *s, const struct mount_env *env,
                             const struct gcs_modify_request *req, struct lcow_error **err)
{
    const struct gcs_scsi_device *d = &req->settings.scsi_device;
    if (req->request_type != GCS_REQUEST_REMOVE)
        return unsupported_request(req, err);
    int r = mount_scsi_validate(d->controller, d->lun, 0, err);
    if (r < 0)
        return lcow_error_wrap(err, "SCSIDevice");
    /* Unplugging a disk under a live mount would leave the mount on a dead device. */
    pthread_mutex_lock(&s->lock);
    for (struct entry *e = s->head; e && r == 0; e = e->next)
        if (e->kind == ENTRY_SCSI && e->controller == d->controller && e->lun == d->lun)
            r = lcow_error_make(err, EBUSY,
                                "SCSIDevice Remove (controller %u, lun %u): still in use at `%s`",
                                d->controller, d->lun, e->path);
    pthread_mutex_unlock(&s->lock);
    if (r < 0)
        return r;
    r = mount_scsi_delete_device(env, d->controller, d->lun, err);
    if (r < 0)
        return lcow_error_wrap(err, "SCSIDevice Remove");
    lcow_info("storage: SCSI %u:%u deleted", d->controller, d->lun);
    return 0;
}

/* ---- VPMemDevice --------------------------------------------------------------------------- */

static void pmem_config(const struct gcs_vpmem_device *d, struct mount_pmem_config *c)
{
    *c = (struct mount_pmem_config){
        .device_number = d->device_number,
        .target = d->mount_path,
        .mapped = d->has_mapping_info,
        .offset_bytes = d->mapping_info.device_offset_in_bytes,
        .size_bytes = d->mapping_info.device_size_in_bytes,
    };
}

/* Two mappings with the same device, offset and size would need the same dm name. */
static int check_dm_name_free(struct gcs_storage *s, const struct mount_pmem_config *c,
                              struct lcow_error **err)
{
    int r = 0;
    pthread_mutex_lock(&s->lock);
    for (struct entry *e = s->head; e && r == 0; e = e->next)
        if (e->kind == ENTRY_PMEM && e->pmem.mapped && c->mapped &&
            e->pmem.device_number == c->device_number && e->pmem.offset_bytes == c->offset_bytes &&
            e->pmem.size_bytes == c->size_bytes && strcmp(e->path, c->target) != 0)
            r = lcow_error_make(err, EBUSY,
                                "VPMemDevice %u mapping at %llu is already mounted at `%s`",
                                c->device_number, (unsigned long long)c->offset_bytes, e->path);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static int pmem_add(struct gcs_storage *s, const struct mount_env *env,
                    const struct gcs_vpmem_device *d, struct lcow_error **err)
{
    if (d->verity_info)
        return lcow_error_make(err, EOPNOTSUPP, "VPMemDevice: VerityInfo is not supported");
    int r = mount_validate_run_path(d->mount_path, "MountPath", false, err);
    if (r < 0)
        return r;
    struct mount_pmem_config c;
    pmem_config(d, &c);
    struct entry *e = NULL;
    r = reserve(s, ENTRY_PMEM, d->mount_path, &e, err);
    if (r < 0)
        return r;
    e->pmem = c;
    e->pmem.target = e->path;
    r = check_dm_name_free(s, &c, err);
    if (r == 0)
        r = mount_pmem_add(env, &c, err);
    if (r < 0) {
        unlink_entry(s, e);
        return lcow_error_wrap(err, "VPMemDevice Add (device %u)", d->device_number);
    }
    settle(s, e);
    lcow_info("storage: VPMem %u%s at `%s`", d->device_number,
              c.mapped ? " (dm-linear window)" : "", d->mount_path);
    return 0;
}

static int pmem_remove(struct gcs_storage *s, const struct mount_env *env,
                       const struct gcs_vpmem_device *d, struct lcow_error **err)
{
    int r = mount_validate_run_path(d->mount_path, "MountPath", false, err);
    if (r < 0)
        return r;
    struct entry *e = NULL;
    r = claim(s, ENTRY_PMEM, d->mount_path, &e, err);
    if (r < 0)
        return r;
    /* What was added decides what is torn down, not what the Remove repeats. */
    r = mount_pmem_remove(env, &e->pmem, err);
    if (r < 0) {
        settle(s, e);
        return lcow_error_wrap(err, "VPMemDevice Remove (device %u)", d->device_number);
    }
    lcow_info("storage: VPMem %u removed from `%s`", d->device_number, e->path);
    unlink_entry(s, e);
    return 0;
}

static int apply_vpmem_device(struct gcs_storage *s, const struct mount_env *env,
                              const struct gcs_modify_request *req, struct lcow_error **err)
{
    const struct gcs_vpmem_device *d = &req->settings.vpmem_device;
    switch (req->request_type) {
    case GCS_REQUEST_ADD:
        return pmem_add(s, env, d, err);
    case GCS_REQUEST_REMOVE:
        return pmem_remove(s, env, d, err);
    default:
        return unsupported_request(req, err);
    }
}

/* ---- CombinedLayers ------------------------------------------------------------------------ */

static int validate_layers(const struct gcs_combined_layers *c, struct lcow_error **err)
{
    if (c->n_layers == 0)
        return lcow_error_make(err, EINVAL, "CombinedLayers: Layers is empty");
    for (size_t i = 0; i < c->n_layers; i++) {
        char what[48];
        snprintf(what, sizeof(what), "Layers[%zu].Path", i);
        int r = mount_validate_run_path(c->layers[i].path, what, false, err);
        if (r < 0)
            return r;
    }
    if (c->scratch_path && *c->scratch_path)
        return mount_validate_run_path(c->scratch_path, "ScratchPath", false, err);
    return 0;
}

static int overlay_add(struct gcs_storage *s, const struct gcs_combined_layers *c,
                       struct lcow_error **err)
{
    int r = mount_validate_run_path(c->container_root_path, "ContainerRootPath", false, err);
    if (r < 0)
        return r;
    r = validate_layers(c, err);
    if (r < 0)
        return r;
    cleanup_free const char **paths = calloc(c->n_layers, sizeof(*paths));
    if (!paths)
        return lcow_error_make(err, ENOMEM, "CombinedLayers");
    for (size_t i = 0; i < c->n_layers; i++)
        paths[i] = c->layers[i].path;
    struct entry *e = NULL;
    r = reserve(s, ENTRY_OVERLAY, c->container_root_path, &e, err);
    if (r < 0)
        return r;
    struct mount_overlay_config oc = {
        .layers = paths,
        .n_layers = c->n_layers,
        .scratch = c->scratch_path,
        .rootfs = c->container_root_path,
    };
    bool bound = false;
    r = mount_overlay_add(&oc, &bound, err);
    if (r == 0 && bound) {
        cleanup_free char *copy = strdup(c->container_root_path);
        if (!copy || !(e->bundle_bound = strdup(dirname(copy))))
            lcow_warn("storage: out of memory recording the bundle bind of `%s`", e->path);
    }
    if (r < 0) {
        unlink_entry(s, e);
        return lcow_error_wrap(err, "CombinedLayers Add");
    }
    settle(s, e);
    lcow_info("storage: overlay of %zu layers at `%s`%s", c->n_layers, e->path,
              c->scratch_path && *c->scratch_path ? "" : " (read-only)");
    return 0;
}

/* Records a bundle bind whose overlay is gone. No path-conflict check: the bind exists whatever
 * else is recorded at that path, and DeleteContainerState must still find it. */
static void keep_bundle(struct gcs_storage *s, char *bundle)
{
    struct entry *b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(bundle))) {
        lcow_warn("storage: out of memory recording the bundle bind of `%s`", bundle);
        free(b);
        free(bundle);
        return;
    }
    b->kind = ENTRY_BUNDLE;
    b->bundle_bound = bundle;
    pthread_mutex_lock(&s->lock);
    b->next = s->head;
    s->head = b;
    pthread_mutex_unlock(&s->lock);
}

static int overlay_remove(struct gcs_storage *s, const struct gcs_combined_layers *c,
                          struct lcow_error **err)
{
    int r = mount_validate_run_path(c->container_root_path, "ContainerRootPath", false, err);
    if (r < 0)
        return r;
    struct entry *e = NULL;
    r = claim(s, ENTRY_OVERLAY, c->container_root_path, &e, err);
    if (r < 0)
        return r;
    r = mount_unmount_and_remove(e->path, err);
    if (r < 0) {
        settle(s, e);
        return lcow_error_wrap(err, "CombinedLayers Remove");
    }
    /* The bundle bind outlives the rootfs (config.json lives there) until DeleteContainerState;
     * keep it recorded under its own key. */
    char *bundle = steal_pointer(&e->bundle_bound);
    unlink_entry(s, e);
    if (bundle)
        keep_bundle(s, bundle);
    lcow_info("storage: overlay removed from `%s`", c->container_root_path);
    return 0;
}

static int apply_combined_layers(struct gcs_storage *s, const struct mount_env *env,
                                 const struct gcs_modify_request *req, struct lcow_error **err)
{
    const struct gcs_combined_layers *c = &req->settings.combined_layers;
    switch (req->request_type) {
    case GCS_REQUEST_ADD:
        return overlay_add(s, c, err);
    case GCS_REQUEST_REMOVE:
        return overlay_remove(s, c, err);
    default:
        return unsupported_request(req, err);
    }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

typedef int (*apply_fn)(struct gcs_storage *s, const struct mount_env *env,
                        const struct gcs_modify_request *req, struct lcow_error **err);

static const struct {
    enum gcs_resource_type type;
    apply_fn fn;
} apply_table[] = {
    {GCS_RESOURCE_MAPPED_VIRTUAL_DISK, apply_mapped_virtual_disk},
    {GCS_RESOURCE_SCSI_DEVICE, apply_scsi_device},
    {GCS_RESOURCE_VPMEM_DEVICE, apply_vpmem_device},
    {GCS_RESOURCE_COMBINED_LAYERS, apply_combined_layers},
};

int gcs_storage_apply(struct gcs_storage *s, const struct mount_env *env,
                      const struct gcs_modify_request *req, struct lcow_error **err)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(apply_table); i++)
        if (apply_table[i].type == req->resource_type)
            return apply_table[i].fn(s, env, req, err);
    return lcow_error_make(err, EOPNOTSUPP, "storage: resource type %d is not a storage resource",
                           (int)req->resource_type);
}

int gcs_storage_release_bundle(struct gcs_storage *s, const char *bundle_dir,
                               struct lcow_error **err)
{
    struct entry *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (struct entry *e = s->head; e; e = e->next)
        if (e->bundle_bound && !strcmp(e->bundle_bound, bundle_dir) && !e->pending) {
            found = e;
            e->pending = true;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    if (!found)
        return 0;
    int r = mount_unmount_all(bundle_dir, err);
    if (r < 0) {
        settle(s, found);
        return lcow_error_wrap(err, "detach the bundle bind");
    }
    if (found->kind == ENTRY_BUNDLE) {
        unlink_entry(s, found);
    } else {
        free(found->bundle_bound);
        found->bundle_bound = NULL;
        settle(s, found);
    }
    return 0;
}
