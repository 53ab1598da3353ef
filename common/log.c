#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/io.h"

/* One record never exceeds this; longer messages are cut (the host reads line by line). */
#define LOG_RECORD_MAX 16384

static int log_fd = 2;
static enum lcow_log_level log_level = LCOW_LOG_INFO;
static bool log_json = false;

static const char *const level_names[LCOW_LOG_LEVEL_MAX] = {
    [LCOW_LOG_PANIC] = "panic",     [LCOW_LOG_FATAL] = "fatal", [LCOW_LOG_ERROR] = "error",
    [LCOW_LOG_WARNING] = "warning", [LCOW_LOG_INFO] = "info",   [LCOW_LOG_DEBUG] = "debug",
    [LCOW_LOG_TRACE] = "trace",
};

void lcow_log_setup(int fd, enum lcow_log_level level, bool json)
{
    log_fd = fd;
    log_level = level;
    log_json = json;
}

void lcow_log_set_level(enum lcow_log_level level)
{
    log_level = level;
}

bool lcow_log_enabled(enum lcow_log_level level)
{
    return level <= log_level;
}

const char *lcow_log_level_name(enum lcow_log_level level)
{
    return (unsigned)level < LCOW_LOG_LEVEL_MAX ? level_names[level] : "info";
}

int lcow_log_parse_level(const char *s, enum lcow_log_level *ret)
{
    if (s == NULL)
        return -EINVAL;
    if (strcasecmp(s, "warn") == 0) {
        *ret = LCOW_LOG_WARNING;
        return 0;
    }
    for (int i = 0; i < LCOW_LOG_LEVEL_MAX; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *ret = (enum lcow_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

static void append(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n >= cap)
        n = cap - 1 - *pos;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

bool lcow_json_escape_into(char *buf, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        size_t n = 0;
        switch (*p) {
        case '"':
            esc[n++] = '\\';
            esc[n++] = '"';
            break;
        case '\\':
            esc[n++] = '\\';
            esc[n++] = '\\';
            break;
        case '\n':
            esc[n++] = '\\';
            esc[n++] = 'n';
            break;
        case '\r':
            esc[n++] = '\\';
            esc[n++] = 'r';
            break;
        case '\t':
            esc[n++] = '\\';
            esc[n++] = 't';
            break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                n = 6;
            } else {
                esc[n++] = (char)*p;
            }
            break;
        }
        if (*pos + n >= cap)
            return false;
        memcpy(buf + *pos, esc, n);
        *pos += n;
    }
    return true;
}

/* logrus's text formatter quotes values that are empty or hold anything but [A-Za-z0-9-._/@^+]. */
static bool text_needs_quote(const char *s)
{
    if (*s == '\0')
        return true;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-._/@^+", c)))
            return true;
    }
    return false;
}

static void append_kv(char *buf, size_t cap, size_t *pos, bool first, const char *k, const char *v)
{
    if (log_json) {
        append(buf, cap, pos, first ? "{\"" : ",\"");
        lcow_json_escape_into(buf, cap - 2, pos, k);
        append(buf, cap, pos, "\":\"");
        lcow_json_escape_into(buf, cap - 3, pos, v);
        append(buf, cap, pos, "\"");
    } else {
        if (!first)
            append(buf, cap, pos, " ");
        append(buf, cap, pos, k);
        append(buf, cap, pos, "=");
        if (text_needs_quote(v)) {
            append(buf, cap, pos, "\"");
            lcow_json_escape_into(buf, cap - 3, pos, v);
            append(buf, cap, pos, "\"");
        } else {
            append(buf, cap, pos, v);
        }
    }
}

/* The attribute tells clang fmt is a checked printf format (its -Wformat-nonliteral). */
__attribute__((format(printf, 4, 0))) static void emit(enum lcow_log_level level,
                                                       const struct lcow_log_field *fields,
                                                       size_t n, const char *fmt, va_list ap)
{
    int saved = errno;
    char msg[LOG_RECORD_MAX / 2];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[48];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);

    char buf[LOG_RECORD_MAX];
    size_t pos = 0, cap = sizeof(buf) - 2; /* room for the closing brace and newline */
    append_kv(buf, cap, &pos, true, "time", when);
    append_kv(buf, cap, &pos, false, "level", lcow_log_level_name(level));
    append_kv(buf, cap, &pos, false, "msg", msg);
    for (size_t i = 0; i < n; i++)
        if (fields[i].key)
            append_kv(buf, cap, &pos, false, fields[i].key, fields[i].value ? fields[i].value : "");
    if (log_json)
        buf[pos++] = '}';
    buf[pos++] = '\n';
    (void)lcow_write_all(log_fd, buf, pos);
    errno = saved;
}

void lcow_logv(enum lcow_log_level level, const char *fmt, va_list ap)
{
    if (!lcow_log_enabled(level))
        return;
    emit(level, NULL, 0, fmt, ap);
}

void lcow_log(enum lcow_log_level level, const char *fmt, ...)
{
    if (!lcow_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, 0, fmt, ap);
    va_end(ap);
}

void lcow_log_fields(enum lcow_log_level level, const struct lcow_log_field *fields, size_t n,
                     const char *fmt, ...)
{
    if (!lcow_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, fields, n, fmt, ap);
    va_end(ap);
}
