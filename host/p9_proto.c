/* 9P2000.L codec: a bounds-checked reader turning T-messages into struct host_p9_msg, and the
 * R-message writer. The guest controls every byte, so each read is checked against the end
 * of the message and a message must be consumed exactly. */
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "host/p9_proto.h"

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad; /* ran past the end: -EPROTO */
    bool nul; /* a string held a NUL byte: -EINVAL */
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static uint8_t g8(struct rd *r)
{
    const uint8_t *p = rd_take(r, 1);
    return p ? p[0] : 0;
}

static uint16_t g16(struct rd *r)
{
    const uint8_t *p = rd_take(r, 2);
    return p ? host_p9_le16(p) : 0;
}

static uint32_t g32(struct rd *r)
{
    const uint8_t *p = rd_take(r, 4);
    return p ? host_p9_le32(p) : 0;
}

static uint64_t g64(struct rd *r)
{
    const uint8_t *p = rd_take(r, 8);
    return p ? host_p9_le64(p) : 0;
}

static struct host_p9_str gstr(struct rd *r)
{
    struct host_p9_str s = {"", 0};
    uint16_t n = g16(r);
    const uint8_t *p = rd_take(r, n);
    if (!p)
        return s;
    /* A NUL inside a name would silently shorten it once used as a C string. */
    if (memchr(p, 0, n))
        r->nul = true;
    s.s = (const char *)p;
    s.len = n;
    return s;
}

typedef void (*decode_fn)(struct rd *r, struct host_p9_msg *m);

static void d_version(struct rd *r, struct host_p9_msg *m)
{
    m->u.version.msize = g32(r);
    m->u.version.version = gstr(r);
}

static void d_auth(struct rd *r, struct host_p9_msg *m)
{
    m->u.auth.afid = g32(r);
    m->u.auth.uname = gstr(r);
    m->u.auth.aname = gstr(r);
    m->u.auth.n_uname = g32(r);
}

static void d_attach(struct rd *r, struct host_p9_msg *m)
{
    m->u.attach.fid = g32(r);
    m->u.attach.afid = g32(r);
    m->u.attach.uname = gstr(r);
    m->u.attach.aname = gstr(r);
    m->u.attach.n_uname = g32(r);
}

static void d_flush(struct rd *r, struct host_p9_msg *m)
{
    m->u.flush.oldtag = g16(r);
}

static void d_walk(struct rd *r, struct host_p9_msg *m)
{
    m->u.walk.fid = g32(r);
    m->u.walk.newfid = g32(r);
    m->u.walk.nwname = g16(r);
    if (m->u.walk.nwname > HOST_P9_MAXWELEM) {
        r->nul = true; /* reported as -EINVAL */
        return;
    }
    for (unsigned i = 0; i < m->u.walk.nwname; i++)
        m->u.walk.wname[i] = gstr(r);
}

static void d_fid(struct rd *r, struct host_p9_msg *m)
{
    m->u.fid.fid = g32(r);
}

static void d_lopen(struct rd *r, struct host_p9_msg *m)
{
    m->u.lopen.fid = g32(r);
    m->u.lopen.flags = g32(r);
}

static void d_lcreate(struct rd *r, struct host_p9_msg *m)
{
    m->u.lcreate.fid = g32(r);
    m->u.lcreate.name = gstr(r);
    m->u.lcreate.flags = g32(r);
    m->u.lcreate.mode = g32(r);
    m->u.lcreate.gid = g32(r);
}

static void d_symlink(struct rd *r, struct host_p9_msg *m)
{
    m->u.symlink.fid = g32(r);
    m->u.symlink.name = gstr(r);
    m->u.symlink.target = gstr(r);
    m->u.symlink.gid = g32(r);
}

static void d_mknod(struct rd *r, struct host_p9_msg *m)
{
    m->u.mknod.dfid = g32(r);
    m->u.mknod.name = gstr(r);
    m->u.mknod.mode = g32(r);
    m->u.mknod.major = g32(r);
    m->u.mknod.minor = g32(r);
    m->u.mknod.gid = g32(r);
}

static void d_rename(struct rd *r, struct host_p9_msg *m)
{
    m->u.rename.fid = g32(r);
    m->u.rename.dfid = g32(r);
    m->u.rename.name = gstr(r);
}

static void d_getattr(struct rd *r, struct host_p9_msg *m)
{
    m->u.getattr.fid = g32(r);
    m->u.getattr.mask = g64(r);
}

