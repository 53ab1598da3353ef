/* See tar2ext4.h. Every entry is created relative to a directory fd reached one component at a
 * time with O_NOFOLLOW from the staging root, so neither a `../` name nor a symlink planted by
 * an earlier entry of the same tar can make us write outside the staging tree. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "host/layers.h"
#include "host/spawn.h"
#include "host/tar2ext4.h"

#define WH_PREFIX      ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"
#define OPAQUE_XATTR   "trusted.overlay.opaque"
#define OVERLAY_XATTRS "trusted.overlay."
#define READ_CHUNK     (256 * 1024)
#define ENTRIES_MAX    (1u << 22)
#define SHM_DIR        "/dev/shm"
#define STAGING_RATIO  8ull /* a compressed layer may inflate this much (gzip of text: ~5x) */
#define STAGING_SLACK  (64ull << 20)
#define PMEM_ALIGN     (2ull << 20)
#define BLOCK          4096ull

int host_tar_entry_name(const char *name, char **ret_path, enum host_tar_kind *ret_kind,
                        struct lcow_error **err)
{
    if (!name || !*name)
        return lcow_error_make(err, EINVAL, "tar entry without a name");
    if (name[0] == '/')
        return lcow_error_make(err, EINVAL, "tar entry `%s`: absolute names are refused", name);
    size_t len = strlen(name);
    if (len > HOST_TAR_PATH_MAX)
        return lcow_error_make(err, EINVAL, "tar entry `%.64s...`: name longer than %d bytes", name,
                               HOST_TAR_PATH_MAX);
    cleanup_free char *out = malloc(len + 1);
    if (!out)
        return lcow_error_make(err, ENOMEM, "tar entry name");
    size_t o = 0, last = 0;
    int depth = 0;
    for (const char *p = name; *p;) {
        while (*p == '/')
            p++;
        const char *q = strchrnul(p, '/');
        size_t clen = (size_t)(q - p);
        if (clen == 0)
            break;
        if (!(clen == 1 && p[0] == '.')) {
            if (clen == 2 && p[0] == '.' && p[1] == '.')
                return lcow_error_make(err, EINVAL, "tar entry `%s`: `..` components are refused",
                                       name);
            if (clen > HOST_TAR_NAME_MAX)
                return lcow_error_make(err, EINVAL,
                                       "tar entry `%.64s...`: a component is longer than %d bytes",
                                       name, HOST_TAR_NAME_MAX);
            if (++depth > HOST_TAR_DEPTH_MAX)
                return lcow_error_make(err, EINVAL, "tar entry `%.64s...`: deeper than %d", name,
                                       HOST_TAR_DEPTH_MAX);
            if (o)
                out[o++] = '/';
            last = o;
            memcpy(out + o, p, clen);
            o += clen;
        }
        p = q;
    }
    out[o] = '\0';

    enum host_tar_kind kind = HOST_TAR_ENTRY;
    char *base = out + last;
    if (o && strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
        if (strcmp(base, WH_OPAQUE) == 0) {
            kind = HOST_TAR_OPAQUE;
            out[last ? last - 1 : 0] = '\0'; /* the directory holding the marker */
        } else if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0) {
            kind = HOST_TAR_SKIP;
        } else {
            const char *hidden = base + strlen(WH_PREFIX);
            if (!*hidden || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
                return lcow_error_make(err, EINVAL, "tar entry `%s`: whiteout without a name",
                                       name);
            memmove(base, hidden, strlen(hidden) + 1);
            kind = HOST_TAR_WHITEOUT;
        }
    }
    *ret_kind = kind;
    *ret_path = steal_pointer(&out);
    return 0;
}

/* Directories whose times are set at the end (creating children changes a directory's mtime). */
struct dirtime {
    char *path;
    struct timespec ts[2];
};

struct unpack {
    int root; /* staging root, O_RDONLY|O_DIRECTORY */
    const char *dest;
    int in;
    struct host_sha256 sha;
    struct host_tar_stats st;
    struct dirtime *dirs;
    size_t n_dirs, cap_dirs;
    int read_errno;
    char buf[READ_CHUNK];
};

