/* OCI layer tarballs → read-only ext4 images for LCOW (hcsshim's tar2ext4 -overlay, built
 * differently): the tar (plain, gzip or zstd; libarchive detects which) is unpacked into a
 * private staging directory with OCI whiteouts turned into overlayfs ones, then
 * `mke2fs -t ext4 -d STAGING` makes the image, which keeps xattrs, device nodes and hard links.
 *
 * Entry names are checked before anything is created: absolute names, `..` components,
 * embedded NULs and over-long components are refused, and no entry is ever written through a
 * symlink (a parent that is a symlink is an error). */
#ifndef LCOW_HOST_TAR2EXT4_H
#define LCOW_HOST_TAR2EXT4_H

#include <stdint.h>

#include "common/error.h"
#include "host/sha256.h"

/* What a tar entry name means once cleaned. */
enum host_tar_kind {
    HOST_TAR_ENTRY = 0, /* an ordinary entry at the cleaned path */
    HOST_TAR_WHITEOUT,  /* `dir/.wh.NAME`: the path is `dir/NAME` (a 0:0 char device) */
    HOST_TAR_OPAQUE,    /* `dir/.wh..wh..opq`: the path is `dir` ("" = the root) */
    HOST_TAR_SKIP,      /* other `.wh..wh.*` names, reserved by the OCI spec: ignored */
};

/* Components longer than this are refused (ext4's limit). */
#define HOST_TAR_NAME_MAX  255
#define HOST_TAR_PATH_MAX  4095
#define HOST_TAR_DEPTH_MAX 128

/* Cleans a tar entry name: a leading "./", repeated and trailing slashes and "." components go;
 * the result is relative, without "." or ".." components ("" for the root itself), in
 * *ret_path (heap). -EINVAL naming the entry for an absolute name, "..", an empty whiteout
 * name, a component over HOST_TAR_NAME_MAX, a path over HOST_TAR_PATH_MAX or deeper than
 * HOST_TAR_DEPTH_MAX. Pure: touches no file (the fuzz target drives it). */
int host_tar_entry_name(const char *name, char **ret_path, enum host_tar_kind *ret_kind,
                        struct lcow_error **err);

struct host_tar_stats {
    uint64_t tar_bytes;  /* bytes read from the (possibly compressed) input */
    uint64_t data_bytes; /* file data written, each file rounded up to 4 KiB */
    uint64_t entries;    /* tar entries read */
    uint64_t inodes;     /* entries created, the root included */
    uint64_t whiteouts;  /* .wh.NAME entries turned into 0:0 char devices */
    uint64_t opaques;    /* opaque directories marked */
    uint64_t hardlinks;  /* hard links made */
    uint8_t digest[32];  /* SHA-256 of the input bytes as read */
};

/* Unpacks the tar read from fd (read to its end) into the directory dest (must exist, should be
 * empty, on a file system with trusted.* xattrs and device nodes: we are root), converting
 * whiteouts. *ret_stats (may be NULL) is filled on success. On failure dest holds a partial
 * tree the caller removes (host_tree_remove). */
int host_tar_unpack(int fd, const char *dest, struct host_tar_stats *ret_stats,
                    struct lcow_error **err);

/* Makes the read-only ext4 image `out` (created, must not exist) from dir with mke2fs -d,
 * sized from the stats of host_tar_unpack. On failure nothing is left at out. */
int host_ext4_from_dir(const char *dir, const struct host_tar_stats *stats, const char *out,
                       struct lcow_error **err);

/* The whole conversion: tar file → ext4 image at out (made under a temporary name next to it,
 * renamed when complete; the staging tree lives in /dev/shm when it surely fits, else beside
 * out, and is always removed). With
 * expect_sha256 (64 lower-case hex digits) the input must hash to it (-EBADMSG otherwise, and
 * no image is made). */
int host_tar2ext4(const char *tar_path, const char *expect_sha256, const char *out,
                  struct host_tar_stats *ret_stats, struct lcow_error **err);

/* rm -rf of a tree this program made (no symlink followed, no other file system entered). */
int host_tree_remove(const char *path, struct lcow_error **err);

#endif
