/* See oci_image.h. Small JSON blobs (index, manifests, config) are read whole and hashed;
 * layer blobs are hashed while they are converted (tar2ext4.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "host/layers.h"
#include "host/oci_image.h"
#include "host/sha256.h"

#define JSON_BLOB_MAX   (4u << 20)
#define INDEX_DEPTH_MAX 4
#define REF_ANNOTATION  "org.opencontainers.image.ref.name"
#define CTRD_ANNOTATION "io.containerd.image.name"

#define MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST  "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIF "application/vnd.docker.distribution.manifest.v2+json"

/* Layer media types we can unpack (libarchive finds the compression itself). */
static const char *const layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

int host_oci_digest_check(const char *digest, const char *what, struct lcow_error **err)
{
    if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
        return lcow_error_make(err, EINVAL, "%s: digest `%s` is not sha256:<64 hex digits>", what,
                               digest ? digest : "");
    for (const char *p = digest + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return lcow_error_make(err, EINVAL, "%s: digest `%s` is not lower-case hex", what,
                                   digest);
    return 0;
}

static char *blob_path(const char *layout, const char *digest)
{
    char *p = NULL;
    if (asprintf(&p, "%s/blobs/sha256/%s", layout, digest + 7) < 0)
        return NULL;
    return p;
}

/* Reads a JSON blob by descriptor digest, checks its hash and parses it. */
static int read_json_blob(const char *layout, const char *digest, const char *what,
                          struct json_object **ret, struct lcow_error **err)
{
    int r = host_oci_digest_check(digest, what, err);
    if (r < 0)
        return r;
    cleanup_free char *path = blob_path(layout, digest);
    cleanup_free char *buf = NULL;
    size_t len = 0;
    if (!path)
        return lcow_error_make(err, ENOMEM, "blob path");
    if ((r = lcow_read_file(path, JSON_BLOB_MAX, &buf, &len, err)) < 0)
        return lcow_error_wrap(err, "%s", what);
    struct host_sha256 sha;
    uint8_t d[32];
    char hex[65];
    host_sha256_init(&sha);
    host_sha256_update(&sha, buf, len);
    host_sha256_final(&sha, d);
    host_sha256_hex(d, hex);
    if (strcmp(hex, digest + 7) != 0)
        return lcow_error_make(err, EBADMSG, "%s `%s`: content is sha256:%s", what, digest, hex);
    return lcow_json_parse(buf, len, what, ret, err);
}

static bool desc_matches_ref(struct json_object *desc, const char *ref)
{
    struct json_object *ann = lcow_json_field(desc, "annotations");
    const char *keys[] = {REF_ANNOTATION, CTRD_ANNOTATION};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(keys); i++) {
        struct json_object *v = NULL;
        if (ann && json_object_object_get_ex(ann, keys[i], &v) &&
            json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), ref) == 0)
            return true;
    }
    return false;
}

static bool desc_is_linux_amd64(struct json_object *desc)
{
    struct json_object *plat = lcow_json_field(desc, "platform");
    if (!plat)
        return false;
    const char *os = NULL, *arch = NULL;
    if (lcow_json_get_string(plat, "platform", "os", &os, NULL) < 0 ||
        lcow_json_get_string(plat, "platform", "architecture", &arch, NULL) < 0)
        return false;
    return os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0;
}

/* Picks one descriptor of an index's manifests: by ref, else the only one, else linux/amd64. */
static int pick_manifest(struct json_object *index, const char *what, const char *ref,
                         struct json_object **ret, struct lcow_error **err)
{
    struct json_object *mans = NULL;
    int r = lcow_json_get_array(index, what, "manifests", &mans, err);
    if (r < 0)
        return r;
    size_t n = mans ? json_object_array_length(mans) : 0;
    if (n == 0)
        return lcow_error_make(err, ENOENT, "%s: no manifests", what);
    struct json_object *only = NULL, *amd64 = NULL;
    size_t n_amd64 = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(mans, i);
        if (!json_object_is_type(d, json_type_object))
            return lcow_error_make(err, EINVAL, "%s.manifests[%zu]: not an object", what, i);
        if (ref && desc_matches_ref(d, ref)) {
            *ret = d;
            return 0;
        }
        only = d;
        if (desc_is_linux_amd64(d)) {
            amd64 = d;
            n_amd64++;
        }
    }
    if (ref && n > 1)
        return lcow_error_make(err, ENOENT, "%s: no image named `%s`", what, ref);
    if (n == 1) {
        *ret = only;
        return 0;
    }
    if (n_amd64 == 1) {
        *ret = amd64;
        return 0;
    }
    return lcow_error_make(err, EINVAL, "%s: %zu images; name one (ref)", what, n);
}

static int copy_digest(struct json_object *desc, const char *what, char out[HOST_OCI_DIGEST_MAX],
                       struct lcow_error **err)
{
    const char *d = NULL;
    int r = lcow_json_get_string(desc, what, "digest", &d, err);
    if (r < 0)
        return r;
    if ((r = host_oci_digest_check(d, what, err)) < 0)
        return r;
    snprintf(out, HOST_OCI_DIGEST_MAX, "%s", d);
    return 0;
}

