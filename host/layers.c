/* See layers.h. The key covers what mke2fs -d copies into the image (names, type, mode,
 * owner, times, link targets, device numbers, data), so equal keys give equivalent images. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "host/layers.h"
#include "host/sha256.h"
#include "host/spawn.h"

#define KEY_VERSION    "runlcow-layer-v1 mke2fs -b 4096 -I 256 -O ^has_journal"
#define WALK_DEPTH_MAX 256

struct walk {
    struct host_sha256 sha;
    uint64_t bytes, inodes;
    char path[4096];
};

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int hash_file(struct walk *w, int dirfd, const char *name, struct lcow_error **err)
{
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", w->path);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lcow_error_errno(err, "read `%s`", w->path);
        if (n == 0)
            return 0;
        host_sha256_update(&w->sha, buf, (size_t)n);
    }
}

static int walk_dir(struct walk *w, int dirfd, int depth, struct lcow_error **err);

/* One entry: a fixed-format metadata record, then the data or link target. */
static int walk_entry(struct walk *w, int dirfd, const char *name, int depth,
                      struct lcow_error **err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return lcow_error_errno(err, "stat `%s`", w->path);
    if (S_ISSOCK(st.st_mode))
        return 0;
    char rec[512];
    int n = snprintf(rec, sizeof(rec), "%s%c%o %u %u %" PRId64 ".%09ld %" PRIu64 " %" PRIu64 "\n",
                     w->path, 0, st.st_mode, st.st_uid, st.st_gid, (int64_t)st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec, (uint64_t)st.st_size, (uint64_t)st.st_rdev);
    host_sha256_update(&w->sha, rec, (size_t)n < sizeof(rec) ? (size_t)n : sizeof(rec));
    w->inodes++;
    if (S_ISREG(st.st_mode)) {
        w->bytes += ((uint64_t)st.st_size + 4095) & ~4095ull;
        return hash_file(w, dirfd, name, err);
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t k = readlinkat(dirfd, name, target, sizeof(target));
        if (k < 0)
            return lcow_error_errno(err, "readlink `%s`", w->path);
        host_sha256_update(&w->sha, target, (size_t)k);
        w->bytes += 4096;
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return lcow_error_errno(err, "open `%s`", w->path);
        w->bytes += 4096;
        return walk_dir(w, fd, depth + 1, err);
    }
    return 0;
}

