#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include "common/cleanup.h"

void lcow_json_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
    *o = NULL;
}

/* A recursive-descent recogniser of RFC 8259; json-c alone accepts NaN and single quotes. */
struct scan {
    const char *p, *end;
    int depth;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool scan_value(struct scan *s);

static bool scan_string(struct scan *s)
{
    if (s->p >= s->end || *s->p != '"')
        return false;
    for (s->p++; s->p < s->end; s->p++) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++s->p >= s->end)
                return false;
            switch (*s->p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                break;
            case 'u':
                for (int i = 0; i < 4; i++) {
                    if (++s->p >= s->end || !strchr("0123456789abcdefABCDEF", *s->p) || !*s->p)
                        return false;
                }
                break;
            default:
                return false;
            }
        }
    }
    return false;
}

static bool is_digit(const struct scan *s)
{
    return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

static bool scan_number(struct scan *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (!is_digit(s))
        return false;
    if (*s->p == '0')
        s->p++;
    else
        while (is_digit(s))
            s->p++;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!is_digit(s))
            return false;
        while (is_digit(s))
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!is_digit(s))
            return false;
        while (is_digit(s))
            s->p++;
    }
    return true;
}

static bool scan_literal(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool scan_container(struct scan *s, char close, bool object)
{
    if (++s->depth > LCOW_JSON_MAX_DEPTH)
        return false;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (object) {
            if (!scan_string(s))
                return false;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return false;
            s->p++;
        }
        if (!scan_value(s))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != close)
            return false;
        s->p++;
        s->depth--;
        return true;
    }
}

static bool scan_value(struct scan *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{':
        return scan_container(s, '}', true);
    case '[':
        return scan_container(s, ']', false);
    case '"':
        return scan_string(s);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        return scan_number(s);
    }
}

int lcow_json_validate(const char *buf, size_t len, struct lcow_error **err)
{
    struct scan s = {.p = buf, .end = buf + len};
    if (!scan_value(&s))
        return lcow_error_make(err, EINVAL, "invalid JSON at offset %zu", (size_t)(s.p - buf));
    skip_ws(&s);
    if (s.p != s.end)
        return lcow_error_make(err, EINVAL, "invalid JSON: trailing data at offset %zu",
                               (size_t)(s.p - buf));
    return 0;
}

int lcow_json_parse(const char *buf, size_t len, const char *what, struct json_object **ret,
                    struct lcow_error **err)
{
    if (len > INT32_MAX)
        return lcow_error_make(err, EFBIG, "%s: document too large", what);
    int r = lcow_json_validate(buf, len, err);
    if (r < 0) {
        lcow_error_wrap(err, "%s", what);
        return r;
    }
    struct json_tokener *tok = json_tokener_new_ex(LCOW_JSON_MAX_DEPTH + 1);
    if (tok == NULL)
        return lcow_error_make(err, ENOMEM, "%s: out of memory", what);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    /* json-c reports a clamped 64-bit overflow only through errno. */
    errno = 0;
    struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    /* A bare top-level literal or number is only complete once json-c sees a delimiter. */
    if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
        o = json_tokener_parse_ex(tok, " ", 1);
    int saved = errno;
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (o == NULL && jerr == json_tokener_success) {
        *ret = NULL; /* the document is `null` */
        return 0;
    }
    if (o == NULL || jerr != json_tokener_success) {
        json_object_put(o);
        return lcow_error_make(err, EINVAL, "%s: invalid JSON: %s", what,
                               json_tokener_error_desc(jerr));
    }
    if (saved == ERANGE) {
        json_object_put(o);
        return lcow_error_make(err, EINVAL, "%s: invalid JSON: number out of range", what);
    }
    *ret = o;
    return 0;
}

struct json_object *lcow_json_field(const struct json_object *obj, const char *key)
{
    if (obj == NULL || !json_object_is_type(obj, json_type_object))
        return NULL;
    struct json_object *v = NULL;
    if (json_object_object_get_ex(obj, key, &v))
        return v;
    /* Go matches case-insensitively when no exact match exists; the last such key wins. */
    struct json_object *found = NULL;
    json_object_object_foreach((struct json_object *)obj, k, val)
    {
        if (strcasecmp(k, key) == 0)
            found = val;
    }
    return found;
}

static int type_error(struct lcow_error **err, const char *path, const char *key, const char *want,
                      const struct json_object *v)
{
    return lcow_error_make(err, EINVAL, "%s%s%s: expected %s, got %s", path ? path : "",
                           (path && *path) ? "." : "", key, want,
                           json_type_to_name(json_object_get_type(v)));
}

int lcow_json_get_string(const struct json_object *obj, const char *path, const char *key,
                         const char **ret, struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return type_error(err, path, key, "string", v);
    *ret = json_object_get_string(v);
    return 0;
}

int lcow_json_get_bool(const struct json_object *obj, const char *path, const char *key, bool *ret,
                       struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return type_error(err, path, key, "boolean", v);
    *ret = json_object_get_boolean(v);
    return 0;
}

