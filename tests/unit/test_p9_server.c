/* Unit tests of host/p9_server over a socketpair, with a small 9P2000.L client written here:
 * the operations Linux's v9fs uses, the share root (no `..`, no symlink escape), read-only
 * refusals, malformed frames and requests, and share removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "host/p9_proto.h"
#include "host/p9_server.h"

#define MSIZE 65536u

struct fx {
    char dir[64];   /* temp dir: share/ and outside/ below it */
    char share[96]; /* the exported tree */
    struct host_p9_server *srv;
    int fd; /* client end */
    uint16_t tag;
    uint8_t rbuf[MSIZE];
    size_t rlen;
};

static struct fx *F;

/* ---- the test client ------------------------------------------------------------------- */

static void send_msg(struct host_p9_out *o)
{
    assert_true(host_p9_out_end(o) > 0);
    assert_int_equal(lcow_write_all(F->fd, o->p, o->len), 0);
}

/* Reads one reply; returns its type, or -1 on hang-up. */
static int recv_msg(void)
{
    struct timeval tv = {.tv_sec = 10};
    setsockopt(F->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (lcow_read_exact(F->fd, F->rbuf, 4) != 4)
        return -1;
    uint32_t size = host_p9_le32(F->rbuf);
    assert_true(size >= HOST_P9_HDR && size <= sizeof(F->rbuf));
    assert_int_equal(lcow_read_exact(F->fd, F->rbuf + 4, size - 4), (ssize_t)(size - 4));
    F->rlen = size;
    return F->rbuf[4];
}

static uint8_t obuf[MSIZE];

static struct host_p9_out *begin(uint8_t type)
{
    static struct host_p9_out o;
    host_p9_out_begin(&o, obuf, sizeof(obuf), type, F->tag++);
    return &o;
}

static void pstr(struct host_p9_out *o, const char *s)
{
    host_p9_put_str(o, s, strlen(s));
}

/* Sends o and returns 0 for the expected R-type, -ecode for Rlerror. */
static int rpc(struct host_p9_out *o)
{
    uint8_t want = o->p[4] + 1;
    send_msg(o);
    int t = recv_msg();
    assert_int_not_equal(t, -1);
    if (t == HOST_P9_RLERROR)
        return -(int)host_p9_le32(F->rbuf + 7);
    assert_int_equal(t, want);
    return 0;
}

static int c_version(uint32_t msize, const char *v, uint32_t *ret_msize, char *ret_v)
{
    struct host_p9_out *o = begin(HOST_P9_TVERSION);
    host_p9_put32(o, msize);
    pstr(o, v);
    int r = rpc(o);
    if (r == 0) {
        *ret_msize = host_p9_le32(F->rbuf + 7);
        uint16_t n = host_p9_le16(F->rbuf + 11);
        memcpy(ret_v, F->rbuf + 13, n);
        ret_v[n] = '\0';
    }
    return r;
}

static int c_attach(uint32_t fid, const char *aname)
{
    struct host_p9_out *o = begin(HOST_P9_TATTACH);
    host_p9_put32(o, fid);
    host_p9_put32(o, HOST_P9_NOFID);
    pstr(o, "root");
    pstr(o, aname);
    host_p9_put32(o, 0);
    return rpc(o);
}

/* Walk of a '/'-separated list of names ("" = clone). Returns the number of qids. */
static int c_walk(uint32_t fid, uint32_t newfid, const char *names)
{
    struct host_p9_out *o = begin(HOST_P9_TWALK);
    host_p9_put32(o, fid);
    host_p9_put32(o, newfid);
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", names);
    char *w[20];
    uint16_t n = 0;
    for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
        w[n++] = t;
    host_p9_put16(o, n);
    for (unsigned i = 0; i < n; i++)
        pstr(o, w[i]);
    int r = rpc(o);
    return r < 0 ? r : host_p9_le16(F->rbuf + 7);
}

static int c_walk_raw_name(uint32_t fid, uint32_t newfid, const char *name)
{
    struct host_p9_out *o = begin(HOST_P9_TWALK);
    host_p9_put32(o, fid);
    host_p9_put32(o, newfid);
    host_p9_put16(o, 1);
    pstr(o, name);
    return rpc(o);
}

static int c_fid_op(uint8_t type, uint32_t fid)
{
    struct host_p9_out *o = begin(type);
    host_p9_put32(o, fid);
    return rpc(o);
}

static int c_lopen(uint32_t fid, uint32_t flags)
{
    struct host_p9_out *o = begin(HOST_P9_TLOPEN);
    host_p9_put32(o, fid);
    host_p9_put32(o, flags);
    return rpc(o);
}

static int c_lcreate(uint32_t fid, const char *name, uint32_t flags, uint32_t mode)
{
    struct host_p9_out *o = begin(HOST_P9_TLCREATE);
    host_p9_put32(o, fid);
    pstr(o, name);
    host_p9_put32(o, flags);
    host_p9_put32(o, mode);
    host_p9_put32(o, 0);
    return rpc(o);
}

static int c_read(uint32_t fid, uint64_t off, uint32_t count, char *buf)
{
    struct host_p9_out *o = begin(HOST_P9_TREAD);
    host_p9_put32(o, fid);
    host_p9_put64(o, off);
    host_p9_put32(o, count);
    int r = rpc(o);
    if (r < 0)
        return r;
    uint32_t n = host_p9_le32(F->rbuf + 7);
    memcpy(buf, F->rbuf + 11, n);
    return (int)n;
}

static int c_write(uint32_t fid, uint64_t off, const char *data)
{
    struct host_p9_out *o = begin(HOST_P9_TWRITE);
    host_p9_put32(o, fid);
    host_p9_put64(o, off);
    host_p9_put32(o, (uint32_t)strlen(data));
    memcpy(host_p9_put_space(o, strlen(data)), data, strlen(data));
    int r = rpc(o);
    return r < 0 ? r : (int)host_p9_le32(F->rbuf + 7);
}

static int c_mkdir(uint32_t dfid, const char *name)
{
    struct host_p9_out *o = begin(HOST_P9_TMKDIR);
    host_p9_put32(o, dfid);
    pstr(o, name);
    host_p9_put32(o, 0755);
    host_p9_put32(o, 0);
    return rpc(o);
}

static int c_unlinkat(uint32_t dfid, const char *name, uint32_t flags)
{
    struct host_p9_out *o = begin(HOST_P9_TUNLINKAT);
    host_p9_put32(o, dfid);
    pstr(o, name);
    host_p9_put32(o, flags);
    return rpc(o);
}

static int c_renameat(uint32_t od, const char *on, uint32_t nd, const char *nn)
{
    struct host_p9_out *o = begin(HOST_P9_TRENAMEAT);
    host_p9_put32(o, od);
    pstr(o, on);
    host_p9_put32(o, nd);
    pstr(o, nn);
    return rpc(o);
}

static int c_symlink(uint32_t dfid, const char *name, const char *target)
{
    struct host_p9_out *o = begin(HOST_P9_TSYMLINK);
    host_p9_put32(o, dfid);
    pstr(o, name);
    pstr(o, target);
    host_p9_put32(o, 0);
    return rpc(o);
}

/* Tgetattr: returns 0 and fills mode/size. */
static int c_getattr(uint32_t fid, uint32_t *mode, uint64_t *size)
{
    struct host_p9_out *o = begin(HOST_P9_TGETATTR);
    host_p9_put32(o, fid);
    host_p9_put64(o, HOST_P9_GETATTR_BASIC);
    int r = rpc(o);
    if (r == 0) {
        *mode = host_p9_le32(F->rbuf + 7 + 8 + 13);
        *size = host_p9_le64(F->rbuf + 7 + 8 + 13 + 4 + 4 + 4 + 8 + 8);
    }
    return r;
}

static int c_setattr_size(uint32_t fid, uint64_t size)
{
    struct host_p9_out *o = begin(HOST_P9_TSETATTR);
    host_p9_put32(o, fid);
    host_p9_put32(o, HOST_P9_SETATTR_SIZE);
    for (int i = 0; i < 3; i++)
        host_p9_put32(o, 0);
    host_p9_put64(o, size);
    for (int i = 0; i < 4; i++)
        host_p9_put64(o, 0);
    return rpc(o);
}

/* Treaddir from offset 0 until empty; names joined with ',' (sorted by the caller). */
static int c_readdir_all(uint32_t fid, char *out, size_t cap)
{
    uint64_t off = 0;
    out[0] = '\0';
    for (int rounds = 0; rounds < 100; rounds++) {
        struct host_p9_out *o = begin(HOST_P9_TREADDIR);
        host_p9_put32(o, fid);
        host_p9_put64(o, off);
        host_p9_put32(o, 200); /* small: forces several rounds */
        int r = rpc(o);
        if (r < 0)
            return r;
        uint32_t n = host_p9_le32(F->rbuf + 7);
        if (n == 0)
            return 0;
        const uint8_t *p = F->rbuf + 11, *end = p + n;
        while (p < end) {
            off = host_p9_le64(p + 13);
            uint16_t nl = host_p9_le16(p + 22);
            char name[256];
            memcpy(name, p + 24, nl);
            name[nl] = '\0';
            if (strcmp(name, ".") && strcmp(name, ".."))
                snprintf(out + strlen(out), cap - strlen(out), "%s,", name);
            p += 24 + nl;
        }
    }
    return -E2BIG;
}

/* ---- fixture --------------------------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void host_write(const char *rel, const char *data)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", F->dir, rel);
    assert_int_equal(
        lcow_write_file(p, data, strlen(data), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL), 0);
}

static bool host_exists(const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", F->dir, rel);
    return lstat(p, &st) == 0;
}

static void connect_client(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(host_p9_server_serve_fd(F->srv, sv[0], NULL), 0);
    F->fd = sv[1];
}

static int setup(void **state)
{
    F = calloc(1, sizeof(*F));
    snprintf(F->dir, sizeof(F->dir), "/tmp/test-p9.XXXXXX");
    assert_non_null(mkdtemp(F->dir));
    snprintf(F->share, sizeof(F->share), "%s/share", F->dir);
    char p[128];
    assert_int_equal(mkdir(F->share, 0755), 0);
    snprintf(p, sizeof(p), "%s/outside", F->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    host_write("outside/secret", "top secret\n");
    host_write("share/hello.txt", "hello from the host\n");
    snprintf(p, sizeof(p), "%s/share/ro", F->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    host_write("share/ro/file", "read only\n");
    assert_int_equal(host_p9_server_new(MSIZE, &F->srv, NULL), 0);
    assert_int_equal(host_p9_server_add_share(F->srv, "1", F->share, false, NULL), 0);
    assert_int_equal(host_p9_server_add_share(F->srv, "2", p, true, NULL), 0);
    connect_client();
    *state = F;
    return 0;
}

static int teardown(void **state)
{
    close(F->fd);
    host_p9_server_free(F->srv);
    nftw(F->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(F);
    return 0;
}

static void session(const char *aname)
{
    uint32_t msize;
    char v[32];
    assert_int_equal(c_version(MSIZE, HOST_P9_VERSION, &msize, v), 0);
    assert_int_equal(c_attach(1, aname), 0);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_version(void **state)
{
    uint32_t msize;
    char v[32];
    assert_int_equal(c_version(8192, "9P2000.L", &msize, v), 0);
    assert_int_equal(msize, 8192);
    assert_string_equal(v, "9P2000.L");
    assert_int_equal(c_version(1u << 30, "9P2000.L", &msize, v), 0);
    assert_int_equal(msize, MSIZE); /* the server's bound */
    assert_int_equal(c_version(8192, "9P2000.u", &msize, v), 0);
    assert_string_equal(v, "unknown");
    /* Unknown version: no session, so an attach is a protocol error. */
    assert_int_equal(c_attach(1, "1"), -EPROTO);
}

