/* initrd-modlist: the module list of the initrd (build time, run by mkinitrd.sh).
 *   initrd-modlist --dep modules.dep [--builtin modules.builtin] \
 *                  --stage early NAME... [--stage late NAME...]
 * prints "STAGE PATH" lines in load order; dependencies come first and each module once, in
 * the first stage that needs it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "initrd/modlist.h"

#define TABLE_MAX (64u << 20)

static int fail(const char *msg)
{
    fprintf(stderr, "initrd-modlist: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    const char *dep = NULL, *builtin = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i], "--stage") != 0;
         i += 2) {
        if (strcmp(argv[i], "--dep") == 0)
            dep = argv[i + 1];
        else if (strcmp(argv[i], "--builtin") == 0)
            builtin = argv[i + 1];
        else
            return fail("usage: --dep FILE [--builtin FILE] --stage NAME MODULE...");
    }
    if (dep == NULL)
        return fail("--dep FILE is required");
    cleanup_error struct lcow_error *err = NULL;
    cleanup_free char *dep_text = NULL, *builtin_text = NULL, *out = NULL;
    struct modlist *m = NULL;
    if (lcow_read_file(dep, TABLE_MAX, &dep_text, NULL, &err) < 0 ||
        (builtin && lcow_read_file(builtin, TABLE_MAX, &builtin_text, NULL, &err) < 0) ||
        modlist_parse(dep_text, builtin_text, &m, &err) < 0)
        return fail(lcow_error_message(err));
    while (i < argc) {
        if (strcmp(argv[i], "--stage") != 0 || i + 1 >= argc) {
            modlist_free(m);
            return fail("expected --stage NAME");
        }
        const char *stage = argv[i + 1];
        int first = i += 2;
        while (i < argc && strcmp(argv[i], "--stage") != 0)
            i++;
        if (modlist_resolve(m, stage, (const char *const *)argv + first, (size_t)(i - first), &out,
                            &err) < 0) {
            modlist_free(m);
            return fail(lcow_error_message(err));
        }
    }
    modlist_free(m);
    if (out != NULL && lcow_write_all(STDOUT_FILENO, out, strlen(out)) < 0)
        return fail("write: stdout");
    return 0;
}
