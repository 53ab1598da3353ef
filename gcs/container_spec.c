/* Spec preparation per container kind (§4.1 annotations, §5.7): sandbox / workload / standalone,
 * sandbox root files and mounts, the /etc bind mounts, mount-source prefixes with traversal
 * checks, user names resolved in the rootfs, cgroups paths under -cgroup-root, and the undo of
 * all of it (only what gcs made: the bundle and scratch mounts are the host's). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "gcs/bridge.h"
#include "gcs/container_internal.h"
#include "gcs/network.h"
#include "oci/cgroup.h"

#define A_TYPE        "io.kubernetes.cri.container-type"
#define A_SANDBOX_ID  "io.kubernetes.cri.sandbox-id"
#define A_VPOD        "io.microsoft.cri.virtual-pod-id"
#define A_SKIP_NET    "io.microsoft.cri.skip-pod-networking"
#define A_HOSTNET     "io.microsoft.virtualmachine.lcow.hostnetwork"
#define A_PRIVILEGED  "io.microsoft.virtualmachine.lcow.privileged"
#define A_SHM         "io.microsoft.lcow.shm.size-kb"
#define A_RLIMITCORE  "io.microsoft.lcow.rlimitcore"
#define A_TEE_LOG     "io.microsoft.container.lcow.tee-log-path"
#define A_TEE_LOG_DIR "io.microsoft.container.lcow.tee-log-dir-mount"

static const char *const root_subdirs[] = {"sandboxMounts", "sandboxTmpfsMounts", "hugepages"};
static const char *const etc_files[] = {"hostname", "hosts", "resolv.conf"};

/* ---- small JSON helpers ------------------------------------------------------------------- */

static const char *annotation(struct json_object *spec, const char *key)
{
    struct json_object *a = lcow_json_field(spec, "annotations");
    struct json_object *v = lcow_json_field(a, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool annotation_is_true(struct json_object *spec, const char *key)
{
    const char *v = annotation(spec, key);
    return v && strcmp(v, "true") == 0;
}

/* obj[key] as an object, created when missing. */
static struct json_object *child_object(struct json_object *obj, const char *key)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v && json_object_is_type(v, json_type_object))
        return v;
    v = json_object_new_object();
    if (v)
        json_object_object_add(obj, key, v);
    return v;
}

static struct json_object *child_array(struct json_object *obj, const char *key)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v && json_object_is_type(v, json_type_array))
        return v;
    v = json_object_new_array();
    if (v)
        json_object_object_add(obj, key, v);
    return v;
}

static int set_string(struct json_object *obj, const char *key, const char *val)
{
    struct json_object *s = json_object_new_string(val);
    if (!s)
        return -ENOMEM;
    json_object_object_add(obj, key, s);
    return 0;
}

/* ---- paths --------------------------------------------------------------------------------- */

int ct_join_inside(const char *base, const char *rel, char **ret, struct lcow_error **err)
{
    size_t cap = strlen(base) + strlen(rel) + 2;
    cleanup_free char *out = malloc(cap);
    cleanup_free char *copy = strdup(rel);
    if (!out || !copy)
        return -ENOMEM;
    size_t blen = strlen(base);
    memcpy(out, base, blen + 1);
    size_t len = blen;
    char *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            if (len == blen)
                return lcow_error_make(err, EINVAL, "path `%s` escapes `%s`", rel, base);
            while (len > blen && out[len - 1] != '/')
                len--;
            len--; /* the slash */
            out[len] = '\0';
            continue;
        }
        out[len++] = '/';
        size_t n = strlen(part);
        memcpy(out + len, part, n + 1);
        len += n;
    }
    *ret = steal_pointer(&out);
    return 0;
}

/* mkdir -p with mode bits exactly as given (umask ignored, as the Go GCS clears it). */
static int mkdir_mode(const char *path, mode_t mode, struct lcow_error **err)
{
    int r = lcow_mkdir_p(path, mode, err);
    if (r == 0)
        (void)chmod(path, mode);
    return r;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    if (flag == FTW_DP || flag == FTW_D)
        (void)rmdir(path);
    else
        (void)unlink(path);
    return 0;
}

/* rm -rf that never crosses into another mount. */
static void remove_tree(const char *path)
{
    (void)nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* Unmounts every mount at or under dir, deepest first (read from mountinfo). */
static int unmount_under(const char *dir, struct lcow_error **err)
{
    int first = 0;
    for (int pass = 0; pass < 8; pass++) {
        cleanup_free char *mi = NULL;
        if (lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, err) < 0)
            return -EIO;
        char best[PATH_MAX] = "";
        size_t dlen = strlen(dir);
        char *save = NULL;
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char mp[PATH_MAX];
            if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) != 1)
                continue;
            if (strncmp(mp, dir, dlen) == 0 && (mp[dlen] == '\0' || mp[dlen] == '/') &&
                strlen(mp) > strlen(best))
                snprintf(best, sizeof(best), "%s", mp);
        }
        if (!best[0])
            return first;
        if (umount2(best, MNT_DETACH) < 0 && !first)
            first = lcow_error_errno(err, "unmount `%s`", best);
        pass = 0; /* progress: keep going until nothing is left */
        if (first)
            return first;
    }
    return first;
}

