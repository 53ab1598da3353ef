/* The splitter for ExecuteProcess's CommandLine (gcs-protocol.md §4.4), used when CommandArgs
 * is empty. It reproduces what the Go GCS does (mattn/go-shellwords' Parse with environment and
 * backtick expansion off, as vendored by hcsshim), so the same string gives the same argv:
 *   - words are separated by unquoted space, tab, CR or LF;
 *   - '...' keeps everything literally; "..." keeps spaces, and a backslash still escapes the
 *     next character there; an empty pair ('' or "") yields an empty word;
 *   - outside single quotes a backslash escapes the next character, with \t and \n giving TAB
 *     and LF;
 *   - nothing is expanded: `...` and $(...) are kept as literal text (with spaces inside them
 *     kept in the word); a '(' not preceded by '$', or an unmatched ')', is an error;
 *   - an unquoted ; & | < > ends the command: the rest of the line is ignored, and a word that
 *     starts with a digit right before '>' (a redirection such as 2>) is dropped;
 *   - invalid UTF-8 bytes become U+FFFD, as Go's range over a string does;
 *   - an unterminated quote, escape, `...` or $(...) is an error. */
#ifndef LCOW_GCS_CMDLINE_H
#define LCOW_GCS_CMDLINE_H

#include "common/error.h"

/* Splits line into a NULL-terminated heap vector (free with lcow_strv_freep) stored in *ret.
 * Returns the word count (> 0), or -EINVAL with a message quoting the line when it does not
 * parse or yields no words (the Go GCS would crash on an empty argv). */
int gcs_cmdline_split(const char *line, char ***ret, struct lcow_error **err);

#endif
