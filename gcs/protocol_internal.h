/* Helpers shared by the protocol*.c files only (not part of the gcs_protocol API).
 * Readers (gcs_pr_get_*) follow common/json.h: absent or null fields leave the default, a wrong
 * type or range is -EINVAL naming "path.key". Writers (gcs_pw_*) build json-c objects in Go's
 * field order; an allocation failure is sticky in struct gcs_pw and reported once at the end. */
#ifndef LCOW_GCS_PROTOCOL_INTERNAL_H
#define LCOW_GCS_PROTOCOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "gcs/protocol.h"

/* Longest JSON path we name in messages; longer ones are cut, never overflowed. */
#define GCS_PR_PATH_MAX 256

/* ---- reading ---- */

/* Evaluates a reader and returns its error from the enclosing function on failure. */
#define GCS_PR_TRY(expr)                                                                           \
    do {                                                                                           \
        int _r = (expr);                                                                           \
        if (_r < 0)                                                                                \
            return _r;                                                                             \
    } while (0)

/* Parses a payload (or a nested document) that must be a JSON object; `null` reads as an empty
 * object, as Go's Unmarshal into a struct leaves it zero. *ret is an owned reference. */
int gcs_pr_parse_object(const char *buf, size_t len, const char *what, struct json_object **ret,
                        struct lcow_error **err);
/* Parses the JSON document held in the string field `key` of obj (ContainerConfig,
 * ProcessParameters, Query, Properties). Missing or "" is -EINVAL unless allow_empty (then *ret
 * is NULL). */
int gcs_pr_parse_nested(const struct json_object *obj, const char *path, const char *key,
                        bool allow_empty, struct json_object **ret, struct lcow_error **err);

/* "path.key" (or "key" when path is ""), cut to cap. */
const char *gcs_pr_join(char *buf, size_t cap, const char *path, const char *key);

int gcs_pr_get_string(const struct json_object *o, const char *path, const char *key, char **ret,
                      struct lcow_error **err); /* heap copy; "" when absent */
int gcs_pr_get_bool(const struct json_object *o, const char *path, const char *key, bool *ret,
                    struct lcow_error **err);
int gcs_pr_get_u8(const struct json_object *o, const char *path, const char *key, uint8_t *ret,
                  struct lcow_error **err);
int gcs_pr_get_u16(const struct json_object *o, const char *path, const char *key, uint16_t *ret,
                   struct lcow_error **err);
int gcs_pr_get_u32(const struct json_object *o, const char *path, const char *key, uint32_t *ret,
                   struct lcow_error **err);
int gcs_pr_get_i32(const struct json_object *o, const char *path, const char *key, int32_t *ret,
                   struct lcow_error **err);
int gcs_pr_get_u64(const struct json_object *o, const char *path, const char *key, uint64_t *ret,
                   struct lcow_error **err);
int gcs_pr_get_i64(const struct json_object *o, const char *path, const char *key, int64_t *ret,
                   struct lcow_error **err);
/* An array of strings; NULL when absent. */
int gcs_pr_get_strv(const struct json_object *o, const char *path, const char *key, char ***ret,
                    struct lcow_error **err);
/* A present object field as an owned reference (NULL when absent). */
int gcs_pr_get_object_ref(const struct json_object *o, const char *path, const char *key,
                          struct json_object **ret, struct lcow_error **err);
/* A present object field, borrowed (NULL when absent). */
int gcs_pr_get_object(const struct json_object *o, const char *path, const char *key,
                      struct json_object **ret, struct lcow_error **err);
/* A present array field, borrowed (NULL when absent). */
int gcs_pr_get_array(const struct json_object *o, const char *path, const char *key,
                     struct json_object **ret, struct lcow_error **err);

/* Reads ContainerId and ActivityId into b (strict). */
int gcs_pr_read_request_base(const struct json_object *o, struct gcs_request_base *b,
                             struct lcow_error **err);
/* Reads Result, ActivityId, ErrorMessage, ErrorRecords into b (strict). */
int gcs_pr_read_response_base(const struct json_object *o, struct gcs_response_base *b,
                              struct lcow_error **err);

/* Prefixes the message with the message name and returns -EINVAL for any malformed-input code
 * (the codes common/json.h uses: EINVAL, ERANGE), keeping other codes (ENOMEM, EOPNOTSUPP). */
int gcs_pr_fail(struct lcow_error **err, int r, const char *what);

