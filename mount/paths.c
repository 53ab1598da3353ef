/* Host-supplied path validation, tracked mkdir -p and a tree removal that never crosses mounts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/mount.h"

void mount_env_init(struct mount_env *env)
{
    *env = (struct mount_env){
        .sysfs_root = "/sys",
        .dev_root = "/dev",
        .device_timeout_ms = MOUNT_DEFAULT_DEVICE_TIMEOUT_MS,
        .poll_interval_ms = MOUNT_DEFAULT_POLL_MS,
        .fs_detect_retry_ms = MOUNT_DEFAULT_FS_RETRY_MS,
    };
}

char *mount_path_join(const char *root, const char *rel)
{
    char *s = NULL;
    size_t rl = strlen(root);
    while (*rel == '/')
        rel++;
    bool slash = rl > 0 && root[rl - 1] == '/';
    if (asprintf(&s, "%s%s%s", root, slash ? "" : "/", rel) < 0)
        return NULL;
    return s;
}

/* A block node can exist before its driver has bound (/dev/pmemN opens with ENXIO until
 * nd_pmem is ready): such a node is not there yet. Other nodes count once they exist. */
static bool node_ready(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return false;
    if (!S_ISBLK(st.st_mode))
        return true;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno != ENXIO && errno != ENODEV; /* other errors: the caller's open reports */
    close(fd);
    return true;
}

