/* Unit tests for OCI layer conversion (host/tar2ext4.c, host/oci_image.c): tars are written at
 * test time with libarchive, unpacked into a temporary directory and inspected there (whiteouts,
 * opaque directories, hard links, xattrs, devices, refused names, compression), then turned into
 * real ext4 images (mke2fs -d) checked with e2fsck and debugfs; an OCI image layout of two
 * layers is built by hand (digests computed here) and resolved through the layer cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "host/oci_image.h"
#include "host/sha256.h"
#include "host/spawn.h"
#include "host/tar2ext4.h"

static char tmpdir[64];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_tar2ext4.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    return host_tree_remove(tmpdir, NULL);
}

/* One tar entry to write. type 0 = regular file. */
struct ent {
    const char *name;
    mode_t type;
    mode_t perm;
    const char *data;
    const char *symlink;
    const char *hardlink;
    unsigned maj, min;
    const char *xname, *xval;
    time_t mtime;
};

static void write_tar(const char *path, const struct ent *ents, size_t n, const char *filter)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    if (filter && strcmp(filter, "gzip") == 0)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    else if (filter && strcmp(filter, "zstd") == 0)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const struct ent *x = &ents[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, x->name);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, x->mtime ? x->mtime : 1700000000, 0);
        if (x->hardlink) {
            archive_entry_set_hardlink(e, x->hardlink);
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
        } else {
            archive_entry_set_filetype(e, x->type ? x->type : AE_IFREG);
            archive_entry_set_perm(e, x->perm ? x->perm : 0644);
        }
        if (x->symlink)
            archive_entry_set_symlink(e, x->symlink);
        if (x->type == AE_IFCHR || x->type == AE_IFBLK) {
            archive_entry_set_rdevmajor(e, x->maj);
            archive_entry_set_rdevminor(e, x->min);
        }
        if (x->xname)
            archive_entry_xattr_add_entry(e, x->xname, x->xval, strlen(x->xval));
        size_t len = x->data ? strlen(x->data) : 0;
        if ((!x->type || x->type == AE_IFREG) && !x->hardlink)
            archive_entry_set_size(e, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (len)
            assert_int_equal(archive_write_data(a, x->data, len), (la_ssize_t)len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* Writes ents to tmpdir/NAME.tar and unpacks it into tmpdir/NAME (made here). */
static int unpack(const char *name, const struct ent *ents, size_t n, const char *filter,
                  struct host_tar_stats *st, struct lcow_error **err)
{
    char tar[128], dest[128];
    snprintf(tar, sizeof(tar), "%s/%s.tar", tmpdir, name);
    snprintf(dest, sizeof(dest), "%s/%s", tmpdir, name);
    write_tar(tar, ents, n, filter);
    assert_int_equal(mkdir(dest, 0700), 0);
    int fd = open(tar, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    int r = host_tar_unpack(fd, dest, st, err);
    close(fd);
    return r;
}

static void lstat_in(const char *rel, struct stat *st)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    assert_int_equal(lstat(p, st), 0);
}

static int exists_in(const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    return lstat(p, &st) == 0;
}

static void test_entry_names(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        enum host_tar_kind kind;
    } ok[] = {
        {"./", "", HOST_TAR_ENTRY},
        {".", "", HOST_TAR_ENTRY},
        {"a/b/", "a/b", HOST_TAR_ENTRY},
        {"./a//b/./c", "a/b/c", HOST_TAR_ENTRY},
        {"dir/.wh.gone", "dir/gone", HOST_TAR_WHITEOUT},
        {".wh.top", "top", HOST_TAR_WHITEOUT},
        {"dir/sub/.wh..wh..opq", "dir/sub", HOST_TAR_OPAQUE},
        {"./.wh..wh..opq", "", HOST_TAR_OPAQUE},
        {"x/.wh..wh.plnk/1", "x/.wh..wh.plnk/1", HOST_TAR_ENTRY},
        {"x/.wh..wh.plnk", "x/.wh..wh.plnk", HOST_TAR_SKIP},
        {"a..b/..c", "a..b/..c", HOST_TAR_ENTRY},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ok); i++) {
        cleanup_free char *p = NULL;
        enum host_tar_kind k;
        struct lcow_error *err = NULL;
        int r = host_tar_entry_name(ok[i].in, &p, &k, &err);
        if (r < 0)
            fail_msg("%s: %s", ok[i].in, lcow_error_message(err));
        assert_string_equal(p, ok[i].out);
        assert_int_equal(k, ok[i].kind);
    }
    char longc[300];
    memset(longc, 'x', sizeof(longc) - 1);
    longc[sizeof(longc) - 1] = '\0';
    const char *bad[] = {"",         "/etc/passwd", "../x",       "a/../../x", "a/..",
                         "dir/.wh.", "dir/.wh..",   "dir/.wh...", longc};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        cleanup_free char *p = NULL;
        enum host_tar_kind k;
        struct lcow_error *err = NULL;
        assert_int_equal(host_tar_entry_name(bad[i], &p, &k, &err), -EINVAL);
        assert_null(p);
        assert_non_null(err);
        lcow_error_release(&err);
    }
}

