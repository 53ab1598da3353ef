/* CommandLine splitting with the Go GCS's rules (see cmdline.h). The state machine walks the
 * line one code point at a time, as Go's `range` over a string does, so that invalid UTF-8 is
 * replaced the same way and the quote characters are recognised only as whole code points. */
#include "gcs/cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "gcs/protocol_internal.h"

/* A growable byte buffer and a growable vector of words. */
struct sbuf {
    char *p;
    size_t len, cap;
};

struct words {
    char **v;
    size_t n, cap;
};

static int sbuf_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int words_push(struct words *w, struct sbuf *b)
{
    if (w->n + 2 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        char **v = realloc(w->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        w->v = v;
        w->cap = cap;
    }
    char *s = strndup(b->p ? b->p : "", b->len);
    if (s == NULL)
        return -ENOMEM;
    w->v[w->n++] = s;
    w->v[w->n] = NULL;
    b->len = 0;
    return 0;
}

enum word_state { WORD_NONE, WORD_PLAIN, WORD_QUOTED };

struct splitter {
    struct sbuf buf;
    struct words words;
    enum word_state got;
    bool escaped, dquote, squote, backquote, dollar;
};

static bool any_quote(const struct splitter *s)
{
    return s->squote || s->dquote || s->backquote || s->dollar;
}

static bool is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum step { STEP_APPEND, STEP_NEXT, STEP_STOP, STEP_ERROR };

/* The characters with a meaning; anything else (and these, when quoted) is appended. */
static enum step special(struct splitter *s, uint32_t c)
{
    switch (c) {
    case '`':
        if (!s->squote && !s->dquote && !s->dollar)
            s->backquote = !s->backquote; /* kept literally: expansion is off */
        return STEP_APPEND;
    case ')':
        if (s->squote || s->dquote || s->backquote)
            return STEP_APPEND;
        if (!s->dollar)
            return STEP_ERROR;
        s->dollar = false;
        return STEP_APPEND;
    case '(':
        if (s->squote || s->dquote || s->backquote)
            return STEP_APPEND;
        if (!s->dollar && s->buf.len > 0 && s->buf.p[s->buf.len - 1] == '$') {
            s->dollar = true;
            return STEP_APPEND;
        }
        return STEP_ERROR;
    case '"':
        if (s->squote || s->dollar)
            return STEP_APPEND;
        if (s->dquote)
            s->got = WORD_QUOTED;
        s->dquote = !s->dquote;
        return STEP_NEXT;
    case '\'':
        if (s->dquote || s->dollar)
            return STEP_APPEND;
        if (s->squote)
            s->got = WORD_QUOTED;
        s->squote = !s->squote;
        return STEP_NEXT;
    case ';':
    case '&':
    case '|':
    case '<':
    case '>':
        if (any_quote(s))
            return STEP_APPEND;
        /* `2>file`: the word holding the fd number is part of the redirection, not an arg. */
        if (c == '>' && s->buf.len > 0 && s->buf.p[0] >= '0' && s->buf.p[0] <= '9')
            s->got = WORD_NONE;
        return STEP_STOP;
    default:
        return STEP_APPEND;
    }
}

/* Processes one code point; returns 1 to go on, 0 at a command separator, <0 on error. */
static int feed(struct splitter *s, uint32_t c, const char *bytes, size_t n)
{
    if (s->escaped) {
        s->escaped = false;
        s->got = WORD_PLAIN;
        if (c == 't')
            return sbuf_put(&s->buf, "\t", 1) < 0 ? -ENOMEM : 1;
        if (c == 'n')
            return sbuf_put(&s->buf, "\n", 1) < 0 ? -ENOMEM : 1;
        return sbuf_put(&s->buf, bytes, n) < 0 ? -ENOMEM : 1;
    }
    if (c == '\\') {
        if (s->squote)
            return sbuf_put(&s->buf, bytes, n) < 0 ? -ENOMEM : 1;
        s->escaped = true;
        return 1;
    }
    if (is_space(c)) {
        if (any_quote(s))
            return sbuf_put(&s->buf, bytes, n) < 0 ? -ENOMEM : 1;
        if (s->got != WORD_NONE) {
            s->got = WORD_NONE;
            return words_push(&s->words, &s->buf) < 0 ? -ENOMEM : 1;
        }
        return 1;
    }
    switch (special(s, c)) {
    case STEP_NEXT:
        return 1;
    case STEP_STOP:
        return 0;
    case STEP_ERROR:
        return -EINVAL;
    case STEP_APPEND:
    default:
        s->got = WORD_PLAIN;
        return sbuf_put(&s->buf, bytes, n) < 0 ? -ENOMEM : 1;
    }
}

static int run(struct splitter *s, const char *line)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t n = strlen(line);
    while (n > 0) {
        uint32_t c;
        char bytes[4];
        size_t blen;
        size_t used = gcs_utf8_next(p, n, &c, bytes, &blen);
        int r = feed(s, c, bytes, blen);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        p += used;
        n -= used;
    }
    if (s->got != WORD_NONE && words_push(&s->words, &s->buf) < 0)
        return -ENOMEM;
    if (s->escaped || any_quote(s))
        return -EINVAL;
    return 0;
}

int gcs_cmdline_split(const char *line, char ***ret, struct lcow_error **err)
{
    struct splitter s = {0};
    int r = run(&s, line ? line : "");
    free(s.buf.p);
    cleanup_strv char **v = s.words.v;
    if (r == -ENOMEM)
        return lcow_error_make(err, ENOMEM, "split command line: out of memory");
    if (r < 0)
        return lcow_error_make(err, EINVAL, "invalid command line string `%s`", line);
    if (s.words.n == 0)
        return lcow_error_make(err, EINVAL, "command line `%s` has no words to run", line);
    *ret = steal_pointer(&v);
    return (int)s.words.n;
}
