#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Handed out when the message itself cannot be allocated; release() never frees it. */
static struct lcow_error oom_error = {.code = ENOMEM, .msg = (char *)"out of memory"};

static int code_or_eio(int errnum)
{
    return errnum > 0 ? errnum : EIO;
}

int lcow_error_makev(struct lcow_error **err, int errnum, const char *fmt, va_list ap)
{
    int code = code_or_eio(errnum);
    if (err == NULL || *err != NULL)
        return -code;
    struct lcow_error *e = malloc(sizeof(*e));
    char *msg = NULL;
    if (e == NULL || vasprintf(&msg, fmt, ap) < 0) {
        free(e);
        *err = &oom_error;
        return -code;
    }
    e->code = code;
    e->msg = msg;
    *err = e;
    return -code;
}

int lcow_error_make(struct lcow_error **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = lcow_error_makev(err, errnum, fmt, ap);
    va_end(ap);
    return r;
}

int lcow_error_errno(struct lcow_error **err, const char *fmt, ...)
{
    int saved = errno;
    int code = code_or_eio(saved);
    if (err == NULL || *err != NULL)
        return -code;
    char *head = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&head, fmt, ap);
    va_end(ap);
    if (n < 0)
        return lcow_error_make(err, code, "%s", strerror(code));
    int r = lcow_error_make(err, code, "%s: %s", head, strerror(code));
    free(head);
    return r;
}

int lcow_error_wrap(struct lcow_error **err, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return -EIO;
    struct lcow_error *e = *err;
    if (e == &oom_error)
        return -e->code;
    char *head = NULL, *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&head, fmt, ap);
    va_end(ap);
    if (n >= 0 && asprintf(&msg, "%s: %s", head, e->msg) >= 0) {
        free(e->msg);
        e->msg = msg;
    }
    free(head);
    return -e->code;
}

void lcow_error_release(struct lcow_error **err)
{
    if (err == NULL || *err == NULL)
        return;
    if (*err != &oom_error) {
        free((*err)->msg);
        free(*err);
    }
    *err = NULL;
}

const char *lcow_error_message(const struct lcow_error *err)
{
    return err ? err->msg : "";
}

int lcow_errno_is_disconnect(int errnum)
{
    switch (errnum < 0 ? -errnum : errnum) {
    case EPIPE:
    case ECONNRESET:
    case ECONNABORTED:
    case ECONNREFUSED:
    case ENOTCONN:
    case ESHUTDOWN:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
        return 1;
    default:
        return 0;
    }
}