/* ---- sandbox root --------------------------------------------------------------------------- */

static int write_root_files(struct gcs *g, struct ct_container *c, struct json_object *spec,
                            bool skip_net, struct lcow_error **err)
{
    const char *hn = NULL;
    char uvm_name[256] = "";
    if (lcow_json_get_string(spec, "", "hostname", &hn, err) < 0)
        return -EINVAL;
    if (hn && hn[0] && !gcs_net_hostname_valid(hn))
        return lcow_error_make(err, EINVAL, "invalid hostname `%s`", hn);
    if (!hn || !hn[0]) {
        gethostname(uvm_name, sizeof(uvm_name) - 1);
        /* A UVM without a hostname reports "(none)", which no hosts file should carry. */
        hn = gcs_net_hostname_valid(uvm_name) && uvm_name[0] ? uvm_name : "localhost";
    }
    struct gcs_network *net = gcs_network_for(g);
    if (!net)
        return -ENOMEM;
    cleanup_free char *resolv = NULL;
    int r = 0;
    if (c->kind == CT_STANDALONE || skip_net)
        r = gcs_network_namespace_get_or_add(net, c->netns_id, err);
    if (r == 0 && !gcs_network_namespace_exists(net, c->netns_id))
        r = lcow_error_make(err, GCS_ERR_NOT_FOUND, "network namespace `%s` not found",
                            c->netns_id);
    if (r == 0)
        r = gcs_network_resolv_conf(net, c->netns_id, &resolv, err);
    if (r < 0)
        return r;
    return gcs_net_write_etc_files(c->root, hn, resolv, err);
}

static int make_root_mounts(struct ct_container *c, struct lcow_error **err)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(root_subdirs); i++) {
        cleanup_free char *d = NULL;
        if (asprintf(&d, "%s/%s", c->root, root_subdirs[i]) < 0)
            return -ENOMEM;
        int r = mkdir_mode(d, 0755, err);
        if (r < 0)
            return r;
        c->root_mounts = true;
        if (i == 1)
            r = mount("tmpfs", d, "tmpfs", 0, NULL) < 0 && errno != EBUSY ? -errno : 0;
        else
            r = mount(d, d, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
        if (r == 0 && mount(NULL, d, NULL, MS_SHARED | MS_REC, NULL) < 0)
            r = -errno;
        if (r < 0) {
            errno = -r;
            return lcow_error_errno(err, "mount `%s`", d);
        }
    }
    cleanup_free char *logs = NULL;
    if (asprintf(&logs, "%s/logs", c->root) < 0)
        return -ENOMEM;
    return mkdir_mode(logs, 0777, err);
}

/* The /etc bind mounts, each unless the spec already mounts that destination (§5.7). */
static int add_etc_mounts(struct json_object *spec, const char *root, struct lcow_error **err)
{
    struct json_object *mounts = child_array(spec, "mounts");
    if (!mounts)
        return -ENOMEM;
    bool ro = false;
    (void)lcow_json_get_bool(lcow_json_field(spec, "root"), "root", "readonly", &ro, NULL);
    for (size_t f = 0; f < LCOW_ARRAY_SIZE(etc_files); f++) {
        char dst[64];
        snprintf(dst, sizeof(dst), "/etc/%s", etc_files[f]);
        bool have = false;
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
            const char *d = NULL;
            (void)lcow_json_get_string(json_object_array_get_idx(mounts, i), "", "destination", &d,
                                       NULL);
            have = have || (d && strcmp(d, dst) == 0);
        }
        if (have)
            continue;
        cleanup_free char *src = NULL;
        if (asprintf(&src, "%s/%s", root, etc_files[f]) < 0)
            return -ENOMEM;
        struct json_object *m = json_object_new_object(), *opts = json_object_new_array();
        if (!m || !opts) {
            json_object_put(m);
            json_object_put(opts);
            return -ENOMEM;
        }
        json_object_array_add(opts, json_object_new_string("bind"));
        json_object_array_add(opts, json_object_new_string(ro ? "ro" : "rw"));
        set_string(m, "destination", dst);
        set_string(m, "type", "bind");
        set_string(m, "source", src);
        json_object_object_add(m, "options", opts);
        json_object_array_add(mounts, m);
    }
    (void)err;
    return 0;
}

/* ---- workload mounts (§5.7) ------------------------------------------------------------------ */

static bool has_prefix(const char *s, const char *p, const char **rest)
{
    size_t n = strlen(p);
    if (strncmp(s, p, n) != 0)
        return false;
    *rest = s + n;
    return true;
}

