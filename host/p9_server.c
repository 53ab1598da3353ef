/* The 9P server's shares, connections and threads (see p9_server.h). One thread per
 * connection reads a whole message (bounded by the negotiated msize), answers it through
 * p9_handle() and writes the reply; a malformed frame drops the connection, a malformed
 * request inside a good frame gets Rlerror. Removing a share shuts down the sockets of its
 * connections and joins their threads, so "removed" means "no longer served". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "host/p9_internal.h"
#include "vsock/transport.h"

#define P9_INITIAL_MSIZE 8192u /* enough for Tversion before the size is agreed */

struct p9_listener {
    int fd;
    pthread_t thread;
    struct host_p9_server *srv;
    struct p9_listener *next;
};

struct host_p9_server {
    pthread_mutex_t lock;
    uint32_t max_msize;
    struct p9_share *shares;
    struct p9_conn *conns;
    struct p9_listener *listeners;
    bool stopping;
};

static bool name_eq(const char *a, const char *b)
{
    return (a ? a : "")[0] == '\0' ? (b ? b : "")[0] == '\0' : b && strcmp(a, b) == 0;
}

static void share_unref_locked(struct p9_share *sh)
{
    if (--sh->refs > 0)
        return;
    lcow_close_nointr(sh->root_fd);
    free(sh->only);
    free(sh->name);
    free(sh->root);
    free(sh);
}

