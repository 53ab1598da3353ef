/* fd and I/O helpers. EINTR policy (style.md C9): reads, writes and waits are retried;
 * close() never is (lcow_close_nointr treats EINTR as success). Every fd this file creates
 * is CLOEXEC (C7). */
#ifndef LCOW_COMMON_IO_H
#define LCOW_COMMON_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

#define LCOW_RETRY_EINTR(expr)                                                                     \
    ({                                                                                             \
        __typeof__(expr) _r;                                                                       \
        do                                                                                         \
            _r = (expr);                                                                           \
        while (_r == -1 && errno == EINTR);                                                        \
        _r;                                                                                        \
    })

/* close() that keeps errno and never retries; returns -1 always so `fd = lcow_close_nointr(fd)`. */
int lcow_close_nointr(int fd);

/* Writes all of buf (retrying short writes and EINTR). 0 or -errno. */
int lcow_write_all(int fd, const void *buf, size_t len);
/* Reads until len bytes or EOF. Returns the count read (< len only at EOF) or -errno. */
ssize_t lcow_read_exact(int fd, void *buf, size_t len);
/* Reads until EOF, at most max bytes (-EFBIG past that). *ret is NUL-terminated, caller frees. */
int lcow_read_fd_all(int fd, size_t max, char **ret, size_t *ret_len);

/* Whole-file helpers; errors name the path. */
int lcow_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
                   struct lcow_error **err);
int lcow_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
                      struct lcow_error **err);
int lcow_write_file(const char *path, const void *data, size_t len, int flags, mode_t mode,
                    struct lcow_error **err);
int lcow_write_file_at(int dirfd, const char *path, const void *data, size_t len, int flags,
                       mode_t mode, struct lcow_error **err);
/* Writes to PATH.tmp then renames over PATH (so readers never see a partial file). */
int lcow_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                           struct lcow_error **err);

int lcow_fd_set_nonblock(int fd, bool nonblock);
int lcow_fd_set_cloexec(int fd, bool cloexec);

/* Closes every fd >= from (close_range, falling back to walking /proc/self/fd).
 * Uses no malloc: usable between fork and exec. 0 or -errno. */
int lcow_close_fds_from(int from);

/* mkdir -p with mode; existing directories are fine. */
int lcow_mkdir_p(const char *path, mode_t mode, struct lcow_error **err);

/* Monotonic clock in nanoseconds. */
unsigned long long lcow_now_ns(void);

#endif