static int hugepages_source(struct ct_container *c, const char *rest, char **ret,
                            struct lcow_error **err)
{
    cleanup_free char *base = NULL, *path = NULL, *sizedir = NULL;
    if (asprintf(&base, "%s/hugepages", c->root) < 0)
        return -ENOMEM;
    int r = ct_join_inside(base, rest, &path, err);
    if (r < 0)
        return r;
    size_t n = strcspn(rest, "/");
    if (n == 0 || n > 16)
        return lcow_error_make(err, EINVAL, "hugepages:// source `%s` has no page size", rest);
    if (asprintf(&sizedir, "%s/%.*s", base, (int)n, rest) < 0)
        return -ENOMEM;
    struct stat a, b;
    bool mounted = stat(sizedir, &a) == 0 && stat(base, &b) == 0 && a.st_dev != b.st_dev;
    if (!mounted) {
        char data[48];
        snprintf(data, sizeof(data), "pagesize=%.*s", (int)n, rest);
        r = mkdir_mode(sizedir, 0755, err);
        if (r < 0)
            return r;
        if (mount("none", sizedir, "hugetlbfs", 0, data) < 0)
            return lcow_error_errno(err, "mount hugetlbfs `%s`", data);
    }
    r = mkdir_mode(path, 0755, err);
    if (r < 0)
        return r;
    *ret = steal_pointer(&path);
    return 0;
}

static int add_device_rule(struct json_object *spec, const char *devpath, bool ro,
                           struct lcow_error **err)
{
    struct stat st;
    if (stat(devpath, &st) < 0)
        return lcow_error_errno(err, "blockdev `%s`", devpath);
    struct json_object *res = child_object(child_object(spec, "linux"), "resources");
    struct json_object *devs = res ? child_array(res, "devices") : NULL;
    struct json_object *d = json_object_new_object();
    if (!devs || !d) {
        json_object_put(d);
        return -ENOMEM;
    }
    json_object_object_add(d, "allow", json_object_new_boolean(1));
    set_string(d, "type", S_ISBLK(st.st_mode) ? "b" : "c");
    json_object_object_add(d, "major", json_object_new_int64(major(st.st_rdev)));
    json_object_object_add(d, "minor", json_object_new_int64(minor(st.st_rdev)));
    set_string(d, "access", ro ? "r" : "rwm");
    json_object_array_add(devs, d);
    return 0;
}

static bool mount_is_ro(struct json_object *m)
{
    struct json_object *o = lcow_json_field(m, "options");
    for (size_t i = 0;
         o && json_object_is_type(o, json_type_array) && i < json_object_array_length(o); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(o, i)) ?: "", "ro") == 0)
            return true;
    return false;
}

/* Rewrites one mount's source/destination prefixes; results must stay inside their dirs. */
static int rewrite_mount(struct ct_container *c, struct json_object *spec, struct json_object *m,
                         struct lcow_error **err)
{
    const char *src = NULL, *dst = NULL, *rest = NULL;
    if (lcow_json_get_string(m, "mounts[]", "source", &src, err) < 0 ||
        lcow_json_get_string(m, "mounts[]", "destination", &dst, err) < 0)
        return -EINVAL;
    cleanup_free char *out = NULL, *base = NULL;
    int r = 0;
    if (src && has_prefix(src, "sandbox://", &rest)) {
        if (asprintf(&base, "%s/sandboxMounts", c->root) < 0)
            return -ENOMEM;
        r = ct_join_inside(base, rest, &out, err);
        if (r == 0)
            r = mkdir_mode(out, 0777, err);
    } else if (src && has_prefix(src, "sandbox-tmp://", &rest)) {
        if (asprintf(&base, "%s/sandboxTmpfsMounts", c->root) < 0)
            return -ENOMEM;
        r = ct_join_inside(base, rest, &out, err);
        if (r == 0)
            r = mkdir_mode(out, 0777, err);
    } else if (src && has_prefix(src, "hugepages://", &rest)) {
        r = hugepages_source(c, rest, &out, err);
    } else if (src && has_prefix(src, "uvm://", &rest)) {
        r = ct_join_inside("", rest, &out, err);
        struct stat st;
        if (r == 0 && (!out[0] || stat(out, &st) < 0))
            r = lcow_error_make(err, ENOENT, "uvm:// source `%s` does not exist", rest);
    }
    if (r < 0)
        return r;
    if (out && set_string(m, "source", out) < 0)
        return -ENOMEM;
    if (dst && has_prefix(dst, "blockdev://", &rest)) {
        char dev[PATH_MAX];
        ssize_t n = src ? readlink(out ? out : src, dev, sizeof(dev) - 1) : -1;
        if (n < 0)
            return lcow_error_errno(err, "blockdev mount: readlink `%s`", src ? src : "");
        dev[n] = '\0';
        r = add_device_rule(spec, dev, mount_is_ro(m), err);
        cleanup_free char *d2 = strdup(rest);
        if (r == 0 && (!d2 || set_string(m, "destination", d2) < 0))
            r = -ENOMEM;
    }
    return r;
}

