/* The ModifySettings table rows for storage (gcs/modify.h): they build the mount environment
 * from gcs's options and run the request against the process-wide registry. Kept apart from
 * storage.c so test programs can link the registry without the bridge. */
#include <errno.h>
#include <pthread.h>

#include "gcs/modify.h"
#include "gcs/options.h"
#include "gcs/reaper.h"
#include "gcs/storage.h"

static struct gcs_storage *registry;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_init(void)
{
    registry = gcs_storage_new();
}

struct gcs_storage *gcs_storage_default(void)
{
    pthread_once(&registry_once, registry_init);
    return registry;
}

/* mkfs children go through gcs's one reaper (gcs/reaper.h), never a private wait. */
static int reaper_wait(pid_t pid, int *ret_status, void *ctx)
{
    return gcs_reaper_wait(pid, ret_status);
}

/* -sysfs-root / -dev-root are test hooks (fake trees, loop devices); production uses /sys, /dev.
 * -device-timeout-ms bounds the SCSI host and disk waits. */
static void env_from(const struct gcs *g, struct mount_env *env)
{
    mount_env_init(env);
    env->wait_child = reaper_wait;
    const struct gcs_options *o = gcs_get_options(g);
    if (o->sysfs_root && *o->sysfs_root)
        env->sysfs_root = o->sysfs_root;
    if (o->dev_root && *o->dev_root)
        env->dev_root = o->dev_root;
    if (o->device_timeout_ms > 0)
        env->device_timeout_ms = o->device_timeout_ms;
}

static int run(struct gcs *g, const struct gcs_modify_request *req, struct lcow_error **err)
{
    struct gcs_storage *s = gcs_storage_default();
    if (!s)
        return lcow_error_make(err, ENOMEM, "storage registry");
    struct mount_env env;
    env_from(g, &env);
    return gcs_storage_apply(s, &env, req, err);
}

int gcs_storage_mapped_virtual_disk(struct gcs *g, const struct gcs_modify_request *req,
                                    struct lcow_error **err)
{
    return run(g, req, err);
}

int gcs_storage_scsi_device(struct gcs *g, const struct gcs_modify_request *req,
                            struct lcow_error **err)
{
    return run(g, req, err);
}

int gcs_storage_vpmem_device(struct gcs *g, const struct gcs_modify_request *req,
                             struct lcow_error **err)
{
    return run(g, req, err);
}

int gcs_storage_combined_layers(struct gcs *g, const struct gcs_modify_request *req,
                                struct lcow_error **err)
{
    return run(g, req, err);
}

int gcs_storage_delete_container_bundle(const char *bundle_dir, struct lcow_error **err)
{
    struct gcs_storage *s = gcs_storage_default();
    if (!s)
        return lcow_error_make(err, ENOMEM, "storage registry");
    return gcs_storage_release_bundle(s, bundle_dir, err);
}
