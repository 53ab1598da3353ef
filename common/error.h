/* The one error contract (style.md C1, docs/error-handling.md).
 *
 * A fallible function returns a negative errno-style code and, when its caller passed a
 * non-NULL `err`, fills *err with an object carrying that code and a message naming the
 * call and its input. Callers add context on the way up with lcow_error_wrap() and drop
 * a best-effort failure with lcow_error_release(). */
#ifndef LCOW_COMMON_ERROR_H
#define LCOW_COMMON_ERROR_H

#include <stdarg.h>

struct lcow_error {
    int code;  /* positive errno value (EINVAL, ENOENT, ...) */
    char *msg; /* "call `input`: strerror" style text; never NULL */
};

/* Builds *err (if err != NULL and *err is NULL) with code `errnum` and the formatted message.
 * Returns -errnum (-EIO when errnum is 0 or negative-invalid), so that the failure site reads
 * `return lcow_error_make(err, EINVAL, "bad port `%s`", s);`. An allocation failure while
 * building the message yields a static "out of memory" object instead. */
int lcow_error_make(struct lcow_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int lcow_error_makev(struct lcow_error **err, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* As lcow_error_make() with errnum = errno (read first), and ": strerror(errno)" appended. */
int lcow_error_errno(struct lcow_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the existing message with "context: ". Returns -(*err)->code, or -EIO when there is
 * no error object (err NULL or *err NULL). */
int lcow_error_wrap(struct lcow_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees *err and sets it to NULL. Accepts NULL and an unset error. */
void lcow_error_release(struct lcow_error **err);

/* The message, or "" when there is no error. */
const char *lcow_error_message(const struct lcow_error *err);

/* errno classes (C2): a peer that went away, as opposed to a local failure. */
int lcow_errno_is_disconnect(int errnum);

#define cleanup_error __attribute__((cleanup(lcow_error_release)))

#endif