static int rewrite_mounts(struct ct_container *c, struct json_object *spec, struct lcow_error **err)
{
    struct json_object *mounts = lcow_json_field(spec, "mounts");
    if (!mounts || !json_object_is_type(mounts, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(mounts); i++) {
        int r = rewrite_mount(c, spec, json_object_array_get_idx(mounts, i), err);
        if (r < 0)
            return lcow_error_wrap(err, "mounts[%zu]", i);
    }
    return 0;
}

/* io.microsoft.lcow.shm.size-kb: /dev/shm becomes a tmpfs of that size. */
static int apply_shm(struct json_object *spec, const char *kb, struct lcow_error **err)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(kb, &end, 10);
    if (errno || !*kb || *end || n == 0 || !isdigit((unsigned char)kb[0]))
        return lcow_error_make(err, EINVAL, "%s: `%s` is not a positive integer", A_SHM, kb);
    struct json_object *mounts = child_array(spec, "mounts");
    for (size_t i = 0; mounts && i < json_object_array_length(mounts);) {
        const char *d = NULL;
        (void)lcow_json_get_string(json_object_array_get_idx(mounts, i), "", "destination", &d,
                                   NULL);
        if (d && strcmp(d, "/dev/shm") == 0)
            json_object_array_del_idx(mounts, i, 1);
        else
            i++;
    }
    char size[64];
    snprintf(size, sizeof(size), "size=%lluk", n);
    struct json_object *m = json_object_new_object(), *o = json_object_new_array();
    if (!mounts || !m || !o) {
        json_object_put(m);
        json_object_put(o);
        return -ENOMEM;
    }
    const char *opts[] = {"nosuid", "noexec", "nodev", "mode=1777", size};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(opts); i++)
        json_object_array_add(o, json_object_new_string(opts[i]));
    set_string(m, "destination", "/dev/shm");
    set_string(m, "type", "tmpfs");
    set_string(m, "source", "shm");
    json_object_object_add(m, "options", o);
    json_object_array_add(mounts, m);
    return 0;
}

static int add_rlimit(struct json_object *spec, const char *type, uint64_t soft, uint64_t hard)
{
    struct json_object *rl = child_array(child_object(spec, "process"), "rlimits");
    struct json_object *e = json_object_new_object();
    if (!rl || !e) {
        json_object_put(e);
        return -ENOMEM;
    }
    set_string(e, "type", type);
    json_object_object_add(e, "soft", json_object_new_uint64(soft));
    json_object_object_add(e, "hard", json_object_new_uint64(hard));
    json_object_array_add(rl, e);
    return 0;
}

/* io.microsoft.lcow.rlimitcore = "soft;hard". */
static int apply_rlimitcore(struct json_object *spec, const char *v, struct lcow_error **err)
{
    unsigned long long soft, hard;
    char tail;
    if (sscanf(v, "%llu;%llu%c", &soft, &hard, &tail) != 2)
        return lcow_error_make(err, EINVAL, "%s: `%s` is not `soft;hard`", A_RLIMITCORE, v);
    return add_rlimit(spec, "RLIMIT_CORE", soft, hard);
}

/* A process that sets no RLIMIT_NOFILE gets the one gcs was started with, not the raised one
 * (gcs/limits.h), as runc's processes do under the Go GCS. */
static int default_nofile(struct gcs *g, struct json_object *spec)
{
    struct json_object *proc = lcow_json_field(spec, "process");
    if (!proc || !json_object_is_type(proc, json_type_object) || !g->nofile_orig.rlim_max)
        return 0;
    struct json_object *rl = lcow_json_field(proc, "rlimits");
    size_t n = rl && json_object_is_type(rl, json_type_array) ? json_object_array_length(rl) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *type = NULL;
        (void)lcow_json_get_string(json_object_array_get_idx(rl, i), "", "type", &type, NULL);
        if (type && strcmp(type, "RLIMIT_NOFILE") == 0)
            return 0;
    }
    return add_rlimit(spec, "RLIMIT_NOFILE", g->nofile_orig.rlim_cur, g->nofile_orig.rlim_max);
}

/* ---- devices (§5.7) --------------------------------------------------------------------- */

static const char *dev_root(struct gcs *g)
{
    return g && g->opt.dev_root ? g->opt.dev_root : "/dev";
}

/* Writes type/major/minor of the UVM node at host_path into the spec's device entry d. */
static int fill_device(struct json_object *d, const char *host_path, struct lcow_error **err)
{
    struct stat st;
    if (stat(host_path, &st) < 0)
        return lcow_error_errno(err, "device `%s`", host_path);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return lcow_error_make(err, EINVAL, "`%s` is not a device node", host_path);
    set_string(d, "type", S_ISBLK(st.st_mode) ? "b" : "c");
    json_object_object_add(d, "major", json_object_new_int64(major(st.st_rdev)));
    json_object_object_add(d, "minor", json_object_new_int64(minor(st.st_rdev)));
    return 0;
}

/* Non-privileged workloads: the host wrote its own numbers; each linux.devices[].path is
 * looked up again in the UVM's /dev. */