static void test_attach(void **state)
{
    uint32_t msize;
    char v[32];
    assert_int_equal(c_version(MSIZE, "9P2000.L", &msize, v), 0);
    assert_int_equal(c_attach(1, "nope"), -ENOENT);
    assert_int_equal(c_attach(1, "1"), 0);
    assert_int_equal(c_attach(1, "1"), -EEXIST); /* fid in use */
    assert_int_equal(c_attach(2, "2"), -EACCES); /* one share per connection */
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 1), 0);
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 1), -EBADF);
}

static void test_read_host_file(void **state)
{
    session("1");
    assert_int_equal(c_walk(1, 2, "hello.txt"), 1);
    uint32_t mode;
    uint64_t size;
    assert_int_equal(c_getattr(2, &mode, &size), 0);
    assert_true(S_ISREG(mode));
    assert_int_equal(size, strlen("hello from the host\n"));
    assert_int_equal(c_lopen(2, O_RDONLY), 0);
    char buf[128] = "";
    assert_int_equal(c_read(2, 0, sizeof(buf), buf), (int)size);
    assert_memory_equal(buf, "hello from the host\n", size);
    assert_int_equal(c_read(2, 6, 4, buf), 4);
    assert_memory_equal(buf, "from", 4);
    assert_int_equal(c_read(2, 1000, 4, buf), 0);
    assert_int_equal(c_lopen(2, O_RDONLY), -EBUSY);
    /* A missing name: an error, not a short walk. */
    assert_int_equal(c_walk(1, 3, "missing"), -ENOENT);
    /* A later missing name: a short walk, newfid left unset. */
    assert_int_equal(c_walk(1, 3, "ro/missing"), 1);
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 3), -EBADF);
}

