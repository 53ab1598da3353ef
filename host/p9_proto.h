/* 9P2000.L wire format (the subset Linux's v9fs client speaks): message numbers, the decoder
 * of T-messages into typed structs and the little-endian writer used for R-messages.
 *
 * Every input byte is untrusted (it comes from the guest): the decoder checks each field's
 * length against the message, refuses trailing bytes, strings with NUL bytes and more walk
 * names than MAXWELEM. Decoded strings point into the message buffer (not NUL-terminated). */
#ifndef LCOW_HOST_P9_PROTO_H
#define LCOW_HOST_P9_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_P9_VERSION    "9P2000.L"
#define HOST_P9_NOTAG      ((uint16_t)~0u)
#define HOST_P9_NOFID      ((uint32_t)~0u)
#define HOST_P9_HDR        7u  /* size[4] type[1] tag[2] */
#define HOST_P9_IOHDR      24u /* header room Linux subtracts from msize for read/write */
#define HOST_P9_MIN_MSIZE  4096u
#define HOST_P9_MAX_MSIZE  (1024u * 1024 + HOST_P9_IOHDR)
#define HOST_P9_MAXWELEM   16u
#define HOST_P9_QID_SIZE   13u
#define HOST_P9_V9FS_MAGIC 0x01021997u

/* Message types (T = even, R = T + 1). */
enum host_p9_type {
    HOST_P9_TLERROR = 6,
    HOST_P9_RLERROR = 7,
    HOST_P9_TSTATFS = 8,
    HOST_P9_TLOPEN = 12,
    HOST_P9_TLCREATE = 14,
    HOST_P9_TSYMLINK = 16,
    HOST_P9_TMKNOD = 18,
    HOST_P9_TRENAME = 20,
    HOST_P9_TREADLINK = 22,
    HOST_P9_TGETATTR = 24,
    HOST_P9_TSETATTR = 26,
    HOST_P9_TXATTRWALK = 30,
    HOST_P9_TXATTRCREATE = 32,
    HOST_P9_TREADDIR = 40,
    HOST_P9_TFSYNC = 50,
    HOST_P9_TLOCK = 52,
    HOST_P9_TGETLOCK = 54,
    HOST_P9_TLINK = 70,
    HOST_P9_TMKDIR = 72,
    HOST_P9_TRENAMEAT = 74,
    HOST_P9_TUNLINKAT = 76,
    HOST_P9_TVERSION = 100,
    HOST_P9_TAUTH = 102,
    HOST_P9_TATTACH = 104,
    HOST_P9_TFLUSH = 108,
    HOST_P9_TWALK = 110,
    HOST_P9_TREAD = 116,
    HOST_P9_TWRITE = 118,
    HOST_P9_TCLUNK = 120,
    HOST_P9_TREMOVE = 122,
};

/* Tsetattr valid bits and Tgetattr mask. */
#define HOST_P9_SETATTR_MODE      0x001u
#define HOST_P9_SETATTR_UID       0x002u
#define HOST_P9_SETATTR_GID       0x004u
#define HOST_P9_SETATTR_SIZE      0x008u
#define HOST_P9_SETATTR_ATIME     0x010u
#define HOST_P9_SETATTR_MTIME     0x020u
#define HOST_P9_SETATTR_CTIME     0x040u
#define HOST_P9_SETATTR_ATIME_SET 0x080u
#define HOST_P9_SETATTR_MTIME_SET 0x100u
#define HOST_P9_GETATTR_BASIC     0x7ffu

/* Tlock */
#define HOST_P9_LOCK_RDLCK   0
#define HOST_P9_LOCK_WRLCK   1
#define HOST_P9_LOCK_UNLCK   2
#define HOST_P9_LOCK_SUCCESS 0
#define HOST_P9_LOCK_BLOCKED 1
#define HOST_P9_LOCK_ERROR   2

/* qid types */
#define HOST_P9_QTDIR     0x80
#define HOST_P9_QTSYMLINK 0x02
#define HOST_P9_QTFILE    0x00

struct host_p9_str {
    const char *s; /* into the message; not NUL-terminated */
    uint16_t len;
};

struct host_p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

