/* A cache of compiled seccomp programs (crun keeps one too): compiling a Docker-sized profile
 * for three architectures costs several milliseconds in libseccomp, more than the rest of a
 * container start. Each entry is named by a 64-bit FNV-1a hash of a canonical serialisation of
 * the parsed profile (plus options, libseccomp version and native architecture) and stores that
 * serialisation in full, so a hash collision is detected by comparison and never returns the
 * wrong program. Entries are written atomically (rename) in a 0700 directory; a cache that
 * cannot be read or written only costs the compile. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "oci/seccomp.h"

#define CACHE_MAGIC       "OCISCMP1"
#define CACHE_MAX_ENTRIES 128
#define CACHE_FILE_MAX    (1u << 20)

struct keybuf {
    unsigned char *p;
    size_t n, cap;
    bool oom;
};

static void put(struct keybuf *k, const void *data, size_t len)
{
    if (k->oom)
        return;
    if (k->n + len > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        while (cap < k->n + len)
            cap *= 2;
        unsigned char *np = realloc(k->p, cap);
        if (np == NULL) {
            k->oom = true;
            return;
        }
        k->p = np;
        k->cap = cap;
    }
    memcpy(k->p + k->n, data, len);
    k->n += len;
}

static void put_u64(struct keybuf *k, uint64_t v)
{
    put(k, &v, sizeof(v));
}

/* Strings carry their terminator so that ["ab","c"] and ["a","bc"] differ. */
static void put_str(struct keybuf *k, const char *s)
{
    put(k, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* Everything the compiled program depends on, in a fixed order. */
static int build_key(const struct oci_seccomp *s, unsigned opts, struct keybuf *k)
{
    const struct scmp_version *v = seccomp_version();
    put_str(k, CACHE_MAGIC);
    put_u64(k, v ? ((uint64_t)v->major << 32) | ((uint64_t)v->minor << 16) | v->micro : 0);
    put_u64(k, seccomp_arch_native());
    put_u64(k, opts);
    put_u64(k, s->default_action);
    put_u64(k, s->has_default_errno_ret ? 0x10000u | s->default_errno_ret : 0);
    put_u64(k, s->has_flags ? 0x10000u | s->flags : 0);
    put_u64(k, s->n_architectures);
    for (size_t i = 0; i < s->n_architectures; i++)
        put_u64(k, s->architectures[i]);
    put_u64(k, s->n_syscalls);
    for (size_t i = 0; i < s->n_syscalls; i++) {
        const struct oci_seccomp_syscall *sc = &s->syscalls[i];
        put_u64(k, sc->action);
        put_u64(k, sc->has_errno_ret ? 0x10000u | sc->errno_ret : 0);
        for (char **n = sc->names; *n; n++)
            put_str(k, *n);
        put_str(k, NULL); /* end of names */
        put_u64(k, sc->n_args);
        for (size_t a = 0; a < sc->n_args; a++) {
            put_u64(k, sc->args[a].index);
            put_u64(k, sc->args[a].op);
            put_u64(k, sc->args[a].value);
            put_u64(k, sc->args[a].value_two);
        }
    }
    return k->oom ? -ENOMEM : 0;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct entry_header {
    char magic[8];
    uint32_t key_len;
    uint32_t insns;
    uint32_t flags;
    uint32_t notify;
};

/* A hit fills *p (heap copy of the program) and returns 1; a miss returns 0. */
static int lookup(int dirfd, const char *name, const struct keybuf *k,
                  struct oci_seccomp_program *p)
{
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    struct stat st;
    /* Only trust what we could have written: ours, regular, not writable by others. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022) != 0 || st.st_size > CACHE_FILE_MAX)
        return 0;
    cleanup_free char *buf = NULL;
    size_t len = 0;
    if (lcow_read_fd_all(fd, CACHE_FILE_MAX, &buf, &len) < 0 || len < sizeof(struct entry_header))
        return 0;
    struct entry_header h;
    memcpy(&h, buf, sizeof(h));
    size_t want = sizeof(h) + (size_t)h.key_len + (size_t)h.insns * sizeof(struct sock_filter);
    if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.key_len != k->n || want != len || h.insns == 0 ||
        h.insns > 4096 || memcmp(buf + sizeof(h), k->p, k->n) != 0)
        return 0;
    struct sock_filter *f = malloc((size_t)h.insns * sizeof(*f));
    if (f == NULL)
        return 0;
    memcpy(f, buf + sizeof(h) + k->n, (size_t)h.insns * sizeof(*f));
    p->filter = f;
    p->len = (unsigned short)h.insns;
    p->flags = h.flags;
    p->notify = h.notify != 0;
    /* Recently used: the eviction below removes the oldest mtimes first. */
    (void)futimens(fd, NULL);
    return 1;
}

/* Keeps the directory bounded: past the limit, the least recently used entries go. */
static void evict(int dirfd)
{
    cleanup_dir DIR *d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 3));
    if (d == NULL)
        return;
    struct {
        char name[32];
        struct timespec mtime;
    } oldest = {{0}}, cur;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(cur.name) ||
            fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        count++;
        snprintf(cur.name, sizeof(cur.name), "%s", e->d_name);
        cur.mtime = st.st_mtim;
        if (oldest.name[0] == '\0' || cur.mtime.tv_sec < oldest.mtime.tv_sec ||
            (cur.mtime.tv_sec == oldest.mtime.tv_sec && cur.mtime.tv_nsec < oldest.mtime.tv_nsec))
            oldest = cur;
    }
    if (count > CACHE_MAX_ENTRIES && oldest.name[0] != '\0')
        (void)unlinkat(dirfd, oldest.name, 0);
}

