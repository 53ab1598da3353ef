/* cgroup layout detection (mountinfo + /proc/self/cgroup), cgroupsPath handling, creating,
 * opening and removing a container's cgroup in every hierarchy, and the cgroupfs file helpers
 * the other cgroup*.c files share. */
#include "oci/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "oci/cgroup_internal.h"

#define CG_FILE_MAX   (1u << 20) /* cgroupfs files are small; cap what we read */
#define MOUNTINFO_MAX (4u << 20)
#define RMDIR_TRIES   40 /* with growing sleeps: ~1 s in total */

static const char *const v1_names[OCI_CG_CTRL_MAX] = {
    [OCI_CG_CPU] = "cpu",
    [OCI_CG_CPUACCT] = "cpuacct",
    [OCI_CG_CPUSET] = "cpuset",
    [OCI_CG_MEMORY] = "memory",
    [OCI_CG_DEVICES] = "devices",
    [OCI_CG_FREEZER] = "freezer",
    [OCI_CG_BLKIO] = "blkio",
    [OCI_CG_PIDS] = "pids",
    [OCI_CG_HUGETLB] = "hugetlb",
    [OCI_CG_NET_CLS] = "net_cls",
    [OCI_CG_NET_PRIO] = "net_prio",
    [OCI_CG_RDMA] = "rdma",
    [OCI_CG_PERF_EVENT] = "perf_event",
    [OCI_CG_MISC] = "misc",
    [OCI_CG_SYSTEMD] = "name=systemd",
};

const char *oci_cgroup_ctrl_name(enum oci_cgroup_ctrl c, bool v2)
{
    if ((unsigned)c >= OCI_CG_CTRL_MAX)
        return NULL;
    if (v2 && c == OCI_CG_BLKIO)
        return "io";
    return v1_names[c];
}

const char *oci_cgroup_mode_name(enum oci_cgroup_mode m)
{
    switch (m) {
    case OCI_CGROUP_LEGACY:
        return "legacy";
    case OCI_CGROUP_HYBRID:
        return "hybrid";
    case OCI_CGROUP_UNIFIED:
        return "unified";
    default:
        return "unknown";
    }
}

static int ctrl_from_name(const char *name, bool v2)
{
    if (v2 && strcmp(name, "io") == 0)
        return OCI_CG_BLKIO;
    for (int i = 0; i < OCI_CG_CTRL_MAX; i++)
        if (strcmp(v1_names[i], name) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- file helpers */

static int join_path(const char *dir, const char *file, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", dir, file);
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int cg_write(const char *dir, const char *file, const char *value, struct lcow_error **err)
{
    char p[4096];
    if (join_path(dir, file, p, sizeof(p)) < 0)
        return lcow_error_make(err, ENAMETOOLONG, "cgroup path `%s/%s` too long", dir, file);
    cleanup_close int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", p);
    size_t len = strlen(value);
    /* One write: cgroupfs parses each write(2) as a whole value. */
    ssize_t w = LCOW_RETRY_EINTR(write(fd, value, len));
    if (w < 0)
        return lcow_error_errno(err, "write `%s` to `%s`", value, p);
    if ((size_t)w != len)
        return lcow_error_make(err, EIO, "write `%s` to `%s`: short write", value, p);
    return 0;
}

int cg_writef(const char *dir, const char *file, struct lcow_error **err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return lcow_error_make(err, EINVAL, "value for `%s/%s` too long", dir, file);
    return cg_write(dir, file, buf, err);
}

int cg_read(const char *dir, const char *file, char **ret, struct lcow_error **err)
{
    char p[4096];
    if (join_path(dir, file, p, sizeof(p)) < 0)
        return lcow_error_make(err, ENAMETOOLONG, "cgroup path `%s/%s` too long", dir, file);
    return lcow_read_file(p, CG_FILE_MAX, ret, NULL, err);
}

static int parse_u64(const char *s, uint64_t *ret)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncmp(s, "max", 3) == 0) {
        *ret = UINT64_MAX;
        return 0;
    }
    if (*s < '0' || *s > '9')
        return -EINVAL;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -errno;
    if (*end != '\0' && *end != '\n' && *end != ' ')
        return -EINVAL;
    *ret = v;
    return 0;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *ret, struct lcow_error **err)
{
    cleanup_free char *s = NULL;
    int r = cg_read(dir, file, &s, err);
    if (r < 0)
        return r;
    if (parse_u64(s, ret) < 0)
        return lcow_error_make(err, EINVAL, "`%s/%s`: not a number: `%.32s`", dir, file, s);
    return 0;
}

int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *ret,
                  struct lcow_error **err)
{
    cleanup_free char *s = NULL;
    int r = cg_read(dir, file, &s, err);
    if (r < 0)
        return r;
    size_t klen = strlen(key);
    for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_u64(line + klen + 1, ret) < 0
                       ? lcow_error_make(err, EINVAL, "`%s/%s`: bad value for `%s`", dir, file, key)
                       : 0;
    }
    return -ENOENT; /* no message: callers treat a missing key as "not offered" */
}

