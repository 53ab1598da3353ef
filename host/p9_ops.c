/* 9P2000.L request handlers: one function per T-message, looked up in a table.
 *
 * Containment (the guest is untrusted): a fid's fd is reached from the share root one
 * validated name at a time with openat(O_PATH|O_NOFOLLOW), so `..`, names with `/` and
 * symlinks (which open as themselves and are never a directory to walk through) cannot leave
 * the tree. Creation calls are *at() calls on such a directory fd with one validated name and
 * O_NOFOLLOW, so a dangling symlink cannot redirect a create outside. Objects are reopened
 * through /proc/self/fd/N (the exact inode, no path lookup). Only regular files and
 * directories are ever opened: a device node the guest made (or found) in the share would
 * otherwise hand it the host's device, and a FIFO would block the connection. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "host/p9_internal.h"

/* ---- fids ------------------------------------------------------------------------------ */

static struct p9_fid **fid_slot(struct p9_conn *c, uint32_t id)
{
    struct p9_fid **pp = &c->fids[id % P9_FID_BUCKETS];
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static struct p9_fid *fid_get(struct p9_conn *c, uint32_t id)
{
    return *fid_slot(c, id);
}

static void fid_free(struct p9_fid *f)
{
    if (f->fd >= 0)
        lcow_close_nointr(f->fd);
    if (f->ofd >= 0)
        lcow_close_nointr(f->ofd);
    free(f->path);
    free(f->xname);
    free(f->xbuf);
    free(f);
}

static int fid_new(struct p9_conn *c, uint32_t id, struct p9_fid **ret)
{
    if (id == HOST_P9_NOFID)
        return -EINVAL;
    if (fid_get(c, id))
        return -EEXIST;
    if (c->n_fids >= HOST_P9_MAX_FIDS)
        return -EMFILE;
    struct p9_fid *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->id = id;
    f->fd = -1;
    f->ofd = -1;
    *ret = f;
    return 0;
}

static void fid_insert(struct p9_conn *c, struct p9_fid *f)
{
    struct p9_fid **pp = &c->fids[f->id % P9_FID_BUCKETS];
    f->next = *pp;
    *pp = f;
    c->n_fids++;
}

static struct p9_fid *fid_unlink(struct p9_conn *c, uint32_t id)
{
    struct p9_fid **pp = fid_slot(c, id);
    struct p9_fid *f = *pp;
    if (f) {
        *pp = f->next;
        c->n_fids--;
    }
    return f;
}

void p9_fids_clear(struct p9_conn *c)
{
    for (unsigned b = 0; b < P9_FID_BUCKETS; b++) {
        while (c->fids[b]) {
            struct p9_fid *f = c->fids[b];
            c->fids[b] = f->next;
            fid_free(f);
        }
    }
    c->n_fids = 0;
}

/* A plain file fid (not an xattr one). */
static int fid_file(struct p9_conn *c, uint32_t id, struct p9_fid **ret)
{
    struct p9_fid *f = fid_get(c, id);
    if (!f)
        return -EBADF;
    if (f->kind != P9_FID_FILE)
        return -EINVAL;
    *ret = f;
    return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* A name from the wire as one path component: 1..NAME_MAX bytes, no '/', not "." or "..". */
static int check_name(const struct host_p9_str *n, char out[NAME_MAX + 1])
{
    if (n->len == 0)
        return -EINVAL;
    if (n->len > NAME_MAX)
        return -ENAMETOOLONG;
    if (memchr(n->s, '/', n->len))
        return -EINVAL;
    if ((n->len == 1 && n->s[0] == '.') || (n->len == 2 && n->s[0] == '.' && n->s[1] == '.'))
        return -EPERM;
    memcpy(out, n->s, n->len);
    out[n->len] = '\0';
    return 0;
}

/* In a single-file share only that name exists in the root directory. */
static int check_visible(const struct p9_conn *c, const char *dirpath, const char *name)
{
    if (c->share->only && dirpath && !*dirpath && strcmp(name, c->share->only) != 0)
        return -ENOENT;
    return 0;
}

/* Permission bits the guest may set on host files: never set-user-ID (nor set-group-ID on
 * files): a guest-made setuid-root binary in a share would run with root's powers on the
 * host. A directory keeps set-group-ID (group inheritance, harmless). */
static mode_t safe_mode(uint32_t mode, bool dir)
{
    return (mode_t)(mode & 07777 & ~(dir ? (uint32_t)S_ISUID : (uint32_t)(S_ISUID | S_ISGID)));
}

static char *str_dup(const struct host_p9_str *s)
{
    return strndup(s->s, s->len);
}

static void proc_path(int fd, char buf[32])
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

static int stat_fd(int fd, struct stat *st)
{
    if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    return 0;
}

static void qid_of(const struct p9_conn *c, const struct stat *st, struct host_p9_qid *q)
{
    q->type = S_ISDIR(st->st_mode)   ? HOST_P9_QTDIR
              : S_ISLNK(st->st_mode) ? HOST_P9_QTSYMLINK
                                     : HOST_P9_QTFILE;
    q->version = 0;
    q->path = st->st_ino;
    /* Inode numbers repeat across filesystems mounted inside the share: fold the device in. */
    if (st->st_dev != c->share->root_dev)
        q->path ^= (uint64_t)st->st_dev << 48;
}

static int child_path(const char *parent, const char *name, char **ret)
{
    size_t n = strlen(parent) + strlen(name) + 2;
    if (n > PATH_MAX)
        return -ENAMETOOLONG;
    char *p = malloc(n);
    if (!p)
        return -ENOMEM;
    size_t pl = strlen(parent), nl = strlen(name);
    memcpy(p, parent, pl);
    if (pl)
        p[pl++] = '/';
    memcpy(p + pl, name, nl + 1);
    *ret = p;
    return 0;
}

/* New files belong to the guest user who made them, as far as the server can arrange
 * (best effort, like QEMU's security_model=none: failures are ignored). */
static void chown_new(int dirfd, const char *name, uint32_t uid, uint32_t gid)
{
    if (geteuid() != 0)
        return;
    (void)!fchownat(dirfd, name, uid == HOST_P9_NOFID ? (uid_t)-1 : uid,
                    gid == HOST_P9_NOFID ? (gid_t)-1 : gid, AT_SYMLINK_NOFOLLOW);
}

static int reply_qid_at(struct p9_conn *c, int dirfd, const char *name, struct host_p9_out *o)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    struct host_p9_qid q;
    qid_of(c, &st, &q);
    host_p9_put_qid(o, &q);
    return 0;
}

/* The directory holding fid `f` and its name there, found again from the share root by
 * f->path with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), and checked to still be the
 * inode f names (a stale path must not hit another file). */
static int fid_parent(struct p9_conn *c, struct p9_fid *f, int *ret_dirfd, const char **ret_name)
{
    if (!f->path || !*f->path)
        return -EBUSY; /* the share root itself */
    char *slash = strrchr(f->path, '/');
    cleanup_free char *dir = slash ? strndup(f->path, (size_t)(slash - f->path)) : strdup(".");
    if (!dir)
        return -ENOMEM;
    struct lcow_open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    cleanup_close int dfd = sys_openat2(c->share->root_fd, dir, &how);
    if (dfd < 0)
        return -errno;
    const char *name = slash ? slash + 1 : f->path;
    struct stat a, b;
    if (fstatat(dfd, name, &a, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    int r = stat_fd(f->fd, &b);
    if (r < 0)
        return r;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return -ESTALE;
    *ret_dirfd = take_fd(&dfd);
    *ret_name = name;
    return 0;
}

/* After a rename, fids below the old name keep working under the new one. */
static void fids_rename(struct p9_conn *c, const char *from, const char *to)
{
    size_t fl = strlen(from);
    for (unsigned b = 0; b < P9_FID_BUCKETS; b++) {
        for (struct p9_fid *f = c->fids[b]; f; f = f->next) {
            if (!f->path || strncmp(f->path, from, fl) != 0 ||
                (f->path[fl] != '\0' && f->path[fl] != '/'))
                continue;
            char *np = NULL;
            if (asprintf(&np, "%s%s", to, f->path + fl) < 0)
                continue;
            free(f->path);
            f->path = np;
        }
    }
}

/* 9P2000.L open flags are Linux's generic values; keep the ones that make sense here. */
static int open_flags(uint32_t f)
{
    int flags = (int)(f & O_ACCMODE);
    if ((f & O_ACCMODE) == O_ACCMODE)
        flags = O_RDONLY;
    flags |= (int)(f & (O_TRUNC | O_APPEND | O_DSYNC | O_SYNC | O_DIRECTORY | O_NOATIME | O_EXCL));
    return flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
}

static bool flags_write(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND));
}

/* ---- session --------------------------------------------------------------------------- */

static int op_version(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    p9_fids_clear(c);
    uint32_t msize = m->u.version.msize;
    const struct host_p9_str *v = &m->u.version.version;
    bool ok = v->len >= 8 && memcmp(v->s, HOST_P9_VERSION, 8) == 0 && msize >= HOST_P9_MIN_MSIZE;
    if (msize > c->msize)
        msize = c->msize;
    host_p9_put32(o, msize);
    if (!ok) {
        c->versioned = false;
        host_p9_put_str(o, "unknown", 7);
        return 0;
    }
    host_p9_put_str(o, HOST_P9_VERSION, strlen(HOST_P9_VERSION));
    c->msize = msize;
    c->versioned = true;
    return 0;
}

static int op_auth(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    return -EOPNOTSUPP; /* no authentication: the transport is the VM's own vsock */
}

static int op_attach(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    if (m->u.attach.afid != HOST_P9_NOFID)
        return -EINVAL;
    cleanup_free char *aname = str_dup(&m->u.attach.aname);
    if (!aname)
        return -ENOMEM;
    int r = p9_conn_bind_share(c, aname);
    if (r < 0)
        return r;
    struct p9_fid *f = NULL;
    r = fid_new(c, m->u.attach.fid, &f);
    if (r < 0)
        return r;
    f->fd = fcntl(c->share->root_fd, F_DUPFD_CLOEXEC, 3);
    f->path = strdup("");
    f->uid = m->u.attach.n_uname;
    struct stat st;
    r = f->fd < 0 ? -errno : !f->path ? -ENOMEM : stat_fd(f->fd, &st);
    if (r < 0) {
        fid_free(f);
        return r;
    }
    struct host_p9_qid q;
    qid_of(c, &st, &q);
    host_p9_put_qid(o, &q);
    fid_insert(c, f);
    return 0;
}

static int op_flush(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    /* Requests are answered in order on one thread: the flushed one has been answered. */
    return 0;
}

static int op_clunk(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = fid_unlink(c, m->u.fid.fid);
    if (!f)
        return -EBADF;
    int r = 0;
    if (f->kind == P9_FID_XATTR_CREATE) {
        char pp[32];
        proc_path(f->fd, pp);
        if (f->xgot != f->xlen)
            r = -EINVAL;
        else if (f->xlen == 0 && (f->xflags & XATTR_REPLACE) == 0 && f->xflags != 0)
            r = setxattr(pp, f->xname, "", 0, f->xflags) < 0 ? -errno : 0;
        else if (f->xlen == 0)
            r = removexattr(pp, f->xname) < 0 && errno != ENODATA ? -errno : 0;
        else
            r = setxattr(pp, f->xname, f->xbuf, f->xlen, f->xflags) < 0 ? -errno : 0;
    }
    fid_free(f);
    return r;
}

/* ---- walk ------------------------------------------------------------------------------ */

static int op_walk(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.walk.fid, &f);
    if (r < 0)
        return r;
    bool same = m->u.walk.newfid == m->u.walk.fid;
    if (!same && fid_get(c, m->u.walk.newfid))
        return -EEXIST;
    cleanup_close int cur = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
    cleanup_free char *path = strdup(f->path);
    if (cur < 0 || !path)
        return cur < 0 ? -errno : -ENOMEM;
    host_p9_put16(o, 0); /* nwqid, patched below */
    unsigned n = 0;
    for (; n < m->u.walk.nwname; n++) {
        char name[NAME_MAX + 1];
        r = check_name(&m->u.walk.wname[n], name);
        if (r == 0)
            r = check_visible(c, path, name);
        cleanup_close int next = r < 0 ? -1 : openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (r == 0 && next < 0)
            r = -errno;
        struct stat st;
        if (r == 0)
            r = stat_fd(next, &st);
        char *np = NULL;
        if (r == 0)
            r = child_path(path, name, &np);
        if (r < 0)
            break;
        free(path);
        path = np;
        struct host_p9_qid q;
        qid_of(c, &st, &q);
        host_p9_put_qid(o, &q);
        lcow_close_nointr(cur);
        cur = take_fd(&next);
    }
    if (n == 0 && m->u.walk.nwname > 0)
        return r; /* the first name failed: an error, not a short walk */
    o->p[HOST_P9_HDR] = (uint8_t)n;
    o->p[HOST_P9_HDR + 1] = 0;
    if (n < m->u.walk.nwname)
        return 0; /* a short walk leaves newfid unset */
    struct p9_fid *nf = f;
    if (!same) {
        r = fid_new(c, m->u.walk.newfid, &nf);
        if (r < 0)
            return r;
        nf->uid = f->uid;
        fid_insert(c, nf);
    } else if (n == 0) {
        return 0; /* walking a fid to itself: nothing changes */
    } else if (f->ofd >= 0) {
        lcow_close_nointr(f->ofd); /* the fid now names another file */
        f->ofd = -1;
    }
    if (nf->fd >= 0)
        lcow_close_nointr(nf->fd);
    nf->fd = take_fd(&cur);
    free(nf->path);
    nf->path = steal_pointer(&path);
    return 0;
}