static int walk_dir(struct walk *w, int dirfd, int depth, struct lcow_error **err)
{
    if (depth > WALK_DEPTH_MAX)
        return lcow_error_make(err, ELOOP, "`%s` is nested too deeply", w->path);
    struct dirent **names = NULL;
    /* scandirat is not in every libc: read the directory through /proc/self/fd. */
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
    int n = scandir(self, &names, skip_dots, cmp_names);
    if (n < 0)
        return lcow_error_errno(err, "read directory `%s`", w->path);
    int r = 0;
    size_t base = strlen(w->path);
    for (int i = 0; i < n; i++) {
        if (r >= 0) {
            size_t len = strlen(names[i]->d_name);
            if (base + 1 + len >= sizeof(w->path)) {
                r = lcow_error_make(err, ENAMETOOLONG, "a path under `%s` is too long", w->path);
            } else {
                w->path[base] = '/';
                memcpy(w->path + base + 1, names[i]->d_name, len + 1);
                r = walk_entry(w, dirfd, names[i]->d_name, depth, err);
                w->path[base] = '\0';
            }
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int host_tree_hash(const char *rootfs, struct host_tree_info *ret, struct lcow_error **err)
{
    struct walk *w = calloc(1, sizeof(*w));
    if (!w)
        return lcow_error_make(err, ENOMEM, "walk");
    host_sha256_init(&w->sha);
    host_sha256_update(&w->sha, KEY_VERSION, sizeof(KEY_VERSION));
    int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;
    if (fd < 0) {
        r = lcow_error_errno(err, "rootfs `%s`", rootfs);
    } else {
        /* The root's own metadata counts too (mke2fs -d copies it). */
        r = walk_entry(w, fd, ".", 0, err);
        close(fd);
    }
    if (r >= 0) {
        uint8_t d[32];
        host_sha256_final(&w->sha, d);
        host_sha256_hex(d, ret->key);
        ret->bytes = w->bytes;
        ret->inodes = w->inodes;
    }
    free(w);
    return r;
}

static const char *mke2fs_path(void)
{
    static const char *const cands[] = {"/usr/sbin/mke2fs", "/sbin/mke2fs"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cands); i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    return "mke2fs";
}

int host_mke2fs_dir(const char *dir, uint64_t inodes, const char *image, struct lcow_error **err)
{
    char n_inodes[32];
    snprintf(n_inodes, sizeof(n_inodes), "%" PRIu64, inodes);
    /* No journal, no resize inode: the image is only ever mounted read-only (ro,noload). */
    const char *argv[] = {mke2fs_path(),
                          "-q",
                          "-F",
                          "-t",
                          "ext4",
                          "-b",
                          "4096",
                          "-I",
                          "256",
                          "-N",
                          n_inodes,
                          "-m",
                          "0",
                          "-O",
                          "^has_journal,^resize_inode",
                          "-E",
                          "lazy_itable_init=0,nodiscard",
                          "-d",
                          dir,
                          image,
                          NULL};
    cleanup_free char *out = NULL;
    int r = host_run(argv, &out, err);
    if (r <= 0)
        return r;
    size_t n = out ? strlen(out) : 0;
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    return lcow_error_make(err, EIO, "mke2fs -d `%s` failed (status %d): %s", dir, r,
                           out && *out ? out : "no output");
}

static int build_image(const char *tmp, const char *rootfs, const struct host_tree_info *t,
                       struct lcow_error **err)
{
    /* Room for the data, inode tables (256-byte inodes), directories and metadata, with
     * slack: the image is sparse where unused, so generous costs little. */
    uint64_t size = t->bytes + t->bytes / 4 + t->inodes * 512 + (16ull << 20);
    size = (size + 4095) & ~4095ull;
    int r = host_scratch_create(tmp, size, err);
    if (r < 0)
        return r;
    r = host_mke2fs_dir(rootfs, t->inodes + 64, tmp, err);
    if (r < 0)
        unlink(tmp);
    return r;
}

int host_layer_image(const char *cache_dir, const char *rootfs, char **ret_path,
                     struct lcow_error **err)
{
    struct host_tree_info t;
    int r = host_tree_hash(rootfs, &t, err);
    if (r < 0)
        return r;
    r = lcow_mkdir_p(cache_dir, 0700, err);
    if (r < 0)
        return r;
    cleanup_free char *path = NULL, *tmp = NULL;
    if (asprintf(&path, "%s/%s.ext4", cache_dir, t.key) < 0 ||
        asprintf(&tmp, "%s/.%s.%d.tmp", cache_dir, t.key, (int)getpid()) < 0)
        return lcow_error_make(err, ENOMEM, "image path");
    if (access(path, F_OK) == 0) {
        *ret_path = steal_pointer(&path);
        return 1; /* cached */
    }
    r = build_image(tmp, rootfs, &t, err);
    if (r < 0)
        return r;
    if (rename(tmp, path) < 0) {
        r = lcow_error_errno(err, "rename `%s`", tmp);
        unlink(tmp);
        return r;
    }
    *ret_path = steal_pointer(&path);
    return 0;
}

int host_scratch_create(const char *path, uint64_t size, struct lcow_error **err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return lcow_error_errno(err, "create `%s`", path);
    if (ftruncate(fd, (off_t)size) < 0) {
        int r = lcow_error_errno(err, "size `%s`", path);
        unlink(path);
        return r;
    }
    return 0;
}