static la_ssize_t read_cb(struct archive *a, void *data, const void **ret_buf)
{
    struct unpack *u = data;
    for (;;) {
        ssize_t n = read(u->in, u->buf, sizeof(u->buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            u->read_errno = errno;
            archive_set_error(a, errno, "read");
            return -1;
        }
        host_sha256_update(&u->sha, u->buf, (size_t)n);
        u->st.tar_bytes += (uint64_t)n;
        *ret_buf = u->buf;
        return n;
    }
}

/* Whatever follows the end-of-archive marker still belongs to the digest. */
static int drain_input(struct unpack *u, struct lcow_error **err)
{
    const void *b;
    for (;;) {
        la_ssize_t n = read_cb(NULL, u, &b);
        if (n < 0)
            return lcow_error_make(err, u->read_errno, "read tar: %s", strerror(u->read_errno));
        if (n == 0)
            return 0;
    }
}

/* Opens the directory holding `path` (relative, clean), creating missing parents as tar2ext4
 * does (0755, root-owned) when create is set. *ret_base points at the last component. */
static int open_parent(struct unpack *u, const char *path, bool create, const char **ret_base,
                       struct lcow_error **err)
{
    const char *slash = strrchr(path, '/');
    cleanup_close int cur = fcntl(u->root, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return lcow_error_errno(err, "dup");
    *ret_base = slash ? slash + 1 : path;
    const char *p = path;
    while (slash && p < slash) {
        const char *q = strchrnul(p, '/');
        char comp[HOST_TAR_NAME_MAX + 1];
        size_t clen = (size_t)(q - p);
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        int fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            if (mkdirat(cur, comp, 0755) < 0 || fchmodat(cur, comp, 0755, 0) < 0)
                return lcow_error_errno(err, "mkdir `%.*s`", (int)(q - path), path);
            u->st.inodes++;
            u->st.data_bytes += BLOCK;
            fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            struct stat st;
            if ((errno == ELOOP || errno == ENOTDIR) &&
                fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return lcow_error_make(err, ELOOP,
                                       "tar entry `%s`: parent `%.*s` is a symlink, refused", path,
                                       (int)(q - path), path);
            return lcow_error_errno(err, "tar entry `%s`: parent `%.*s`", path, (int)(q - path),
                                    path);
        }
        close(cur);
        cur = fd;
        p = q + 1;
    }
    return take_fd(&cur);
}

/* Clears the way for a new entry at parent/base: an existing non-directory is replaced by a
 * later non-directory (tar order wins), a directory is kept for a directory; mixing the two is
 * refused, as tar2ext4 does. Returns 1 when a directory is already there. */
static int make_room(int parent, const char *base, const char *path, bool want_dir,
                     struct lcow_error **err)
{
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return lcow_error_errno(err, "stat `%s`", path);
    }
    if (S_ISDIR(st.st_mode) != want_dir)
        return lcow_error_make(err, EEXIST, "tar entry `%s`: a %s cannot replace a %s", path,
                               want_dir ? "directory" : "non-directory",
                               want_dir ? "non-directory" : "directory");
    if (want_dir)
        return 1;
    if (unlinkat(parent, base, 0) < 0)
        return lcow_error_errno(err, "replace `%s`", path);
    return 0;
}

static int set_xattrs(struct unpack *u, struct archive_entry *e, const char *path,
                      struct lcow_error **err)
{
    const char *name;
    const void *value;
    size_t size;
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    cleanup_free char *full = NULL;
    if (asprintf(&full, "%s/%s", u->dest, path) < 0)
        return lcow_error_make(err, ENOMEM, "xattr path");
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        /* Overlay's own attributes come only from our whiteout conversion: a layer carrying
         * trusted.overlay.redirect or .metacopy could point the guest's overlay elsewhere. */
        if (!name || strncmp(name, OVERLAY_XATTRS, strlen(OVERLAY_XATTRS)) == 0)
            continue;
        /* The parents were reached without symlinks and only we write this tree, so the
         * path resolves to the entry itself; lsetxattr does not follow a final symlink. */
        if (lsetxattr(full, name, value, size, 0) < 0)
            return lcow_error_errno(err, "tar entry `%s`: set xattr `%s`", path, name);
    }
    return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1].tv_sec = archive_entry_mtime_is_set(e) ? archive_entry_mtime(e) : 0;
    ts[1].tv_nsec = archive_entry_mtime_is_set(e) ? archive_entry_mtime_nsec(e) : 0;
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        ts[0] = ts[1];
    }
    if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999)
        ts[0].tv_nsec = 0;
    if (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999)
        ts[1].tv_nsec = 0;
}