static int resolve_devices(struct gcs *g, struct json_object *spec, struct lcow_error **err)
{
    struct json_object *devs = lcow_json_field(lcow_json_field(spec, "linux"), "devices");
    for (size_t i = 0;
         devs && json_object_is_type(devs, json_type_array) && i < json_object_array_length(devs);
         i++) {
        struct json_object *d = json_object_array_get_idx(devs, i);
        const char *path = NULL, *rest = NULL;
        if (lcow_json_get_string(d, "linux.devices[]", "path", &path, err) < 0)
            return -EINVAL;
        if (!path || !has_prefix(path, "/dev/", &rest))
            continue;
        cleanup_free char *host = NULL;
        int r = ct_join_inside(dev_root(g), rest, &host, err);
        if (r == 0)
            r = fill_device(d, host, err);
        if (r < 0)
            return lcow_error_wrap(err, "linux.devices[%zu]", i);
    }
    return 0;
}

struct dev_walk {
    struct json_object *devs;
    size_t root_len;
    int err;
};
static struct dev_walk *walk_ctx; /* nftw has no user pointer; guarded by walk_lock */
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;

static int add_host_device(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)flag;
    (void)f;
    const char *rel = path + walk_ctx->root_len;
    /* pts, shm and mqueue are the container's own. */
    if (strncmp(rel, "/pts", 4) == 0 || strncmp(rel, "/shm", 4) == 0 ||
        strncmp(rel, "/mqueue", 7) == 0 || strcmp(rel, "/console") == 0 ||
        strcmp(rel, "/ptmx") == 0)
        return 0;
    if (!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode))
        return 0;
    struct json_object *d = json_object_new_object();
    char dst[PATH_MAX];
    snprintf(dst, sizeof(dst), "/dev%s", rel);
    if (!d || set_string(d, "path", dst) < 0 || fill_device(d, path, NULL) < 0) {
        json_object_put(d);
        return 0;
    }
    json_object_object_add(d, "fileMode", json_object_new_int64(st->st_mode & 07777));
    json_object_object_add(d, "uid", json_object_new_int64(st->st_uid));
    json_object_object_add(d, "gid", json_object_new_int64(st->st_gid));
    json_object_array_add(walk_ctx->devs, d);
    return 0;
}

/* Privileged workloads: every device node of the UVM, and all devices allowed. */
static int apply_privileged(struct gcs *g, struct json_object *spec, struct lcow_error **err)
{
    struct json_object *lx = child_object(spec, "linux");
    struct json_object *devs = lx ? child_array(lx, "devices") : NULL;
    struct json_object *res = lx ? child_object(lx, "resources") : NULL;
    struct json_object *rules = res ? child_array(res, "devices") : NULL;
    struct json_object *allow = json_object_new_object();
    if (!devs || !rules || !allow) {
        json_object_put(allow);
        return -ENOMEM;
    }
    json_object_object_del(lx, "devices"); /* the UVM's list replaces the host's */
    devs = child_array(lx, "devices");
    struct dev_walk w = {.devs = devs, .root_len = strlen(dev_root(g))};
    pthread_mutex_lock(&walk_lock);
    walk_ctx = &w;
    int r = nftw(dev_root(g), add_host_device, 16, FTW_PHYS | FTW_MOUNT);
    walk_ctx = NULL;
    pthread_mutex_unlock(&walk_lock);
    if (r < 0) {
        json_object_put(allow);
        return lcow_error_errno(err, "list `%s`", dev_root(g));
    }
    json_object_object_add(allow, "allow", json_object_new_boolean(1));
    set_string(allow, "access", "rwm");
    json_object_array_add(rules, allow);
    return 0;
}

/* hostnetwork: the container stays in the UVM's network namespace. */
static void drop_network_namespace(struct json_object *spec)
{
    struct json_object *ns = lcow_json_field(lcow_json_field(spec, "linux"), "namespaces");
    for (size_t i = 0;
         ns && json_object_is_type(ns, json_type_array) && i < json_object_array_length(ns);) {
        const char *t = NULL;
        (void)lcow_json_get_string(json_object_array_get_idx(ns, i), "", "type", &t, NULL);
        if (t && strcmp(t, "network") == 0)
            json_object_array_del_idx(ns, i, 1);
        else
            i++;
    }
}

/* ---- user ----------------------------------------------------------------------------------- */

/* <rootfs>/etc/NAME read without leaving the rootfs (absolute symlinks stay inside). */
static int read_db(int rootfd, const char *name, char **ret, struct lcow_error **err)
{
    struct lcow_open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    char path[64];
    snprintf(path, sizeof(path), "etc/%s", name);
    int fd = sys_openat2(rootfd, path, &how);
    if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
        fd = openat(rootfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *ret = NULL;
        return errno == ENOENT ? 0 : lcow_error_errno(err, "open /etc/%s in the rootfs", name);
    }
    size_t len = 0;
    int r = lcow_read_fd_all(fd, 4u << 20, ret, &len);
    close(fd);
    if (r < 0) {
        errno = -r;
        return lcow_error_errno(err, "read /etc/%s in the rootfs", name);
    }
    return 0;
}

static bool parse_u32(const char *s, uint32_t *ret)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > UINT32_MAX)
        return false;
    *ret = (uint32_t)v;
    return true;
}

