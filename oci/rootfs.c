/* Looking things up inside a container rootfs without leaving it.
 *
 * Path resolution (CVE-2017-1002101 style symlink escapes): openat2(RESOLVE_IN_ROOT) when the
 * kernel has it, else a component walk that treats absolute symlinks as relative to the root
 * and clamps "..". Both run between clone and exec, so the resolver allocates nothing: fixed
 * stack buffers only.
 *
 * User and group data from the container's own /etc/passwd and /etc/group, read as files
 * through that resolver (no NSS: the host's resolvers must never be consulted, and PID-1 style
 * programs must not load NSS modules). This part runs in the parent and may allocate. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/syscalls.h"
#include "oci/internal.h"
#include "common/cleanup.h"
#include "common/io.h"

/* ---- path resolution (no allocation) ---- */

#define MAX_SYMLINKS 40

/* Replaces todo with link + "/" + rest (rest may alias todo). */
static int splice_link(char *todo, size_t cap, const char *link, size_t link_len, const char *rest)
{
    char tmp[PATH_MAX * 2];
    size_t rest_len = strlen(rest);
    if (link_len + 1 + rest_len + 1 > sizeof(tmp) || link_len + 1 + rest_len + 1 > cap)
        return -ENAMETOOLONG;
    memcpy(tmp, link, link_len);
    tmp[link_len] = '/';
    memcpy(tmp + link_len + 1, rest, rest_len + 1);
    memcpy(todo, tmp, link_len + rest_len + 2);
    return 0;
}

static void pop_component(char *cur, size_t *len)
{
    while (*len > 0 && cur[*len - 1] != '/')
        (*len)--;
    if (*len > 0)
        (*len)--; /* the separator */
    cur[*len] = '\0';
}

