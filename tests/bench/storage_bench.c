/* Storage benchmark: an N-layer overlay stack built (a) by gcs/storage.c from decoded
 * ModifySettings requests (N × MappedVirtualDisk Add, read-only, + CombinedLayers Add), and
 * (b) by the bare mount(2) calls doing the same work (N ext4 read-only mounts + one overlay),
 * alternating, on the loop devices and fake sysfs tree storage_bench.sh prepared (LUN i =
 * layer i on controller 0). Prints the median time of each and the per-layer ratio.
 * usage: storage_bench SYSFS DEV RUNDIR LAYERS ROUNDS [bare]
 * With `bare`, only the bare stack is timed and `bare <median us>` printed (the bridge-level
 * bench interleaves it with stacks built through gcs). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/protocol.h"
#include "gcs/storage.h"

#define UVM "\"ContainerId\":\"00000000-0000-0000-0000-000000000000\""

struct bench {
    struct mount_env env;
    const char *run;
    unsigned layers;
    struct gcs_storage *s;
};

static void die(const char *what, struct lcow_error *err)
{
    fprintf(stderr, "storage_bench: %s: %s\n", what,
            err ? lcow_error_message(err) : strerror(errno));
    exit(1);
}

static void apply(struct bench *b, const char *json)
{
    struct gcs_modify_settings_request req = {0};
    cleanup_error struct lcow_error *err = NULL;
    if (gcs_decode_modify_settings_request(json, strlen(json), &req, &err) < 0 ||
        gcs_storage_apply(b->s, &b->env, &req.request, &err) < 0)
        die(json, err);
    gcs_modify_settings_request_done(&req);
}

static char *layer_request(struct bench *b, const char *type, unsigned i)
{
    char *s = NULL;
    if (asprintf(&s,
                 "{" UVM
                 ",\"Request\":{\"RequestType\":\"%s\",\"ResourceType\":\"MappedVirtualDisk\","
                 "\"Settings\":{\"MountPath\":\"%s/g/m%u\",\"Lun\":%u,\"ReadOnly\":true,"
                 "\"Options\":[\"ro\"]}}}",
                 type, b->run, i, i) < 0)
        die("asprintf", NULL);
    return s;
}

static char *overlay_request(struct bench *b, const char *type)
{
    size_t cap = 256 + (size_t)b->layers * (strlen(b->run) + 32);
    char *s = malloc(cap);
    if (!s)
        die("malloc", NULL);
    size_t pos = (size_t)snprintf(s, cap,
                                  "{" UVM ",\"Request\":{\"RequestType\":\"%s\",\"ResourceType\":"
                                  "\"CombinedLayers\",\"Settings\":{\"ContainerRootPath\":\"%s/g/"
                                  "c/rootfs\",\"ScratchPath\":\"%s/g/c/scratch\",\"Layers\":[",
                                  type, b->run, b->run);
    for (unsigned i = 0; i < b->layers; i++)
        pos += (size_t)snprintf(s + pos, cap - pos, "%s{\"Path\":\"%s/g/m%u\"}", i ? "," : "",
                                b->run, i);
    snprintf(s + pos, cap - pos, "]}}}");
    return s;
}

/* (a) through gcs/storage.c; returns the Add time in ns, then removes everything. */
static unsigned long long run_gcs(struct bench *b, char **adds, char *ov_add, char **rems,
                                  char *ov_rem, unsigned long long *ret_remove)
{
    unsigned long long t0 = lcow_now_ns();
    for (unsigned i = 0; i < b->layers; i++)
        apply(b, adds[i]);
    apply(b, ov_add);
    unsigned long long t1 = lcow_now_ns();
    apply(b, ov_rem);
    for (unsigned i = 0; i < b->layers; i++)
        apply(b, rems[i]);
    *ret_remove = lcow_now_ns() - t1;
    return t1 - t0;
}

/* (b) the bare syscalls for the same stack: mkdir + mount per layer, scratch dirs, overlay. */
static unsigned long long run_bare(struct bench *b, char **devs, char **mps, const char *data,
                                   unsigned long long *ret_remove)
{
    char up[512], wk[512], root[512], sc[480];
    snprintf(sc, sizeof(sc), "%s/b/c/scratch", b->run);
    snprintf(up, sizeof(up), "%s/upper", sc);
    snprintf(wk, sizeof(wk), "%s/work", sc);
    snprintf(root, sizeof(root), "%s/b/c/rootfs", b->run);
    unsigned long long t0 = lcow_now_ns();
    for (unsigned i = 0; i < b->layers; i++) {
        if (mkdir(mps[i], 0700) < 0 || mount(devs[i], mps[i], "ext4", MS_RDONLY, "noload") < 0)
            die(mps[i], NULL);
    }
    if (mkdir(sc, 0755) < 0 || mkdir(up, 0755) < 0 || mkdir(wk, 0755) < 0 ||
        mkdir(root, 0755) < 0 || mount("overlay", root, "overlay", 0, data) < 0)
        die(root, NULL);
    unsigned long long t1 = lcow_now_ns();
    if (umount2(root, 0) < 0 || rmdir(root) < 0)
        die("umount overlay", NULL);
    for (unsigned i = 0; i < b->layers; i++)
        if (umount2(mps[i], 0) < 0 || rmdir(mps[i]) < 0)
            die(mps[i], NULL);
    *ret_remove = lcow_now_ns() - t1;
    (void)mount_remove_tree(sc, NULL);
    return t1 - t0;
}