/* The entry whose name (or, when numeric, id) matches key: fields 2 and 3 as numbers. */
static bool db_find(const char *db, const char *key, bool by_id, uint32_t id, uint32_t *ret_id,
                    uint32_t *ret_gid)
{
    cleanup_free char *copy = db ? strdup(db) : NULL;
    char *save = NULL;
    for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0};
        char *cur = l;
        for (int k = 0; k < 4 && cur; k++) {
            f[k] = cur;
            cur = strchr(cur, ':');
            if (cur)
                *cur++ = '\0';
        }
        uint32_t eid, egid = 0;
        if (!f[2] || !parse_u32(f[2], &eid))
            continue;
        if (by_id ? eid != id : strcmp(f[0], key) != 0)
            continue;
        if (f[3] && !parse_u32(f[3], &egid))
            egid = 0;
        *ret_id = eid;
        if (ret_gid)
            *ret_gid = egid;
        return true;
    }
    return false;
}

int ct_resolve_user(const char *rootfs, const char *spec, uint32_t *ret_uid, uint32_t *ret_gid,
                    struct lcow_error **err)
{
    cleanup_close int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open rootfs `%s`", rootfs);
    cleanup_free char *copy = strdup(spec), *passwd = NULL, *group_db = NULL;
    if (!copy)
        return -ENOMEM;
    char *group = strchr(copy, ':');
    if (group)
        *group++ = '\0';
    if (group && strchr(group, ':'))
        return lcow_error_make(err, EINVAL, "invalid user `%s`", spec);
    if (read_db(fd, "passwd", &passwd, err) < 0)
        return -EIO;
    uint32_t uid = 0, gid = 0, num;
    bool numeric = parse_u32(copy, &num);
    if (!numeric && strspn(copy, "0123456789") == strlen(copy) && copy[0])
        return lcow_error_make(err, ERANGE, "uid `%s` out of range", copy);
    if (numeric) {
        /* A uid without an entry runs with gid 0 (§5.7). */
        if (!db_find(passwd, NULL, true, num, &uid, &gid)) {
            uid = num;
            gid = 0;
        }
    } else if (!db_find(passwd, copy, false, 0, &uid, &gid)) {
        return lcow_error_make(err, ENOENT, "user `%s` not found in the rootfs's /etc/passwd",
                               copy);
    }
    if (group && group[0]) {
        if (parse_u32(group, &num)) {
            gid = num;
        } else {
            if (read_db(fd, "group", &group_db, err) < 0)
                return -EIO;
            if (!db_find(group_db, group, false, 0, &gid, NULL))
                return lcow_error_make(err, ENOENT,
                                       "group `%s` not found in the rootfs's /etc/group", group);
        }
    }
    *ret_uid = uid;
    *ret_gid = gid;
    return 0;
}

static int resolve_spec_user(struct ct_container *c, struct json_object *spec,
                             struct lcow_error **err)
{
    struct json_object *user = lcow_json_field(lcow_json_field(spec, "process"), "user");
    const char *name = NULL;
    if (lcow_json_get_string(user, "process.user", "username", &name, err) < 0)
        return -EINVAL;
    if (!name || !name[0])
        return 0;
    int r = ct_resolve_user(c->rootfs, name, &c->uid, &c->gid, err);
    if (r < 0)
        return r;
    c->has_user_name = true;
    json_object_object_add(user, "uid", json_object_new_int64(c->uid));
    json_object_object_add(user, "gid", json_object_new_int64(c->gid));
    json_object_object_del(user, "username");
    return 0;
}

/* ---- kinds ----------------------------------------------------------------------------------- */

static int classify(struct ct_container *c, struct json_object *spec, struct lcow_error **err)
{
    const char *type = annotation(spec, A_TYPE), *vpod = annotation(spec, A_VPOD);
    const char *sid = c->id;
    if (vpod && strcmp(vpod, c->id) == 0)
        c->kind = CT_SANDBOX;
    else if (!type)
        c->kind = CT_STANDALONE;
    else if (strcmp(type, "sandbox") == 0)
        c->kind = CT_SANDBOX;
    else if (strcmp(type, "container") == 0)
        c->kind = CT_WORKLOAD;
    else
        return lcow_error_make(err, EINVAL, "unsupported '%s': `%s`", A_TYPE, type);
    if (c->kind == CT_WORKLOAD) {
        sid = annotation(spec, A_SANDBOX_ID);
        if (!sid || !sid[0])
            return lcow_error_make(err, EINVAL, "workload container `%s` has no %s", c->id,
                                   A_SANDBOX_ID);
        pthread_mutex_lock(&ct_lock);
        struct ct_container *sb = ct_find(sid);
        int r = 0;
        if (!sb || sb->kind != CT_SANDBOX || sb->status == CT_CREATING)
            r = lcow_error_make(err, GCS_ERR_NOT_FOUND, "pod `%s` not found", sid);
        else if (!(c->root = strdup(sb->root)) || !(c->netns_id = strdup(sb->netns_id)))
            r = -ENOMEM;
        pthread_mutex_unlock(&ct_lock);
        if (r < 0)
            return r;
    } else if (vpod && c->kind == CT_SANDBOX) {
        cleanup_free char *b = strdup(c->bundle);
        char *slash = b ? strrchr(b, '/') : NULL;
        if (!slash)
            return lcow_error_make(err, EINVAL, "bad OciBundlePath `%s`", c->bundle);
        *slash = '\0';
        if (asprintf(&c->root, "%s/virtual-pods/%s", b, vpod) < 0)
            return -ENOMEM;
        sid = vpod;
    } else if (!(c->root = strdup(c->bundle))) {
        return -ENOMEM;
    }
    c->sandbox_id = strdup(sid);
    return c->sandbox_id ? 0 : -ENOMEM;
}