static void test_whiteouts(void **state)
{
    (void)state;
    const struct ent ents[] = {
        {.name = "./", .type = AE_IFDIR, .perm = 0755},
        {.name = "dir/", .type = AE_IFDIR, .perm = 0755},
        {.name = "dir/.wh.gone", .data = ""},
        {.name = "opq/.wh..wh..opq", .data = ""}, /* before its directory's entry */
        {.name = "opq/", .type = AE_IFDIR, .perm = 0711},
        {.name = "opq/new", .data = "upper\n"},
        {.name = "x/.wh..wh.plnk", .data = ""},
    };
    struct host_tar_stats st;
    struct lcow_error *err = NULL;
    int r = unpack("wh", ents, LCOW_ARRAY_SIZE(ents), NULL, &st, &err);
    if (r < 0)
        fail_msg("%s", lcow_error_message(err));
    struct stat s;
    lstat_in("wh/dir/gone", &s);
    assert_true(S_ISCHR(s.st_mode));
    assert_int_equal(s.st_mode & 07777, 0);
    assert_int_equal(s.st_rdev, makedev(0, 0));
    assert_false(exists_in("wh/dir/.wh.gone"));
    lstat_in("wh/opq", &s);
    assert_int_equal(s.st_mode & 07777, 0711); /* the later entry set the mode */
    char v[8] = {0};
    char p[256];
    snprintf(p, sizeof(p), "%s/wh/opq", tmpdir);
    assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    assert_int_equal(v[0], 'y');
    assert_true(exists_in("wh/opq/new"));
    assert_false(exists_in("wh/opq/.wh..wh..opq"));
    assert_false(exists_in("wh/x/.wh..wh.plnk"));
    assert_int_equal(st.whiteouts, 1);
    assert_int_equal(st.opaques, 1);
    assert_int_equal(st.entries, LCOW_ARRAY_SIZE(ents));
}

static void test_links_xattrs_devices(void **state)
{
    (void)state;
    const struct ent ents[] = {
        {.name = "bin/", .type = AE_IFDIR, .perm = 0755, .mtime = 1000000000},
        {.name = "bin/busybox",
         .perm = 04755,
         .data = "#!fake\n",
         .xname = "user.test",
         .xval = "v1"},
        {.name = "bin/sh", .hardlink = "bin/busybox"},
        {.name = "bin/ls", .type = AE_IFLNK, .symlink = "busybox"},
        {.name = "bin/lslink", .hardlink = "bin/ls"},
        {.name = "f", .data = "x", .xname = "trusted.overlay.redirect", .xval = "/etc"},
        {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .maj = 1, .min = 3},
        {.name = "dev/loop0", .type = AE_IFBLK, .perm = 0660, .maj = 7, .min = 0},
        {.name = "dev/fifo", .type = AE_IFIFO, .perm = 0600},
        {.name = "f", .data = "replaced"}, /* a later non-directory replaces */
    };
    struct host_tar_stats st;
    struct lcow_error *err = NULL;
    int r = unpack("lx", ents, LCOW_ARRAY_SIZE(ents), NULL, &st, &err);
    if (r < 0)
        fail_msg("%s", lcow_error_message(err));
    struct stat a, b;
    lstat_in("lx/bin/busybox", &a);
    lstat_in("lx/bin/sh", &b);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_nlink, 2);
    assert_int_equal(a.st_mode & 07777, 04755);
    lstat_in("lx/bin/lslink", &b);
    assert_true(S_ISLNK(b.st_mode)); /* a hard link to a symlink links the symlink */
    lstat_in("lx/bin", &a);
    assert_int_equal(a.st_mtime, 1000000000); /* directory times set after its children */
    char p[256], v[16] = {0};
    snprintf(p, sizeof(p), "%s/lx/bin/busybox", tmpdir);
    assert_int_equal(lgetxattr(p, "user.test", v, sizeof(v)), 2);
    assert_string_equal(v, "v1");
    snprintf(p, sizeof(p), "%s/lx/f", tmpdir);
    assert_int_equal(lgetxattr(p, "trusted.overlay.redirect", v, sizeof(v)), -1);
    cleanup_free char *data = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file(p, 64, &data, &len, NULL), 0);
    assert_int_equal(len, 8);
    lstat_in("lx/dev/null", &a);
    assert_true(S_ISCHR(a.st_mode));
    assert_int_equal(a.st_rdev, makedev(1, 3));
    lstat_in("lx/dev/loop0", &a);
    assert_true(S_ISBLK(a.st_mode));
    assert_int_equal(a.st_rdev, makedev(7, 0));
    lstat_in("lx/dev/fifo", &a);
    assert_true(S_ISFIFO(a.st_mode));
    assert_int_equal(st.hardlinks, 2);
}

