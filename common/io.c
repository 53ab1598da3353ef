#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/syscalls.h"

int lcow_close_nointr(int fd)
{
    if (fd >= 0) {
        int saved = errno;
        /* Linux always releases the fd, even on EINTR: retrying could close a reused number. */
        (void)close(fd);
        errno = saved;
    }
    return -1;
}

int lcow_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t lcow_read_exact(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int lcow_read_fd_all(int fd, size_t max, char **ret, size_t *ret_len)
{
    /* Read up to max + 1 bytes: one byte past the limit tells "too big" from "exactly max". */
    size_t cap = max < 4096 ? max + 1 : 4096, len = 0;
    cleanup_free char *buf = malloc(cap + 1);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > max)
                return -EFBIG;
            size_t ncap = cap * 2 > max ? max + 1 : cap * 2;
            char *nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL)
                return -ENOMEM;
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max)
        return -EFBIG;
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    *ret = steal_pointer(&buf);
    return 0;
}

int lcow_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
                      struct lcow_error **err)
{
    cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", path);
    int r = lcow_read_fd_all(fd, max, ret, ret_len);
    if (r < 0) {
        errno = -r;
        return lcow_error_errno(err, "read `%s`", path);
    }
    return 0;
}

int lcow_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
                   struct lcow_error **err)
{
    return lcow_read_file_at(AT_FDCWD, path, max, ret, ret_len, err);
}

int lcow_write_file_at(int dirfd, const char *path, const void *data, size_t len, int flags,
                       mode_t mode, struct lcow_error **err)
{
    if (flags == 0)
        flags = O_WRONLY | O_CREAT | O_TRUNC;
    cleanup_close int fd = openat(dirfd, path, flags | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", path);
    int r = lcow_write_all(fd, data, len);
    if (r < 0) {
        errno = -r;
        return lcow_error_errno(err, "write `%s`", path);
    }
    return 0;
}

int lcow_write_file(const char *path, const void *data, size_t len, int flags, mode_t mode,
                    struct lcow_error **err)
{
    return lcow_write_file_at(AT_FDCWD, path, data, len, flags, mode, err);
}

int lcow_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                           struct lcow_error **err)
{
    cleanup_free char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return lcow_error_make(err, ENOMEM, "write `%s`: out of memory", path);
    int r = lcow_write_file(tmp, data, len, O_WRONLY | O_CREAT | O_TRUNC, mode, err);
    if (r < 0)
        return r;
    if (rename(tmp, path) < 0) {
        int saved = errno;
        (void)unlink(tmp);
        errno = saved;
        return lcow_error_errno(err, "rename `%s` to `%s`", tmp, path);
    }
    return 0;
}

static int fd_flag(int fd, int get, int set, int flag, bool on)
{
    int fl = fcntl(fd, get);
    if (fl < 0)
        return -errno;
    int nfl = on ? (fl | flag) : (fl & ~flag);
    if (nfl != fl && fcntl(fd, set, nfl) < 0)
        return -errno;
    return 0;
}

int lcow_fd_set_nonblock(int fd, bool nonblock)
{
    return fd_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, nonblock);
}

int lcow_fd_set_cloexec(int fd, bool cloexec)
{
    return fd_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, cloexec);
}

int lcow_close_fds_from(int from)
{
    if (sys_close_range((unsigned)from, ~0U, 0) == 0)
        return 0;
    /* Old kernel: walk /proc/self/fd with raw getdents64 so no malloc happens after fork. */
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    char buf[4096];
    for (;;) {
        long n = sys_getdents64(dfd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct lcow_dirent64 *d = (struct lcow_dirent64 *)(buf + off);
            off += d->d_reclen;
            int fd = 0;
            const char *s = d->d_name;
            if (*s < '0' || *s > '9')
                continue;
            for (; *s >= '0' && *s <= '9'; s++)
                fd = fd * 10 + (*s - '0');
            if (fd >= from && fd != dfd)
                (void)close(fd);
        }
    }
    (void)close(dfd);
    return 0;
}

int lcow_mkdir_p(const char *path, mode_t mode, struct lcow_error **err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf))
        return lcow_error_make(err, ENAMETOOLONG, "mkdir `%s`: bad length", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return lcow_error_errno(err, "mkdir `%s`", buf);
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return lcow_error_errno(err, "stat `%s`", path);
    if (!S_ISDIR(st.st_mode))
        return lcow_error_make(err, ENOTDIR, "mkdir `%s`: not a directory", path);
    return 0;
}

unsigned long long lcow_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}