static void test_write_create_dir(void **state)
{
    session("1");
    assert_int_equal(c_walk(1, 2, ""), 0); /* clone the root */
    assert_int_equal(c_lcreate(2, "new.txt", O_RDWR, 0640), 0);
    assert_int_equal(c_write(2, 0, "written by the guest"), 20);
    assert_int_equal(c_setattr_size(2, 7), 0);
    assert_int_equal(c_fid_op(HOST_P9_TFSYNC, 2), 0);
    char p[256];
    snprintf(p, sizeof(p), "%s/new.txt", F->share);
    cleanup_free char *text = NULL;
    assert_int_equal(lcow_read_file(p, 1024, &text, NULL, NULL), 0);
    assert_string_equal(text, "written");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    assert_int_equal(c_mkdir(1, "d"), 0);
    assert_true(host_exists("share/d"));
    /* No set-user-ID files from the guest: not at creation, not by chmod. */
    assert_int_equal(c_walk(1, 9, ""), 0);
    assert_int_equal(c_lcreate(9, "suid", O_RDWR, 04755), 0); /* fid 9 is now the file */
    snprintf(p, sizeof(p), "%s/suid", F->share);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    struct host_p9_out *o = begin(HOST_P9_TSETATTR);
    host_p9_put32(o, 9);
    host_p9_put32(o, HOST_P9_SETATTR_MODE);
    host_p9_put32(o, 06755);
    host_p9_put32(o, 0);
    host_p9_put32(o, 0);
    for (int i = 0; i < 5; i++)
        host_p9_put64(o, 0);
    assert_int_equal(rpc(o), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(c_mkdir(1, "d"), -EEXIST);
    assert_int_equal(c_renameat(1, "new.txt", 1, "renamed.txt"), 0);
    assert_true(host_exists("share/renamed.txt"));
    assert_false(host_exists("share/new.txt"));
    /* Fid 2 followed the rename: Tremove finds it under its new name. */
    assert_int_equal(c_fid_op(HOST_P9_TREMOVE, 2), 0);
    assert_false(host_exists("share/renamed.txt"));

    assert_int_equal(c_walk(1, 3, ""), 0);
    assert_int_equal(c_lopen(3, O_RDONLY | O_DIRECTORY), 0);
    char names[1024];
    assert_int_equal(c_readdir_all(3, names, sizeof(names)), 0);
    assert_non_null(strstr(names, "hello.txt,"));
    assert_non_null(strstr(names, "d,"));
    assert_non_null(strstr(names, "ro,"));
    assert_int_equal(c_unlinkat(1, "d", 0), -EISDIR);
    assert_int_equal(c_unlinkat(1, "d", AT_REMOVEDIR), 0);
    assert_false(host_exists("share/d"));
}

static void test_symlink_escape(void **state)
{
    char p[256], target[200];
    snprintf(target, sizeof(target), "%s/outside/secret", F->dir);
    snprintf(p, sizeof(p), "%s/to-secret", F->share);
    assert_int_equal(symlink(target, p), 0);
    snprintf(target, sizeof(target), "%s/outside", F->dir);
    snprintf(p, sizeof(p), "%s/to-outside", F->share);
    assert_int_equal(symlink(target, p), 0);
    snprintf(target, sizeof(target), "%s/outside/created", F->dir);
    snprintf(p, sizeof(p), "%s/dangling", F->share);
    assert_int_equal(symlink(target, p), 0);
    session("1");

    /* The link itself is visible (the guest resolves it, inside the guest)... */
    assert_int_equal(c_walk(1, 2, "to-secret"), 1);
    assert_int_equal(F->rbuf[9], HOST_P9_QTSYMLINK);
    assert_int_equal(c_fid_op(HOST_P9_TREADLINK, 2), 0);
    /* ...but never followed by the server. */
    assert_int_equal(c_lopen(2, O_RDONLY), -ELOOP);
    /* Through the link: a short walk (the link, then nothing), newfid left unset. */
    assert_int_equal(c_walk(1, 3, "to-outside/secret"), 1);
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 3), -EBADF);
    assert_int_equal(c_walk(1, 3, "to-outside"), 1);
    assert_int_equal(c_walk(3, 5, "secret"), -ENOTDIR);
    assert_int_equal(c_lcreate(1, "dangling", O_WRONLY, 0644), -ELOOP);
    assert_false(host_exists("outside/created"));
    /* A guest-made symlink to / is stored, not followed either. */
    assert_int_equal(c_symlink(1, "root", "/"), 0);
    assert_int_equal(c_walk(1, 4, "root/etc"), 1);
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 4), -EBADF);
}

