/* The container rootfs overlay of gcs-protocol.md §5.4: lowerdirs in the host's order (top-most
 * first), upper/work under the scratch (read-only without one), and the bundle-on-scratch bind
 * for a scratch shared with the sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "mount/mount.h"

/* mount(2) copies at most one page of option data. */
#define OVERLAY_DATA_MAX 4096

/* Characters that would split overlay's option string or its lowerdir list. */
static int check_layer_chars(const char *what, const char *path, struct lcow_error **err)
{
    if (strpbrk(path, ",:\\"))
        return lcow_error_make(err, EINVAL, "%s `%s` contains `,`, `:` or `\\`", what, path);
    return 0;
}

static bool has_scratch(const struct mount_overlay_config *cfg)
{
    return cfg->scratch && *cfg->scratch;
}

int mount_overlay_options(const struct mount_overlay_config *cfg, char **ret,
                          struct lcow_error **err)
{
    if (cfg->n_layers == 0)
        return lcow_error_make(err, EINVAL, "Layers is empty");
    if (cfg->n_layers > MOUNT_OVERLAY_MAX_LAYERS)
        return lcow_error_make(err, EINVAL, "%zu layers, at most %d", cfg->n_layers,
                               MOUNT_OVERLAY_MAX_LAYERS);
    size_t need = sizeof("lowerdir=");
    for (size_t i = 0; i < cfg->n_layers; i++) {
        int r = check_layer_chars("layer path", cfg->layers[i], err);
        if (r < 0)
            return r;
        need += strlen(cfg->layers[i]) + 1;
    }
    if (has_scratch(cfg)) {
        int r = check_layer_chars("ScratchPath", cfg->scratch, err);
        if (r < 0)
            return r;
        need += 2 * strlen(cfg->scratch) + sizeof(",upperdir=/upper,workdir=/work");
    }
    char *s = malloc(need);
    if (!s)
        return lcow_error_make(err, ENOMEM, "overlay options");
    size_t pos = (size_t)snprintf(s, need, "lowerdir=");
    for (size_t i = 0; i < cfg->n_layers; i++)
        pos += (size_t)snprintf(s + pos, need - pos, "%s%s", i ? ":" : "", cfg->layers[i]);
    if (has_scratch(cfg))
        snprintf(s + pos, need - pos, ",upperdir=%s/upper,workdir=%s/work", cfg->scratch,
                 cfg->scratch);
    *ret = s;
    return 0;
}

bool mount_overlay_needs_bundle_bind(const char *rootfs, const char *scratch)
{
    if (!scratch || !*scratch || !rootfs)
        return false;
    cleanup_free char *copy = strdup(rootfs);
    if (!copy)
        return false;
    const char *bundle = dirname(copy);
    size_t n = strlen(bundle);
    bool under = strncmp(scratch, bundle, n) == 0 && (scratch[n] == '/' || scratch[n] == '\0');
    return !under;
}

/* Records what an Add created so a failure can undo it in reverse order. */
struct overlay_undo {
    char *scratch_created;
    char *bundle_src_created;
    char *bundle_created;
    const char *bundle_bound; /* mount point of the bundle bind */
    char *rootfs_created;
};

static void undo_overlay(struct overlay_undo *u)
{
    if (u->rootfs_created)
        (void)mount_remove_tree(u->rootfs_created, NULL);
    if (u->bundle_bound)
        (void)umount2(u->bundle_bound, MNT_DETACH);
    if (u->bundle_created)
        (void)mount_remove_tree(u->bundle_created, NULL);
    if (u->bundle_src_created)
        (void)mount_remove_tree(u->bundle_src_created, NULL);
    if (u->scratch_created)
        (void)mount_remove_tree(u->scratch_created, NULL);
}

static void free_undo(struct overlay_undo *u)
{
    free(u->scratch_created);
    free(u->bundle_src_created);
    free(u->bundle_created);
    free(u->rootfs_created);
}

static int make_scratch_dirs(const char *scratch, struct overlay_undo *u, struct lcow_error **err)
{
    cleanup_free char *upper = NULL, *work = NULL;
    if (asprintf(&upper, "%s/upper", scratch) < 0 || asprintf(&work, "%s/work", scratch) < 0)
        return lcow_error_make(err, ENOMEM, "overlay scratch");
    int r = mount_mkdir_p(upper, 0755, &u->scratch_created, err);
    if (r < 0)
        return r;
    char *w_created = NULL;
    r = mount_mkdir_p(work, 0755, u->scratch_created ? NULL : &w_created, err);
    if (!u->scratch_created)
        u->scratch_created = w_created;
    return r;
}

/* §5.4: keep the bundle disk-backed by binding <scratch>/bundle onto dirname(rootfs). */
static int bind_bundle(const char *rootfs, const char *scratch, struct overlay_undo *u,
                       struct lcow_error **err)
{
    cleanup_free char *copy = strdup(rootfs);
    cleanup_free char *src = NULL;
    if (!copy || asprintf(&src, "%s/bundle", scratch) < 0)
        return lcow_error_make(err, ENOMEM, "bundle bind");
    const char *bundle = dirname(copy);
    int r = mount_mkdir_p(src, 0755, &u->bundle_src_created, err);
    if (r < 0)
        return r;
    r = mount_mkdir_p(bundle, 0755, &u->bundle_created, err);
    if (r < 0)
        return r;
    if (mount(src, bundle, NULL, MS_BIND, NULL) < 0)
        return lcow_error_errno(err, "bind `%s` onto `%s`", src, bundle);
    return 0;
}

