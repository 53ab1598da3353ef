/* OCI bind mounts → Plan9 shares and MappedDirectory requests (see p9_binds.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "gcs/protocol.h"
#include "host/p9_binds.h"
#include "host/p9_server.h"

static const char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool has_option(struct json_object *m, const char *word)
{
    struct json_object *opts = NULL;
    if (!json_object_object_get_ex(m, "options", &opts) ||
        !json_object_is_type(opts, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(opts); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(opts, i));
        if (s && strcmp(s, word) == 0)
            return true;
    }
    return false;
}

static bool is_bind(struct json_object *m)
{
    const char *type = str_field(m, "type");
    const char *src = str_field(m, "source");
    if (!src || strstr(src, "://"))
        return false; /* sandbox://, uvm://, hugepages://: not host paths */
    if (type && strcmp(type, "bind") == 0)
        return true;
    return (!type || !*type || strcmp(type, "none") == 0) &&
           (has_option(m, "bind") || has_option(m, "rbind"));
}

void host_p9_binds_done(struct host_p9_binds *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].share_name);
        free(b->v[i].host_dir);
        free(b->v[i].host_file);
        free(b->v[i].mount_path);
    }
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

/* Resolves the source and fills dir/file. */
static int resolve(struct host_p9_bind *b, const char *src, struct lcow_error **err)
{
    if (src[0] != '/')
        return lcow_error_make(err, EINVAL, "mounts[%u]: bind source `%s` is not absolute",
                               b->index, src);
    cleanup_free char *real = realpath(src, NULL);
    if (!real)
        return lcow_error_errno(err, "mounts[%u]: bind source `%s`", b->index, src);
    struct stat st;
    if (stat(real, &st) < 0)
        return lcow_error_errno(err, "mounts[%u]: stat `%s`", b->index, real);
    if (S_ISDIR(st.st_mode)) {
        b->host_dir = steal_pointer(&real);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return lcow_error_make(err, EINVAL,
                               "mounts[%u]: bind source `%s` is neither a directory nor a file",
                               b->index, src);
    char *slash = strrchr(real, '/');
    b->host_file = strdup(slash + 1);
    b->host_dir = slash == real ? strdup("/") : strndup(real, (size_t)(slash - real));
    if (!b->host_file || !b->host_dir)
        return lcow_error_make(err, ENOMEM, "out of memory");
    return 0;
}

static int make_bind(struct json_object *m, unsigned index, const char *id, uint32_t share,
                     struct host_p9_bind *b, struct lcow_error **err)
{
    b->index = index;
    b->read_only = has_option(m, "ro");
    int r = resolve(b, str_field(m, "source"), err);
    if (r < 0)
        return r;
    if (asprintf(&b->share_name, "%u", share) < 0 ||
        asprintf(&b->mount_path, "/run/gcs/c/%s/mounts/m%u", id, index) < 0) {
        b->share_name = b->mount_path = NULL;
        return lcow_error_make(err, ENOMEM, "out of memory");
    }
    return 0;
}

static int guest_source(const struct host_p9_bind *b, char **ret)
{
    int n = b->host_file ? asprintf(ret, "%s/%s", b->mount_path, b->host_file)
                         : asprintf(ret, "%s", b->mount_path);
    return n < 0 ? -ENOMEM : 0;
}

int host_p9_spec_binds(struct json_object *spec, const char *container_id, uint32_t *share_counter,
                       struct host_p9_binds *ret, struct lcow_error **err)
{
    struct host_p9_binds b = {0};
    if (!container_id || !*container_id || strchr(container_id, '/') ||
        strcmp(container_id, "..") == 0)
        return lcow_error_make(err, EINVAL, "container id `%s` is not a plain name",
                               container_id ? container_id : "");
    struct json_object *mounts = NULL;
    size_t n = 0;
    if (json_object_object_get_ex(spec, "mounts", &mounts) &&
        json_object_is_type(mounts, json_type_array))
        n = json_object_array_length(mounts);
    b.v = calloc(n ? n : 1, sizeof(*b.v));
    if (!b.v)
        return lcow_error_make(err, ENOMEM, "out of memory");
    uint32_t counter = *share_counter;
    /* First pass: validate and collect, so a bad mount leaves the spec as it was. */
    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(mounts, i);
        if (!json_object_is_type(m, json_type_object) || !is_bind(m))
            continue;
        int r = make_bind(m, (unsigned)i, container_id, counter, &b.v[b.n], err);
        b.n++;
        if (r < 0) {
            host_p9_binds_done(&b);
            return r;
        }
        counter++;
    }
    char **sources = calloc(b.n ? b.n : 1, sizeof(*sources));
    for (size_t k = 0; sources && k < b.n; k++) {
        if (guest_source(&b.v[k], &sources[k]) < 0) {
            for (size_t j = 0; j < k; j++)
                free(sources[j]);
            free(sources);
            sources = NULL;
        }
    }
    if (!sources) {
        host_p9_binds_done(&b);
        return lcow_error_make(err, ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < b.n; k++) {
        struct json_object *m = json_object_array_get_idx(mounts, b.v[k].index);
        json_object_object_add(m, "source", json_object_new_string(sources[k]));
        free(sources[k]);
    }
    free(sources);
    *share_counter = counter;
    *ret = b;
    return 0;
}

int host_p9_binds_share(struct host_p9_server *s, const struct host_p9_binds *b,
                        struct lcow_error **err)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct host_p9_bind *x = &b->v[i];
        int r = x->host_file
                    ? host_p9_server_add_share_file(s, x->share_name, x->host_dir, x->host_file,
                                                    x->read_only, err)
                    : host_p9_server_add_share(s, x->share_name, x->host_dir, x->read_only, err);
        if (r < 0) {
            for (size_t j = 0; j < i; j++)
                (void)host_p9_server_remove_share(s, b->v[j].share_name, NULL);
            if (err && *err)
                lcow_error_wrap(err, "mounts[%u]", x->index);
            return r;
        }
    }
    return 0;
}

void host_p9_binds_unshare(struct host_p9_server *s, const struct host_p9_binds *b)
{
    for (size_t i = 0; i < b->n; i++)
        (void)host_p9_server_remove_share(s, b->v[i].share_name, NULL);
}

void host_p9_bind_request(const struct host_p9_bind *b, bool add, struct gcs_modify_request *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->resource_type = GCS_RESOURCE_MAPPED_DIRECTORY;
    ret->request_type = add ? GCS_REQUEST_ADD : GCS_REQUEST_REMOVE;
    ret->request_type_name = (char *)(add ? "Add" : "Remove");
    ret->settings.mapped_directory.mount_path = b->mount_path;
    ret->settings.mapped_directory.port = (int32_t)HOST_P9_DEFAULT_PORT;
    ret->settings.mapped_directory.share_name = b->share_name;
    ret->settings.mapped_directory.read_only = b->read_only;
    ret->has_settings = true;
}