static void test_dotdot_escape(void **state)
{
    session("1");
    assert_int_equal(c_walk(1, 2, ".."), -EPERM);
    assert_int_equal(c_walk(1, 2, "ro/.."), 1); /* short walk: `..` refused */
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 2), -EBADF);
    assert_int_equal(c_walk_raw_name(1, 2, "../outside"), -EINVAL);
    assert_int_equal(c_walk_raw_name(1, 2, "."), -EPERM);
    assert_int_equal(c_mkdir(1, ".."), -EPERM);
    assert_int_equal(c_renameat(1, "hello.txt", 1, "../moved"), -EINVAL);
    assert_false(host_exists("moved"));
    /* Tremove of the root is refused. */
    assert_int_equal(c_walk(1, 3, ""), 0);
    assert_int_equal(c_fid_op(HOST_P9_TREMOVE, 3), -EBUSY);
    assert_true(host_exists("share"));
}

static void test_read_only(void **state)
{
    session("2");
    assert_int_equal(c_walk(1, 2, "file"), 1);
    assert_int_equal(c_lopen(2, O_WRONLY), -EROFS);
    assert_int_equal(c_lopen(2, O_RDONLY | O_TRUNC), -EROFS);
    assert_int_equal(c_setattr_size(2, 0), -EROFS);
    assert_int_equal(c_lopen(2, O_RDONLY), 0);
    char buf[64];
    assert_int_equal(c_read(2, 0, sizeof(buf), buf), 10);
    assert_int_equal(c_write(2, 0, "x"), -EROFS);
    assert_int_equal(c_lcreate(1, "x", O_WRONLY, 0644), -EROFS);
    assert_int_equal(c_mkdir(1, "x"), -EROFS);
    assert_int_equal(c_symlink(1, "x", "y"), -EROFS);
    assert_int_equal(c_unlinkat(1, "file", 0), -EROFS);
    assert_int_equal(c_renameat(1, "file", 1, "x"), -EROFS);
    assert_int_equal(c_walk(1, 3, "file"), 1);
    assert_int_equal(c_fid_op(HOST_P9_TREMOVE, 3), -EROFS);
    assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 3), -EBADF); /* Tremove clunked it anyway */
    assert_true(host_exists("share/ro/file"));
    assert_false(host_exists("share/ro/x"));
}

