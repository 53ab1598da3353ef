/* libFuzzer target for process.json (`ocirun exec --process`, and the OciProcess gcs takes from
 * an ExecuteProcess request): JSON text -> oci_process_from_json -> oci_process_to_json ->
 * parse again. Properties besides "no crash, leak or UB":
 *   - a refusal always carries a message;
 *   - writing is a fixed point: what we write parses back and writes the same text;
 *   - an accepted process has at least one arg and every env entry is KEY=VALUE. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The process written as plain JSON text (heap). */
static char *write_process(const struct oci_process *p)
{
    struct json_object *o = oci_process_to_json(p);
    CHECK(o != NULL);
    char *t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    CHECK(t != NULL);
    return t;
}

static struct oci_process *parse_process(const char *text, size_t len, bool must)
{
    struct json_object *o = NULL;
    struct oci_process *p = NULL;
    struct lcow_error *err = NULL;
    if (lcow_json_parse(text, len, "process", &o, &err) < 0) {
        CHECK(!must && err && err->msg);
        lcow_error_release(&err);
        return NULL;
    }
    if (oci_process_from_json(o, "process", &p, &err) < 0) {
        CHECK(!must && err && err->msg);
        lcow_error_release(&err);
        p = NULL;
    }
    json_object_put(o);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_process *p = parse_process((const char *)data, size, false);
    if (!p)
        return 0;
    CHECK(p->args && p->args[0]);
    for (size_t i = 0; p->env && p->env[i]; i++)
        CHECK(strchr(p->env[i], '=') != NULL);
    char *t1 = write_process(p);
    struct oci_process *again = parse_process(t1, strlen(t1), true);
    char *t2 = write_process(again);
    CHECK(strcmp(t1, t2) == 0);
    free(t1);
    free(t2);
    oci_process_free(again);
    oci_process_free(p);
    return 0;
}