/* Each case must fail with the code given and leave nothing outside its directory. */
static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct ent ents[3];
        size_t n;
        int code;
    } cases[] = {
        {"dotdot", {{.name = "../escape", .data = "x"}}, 1, -EINVAL},
        {"abs", {{.name = "/escape", .data = "x"}}, 1, -EINVAL},
        {"mid", {{.name = "a/../../escape", .data = "x"}}, 1, -EINVAL},
        {"symparent",
         {{.name = "l", .type = AE_IFLNK, .symlink = ".."}, {.name = "l/escape", .data = "x"}},
         2,
         -ELOOP},
        {"symabs",
         {{.name = "l", .type = AE_IFLNK, .symlink = "/tmp"}, {.name = "l/escape", .data = "x"}},
         2,
         -ELOOP},
        {"hlmissing", {{.name = "h", .hardlink = "nothere"}}, 1, -ENOENT},
        {"hlout", {{.name = "h", .hardlink = "../escape"}}, 1, -EINVAL},
        {"hldir", {{.name = "d/", .type = AE_IFDIR}, {.name = "h", .hardlink = "d"}}, 2, -EPERM},
        {"dirfile", {{.name = "d/", .type = AE_IFDIR}, {.name = "d", .data = "x"}}, 2, -EEXIST},
        {"whdir",
         {{.name = "d/", .type = AE_IFDIR}, {.name = "d/f", .data = ""}, {.name = ".wh.d"}},
         3,
         -EEXIST},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        struct lcow_error *err = NULL;
        int r = unpack(cases[i].name, cases[i].ents, cases[i].n, NULL, NULL, &err);
        if (r != cases[i].code)
            fail_msg("%s: %d (%s)", cases[i].name, r, lcow_error_message(err));
        assert_non_null(strstr(lcow_error_message(err), "`"));
        lcow_error_release(&err);
        assert_false(exists_in("escape"));
        char p[64];
        snprintf(p, sizeof(p), "/tmp/escape");
        assert_int_equal(access(p, F_OK), -1);
    }
}

static void test_compression(void **state)
{
    (void)state;
    const struct ent ents[] = {{.name = "etc/hostname", .data = "compressed\n"},
                               {.name = "etc/.wh.motd"}};
    const char *filters[] = {"gzip", "zstd"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(filters); i++) {
        char name[16];
        snprintf(name, sizeof(name), "c_%s", filters[i]);
        struct host_tar_stats st;
        struct lcow_error *err = NULL;
        int r = unpack(name, ents, LCOW_ARRAY_SIZE(ents), filters[i], &st, &err);
        if (r < 0)
            fail_msg("%s: %s", filters[i], lcow_error_message(err));
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/etc/hostname", name);
        assert_true(exists_in(rel));
        assert_int_equal(st.whiteouts, 1);
    }
    /* Not a tar at all. */
    char p[128];
    snprintf(p, sizeof(p), "%s/junk", tmpdir);
    assert_int_equal(lcow_write_file(p, "this is not a tar archive at all", 32, 0, 0600, NULL), 0);
    snprintf(p, sizeof(p), "%s/junkdir", tmpdir);
    assert_int_equal(mkdir(p, 0700), 0);
    char j[128];
    snprintf(j, sizeof(j), "%s/junk", tmpdir);
    int fd = open(j, O_RDONLY | O_CLOEXEC);
    struct lcow_error *err = NULL;
    assert_true(host_tar_unpack(fd, p, NULL, &err) < 0);
    close(fd);
    lcow_error_release(&err);
}