int p9_conn_bind_share(struct p9_conn *c, const char *aname)
{
    struct host_p9_server *s = c->srv;
    pthread_mutex_lock(&s->lock);
    struct p9_share *found = NULL, *dflt = NULL;
    for (struct p9_share *sh = s->shares; sh; sh = sh->next) {
        if (sh->removed)
            continue;
        if (!sh->name)
            dflt = sh;
        else if (strcmp(sh->name, aname) == 0)
            found = sh;
    }
    if (!found)
        found = dflt;
    int r = 0;
    if (!found)
        r = -ENOENT;
    else if (c->share && c->share != found)
        r = -EACCES; /* one share per connection, as the guest mounts them */
    else if (!c->share) {
        found->refs++;
        c->share = found;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

int host_p9_server_new(uint32_t max_msize, struct host_p9_server **ret, struct lcow_error **err)
{
    struct host_p9_server *s = calloc(1, sizeof(*s));
    if (!s)
        return lcow_error_make(err, ENOMEM, "9p server: out of memory");
    if (max_msize == 0)
        max_msize = HOST_P9_DEFAULT_MSIZE;
    if (max_msize < HOST_P9_MIN_MSIZE)
        max_msize = HOST_P9_MIN_MSIZE;
    if (max_msize > HOST_P9_MAX_MSIZE)
        max_msize = HOST_P9_MAX_MSIZE;
    s->max_msize = max_msize;
    pthread_mutex_init(&s->lock, NULL);
    *ret = s;
    return 0;
}

static int add_share(struct host_p9_server *s, const char *name, const char *root, const char *only,
                     bool read_only, struct lcow_error **err)
{
    if (name && (strlen(name) > 255 || strchr(name, '\n')))
        return lcow_error_make(err, EINVAL, "9p share name `%s` is invalid", name);
    cleanup_close int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "open 9p share root `%s`", root);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lcow_error_errno(err, "stat 9p share root `%s`", root);
    struct p9_share *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return lcow_error_make(err, ENOMEM, "9p share: out of memory");
    sh->name = name && *name ? strdup(name) : NULL;
    sh->root = strdup(root);
    sh->only = only ? strdup(only) : NULL;
    if ((name && *name && !sh->name) || !sh->root || (only && !sh->only)) {
        free(sh->only);
        free(sh->name);
        free(sh->root);
        free(sh);
        return lcow_error_make(err, ENOMEM, "9p share: out of memory");
    }
    sh->root_fd = take_fd(&fd);
    sh->root_dev = st.st_dev;
    sh->read_only = read_only;
    sh->refs = 1;
    pthread_mutex_lock(&s->lock);
    for (struct p9_share *o = s->shares; o; o = o->next) {
        if (!o->removed && name_eq(o->name, sh->name)) {
            share_unref_locked(sh);
            pthread_mutex_unlock(&s->lock);
            return lcow_error_make(err, EEXIST, "9p share `%s` already exists", name ? name : "");
        }
    }
    sh->next = s->shares;
    s->shares = sh;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int host_p9_server_add_share(struct host_p9_server *s, const char *name, const char *root,
                             bool read_only, struct lcow_error **err)
{
    return add_share(s, name, root, NULL, read_only, err);
}

int host_p9_server_add_share_file(struct host_p9_server *s, const char *name, const char *dir,
                                  const char *file, bool read_only, struct lcow_error **err)
{
    if (!file || !*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
        return lcow_error_make(err, EINVAL, "9p share file `%s` is not one name", file ? file : "");
    return add_share(s, name, dir, file, read_only, err);
}

/* Joins the threads of finished connections (and, with `share`, shuts down and joins every
 * connection of that share). Called without the lock. */
static void conns_reap(struct host_p9_server *s, const struct p9_share *share, bool all)
{
    for (;;) {
        struct p9_conn *victim = NULL;
        pthread_mutex_lock(&s->lock);
        for (struct p9_conn *c = s->conns; c; c = c->next) {
            if (c->joining)
                continue;
            bool hit = all || (share && c->share == share);
            if (!c->done && !hit)
                continue;
            if (!c->done)
                shutdown(c->fd, SHUT_RDWR);
            c->joining = true;
            victim = c;
            break;
        }
        pthread_mutex_unlock(&s->lock);
        if (!victim)
            return;
        pthread_join(victim->thread, NULL);
        pthread_mutex_lock(&s->lock);
        for (struct p9_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
            if (*pp == victim) {
                *pp = victim->next;
                break;
            }
        }
        if (victim->share)
            share_unref_locked(victim->share);
        pthread_mutex_unlock(&s->lock);
        lcow_close_nointr(victim->fd);
        free(victim);
    }
}

int host_p9_server_remove_share(struct host_p9_server *s, const char *name, struct lcow_error **err)
{
    pthread_mutex_lock(&s->lock);
    struct p9_share *sh = NULL;
    for (struct p9_share **pp = &s->shares; *pp; pp = &(*pp)->next) {
        if (!(*pp)->removed && name_eq((*pp)->name, name)) {
            sh = *pp;
            *pp = sh->next;
            sh->removed = true;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (!sh)
        return lcow_error_make(err, ENOENT, "no 9p share `%s`", name ? name : "");
    conns_reap(s, sh, false);
    pthread_mutex_lock(&s->lock);
    share_unref_locked(sh);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

unsigned host_p9_server_connections(struct host_p9_server *s)
{
    unsigned n = 0;
    pthread_mutex_lock(&s->lock);
    for (struct p9_conn *c = s->conns; c; c = c->next)
        n += !c->done;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- one connection -------------------------------------------------------------------- */

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int resize_buffers(struct p9_conn *c, uint32_t msize)
{
    uint8_t *rx = realloc(c->rx, msize);
    if (!rx)
        return -ENOMEM;
    c->rx = rx;
    uint8_t *tx = realloc(c->tx, msize);
    if (!tx)
        return -ENOMEM;
    c->tx = tx;
    return 0;
}

/* Reads one frame into c->rx: 0, or negative (hang-up, or a size outside [7, msize]). */
static int read_frame(struct p9_conn *c, size_t *ret_len)
{
    ssize_t n = lcow_read_exact(c->fd, c->rx, 4);
    if (n != 4)
        return n < 0 ? (int)n : -EPIPE;
    uint32_t size = host_p9_le32(c->rx);
    if (size < HOST_P9_HDR || size > c->msize)
        return -EMSGSIZE;
    n = lcow_read_exact(c->fd, c->rx + 4, size - 4);
    if (n != (ssize_t)(size - 4))
        return n < 0 ? (int)n : -EPIPE;
    *ret_len = size;
    return 0;
}

int p9_conn_process(struct p9_conn *c, size_t len, struct host_p9_out *o)
{
    struct host_p9_msg m;
    int r = host_p9_decode(c->rx, len, &m);
    if (r < 0) {
        /* A bad request in a well-formed frame is answered, not fatal. */
        host_p9_out_begin(o, c->tx, c->msize, HOST_P9_RLERROR, host_p9_le16(c->rx + 5));
        host_p9_put32(o, (uint32_t)(r == -EOPNOTSUPP ? EOPNOTSUPP : EINVAL));
        host_p9_out_end(o);
        return 0;
    }
    if (m.type != HOST_P9_TVERSION) {
        p9_handle(c, &m, o);
        return 0;
    }
    /* Tversion: negotiate against the server's bound, then size the buffers to the result
     * (the reply, a few bytes, is kept across the reallocation). */
    uint32_t before = c->msize;
    c->msize = c->srv->max_msize;
    p9_handle(c, &m, o);
    if (!c->versioned)
        c->msize = before;
    if (c->msize == before)
        return 0;
    uint8_t reply[64];
    size_t rl = o->len < sizeof(reply) ? o->len : sizeof(reply);
    memcpy(reply, c->tx, rl);
    if (resize_buffers(c, c->msize) < 0)
        return -ENOMEM;
    memcpy(c->tx, reply, rl);
    o->p = c->tx;
    o->cap = c->msize;
    return 0;
}

static void serve(struct p9_conn *c)
{
    for (;;) {
        size_t len = 0;
        int fr = read_frame(c, &len);
        if (fr < 0) {
            lcow_debug("9p: connection ends: %s", strerror(-fr));
            return;
        }
        lcow_debug("9p: %s (tag %u, %zu bytes)", host_p9_type_name(c->rx[4]) ?: "?",
                   host_p9_le16(c->rx + 5), len);
        struct host_p9_out o;
        if (p9_conn_process(c, len, &o) < 0)
            return;
        if (o.len >= HOST_P9_HDR + 4 && o.p[4] == HOST_P9_RLERROR)
            lcow_debug("9p: %s (tag %u): error %u", host_p9_type_name(c->rx[4]) ?: "?",
                       host_p9_le16(c->rx + 5), host_p9_le32(o.p + HOST_P9_HDR));
        if (send_all(c->fd, o.p, o.len) < 0)
            return;
    }
}

static void *conn_thread(void *arg)
{
    struct p9_conn *c = arg;
    serve(c);
    /* The peer must see the hang-up now; the descriptor itself is closed when the thread is
     * joined (closing here could race with a shutdown() on a reused number). */
    shutdown(c->fd, SHUT_RDWR);
    p9_fids_clear(c);
    free(c->rx);
    free(c->tx);
    c->rx = c->tx = NULL;
    pthread_mutex_lock(&c->srv->lock);
    c->done = true;
    pthread_mutex_unlock(&c->srv->lock);
    return NULL;
}

struct p9_conn *p9_conn_new(struct host_p9_server *s)
{
    struct p9_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = s;
    c->fd = -1;
    c->msize = P9_INITIAL_MSIZE;
    if (resize_buffers(c, c->msize) < 0) {
        free(c->rx);
        free(c->tx);
        free(c);
        return NULL;
    }
    return c;
}

void p9_conn_free(struct p9_conn *c)
{
    if (!c)
        return;
    p9_fids_clear(c);
    free(c->rx);
    free(c->tx);
    if (c->share) {
        pthread_mutex_lock(&c->srv->lock);
        share_unref_locked(c->share);
        pthread_mutex_unlock(&c->srv->lock);
    }
    if (c->fd >= 0)
        lcow_close_nointr(c->fd);
    free(c);
}

int host_p9_server_serve_fd(struct host_p9_server *s, int fd, struct lcow_error **err)
{
    cleanup_close int owned = fd;
    conns_reap(s, NULL, false);
    struct p9_conn *c = p9_conn_new(s);
    if (!c)
        return lcow_error_make(err, ENOMEM, "9p connection: out of memory");
    c->fd = take_fd(&owned);
    pthread_mutex_lock(&s->lock);
    unsigned live = 0;
    for (struct p9_conn *o = s->conns; o; o = o->next)
        live += !o->done;
    int r = s->stopping                 ? ECANCELED
            : live >= HOST_P9_MAX_CONNS ? EMFILE
                                        : pthread_create(&c->thread, NULL, conn_thread, c);
    if (r == 0) {
        c->next = s->conns;
        s->conns = c;
    }
    pthread_mutex_unlock(&s->lock);
    if (r != 0) {
        p9_conn_free(c);
        return lcow_error_make(err, r, "9p connection thread: %s", strerror(r));
    }
    return 0;
}

/* ---- listeners ------------------------------------------------------------------------- */

static void *listen_thread(void *arg)
{
    struct p9_listener *l = arg;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE ||
                errno == ENOBUFS || errno == ENOMEM) {
                if (errno != EINTR && errno != ECONNABORTED)
                    poll(NULL, 0, 50); /* out of fds or memory: back off, keep serving */
                continue;
            }
            return NULL; /* shut down by host_p9_server_free */
        }
        struct lcow_error *e = NULL;
        host_p9_server_serve_fd(l->srv, fd, &e);
        lcow_error_release(&e);
    }
}

int host_p9_server_listen(struct host_p9_server *s, const struct vsock_addr *a, uint32_t port,
                          struct lcow_error **err)
{
    int fd = vsock_listen(a, port, 64, err);
    if (fd < 0)
        return fd;
    struct p9_listener *l = calloc(1, sizeof(*l));
    if (!l) {
        lcow_close_nointr(fd);
        return lcow_error_make(err, ENOMEM, "9p listener: out of memory");
    }
    l->fd = fd;
    l->srv = s;
    int r = pthread_create(&l->thread, NULL, listen_thread, l);
    if (r != 0) {
        lcow_close_nointr(fd);
        free(l);
        return lcow_error_make(err, r, "9p listener thread: %s", strerror(r));
    }
    pthread_mutex_lock(&s->lock);
    l->next = s->listeners;
    s->listeners = l;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void host_p9_server_free(struct host_p9_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    struct p9_listener *ls = steal_pointer(&s->listeners);
    pthread_mutex_unlock(&s->lock);
    while (ls) {
        struct p9_listener *l = ls;
        ls = l->next;
        shutdown(l->fd, SHUT_RDWR); /* wakes accept() with EINVAL */
        pthread_join(l->thread, NULL);
        lcow_close_nointr(l->fd);
        free(l);
    }
    conns_reap(s, NULL, true);
    pthread_mutex_lock(&s->lock);
    while (s->shares) {
        struct p9_share *sh = s->shares;
        s->shares = sh->next;
        share_unref_locked(sh);
    }
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