static void test_no_devices(void **state)
{
    session("1");
    struct host_p9_out *o = begin(HOST_P9_TMKNOD);
    host_p9_put32(o, 1);
    pstr(o, "sda");
    host_p9_put32(o, S_IFBLK | 0600);
    host_p9_put32(o, 8);
    host_p9_put32(o, 0);
    host_p9_put32(o, 0);
    assert_int_equal(rpc(o), -EPERM);
    assert_false(host_exists("share/sda"));
    /* A FIFO may exist but is never opened (it would block the connection). */
    char p[256];
    snprintf(p, sizeof(p), "%s/fifo", F->share);
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_equal(c_walk(1, 2, "fifo"), 1);
    assert_int_equal(c_lopen(2, O_RDONLY), -EPERM);
    assert_int_equal(c_lcreate(1, "fifo", O_RDONLY, 0644), -EPERM);
}

static void test_xattr_lock_statfs(void **state)
{
    session("1");
    assert_int_equal(c_walk(1, 2, "hello.txt"), 1);
    struct host_p9_out *o = begin(HOST_P9_TXATTRCREATE);
    host_p9_put32(o, 2);
    pstr(o, "user.test");
    host_p9_put64(o, 5);
    host_p9_put32(o, 0);
    int r = rpc(o);
    if (r == 0) {
        assert_int_equal(c_write(2, 0, "value"), 5);
        assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 2), 0);
        assert_int_equal(c_walk(1, 2, "hello.txt"), 1);
        o = begin(HOST_P9_TXATTRWALK);
        host_p9_put32(o, 2);
        host_p9_put32(o, 3);
        pstr(o, "user.test");
        assert_int_equal(rpc(o), 0);
        assert_int_equal(host_p9_le64(F->rbuf + 7), 5);
        char buf[16];
        assert_int_equal(c_read(3, 0, sizeof(buf), buf), 5);
        assert_memory_equal(buf, "value", 5);
        assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 3), 0);
    }
    /* Only user.* xattrs can be set: security.capability would grant host capabilities. */
    const char *refused[] = {"security.capability", "trusted.x", "system.posix_acl_access"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(c_walk(1, 6, "hello.txt"), 1);
        o = begin(HOST_P9_TXATTRCREATE);
        host_p9_put32(o, 6);
        pstr(o, refused[i]);
        host_p9_put64(o, 1);
        host_p9_put32(o, 0);
        assert_int_equal(rpc(o), -EOPNOTSUPP);
        assert_int_equal(c_fid_op(HOST_P9_TCLUNK, 6), 0);
    }
    /* Two opens of one file: an exclusive lock on the first blocks the second. */
    assert_int_equal(c_walk(1, 4, "hello.txt"), 1);
    assert_int_equal(c_walk(1, 5, "hello.txt"), 1);
    assert_int_equal(c_lopen(4, O_RDWR), 0);
    assert_int_equal(c_lopen(5, O_RDWR), 0);
    for (uint32_t fid = 4; fid <= 5; fid++) {
        o = begin(HOST_P9_TLOCK);
        host_p9_put32(o, fid);
        host_p9_put8(o, HOST_P9_LOCK_WRLCK);
        host_p9_put32(o, 0);
        host_p9_put64(o, 0);
        host_p9_put64(o, 0);
        host_p9_put32(o, 42);
        pstr(o, "guest");
        assert_int_equal(rpc(o), 0);
        assert_int_equal(F->rbuf[7], fid == 4 ? HOST_P9_LOCK_SUCCESS : HOST_P9_LOCK_BLOCKED);
    }
    assert_int_equal(c_fid_op(HOST_P9_TSTATFS, 1), 0);
    assert_int_equal(host_p9_le32(F->rbuf + 7), HOST_P9_V9FS_MAGIC);
}

