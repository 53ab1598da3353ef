/* Layers for runlcow: a bundle's rootfs directory becomes a read-only ext4 image (mke2fs -d
 * from e2fsprogs), cached under a directory by a SHA-256 of the tree's content, and each
 * container gets a sparse scratch disk the GCS formats itself (EnsureFilesystem). */
#ifndef LCOW_HOST_LAYERS_H
#define LCOW_HOST_LAYERS_H

#include <stdint.h>

#include "common/error.h"

struct host_tree_info {
    char key[65];    /* hex SHA-256 of names, metadata and file contents */
    uint64_t bytes;  /* file data, each file rounded up to 4 KiB */
    uint64_t inodes; /* entries, the root included */
};

/* Walks rootfs (not following symlinks, not crossing into other file systems' special files:
 * sockets are skipped as mke2fs skips them) in name order. -ENOTDIR / -ENOENT with a message
 * naming the path when rootfs is not a directory. */
int host_tree_hash(const char *rootfs, struct host_tree_info *ret, struct lcow_error **err);

/* The cached image for rootfs: cache_dir/<key>.ext4, built first when missing (into a
 * temporary name, renamed when complete, so readers never see half an image and concurrent
 * builders agree). *ret_path is heap. */
int host_layer_image(const char *cache_dir, const char *rootfs, char **ret_path,
                     struct lcow_error **err);

/* A new sparse file of size bytes (O_EXCL: an existing path is -EEXIST). */
int host_scratch_create(const char *path, uint64_t size, struct lcow_error **err);
/* Fills the sized file `image` with a read-only-use ext4 (4 KiB blocks, 256-byte inodes, at
 * least `inodes` of them, no journal, no resize inode) holding the tree `dir`: mke2fs -d.
 * 0, or a negative errno naming `dir` with mke2fs's own output. Leaves `image` in place. */
int host_mke2fs_dir(const char *dir, uint64_t inodes, const char *image, struct lcow_error **err);

#endif
