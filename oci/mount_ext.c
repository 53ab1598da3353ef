/* Mount extensions beyond a plain mount(2), both runtime-spec / runc features:
 *
 * tmpcopyup (runc's extension): a tmpfs mounted over a directory of the image starts with a
 * copy of that directory instead of empty. Runs in the container init between clone and exec,
 * so: no allocation, fixed buffers on the stack, bounded depth. Ownership, modes, symlinks,
 * device nodes and fifos are kept; contents go with copy_file_range, or sendfile where the
 * kernel refuses a cross-filesystem copy_file_range (EXDEV).
 *
 * Idmapped bind mounts (runtime-spec 1.2: a mount's uidMappings/gidMappings, the "idmap" and
 * "ridmap" options). Everything happens in the parent, before clone, in the caller's mount
 * namespace: a throw-away process gets a user namespace with the mapping, its namespace fd
 * idmaps a detached copy of the source (open_tree + mount_setattr MOUNT_ATTR_IDMAP), and the
 * child only has to move_mount() that tree onto its target (oci/child.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscalls.h"
#include "oci/internal.h"
#include "common/cleanup.h"
#include "common/io.h"

/* ---- tmpcopyup (child side) ---- */

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

/* ---- idmapped mounts (parent side) ---- */

#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV  0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif

static int write_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                     struct lcow_error **err)
{
    char path[64], buf[4096];
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + pos, sizeof(buf) - pos, "%u %u %u\n", m[i].container_id,
                         m[i].host_id, m[i].size);
        if (w < 0 || (size_t)w >= sizeof(buf) - pos)
            return lcow_error_make(err, E2BIG, "idmapped mount: too many mappings");
        pos += (size_t)w;
    }
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    return lcow_write_file(path, buf, pos, O_WRONLY, 0, err);
}

/* A user namespace fd with the given maps: a child parks in a new user namespace (exit signal
 * 0, invisible to a caller's reaper) while we write its maps and open its namespace. */
static int userns_fd(const struct oci_id_mapping *uids, size_t n_uids,
                     const struct oci_id_mapping *gids, size_t n_gids, struct lcow_error **err)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe");
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER, 0, 0, 0, 0);
    if (pid == 0) {
        char c;
        close(pipefd[1]);
        (void)!read(pipefd[0], &c, 1); /* returns at EOF: the parent is done */
        _exit(0);
    }
    close(pipefd[0]);
    int r = pid < 0 ? lcow_error_errno(err, "clone user namespace for an idmapped mount") : 0;
    char path[64];
    int fd = -1;
    if (r == 0 && (r = write_map(pid, "uid_map", uids, n_uids, err)) == 0 &&
        (r = write_map(pid, "gid_map", gids, n_gids, err)) == 0) {
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            r = lcow_error_errno(err, "open `%s`", path);
    }
    close(pipefd[1]);
    if (pid > 0)
        (void)LCOW_RETRY_EINTR(waitpid(pid, NULL, __WALL));
    return r < 0 ? r : fd;
}

static uint64_t attrs_of(unsigned long ms_flags)
{
    uint64_t a = 0;
    if (ms_flags & MS_RDONLY)
        a |= MOUNT_ATTR_RDONLY;
    if (ms_flags & MS_NOSUID)
        a |= MOUNT_ATTR_NOSUID;
    if (ms_flags & MS_NODEV)
        a |= MOUNT_ATTR_NODEV;
    if (ms_flags & MS_NOEXEC)
        a |= MOUNT_ATTR_NOEXEC;
    return a;
}

int oci_idmap_tree(const char *source, bool recursive, unsigned long ms_flags,
                   const struct oci_id_mapping *uids, size_t n_uids,
                   const struct oci_id_mapping *gids, size_t n_gids, struct lcow_error **err)
{
    if (n_uids == 0 || n_gids == 0)
        return lcow_error_make(err, EINVAL,
                               "idmapped mount of `%s`: uid and gid mappings are required", source);
    cleanup_close int ns = userns_fd(uids, n_uids, gids, n_gids, err);
    if (ns < 0)
        return ns;
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    cleanup_close int tree = sys_open_tree(AT_FDCWD, source, flags);
    if (tree < 0)
        return lcow_error_errno(err, "open_tree `%s`", source);
    struct lcow_mount_attr attr = {
        .attr_set = MOUNT_ATTR_IDMAP | attrs_of(ms_flags),
        .userns_fd = (uint64_t)ns,
    };
    if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
        return lcow_error_errno(err, "idmap mount of `%s`", source);
    return take_fd(&tree);
}