static int cmp_ull(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

static double median_us(unsigned long long *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_ull);
    return (n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0) / 1000.0;
}

int main(int argc, char **argv)
{
    bool bare_only = argc == 7 && !strcmp(argv[6], "bare");
    if (argc != 6 && !bare_only) {
        fprintf(stderr, "usage: %s SYSFS DEV RUNDIR LAYERS ROUNDS [bare]\n", argv[0]);
        return 2;
    }
    struct bench b = {.run = argv[3], .layers = (unsigned)atoi(argv[4])};
    lcow_log_set_level(LCOW_LOG_WARNING); /* the handlers log each mount at info */
    unsigned rounds = (unsigned)atoi(argv[5]);
    mount_env_init(&b.env);
    b.env.sysfs_root = argv[1];
    b.env.dev_root = argv[2];
    b.env.device_timeout_ms = 5000;
    if (!(b.s = gcs_storage_new()) || b.layers == 0 || b.layers > 64 || rounds == 0 || rounds > 200)
        die("arguments", NULL);
    char *adds[64], *rems[64], *devs[64], *mps[64];
    char bare_dir[512];
    snprintf(bare_dir, sizeof(bare_dir), "%s/b/c", b.run);
    if (lcow_mkdir_p(bare_dir, 0755, NULL) < 0)
        die(bare_dir, NULL);
    size_t cap = 64 + (size_t)b.layers * (strlen(b.run) + 16);
    char *data = malloc(cap);
    size_t pos = (size_t)snprintf(data, cap, "lowerdir=");
    for (unsigned i = 0; i < b.layers; i++) {
        adds[i] = layer_request(&b, "Add", i);
        rems[i] = layer_request(&b, "Remove", i);
        if (asprintf(&devs[i], "%s/sd%u", argv[2], i) < 0 ||
            asprintf(&mps[i], "%s/b/m%u", b.run, i) < 0)
            die("asprintf", NULL);
        pos += (size_t)snprintf(data + pos, cap - pos, "%s%s", i ? ":" : "", mps[i]);
    }
    char tail[1100];
    snprintf(tail, sizeof(tail), ",upperdir=%s/b/c/scratch/upper,workdir=%s/b/c/scratch/work",
             b.run, b.run);
    cap += strlen(tail);
    data = realloc(data, cap);
    snprintf(data + pos, cap - pos, "%s", tail);
    char *ov_add = overlay_request(&b, "Add"), *ov_rem = overlay_request(&b, "Remove");
    unsigned long long *g = calloc(rounds, sizeof(*g)), *gr = calloc(rounds, sizeof(*gr));
    unsigned long long *m = calloc(rounds, sizeof(*m)), *mr = calloc(rounds, sizeof(*mr));
    unsigned long long dummy;
    if (bare_only) {
        for (unsigned r = 0; r < rounds; r++)
            m[r] = run_bare(&b, devs, mps, data, &mr[r]);
        printf("bare %.0f\n", median_us(m, rounds));
        return 0;
    }
    run_gcs(&b, adds, ov_add, rems, ov_rem, &dummy); /* warm-up: page cache, dentries */
    run_bare(&b, devs, mps, data, &dummy);
    for (unsigned r = 0; r < rounds; r++) {
        g[r] = run_gcs(&b, adds, ov_add, rems, ov_rem, &gr[r]);
        m[r] = run_bare(&b, devs, mps, data, &mr[r]);
    }
    double gu = median_us(g, rounds), mu = median_us(m, rounds);
    double gru = median_us(gr, rounds), mru = median_us(mr, rounds);
    printf("layers=%u rounds=%u\n", b.layers, rounds);
    printf("  add:    gcs/storage %.0f us (%.1f us/layer)   bare mount(2) %.0f us (%.1f us/layer)"
           "   ratio %.2f\n",
           gu, gu / b.layers, mu, mu / b.layers, gu / mu);
    printf("  remove: gcs/storage %.0f us (%.1f us/layer)   bare umount(2) %.0f us (%.1f us/layer)"
           "   ratio %.2f\n",
           gru, gru / b.layers, mru, mru / b.layers, gru / mru);
    for (unsigned i = 0; i < b.layers; i++) {
        free(adds[i]);
        free(rems[i]);
        free(devs[i]);
        free(mps[i]);
    }
    free(ov_add);
    free(ov_rem);
    free(data);
    free(g);
    free(gr);
    free(m);
    free(mr);
    gcs_storage_free(b.s);
    return 0;
}
