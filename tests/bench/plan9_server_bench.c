/* make bench: the 9P server alone, without a VM: one client (here) on a socketpair against
 *   ours: host/p9_server in this process, or
 *   diod: Debian's diod serving the other end (-r/-w FD), when installed,
 * doing what a guest's sequential read and `ls -l` do: Tread of msize-sized chunks of a
 * page-cached file, and walk + getattr + clunk per file. Prints MB/s and stats/s.
 *   plan9_server_bench DIR [diod]      (DIR holds `big` and `many/f1..fN`) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/io.h"
#include "host/p9_proto.h"
#include "host/p9_server.h"

#define MSIZE (65536u + HOST_P9_IOHDR)

static int fd = -1;
static uint16_t tag;
static uint8_t out[MSIZE], in[MSIZE];

static void die(const char *what)
{
    fprintf(stderr, "plan9_server_bench: %s\n", what);
    exit(1);
}

/* Sends the message in `o`, reads the reply; exits on Rlerror. */
static void rpc(struct host_p9_out *o, const char *what)
{
    if (host_p9_out_end(o) < 0 || lcow_write_all(fd, o->p, o->len) < 0)
        die(what);
    if (lcow_read_exact(fd, in, 4) != 4)
        die(what);
    uint32_t n = host_p9_le32(in);
    if (n < HOST_P9_HDR || n > sizeof(in) || lcow_read_exact(fd, in + 4, n - 4) != (ssize_t)(n - 4))
        die(what);
    if (in[4] == HOST_P9_RLERROR) {
        fprintf(stderr, "plan9_server_bench: %s: error %u\n", what, host_p9_le32(in + 7));
        exit(1);
    }
}

static struct host_p9_out *begin(uint8_t type)
{
    static struct host_p9_out o;
    host_p9_out_begin(&o, out, sizeof(out), type, tag++);
    return &o;
}

static void pstr(struct host_p9_out *o, const char *s)
{
    host_p9_put_str(o, s, strlen(s));
}

static void walk(uint32_t fid, uint32_t newfid, const char *a, const char *b)
{
    struct host_p9_out *o = begin(HOST_P9_TWALK);
    host_p9_put32(o, fid);
    host_p9_put32(o, newfid);
    host_p9_put16(o, b ? 2 : 1);
    pstr(o, a);
    if (b)
        pstr(o, b);
    rpc(o, "walk");
}

static void fid_op(uint8_t type, uint32_t fid)
{
    struct host_p9_out *o = begin(type);
    host_p9_put32(o, fid);
    if (type == HOST_P9_TGETATTR)
        host_p9_put64(o, HOST_P9_GETATTR_BASIC);
    if (type == HOST_P9_TLOPEN)
        host_p9_put32(o, O_RDONLY);
    rpc(o, "fid op");
}

static double secs(void)
{
    return (double)lcow_now_ns() / 1e9;
}

static pid_t start_diod(const char *dir, int sfd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", sfd);
    fcntl(sfd, F_SETFD, 0);
    execlp("diod", "diod", "-f", "-n", "-N", "-c", "/dev/null", "-L", "/dev/null", "-e", dir, "-r",
           fdarg, "-w", fdarg, (char *)NULL);
    _exit(127);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: plan9_server_bench DIR [diod]");
    const char *dir = argv[1];
    bool diod = argc > 2 && strcmp(argv[2], "diod") == 0;
    signal(SIGPIPE, SIG_IGN);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    struct host_p9_server *srv = NULL;
    pid_t pid = -1;
    if (diod) {
        pid = start_diod(dir, sv[0]);
        close(sv[0]);
    } else if (host_p9_server_new(MSIZE, &srv, NULL) < 0 ||
               host_p9_server_add_share(srv, NULL, dir, false, NULL) < 0 ||
               host_p9_server_serve_fd(srv, sv[0], NULL) < 0) {
        die("server");
    }
    fd = sv[1];

    struct host_p9_out *o = begin(HOST_P9_TVERSION);
    host_p9_put32(o, MSIZE);
    pstr(o, HOST_P9_VERSION);
    rpc(o, "version");
    uint32_t msize = host_p9_le32(in + 7); /* diod may offer less */
    o = begin(HOST_P9_TATTACH);
    host_p9_put32(o, 1);
    host_p9_put32(o, HOST_P9_NOFID);
    pstr(o, "root");
    pstr(o, diod ? dir : "");
    host_p9_put32(o, 0);
    rpc(o, "attach");

    /* Sequential read, 3 passes over the file (page-cached after the first). */
    walk(1, 2, "big", NULL);
    fid_op(HOST_P9_TLOPEN, 2);
    uint64_t total = 0;
    double t0 = secs(), best = 0;
    for (int pass = 0; pass < 3; pass++) {
        uint64_t off = 0, bytes = 0;
        double p0 = secs();
        for (;;) {
            o = begin(HOST_P9_TREAD);
            host_p9_put32(o, 2);
            host_p9_put64(o, off);
            host_p9_put32(o, msize - HOST_P9_IOHDR);
            rpc(o, "read");
            uint32_t n = host_p9_le32(in + 7);
            if (n == 0)
                break;
            off += n;
            bytes += n;
        }
        double mbs = (double)bytes / (1024.0 * 1024.0) / (secs() - p0);
        if (mbs > best)
            best = mbs;
        total += bytes;
    }
    (void)t0;
    fid_op(HOST_P9_TCLUNK, 2);

    /* Stat rate: walk many/fN + getattr + clunk, as a cache=none lookup does. */
    int files = 0;
    char name[32];
    struct stat st;
    char p[4096];
    for (;; files++) {
        snprintf(p, sizeof(p), "%s/many/f%d", dir, files + 1);
        if (stat(p, &st) < 0)
            break;
    }
    double s0 = secs();
    int stats = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 1; i <= files; i++, stats++) {
            snprintf(name, sizeof(name), "f%d", i);
            walk(1, 3, "many", name);
            fid_op(HOST_P9_TGETATTR, 3);
            fid_op(HOST_P9_TCLUNK, 3);
        }
    }
    double rate = stats / (secs() - s0);
    printf("%s read %.0f MB/s stat %.0f stats/s (msize %u)\n", diod ? "diod" : "ours", best, rate,
           msize);
    close(fd);
    if (srv)
        host_p9_server_free(srv);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return 0;
}
