/* SHA-256 (FIPS 180-4), for content keys of cached layer images. */
#ifndef LCOW_HOST_SHA256_H
#define LCOW_HOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct host_sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes fed so far */
    uint8_t buf[64];
    size_t n; /* bytes in buf */
};

void host_sha256_init(struct host_sha256 *s);
void host_sha256_update(struct host_sha256 *s, const void *data, size_t len);
void host_sha256_final(struct host_sha256 *s, uint8_t out[32]);
/* Lower-case hex of a digest: 64 characters + NUL. */
void host_sha256_hex(const uint8_t digest[32], char out[65]);

#endif