/* Frames with a lying size field drop the connection; bad requests inside good frames get
 * Rlerror and the connection keeps working. */
static void test_malformed(void **state)
{
    session("1");
    /* Fields past the end: Twalk claiming 2 names, carrying one. */
    struct host_p9_out *o = begin(HOST_P9_TWALK);
    host_p9_put32(o, 1);
    host_p9_put32(o, 2);
    host_p9_put16(o, 2);
    pstr(o, "hello.txt");
    assert_int_equal(rpc(o), -EINVAL);
    /* Trailing bytes. */
    o = begin(HOST_P9_TCLUNK);
    host_p9_put32(o, 99);
    host_p9_put32(o, 0);
    assert_int_equal(rpc(o), -EINVAL);
    /* NUL inside a name. */
    o = begin(HOST_P9_TWALK);
    host_p9_put32(o, 1);
    host_p9_put32(o, 2);
    host_p9_put16(o, 1);
    host_p9_put_str(o, "a\0b", 3);
    assert_int_equal(rpc(o), -EINVAL);
    /* Too many names. */
    o = begin(HOST_P9_TWALK);
    host_p9_put32(o, 1);
    host_p9_put32(o, 2);
    host_p9_put16(o, 17);
    for (int i = 0; i < 17; i++)
        pstr(o, "x");
    assert_int_equal(rpc(o), -EINVAL);
    /* Unknown type (answered as Rlerror whatever R-type we expected). */
    o = begin(200);
    send_msg(o);
    assert_int_equal(recv_msg(), HOST_P9_RLERROR);
    assert_int_equal(host_p9_le32(F->rbuf + 7), EOPNOTSUPP);
    /* Unknown fid, write to an unopened fid, read of a directory. */
    assert_int_equal(c_lopen(77, O_RDONLY), -EBADF);
    assert_int_equal(c_write(1, 0, "x"), -EBADF);
    /* Still alive. */
    assert_int_equal(c_walk(1, 2, "hello.txt"), 1);
    /* Size field above msize: the connection is dropped. */
    uint8_t big[7] = {0xff, 0xff, 0xff, 0x7f, HOST_P9_TCLUNK, 0, 0};
    assert_int_equal(lcow_write_all(F->fd, big, sizeof(big)), 0);
    assert_int_equal(recv_msg(), -1);
    close(F->fd);
    /* Size field below the header. */
    connect_client();
    uint8_t tiny[7] = {3, 0, 0, 0, HOST_P9_TVERSION, 0, 0};
    assert_int_equal(lcow_write_all(F->fd, tiny, sizeof(tiny)), 0);
    assert_int_equal(recv_msg(), -1);
}

