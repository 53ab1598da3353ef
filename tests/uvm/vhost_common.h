/* Shared by the vhost-user-vsock test programs on both sides of the VM (vhost_guest.c runs as
 * the test initrd's /init, vhost_host.c on this machine): the ports of each case, the test
 * data generator and small blocking I/O helpers. */
#ifndef LCOW_TESTS_UVM_VHOST_COMMON_H
#define LCOW_TESTS_UVM_VHOST_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define VT_PORT_G2H        5000 /* guest sends, host verifies */
#define VT_PORT_H2G        5001 /* host CONNECTs and sends, guest verifies */
#define VT_PORT_ECHO       5002 /* many concurrent echo streams */
#define VT_PORT_HALF       5003 /* guest half-closes, host answers afterwards */
#define VT_PORT_HOLD       5004 /* a stream left open across power-off */
#define VT_PORT_HOLD_H2G   5005 /* the same, host-initiated */
#define VT_PORT_PHASE      5010 /* reset case: the host says which boot this is */
#define VT_PORT_RESET_HOLD 5011 /* reset case: a stream open across the guest's reboot */
#define VT_RESET_BYTES     (4u << 20)
#define VT_PORT_NONE       5999 /* nobody listens */
#define VT_PORT_BENCH      6000 /* bench: sink/source/ping-pong (6000 + stream) */

#define VT_CONCURRENT 64
#define VT_ECHO_BYTES (128u * 1024)

/* Byte i of stream `seed`: splitmix64 of the 8-byte word index, so any chunk can be produced or
 * checked without the ones before it. */
static inline uint64_t vt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline void vt_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint64_t pos = off + i;
        uint64_t w = vt_mix(seed * 0x100000001b3ull ^ (pos >> 3));
        unsigned b = (unsigned)(pos & 7);
        for (; b < 8 && i < len; b++, i++)
            buf[i] = (uint8_t)(w >> (8 * b));
    }
}

/* 1 when buf matches the stream at off. */
static inline int vt_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len)
{
    uint8_t tmp[4096];
    for (size_t done = 0; done < len;) {
        size_t k = len - done < sizeof(tmp) ? len - done : sizeof(tmp);
        vt_fill(seed, off + done, tmp, k);
        if (memcmp(tmp, buf + done, k) != 0)
            return 0;
        done += k;
    }
    return 1;
}

static inline int vt_write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len) {
        ssize_t n = write(fd, b, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes; returns the count (< len at EOF) or -1. */
static inline ssize_t vt_read_full(int fd, void *p, size_t len)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, b + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Sends `total` bytes of stream seed in 64 KiB writes. 0 or -1. */
static inline int vt_send_stream(int fd, uint64_t seed, uint64_t total)
{
    uint8_t buf[65536]; /* per call: the host side runs these in threads */
    for (uint64_t off = 0; off < total;) {
        size_t k = total - off < sizeof(buf) ? (size_t)(total - off) : sizeof(buf);
        vt_fill(seed, off, buf, k);
        if (vt_write_all(fd, buf, k) < 0)
            return -1;
        off += k;
    }
    return 0;
}

/* Reads until EOF, checking against stream seed. Returns the byte count; *ok is 1 when every
 * byte matched. -1 on a read error. */
static inline int64_t vt_recv_stream(int fd, uint64_t seed, int *ok)
{
    uint8_t buf[65536]; /* per call: the host side runs these in threads */
    uint64_t off = 0;
    *ok = 1;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return (int64_t)off;
        if (*ok && !vt_check(seed, off, buf, (size_t)n))
            *ok = 0;
        off += (uint64_t)n;
    }
}

#endif
