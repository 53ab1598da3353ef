/* libFuzzer harness for OCI layer conversion (host/tar2ext4.c). The first byte picks the mode:
 *   even: the rest is a tar entry name through host_tar_entry_name; the cleaned path must stay
 *         relative with no empty, "." or ".." component, whatever the input;
 *   odd:  the rest is a (possibly compressed) tar stream unpacked by host_tar_unpack into
 *         SANDBOX/root; afterwards SANDBOX must hold nothing but root (no entry escaped through
 *         `..`, an absolute name, a symlink parent or a hard link).
 * Needs root (device nodes, trusted.* xattrs), as the conversion itself does. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/tar2ext4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *in, const char *out, enum host_tar_kind kind)
{
    if (out[0] == '/')
        abort();
    if (!*out)
        return;
    for (const char *p = out;;) {
        const char *q = strchrnul(p, '/');
        size_t n = (size_t)(q - p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
            n > HOST_TAR_NAME_MAX)
            abort();
        if (!*q)
            break;
        p = q + 1;
    }
    if (kind == HOST_TAR_ENTRY && strstr(in, ".wh.") && !strstr(out, ".wh."))
        abort();
}

static void fuzz_name(const uint8_t *data, size_t size)
{
    char *name = strndup((const char *)data, size);
    if (!name)
        return;
    char *out = NULL;
    enum host_tar_kind kind;
    struct lcow_error *err = NULL;
    if (host_tar_entry_name(name, &out, &kind, &err) == 0) {
        check_clean(name, out, kind);
        free(out);
    } else if (!err || out) {
        abort(); /* a failure always says why and returns nothing */
    }
    lcow_error_release(&err);
    free(name);
}

static char sandbox[64];

static int only_root_left(void)
{
    cleanup_dir DIR *d = opendir(sandbox);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "root"))
            return 0;
    return 1;
}

static void remove_sandbox(void)
{
    (void)host_tree_remove(sandbox, NULL);
}

static void fuzz_tar(const uint8_t *data, size_t size)
{
    if (!*sandbox) {
        snprintf(sandbox, sizeof(sandbox), "/tmp/fuzz_tar2ext4.XXXXXX");
        if (!mkdtemp(sandbox))
            abort();
        atexit(remove_sandbox);
    }
    char root[96];
    snprintf(root, sizeof(root), "%s/root", sandbox);
    if (mkdir(root, 0700) < 0)
        abort();
    cleanup_close int fd = memfd_create("tar", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    struct lcow_error *err = NULL;
    if (host_tar_unpack(fd, root, NULL, &err) < 0 && !err)
        abort();
    lcow_error_release(&err);
    if (!only_root_left())
        abort();
    if (host_tree_remove(root, NULL) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 20))
        return 0;
    if (data[0] & 1)
        fuzz_tar(data + 1, size - 1);
    else
        fuzz_name(data + 1, size - 1);
    return 0;
}