int mount_wait_node(const struct mount_env *env, const char *path, const char *what,
                    struct lcow_error **err)
{
    unsigned long long deadline = lcow_now_ns() + env->device_timeout_ms * 1000000ULL;
    unsigned ms = env->poll_interval_ms ? env->poll_interval_ms : MOUNT_DEFAULT_POLL_MS;
    for (;;) {
        if (node_ready(path))
            return 0;
        if (errno != ENOENT && errno != ENXIO && errno != ENODEV)
            return lcow_error_errno(err, "%s `%s`", what, path);
        if (lcow_now_ns() >= deadline)
            return lcow_error_make(err, ETIMEDOUT, "%s `%s` did not appear within %u ms", what,
                                   path, env->device_timeout_ms);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

/* Lexical rules: absolute, strictly below /run, no empty, `.` or `..` components. */
static int validate_lexical(const char *path, const char *what, struct lcow_error **err)
{
    size_t n = strlen(path);
    if (n == 0)
        return lcow_error_make(err, EINVAL, "%s is empty", what);
    if (n >= PATH_MAX)
        return lcow_error_make(err, ENAMETOOLONG, "%s is longer than %d bytes", what, PATH_MAX - 1);
    size_t rl = strlen(MOUNT_RUN_ROOT);
    if (strncmp(path, MOUNT_RUN_ROOT "/", rl + 1) != 0 || path[rl + 1] == '\0')
        return lcow_error_make(err, EINVAL, "%s `%s` is not under %s/", what, path, MOUNT_RUN_ROOT);
    const char *p = path + 1;
    while (*p) {
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return lcow_error_make(err, EINVAL, "%s `%s` has an empty, `.` or `..` component", what,
                                   path);
        if (len > NAME_MAX)
            return lcow_error_make(err, ENAMETOOLONG, "%s `%s` has a component over %d bytes", what,
                                   path, NAME_MAX);
        p = *e ? e + 1 : e;
    }
    if (path[n - 1] == '/')
        return lcow_error_make(err, EINVAL, "%s `%s` ends with `/`", what, path);
    return 0;
}

/* Walks the existing components below /run with O_NOFOLLOW: a symlink anywhere (but possibly
 * the last component) could point the mount outside /run. */
static int validate_no_symlinks(const char *path, const char *what, bool allow_final_symlink,
                                struct lcow_error **err)
{
    cleanup_close int dir = open(MOUNT_RUN_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return lcow_error_errno(err, "open `%s`", MOUNT_RUN_ROOT);
    cleanup_free char *copy = strdup(path + strlen(MOUNT_RUN_ROOT) + 1);
    if (!copy)
        return lcow_error_make(err, ENOMEM, "validate %s", what);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        bool last = save == NULL || *save == '\0';
        struct stat st;
        if (fstatat(dir, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                return 0; /* the rest will be created by us, as directories */
            return lcow_error_errno(err, "stat %s `%s` at `%s`", what, path, c);
        }
        if (S_ISLNK(st.st_mode)) {
            if (last && allow_final_symlink)
                return 0;
            return lcow_error_make(err, ELOOP, "%s `%s`: component `%s` is a symlink", what, path,
                                   c);
        }
        if (last)
            return 0;
        if (!S_ISDIR(st.st_mode))
            return lcow_error_make(err, ENOTDIR, "%s `%s`: component `%s` is not a directory", what,
                                   path, c);
        int next = openat(dir, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return lcow_error_errno(err, "open %s `%s` at `%s`", what, path, c);
        close(dir);
        dir = next;
    }
    return 0;
}

int mount_validate_run_path(const char *path, const char *what, bool allow_final_symlink,
                            struct lcow_error **err)
{
    if (!path)
        return lcow_error_make(err, EINVAL, "%s is missing", what);
    int r = validate_lexical(path, what, err);
    if (r < 0)
        return r;
    return validate_no_symlinks(path, what, allow_final_symlink, err);
}

int mount_mkdir_p(const char *path, mode_t mode, char **ret_created, struct lcow_error **err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    cleanup_free char *created = NULL;
    if (len == 0 || len >= sizeof(buf))
        return lcow_error_make(err, ENAMETOOLONG, "mkdir `%s`: bad length", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, mode) == 0) {
            if (!created && !(created = strdup(buf))) {
                (void)rmdir(buf);
                return lcow_error_make(err, ENOMEM, "mkdir `%s`", path);
            }
        } else if (errno != EEXIST) {
            int r = lcow_error_errno(err, "mkdir `%s`", buf);
            if (created)
                (void)mount_remove_tree(created, NULL);
            return r;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    int r = 0;
    if (stat(path, &st) < 0)
        r = lcow_error_errno(err, "stat `%s`", path);
    else if (!S_ISDIR(st.st_mode))
        r = lcow_error_make(err, ENOTDIR, "mkdir `%s`: not a directory", path);
    if (r < 0) {
        if (created)
            (void)mount_remove_tree(created, NULL);
        return r;
    }
    if (ret_created)
        *ret_created = steal_pointer(&created);
    return 0;
}

int mount_is_mount_point_at(int dirfd, const char *name)
{
    struct statx sx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) < 0)
        return -errno;
    if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
    /* Kernels before 5.8: compare with the parent's device (misses same-fs binds). */
    struct stat self, parent;
    cleanup_free char *up = NULL;
    if (asprintf(&up, "%s/..", name) < 0)
        return -ENOMEM;
    if (fstatat(dirfd, name, &self, AT_SYMLINK_NOFOLLOW) < 0 || fstatat(dirfd, up, &parent, 0) < 0)
        return -errno;
    return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

/* Depth-first removal below dirfd; `dev` is the filesystem the tree must stay on. */
static int remove_children(int dirfd, dev_t dev, const char *path, struct lcow_error **err)
{
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return lcow_error_errno(err, "dup `%s`", path);
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return lcow_error_errno(err, "opendir `%s`", path);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return lcow_error_errno(err, "stat `%s/%s`", path, de->d_name);
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev || mount_is_mount_point_at(dirfd, de->d_name) > 0)
                return lcow_error_make(err, EBUSY, "remove `%s/%s`: a mount is still there", path,
                                       de->d_name);
            cleanup_close int sub =
                openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                return lcow_error_errno(err, "open `%s/%s`", path, de->d_name);
            int r = remove_children(sub, dev, path, err);
            if (r < 0)
                return r;
            if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0)
                return lcow_error_errno(err, "rmdir `%s/%s`", path, de->d_name);
        } else if (unlinkat(dirfd, de->d_name, 0) < 0) {
            return lcow_error_errno(err, "unlink `%s/%s`", path, de->d_name);
        }
    }
    return 0;
}

int mount_remove_tree(const char *path, struct lcow_error **err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return lcow_error_errno(err, "stat `%s`", path);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return lcow_error_errno(err, "unlink `%s`", path);
        return 0;
    }
    if (mount_is_mount_point_at(AT_FDCWD, path) > 0)
        return lcow_error_make(err, EBUSY, "remove `%s`: it is still a mount point", path);
    cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", path);
    int r = remove_children(fd, st.st_dev, path, err);
    if (r < 0)
        return r;
    if (rmdir(path) < 0 && errno != ENOENT)
        return lcow_error_errno(err, "rmdir `%s`", path);
    return 0;
}