static void test_remove_share(void **state)
{
    session("1");
    assert_int_equal(c_walk(1, 2, "hello.txt"), 1);
    assert_int_equal(host_p9_server_connections(F->srv), 1);
    assert_int_equal(host_p9_server_remove_share(F->srv, "1", NULL), 0);
    /* Removal returned: the connection is gone. */
    assert_int_equal(host_p9_server_connections(F->srv), 0);
    assert_int_equal(recv_msg(), -1);
    assert_int_equal(host_p9_server_remove_share(F->srv, "1", NULL), -ENOENT);
    close(F->fd);
    connect_client();
    uint32_t msize;
    char v[32];
    assert_int_equal(c_version(MSIZE, HOST_P9_VERSION, &msize, v), 0);
    assert_int_equal(c_attach(1, "1"), -ENOENT);
    /* The same name can be added again (a new share). */
    assert_int_equal(host_p9_server_add_share(F->srv, "1", F->share, false, NULL), 0);
    assert_int_equal(host_p9_server_add_share(F->srv, "1", F->share, false, NULL), -EEXIST);
    assert_int_equal(c_attach(1, "1"), 0);
}

static void test_large_io(void **state)
{
    session("1");
    assert_int_equal(c_walk(1, 2, ""), 0);
    assert_int_equal(c_lcreate(2, "big", O_RDWR, 0644), 0);
    /* Writes of msize - IOHDR bytes, read back with counts above msize (clamped). */
    size_t chunk = MSIZE - HOST_P9_IOHDR;
    cleanup_free char *data = malloc(chunk + 1);
    for (size_t i = 0; i < chunk; i++)
        data[i] = (char)('a' + i % 26);
    data[chunk] = '\0';
    for (int i = 0; i < 4; i++)
        assert_int_equal(c_write(2, (uint64_t)i * chunk, data), (int)chunk);
    cleanup_free char *back = malloc(MSIZE);
    int n = c_read(2, chunk, UINT32_MAX, back);
    assert_int_equal(n, MSIZE - 11);
    assert_memory_equal(back, data, chunk);
}