/* Go-compatible type checks of raw OCI documents (protocol_oci.c): -EINVAL naming the field
 * (path.field) when a value has the wrong JSON type or overflows its Go field; NULL is fine. */
int gcs_pr_check_oci_spec(const struct json_object *v, const char *path, struct lcow_error **err);
int gcs_pr_check_oci_process(const struct json_object *v, const char *path,
                             struct lcow_error **err);
int gcs_pr_check_linux_resources(const struct json_object *v, const char *path,
                                 struct lcow_error **err);
int gcs_pr_check_windows_resources(const struct json_object *v, const char *path,
                                   struct lcow_error **err);

/* ---- writing ---- */

struct gcs_pw {
    bool failed; /* an allocation failed somewhere */
};

struct json_object *gcs_pw_object(struct gcs_pw *w);
/* Adds v under key (taking v's reference); v == NULL marks the writer failed. */
void gcs_pw_add(struct gcs_pw *w, struct json_object *o, const char *key, struct json_object *v);
/* Adds a string; with omitempty, NULL or "" is skipped. NULL without omitempty writes "". */
void gcs_pw_string(struct gcs_pw *w, struct json_object *o, const char *key, const char *v,
                   bool omitempty);
/* Adds the first n bytes of v. */
void gcs_pw_string_len(struct gcs_pw *w, struct json_object *o, const char *key, const char *v,
                       size_t n);
void gcs_pw_bool(struct gcs_pw *w, struct json_object *o, const char *key, bool v, bool omitempty);
void gcs_pw_int(struct gcs_pw *w, struct json_object *o, const char *key, int64_t v,
                bool omitempty);
void gcs_pw_uint(struct gcs_pw *w, struct json_object *o, const char *key, uint64_t v,
                 bool omitempty);
/* Adds a string array; with omitempty, NULL or empty is skipped. */
void gcs_pw_strv(struct gcs_pw *w, struct json_object *o, const char *key, char *const *v,
                 bool omitempty);
/* Adds a new reference to an existing object (skipped when v is NULL). */
void gcs_pw_ref(struct gcs_pw *w, struct json_object *o, const char *key, struct json_object *v);
/* Serialises inner compactly and adds it as a JSON string (the JSON-in-a-string fields). */
void gcs_pw_nested(struct gcs_pw *w, struct json_object *o, const char *key,
                   struct json_object *inner);
/* Adds ContainerId and ActivityId (both always present in requests). */
void gcs_pw_request_base(struct gcs_pw *w, struct json_object *o, const struct gcs_request_base *b);

/* Serialises o into *ret (heap), failing with -ENOMEM when the writer failed. Puts o. */
int gcs_pw_finish(struct gcs_pw *w, struct json_object *o, const char *what, char **ret,
                  struct lcow_error **err);

/* A response: the base plus type-specific fields added by `extra` (may be NULL). `text` names
 * one optional long string the response carries (GuestStacks) that may be truncated first.
 * Ensures the result fits GCS_MAX_WRITE_PAYLOAD by truncating `text`, then ErrorMessage, then
 * dropping ActivityId; -EMSGSIZE if it still does not fit. */
typedef void (*gcs_pw_extra_fn)(struct gcs_pw *w, struct json_object *o, const void *ctx,
                                size_t text_len);
int gcs_pw_response(const struct gcs_response_base *b, gcs_pw_extra_fn extra, const void *ctx,
                    const char *text, const char *what, char **ret, struct lcow_error **err);

/* Decodes one code point at s (n > 0 bytes left) as Go's utf8.DecodeRune does: an invalid,
 * truncated, overlong or surrogate sequence yields U+FFFD and consumes one byte. Writes the
 * code point's UTF-8 bytes (EF BF BD when invalid) to out, their count to *outlen, and returns
 * the number of input bytes consumed. */
size_t gcs_utf8_next(const unsigned char *s, size_t n, uint32_t *cp, char out[4], size_t *outlen);
/* A heap copy of s[0..len) with invalid UTF-8 replaced by U+FFFD, as Go's encoding/json does
 * to every string it decodes; NULL on ENOMEM. */
char *gcs_pr_go_string(const char *s, size_t len);

/* Frees a NULL-terminated string vector (NULL allowed). */
void gcs_pr_strv_free(char **v);
/* strdup that maps NULL to "". */
char *gcs_pr_strdup(const char *s);

#endif
