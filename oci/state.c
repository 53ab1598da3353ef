/* The state directory of ocirun (see state.h). state.json is our own format; the public
 * shape is built by oci_state_to_json(). Written atomically so that `state` and `list` never
 * read half a file. */
#include "oci/state.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "oci/cgroup.h"
#include "oci/executor.h"

int oci_state_validate_id(const char *id, struct lcow_error **err)
{
    if (id == NULL || *id == '\0')
        return lcow_error_make(err, EINVAL, "container id cannot be empty");
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 1024)
        return lcow_error_make(err, EINVAL, "invalid container id `%s`", id);
    for (const char *p = id; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '.';
        if (!ok)
            return lcow_error_make(err, EINVAL, "invalid container id `%s`", id);
    }
    return 0;
}

int oci_state_dir(const char *root, const char *id, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", root, id);
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

void oci_rfc3339_now(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    char frac[16];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
    size_t fl = strlen(frac);
    while (fl > 1 && frac[fl - 1] == '0')
        frac[--fl] = '\0';
    if (fl == 1)
        frac[0] = '\0';
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

int oci_state_write(const char *dir, const struct oci_state *s, struct lcow_error **err)
{
    cleanup_json struct json_object *o = json_object_new_object();
    struct json_object *ann = json_object_new_object();
    char path[4096];
    if (o == NULL || ann == NULL)
        return lcow_error_make(err, ENOMEM, "state: out of memory");
    add_str(o, "id", s->id);
    add_str(o, "ociVersion", s->oci_version);
    json_object_object_add(o, "pid", json_object_new_int64(s->pid));
    json_object_object_add(o, "startTime", json_object_new_uint64(s->start_time));
    add_str(o, "bundle", s->bundle);
    add_str(o, "rootfs", s->rootfs);
    add_str(o, "created", s->created);
    add_str(o, "owner", s->owner);
    if (s->cgroups_path)
        add_str(o, "cgroupsPath", s->cgroups_path);
    json_object_object_add(o, "noCgroup", json_object_new_boolean(s->no_cgroup));
    json_object_object_add(o, "creating", json_object_new_boolean(s->creating));
    for (size_t i = 0; i < s->n_annotations; i++)
        add_str(ann, s->annotations[i].key, s->annotations[i].value);
    json_object_object_add(o, "annotations", ann);
    cleanup_free char *text = lcow_json_to_string(o);
    if (text == NULL)
        return lcow_error_make(err, ENOMEM, "state: out of memory");
    snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE);
    return lcow_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int dup_field(struct json_object *o, const char *key, char **ret, struct lcow_error **err)
{
    const char *v = NULL;
    int r = lcow_json_get_string(o, "state", key, &v, err);
    if (r < 0 || v == NULL)
        return r;
    *ret = strdup(v);
    return *ret ? 0 : lcow_error_make(err, ENOMEM, "state: out of memory");
}

int oci_state_read(const char *root, const char *id, struct oci_state *ret, struct lcow_error **err)
{
    char path[4096];
    cleanup_free char *buf = NULL;
    size_t len = 0;
    cleanup_json struct json_object *o = NULL;
    int r = oci_state_validate_id(id, err);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/%s/%s", root, id, OCI_STATE_FILE);
    r = lcow_read_file(path, 1 << 20, &buf, &len, NULL);
    if (r == -ENOENT)
        return lcow_error_make(err, ENOENT, "container `%s` does not exist", id);
    if (r < 0 || (r = lcow_json_parse(buf, len, path, &o, err)) < 0)
        return r < 0 ? lcow_error_make(err, -r, "read state of `%s`", id) : r;
    struct oci_state s = {0};
    int64_t pid = 0;
    struct json_object *ann = NULL;
    if ((r = dup_field(o, "id", &s.id, err)) < 0 ||
        (r = dup_field(o, "ociVersion", &s.oci_version, err)) < 0 ||
        (r = lcow_json_get_int64(o, "state", "pid", &pid, err)) < 0 ||
        (r = lcow_json_get_uint64(o, "state", "startTime", &s.start_time, err)) < 0 ||
        (r = dup_field(o, "bundle", &s.bundle, err)) < 0 ||
        (r = dup_field(o, "rootfs", &s.rootfs, err)) < 0 ||
        (r = dup_field(o, "created", &s.created, err)) < 0 ||
        (r = dup_field(o, "owner", &s.owner, err)) < 0 ||
        (r = dup_field(o, "cgroupsPath", &s.cgroups_path, err)) < 0 ||
        (r = lcow_json_get_bool(o, "state", "noCgroup", &s.no_cgroup, err)) < 0 ||
        (r = lcow_json_get_bool(o, "state", "creating", &s.creating, err)) < 0 ||
        (r = lcow_json_get_object(o, "state", "annotations", &ann, err)) < 0) {
        oci_state_done(&s);
        return r;
    }
    s.pid = (pid_t)pid;
    if (ann != NULL) {
        size_t n = (size_t)json_object_object_length(ann), i = 0;
        s.annotations = calloc(n + 1, sizeof(*s.annotations));
        json_object_object_foreach(ann, k, v)
        {
            if (s.annotations == NULL)
                break;
            s.annotations[i].key = strdup(k);
            s.annotations[i].value = strdup(json_object_get_string(v));
            s.n_annotations = ++i;
        }
    }
    *ret = s;
    return 0;
}

void oci_state_done(struct oci_state *s)
{
    free(s->id);
    free(s->oci_version);
    free(s->bundle);
    free(s->rootfs);
    free(s->created);
    free(s->owner);
    free(s->cgroups_path);
    for (size_t i = 0; i < s->n_annotations; i++) {
        free(s->annotations[i].key);
        free(s->annotations[i].value);
    }
    free(s->annotations);
    memset(s, 0, sizeof(*s));
}

static bool is_paused(const struct oci_state *s)
{
    struct oci_cgroup_layout *layout = NULL;
    struct oci_cgroup *cg = NULL;
    bool paused = false;
    if (s->no_cgroup || oci_cgroup_layout_detect(NULL, &layout, NULL) < 0)
        return false;
    if (oci_cgroup_open(layout, s->cgroups_path, s->id, &cg, NULL) == 0)
        paused = oci_cgroup_is_frozen(cg, NULL) == 1;
    oci_cgroup_free(cg);
    oci_cgroup_layout_free(layout);
    return paused;
}

enum oci_status oci_state_status(const char *dir, const struct oci_state *s)
{
    char fifo[4096];
    uint64_t start = 0;
    char st = 0;
    if (s->creating)
        return OCI_STATUS_CREATING;
    if (s->pid <= 0 || oci_proc_stat(s->pid, &start, &st) < 0 || start != s->start_time ||
        st == 'Z' || st == 'X')
        return OCI_STATUS_STOPPED;
    if (is_paused(s))
        return OCI_STATUS_PAUSED;
    snprintf(fifo, sizeof(fifo), "%s/%s", dir, OCI_EXEC_FIFO);
    return access(fifo, F_OK) == 0 ? OCI_STATUS_CREATED : OCI_STATUS_RUNNING;
}

const char *oci_status_name(enum oci_status st)
{
    static const char *const names[] = {"creating", "created", "running", "stopped", "paused"};
    return (unsigned)st < LCOW_ARRAY_SIZE(names) ? names[st] : "unknown";
}

char *oci_state_to_json(const struct oci_state *s, enum oci_status st, bool indent)
{
    cleanup_json struct json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    add_str(o, "ociVersion", s->oci_version);
    add_str(o, "id", s->id);
    json_object_object_add(o, "pid", json_object_new_int64(st == OCI_STATUS_STOPPED ? 0 : s->pid));
    add_str(o, "status", oci_status_name(st));
    add_str(o, "bundle", s->bundle);
    add_str(o, "rootfs", s->rootfs);
    add_str(o, "created", s->created);
    /* runc's field order: annotations (when any) come before owner. */
    if (s->n_annotations > 0) {
        struct json_object *ann = json_object_new_object();
        for (size_t i = 0; ann && i < s->n_annotations; i++)
            add_str(ann, s->annotations[i].key, s->annotations[i].value);
        json_object_object_add(o, "annotations", ann);
    }
    add_str(o, "owner", s->owner);
    int flags =
        JSON_C_TO_STRING_NOSLASHESCAPE |
        (indent ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    const char *text = json_object_to_json_string_ext(o, flags);
    return text ? strdup(text) : NULL;
}