static int read_layers(struct host_oci_image *img, struct json_object *manifest,
                       struct lcow_error **err)
{
    struct json_object *layers = NULL;
    int r = lcow_json_get_array(manifest, "manifest", "layers", &layers, err);
    if (r < 0)
        return r;
    size_t n = layers ? json_object_array_length(layers) : 0;
    if (n > HOST_OCI_LAYERS_MAX)
        return lcow_error_make(err, E2BIG, "manifest: %zu layers (at most %d)", n,
                               HOST_OCI_LAYERS_MAX);
    img->layers = calloc(n ? n : 1, sizeof(*img->layers));
    if (!img->layers)
        return lcow_error_make(err, ENOMEM, "layers");
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(layers, i);
        struct host_oci_layer *l = &img->layers[i];
        char what[48];
        snprintf(what, sizeof(what), "manifest.layers[%zu]", i);
        const char *mt = NULL;
        if ((r = copy_digest(d, what, l->digest, err)) < 0 ||
            (r = lcow_json_get_string(d, what, "mediaType", &mt, err)) < 0 ||
            (r = lcow_json_get_uint64(d, what, "size", &l->size, err)) < 0)
            return r;
        img->n_layers = i + 1;
        bool known = false;
        for (size_t k = 0; mt && k < LCOW_ARRAY_SIZE(layer_types); k++)
            known = known || strcmp(mt, layer_types[k]) == 0;
        if (!known)
            return lcow_error_make(err, ENOTSUP, "%s: media type `%s` is not a tar layer", what,
                                   mt ? mt : "");
        if (!(l->media_type = strdup(mt)))
            return lcow_error_make(err, ENOMEM, "layers");
    }
    return 0;
}

/* Follows nested indexes down to one image manifest and reads it. */
static int resolve_manifest(struct host_oci_image *img, struct json_object *index, const char *ref,
                            int depth, struct lcow_error **err)
{
    const char *what = depth ? "nested index" : "index.json";
    struct json_object *desc = NULL;
    int r = pick_manifest(index, what, depth ? NULL : ref, &desc, err);
    if (r < 0)
        return r;
    const char *mt = NULL;
    char digest[HOST_OCI_DIGEST_MAX];
    if ((r = lcow_json_get_string(desc, what, "mediaType", &mt, err)) < 0 ||
        (r = copy_digest(desc, what, digest, err)) < 0)
        return r;
    cleanup_json struct json_object *doc = NULL;
    bool nested = mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
    if ((r = read_json_blob(img->layout, digest, nested ? "index" : "manifest", &doc, err)) < 0)
        return r;
    if (nested) {
        if (depth + 1 >= INDEX_DEPTH_MAX)
            return lcow_error_make(err, ELOOP, "indexes nested deeper than %d", INDEX_DEPTH_MAX);
        return resolve_manifest(img, doc, ref, depth + 1, err);
    }
    if (mt && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIF) != 0)
        return lcow_error_make(err, ENOTSUP, "%s: media type `%s` is not an image manifest", what,
                               mt);
    snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", digest);
    struct json_object *cfg = NULL;
    if ((r = lcow_json_get_object(doc, "manifest", "config", &cfg, err)) < 0)
        return r;
    if (!cfg)
        return lcow_error_make(err, EINVAL, "manifest `%s`: no config", digest);
    if ((r = copy_digest(cfg, "manifest.config", img->config_digest, err)) < 0 ||
        (r = read_json_blob(img->layout, img->config_digest, "image config", &img->config, err)) <
            0)
        return r;
    return read_layers(img, doc, err);
}

int host_oci_image_open(const char *layout, const char *ref, struct host_oci_image **ret,
                        struct lcow_error **err)
{
    cleanup_free char *marker = NULL, *index_path = NULL, *buf = NULL;
    if (asprintf(&marker, "%s/oci-layout", layout) < 0 ||
        asprintf(&index_path, "%s/index.json", layout) < 0)
        return lcow_error_make(err, ENOMEM, "layout paths");
    size_t len = 0;
    int r = lcow_read_file(marker, 4096, &buf, &len, err);
    if (r < 0)
        return lcow_error_wrap(err, "`%s` is not an OCI image layout", layout);
    cleanup_json struct json_object *m = NULL;
    const char *version = NULL;
    if ((r = lcow_json_parse(buf, len, "oci-layout", &m, err)) < 0 ||
        (r = lcow_json_get_string(m, "oci-layout", "imageLayoutVersion", &version, err)) < 0)
        return r;
    if (!version || strncmp(version, "1.", 2) != 0)
        return lcow_error_make(err, ENOTSUP, "oci-layout: imageLayoutVersion `%s` unsupported",
                               version ? version : "");
    free(buf);
    buf = NULL;
    if ((r = lcow_read_file(index_path, JSON_BLOB_MAX, &buf, &len, err)) < 0)
        return r;
    cleanup_json struct json_object *index = NULL;
    if ((r = lcow_json_parse(buf, len, "index.json", &index, err)) < 0)
        return r;
    struct host_oci_image *img = calloc(1, sizeof(*img));
    if (!img || !(img->layout = strdup(layout))) {
        free(img);
        return lcow_error_make(err, ENOMEM, "image");
    }
    if ((r = resolve_manifest(img, index, ref, 0, err)) < 0) {
        host_oci_image_free(img);
        return lcow_error_wrap(err, "image layout `%s`", layout);
    }
    *ret = img;
    return 0;
}

