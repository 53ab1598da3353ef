/* json-c helpers that read JSON the way Go's encoding/json does, since both the bridge
 * (hcsshim) and config.json (runc) are written for Go readers:
 *   - strict RFC 8259 syntax (no comments, single quotes, NaN, trailing commas), one value,
 *     trailing whitespace allowed (the host's encoder appends "\n");
 *   - an integer literal that overflows 64 bits makes the document invalid;
 *   - field names match case-insensitively (an exact match wins), unknown fields are ignored,
 *     and a JSON null reads as an absent field;
 *   - a present field of the wrong type is an error naming the field's path.
 * Getters leave *ret untouched when the field is absent, so callers preset defaults. */
#ifndef LCOW_COMMON_JSON_H
#define LCOW_COMMON_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Nesting deeper than this is rejected (json-c's own default is 32, too small for OCI specs). */
#define LCOW_JSON_MAX_DEPTH 64

void lcow_json_putp(struct json_object **o);
#define cleanup_json __attribute__((cleanup(lcow_json_putp)))

/* Syntax check only. 0 or -EINVAL with a message giving the byte offset. */
int lcow_json_validate(const char *buf, size_t len, struct lcow_error **err);

/* Validates, then parses buf[0..len) into *ret (caller puts it). `what` names the document in
 * errors ("ContainerConfig", "config.json"). */
int lcow_json_parse(const char *buf, size_t len, const char *what, struct json_object **ret,
                    struct lcow_error **err);

/* The field `key` of obj, matched as Go does; NULL when obj is not an object, the field is
 * absent, or its value is JSON null. */
struct json_object *lcow_json_field(const struct json_object *obj, const char *key);

/* Each returns 0 (also when absent), or -EINVAL naming `path`.`key` when the type or range is
 * wrong. `path` is the JSON path of obj for messages ("" for the root). */
int lcow_json_get_string(const struct json_object *obj, const char *path, const char *key,
                         const char **ret, struct lcow_error **err);
int lcow_json_get_bool(const struct json_object *obj, const char *path, const char *key, bool *ret,
                       struct lcow_error **err);
int lcow_json_get_int64(const struct json_object *obj, const char *path, const char *key,
                        int64_t *ret, struct lcow_error **err);
int lcow_json_get_uint64(const struct json_object *obj, const char *path, const char *key,
                         uint64_t *ret, struct lcow_error **err);
int lcow_json_get_int32(const struct json_object *obj, const char *path, const char *key,
                        int32_t *ret, struct lcow_error **err);
int lcow_json_get_uint32(const struct json_object *obj, const char *path, const char *key,
                         uint32_t *ret, struct lcow_error **err);
int lcow_json_get_double(const struct json_object *obj, const char *path, const char *key,
                         double *ret, struct lcow_error **err);
/* Object and array getters return a borrowed reference. */
int lcow_json_get_object(const struct json_object *obj, const char *path, const char *key,
                         struct json_object **ret, struct lcow_error **err);
int lcow_json_get_array(const struct json_object *obj, const char *path, const char *key,
                        struct json_object **ret, struct lcow_error **err);
/* A string as a heap copy: when present, *ret is freed and replaced (so it must hold NULL or a
 * heap string); when absent, *ret is left alone. */
int lcow_json_get_strdup(const struct json_object *obj, const char *path, const char *key,
                         char **ret, struct lcow_error **err);
/* An array of strings as a NULL-terminated heap vector (free with lcow_strv_freep). */
int lcow_json_get_strv(const struct json_object *obj, const char *path, const char *key,
                       char ***ret, struct lcow_error **err);

/* Value-level conversions, for array elements and map values; `path` names the value. */
int lcow_json_as_int64(const struct json_object *v, const char *path, int64_t *ret,
                       struct lcow_error **err);
int lcow_json_as_uint64(const struct json_object *v, const char *path, uint64_t *ret,
                        struct lcow_error **err);

/* Serialises compactly (no spaces, as Go's Marshal), into a heap string the caller frees. */
char *lcow_json_to_string(struct json_object *o);

#endif
