/* Logging with logrus's field names, since the host parses gcs's stderr as a stream of JSON
 * objects (gcs-protocol.md §1.7): `time` (RFC 3339), `level`, `msg`, plus extra fields.
 * Each record is formatted into one buffer and written with one write(2), so lines from
 * threads never interleave. Library code logs at debug at most (style.md C5). */
#ifndef LCOW_COMMON_LOG_H
#define LCOW_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum lcow_log_level {
    LCOW_LOG_PANIC,
    LCOW_LOG_FATAL,
    LCOW_LOG_ERROR,
    LCOW_LOG_WARNING,
    LCOW_LOG_INFO,
    LCOW_LOG_DEBUG,
    LCOW_LOG_TRACE,
    LCOW_LOG_LEVEL_MAX,
};

struct lcow_log_field {
    const char *key;
    const char *value;
};

/* Where and how records go: fd (default 2), threshold (default info), JSON or logrus text. */
void lcow_log_setup(int fd, enum lcow_log_level level, bool json);
void lcow_log_set_level(enum lcow_log_level level);
bool lcow_log_enabled(enum lcow_log_level level);
/* logrus names: trace|debug|info|warn|warning|error|fatal|panic. 0 or -EINVAL. */
int lcow_log_parse_level(const char *s, enum lcow_log_level *ret);
const char *lcow_log_level_name(enum lcow_log_level level);

void lcow_log(enum lcow_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lcow_logv(enum lcow_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void lcow_log_fields(enum lcow_log_level level, const struct lcow_log_field *fields, size_t n,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends `s` JSON-escaped (without quotes) to buf[*pos..cap), truncating safely; used by the
 * logger and by encoders that must bound their output. Returns false when truncated. */
bool lcow_json_escape_into(char *buf, size_t cap, size_t *pos, const char *s);

#define lcow_error_log(...) lcow_log(LCOW_LOG_ERROR, __VA_ARGS__)
#define lcow_warn(...)      lcow_log(LCOW_LOG_WARNING, __VA_ARGS__)
#define lcow_info(...)      lcow_log(LCOW_LOG_INFO, __VA_ARGS__)
#define lcow_debug(...)     lcow_log(LCOW_LOG_DEBUG, __VA_ARGS__)
#define lcow_trace(...)     lcow_log(LCOW_LOG_TRACE, __VA_ARGS__)

#endif
