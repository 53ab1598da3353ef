/* Orders kernel modules by modules.dep with a depth-first walk: a module is emitted after all
 * of its dependencies, each module once, in the order the caller asked for them otherwise. */
#include "initrd/modlist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

#define MODLIST_MAX_DEPTH 64
#define MODNAME_MAX       64

enum visit {
    UNSEEN,
    VISITING,
    EMITTED,
};

struct modentry {
    char *path;
    char *deps; /* the text after ':', space separated paths */
    char name[MODNAME_MAX];
    enum visit state;
};

struct modlist {
    struct modentry *e; /* sorted by path for bsearch */
    size_t n;
    char **builtin; /* names */
    size_t nbuiltin;
};

void modlist_name_of(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strcspn(base, ".");
    if (len >= cap)
        len = cap - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = base[i] == '-' ? '_' : base[i];
    buf[len] = '\0';
}

struct modlist *modlist_free(struct modlist *m)
{
    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].path);
        free(m->e[i].deps);
    }
    for (size_t i = 0; i < m->nbuiltin; i++)
        free(m->builtin[i]);
    free(m->e);
    free(m->builtin);
    free(m);
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int add_entry(struct modlist *m, size_t *cap, char *line, unsigned lineno,
                     struct lcow_error **err)
{
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return lcow_error_make(err, EINVAL, "modules.dep line %u: no `:`", lineno);
    *colon = '\0';
    char *path = trim(line);
    if (*path == '\0')
        return lcow_error_make(err, EINVAL, "modules.dep line %u: empty path", lineno);
    if (m->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        struct modentry *e = realloc(m->e, ncap * sizeof(*e));
        if (e == NULL)
            return lcow_error_make(err, ENOMEM, "modules.dep");
        m->e = e;
        *cap = ncap;
    }
    struct modentry *e = &m->e[m->n];
    *e = (struct modentry){.path = strdup(path), .deps = strdup(trim(colon + 1))};
    if (e->path == NULL || e->deps == NULL) {
        free(e->path);
        free(e->deps);
        return lcow_error_make(err, ENOMEM, "modules.dep");
    }
    modlist_name_of(path, e->name, sizeof(e->name));
    m->n++;
    return 0;
}

static int add_builtin(struct modlist *m, size_t *cap, const char *path, struct lcow_error **err)
{
    if (m->nbuiltin == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        char **b = realloc(m->builtin, ncap * sizeof(*b));
        if (b == NULL)
            return lcow_error_make(err, ENOMEM, "modules.builtin");
        m->builtin = b;
        *cap = ncap;
    }
    char name[MODNAME_MAX];
    modlist_name_of(path, name, sizeof(name));
    if ((m->builtin[m->nbuiltin] = strdup(name)) == NULL)
        return lcow_error_make(err, ENOMEM, "modules.builtin");
    m->nbuiltin++;
    return 0;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const struct modentry *)a)->path, ((const struct modentry *)b)->path);
}

/* Calls fn for each non-empty line of a private copy of text. */
static int for_lines(const char *text, struct modlist *m, size_t *cap, bool dep,
                     struct lcow_error **err)
{
    cleanup_free char *copy = strdup(text);
    if (copy == NULL)
        return lcow_error_make(err, ENOMEM, "module tables");
    unsigned lineno = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *t = trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        int r = dep ? add_entry(m, cap, t, lineno, err) : add_builtin(m, cap, t, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int modlist_parse(const char *dep_text, const char *builtin_text, struct modlist **ret,
                  struct lcow_error **err)
{
    struct modlist *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return lcow_error_make(err, ENOMEM, "modlist");
    size_t cap = 0, bcap = 0;
    int r = for_lines(dep_text, m, &cap, true, err);
    if (r == 0 && builtin_text != NULL)
        r = for_lines(builtin_text, m, &bcap, false, err);
    if (r < 0) {
        modlist_free(m);
        return r;
    }
    qsort(m->e, m->n, sizeof(*m->e), cmp_path);
    for (size_t i = 1; i < m->n; i++)
        if (strcmp(m->e[i - 1].path, m->e[i].path) == 0) {
            r = lcow_error_make(err, EINVAL, "modules.dep: `%s` listed twice", m->e[i].path);
            modlist_free(m);
            return r;
        }
    *ret = m;
    return 0;
}

static struct modentry *find_path(struct modlist *m, const char *path)
{
    struct modentry key = {.path = (char *)path};
    return bsearch(&key, m->e, m->n, sizeof(*m->e), cmp_path);
}

static struct modentry *find_name(struct modlist *m, const char *name)
{
    char norm[MODNAME_MAX];
    modlist_name_of(name, norm, sizeof(norm));
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].name, norm) == 0)
            return &m->e[i];
    return NULL;
}

static bool is_builtin(const struct modlist *m, const char *name)
{
    char norm[MODNAME_MAX];
    modlist_name_of(name, norm, sizeof(norm));
    for (size_t i = 0; i < m->nbuiltin; i++)
        if (strcmp(m->builtin[i], norm) == 0)
            return true;
    return false;
}

static int append(char **out, const char *stage, const char *path, struct lcow_error **err)
{
    size_t old = *out ? strlen(*out) : 0;
    size_t add = strlen(stage) + strlen(path) + 3;
    char *n = realloc(*out, old + add);
    if (n == NULL)
        return lcow_error_make(err, ENOMEM, "module list");
    snprintf(n + old, add, "%s %s\n", stage, path);
    *out = n;
    return 0;
}

static int visit(struct modlist *m, struct modentry *e, const char *stage, char **out, int depth,
                 struct lcow_error **err)
{
    if (e->state == EMITTED)
        return 0;
    if (e->state == VISITING || depth > MODLIST_MAX_DEPTH)
        return lcow_error_make(err, ELOOP, "dependency cycle through `%s`", e->path);
    e->state = VISITING;
    cleanup_free char *deps = strdup(e->deps);
    if (deps == NULL)
        return lcow_error_make(err, ENOMEM, "module list");
    for (char *save = NULL, *d = strtok_r(deps, " \t", &save); d != NULL;
         d = strtok_r(NULL, " \t", &save)) {
        struct modentry *de = find_path(m, d);
        if (de == NULL)
            return lcow_error_make(err, ENOENT, "`%s` depends on `%s`, not in modules.dep", e->path,
                                   d);
        int r = visit(m, de, stage, out, depth + 1, err);
        if (r < 0)
            return r;
    }
    e->state = EMITTED;
    return append(out, stage, e->path, err);
}

int modlist_resolve(struct modlist *m, const char *stage, const char *const *names, size_t n,
                    char **out, struct lcow_error **err)
{
    for (size_t i = 0; i < n; i++) {
        struct modentry *e = find_name(m, names[i]);
        if (e == NULL) {
            if (is_builtin(m, names[i]))
                continue;
            return lcow_error_make(err, ENOENT,
                                   "module `%s` is neither in modules.dep nor built in", names[i]);
        }
        int r = visit(m, e, stage, out, 0, err);
        if (r < 0)
            return r;
    }
    return 0;
}