bool cg_file_exists(const char *dir, const char *file)
{
    char p[4096];
    if (dir == NULL || join_path(dir, file, p, sizeof(p)) < 0)
        return false;
    return access(p, F_OK) == 0;
}

/* ---------------------------------------------------------------- layout detection */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

struct mi_entry {
    char *root, *mount, *fstype, *super;
};

/* Splits one mountinfo line in place: "ID PARENT MAJ:MIN ROOT MOUNT OPTS [OPT...] - FS SRC SUPER".
 */
static bool mi_split(char *line, struct mi_entry *e)
{
    char *f[64];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < LCOW_ARRAY_SIZE(f);
         t = strtok_r(NULL, " ", &save))
        f[n++] = t;
    size_t dash = 6;
    while (dash < n && strcmp(f[dash], "-") != 0)
        dash++;
    if (n < 10 || dash + 3 >= n + 1 || dash + 3 > n)
        return false;
    e->root = f[3];
    e->mount = f[4];
    e->fstype = f[dash + 1];
    e->super = f[dash + 3];
    unescape_octal(e->root);
    unescape_octal(e->mount);
    return true;
}

static int set_str(char **slot, const char *prefix, const char *s)
{
    char *v = NULL;
    if (asprintf(&v, "%s%s", prefix ? prefix : "", s) < 0)
        return -ENOMEM;
    free(*slot);
    *slot = v;
    return 0;
}