static void store(int dirfd, const char *name, const struct keybuf *k,
                  const struct oci_seccomp_program *p)
{
    struct entry_header h = {
        .key_len = (uint32_t)k->n, .insns = p->len, .flags = p->flags, .notify = p->notify};
    memcpy(h.magic, CACHE_MAGIC, 8);
    size_t len = sizeof(h) + k->n + (size_t)p->len * sizeof(struct sock_filter);
    cleanup_free unsigned char *buf = malloc(len);
    if (buf == NULL)
        return;
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), k->p, k->n);
    memcpy(buf + sizeof(h) + k->n, p->filter, (size_t)p->len * sizeof(struct sock_filter));
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".%s.%d", name, (int)getpid());
    if (lcow_write_file_at(dirfd, tmp, buf, len, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL) < 0) {
        (void)unlinkat(dirfd, tmp, 0);
        return;
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        (void)unlinkat(dirfd, tmp, 0);
        return;
    }
    evict(dirfd);
}

static int open_cache_dir(const char *dir)
{
    /* Missing parents too (e.g. "<root>/.cache/seccomp"), private like the leaf. */
    if (mkdir(dir, 0700) < 0 && errno != EEXIST &&
        (errno != ENOENT || lcow_mkdir_p(dir, 0700, NULL) < 0))
        return -errno;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        lcow_close_nointr(fd);
        return -EPERM; /* someone else's directory: do not trust its programs */
    }
    return fd;
}

int oci_seccomp_compile_cached(const struct oci_seccomp *spec, unsigned opts, const char *cache_dir,
                               struct oci_seccomp_program *ret, struct lcow_error **err)
{
    if (cache_dir == NULL || spec == NULL || spec->disabled)
        return oci_seccomp_compile(spec, opts, ret, err);
    struct keybuf k = {0};
    cleanup_close int dirfd = -1;
    char name[32] = "";
    if (build_key(spec, opts, &k) == 0 && (dirfd = open_cache_dir(cache_dir)) >= 0) {
        snprintf(name, sizeof(name), "%016llx.bpf", (unsigned long long)fnv1a(k.p, k.n));
        struct oci_seccomp_program hit = {0};
        if (lookup(dirfd, name, &k, &hit) == 1) {
            free(k.p);
            hit.listener_path = spec->listener_path;
            hit.listener_metadata = spec->listener_metadata;
            *ret = hit;
            return 0;
        }
    }
    int r = oci_seccomp_compile(spec, opts, ret, err);
    if (r == 0 && dirfd >= 0)
        store(dirfd, name, &k, ret);
    free(k.p);
    return r;
}
