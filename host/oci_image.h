/* OCI image layouts (image-spec v1: `oci-layout`, `index.json`, `blobs/sha256/<hex>`) and plain
 * layer tarballs → one cached read-only ext4 per layer (tar2ext4.h), shared between containers
 * by content: the cache file is `<cache>/oci-<sha256 of the layer blob>.ext4`, so two images
 * (or two containers) with the same layer use one image file. Every blob read is checked
 * against its digest. */
#ifndef LCOW_HOST_OCI_IMAGE_H
#define LCOW_HOST_OCI_IMAGE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "host/tar2ext4.h"

#define HOST_OCI_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL, rounded */
#define HOST_OCI_LAYERS_MAX 127

struct host_oci_layer {
    char digest[HOST_OCI_DIGEST_MAX]; /* "sha256:<hex>" */
    char *media_type;
    uint64_t size;
};

struct host_oci_image {
    char *layout;
    char manifest_digest[HOST_OCI_DIGEST_MAX];
    char config_digest[HOST_OCI_DIGEST_MAX];
    struct host_oci_layer *layers; /* base first, as the manifest lists them */
    size_t n_layers;
    struct json_object *config; /* the image configuration document */
};

/* "sha256:" + 64 lower-case hex digits: 0, or -EINVAL naming `what`. */
int host_oci_digest_check(const char *digest, const char *what, struct lcow_error **err);

/* Reads the layout at `layout`: index.json → the manifest (through nested indexes) whose
 * org.opencontainers.image.ref.name (or io.containerd.image.name) is ref, or the only one, or
 * the linux/amd64 one when ref is NULL → its config and layers. Errors name the file and field. */
int host_oci_image_open(const char *layout, const char *ref, struct host_oci_image **ret,
                        struct lcow_error **err);
struct host_oci_image *host_oci_image_free(struct host_oci_image *img);

/* A layer tar → cache_dir/oci-<hex>.ext4, converted only when missing (under temporary names,
 * renamed when complete, so concurrent users agree). digest ("sha256:<hex>") may be NULL: the
 * file is hashed first. Returns 1 when the image was cached already, 0 when converted now
 * (*ret_stats filled then, may be NULL). *ret_path is heap. */
int host_layer_from_tar(const char *tar_path, const char *digest, const char *cache_dir,
                        char **ret_path, struct host_tar_stats *ret_stats, struct lcow_error **err);

/* Every layer of img as a cached image: *ret_paths is a NULL-terminated heap vector, top-most
 * layer first (overlay lowerdir order, as spec.windows.layerFolders and CombinedLayers). */
int host_oci_image_layers(const struct host_oci_image *img, const char *cache_dir,
                          char ***ret_paths, struct lcow_error **err);

/* Bundle annotations choosing an image (runlcow): the layout directory (absolute, or relative
 * to the bundle) and the ref name inside it. Without the first, a root.path directory holding
 * an `oci-layout` file is the layout. */
#define HOST_IMAGE_LAYOUT_ANNOTATION "org.lcow.image.layout"
#define HOST_IMAGE_REF_ANNOTATION    "org.lcow.image.ref"

/* The read-only layers of a bundle, top-most first (NULL-terminated heap vector): the OCI image
 * named by the annotations or found at rootfs, each layer from the cache; otherwise the rootfs
 * directory itself as one cached image (layers.h). annotations may be NULL. */
int host_bundle_layers(const char *bundle, const char *rootfs,
                       const struct json_object *annotations, const char *cache_dir,
                       char ***ret_paths, struct lcow_error **err);

#endif