static int run_tool(const char *const *argv, char **out)
{
    struct lcow_error *err = NULL;
    int r = host_run(argv, out, &err);
    if (r < 0)
        fail_msg("%s: %s", argv[0], lcow_error_message(err));
    return r;
}

static void test_image(void **state)
{
    (void)state;
    const struct ent ents[] = {
        {.name = "opq/", .type = AE_IFDIR, .perm = 0755},
        {.name = "opq/.wh..wh..opq"},
        {.name = "opq/kept", .data = "upper\n"},
        {.name = ".wh.gone"},
        {.name = "a", .data = "hard"},
        {.name = "b", .hardlink = "a"},
        {.name = "null", .type = AE_IFCHR, .perm = 0666, .maj = 1, .min = 3},
        {.name = "cap", .data = "x", .xname = "user.k", .xval = "val"},
    };
    char tar[128], img[128], bad[128];
    snprintf(tar, sizeof(tar), "%s/img.tar", tmpdir);
    snprintf(img, sizeof(img), "%s/img.ext4", tmpdir);
    snprintf(bad, sizeof(bad), "%s/bad.ext4", tmpdir);
    write_tar(tar, ents, LCOW_ARRAY_SIZE(ents), "gzip");
    struct host_tar_stats st;
    struct lcow_error *err = NULL;
    int r = host_tar2ext4(tar, NULL, img, &st, &err);
    if (r < 0)
        fail_msg("%s", lcow_error_message(err));
    const char *fsck[] = {"/usr/sbin/e2fsck", "-fn", img, NULL};
    cleanup_free char *out = NULL;
    assert_int_equal(run_tool(fsck, &out), 0);
    const char *ea[] = {"/usr/sbin/debugfs", "-R", "ea_list /opq", img, NULL};
    free(out);
    out = NULL;
    assert_int_equal(run_tool(ea, &out), 0);
    assert_non_null(strstr(out, "trusted.overlay.opaque"));
    const char *ls[] = {"/usr/sbin/debugfs", "-R", "stat /gone", img, NULL};
    free(out);
    out = NULL;
    assert_int_equal(run_tool(ls, &out), 0);
    assert_non_null(strstr(out, "character special"));
    assert_non_null(strstr(out, "Device major/minor number: 00:00"));
    const char *hl[] = {"/usr/sbin/debugfs", "-R", "stat /b", img, NULL};
    free(out);
    out = NULL;
    assert_int_equal(run_tool(hl, &out), 0);
    assert_non_null(strstr(out, "Links: 2"));
    /* No staging tree or temporary image left beside the output. */
    char p[160];
    snprintf(p, sizeof(p), "%s.staging.%d", img, (int)getpid());
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s.tmp.%d", img, (int)getpid());
    assert_int_equal(access(p, F_OK), -1);
    /* A digest that does not match: no image. */
    r = host_tar2ext4(tar, "0000000000000000000000000000000000000000000000000000000000000000", bad,
                      NULL, &err);
    assert_int_equal(r, -EBADMSG);
    lcow_error_release(&err);
    assert_int_equal(access(bad, F_OK), -1);
}

/* blobs/sha256/<hex> of data; *ret_digest = "sha256:<hex>". */
static void put_blob(const char *layout, const void *data, size_t len, char ret_digest[80])
{
    struct host_sha256 s;
    uint8_t d[32];
    char hex[65], p[256];
    host_sha256_init(&s);
    host_sha256_update(&s, data, len);
    host_sha256_final(&s, d);
    host_sha256_hex(d, hex);
    snprintf(ret_digest, 80, "sha256:%s", hex);
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", layout, hex);
    assert_int_equal(lcow_write_file(p, data, len, 0, 0644, NULL), 0);
}

static void put_file_blob(const char *layout, const char *path, char ret_digest[80],
                          size_t *ret_len)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file(path, 1 << 20, &buf, &len, NULL), 0);
    put_blob(layout, buf, len, ret_digest);
    *ret_len = len;
}