/* json-c stores integers as int64 or, above INT64_MAX, as uint64; tell them apart by sign. */
static bool int_is_huge(const struct json_object *v)
{
    return json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > INT64_MAX;
}

int lcow_json_as_int64(const struct json_object *v, const char *path, int64_t *ret,
                       struct lcow_error **err)
{
    if (!json_object_is_type(v, json_type_int))
        return lcow_error_make(err, EINVAL, "%s: expected integer, got %s", path,
                               json_type_to_name(json_object_get_type(v)));
    if (int_is_huge(v))
        return lcow_error_make(err, ERANGE, "%s: integer out of range", path);
    *ret = json_object_get_int64(v);
    return 0;
}

int lcow_json_as_uint64(const struct json_object *v, const char *path, uint64_t *ret,
                        struct lcow_error **err)
{
    if (!json_object_is_type(v, json_type_int))
        return lcow_error_make(err, EINVAL, "%s: expected integer, got %s", path,
                               json_type_to_name(json_object_get_type(v)));
    if (json_object_get_int64(v) < 0)
        return lcow_error_make(err, ERANGE, "%s: negative value for unsigned integer", path);
    *ret = json_object_get_uint64(v);
    return 0;
}

static char *join_path(const char *path, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", path ? path : "", (path && *path) ? "." : "", key);
    return buf;
}

int lcow_json_get_int64(const struct json_object *obj, const char *path, const char *key,
                        int64_t *ret, struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    char p[256];
    return v ? lcow_json_as_int64(v, join_path(path, key, p, sizeof(p)), ret, err) : 0;
}

int lcow_json_get_uint64(const struct json_object *obj, const char *path, const char *key,
                         uint64_t *ret, struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    char p[256];
    return v ? lcow_json_as_uint64(v, join_path(path, key, p, sizeof(p)), ret, err) : 0;
}

int lcow_json_get_int32(const struct json_object *obj, const char *path, const char *key,
                        int32_t *ret, struct lcow_error **err)
{
    int64_t x = 0;
    struct json_object *v = lcow_json_field(obj, key);
    char p[256];
    if (v == NULL)
        return 0;
    int r = lcow_json_as_int64(v, join_path(path, key, p, sizeof(p)), &x, err);
    if (r < 0)
        return r;
    if (x < INT32_MIN || x > INT32_MAX)
        return lcow_error_make(err, ERANGE, "%s: integer out of range", p);
    *ret = (int32_t)x;
    return 0;
}

int lcow_json_get_uint32(const struct json_object *obj, const char *path, const char *key,
                         uint32_t *ret, struct lcow_error **err)
{
    uint64_t x = 0;
    struct json_object *v = lcow_json_field(obj, key);
    char p[256];
    if (v == NULL)
        return 0;
    int r = lcow_json_as_uint64(v, join_path(path, key, p, sizeof(p)), &x, err);
    if (r < 0)
        return r;
    if (x > UINT32_MAX)
        return lcow_error_make(err, ERANGE, "%s: integer out of range", p);
    *ret = (uint32_t)x;
    return 0;
}

int lcow_json_get_double(const struct json_object *obj, const char *path, const char *key,
                         double *ret, struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return type_error(err, path, key, "number", v);
    *ret = json_object_get_double(v);
    return 0;
}

int lcow_json_get_object(const struct json_object *obj, const char *path, const char *key,
                         struct json_object **ret, struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return type_error(err, path, key, "object", v);
    *ret = v;
    return 0;
}

int lcow_json_get_array(const struct json_object *obj, const char *path, const char *key,
                        struct json_object **ret, struct lcow_error **err)
{
    struct json_object *v = lcow_json_field(obj, key);
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return type_error(err, path, key, "array", v);
    *ret = v;
    return 0;
}

int lcow_json_get_strdup(const struct json_object *obj, const char *path, const char *key,
                         char **ret, struct lcow_error **err)
{
    const char *s = NULL;
    int r = lcow_json_get_string(obj, path, key, &s, err);
    if (r < 0 || s == NULL)
        return r;
    char *d = strdup(s);
    if (d == NULL)
        return lcow_error_make(err, ENOMEM, "%s.%s: out of memory", path, key);
    free(*ret);
    *ret = d;
    return 0;
}

int lcow_json_get_strv(const struct json_object *obj, const char *path, const char *key,
                       char ***ret, struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(obj, path, key, &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    cleanup_strv char **v = calloc(n + 1, sizeof(char *));
    if (v == NULL)
        return lcow_error_make(err, ENOMEM, "%s.%s: out of memory", path, key);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_string))
            return lcow_error_make(err, EINVAL, "%s%s%s[%zu]: expected string, got %s",
                                   path ? path : "", (path && *path) ? "." : "", key, i,
                                   json_type_to_name(json_object_get_type(e)));
        v[i] = strdup(json_object_get_string(e));
        if (v[i] == NULL)
            return lcow_error_make(err, ENOMEM, "%s.%s: out of memory", path, key);
    }
    *ret = steal_pointer(&v);
    return 0;
}

char *lcow_json_to_string(struct json_object *o)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? strdup(s) : NULL;
}
