/* Kernel modules from the list the initrd builder writes (initrd/modlist.c orders it by
 * modules.dep). init loads them itself with finit_module instead of shipping kmod: the order
 * is fixed at build time, so there is nothing to resolve at boot. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "initrd/init.h"

#define MODLIST_MAX_ENTRIES 4096

static const char *const stage_names[INIT_MOD_STAGE_MAX] = {
    [INIT_MOD_EARLY] = "early",
    [INIT_MOD_LATE] = "late",
};

void init_modlist_done(struct init_modlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->mods[i].path);
    free(l->mods);
    l->mods = NULL;
    l->n = 0;
}

/* Relative, no empty or `..` components: the list can only name files under the directory. */
static bool path_ok(const char *p)
{
    if (p[0] == '\0' || p[0] == '/')
        return false;
    for (const char *s = p;;) {
        size_t len = strcspn(s, "/");
        if (len == 0 || (len == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (s[len] == '\0')
            return true;
        s += len + 1;
    }
}

static int parse_stage(const char *word, size_t len, enum init_mod_stage *ret)
{
    for (int s = 0; s < INIT_MOD_STAGE_MAX; s++)
        if (strlen(stage_names[s]) == len && strncmp(word, stage_names[s], len) == 0) {
            *ret = (enum init_mod_stage)s;
            return 0;
        }
    return -EINVAL;
}

/* Parses one non-comment line "STAGE PATH" into *m. */
static int parse_line(const char *line, size_t len, unsigned lineno, struct init_module *m,
                      struct lcow_error **err)
{
    size_t wlen = strcspn(line, " \t");
    if (wlen >= len)
        return lcow_error_make(err, EINVAL, "module list line %u: want `STAGE PATH`", lineno);
    if (parse_stage(line, wlen, &m->stage) < 0)
        return lcow_error_make(err, EINVAL, "module list line %u: unknown stage `%.*s`", lineno,
                               (int)wlen, line);
    const char *p = line + wlen;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t plen = len - (size_t)(p - line);
    while (plen > 0 && (p[plen - 1] == ' ' || p[plen - 1] == '\t' || p[plen - 1] == '\r'))
        plen--;
    cleanup_free char *path = strndup(p, plen);
    if (path == NULL)
        return lcow_error_make(err, ENOMEM, "module list line %u", lineno);
    if (!path_ok(path))
        return lcow_error_make(err, EINVAL, "module list line %u: bad path `%s`", lineno, path);
    m->path = steal_pointer(&path);
    return 0;
}

int init_modlist_parse(const char *text, struct init_modlist *ret, struct lcow_error **err)
{
    struct init_modlist l = {0};
    size_t cap = 0;
    unsigned lineno = 0;
    for (const char *s = text; *s != '\0';) {
        const char *nl = strchrnul(s, '\n');
        size_t len = (size_t)(nl - s);
        const char *line = s;
        s = *nl ? nl + 1 : nl;
        lineno++;
        while (len > 0 && (*line == ' ' || *line == '\t'))
            line++, len--;
        if (len == 0 || *line == '#' || (len == 1 && *line == '\r'))
            continue;
        if (l.n == MODLIST_MAX_ENTRIES) {
            init_modlist_done(&l);
            return lcow_error_make(err, EINVAL, "module list: more than %d entries",
                                   MODLIST_MAX_ENTRIES);
        }
        if (l.n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct init_module *m = realloc(l.mods, ncap * sizeof(*m));
            if (m == NULL) {
                init_modlist_done(&l);
                return lcow_error_make(err, ENOMEM, "module list");
            }
            l.mods = m;
            cap = ncap;
        }
        int r = parse_line(line, len, lineno, &l.mods[l.n], err);
        if (r < 0) {
            init_modlist_done(&l);
            return r;
        }
        l.n++;
    }
    *ret = l;
    return 0;
}

unsigned init_module_flags(const char *path)
{
    static const char *const compressed[] = {".ko.xz", ".ko.zst", ".ko.gz"};
    size_t n = strlen(path);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(compressed); i++) {
        size_t m = strlen(compressed[i]);
        if (n > m && strcmp(path + n - m, compressed[i]) == 0)
            return INIT_MODULE_COMPRESSED_FILE;
    }
    return 0;
}

/* One finit_module; returns 0 or -errno. */
static int load_one(int dirfd, const char *path)
{
    cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (syscall(SYS_finit_module, fd, "", init_module_flags(path)) < 0)
        return -errno;
    return 0;
}

void init_modules_load(int dirfd, const struct init_modlist *l, enum init_mod_stage stage,
                       struct init_modstats *stats)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->mods[i].stage != stage)
            continue;
        int r = load_one(dirfd, l->mods[i].path);
        if (r == 0) {
            stats->loaded++;
        } else if (r == -EEXIST) {
            stats->present++;
        } else if (r == -ENODEV) {
            /* The CPU lacks what the module accelerates (PCLMUL, SSE4.2 under TCG); the
             * generic module next to it in the list does the job. */
            stats->skipped++;
            init_debug("module %s: no such device, skipped", l->mods[i].path);
        } else {
            stats->failed++;
            init_warn("module %s: %s, ignoring", l->mods[i].path, strerror(-r));
        }
    }
}
