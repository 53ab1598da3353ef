/* Test driver for gcs/storage.c without the bridge: reads ModifySettings request documents (the
 * wire JSON, one per line) on stdin, decodes them with the protocol decoder, applies them with
 * gcs_storage_apply() against one registry, and answers one line each:
 *     OK
 *     ERR <errno name> <message>
 * Extra commands: `COUNT` (registry entries) and `BUNDLE <dir>` (DeleteContainerState's bundle
 * release). Options: --sysfs-root P --dev-root P --timeout-ms N (the bounded device wait).
 * Used by tests/integration/storage_*.sh and tests/bench/storage_*.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/protocol.h"
#include "gcs/storage.h"

static void answer(int r, struct lcow_error *err)
{
    if (r == 0)
        printf("OK\n");
    else
        printf("ERR %s %s\n", strerrorname_np(-r) ? strerrorname_np(-r) : "E?",
               lcow_error_message(err));
    fflush(stdout);
}

static int apply_line(struct gcs_storage *s, const struct mount_env *env, const char *line,
                      size_t len, struct lcow_error **err)
{
    struct gcs_modify_settings_request req = {0};
    int r = gcs_decode_modify_settings_request(line, len, &req, err);
    if (r == 0)
        r = gcs_storage_apply(s, env, &req.request, err);
    gcs_modify_settings_request_done(&req);
    return r;
}

static int parse_args(int argc, char **argv, struct mount_env *env)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--sysfs-root"))
            env->sysfs_root = argv[i + 1];
        else if (!strcmp(argv[i], "--dev-root"))
            env->dev_root = argv[i + 1];
        else if (!strcmp(argv[i], "--timeout-ms"))
            env->device_timeout_ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else
            return -1;
    }
    return argc % 2 == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct mount_env env;
    mount_env_init(&env);
    if (parse_args(argc, argv, &env) < 0) {
        fprintf(stderr, "usage: %s [--sysfs-root P] [--dev-root P] [--timeout-ms N]\n", argv[0]);
        return 2;
    }
    struct gcs_storage *s = gcs_storage_new();
    if (!s)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0)
            continue;
        cleanup_error struct lcow_error *err = NULL;
        if (!strcmp(line, "COUNT")) {
            printf("%u\n", gcs_storage_count(s));
            fflush(stdout);
        } else if (!strncmp(line, "BUNDLE ", 7)) {
            int r = gcs_storage_release_bundle(s, line + 7, &err);
            answer(r, err);
        } else {
            int r = apply_line(s, &env, line, (size_t)n, &err);
            answer(r, err);
        }
    }
    free(line);
    unsigned left = gcs_storage_count(s);
    gcs_storage_free(s);
    return left == 0 ? 0 : 3;
}
