/* libFuzzer target for the 9P server's guest-facing path: the input is a stream of frames
 * (size-prefixed, as on the socket) fed to one connection on a read-only share of a small
 * tree (a file, a directory, a symlink out of the share, a FIFO). Every frame goes through
 * the decoder and, when it decodes, the handlers; whatever the guest sends, the server must
 * not crash, read or write out of bounds (ASan), leak (LSan), or touch anything outside the
 * share. Read-only keeps the tree fixed between inputs; writable paths are covered by the unit
 * tests. A frame with a bad size ends the input, as it ends a connection. */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/io.h"
#include "host/p9_internal.h"

static struct host_p9_server *srv;
static char dir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void cleanup(void)
{
    host_p9_server_free(srv);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void init_once(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fuzz-p9.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char p[128];
    snprintf(p, sizeof(p), "%s/d", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/d/f", dir);
    if (lcow_write_file(p, "0123456789", 10, O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/d/l", dir);
    (void)!symlink("/etc/passwd", p);
    snprintf(p, sizeof(p), "%s/d/p", dir);
    mkfifo(p, 0644);
    snprintf(p, sizeof(p), "%s/d", dir);
    if (host_p9_server_new(8192 + HOST_P9_IOHDR, &srv, NULL) < 0 ||
        host_p9_server_add_share(srv, NULL, p, true, NULL) < 0)
        abort();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        init_once();
    struct p9_conn *c = p9_conn_new(srv);
    if (!c)
        return 0;
    size_t off = 0;
    while (size - off >= HOST_P9_HDR) {
        uint32_t len = host_p9_le32(data + off);
        if (len < HOST_P9_HDR || len > c->msize || len > size - off)
            break;
        memcpy(c->rx, data + off, len);
        off += len;
        struct host_p9_out o;
        if (p9_conn_process(c, len, &o) < 0)
            break;
        /* Every reply must be a well-formed frame within msize. */
        if (o.len < HOST_P9_HDR || o.len > c->msize || host_p9_le32(o.p) != o.len)
            abort();
    }
    p9_conn_free(c);
    return 0;
}