/* ---- open, create ---------------------------------------------------------------------- */

static int op_lopen(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.lopen.fid, &f);
    if (r < 0)
        return r;
    if (f->ofd >= 0)
        return -EBUSY;
    struct stat st;
    r = stat_fd(f->fd, &st);
    if (r < 0)
        return r;
    if (S_ISLNK(st.st_mode))
        return -ELOOP;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return -EPERM;
    int flags = open_flags(m->u.lopen.flags) & ~O_EXCL;
    if (S_ISDIR(st.st_mode))
        flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    if (c->share->read_only && flags_write(flags))
        return -EROFS;
    char pp[32];
    proc_path(f->fd, pp);
    f->ofd = open(pp, flags & ~O_NOFOLLOW);
    if (f->ofd < 0)
        return -errno;
    f->ofd_dir = S_ISDIR(st.st_mode);
    struct host_p9_qid q;
    qid_of(c, &st, &q);
    host_p9_put_qid(o, &q);
    host_p9_put32(o, c->msize - HOST_P9_IOHDR);
    return 0;
}

static int op_lcreate(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.lcreate.fid, &f);
    if (r < 0)
        return r;
    if (f->ofd >= 0)
        return -EBUSY;
    char name[NAME_MAX + 1];
    if ((r = check_name(&m->u.lcreate.name, name)) < 0 || (r = check_visible(c, f->path, name)) < 0)
        return r;
    cleanup_free char *np = NULL;
    if ((r = child_path(f->path, name, &np)) < 0)
        return r;
    /* O_NONBLOCK: an existing FIFO of that name must not block the connection. */
    int flags = (open_flags(m->u.lcreate.flags) & ~O_DIRECTORY) | O_CREAT | O_NONBLOCK;
    cleanup_close int fd = openat(f->fd, name, flags, safe_mode(m->u.lcreate.mode, false));
    if (fd < 0)
        return -errno;
    struct stat st;
    if ((r = stat_fd(fd, &st)) < 0)
        return r;
    if (!S_ISREG(st.st_mode))
        return -EPERM;
    if (fcntl(fd, F_SETFL, flags & ~(O_NONBLOCK | O_CREAT | O_EXCL | O_TRUNC)) < 0)
        return -errno;
    chown_new(f->fd, name, f->uid, m->u.lcreate.gid);
    int pfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (pfd < 0)
        return -errno;
    lcow_close_nointr(f->fd);
    f->fd = pfd;
    f->ofd = take_fd(&fd);
    f->ofd_dir = false;
    free(f->path);
    f->path = steal_pointer(&np);
    struct host_p9_qid q;
    qid_of(c, &st, &q);
    host_p9_put_qid(o, &q);
    host_p9_put32(o, c->msize - HOST_P9_IOHDR);
    return 0;
}