static void test_oci_layout(void **state)
{
    (void)state;
    char layout[128], cache[128], blobs[192], p[256];
    snprintf(layout, sizeof(layout), "%s/layout", tmpdir);
    snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
    snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", layout);
    assert_int_equal(lcow_mkdir_p(blobs, 0755, NULL), 0);
    const struct ent base[] = {{.name = "etc/", .type = AE_IFDIR, .perm = 0755},
                               {.name = "etc/deleted", .data = "base"},
                               {.name = "opq/old", .data = "lower"}};
    const struct ent top[] = {{.name = "etc/.wh.deleted"},
                              {.name = "opq/.wh..wh..opq"},
                              {.name = "opq/new", .data = "upper"}};
    char l0[80], l1[80], cfg[80], man[80];
    size_t n0, n1;
    snprintf(p, sizeof(p), "%s/l0.tar", tmpdir);
    write_tar(p, base, LCOW_ARRAY_SIZE(base), "gzip");
    put_file_blob(layout, p, l0, &n0);
    snprintf(p, sizeof(p), "%s/l1.tar", tmpdir);
    write_tar(p, top, LCOW_ARRAY_SIZE(top), "zstd");
    put_file_blob(layout, p, l1, &n1);
    const char *config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    put_blob(layout, config, strlen(config), cfg);
    cleanup_free char *manifest = NULL;
    assert_true(
        asprintf(
            &manifest,
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            "\"config\":{\"mediaType\":\"application/"
            "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
            "\"layers\":[{\"mediaType\":\"application/"
            "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%zu},"
            "{\"mediaType\":\"application/"
            "vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"%s\",\"size\":%zu}]}",
            cfg, strlen(config), l0, n0, l1, n1) > 0);
    put_blob(layout, manifest, strlen(manifest), man);
    snprintf(p, sizeof(p), "%s/oci-layout", layout);
    assert_int_equal(lcow_write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0, 0644, NULL),
                     0);
    cleanup_free char *index = NULL;
    assert_true(asprintf(&index,
                         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
                         "vnd.oci.image.manifest.v1+json\","
                         "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers."
                         "image.ref.name\":\"two\"}}]}",
                         man, strlen(manifest)) > 0);
    snprintf(p, sizeof(p), "%s/index.json", layout);
    assert_int_equal(lcow_write_file(p, index, strlen(index), 0, 0644, NULL), 0);

    struct host_oci_image *img = NULL;
    struct lcow_error *err = NULL;
    int r = host_oci_image_open(layout, NULL, &img, &err);
    if (r < 0)
        fail_msg("%s", lcow_error_message(err));
    assert_int_equal(img->n_layers, 2);
    assert_string_equal(img->layers[0].digest, l0);
    assert_string_equal(img->manifest_digest, man);
    cleanup_strv char **paths = NULL;
    r = host_oci_image_layers(img, cache, &paths, &err);
    if (r < 0)
        fail_msg("%s", lcow_error_message(err));
    assert_non_null(paths[0]);
    assert_non_null(paths[1]);
    assert_null(paths[2]);
    assert_non_null(strstr(paths[0], l1 + 7)); /* top-most first */
    assert_non_null(strstr(paths[1], l0 + 7));
    host_oci_image_free(img);

    /* The same layer again comes from the cache. */
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", layout, l0 + 7);
    cleanup_free char *again = NULL;
    assert_int_equal(host_layer_from_tar(p, l0, cache, &again, NULL, &err), 1);
    assert_string_equal(again, paths[1]);

    /* By name, and a name that is not there. */
    assert_int_equal(host_oci_image_open(layout, "two", &img, &err), 0);
    img = host_oci_image_free(img);
    /* A single manifest is taken whatever the ref; a corrupt blob is caught by its digest. */
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", layout, cfg + 7);
    assert_int_equal(lcow_write_file(p, "{}", 2, 0, 0644, NULL), 0);
    assert_int_equal(host_oci_image_open(layout, NULL, &img, &err), -EBADMSG);
    assert_non_null(strstr(lcow_error_message(err), "image config"));
    lcow_error_release(&err);
    /* Not a layout. */
    assert_true(host_oci_image_open(tmpdir, NULL, &img, &err) < 0);
    assert_non_null(strstr(lcow_error_message(err), "not an OCI image layout"));
    lcow_error_release(&err);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_tar2ext4: needs root (device nodes, trusted.* xattrs)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_names),
        cmocka_unit_test_setup_teardown(test_whiteouts, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_links_xattrs_devices, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_refused, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_compression, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_image, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_oci_layout, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