static int netns_from_windows(struct ct_container *c, struct json_object *spec,
                              struct lcow_error **err)
{
    /* GPU / VPCI assignment needs devices this gcs cannot find yet: refuse rather than run
     * the container without them. */
    struct json_object *devs = lcow_json_field(lcow_json_field(spec, "windows"), "Devices");
    if (devs && json_object_is_type(devs, json_type_array) && json_object_array_length(devs) > 0)
        return lcow_error_make(err, EOPNOTSUPP,
                               "windows.devices (gpu, vpci) are not supported by this gcs");
    const char *ns = NULL;
    struct json_object *net = lcow_json_field(lcow_json_field(spec, "windows"), "Network");
    (void)lcow_json_get_string(net, "windows.network", "NetworkNamespace", &ns, NULL);
    if (!c->netns_id && !(c->netns_id = strdup(ns ? ns : "")))
        return -ENOMEM;
    for (char *p = c->netns_id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* Only the network namespace and devices mattered; runc never sees `windows` (§5.7). */
    json_object_object_del(spec, "windows");
    return 0;
}

static int set_paths(struct gcs *g, struct ct_container *c, struct json_object *spec,
                     struct lcow_error **err)
{
    struct json_object *root = lcow_json_field(spec, "root");
    const char *rp = NULL;
    if (lcow_json_get_string(root, "root", "path", &rp, err) < 0)
        return -EINVAL;
    if (!rp || !rp[0])
        return lcow_error_make(err, EINVAL, "OciSpecification: no root.path");
    if (rp[0] == '/')
        c->rootfs = strdup(rp);
    else if (asprintf(&c->rootfs, "%s/%s", c->bundle, rp) < 0)
        c->rootfs = NULL;
    cleanup_free char *cg = NULL;
    int n = c->kind == CT_STANDALONE ? asprintf(&cg, "/pods/%s", c->id)
                                     : asprintf(&cg, "/pods/%s/%s", c->sandbox_id, c->id);
    if (n < 0)
        cg = NULL;
    if (!c->rootfs || !cg || !(c->cgroups_path = gcs_cgroup_join(g, cg)))
        return -ENOMEM;
    struct json_object *lx = child_object(spec, "linux");
    if (!lx || set_string(lx, "cgroupsPath", c->cgroups_path) < 0)
        return -ENOMEM;
    /* process.cwd must exist in the rootfs (errors ignored, as Go does). */
    const char *cwd = NULL;
    (void)lcow_json_get_string(lcow_json_field(spec, "process"), "process", "cwd", &cwd, NULL);
    if (cwd && strcmp(cwd, "/") != 0) {
        cleanup_free char *d = NULL;
        if (ct_join_inside(c->rootfs, cwd, &d, NULL) == 0)
            (void)lcow_mkdir_p(d, 0755, NULL);
    }
    return 0;
}

static int prepare_tee_log(struct ct_container *c, struct json_object *spec,
                           struct lcow_error **err)
{
    const char *rel = annotation(spec, A_TEE_LOG), *dir = annotation(spec, A_TEE_LOG_DIR);
    cleanup_free char *logs = NULL;
    if ((rel || dir) && asprintf(&logs, "%s/logs", c->root) < 0)
        return -ENOMEM;
    if (rel) {
        int r = ct_join_inside(logs, rel, &c->tee_log, err);
        if (r < 0)
            return r;
        cleanup_free char *parent = strdup(c->tee_log);
        if (!parent)
            return -ENOMEM;
        *strrchr(parent, '/') = '\0';
        r = mkdir_mode(parent, 0777, err);
        if (r < 0)
            return r;
    }
    if (dir) {
        struct json_object *mounts = child_array(spec, "mounts"), *m = json_object_new_object();
        struct json_object *o = json_object_new_array();
        if (!mounts || !m || !o) {
            json_object_put(m);
            json_object_put(o);
            return -ENOMEM;
        }
        json_object_array_add(o, json_object_new_string("bind"));
        set_string(m, "destination", dir);
        set_string(m, "type", "bind");
        set_string(m, "source", logs);
        json_object_object_add(m, "options", o);
        json_object_array_add(mounts, m);
    }
    return 0;
}

int ct_prepare_spec(struct gcs *g, struct ct_container *c, struct json_object *spec,
                    struct lcow_error **err)
{
    int r = classify(c, spec, err);
    if (r == 0)
        r = netns_from_windows(c, spec, err);
    if (r == 0)
        r = set_paths(g, c, spec, err);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(c->bundle, &st) < 0) {
        r = mkdir_mode(c->bundle, 0700, err);
        if (r < 0)
            return r;
        c->made_bundle = true;
    }
    bool skip_net = annotation_is_true(spec, A_SKIP_NET);
    const char *v;
    if (c->kind != CT_WORKLOAD) {
        if (stat(c->root, &st) < 0) {
            r = mkdir_mode(c->root, 0755, err);
            if (r < 0)
                return r;
            c->made_root = true;
        }
        r = write_root_files(g, c, spec, skip_net, err);
        if (r == 0 && c->kind == CT_SANDBOX)
            r = make_root_mounts(c, err);
        if (r == 0 && c->kind == CT_STANDALONE)
            r = add_etc_mounts(spec, c->root, err);
        if (r == 0 && annotation_is_true(spec, A_HOSTNET))
            drop_network_namespace(spec);
    } else {
        const char *hn = NULL;
        (void)lcow_json_get_string(spec, "", "hostname", &hn, NULL);
        if (hn && hn[0])
            return lcow_error_make(err, EINVAL, "workload container `%s` must not set a hostname",
                                   c->id);
        r = rewrite_mounts(c, spec, err);
        if (r == 0)
            r = add_etc_mounts(spec, c->root, err);
        if (r == 0 && (v = annotation(spec, A_SHM)))
            r = apply_shm(spec, v, err);
        if (r == 0)
            r = annotation_is_true(spec, A_PRIVILEGED) ? apply_privileged(g, spec, err)
                                                       : resolve_devices(g, spec, err);
    }
    if (r == 0 && c->kind != CT_STANDALONE && (v = annotation(spec, A_RLIMITCORE)))
        r = apply_rlimitcore(spec, v, err);
    if (r == 0)
        r = default_nofile(g, spec);
    if (r == 0)
        r = prepare_tee_log(c, spec, err);
    if (r == 0)
        r = resolve_spec_user(c, spec, err);
    if (r < 0)
        return r;
    struct json_object *rl = lcow_json_field(lcow_json_field(spec, "process"), "rlimits");
    c->rlimits = rl ? json_object_get(rl) : NULL;
    return 0;
}