/* overlayfs refuses a single lowerdir without an upperdir; the read-only view of one layer is
 * a read-only bind of it. */
static int bind_single_layer(const char *layer, const char *rootfs, struct lcow_error **err)
{
    if (mount(layer, rootfs, NULL, MS_BIND, NULL) < 0)
        return lcow_error_errno(err, "bind `%s` onto `%s`", layer, rootfs);
    if (mount(NULL, rootfs, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
        int r = lcow_error_errno(err, "remount `%s` read-only", rootfs);
        (void)umount2(rootfs, MNT_DETACH);
        return r;
    }
    return 0;
}

static int overlay_mount_all(const struct mount_overlay_config *cfg, const char *data,
                             bool *ret_bundle_bound, struct lcow_error **err);

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
}

/* mount(2) reads one page of options, which about 100 long layer paths exceed. Then each layer
 * is opened (O_PATH) and named as /proc/self/fd/N, which overlayfs resolves like any path; the
 * fds only need to live until the mount has taken its own references. */
static int short_options(const struct mount_overlay_config *cfg, char **ret, int **ret_fds,
                         struct lcow_error **err)
{
    int *fds = malloc(cfg->n_layers * sizeof(int));
    char **names = calloc(cfg->n_layers, sizeof(char *));
    int r = fds && names ? 0 : lcow_error_make(err, ENOMEM, "overlay options");
    for (size_t i = 0; fds && i < cfg->n_layers; i++)
        fds[i] = -1;
    for (size_t i = 0; r == 0 && i < cfg->n_layers; i++) {
        fds[i] = open(cfg->layers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fds[i] < 0)
            r = lcow_error_errno(err, "open layer `%s`", cfg->layers[i]);
        else if (asprintf(&names[i], "/proc/self/fd/%d", fds[i]) < 0)
            r = lcow_error_make(err, ENOMEM, "overlay options");
    }
    if (r == 0) {
        struct mount_overlay_config short_cfg = *cfg;
        short_cfg.layers = (const char *const *)names;
        r = mount_overlay_options(&short_cfg, ret, err);
    }
    for (size_t i = 0; names && i < cfg->n_layers; i++)
        free(names[i]);
    free(names);
    if (r < 0) {
        if (fds)
            close_fds(fds, cfg->n_layers);
        return r;
    }
    *ret_fds = fds;
    return 0;
}

int mount_overlay_add(const struct mount_overlay_config *cfg, bool *ret_bundle_bound,
                      struct lcow_error **err)
{
    cleanup_free char *data = NULL;
    int r = mount_overlay_options(cfg, &data, err);
    if (r < 0)
        return r;
    int *layer_fds = NULL;
    if (strlen(data) >= OVERLAY_DATA_MAX) {
        free(data);
        data = NULL;
        r = short_options(cfg, &data, &layer_fds, err);
        if (r < 0)
            return r;
        if (strlen(data) >= OVERLAY_DATA_MAX) {
            close_fds(layer_fds, cfg->n_layers);
            return lcow_error_make(err, E2BIG, "overlay options are %zu bytes, over one page",
                                   strlen(data));
        }
    }
    r = overlay_mount_all(cfg, data, ret_bundle_bound, err);
    if (layer_fds)
        close_fds(layer_fds, cfg->n_layers);
    return r;
}

static int overlay_mount_all(const struct mount_overlay_config *cfg, const char *data,
                             bool *ret_bundle_bound, struct lcow_error **err)
{
    int r = 0;
    struct overlay_undo u = {0};
    cleanup_free char *bundle_copy = strdup(cfg->rootfs);
    if (!bundle_copy)
        return lcow_error_make(err, ENOMEM, "overlay");
    const char *bundle = dirname(bundle_copy);
    bool bound = false;
    if (has_scratch(cfg)) {
        r = make_scratch_dirs(cfg->scratch, &u, err);
        if (r < 0)
            goto fail;
        if (mount_overlay_needs_bundle_bind(cfg->rootfs, cfg->scratch)) {
            r = bind_bundle(cfg->rootfs, cfg->scratch, &u, err);
            if (r < 0)
                goto fail;
            u.bundle_bound = bundle;
            bound = true;
        }
    }
    r = mount_mkdir_p(cfg->rootfs, 0755, &u.rootfs_created, err);
    if (r < 0)
        goto fail;
    if (!has_scratch(cfg) && cfg->n_layers == 1)
        r = bind_single_layer(cfg->layers[0], cfg->rootfs, err);
    else if (mount("overlay", cfg->rootfs, "overlay", has_scratch(cfg) ? 0 : MS_RDONLY, data) < 0)
        r = lcow_error_errno(err, "mount overlay on `%s` (%s)", cfg->rootfs, data);
    if (r < 0)
        goto fail;
    free_undo(&u);
    if (ret_bundle_bound)
        *ret_bundle_bound = bound;
    return 0;

fail:
    undo_overlay(&u);
    free_undo(&u);
    return r;
}
