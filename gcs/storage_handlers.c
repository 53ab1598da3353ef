/* The ModifySettings table rows for storage (gcs/modify.h): they build the mount environment
 * from gcs's options and run the request against the process-wide registry. Kept apart from
 * storage.c so test programs can link the registry without the bridge. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

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

/* -sysfs-root / -dev-root are test hooks (fake trees, loop devices); production uses /sys, /dev.
 * GCS_DEVICE_TIMEOUT_MS lets host-run tests shorten the bounded device wait. */
/* mkfs children go through gcs's one reaper (gcs/reaper.h), never a private wait. */
static int reaper_wait(pid_t pid, int *ret_status, void *ctx)
{
    return gcs_reaper_wait(pid, ret_status);
}

static void env_from(const struct gcs *g, struct mount_env *env)
{
    mount_env_init(env);
    env->wait_child = reaper_wait;
    const struct gcs_options *o = gcs_get_options(g);
    if (o->sysfs_root && *o->sysfs_root)
        env->sysfs_root = o->sysfs_root;
    if (o->dev_root && *o->dev_root)
        env->dev_root = o->dev_root;
    const char *t = getenv("GCS_DEVICE_TIMEOUT_MS");
    if (t && *t) {
        char *end = NULL;
        unsigned long ms = strtoul(t, &end, 10);
        if (*end == '\0' && ms > 0 && ms <= 600000)
            env->device_timeout_ms = (unsigned)ms;
    }
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
