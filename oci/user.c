/* User and group data from the container's own /etc/passwd and /etc/group, read as files
 * from the rootfs (no NSS: the host's resolvers must never be consulted, and PID-1 style
 * programs must not load NSS modules). Lookups are by numeric id, as config.json gives ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "oci/internal.h"

#define DB_MAX (4u << 20)

/* Reads etc/<name> below the rootfs without leaving it; *ret NULL when the file is absent. */
static int read_db(int rootfs_fd, const char *name, char **ret, struct lcow_error **err)
{
    cleanup_close int fd = oci_resolve_in_root(rootfs_fd, name, 0, false);
    if (fd == -ENOENT) {
        *ret = NULL;
        return 0;
    }
    if (fd < 0)
        return lcow_error_make(err, -fd, "open rootfs `%s`: %s", name, strerror(-fd));
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    size_t len = 0;
    return lcow_read_file(proc, DB_MAX, ret, &len, err);
}

/* Splits a colon-separated line in place into at most n fields; returns the count. */
static size_t split_fields(char *line, char **f, size_t n)
{
    size_t k = 0;
    f[k++] = line;
    for (char *p = line; *p && k < n; p++) {
        if (*p == ':') {
            *p = '\0';
            f[k++] = p + 1;
        }
    }
    return k;
}

static bool parse_id(const char *s, unsigned long *ret)
{
    char *end = NULL;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *ret = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *ret <= UINT32_MAX;
}

/* The passwd entry of uid: name and home copied out. */
static int passwd_lookup(char *db, uid_t uid, char **ret_name, char **ret_home)
{
    char *save = NULL;
    for (char *line = strtok_r(db, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        unsigned long id = 0;
        if (split_fields(line, f, 7) < 7 || !parse_id(f[2], &id) || id != uid)
            continue;
        *ret_name = strdup(f[0]);
        *ret_home = strdup(f[5]);
        if (*ret_name == NULL || *ret_home == NULL)
            return -ENOMEM;
        return 0;
    }
    return 0;
}

static bool member_of(char *members, const char *name)
{
    char *save = NULL;
    for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, name) == 0)
            return true;
    return false;
}

static int add_group(gid_t **groups, size_t *n, gid_t g)
{
    for (size_t i = 0; i < *n; i++)
        if ((*groups)[i] == g)
            return 0;
    gid_t *ng = realloc(*groups, (*n + 1) * sizeof(gid_t));
    if (ng == NULL)
        return -ENOMEM;
    ng[(*n)++] = g;
    *groups = ng;
    return 0;
}

int oci_user_lookup(int rootfs_fd, uid_t uid, gid_t gid, bool member_groups, char **ret_home,
                    gid_t **groups, size_t *n_groups, struct lcow_error **err)
{
    cleanup_free char *passwd = NULL, *group = NULL, *name = NULL, *home = NULL;
    int r = read_db(rootfs_fd, "/etc/passwd", &passwd, err);
    if (r < 0)
        return r;
    if (passwd && passwd_lookup(passwd, uid, &name, &home) < 0)
        return lcow_error_make(err, ENOMEM, "/etc/passwd: out of memory");
    if (name != NULL && member_groups) {
        /* Supplementary groups: those that list the user by name (as runc's GetExecUser). */
        if ((r = read_db(rootfs_fd, "/etc/group", &group, err)) < 0)
            return r;
        char *save = NULL;
        for (char *line = group ? strtok_r(group, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
            char *f[4];
            unsigned long id = 0;
            if (split_fields(line, f, 4) < 4 || !parse_id(f[2], &id) || id == gid)
                continue;
            if (member_of(f[3], name) && add_group(groups, n_groups, (gid_t)id) < 0)
                return lcow_error_make(err, ENOMEM, "/etc/group: out of memory");
        }
    }
    *ret_home = steal_pointer(&home);
    return 0;
}

int oci_user_resolve_name(int rootfs_fd, bool group, const char *name, uint32_t *ret_id,
                          uint32_t *ret_gid, struct lcow_error **err)
{
    const char *file = group ? "/etc/group" : "/etc/passwd";
    cleanup_free char *db = NULL;
    unsigned long numeric = 0;
    bool is_num = parse_id(name, &numeric);
    int r = read_db(rootfs_fd, file, &db, err);
    if (r < 0)
        return r;
    char *save = NULL;
    for (char *line = db ? strtok_r(db, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        unsigned long id = 0, gid = 0;
        size_t n = split_fields(line, f, group ? 4 : 7);
        if (n < (group ? 3u : 4u) || !parse_id(f[2], &id))
            continue;
        if (is_num ? id != numeric : strcmp(f[0], name) != 0)
            continue;
        *ret_id = (uint32_t)id;
        if (ret_gid)
            *ret_gid = (!group && parse_id(f[3], &gid)) ? (uint32_t)gid : (uint32_t)id;
        return 0;
    }
    if (is_num) {
        /* A number with no entry is still a valid id (runc allows unnamed ids). */
        *ret_id = (uint32_t)numeric;
        if (ret_gid)
            *ret_gid = (uint32_t)numeric;
        return 0;
    }
    return lcow_error_make(err, ENOENT, "%s: no entry for `%s` in the rootfs", file, name);
}