static int open_cur(int root_fd, const char *cur, size_t len)
{
    if (len == 0)
        return openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return openat(root_fd, cur, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int create_missing(int dirfd, const char *name, bool last, mode_t create)
{
    if (!last || S_ISDIR(create)) {
        if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
            return -errno;
        return 0;
    }
    int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST)
        return -errno;
    if (fd >= 0)
        close(fd);
    return 0;
}

/* One step of the walk: handles `name` (a single component) below cur. Returns 1 when it was a
 * symlink (todo was rewritten, restart from *p = todo), 0 when cur grew, -errno on failure. */
static int walk_step(int root_fd, char *cur, size_t *cur_len, const char *name, bool last,
                     mode_t create, char *todo, size_t todo_cap, const char *rest, int *links)
{
    int dirfd = open_cur(root_fd, cur, *cur_len);
    if (dirfd < 0)
        return -errno;
    struct stat st;
    int r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
    if (r < 0 && errno == ENOENT && create != 0) {
        r = create_missing(dirfd, name, last, create);
        if (r == 0)
            r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
        else
            errno = -r;
    }
    if (r < 0) {
        r = -errno;
        close(dirfd);
        return r;
    }
    if (S_ISLNK(st.st_mode)) {
        char link[PATH_MAX];
        ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
        close(dirfd);
        if (n < 0)
            return -errno;
        if (++*links > MAX_SYMLINKS)
            return -ELOOP;
        link[n] = '\0';
        if (link[0] == '/') {
            *cur_len = 0;
            cur[0] = '\0';
        }
        r = splice_link(todo, todo_cap, link, (size_t)n, rest);
        return r < 0 ? r : 1;
    }
    close(dirfd);
    if (!last && !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    size_t nlen = strlen(name);
    if (*cur_len + nlen + 2 > PATH_MAX)
        return -ENAMETOOLONG;
    if (*cur_len > 0)
        cur[(*cur_len)++] = '/';
    memcpy(cur + *cur_len, name, nlen + 1);
    *cur_len += nlen;
    return 0;
}

static int resolve_walk(int root_fd, const char *path, mode_t create)
{
    char todo[PATH_MAX * 2];
    char cur[PATH_MAX];
    size_t cur_len = 0;
    int links = 0;
    if (strlen(path) >= sizeof(todo))
        return -ENAMETOOLONG;
    memcpy(todo, path, strlen(path) + 1);
    cur[0] = '\0';
    const char *p = todo;
    for (;;) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        const char *rest = end;
        while (*rest == '/')
            rest++;
        bool last = *rest == '\0';
        char name[NAME_MAX + 1];
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(name, p, len);
        name[len] = '\0';
        p = end;
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            pop_component(cur, &cur_len);
            continue;
        }
        int r =
            walk_step(root_fd, cur, &cur_len, name, last, create, todo, sizeof(todo), rest, &links);
        if (r < 0)
            return r;
        if (r == 1)
            p = todo;
    }
    int fd = cur_len == 0 ? openat(root_fd, ".", O_PATH | O_CLOEXEC)
                          : openat(root_fd, cur, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int oci_resolve_in_root(int root_fd, const char *path, mode_t create, bool force_fallback)
{
    if (!force_fallback) {
        struct lcow_open_how how = {
            .flags = O_PATH | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = sys_openat2(root_fd, path, &how);
        if (fd >= 0)
            return fd;
        /* ENOENT with create: the walk makes the missing parts. Other errors are final
         * unless the kernel lacks openat2 (or a seccomp shim hides it). */
        if (!(errno == ENOSYS || errno == EPERM || (errno == ENOENT && create != 0)))
            return -errno;
    }
    return resolve_walk(root_fd, path, create);
}

/* ---- /etc/passwd and /etc/group ---- */

#define DB_MAX (4u << 20)

/* Reads etc/<name> below the rootfs without leaving it; *ret NULL when the file is absent. */
static int read_db(int rootfs_fd, const char *name, char **ret, struct lcow_error **err)
{
    cleanup_close int fd = oci_resolve_in_root(rootfs_fd, name, 0, false);
    if (fd == -ENOENT) {
        *ret = NULL;
        return 0;
    }
    if (fd < 0)
        return lcow_error_make(err, -fd, "open rootfs `%s`: %s", name, strerror(-fd));
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    size_t len = 0;
    return lcow_read_file(proc, DB_MAX, ret, &len, err);
}

/* Splits a colon-separated line in place into at most n fields; returns the count. */
static size_t split_fields(char *line, char **f, size_t n)
{
    size_t k = 0;
    f[k++] = line;
    for (char *p = line; *p && k < n; p++) {
        if (*p == ':') {
            *p = '\0';
            f[k++] = p + 1;
        }
    }
    return k;
}

static bool parse_id(const char *s, unsigned long *ret)
{
    char *end = NULL;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *ret = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *ret <= UINT32_MAX;
}

/* The passwd entry of uid: name and home copied out. */
static int passwd_lookup(char *db, uid_t uid, char **ret_name, char **ret_home)
{
    char *save = NULL;
    for (char *line = strtok_r(db, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        unsigned long id = 0;
        if (split_fields(line, f, 7) < 7 || !parse_id(f[2], &id) || id != uid)
            continue;
        *ret_name = strdup(f[0]);
        *ret_home = strdup(f[5]);
        if (*ret_name == NULL || *ret_home == NULL)
            return -ENOMEM;
        return 0;
    }
    return 0;
}

static bool member_of(char *members, const char *name)
{
    char *save = NULL;
    for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, name) == 0)
            return true;
    return false;
}

static int add_group(gid_t **groups, size_t *n, gid_t g)
{
    for (size_t i = 0; i < *n; i++)
        if ((*groups)[i] == g)
            return 0;
    gid_t *ng = realloc(*groups, (*n + 1) * sizeof(gid_t));
    if (ng == NULL)
        return -ENOMEM;
    ng[(*n)++] = g;
    *groups = ng;
    return 0;
}

int oci_user_lookup(int rootfs_fd, uid_t uid, gid_t gid, bool member_groups, char **ret_home,
                    gid_t **groups, size_t *n_groups, struct lcow_error **err)
{
    cleanup_free char *passwd = NULL, *group = NULL, *name = NULL, *home = NULL;
    int r = read_db(rootfs_fd, "/etc/passwd", &passwd, err);
    if (r < 0)
        return r;
    if (passwd && passwd_lookup(passwd, uid, &name, &home) < 0)
        return lcow_error_make(err, ENOMEM, "/etc/passwd: out of memory");
    if (name != NULL && member_groups) {
        /* Supplementary groups: those that list the user by name (as runc's GetExecUser). */
        if ((r = read_db(rootfs_fd, "/etc/group", &group, err)) < 0)
            return r;
        char *save = NULL;
        for (char *line = group ? strtok_r(group, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
            char *f[4];
            unsigned long id = 0;
            if (split_fields(line, f, 4) < 4 || !parse_id(f[2], &id) || id == gid)
                continue;
            if (member_of(f[3], name) && add_group(groups, n_groups, (gid_t)id) < 0)
                return lcow_error_make(err, ENOMEM, "/etc/group: out of memory");
        }
    }
    *ret_home = steal_pointer(&home);
    return 0;
}

int oci_user_resolve_name(int rootfs_fd, bool group, const char *name, uint32_t *ret_id,
                          uint32_t *ret_gid, struct lcow_error **err)
{
    const char *file = group ? "/etc/group" : "/etc/passwd";
    cleanup_free char *db = NULL;
    unsigned long numeric = 0;
    bool is_num = parse_id(name, &numeric);
    int r = read_db(rootfs_fd, file, &db, err);
    if (r < 0)
        return r;
    char *save = NULL;
    for (char *line = db ? strtok_r(db, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        unsigned long id = 0, gid = 0;
        size_t n = split_fields(line, f, group ? 4 : 7);
        if (n < (group ? 3u : 4u) || !parse_id(f[2], &id))
            continue;
        if (is_num ? id != numeric : strcmp(f[0], name) != 0)
            continue;
        *ret_id = (uint32_t)id;
        if (ret_gid)
            *ret_gid = (!group && parse_id(f[3], &gid)) ? (uint32_t)gid : (uint32_t)id;
        return 0;
    }
    if (is_num) {
        /* A number with no entry is still a valid id (runc allows unnamed ids). */
        *ret_id = (uint32_t)numeric;
        if (ret_gid)
            *ret_gid = (uint32_t)numeric;
        return 0;
    }
    return lcow_error_make(err, ENOENT, "%s: no entry for `%s` in the rootfs", file, name);
}
