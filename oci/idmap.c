/* Idmapped bind mounts (runtime-spec 1.2: a mount's uidMappings/gidMappings, the "idmap" and
 * "ridmap" options). Everything happens in the parent, before clone, in the caller's mount
 * namespace: a throw-away process gets a user namespace with the mapping, its namespace fd
 * idmaps a detached copy of the source (open_tree + mount_setattr MOUNT_ATTR_IDMAP), and the
 * child only has to move_mount() that tree onto its target (oci/child.c). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "oci/internal.h"

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