static void d_setattr(struct rd *r, struct host_p9_msg *m)
{
    m->u.setattr.fid = g32(r);
    m->u.setattr.valid = g32(r);
    m->u.setattr.mode = g32(r);
    m->u.setattr.uid = g32(r);
    m->u.setattr.gid = g32(r);
    m->u.setattr.size = g64(r);
    m->u.setattr.atime_sec = g64(r);
    m->u.setattr.atime_nsec = g64(r);
    m->u.setattr.mtime_sec = g64(r);
    m->u.setattr.mtime_nsec = g64(r);
}

static void d_xattrwalk(struct rd *r, struct host_p9_msg *m)
{
    m->u.xattrwalk.fid = g32(r);
    m->u.xattrwalk.newfid = g32(r);
    m->u.xattrwalk.name = gstr(r);
}

static void d_xattrcreate(struct rd *r, struct host_p9_msg *m)
{
    m->u.xattrcreate.fid = g32(r);
    m->u.xattrcreate.name = gstr(r);
    m->u.xattrcreate.size = g64(r);
    m->u.xattrcreate.flags = g32(r);
}

static void d_readdir(struct rd *r, struct host_p9_msg *m)
{
    m->u.readdir.fid = g32(r);
    m->u.readdir.offset = g64(r);
    m->u.readdir.count = g32(r);
}

static void d_fsync(struct rd *r, struct host_p9_msg *m)
{
    m->u.fsync.fid = g32(r);
    /* Kernels before 5.x send no datasync word; newer ones do. */
    m->u.fsync.datasync = r->len - r->off >= 4 ? g32(r) : 0;
}

static void d_lock(struct rd *r, struct host_p9_msg *m)
{
    m->u.lock.fid = g32(r);
    m->u.lock.type = g8(r);
    m->u.lock.flags = g32(r);
    m->u.lock.start = g64(r);
    m->u.lock.length = g64(r);
    m->u.lock.proc_id = g32(r);
    m->u.lock.client_id = gstr(r);
}

static void d_getlock(struct rd *r, struct host_p9_msg *m)
{
    m->u.lock.fid = g32(r);
    m->u.lock.type = g8(r);
    m->u.lock.flags = 0;
    m->u.lock.start = g64(r);
    m->u.lock.length = g64(r);
    m->u.lock.proc_id = g32(r);
    m->u.lock.client_id = gstr(r);
}

static void d_link(struct rd *r, struct host_p9_msg *m)
{
    m->u.link.dfid = g32(r);
    m->u.link.fid = g32(r);
    m->u.link.name = gstr(r);
}

static void d_mkdir(struct rd *r, struct host_p9_msg *m)
{
    m->u.mkdir.dfid = g32(r);
    m->u.mkdir.name = gstr(r);
    m->u.mkdir.mode = g32(r);
    m->u.mkdir.gid = g32(r);
}

static void d_renameat(struct rd *r, struct host_p9_msg *m)
{
    m->u.renameat.olddirfid = g32(r);
    m->u.renameat.oldname = gstr(r);
    m->u.renameat.newdirfid = g32(r);
    m->u.renameat.newname = gstr(r);
}

static void d_unlinkat(struct rd *r, struct host_p9_msg *m)
{
    m->u.unlinkat.dirfid = g32(r);
    m->u.unlinkat.name = gstr(r);
    m->u.unlinkat.flags = g32(r);
}

static void d_read(struct rd *r, struct host_p9_msg *m)
{
    m->u.read.fid = g32(r);
    m->u.read.offset = g64(r);
    m->u.read.count = g32(r);
}

static void d_write(struct rd *r, struct host_p9_msg *m)
{
    m->u.write.fid = g32(r);
    m->u.write.offset = g64(r);
    m->u.write.count = g32(r);
    m->u.write.data = rd_take(r, m->u.write.count);
}

