/* lcow-tar2ext4: OCI layer tars and image layouts → read-only ext4 layer images.
 *   lcow-tar2ext4 -o OUT.img LAYER.tar            one layer (plain, gzip or zstd)
 *   lcow-tar2ext4 --cache DIR LAYER.tar...        each → DIR/oci-<sha256>.ext4 (path printed)
 *   lcow-tar2ext4 --cache DIR --image LAYOUT [--ref NAME]
 *                                                  an image layout: prints {"layers":[top-most
 *                                                  first],"config":<image config>} as JSON
 * --stats prints the conversion figures as one JSON line on stderr. Exit 0, or 1 with the error
 * on stderr. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "host/oci_image.h"
#include "host/tar2ext4.h"

struct opts {
    const char *out, *cache, *image, *ref;
    bool stats;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: lcow-tar2ext4 -o OUT.img LAYER.tar\n"
               "       lcow-tar2ext4 --cache DIR LAYER.tar...\n"
               "       lcow-tar2ext4 --cache DIR --image LAYOUT [--ref NAME]\n"
               "options: --stats (figures as JSON on stderr), -h/--help\n");
}

static void print_stats(const char *what, const struct host_tar_stats *st, double secs)
{
    char hex[65];
    host_sha256_hex(st->digest, hex);
    fprintf(stderr,
            "{\"input\":\"%s\",\"sha256\":\"%s\",\"tar_bytes\":%" PRIu64 ",\"data_bytes\":%" PRIu64
            ",\"entries\":%" PRIu64 ",\"inodes\":%" PRIu64 ",\"whiteouts\":%" PRIu64
            ",\"opaques\":%" PRIu64 ",\"hardlinks\":%" PRIu64 ",\"seconds\":%.3f}\n",
            what, hex, st->tar_bytes, st->data_bytes, st->entries, st->inodes, st->whiteouts,
            st->opaques, st->hardlinks, secs);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int convert_one(const struct opts *o, const char *tar, struct lcow_error **err)
{
    struct host_tar_stats st = {0};
    double t0 = now_s();
    if (o->out) {
        int r = host_tar2ext4(tar, NULL, o->out, &st, err);
        if (r >= 0 && o->stats)
            print_stats(tar, &st, now_s() - t0);
        return r;
    }
    cleanup_free char *path = NULL;
    int r = host_layer_from_tar(tar, NULL, o->cache, &path, &st, err);
    if (r < 0)
        return r;
    if (r == 0 && o->stats)
        print_stats(tar, &st, now_s() - t0);
    printf("%s\n", path);
    return 0;
}

static int convert_image(const struct opts *o, struct lcow_error **err)
{
    struct host_oci_image *img = NULL;
    int r = host_oci_image_open(o->image, o->ref, &img, err);
    if (r < 0)
        return r;
    cleanup_strv char **paths = NULL;
    r = host_oci_image_layers(img, o->cache, &paths, err);
    if (r >= 0) {
        struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
        for (size_t i = 0; paths[i]; i++)
            json_object_array_add(arr, json_object_new_string(paths[i]));
        json_object_object_add(root, "layers", arr);
        json_object_object_add(root, "manifest", json_object_new_string(img->manifest_digest));
        struct json_object *cfg = lcow_json_field(img->config, "config");
        json_object_object_add(root, "config", cfg ? json_object_get(cfg) : NULL);
        cleanup_free char *s = lcow_json_to_string(root);
        printf("%s\n", s ? s : "null");
        json_object_put(root);
    }
    host_oci_image_free(img);
    return r;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"cache", required_argument, NULL, 'c'},
        {"image", required_argument, NULL, 'I'},
        {"ref", required_argument, NULL, 'r'},
        {"stats", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.out = optarg;
            break;
        case 'c':
            o.cache = optarg;
            break;
        case 'I':
            o.image = optarg;
            break;
        case 'r':
            o.ref = optarg;
            break;
        case 's':
            o.stats = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    int n = argc - optind;
    bool ok = o.image ? (o.cache && !o.out && n == 0)
                      : ((o.out && !o.cache && n == 1) || (o.cache && !o.out && n >= 1));
    if (!ok) {
        usage(stderr);
        return 1;
    }
    struct lcow_error *err = NULL;
    int r = 0;
    if (o.image)
        r = convert_image(&o, &err);
    for (int i = optind; !o.image && i < argc && r >= 0; i++)
        r = convert_one(&o, argv[i], &err);
    if (r < 0) {
        fprintf(stderr, "lcow-tar2ext4: %s\n", lcow_error_message(err));
        lcow_error_release(&err);
        return 1;
    }
    return 0;
}