/* The directory fid of a create-like request and its validated new name. */
static int dir_and_name(struct p9_conn *c, uint32_t dfid, const struct host_p9_str *n,
                        struct p9_fid **ret_dir, char name[NAME_MAX + 1])
{
    int r = fid_file(c, dfid, ret_dir);
    if (r == 0)
        r = check_name(n, name);
    return r < 0 ? r : check_visible(c, (*ret_dir)->path, name);
}

static int op_mkdir(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *d = NULL;
    char name[NAME_MAX + 1];
    int r = dir_and_name(c, m->u.mkdir.dfid, &m->u.mkdir.name, &d, name);
    if (r < 0)
        return r;
    if (mkdirat(d->fd, name, safe_mode(m->u.mkdir.mode, true)) < 0)
        return -errno;
    chown_new(d->fd, name, d->uid, m->u.mkdir.gid);
    return reply_qid_at(c, d->fd, name, o);
}

static int op_symlink(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *d = NULL;
    char name[NAME_MAX + 1];
    int r = dir_and_name(c, m->u.symlink.fid, &m->u.symlink.name, &d, name);
    if (r < 0)
        return r;
    /* The target is stored, never followed by this server: the guest resolves it. */
    if (m->u.symlink.target.len == 0 || m->u.symlink.target.len >= PATH_MAX)
        return -EINVAL;
    cleanup_free char *target = str_dup(&m->u.symlink.target);
    if (!target)
        return -ENOMEM;
    if (symlinkat(target, d->fd, name) < 0)
        return -errno;
    chown_new(d->fd, name, d->uid, m->u.symlink.gid);
    return reply_qid_at(c, d->fd, name, o);
}