/* ---- undo ------------------------------------------------------------------------------------ */

static void remove_pod_cgroup(struct ct_container *c)
{
    struct gcs *g = ct_gcs();
    cleanup_free char *rel = NULL, *path = NULL;
    const struct oci_cgroup_layout *l = ct_layout(NULL);
    if (!l || asprintf(&rel, "/pods/%s", c->id) < 0 || !(path = gcs_cgroup_join(g, rel)))
        return;
    struct oci_cgroup *cg = NULL;
    if (oci_cgroup_open(l, path, c->id, &cg, NULL) == 0) {
        cleanup_error struct lcow_error *e = NULL;
        if (oci_cgroup_destroy(cg, &e) < 0)
            lcow_debug("remove pod cgroup %s: %s", path, lcow_error_message(e));
        oci_cgroup_free(cg);
    }
}

int ct_unprepare(struct gcs *g, struct ct_container *c, struct lcow_error **err)
{
    (void)g;
    int first = 0;
    if (c->root_mounts) {
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(root_subdirs); i++) {
            cleanup_free char *d = NULL;
            if (asprintf(&d, "%s/%s", c->root, root_subdirs[i]) < 0)
                return -ENOMEM;
            int r = unmount_under(d, first ? NULL : err);
            if (r < 0 && !first)
                first = r;
            if (r == 0)
                remove_tree(d);
        }
    }
    if (c->kind == CT_SANDBOX)
        remove_pod_cgroup(c);
    if (c->kind != CT_WORKLOAD && c->root) {
        for (size_t f = 0; f < LCOW_ARRAY_SIZE(etc_files); f++) {
            cleanup_free char *p = NULL;
            if (asprintf(&p, "%s/%s", c->root, etc_files[f]) >= 0)
                (void)unlink(p);
        }
        {
            /* logs/ is gcs's (tee logs); the host reads them before it deletes. */
            cleanup_free char *logs = NULL;
            if (asprintf(&logs, "%s/logs", c->root) >= 0)
                remove_tree(logs);
        }
        if (c->made_root)
            (void)rmdir(c->root);
    }
    if (c->bundle) {
        cleanup_free char *cfg = NULL;
        if (asprintf(&cfg, "%s/config.json", c->bundle) >= 0)
            (void)unlink(cfg);
        if (c->made_bundle)
            (void)rmdir(c->bundle); /* only when empty: the rootfs and scratch are the host's */
        /* v2 layout /run/gcs/pods/<pod>/<cid>: the pod dir goes with its sandbox (if empty). */
        const char *rest = NULL;
        if (c->kind == CT_SANDBOX && has_prefix(c->bundle, "/run/gcs/pods/", &rest) &&
            strchr(rest, '/')) {
            cleanup_free char *pod = strdup(c->bundle);
            if (pod) {
                *strrchr(pod, '/') = '\0';
                (void)rmdir(pod);
            }
        }
    }
    return first;
}