/* A single-file share (a file bind mount): only that name exists in the root. */
static void test_single_file_share(void **state)
{
    assert_int_equal(host_p9_server_add_share_file(F->srv, "3", F->share, "hello.txt", false, NULL),
                     0);
    assert_int_equal(host_p9_server_add_share_file(F->srv, "4", F->share, "../x", false, NULL),
                     -EINVAL);
    session("3");
    assert_int_equal(c_walk(1, 2, "hello.txt"), 1);
    assert_int_equal(c_lopen(2, O_RDWR), 0);
    assert_int_equal(c_write(2, 0, "HELLO"), 5);
    assert_int_equal(c_walk(1, 3, "ro"), -ENOENT);
    assert_int_equal(c_walk(1, 3, "ro/file"), -ENOENT);
    assert_int_equal(c_lcreate(1, "x", O_RDWR, 0644), -ENOENT);
    assert_int_equal(c_mkdir(1, "x"), -ENOENT);
    assert_int_equal(c_symlink(1, "x", "hello.txt"), -ENOENT);
    assert_int_equal(c_renameat(1, "hello.txt", 1, "moved"), -ENOENT);
    assert_int_equal(c_unlinkat(1, "ro", AT_REMOVEDIR), -ENOENT);
    assert_int_equal(c_walk(1, 4, ""), 0);
    assert_int_equal(c_lopen(4, O_RDONLY | O_DIRECTORY), 0);
    char names[1024];
    assert_int_equal(c_readdir_all(4, names, sizeof(names)), 0);
    assert_string_equal(names, "hello.txt,");
    assert_true(host_exists("share/ro/file"));
    char p[256];
    snprintf(p, sizeof(p), "%s/hello.txt", F->share);
    cleanup_free char *text = NULL;
    assert_int_equal(lcow_read_file(p, 1024, &text, NULL, NULL), 0);
    assert_memory_equal(text, "HELLO", 5);
}

/* A guest cannot make the host run unbounded connection threads. */
static void test_connection_cap(void **state)
{
    int fds[HOST_P9_MAX_CONNS];
    unsigned n = 0;
    int sv[2];
    for (; n < HOST_P9_MAX_CONNS - 1; n++) { /* the fixture's connection is the first */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(host_p9_server_serve_fd(F->srv, sv[0], NULL), 0);
        fds[n] = sv[1];
    }
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(host_p9_server_serve_fd(F->srv, sv[0], NULL), -EMFILE);
    char c;
    assert_int_equal(read(sv[1], &c, 1), 0); /* refused: closed at once */
    close(sv[1]);
    /* One hangs up: room for one more once its thread is done. */
    close(fds[0]);
    for (int i = 0; i < 100 && host_p9_server_connections(F->srv) >= HOST_P9_MAX_CONNS; i++)
        usleep(10000);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(host_p9_server_serve_fd(F->srv, sv[0], NULL), 0);
    fds[0] = sv[1];
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_host_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_create_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotdot_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xattr_lock_statfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_file_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