static int op_mknod(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *d = NULL;
    char name[NAME_MAX + 1];
    int r = dir_and_name(c, m->u.mknod.dfid, &m->u.mknod.name, &d, name);
    if (r < 0)
        return r;
    mode_t mode = m->u.mknod.mode;
    /* No device nodes: the host would hand the guest its own devices. */
    if (!S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISREG(mode))
        return -EPERM;
    if (mknodat(d->fd, name, (mode & S_IFMT) | safe_mode(mode, false), 0) < 0)
        return -errno;
    chown_new(d->fd, name, d->uid, m->u.mknod.gid);
    return reply_qid_at(c, d->fd, name, o);
}

static int op_link(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *d = NULL, *f = NULL;
    char name[NAME_MAX + 1];
    int r = dir_and_name(c, m->u.link.dfid, &m->u.link.name, &d, name);
    if (r < 0 || (r = fid_file(c, m->u.link.fid, &f)) < 0)
        return r;
    if (linkat(f->fd, "", d->fd, name, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOENT)
        return -errno;
    /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc's link to the inode does not. */
    char pp[32];
    proc_path(f->fd, pp);
    return linkat(AT_FDCWD, pp, d->fd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* ---- remove, rename -------------------------------------------------------------------- */

static int op_unlinkat(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *d = NULL;
    char name[NAME_MAX + 1];
    int r = dir_and_name(c, m->u.unlinkat.dirfid, &m->u.unlinkat.name, &d, name);
    if (r < 0)
        return r;
    return unlinkat(d->fd, name, m->u.unlinkat.flags & AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int op_remove(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    /* Tremove clunks the fid whether or not the removal works. */
    struct p9_fid *f = fid_unlink(c, m->u.fid.fid);
    if (!f)
        return -EBADF;
    int r = -EINVAL;
    if (c->share->read_only)
        r = -EROFS;
    else if (f->kind == P9_FID_FILE) {
        cleanup_close int dfd = -1;
        const char *name = NULL;
        struct stat st;
        r = fid_parent(c, f, &dfd, &name);
        if (r == 0)
            r = stat_fd(f->fd, &st);
        if (r == 0)
            r = unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
    }
    fid_free(f);
    return r;
}

static int do_rename(struct p9_conn *c, int olddir, const char *oldpath, const char *oldname,
                     struct p9_fid *nd, const char *newname)
{
    cleanup_free char *newpath = NULL;
    int r = child_path(nd->path, newname, &newpath);
    if (r < 0)
        return r;
    if (renameat(olddir, oldname, nd->fd, newname) < 0)
        return -errno;
    fids_rename(c, oldpath, newpath);
    return 0;
}

static int op_renameat(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *od = NULL, *nd = NULL;
    char oldname[NAME_MAX + 1], newname[NAME_MAX + 1];
    int r = dir_and_name(c, m->u.renameat.olddirfid, &m->u.renameat.oldname, &od, oldname);
    if (r < 0 ||
        (r = dir_and_name(c, m->u.renameat.newdirfid, &m->u.renameat.newname, &nd, newname)) < 0)
        return r;
    cleanup_free char *oldpath = NULL;
    if ((r = child_path(od->path, oldname, &oldpath)) < 0)
        return r;
    return do_rename(c, od->fd, oldpath, oldname, nd, newname);
}

static int op_rename(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL, *nd = NULL;
    char newname[NAME_MAX + 1];
    int r = fid_file(c, m->u.rename.fid, &f);
    if (r < 0 || (r = dir_and_name(c, m->u.rename.dfid, &m->u.rename.name, &nd, newname)) < 0)
        return r;
    cleanup_close int dfd = -1;
    const char *name = NULL;
    if ((r = fid_parent(c, f, &dfd, &name)) < 0)
        return r;
    cleanup_free char *oldpath = strdup(f->path);
    if (!oldpath)
        return -ENOMEM;
    return do_rename(c, dfd, oldpath, name, nd, newname);
}

/* ---- attributes ------------------------------------------------------------------------ */

static int op_getattr(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    struct stat st;
    int r = fid_file(c, m->u.getattr.fid, &f);
    if (r < 0 || (r = stat_fd(f->fd, &st)) < 0)
        return r;
    struct host_p9_qid q;
    qid_of(c, &st, &q);
    host_p9_put64(o, HOST_P9_GETATTR_BASIC);
    host_p9_put_qid(o, &q);
    host_p9_put32(o, st.st_mode);
    host_p9_put32(o, st.st_uid);
    host_p9_put32(o, st.st_gid);
    host_p9_put64(o, st.st_nlink);
    host_p9_put64(o, st.st_rdev);
    host_p9_put64(o, (uint64_t)st.st_size);
    host_p9_put64(o, (uint64_t)st.st_blksize);
    host_p9_put64(o, (uint64_t)st.st_blocks);
    host_p9_put64(o, (uint64_t)st.st_atim.tv_sec);
    host_p9_put64(o, (uint64_t)st.st_atim.tv_nsec);
    host_p9_put64(o, (uint64_t)st.st_mtim.tv_sec);
    host_p9_put64(o, (uint64_t)st.st_mtim.tv_nsec);
    host_p9_put64(o, (uint64_t)st.st_ctim.tv_sec);
    host_p9_put64(o, (uint64_t)st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++)
        host_p9_put64(o, 0); /* btime sec/nsec, gen, data_version */
    return 0;
}

static struct timespec time_arg(uint32_t valid, uint32_t bit, uint32_t set_bit, uint64_t sec,
                                uint64_t nsec)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = UTIME_OMIT};
    if (valid & set_bit) {
        ts.tv_sec = (time_t)sec;
        ts.tv_nsec = nsec < 1000000000u ? (long)nsec : 0;
    } else if (valid & bit) {
        ts.tv_nsec = UTIME_NOW;
    }
    return ts;
}

static int set_size(struct p9_fid *f, const struct stat *st, uint64_t size)
{
    if (!S_ISREG(st->st_mode))
        return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
    if (size > INT64_MAX)
        return -EFBIG;
    char pp[32];
    proc_path(f->fd, pp);
    cleanup_close int fd = open(pp, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

static int op_setattr(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    struct stat st;
    int r = fid_file(c, m->u.setattr.fid, &f);
    if (r < 0 || (r = stat_fd(f->fd, &st)) < 0)
        return r;
    uint32_t v = m->u.setattr.valid;
    char pp[32];
    proc_path(f->fd, pp);
    if ((v & HOST_P9_SETATTR_MODE) && !S_ISLNK(st.st_mode) &&
        chmod(pp, safe_mode(m->u.setattr.mode, S_ISDIR(st.st_mode))) < 0)
        return -errno;
    if (v & (HOST_P9_SETATTR_UID | HOST_P9_SETATTR_GID)) {
        uid_t uid = (v & HOST_P9_SETATTR_UID) ? m->u.setattr.uid : (uid_t)-1;
        gid_t gid = (v & HOST_P9_SETATTR_GID) ? m->u.setattr.gid : (gid_t)-1;
        if (fchownat(f->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
    }
    if ((v & HOST_P9_SETATTR_SIZE) && (r = set_size(f, &st, m->u.setattr.size)) < 0)
        return r;
    if (v & (HOST_P9_SETATTR_ATIME | HOST_P9_SETATTR_MTIME)) {
        struct timespec ts[2] = {
            time_arg(v, HOST_P9_SETATTR_ATIME, HOST_P9_SETATTR_ATIME_SET, m->u.setattr.atime_sec,
                     m->u.setattr.atime_nsec),
            time_arg(v, HOST_P9_SETATTR_MTIME, HOST_P9_SETATTR_MTIME_SET, m->u.setattr.mtime_sec,
                     m->u.setattr.mtime_nsec),
        };
        if (S_ISLNK(st.st_mode)) {
            cleanup_close int dfd = -1;
            const char *name = NULL;
            if ((r = fid_parent(c, f, &dfd, &name)) < 0)
                return r;
            if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        } else if (utimensat(AT_FDCWD, pp, ts, 0) < 0) {
            return -errno;
        }
    }
    return 0;
}

static int op_readlink(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.fid.fid, &f);
    if (r < 0)
        return r;
    char buf[PATH_MAX];
    ssize_t n = readlinkat(f->fd, "", buf, sizeof(buf));
    if (n < 0)
        return errno == ENOENT ? -EINVAL : -errno;
    host_p9_put_str(o, buf, (size_t)n);
    return 0;
}

static int op_statfs(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    struct statfs sf;
    int r = fid_file(c, m->u.fid.fid, &f);
    if (r < 0)
        return r;
    if (fstatfs(f->fd, &sf) < 0)
        return -errno;
    host_p9_put32(o, HOST_P9_V9FS_MAGIC);
    host_p9_put32(o, (uint32_t)sf.f_bsize);
    host_p9_put64(o, sf.f_blocks);
    host_p9_put64(o, sf.f_bfree);
    host_p9_put64(o, sf.f_bavail);
    host_p9_put64(o, sf.f_files);
    host_p9_put64(o, sf.f_ffree);
    uint64_t fsid;
    memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
    host_p9_put64(o, fsid);
    host_p9_put32(o, (uint32_t)sf.f_namelen);
    return 0;
}

/* ---- data ------------------------------------------------------------------------------ */

static int op_read(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = fid_get(c, m->u.read.fid);
    if (!f)
        return -EBADF;
    uint32_t count = m->u.read.count;
    if (count > c->msize - HOST_P9_HDR - 4)
        count = c->msize - HOST_P9_HDR - 4;
    uint8_t *cnt = host_p9_put_space(o, 4);
    uint8_t *data = host_p9_put_space(o, count);
    if (!cnt || !data)
        return -EMSGSIZE;
    size_t n = 0;
    if (f->kind == P9_FID_XATTR_READ) {
        if (m->u.read.offset < f->xlen) {
            size_t left = f->xlen - (size_t)m->u.read.offset;
            n = left < count ? left : count;
            memcpy(data, f->xbuf + m->u.read.offset, n);
        }
    } else if (f->kind != P9_FID_FILE || f->ofd < 0 || f->ofd_dir) {
        return f->ofd_dir ? -EISDIR : -EBADF;
    } else {
        if (m->u.read.offset > INT64_MAX)
            return -EINVAL;
        ssize_t got = pread(f->ofd, data, count, (off_t)m->u.read.offset);
        if (got < 0)
            return -errno;
        n = (size_t)got;
    }
    o->len -= count - n; /* give back the unused tail */
    cnt[0] = (uint8_t)n;
    cnt[1] = (uint8_t)(n >> 8);
    cnt[2] = (uint8_t)(n >> 16);
    cnt[3] = (uint8_t)(n >> 24);
    return 0;
}

static int op_write(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = fid_get(c, m->u.write.fid);
    if (!f)
        return -EBADF;
    uint32_t count = m->u.write.count;
    if (f->kind == P9_FID_XATTR_CREATE) {
        if (m->u.write.offset != f->xgot || f->xlen - f->xgot < count)
            return -EINVAL;
        memcpy(f->xbuf + f->xgot, m->u.write.data, count);
        f->xgot += count;
        host_p9_put32(o, count);
        return 0;
    }
    if (f->kind != P9_FID_FILE || f->ofd < 0 || f->ofd_dir)
        return -EBADF;
    if (m->u.write.offset > INT64_MAX)
        return -EINVAL;
    ssize_t n = pwrite(f->ofd, m->u.write.data, count, (off_t)m->u.write.offset);
    if (n < 0)
        return -errno;
    host_p9_put32(o, (uint32_t)n);
    return 0;
}

static int op_readdir(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.readdir.fid, &f);
    if (r < 0)
        return r;
    if (f->ofd < 0 || !f->ofd_dir)
        return -ENOTDIR;
    uint32_t count = m->u.readdir.count;
    if (count > c->msize - HOST_P9_HDR - 4)
        count = c->msize - HOST_P9_HDR - 4;
    if (m->u.readdir.offset > INT64_MAX)
        return -EINVAL;
    if (lseek(f->ofd, (off_t)m->u.readdir.offset, SEEK_SET) < 0)
        return -errno;
    cleanup_free uint8_t *buf = malloc(count);
    if (!buf)
        return -ENOMEM;
    uint8_t *cnt = host_p9_put_space(o, 4);
    if (!cnt)
        return -EMSGSIZE;
    size_t start = o->len, limit = start + count;
    /* A single-file share hides all but one root entry: a batch may yield nothing, and an
     * empty reply means end of directory, so read on until something fits or the end. */
    bool filter = c->share->only && !*f->path, full = false;
    while (!full && o->len == start) {
        long got = sys_getdents64(f->ofd, buf, count);
        if (got < 0)
            return -errno;
        if (got == 0)
            break;
        for (long pos = 0; pos < got;) {
            struct dirent64_hdr {
                uint64_t d_ino;
                int64_t d_off;
                uint16_t d_reclen;
                uint8_t d_type;
            } h;
            memcpy(&h, buf + pos, sizeof(h));
            if (h.d_reclen == 0)
                return -EIO;
            const char *name = (const char *)buf + pos + offsetof(struct dirent64_hdr, d_type) + 1;
            size_t nl = strnlen(name, (size_t)(got - pos));
            pos += h.d_reclen;
            if (filter && strcmp(name, ".") && strcmp(name, "..") && strcmp(name, c->share->only))
                continue;
            if (o->len + HOST_P9_QID_SIZE + 8 + 1 + 2 + nl > limit) {
                full = true;
                break;
            }
            struct host_p9_qid q = {.type = h.d_type == DT_DIR   ? HOST_P9_QTDIR
                                            : h.d_type == DT_LNK ? HOST_P9_QTSYMLINK
                                                                 : HOST_P9_QTFILE,
                                    .path = h.d_ino};
            host_p9_put_qid(o, &q);
            host_p9_put64(o, (uint64_t)h.d_off);
            host_p9_put8(o, h.d_type);
            host_p9_put_str(o, name, nl);
        }
    }
    size_t n = o->len - start;
    for (int i = 0; i < 4; i++)
        cnt[i] = (uint8_t)(n >> (8 * i));
    return 0;
}

static int op_fsync(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.fsync.fid, &f);
    if (r < 0)
        return r;
    if (f->ofd < 0)
        return -EBADF;
    r = m->u.fsync.datasync ? fdatasync(f->ofd) : fsync(f->ofd);
    return r < 0 ? -errno : 0;
}

/* ---- locks: open-file-description locks, never blocking (the client retries) ---------- */

static int lock_args(struct p9_conn *c, const struct host_p9_msg *m, struct p9_fid **ret_f,
                     struct flock *fl)
{
    int r = fid_file(c, m->u.lock.fid, ret_f);
    if (r < 0)
        return r;
    if ((*ret_f)->ofd < 0)
        return -EBADF;
    static const short types[] = {F_RDLCK, F_WRLCK, F_UNLCK};
    if (m->u.lock.type > HOST_P9_LOCK_UNLCK || m->u.lock.start > INT64_MAX ||
        m->u.lock.length > INT64_MAX)
        return -EINVAL;
    memset(fl, 0, sizeof(*fl));
    fl->l_type = types[m->u.lock.type];
    fl->l_whence = SEEK_SET;
    fl->l_start = (off_t)m->u.lock.start;
    fl->l_len = (off_t)m->u.lock.length;
    return 0;
}

static int op_lock(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    struct flock fl;
    int r = lock_args(c, m, &f, &fl);
    if (r < 0)
        return r;
    uint8_t status = HOST_P9_LOCK_SUCCESS;
    if (fcntl(f->ofd, F_OFD_SETLK, &fl) < 0)
        status = errno == EAGAIN || errno == EACCES ? HOST_P9_LOCK_BLOCKED : HOST_P9_LOCK_ERROR;
    host_p9_put8(o, status);
    return 0;
}

static int op_getlock(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    struct flock fl;
    int r = lock_args(c, m, &f, &fl);
    if (r < 0)
        return r;
    if (fcntl(f->ofd, F_OFD_GETLK, &fl) < 0)
        return -errno;
    host_p9_put8(o, fl.l_type == F_RDLCK   ? HOST_P9_LOCK_RDLCK
                    : fl.l_type == F_WRLCK ? HOST_P9_LOCK_WRLCK
                                           : HOST_P9_LOCK_UNLCK);
    host_p9_put64(o, (uint64_t)fl.l_start);
    host_p9_put64(o, (uint64_t)fl.l_len);
    host_p9_put32(o, fl.l_type == F_UNLCK ? m->u.lock.proc_id : 0);
    host_p9_put_str(o, m->u.lock.client_id.s, m->u.lock.client_id.len);
    return 0;
}

/* ---- xattrs ---------------------------------------------------------------------------- */

static int xattr_name(const struct host_p9_str *n, char **ret)
{
    if (n->len > 255)
        return -ERANGE;
    *ret = str_dup(n);
    return *ret ? 0 : -ENOMEM;
}

static ssize_t xattr_fetch(const char *pp, const char *name, void *buf, size_t len)
{
    return *name ? getxattr(pp, name, buf, len) : listxattr(pp, buf, len);
}

static int op_xattrwalk(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    struct stat st;
    int r = fid_file(c, m->u.xattrwalk.fid, &f);
    if (r < 0 || (r = stat_fd(f->fd, &st)) < 0)
        return r;
    if (fid_get(c, m->u.xattrwalk.newfid))
        return -EEXIST;
    cleanup_free char *name = NULL;
    if ((r = xattr_name(&m->u.xattrwalk.name, &name)) < 0)
        return r;
    /* /proc's link would follow a symlink's target: symlinks show no xattrs. */
    if (S_ISLNK(st.st_mode))
        return *name ? -ENODATA : 0;
    char pp[32];
    proc_path(f->fd, pp);
    ssize_t n = xattr_fetch(pp, name, NULL, 0);
    if (n < 0)
        return -errno;
    if ((size_t)n > P9_XATTR_MAX)
        return -E2BIG;
    cleanup_free uint8_t *buf = malloc((size_t)n + 1);
    if (!buf)
        return -ENOMEM;
    n = xattr_fetch(pp, name, buf, (size_t)n);
    if (n < 0)
        return -errno;
    struct p9_fid *nf = NULL;
    if ((r = fid_new(c, m->u.xattrwalk.newfid, &nf)) < 0)
        return r;
    nf->kind = P9_FID_XATTR_READ;
    nf->xbuf = steal_pointer(&buf);
    nf->xlen = (size_t)n;
    fid_insert(c, nf);
    host_p9_put64(o, (uint64_t)n);
    return 0;
}

static int op_xattrcreate(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    struct p9_fid *f = NULL;
    int r = fid_file(c, m->u.xattrcreate.fid, &f);
    if (r < 0)
        return r;
    if (m->u.xattrcreate.size > P9_XATTR_MAX)
        return -E2BIG;
    if (m->u.xattrcreate.name.len == 0)
        return -EINVAL;
    /* Only user.*: security.capability on a host file would grant capabilities to whoever
     * runs it on the host, trusted.* and system.* belong to the host. */
    if (m->u.xattrcreate.name.len < 5 || memcmp(m->u.xattrcreate.name.s, "user.", 5) != 0)
        return -EOPNOTSUPP;
    cleanup_free char *name = NULL;
    if ((r = xattr_name(&m->u.xattrcreate.name, &name)) < 0)
        return r;
    cleanup_free uint8_t *buf = malloc((size_t)m->u.xattrcreate.size + 1);
    if (!buf)
        return -ENOMEM;
    if (f->ofd >= 0) {
        lcow_close_nointr(f->ofd);
        f->ofd = -1;
    }
    f->kind = P9_FID_XATTR_CREATE;
    f->xname = steal_pointer(&name);
    f->xbuf = steal_pointer(&buf);
    f->xlen = (size_t)m->u.xattrcreate.size;
    f->xgot = 0;
    f->xflags = (int)(m->u.xattrcreate.flags & (XATTR_CREATE | XATTR_REPLACE));
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------- */

typedef int (*p9_op)(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o);

static const struct {
    uint8_t type;
    p9_op fn;
    bool changes;    /* refused with EROFS on a read-only share */
    bool needs_root; /* needs an attached share */
} ops[] = {
    {HOST_P9_TVERSION, op_version, false, false},
    {HOST_P9_TAUTH, op_auth, false, false},
    {HOST_P9_TATTACH, op_attach, false, false},
    {HOST_P9_TFLUSH, op_flush, false, false},
    {HOST_P9_TWALK, op_walk, false, true},
    {HOST_P9_TCLUNK, op_clunk, false, true},
    {HOST_P9_TLOPEN, op_lopen, false, true},
    {HOST_P9_TLCREATE, op_lcreate, true, true},
    {HOST_P9_TSYMLINK, op_symlink, true, true},
    {HOST_P9_TMKNOD, op_mknod, true, true},
    {HOST_P9_TRENAME, op_rename, true, true},
    {HOST_P9_TREADLINK, op_readlink, false, true},
    {HOST_P9_TSTATFS, op_statfs, false, true},
    {HOST_P9_TGETATTR, op_getattr, false, true},
    {HOST_P9_TSETATTR, op_setattr, true, true},
    {HOST_P9_TXATTRWALK, op_xattrwalk, false, true},
    {HOST_P9_TXATTRCREATE, op_xattrcreate, true, true},
    {HOST_P9_TREADDIR, op_readdir, false, true},
    {HOST_P9_TFSYNC, op_fsync, false, true},
    {HOST_P9_TLOCK, op_lock, false, true},
    {HOST_P9_TGETLOCK, op_getlock, false, true},
    {HOST_P9_TLINK, op_link, true, true},
    {HOST_P9_TMKDIR, op_mkdir, true, true},
    {HOST_P9_TRENAMEAT, op_renameat, true, true},
    {HOST_P9_TUNLINKAT, op_unlinkat, true, true},
    {HOST_P9_TREAD, op_read, false, true},
    {HOST_P9_TWRITE, op_write, true, true},
    {HOST_P9_TREMOVE, op_remove, false, true}, /* checks read-only itself: it always clunks */
};

static void put_error(struct host_p9_out *o, uint16_t tag, int err)
{
    uint8_t *buf = o->p;
    size_t cap = o->cap;
    host_p9_out_begin(o, buf, cap, HOST_P9_RLERROR, tag);
    host_p9_put32(o, (uint32_t)(err < 0 ? -err : err));
}

void p9_handle(struct p9_conn *c, const struct host_p9_msg *m, struct host_p9_out *o)
{
    host_p9_out_begin(o, c->tx, c->msize, (uint8_t)(m->type + 1), m->tag);
    int r = -EOPNOTSUPP;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ops); i++) {
        if (ops[i].type != m->type)
            continue;
        if (!c->versioned && m->type != HOST_P9_TVERSION)
            r = -EPROTO;
        else if (ops[i].needs_root && !c->share)
            r = -EBADF;
        else if (ops[i].changes && c->share->read_only)
            r = -EROFS;
        else
            r = ops[i].fn(c, m, o);
        break;
    }
    if (r == 0 && host_p9_out_end(o) < 0)
        r = -EMSGSIZE;
    if (r < 0) {
        put_error(o, m->tag, r);
        (void)host_p9_out_end(o);
    }
}
