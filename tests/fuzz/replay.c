/* Replays fuzz inputs through a libFuzzer harness without libFuzzer (the regression half of
 * style.md C13): `replay_X [FILE|DIR]...`, by default every file of tests/fuzz/corpus/NAME/ and
 * of $BUILD/fuzz-artifacts/NAME/ (crashes found earlier), where NAME is the harness name the
 * binary is built for (FUZZ_NAME). Runs in make check, so the sanitizer builds cover it too. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/io.h"

#ifndef FUZZ_NAME
#define FUZZ_NAME "fuzz_bridge"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    cleanup_file FILE *f = fopen(path, "rbe");
    if (f == NULL) {
        fprintf(stderr, "open %s: %s\n", path, strerror(errno));
        return -1;
    }
    cleanup_free uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(buf, cap);
            if (p == NULL)
                return -1;
            buf = p;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    /* libFuzzer hands over an exact-size buffer; a copy keeps ASan's overflow checks exact. */
    cleanup_free uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL)
        return -1;
    memcpy(exact, buf, len);
    LLVMFuzzerTestOneInput(exact, len);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    cleanup_dir DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (run_path(p, count) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            if (run_path(argv[i], &count) < 0)
                return 1;
    } else {
        const char *top = getenv("LCOW_TOP");
        const char *build = getenv("BUILD");
        char p[4096];
        snprintf(p, sizeof(p), "%s/tests/fuzz/corpus/%s", top ? top : ".", FUZZ_NAME);
        if (run_path(p, &count) < 0)
            return 1;
        if (count == 0) {
            fprintf(stderr, "no seeds found in %s\n", p);
            return 1;
        }
        snprintf(p, sizeof(p), "%s/fuzz-artifacts/%s", build ? build : "build", FUZZ_NAME);
        if (run_path(p, &count) < 0)
            return 1;
    }
    printf("replayed %d input(s) through %s\n", count, FUZZ_NAME);
    return 0;
}