/* A cgroup (v1) mount: its super options name the controllers ("rw,cpu,cpuacct"). */
static int mi_v1(struct oci_cgroup_layout *l, const struct mi_entry *e, const char *prefix)
{
    cleanup_free char *opts = strdup(e->super);
    if (opts == NULL)
        return -ENOMEM;
    for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        int c = ctrl_from_name(o, false);
        if (c < 0 || l->v1_mount[c] != NULL)
            continue; /* first mount of a hierarchy wins (bind mounts repeat it) */
        if (set_str(&l->v1_mount[c], prefix, e->mount) < 0 ||
            set_str(&l->v1_root[c], NULL, e->root) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Prefer the canonical cgroup2 mounts when several exist (tests may mount more). */
static bool v2_mount_better(const struct oci_cgroup_layout *l, const char *mount,
                            const char *prefix)
{
    if (l->v2_mount == NULL)
        return true;
    size_t pl = prefix ? strlen(prefix) : 0;
    const char *cur = l->v2_mount + pl;
    bool cur_canon =
        strcmp(cur, "/sys/fs/cgroup") == 0 || strcmp(cur, "/sys/fs/cgroup/unified") == 0;
    bool new_canon =
        strcmp(mount, "/sys/fs/cgroup") == 0 || strcmp(mount, "/sys/fs/cgroup/unified") == 0;
    return new_canon && !cur_canon;
}

static int parse_mountinfo(struct oci_cgroup_layout *l, char *buf, const char *prefix)
{
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct mi_entry e;
        if (!mi_split(line, &e))
            continue;
        int r = 0;
        if (strcmp(e.fstype, "cgroup") == 0) {
            r = mi_v1(l, &e, prefix);
        } else if (strcmp(e.fstype, "cgroup2") == 0 && v2_mount_better(l, e.mount, prefix)) {
            if (set_str(&l->v2_mount, prefix, e.mount) < 0 ||
                set_str(&l->v2_root, NULL, e.root) < 0)
                r = -ENOMEM;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* /proc/self/cgroup: "ID:ctrl,ctrl:/path" per v1 hierarchy, "0::/path" for v2. */
static int parse_self_cgroup(struct oci_cgroup_layout *l, char *buf)
{
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        const char *path = c2 + 1;
        if (c1[1] == '\0') {
            if (set_str(&l->v2_own, NULL, path) < 0)
                return -ENOMEM;
            continue;
        }
        for (char *save2 = NULL, *o = strtok_r(c1 + 1, ",", &save2); o;
             o = strtok_r(NULL, ",", &save2)) {
            int c = ctrl_from_name(o, false);
            if (c >= 0 && set_str(&l->v1_own[c], NULL, path) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static void read_v2_controllers(struct oci_cgroup_layout *l)
{
    cleanup_free char *s = NULL;
    if (l->v2_mount == NULL || cg_read(l->v2_mount, "cgroup.controllers", &s, NULL) < 0)
        return;
    for (char *save = NULL, *t = strtok_r(s, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        int c = ctrl_from_name(t, true);
        if (c >= 0)
            l->v2_controllers |= 1u << c;
    }
}

int oci_cgroup_layout_detect(const struct oci_cgroup_sources *src, struct oci_cgroup_layout **ret,
                             struct lcow_error **err)
{
    const char *mi = src && src->mountinfo ? src->mountinfo : "/proc/self/mountinfo";
    const char *sc = src && src->self_cgroup ? src->self_cgroup : "/proc/self/cgroup";
    const char *prefix = src ? src->prefix : NULL;
    cleanup_free char *mbuf = NULL, *cbuf = NULL;
    int r = lcow_read_file(mi, MOUNTINFO_MAX, &mbuf, NULL, err);
    if (r < 0)
        return r;
    r = lcow_read_file(sc, CG_FILE_MAX, &cbuf, NULL, err);
    if (r < 0)
        return r;
    struct oci_cgroup_layout *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return lcow_error_make(err, ENOMEM, "cgroup layout: out of memory");
    if (parse_mountinfo(l, mbuf, prefix) < 0 || parse_self_cgroup(l, cbuf) < 0) {
        oci_cgroup_layout_free(l);
        return lcow_error_make(err, ENOMEM, "cgroup layout: out of memory");
    }
    bool any_v1 = false;
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++)
        any_v1 |= l->v1_mount[c] != NULL;
    if (!any_v1 && l->v2_mount == NULL) {
        oci_cgroup_layout_free(l);
        return lcow_error_make(err, ENOENT, "no cgroup hierarchy mounted (read `%s`)", mi);
    }
    l->mode = !any_v1 ? OCI_CGROUP_UNIFIED : l->v2_mount ? OCI_CGROUP_HYBRID : OCI_CGROUP_LEGACY;
    read_v2_controllers(l);
    *ret = l;
    return 0;
}

struct oci_cgroup_layout *oci_cgroup_layout_free(struct oci_cgroup_layout *l)
{
    if (l == NULL)
        return NULL;
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        free(l->v1_mount[c]);
        free(l->v1_root[c]);
        free(l->v1_own[c]);
    }
    free(l->v2_mount);
    free(l->v2_root);
    free(l->v2_own);
    free(l);
    return NULL;
}

bool oci_cgroup_layout_has(const struct oci_cgroup_layout *l, enum oci_cgroup_ctrl c)
{
    if ((unsigned)c >= OCI_CG_CTRL_MAX)
        return false;
    return l->v1_mount[c] != NULL || (l->v2_mount && (l->v2_controllers & (1u << c)));
}

/* ---------------------------------------------------------------- paths */

/* Lexical cleaning like Go's filepath.Clean; ".." at the top of a path is dropped, so a
 * relative path cannot climb out of the caller's cgroup either (runc's CleanPath). */
char *oci_cgroup_clean_path(const char *path)
{
    if (path == NULL)
        return strdup("");
    bool abs = path[0] == '/';
    size_t len = strlen(path);
    char *out = malloc(len + 2);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t sl = (size_t)(p - s);
        if (sl == 0 || (sl == 1 && s[0] == '.'))
            continue;
        if (sl == 2 && s[0] == '.' && s[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--; /* the separator */
            continue;
        }
        if (n > 0 || abs)
            out[n++] = '/';
        memcpy(out + n, s, sl);
        n += sl;
    }
    if (n == 0 && abs)
        out[n++] = '/';
    out[n] = '\0';
    return out;
}

/* The caller's own cgroup in a hierarchy, relative to the mount's root. */
static const char *strip_root(const char *own, const char *root)
{
    if (own == NULL)
        return "/";
    size_t rl = root ? strlen(root) : 0;
    if (rl > 1 && strncmp(own, root, rl) == 0 && (own[rl] == '/' || own[rl] == '\0'))
        return own[rl] ? own + rl : "/";
    return own;
}

static char *dir_for(const char *mount, const char *root, const char *own, const char *path)
{
    char *d = NULL;
    const char *base = path[0] == '/' ? "" : strip_root(own, root);
    int r;
    if (path[0] == '/')
        r = asprintf(&d, "%s%s", mount, strcmp(path, "/") == 0 ? "" : path);
    else
        r = asprintf(&d, "%s%s%s%s", mount, strcmp(base, "/") == 0 ? "" : base, "/", path);
    return r < 0 ? NULL : d;
}

static int cg_alloc(const struct oci_cgroup_layout *l, const char *cgroups_path, const char *id,
                    struct oci_cgroup **ret, struct lcow_error **err)
{
    const char *src = cgroups_path && *cgroups_path ? cgroups_path : id;
    if (src == NULL || *src == '\0') {
        return lcow_error_make(err, EINVAL, "cgroup: neither cgroupsPath nor container id given");
    }
    struct oci_cgroup *cg = calloc(1, sizeof(*cg));
    if (cg == NULL)
        goto oom;
    cg->layout = l;
    cg->v2_fd = -1;
    cg->bpf_prog_fd = -1;
    cg->path = oci_cgroup_clean_path(src);
    if (cg->path == NULL)
        goto oom;
    if (cg->path[0] == '\0' || strcmp(cg->path, "/") == 0) {
        oci_cgroup_free(cg);
        return lcow_error_make(err, EINVAL, "cgroup: path `%s` names the hierarchy root", src);
    }
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        if (l->v1_mount[c] == NULL)
            continue;
        cg->v1_dir[c] = dir_for(l->v1_mount[c], l->v1_root[c], l->v1_own[c], cg->path);
        if (cg->v1_dir[c] == NULL)
            goto oom;
    }
    if (l->v2_mount != NULL) {
        cg->v2_dir = dir_for(l->v2_mount, l->v2_root, l->v2_own, cg->path);
        if (cg->v2_dir == NULL)
            goto oom;
    }
    *ret = cg;
    return 0;
oom:
    oci_cgroup_free(cg);
    return lcow_error_make(err, ENOMEM, "cgroup: out of memory");
}

struct oci_cgroup *oci_cgroup_free(struct oci_cgroup *cg)
{
    if (cg == NULL)
        return NULL;
    free(cg->path);
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++)
        free(cg->v1_dir[c]);
    free(cg->v2_dir);
    if (cg->v2_fd >= 0)
        lcow_close_nointr(cg->v2_fd);
    if (cg->bpf_prog_fd >= 0)
        lcow_close_nointr(cg->bpf_prog_fd);
    for (size_t i = 0; i < cg->n_created; i++)
        free(cg->created[i]);
    free(cg->created);
    free(cg);
    return NULL;
}

const char *oci_cgroup_path(const struct oci_cgroup *cg)
{
    return cg->path;
}

const char *oci_cgroup_dir(const struct oci_cgroup *cg, enum oci_cgroup_ctrl c)
{
    bool v2 = false;
    return cg_ctrl_dir(cg, c, &v2);
}

const char *oci_cgroup_v2_dir(const struct oci_cgroup *cg)
{
    return cg->v2_dir;
}

int oci_cgroup_clone_fd(const struct oci_cgroup *cg)
{
    return cg->layout->mode == OCI_CGROUP_UNIFIED ? cg->v2_fd : -1;
}

/* A controller is served by v1 when it is mounted there; otherwise by cgroup2 if offered.
 * Devices and freezer are built into cgroup2 (BPF program, cgroup.freeze). */
const char *cg_ctrl_dir(const struct oci_cgroup *cg, enum oci_cgroup_ctrl c, bool *ret_v2)
{
    *ret_v2 = false;
    if ((unsigned)c >= OCI_CG_CTRL_MAX)
        return NULL;
    if (cg->v1_dir[c] != NULL)
        return cg->v1_dir[c];
    if (cg->v2_dir == NULL)
        return NULL;
    bool builtin = c == OCI_CG_DEVICES || c == OCI_CG_FREEZER;
    if (builtin || (cg->layout->v2_controllers & (1u << c))) {
        *ret_v2 = true;
        return cg->v2_dir;
    }
    return NULL;
}

/* ---------------------------------------------------------------- create */

static int record_created(struct oci_cgroup *cg, const char *dir)
{
    char **n = realloc(cg->created, (cg->n_created + 1) * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    cg->created = n;
    n[cg->n_created] = strdup(dir);
    if (n[cg->n_created] == NULL)
        return -ENOMEM;
    cg->n_created++;
    return 0;
}

/* mkdir -p that remembers each directory it made (parents first), so a failed create can undo
 * exactly those. The leaf is tried first: parents usually exist, and walking down from "/"
 * would cost a syscall per component in every hierarchy. */
static int mkdir_p_recorded(struct oci_cgroup *cg, char *p)
{
    if (mkdir(p, 0755) == 0)
        return record_created(cg, p) < 0 ? -ENOMEM : 0;
    if (errno != ENOENT)
        return -errno;
    char *slash = strrchr(p, '/');
    if (slash == NULL || slash == p)
        return -ENOENT;
    *slash = '\0';
    int r = mkdir_p_recorded(cg, p);
    *slash = '/';
    if (r < 0 && r != -EEXIST)
        return r;
    if (mkdir(p, 0755) == 0)
        return record_created(cg, p) < 0 ? -ENOMEM : 0;
    return -errno;
}

static int mkdir_recorded(struct oci_cgroup *cg, const char *dir, bool exclusive,
                          struct lcow_error **err)
{
    cleanup_free char *p = strdup(dir);
    if (p == NULL)
        return lcow_error_make(err, ENOMEM, "cgroup: out of memory");
    int r = mkdir_p_recorded(cg, p);
    if (r == -EEXIST)
        return exclusive ? lcow_error_make(err, EEXIST, "cgroup `%s` already exists", dir) : 0;
    if (r == -ENOMEM)
        return lcow_error_make(err, ENOMEM, "cgroup: out of memory");
    if (r < 0) {
        errno = -r;
        return lcow_error_errno(err, "mkdir `%s`", dir);
    }
    return 0;
}

static bool was_created(const struct oci_cgroup *cg, const char *dir)
{
    for (size_t i = 0; i < cg->n_created; i++)
        if (strcmp(cg->created[i], dir) == 0)
            return true;
    return false;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems and accepts no task: copy them down from
 * the parent into every directory this create made, top-down (runc's cpuset init). Directories
 * that existed before are someone else's and already usable. */
static int cpuset_init(const struct oci_cgroup *cg, const char *mount, struct lcow_error **err)
{
    size_t ml = strlen(mount);
    for (size_t i = 0; i < cg->n_created; i++) {
        const char *d = cg->created[i];
        if (strncmp(d, mount, ml) != 0 || d[ml] != '/')
            continue;
        cleanup_free char *parent = strdup(d);
        if (parent == NULL)
            return lcow_error_make(err, ENOMEM, "cgroup: out of memory");
        *strrchr(parent, '/') = '\0';
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t f = 0; f < LCOW_ARRAY_SIZE(files); f++) {
            cleanup_free char *up = NULL;
            int r = cg_read(parent, files[f], &up, err);
            if (r >= 0)
                r = cg_write(d, files[f], up, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static bool word_in(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* Enables every offered controller in each ancestor's subtree_control so the leaf gets the
 * files. Best effort: a parent holding processes refuses (EBUSY); the resource write that
 * needs the controller will then report the missing file. */
static void v2_enable_controllers(const struct oci_cgroup *cg)
{
    const struct oci_cgroup_layout *l = cg->layout;
    size_t ml = strlen(l->v2_mount);
    cleanup_free char *p = strdup(cg->v2_dir);
    if (p == NULL)
        return;
    char *last = strrchr(p, '/');
    for (char *s = p + ml; s <= last; s++) {
        if (*s != '/')
            continue;
        char saved = *s;
        *s = '\0';
        const char *dir = s == p + ml ? l->v2_mount : p;
        cleanup_free char *avail = NULL, *enabled = NULL;
        if (cg_read(dir, "cgroup.controllers", &avail, NULL) == 0 &&
            cg_read(dir, "cgroup.subtree_control", &enabled, NULL) == 0) {
            for (char *sv = NULL, *t = strtok_r(avail, " \n", &sv); t;
                 t = strtok_r(NULL, " \n", &sv)) {
                if (word_in(enabled, t))
                    continue; /* already on: a write would only cost time */
                char v[64];
                snprintf(v, sizeof(v), "+%.60s", t);
                (void)cg_write(dir, "cgroup.subtree_control", v, NULL);
            }
        }
        *s = saved;
    }
}

/* A reused cgroup must not hold processes (they would share the container's limits and be
 * killed with it) nor be frozen (the container's init would never run). */
static int require_empty(const struct oci_cgroup *cg, struct lcow_error **err)
{
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    int r = oci_cgroup_pids(cg, &pids, &n, err);
    if (r < 0)
        return r;
    if (n > 0)
        return lcow_error_make(err, EBUSY, "cgroup `%s` is not empty: %zu process(es) in it",
                               cg->path, n);
    r = oci_cgroup_is_frozen(cg, NULL);
    if (r > 0)
        return lcow_error_make(err, EBUSY, "cgroup `%s` is frozen", cg->path);
    return 0;
}

static void rollback_created(struct oci_cgroup *cg)
{
    for (size_t i = cg->n_created; i-- > 0;)
        (void)rmdir(cg->created[i]);
}

int oci_cgroup_create(const struct oci_cgroup_layout *l, const char *cgroups_path, const char *id,
                      unsigned flags, struct oci_cgroup **ret, struct lcow_error **err)
{
    struct oci_cgroup *cg = NULL;
    int r = cg_alloc(l, cgroups_path, id, &cg, err);
    if (r < 0)
        return r;
    bool excl = flags & OCI_CGROUP_EXCLUSIVE;

    for (int c = 0; c < OCI_CG_CTRL_MAX && r >= 0; c++) {
        if (cg->v1_dir[c] == NULL)
            continue;
        /* Co-mounted controllers share a directory: only the first mkdir is "exclusive". */
        bool first = !was_created(cg, cg->v1_dir[c]);
        r = mkdir_recorded(cg, cg->v1_dir[c], excl && first, err);
        if (r >= 0 && c == OCI_CG_CPUSET)
            r = cpuset_init(cg, l->v1_mount[c], err);
    }
    if (r >= 0 && cg->v2_dir != NULL) {
        r = mkdir_recorded(cg, cg->v2_dir, excl, err);
        if (r >= 0) {
            v2_enable_controllers(cg);
            cg->v2_fd = open(cg->v2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cg->v2_fd < 0)
                r = lcow_error_errno(err, "open `%s`", cg->v2_dir);
        }
    }
    if (r >= 0 && (flags & OCI_CGROUP_REQUIRE_EMPTY))
        r = require_empty(cg, err);
    if (r < 0) {
        rollback_created(cg);
        oci_cgroup_free(cg);
        lcow_error_wrap(err, "create cgroup `%s`",
                        cgroups_path && *cgroups_path ? cgroups_path : id);
        return r;
    }
    *ret = cg;
    return 0;
}

int oci_cgroup_open(const struct oci_cgroup_layout *l, const char *cgroups_path, const char *id,
                    struct oci_cgroup **ret, struct lcow_error **err)
{
    struct oci_cgroup *cg = NULL;
    int r = cg_alloc(l, cgroups_path, id, &cg, err);
    if (r < 0)
        return r;
    bool any = false;
    struct stat st;
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++) {
        if (cg->v1_dir[c] == NULL)
            continue;
        if (stat(cg->v1_dir[c], &st) == 0 && S_ISDIR(st.st_mode)) {
            any = true;
        } else {
            free(cg->v1_dir[c]);
            cg->v1_dir[c] = NULL;
        }
    }
    if (cg->v2_dir != NULL) {
        cg->v2_fd = open(cg->v2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg->v2_fd >= 0) {
            any = true;
        } else {
            free(cg->v2_dir);
            cg->v2_dir = NULL;
        }
    }
    if (!any) {
        int rc = lcow_error_make(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        oci_cgroup_free(cg);
        return rc;
    }
    *ret = cg;
    return 0;
}

/* ---------------------------------------------------------------- destroy */

/* Removes dir and every sub-cgroup below it (a container may have made its own). */
static int rmdir_tree(const char *dir)
{
    /* Usually a leaf: one rmdir. cgroupfs says EBUSY both for sub-cgroups and for tasks. */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY && errno != ENOTEMPTY)
        return -errno;
    cleanup_dir DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        cleanup_free char *sub = NULL;
        if (asprintf(&sub, "%s/%s", dir, e->d_name) < 0)
            return -ENOMEM;
        int r = rmdir_tree(sub);
        if (r < 0)
            return r;
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int oci_cgroup_destroy(struct oci_cgroup *cg, struct lcow_error **err)
{
    const char *dirs[OCI_CG_CTRL_MAX + 1];
    size_t n = 0;
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++)
        if (cg->v1_dir[c] != NULL)
            dirs[n++] = cg->v1_dir[c];
    if (cg->v2_dir != NULL)
        dirs[n++] = cg->v2_dir;
    int last = 0;
    for (int attempt = 0; attempt < RMDIR_TRIES; attempt++) {
        last = 0;
        for (size_t i = 0; i < n; i++) {
            int r = rmdir_tree(dirs[i]);
            if (r < 0)
                last = r;
        }
        if (last == 0)
            return 0;
        if (last != -EBUSY)
            break;
        /* Leftover processes keep the directory busy: kill them, then wait for the reaper. */
        (void)oci_cgroup_kill_all(cg, SIGKILL, NULL);
        sleep_ms(attempt < 10 ? 5 : 40);
    }
    errno = -last;
    return lcow_error_errno(err, "remove cgroup `%s`", cg->path);
}