static const struct {
    uint8_t type;
    const char *name;
    decode_fn decode;
} decoders[] = {
    {HOST_P9_TSTATFS, "Tstatfs", d_fid},
    {HOST_P9_TLOPEN, "Tlopen", d_lopen},
    {HOST_P9_TLCREATE, "Tlcreate", d_lcreate},
    {HOST_P9_TSYMLINK, "Tsymlink", d_symlink},
    {HOST_P9_TMKNOD, "Tmknod", d_mknod},
    {HOST_P9_TRENAME, "Trename", d_rename},
    {HOST_P9_TREADLINK, "Treadlink", d_fid},
    {HOST_P9_TGETATTR, "Tgetattr", d_getattr},
    {HOST_P9_TSETATTR, "Tsetattr", d_setattr},
    {HOST_P9_TXATTRWALK, "Txattrwalk", d_xattrwalk},
    {HOST_P9_TXATTRCREATE, "Txattrcreate", d_xattrcreate},
    {HOST_P9_TREADDIR, "Treaddir", d_readdir},
    {HOST_P9_TFSYNC, "Tfsync", d_fsync},
    {HOST_P9_TLOCK, "Tlock", d_lock},
    {HOST_P9_TGETLOCK, "Tgetlock", d_getlock},
    {HOST_P9_TLINK, "Tlink", d_link},
    {HOST_P9_TMKDIR, "Tmkdir", d_mkdir},
    {HOST_P9_TRENAMEAT, "Trenameat", d_renameat},
    {HOST_P9_TUNLINKAT, "Tunlinkat", d_unlinkat},
    {HOST_P9_TVERSION, "Tversion", d_version},
    {HOST_P9_TAUTH, "Tauth", d_auth},
    {HOST_P9_TATTACH, "Tattach", d_attach},
    {HOST_P9_TFLUSH, "Tflush", d_flush},
    {HOST_P9_TWALK, "Twalk", d_walk},
    {HOST_P9_TREAD, "Tread", d_read},
    {HOST_P9_TWRITE, "Twrite", d_write},
    {HOST_P9_TCLUNK, "Tclunk", d_fid},
    {HOST_P9_TREMOVE, "Tremove", d_fid},
};

static int find_decoder(uint8_t type)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(decoders); i++)
        if (decoders[i].type == type)
            return (int)i;
    return -1;
}

const char *host_p9_type_name(uint8_t type)
{
    int i = find_decoder(type);
    return i < 0 ? NULL : decoders[i].name;
}

int host_p9_decode(const uint8_t *buf, size_t len, struct host_p9_msg *ret)
{
    if (len < HOST_P9_HDR || host_p9_le32(buf) != len)
        return -EPROTO;
    memset(ret, 0, sizeof(*ret));
    ret->type = buf[4];
    ret->tag = host_p9_le16(buf + 5);
    int i = find_decoder(ret->type);
    if (i < 0)
        return -EOPNOTSUPP;
    struct rd r = {.p = buf, .len = len, .off = HOST_P9_HDR};
    decoders[i].decode(&r, ret);
    if (r.bad || r.off != len)
        return -EPROTO;
    if (r.nul)
        return -EINVAL;
    return 0;
}

/* ---- writer ---------------------------------------------------------------------------- */

uint8_t *host_p9_put_space(struct host_p9_out *o, size_t n)
{
    if (o->overflow || o->cap - o->len < n) {
        o->overflow = true;
        return NULL;
    }
    uint8_t *p = o->p + o->len;
    o->len += n;
    return p;
}

static void put_le(struct host_p9_out *o, uint64_t v, size_t n)
{
    uint8_t *p = host_p9_put_space(o, n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void host_p9_put8(struct host_p9_out *o, uint8_t v)
{
    put_le(o, v, 1);
}

void host_p9_put16(struct host_p9_out *o, uint16_t v)
{
    put_le(o, v, 2);
}

void host_p9_put32(struct host_p9_out *o, uint32_t v)
{
    put_le(o, v, 4);
}

void host_p9_put64(struct host_p9_out *o, uint64_t v)
{
    put_le(o, v, 8);
}

void host_p9_put_str(struct host_p9_out *o, const char *s, size_t len)
{
    if (len > UINT16_MAX) {
        o->overflow = true;
        return;
    }
    host_p9_put16(o, (uint16_t)len);
    uint8_t *p = host_p9_put_space(o, len);
    if (p && len)
        memcpy(p, s, len);
}

void host_p9_put_qid(struct host_p9_out *o, const struct host_p9_qid *q)
{
    host_p9_put8(o, q->type);
    host_p9_put32(o, q->version);
    host_p9_put64(o, q->path);
}

void host_p9_out_begin(struct host_p9_out *o, uint8_t *buf, size_t cap, uint8_t type, uint16_t tag)
{
    o->p = buf;
    o->cap = cap;
    o->len = 0;
    o->overflow = false;
    host_p9_put32(o, 0);
    host_p9_put8(o, type);
    host_p9_put16(o, tag);
}

int host_p9_out_end(struct host_p9_out *o)
{
    if (o->overflow || o->len > UINT32_MAX)
        return -EMSGSIZE;
    uint32_t n = (uint32_t)o->len;
    for (int i = 0; i < 4; i++)
        o->p[i] = (uint8_t)(n >> (8 * i));
    return (int)n;
}
