/* tmpcopyup (runc's mount extension): a tmpfs mounted over a directory of the image starts
 * with a copy of that directory instead of empty. Runs in the container init between clone
 * and exec, so: no allocation, fixed buffers on the stack, bounded depth. Ownership, modes,
 * symlinks, device nodes and fifos are kept; contents go with copy_file_range, or sendfile
 * where the kernel refuses a cross-filesystem copy_file_range (EXDEV). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdbool.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/syscalls.h"
#include "oci/internal.h"

#define COPYUP_MAX_DEPTH 32

static int copy_file(int from_dir, int to_dir, const char *name, const struct stat *st)
{
    int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     st->st_mode & 07777);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    int r = 0;
    bool use_sendfile = false;
    for (off_t left = st->st_size; left > 0;) {
        ssize_t n = use_sendfile ? sendfile(out, in, NULL, (size_t)left)
                                 : copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && !use_sendfile && (errno == EXDEV || errno == EINVAL || errno == ENOSYS)) {
            use_sendfile = true; /* no cross-filesystem copy_file_range here */
            continue;
        }
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        left -= n;
    }
    close(in);
    close(out);
    return r;
}

static int copy_entry(int from_dir, int to_dir, const char *name, int depth)
{
    struct stat st;
    if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    int r = 0;
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(to_dir, name, st.st_mode & 07777) < 0)
            return -errno;
        int sub_from = openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int sub_to = openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = (sub_from < 0 || sub_to < 0) ? -errno : oci_copy_tree(sub_from, sub_to, depth + 1);
        if (sub_from >= 0)
            close(sub_from);
        if (sub_to >= 0)
            close(sub_to);
    } else if (S_ISREG(st.st_mode)) {
        r = copy_file(from_dir, to_dir, name, &st);
    } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(from_dir, name, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        r = symlinkat(target, to_dir, name) < 0 ? -errno : 0;
    } else {
        r = mknodat(to_dir, name, st.st_mode, st.st_rdev) < 0 ? -errno : 0;
    }
    if (r < 0)
        return r;
    if (fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    /* chown clears set-id bits: put the mode back (symlinks have none). */
    if (!S_ISLNK(st.st_mode) && fchmodat(to_dir, name, st.st_mode & 07777, 0) < 0)
        return -errno;
    return 0;
}

int oci_copy_tree(int from_dir, int to_dir, int depth)
{
    char buf[4096];
    if (depth > COPYUP_MAX_DEPTH)
        return -ELOOP;
    /* Our own read offset on the directory, so a copy of this fd elsewhere is unaffected. */
    int dir = openat(from_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -errno;
    int r = 0;
    for (;;) {
        long n = sys_getdents64(dir, buf, sizeof(buf));
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        for (long off = 0; off < n && r == 0;) {
            struct lcow_dirent64 *d = (struct lcow_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            r = copy_entry(dir, to_dir, d->d_name, depth);
        }
        if (r < 0)
            break;
    }
    close(dir);
    return r;
}