static int defer_dir_times(struct unpack *u, const char *path, struct archive_entry *e,
                           struct lcow_error **err)
{
    if (u->n_dirs == u->cap_dirs) {
        size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
        struct dirtime *d = realloc(u->dirs, cap * sizeof(*d));
        if (!d)
            return lcow_error_make(err, ENOMEM, "directory list");
        u->dirs = d;
        u->cap_dirs = cap;
    }
    struct dirtime *d = &u->dirs[u->n_dirs];
    if (!(d->path = strdup(path)))
        return lcow_error_make(err, ENOMEM, "directory list");
    entry_times(e, d->ts);
    u->n_dirs++;
    return 0;
}

/* Owner, mode (after chown, which clears set-id bits), xattrs (after chown, which clears
 * security.capability), then times (directories: at the end). */
static int set_metadata(struct unpack *u, int parent, const char *base, const char *path,
                        struct archive_entry *e, bool is_dir, bool is_link, struct lcow_error **err)
{
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || uid > UINT32_MAX - 1 || gid < 0 || gid > UINT32_MAX - 1)
        return lcow_error_make(err, EINVAL,
                               "tar entry `%s`: owner %" PRId64 ":%" PRId64 " out of range", path,
                               (int64_t)uid, (int64_t)gid);
    const char *at = *base ? base : ".";
    if (fchownat(parent, at, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
        return lcow_error_errno(err, "chown `%s`", path);
    if (!is_link && fchmodat(parent, at, archive_entry_perm(e) & 07777, 0) < 0)
        return lcow_error_errno(err, "chmod `%s`", path);
    int r = set_xattrs(u, e, path, err);
    if (r < 0)
        return r;
    if (is_dir)
        return defer_dir_times(u, path, e, err);
    struct timespec ts[2];
    entry_times(e, ts);
    if (utimensat(parent, at, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return lcow_error_errno(err, "set times of `%s`", path);
    return 0;
}

static int write_data(struct archive *a, int fd, const char *path, struct archive_entry *e,
                      struct unpack *u, struct lcow_error **err)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return lcow_error_make(err, EIO, "tar entry `%s`: %s", path, archive_error_string(a));
        /* Offsets keep sparse files sparse: holes are never written. */
        const char *p = buf;
        while (size > 0) {
            ssize_t n = pwrite(fd, p, size, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return lcow_error_errno(err, "write `%s`", path);
            p += n;
            off += n;
            size -= (size_t)n;
        }
    }
    la_int64_t total = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (total > 0 && ftruncate(fd, total) < 0)
        return lcow_error_errno(err, "size `%s`", path);
    u->st.data_bytes += ((uint64_t)(total > 0 ? total : 0) + BLOCK - 1) & ~(BLOCK - 1);
    return 0;
}

static int do_hardlink(struct unpack *u, int parent, const char *base, const char *path,
                       const char *target_name, struct lcow_error **err)
{
    cleanup_free char *target = NULL;
    enum host_tar_kind kind;
    int r = host_tar_entry_name(target_name, &target, &kind, err);
    if (r < 0)
        return lcow_error_wrap(err, "hard link `%s`", path);
    if (kind != HOST_TAR_ENTRY || !*target)
        return lcow_error_make(err, EINVAL, "hard link `%s` to `%s`: not a file", path,
                               target_name);
    if (strcmp(target, path) == 0)
        return 0;
    const char *tbase;
    cleanup_close int tparent = open_parent(u, target, false, &tbase, err);
    if (tparent < 0)
        return lcow_error_wrap(err, "hard link `%s`", path);
    struct stat st;
    if (fstatat(tparent, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return lcow_error_errno(err, "hard link `%s` to `%s` (not earlier in this layer)", path,
                                target);
    if (S_ISDIR(st.st_mode))
        return lcow_error_make(err, EPERM, "hard link `%s` to directory `%s`", path, target);
    if ((r = make_room(parent, base, path, false, err)) < 0)
        return r;
    /* flags 0: a link to a symlink links the symlink itself, as containerd does. */
    if (linkat(tparent, tbase, parent, base, 0) < 0)
        return lcow_error_errno(err, "hard link `%s` to `%s`", path, target);
    u->st.hardlinks++;
    return 0;
}

static int do_node(struct unpack *u, struct archive *a, struct archive_entry *e, int parent,
                   const char *base, const char *path, struct lcow_error **err)
{
    mode_t type = archive_entry_filetype(e);
    bool is_dir = type == AE_IFDIR;
    int r = make_room(parent, base, path, is_dir, err);
    if (r < 0)
        return r;
    bool exists = r == 1;
    switch (type) {
    case AE_IFDIR:
        if (!exists && mkdirat(parent, base, 0700) < 0)
            return lcow_error_errno(err, "mkdir `%s`", path);
        u->st.data_bytes += BLOCK;
        break;
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        if (!target)
            return lcow_error_make(err, EINVAL, "tar entry `%s`: symlink without a target", path);
        if (symlinkat(target, parent, base) < 0)
            return lcow_error_errno(err, "symlink `%s`", path);
        u->st.data_bytes += BLOCK;
        break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
        dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (mknodat(parent, base, type | 0600, type == AE_IFIFO ? 0 : dev) < 0)
            return lcow_error_errno(err, "mknod `%s`", path);
        break;
    }
    default: {
        /* Regular files, and unknown types as tar2ext4 treats them: a file with the data. */
        cleanup_close int fd =
            openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return lcow_error_errno(err, "create `%s`", path);
        if ((r = write_data(a, fd, path, e, u, err)) < 0)
            return r;
        type = AE_IFREG;
        break;
    }
    }
    if (!exists)
        u->st.inodes++;
    return set_metadata(u, parent, base, path, e, is_dir, type == AE_IFLNK, err);
}

static int do_opaque(struct unpack *u, const char *path, struct lcow_error **err)
{
    cleanup_close int fd = -1;
    if (!*path) {
        fd = fcntl(u->root, F_DUPFD_CLOEXEC, 3);
    } else {
        const char *base;
        cleanup_close int parent = open_parent(u, path, true, &base, err);
        if (parent < 0)
            return parent;
        fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            /* The marker can come before its directory's own entry, which then only updates
             * the metadata and keeps the xattr. */
            if (mkdirat(parent, base, 0755) < 0 || fchmodat(parent, base, 0755, 0) < 0)
                return lcow_error_errno(err, "mkdir `%s`", path);
            u->st.inodes++;
            u->st.data_bytes += BLOCK;
            fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
    }
    if (fd < 0)
        return lcow_error_errno(err, "opaque directory `%s`", *path ? path : "/");
    if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
        return lcow_error_errno(err, "set " OPAQUE_XATTR " on `%s`", *path ? path : "/");
    u->st.opaques++;
    return 0;
}

static int do_whiteout(struct unpack *u, const char *path, struct lcow_error **err)
{
    const char *base;
    cleanup_close int parent = open_parent(u, path, true, &base, err);
    if (parent < 0)
        return parent;
    int r = make_room(parent, base, path, false, err);
    if (r < 0)
        return lcow_error_wrap(err, "whiteout");
    /* overlayfs's whiteout: a character device 0:0, owned by root, no permission bits. */
    if (mknodat(parent, base, S_IFCHR, makedev(0, 0)) < 0)
        return lcow_error_errno(err, "whiteout `%s`", path);
    struct timespec ts[2] = {{0, 0}, {0, 0}};
    if (fchownat(parent, base, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(parent, base, 0, 0) < 0 ||
        utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return lcow_error_errno(err, "whiteout `%s`", path);
    u->st.inodes++;
    u->st.whiteouts++;
    return 0;
}

static int handle_entry(struct unpack *u, struct archive *a, struct archive_entry *e,
                        struct lcow_error **err)
{
    cleanup_free char *path = NULL;
    enum host_tar_kind kind;
    int r = host_tar_entry_name(archive_entry_pathname(e), &path, &kind, err);
    if (r < 0)
        return r;
    switch (kind) {
    case HOST_TAR_SKIP:
        return 0;
    case HOST_TAR_OPAQUE:
        return do_opaque(u, path, err);
    case HOST_TAR_WHITEOUT:
        return do_whiteout(u, path, err);
    case HOST_TAR_ENTRY:
    default:
        break;
    }
    if (!*path) {
        /* "./" itself: the root's own metadata. */
        if (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e))
            return lcow_error_make(err, EINVAL, "tar entry `%s`: the root must be a directory",
                                   archive_entry_pathname(e));
        return set_metadata(u, u->root, "", "", e, true, false, err);
    }
    const char *base;
    cleanup_close int parent = open_parent(u, path, true, &base, err);
    if (parent < 0)
        return parent;
    const char *link = archive_entry_hardlink(e);
    if (link)
        return do_hardlink(u, parent, base, path, link, err);
    return do_node(u, a, e, parent, base, path, err);
}

static int apply_dir_times(struct unpack *u, struct lcow_error **err)
{
    for (size_t i = u->n_dirs; i-- > 0;) {
        const struct dirtime *d = &u->dirs[i];
        if (!*d->path) {
            if (futimens(u->root, d->ts) < 0)
                return lcow_error_errno(err, "set times of the root");
            continue;
        }
        const char *base;
        cleanup_close int parent = open_parent(u, d->path, false, &base, err);
        if (parent < 0)
            return parent;
        if (utimensat(parent, base, d->ts, AT_SYMLINK_NOFOLLOW) < 0)
            return lcow_error_errno(err, "set times of `%s`", d->path);
    }
    return 0;
}

static int unpack_all(struct unpack *u, struct lcow_error **err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return lcow_error_make(err, ENOMEM, "archive_read_new");
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int r = 0;
    if (archive_read_open(a, u, NULL, read_cb, NULL) != ARCHIVE_OK) {
        r = lcow_error_make(err, EINVAL, "not a tar: %s", archive_error_string(a));
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(a, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN) {
            r = lcow_error_make(err, EINVAL, "tar entry %" PRIu64 ": %s", u->st.entries + 1,
                                archive_error_string(a) ? archive_error_string(a) : "bad header");
            goto out;
        }
        if (++u->st.entries > ENTRIES_MAX) {
            r = lcow_error_make(err, E2BIG, "more than %u tar entries", ENTRIES_MAX);
            goto out;
        }
        if ((r = handle_entry(u, a, e, err)) < 0)
            goto out;
    }
    if ((r = drain_input(u, err)) < 0)
        goto out;
    r = apply_dir_times(u, err);
out:
    archive_read_free(a);
    return r;
}

int host_tar_unpack(int fd, const char *dest, struct host_tar_stats *ret_stats,
                    struct lcow_error **err)
{
    struct unpack *u = calloc(1, sizeof(*u));
    if (!u)
        return lcow_error_make(err, ENOMEM, "unpack");
    u->in = fd;
    u->dest = dest;
    host_sha256_init(&u->sha);
    int r;
    u->root = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (u->root < 0) {
        r = lcow_error_errno(err, "staging directory `%s`", dest);
    } else if (fchmod(u->root, 0755) < 0) {
        /* mke2fs -d copies the root's mode: a layer without a "./" entry gets tar2ext4's 0755. */
        r = lcow_error_errno(err, "chmod `%s`", dest);
    } else {
        u->st.inodes = 1;
        u->st.data_bytes = BLOCK;
        r = unpack_all(u, err);
    }
    if (r >= 0) {
        host_sha256_final(&u->sha, u->st.digest);
        if (ret_stats)
            *ret_stats = u->st;
    }
    for (size_t i = 0; i < u->n_dirs; i++)
        free(u->dirs[i].path);
    free(u->dirs);
    if (u->root >= 0)
        close(u->root);
    free(u);
    return r;
}

int host_ext4_from_dir(const char *dir, const struct host_tar_stats *stats, const char *out,
                       struct lcow_error **err)
{
    /* Data, 256-byte inodes and their bitmaps, directories, with slack for ext4's metadata;
     * the file is sparse where unused, so generous costs little. */
    uint64_t size = stats->data_bytes + stats->data_bytes / 4 + stats->inodes * 512 + (16ull << 20);
    /* A multiple of 2 MiB, so the image can be a virtio-pmem device as it is (VPMem). */
    size = (size + PMEM_ALIGN - 1) & ~(PMEM_ALIGN - 1);
    {
        cleanup_close int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return lcow_error_errno(err, "create `%s`", out);
        if (ftruncate(fd, (off_t)size) < 0) {
            int r = lcow_error_errno(err, "size `%s`", out);
            unlink(out);
            return r;
        }
    }
    int r = host_mke2fs_dir(dir, stats->inodes + 64, out, err);
    if (r < 0)
        unlink(out);
    return r;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int host_tree_remove(const char *path, struct lcow_error **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : lcow_error_errno(err, "stat `%s`", path);
    if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return lcow_error_errno(err, "remove `%s`", path);
    return 0;
}

/* The staging tree lives in memory (/dev/shm) when it surely fits there, a few times faster
 * than a busy disk; otherwise beside the output. The input's size bounds the tree: a plain
 * tar holds its data, a compressed one is counted at STAGING_RATIO times its size. */
static int make_staging(int tar_fd, const char *out, char **ret, struct lcow_error **err)
{
    struct stat st;
    struct statvfs vfs;
    char *p = NULL;
    if (fstat(tar_fd, &st) == 0 && statvfs(SHM_DIR, &vfs) == 0 &&
        (uint64_t)st.st_size * STAGING_RATIO + STAGING_SLACK <
            (uint64_t)vfs.f_bavail * vfs.f_frsize / 2) {
        if (!(p = strdup(SHM_DIR "/lcow-tar2ext4.XXXXXX")))
            return lcow_error_make(err, ENOMEM, "paths");
        if (mkdtemp(p)) {
            *ret = p;
            return 0;
        }
        free(p); /* no tmpfs there: the disk then */
    }
    if (asprintf(&p, "%s.staging.%d", out, (int)getpid()) < 0)
        return lcow_error_make(err, ENOMEM, "paths");
    if (mkdir(p, 0700) < 0) {
        int r = lcow_error_errno(err, "mkdir `%s`", p);
        free(p);
        return r;
    }
    *ret = p;
    return 0;
}

int host_tar2ext4(const char *tar_path, const char *expect_sha256, const char *out,
                  struct host_tar_stats *ret_stats, struct lcow_error **err)
{
    cleanup_close int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", tar_path);
    cleanup_free char *staging = NULL, *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%d", out, (int)getpid()) < 0)
        return lcow_error_make(err, ENOMEM, "paths");
    int r = make_staging(fd, out, &staging, err);
    if (r < 0)
        return r;
    struct host_tar_stats st;
    r = host_tar_unpack(fd, staging, &st, err);
    if (r < 0) {
        lcow_error_wrap(err, "`%s`", tar_path);
    } else if (expect_sha256) {
        char hex[65];
        host_sha256_hex(st.digest, hex);
        if (strcmp(hex, expect_sha256) != 0)
            r = lcow_error_make(err, EBADMSG, "`%s`: content is sha256:%s, expected sha256:%s",
                                tar_path, hex, expect_sha256);
    }
    if (r >= 0)
        r = host_ext4_from_dir(staging, &st, tmp, err);
    /* The staging tree goes on every path; failing to remove it fails a good conversion. */
    int rr = host_tree_remove(staging, r >= 0 ? err : NULL);
    if (r >= 0 && rr < 0)
        r = rr;
    if (r >= 0 && rename(tmp, out) < 0)
        r = lcow_error_errno(err, "rename `%s`", tmp);
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    if (ret_stats)
        *ret_stats = st;
    return 0;
}
