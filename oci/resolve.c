/* Path resolution inside a container rootfs that cannot leave it (CVE-2017-1002101 style
 * symlink escapes): openat2(RESOLVE_IN_ROOT) when the kernel has it, else a component walk
 * that treats absolute symlinks as relative to the root and clamps "..". Both run between
 * clone and exec, so nothing here allocates: fixed stack buffers only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/syscalls.h"
#include "oci/internal.h"

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