/* One decoded T-message. Only the member of `type` is meaningful. */
struct host_p9_msg {
    uint8_t type;
    uint16_t tag;
    union {
        struct {
            uint32_t msize;
            struct host_p9_str version;
        } version;
        struct {
            uint32_t afid;
            struct host_p9_str uname, aname;
            uint32_t n_uname;
        } auth;
        struct {
            uint32_t fid, afid;
            struct host_p9_str uname, aname;
            uint32_t n_uname;
        } attach;
        struct {
            uint16_t oldtag;
        } flush;
        struct {
            uint32_t fid, newfid;
            uint16_t nwname;
            struct host_p9_str wname[HOST_P9_MAXWELEM];
        } walk;
        struct {
            uint32_t fid;
        } fid; /* statfs, readlink, clunk, remove */
        struct {
            uint32_t fid, flags;
        } lopen;
        struct {
            uint32_t fid;
            struct host_p9_str name;
            uint32_t flags, mode, gid;
        } lcreate;
        struct {
            uint32_t fid;
            struct host_p9_str name, target;
            uint32_t gid;
        } symlink;
        struct {
            uint32_t dfid;
            struct host_p9_str name;
            uint32_t mode, major, minor, gid;
        } mknod;
        struct {
            uint32_t fid, dfid;
            struct host_p9_str name;
        } rename;
        struct {
            uint32_t fid;
            uint64_t mask;
        } getattr;
        struct {
            uint32_t fid, valid, mode, uid, gid;
            uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
        } setattr;
        struct {
            uint32_t fid, newfid;
            struct host_p9_str name;
        } xattrwalk;
        struct {
            uint32_t fid;
            struct host_p9_str name;
            uint64_t size;
            uint32_t flags;
        } xattrcreate;
        struct {
            uint32_t fid;
            uint64_t offset;
            uint32_t count;
        } readdir;
        struct {
            uint32_t fid;
            uint32_t datasync;
        } fsync;
        struct {
            uint32_t fid;
            uint8_t type;
            uint32_t flags;
            uint64_t start, length;
            uint32_t proc_id;
            struct host_p9_str client_id;
        } lock; /* Tgetlock too (flags 0) */
        struct {
            uint32_t dfid, fid;
            struct host_p9_str name;
        } link;
        struct {
            uint32_t dfid;
            struct host_p9_str name;
            uint32_t mode, gid;
        } mkdir;
        struct {
            uint32_t olddirfid;
            struct host_p9_str oldname;
            uint32_t newdirfid;
            struct host_p9_str newname;
        } renameat;
        struct {
            uint32_t dirfid;
            struct host_p9_str name;
            uint32_t flags;
        } unlinkat;
        struct {
            uint32_t fid;
            uint64_t offset;
            uint32_t count;
        } read;
        struct {
            uint32_t fid;
            uint64_t offset;
            uint32_t count;
            const uint8_t *data;
        } write;
    } u;
};

/* Decodes one whole message (`len` bytes, size field included). Returns 0, -EPROTO when the
 * size field disagrees with len or a field runs past the end / bytes are left over, -EINVAL
 * for a string with a NUL byte or too many walk names, -EOPNOTSUPP for a type this server does
 * not decode (the tag is still filled in so the caller can answer Rlerror). */
int host_p9_decode(const uint8_t *buf, size_t len, struct host_p9_msg *ret);

/* Name of a T-message type for logs ("Twalk"), or NULL. */
const char *host_p9_type_name(uint8_t type);

/* R-message writer over a caller's buffer. Overflow is sticky: host_p9_out_end() fails. */
struct host_p9_out {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool overflow;
};

void host_p9_out_begin(struct host_p9_out *o, uint8_t *buf, size_t cap, uint8_t type, uint16_t tag);
void host_p9_put8(struct host_p9_out *o, uint8_t v);
void host_p9_put16(struct host_p9_out *o, uint16_t v);
void host_p9_put32(struct host_p9_out *o, uint32_t v);
void host_p9_put64(struct host_p9_out *o, uint64_t v);
void host_p9_put_str(struct host_p9_out *o, const char *s, size_t len);
void host_p9_put_qid(struct host_p9_out *o, const struct host_p9_qid *q);
/* Reserves n bytes (data filled in later by the caller); NULL on overflow. */
uint8_t *host_p9_put_space(struct host_p9_out *o, size_t n);
/* Patches the size field; returns the message length or -EMSGSIZE after an overflow. */
int host_p9_out_end(struct host_p9_out *o);

/* Little-endian readers used by the decoder and by test clients. */
static inline uint16_t host_p9_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t host_p9_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t host_p9_le64(const uint8_t *p)
{
    return (uint64_t)host_p9_le32(p) | ((uint64_t)host_p9_le32(p + 4) << 32);
}

#endif