struct host_oci_image *host_oci_image_free(struct host_oci_image *img)
{
    if (!img)
        return NULL;
    for (size_t i = 0; i < img->n_layers; i++)
        free(img->layers[i].media_type);
    free(img->layers);
    if (img->config)
        json_object_put(img->config);
    free(img->layout);
    free(img);
    return NULL;
}

static int hash_file(const char *path, char hex[65], struct lcow_error **err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", path);
    struct host_sha256 sha;
    host_sha256_init(&sha);
    cleanup_free char *buf = malloc(1 << 18);
    if (!buf)
        return lcow_error_make(err, ENOMEM, "hash buffer");
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 18);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lcow_error_errno(err, "read `%s`", path);
        if (n == 0)
            break;
        host_sha256_update(&sha, buf, (size_t)n);
    }
    uint8_t d[32];
    host_sha256_final(&sha, d);
    host_sha256_hex(d, hex);
    return 0;
}

int host_layer_from_tar(const char *tar_path, const char *digest, const char *cache_dir,
                        char **ret_path, struct host_tar_stats *ret_stats, struct lcow_error **err)
{
    char hex[65];
    int r;
    if (digest) {
        if ((r = host_oci_digest_check(digest, tar_path, err)) < 0)
            return r;
        snprintf(hex, sizeof(hex), "%s", digest + 7);
    } else if ((r = hash_file(tar_path, hex, err)) < 0) {
        return r;
    }
    if ((r = lcow_mkdir_p(cache_dir, 0700, err)) < 0)
        return r;
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/oci-%s.ext4", cache_dir, hex) < 0)
        return lcow_error_make(err, ENOMEM, "image path");
    if (access(path, F_OK) == 0) {
        *ret_path = steal_pointer(&path);
        return 1;
    }
    if ((r = host_tar2ext4(tar_path, hex, path, ret_stats, err)) < 0)
        return r;
    *ret_path = steal_pointer(&path);
    return 0;
}

int host_oci_image_layers(const struct host_oci_image *img, const char *cache_dir,
                          char ***ret_paths, struct lcow_error **err)
{
    cleanup_strv char **paths = calloc(img->n_layers + 1, sizeof(char *));
    if (!paths)
        return lcow_error_make(err, ENOMEM, "layer list");
    for (size_t i = 0; i < img->n_layers; i++) {
        const struct host_oci_layer *l = &img->layers[i];
        cleanup_free char *blob = blob_path(img->layout, l->digest);
        if (!blob)
            return lcow_error_make(err, ENOMEM, "blob path");
        char *out = NULL;
        int r = host_layer_from_tar(blob, l->digest, cache_dir, &out, NULL, err);
        if (r < 0)
            return lcow_error_wrap(err, "layer %zu (%s)", i, l->digest);
        paths[img->n_layers - 1 - i] = out; /* top-most first */
    }
    *ret_paths = steal_pointer(&paths);
    return 0;
}

static const char *annotation(const struct json_object *ann, const char *key)
{
    struct json_object *v = NULL;
    if (ann && json_object_object_get_ex(ann, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

int host_bundle_layers(const char *bundle, const char *rootfs,
                       const struct json_object *annotations, const char *cache_dir,
                       char ***ret_paths, struct lcow_error **err)
{
    const char *layout = annotation(annotations, HOST_IMAGE_LAYOUT_ANNOTATION);
    const char *ref = annotation(annotations, HOST_IMAGE_REF_ANNOTATION);
    cleanup_free char *path = NULL, *marker = NULL;
    int r;
    if (layout && *layout) {
        if (layout[0] == '/' ? !(path = strdup(layout))
                             : asprintf(&path, "%s/%s", bundle, layout) < 0)
            return lcow_error_make(err, ENOMEM, "layout path");
    } else {
        if (asprintf(&marker, "%s/oci-layout", rootfs) < 0)
            return lcow_error_make(err, ENOMEM, "layout path");
        if (access(marker, F_OK) == 0 && !(path = strdup(rootfs)))
            return lcow_error_make(err, ENOMEM, "layout path");
    }
    if (path) {
        struct host_oci_image *img = NULL;
        if ((r = host_oci_image_open(path, ref, &img, err)) < 0)
            return r;
        r = host_oci_image_layers(img, cache_dir, ret_paths, err);
        host_oci_image_free(img);
        return r;
    }
    cleanup_strv char **paths = calloc(2, sizeof(char *));
    if (!paths)
        return lcow_error_make(err, ENOMEM, "layer list");
    if ((r = host_layer_image(cache_dir, rootfs, &paths[0], err)) < 0)
        return lcow_error_wrap(err, "layer from `%s`", rootfs);
    *ret_paths = steal_pointer(&paths);
    return 0;
}
