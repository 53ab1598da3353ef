/* libFuzzer target for config.json, the executor's only complex input: the whole runtime-spec
 * parser (including the linux.resources and linux.seccomp subtrees it delegates) and the
 * mount-option parser on every mount it accepted, and the writer (parse -> write -> parse ->
 * write must give the same text). Any input must give either a spec or an
 * error object, never a crash, a leak or an out-of-bounds access (ASan/UBSan check those). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "oci/internal.h"
#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_spec *spec = NULL;
    struct lcow_error *err = NULL;
    if (oci_spec_parse((const char *)data, size, &spec, &err) < 0) {
        /* A refusal must always explain itself. */
        if (err == NULL || err->msg == NULL)
            __builtin_trap();
        lcow_error_release(&err);
        return 0;
    }
    /* Writing is a fixed point: what we write parses back and writes the same text. */
    char *t1 = NULL, *t2 = NULL;
    struct oci_spec *again = NULL;
    if (oci_spec_write(spec, &t1, NULL) < 0)
        __builtin_trap();
    if (oci_spec_parse(t1, strlen(t1), &again, NULL) < 0 || oci_spec_write(again, &t2, NULL) < 0 ||
        strcmp(t1, t2) != 0)
        __builtin_trap();
    free(t1);
    free(t2);
    oci_spec_free(again);
    for (size_t i = 0; i < spec->n_mounts; i++) {
        struct oci_mount_flags f;
        if (oci_mount_parse_options(spec->mounts[i].options, &f, NULL) == 0)
            oci_mount_flags_done(&f);
    }
    oci_spec_free(spec);
    return 0;
}
