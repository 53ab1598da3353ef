/* Unit tests for gcs/cmdline.c: CommandLine split exactly as the Go GCS (go-shellwords) does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "gcs/cmdline.h"

#define MAX_WORDS 8

struct split_case {
    const char *line;
    const char *want[MAX_WORDS]; /* NULL-terminated */
};

static void check_split(const struct split_case *c)
{
    cleanup_strv char **v = NULL;
    struct lcow_error *err = NULL;
    int n = gcs_cmdline_split(c->line, &v, &err);
    if (n < 0)
        fail_msg("split `%s` failed: %s", c->line, lcow_error_message(err));
    size_t want = 0;
    while (c->want[want] != NULL)
        want++;
    assert_int_equal(n, want);
    for (size_t i = 0; i < want; i++) {
        if (strcmp(v[i], c->want[i]) != 0)
            fail_msg("split `%s`: word %zu is `%s`, want `%s`", c->line, i, v[i], c->want[i]);
    }
    assert_null(v[want]);
}

static void test_plain_and_quotes(void **state)
{
    static const struct split_case cases[] = {
        {"sleep 100", {"sleep", "100"}},
        {"  a   b\tc\r\nd  ", {"a", "b", "c", "d"}},
        {"var --bar=baz", {"var", "--bar=baz"}},
        {"var \"--bar=baz\"", {"var", "--bar=baz"}},
        {"var '--bar=baz'", {"var", "--bar=baz"}},
        {"var --bar=\"baz\"", {"var", "--bar=baz"}},
        {"var \"--bar baz\"", {"var", "--bar baz"}},
        {"var --\"bar baz\"", {"var", "--bar baz"}},
        {"var 'a \"b\" c'", {"var", "a \"b\" c"}},
        {"var \"a 'b' c\"", {"var", "a 'b' c"}},
        {"a '' b", {"a", "", "b"}},
        {"\"\"", {""}},
        {"x\"y\"'z'", {"xyz"}},
        {"var \"--bar=\\\"baz'\"", {"var", "--bar=\"baz'"}},
        {"var \"--bar='baz'\"", {"var", "--bar='baz'"}},
        {"var --bar='\\'", {"var", "--bar=\\"}},
        {"var  --\"bar baz\"", {"var", "--bar baz"}},
        {"a \"b\"c", {"a", "bc"}},
        {"a \"'\" '\"'", {"a", "'", "\""}},
        {"mkfs.ext4 -q -E lazy_itable_init=0,nodiscard -O ^has_journal,sparse_super2 /dev/sda",
         {"mkfs.ext4", "-q", "-E", "lazy_itable_init=0,nodiscard", "-O",
          "^has_journal,sparse_super2", "/dev/sda"}},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++)
        check_split(&cases[i]);
}

static void test_escapes(void **state)
{
    static const struct split_case cases[] = {
        {"a b\\ c", {"a", "b c"}},
        {"a \"b\\\"c\" d", {"a", "b\"c", "d"}},
        {"a 'b\\c'", {"a", "b\\c"}},
        {"a \\t", {"a", "\t"}},
        {"a \\n", {"a", "\n"}},
        {"a \\x", {"a", "x"}},
        {"a \"\\t\"", {"a", "\t"}},
        {"\\\\", {"\\"}},
        {"\\ ", {" "}},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++)
        check_split(&cases[i]);
}

/* Nothing is expanded or executed: backticks and $(...) stay literal text. */
static void test_no_expansion(void **state)
{
    static const struct split_case cases[] = {
        {"echo $HOME ${X}", {"echo", "$HOME", "${X}"}},
        {"echo `ls -l` x", {"echo", "`ls -l`", "x"}},
        {"echo $(ls -l) x", {"echo", "$(ls -l)", "x"}},
        {"echo \"(x)\" '(y)'", {"echo", "(x)", "(y)"}},
        {"echo `(x)`", {"echo", "`(x)`"}},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++)
        check_split(&cases[i]);
}

/* An unquoted operator ends the command; "2>" drops the fd word. */
static void test_operators(void **state)
{
    static const struct split_case cases[] = {
        {"echo hi; rm -rf /", {"echo", "hi"}},
        {"echo hi && reboot", {"echo", "hi"}},
        {"cat a | wc", {"cat", "a"}},
        {"cmd a>b", {"cmd", "a"}},
        {"echo 2>/dev/null", {"echo"}},
        {"echo x 2>&1", {"echo", "x"}},
        {"echo \"a;b\" 'c|d' e\\;f", {"echo", "a;b", "c|d", "e;f"}},
        {"sort <in", {"sort"}},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++)
        check_split(&cases[i]);
}

/* Go's range over a string turns each invalid byte into U+FFFD. */
static void test_utf8(void **state)
{
    static const struct split_case cases[] = {
        {"caf\xc3\xa9 \xe2\x82\xac", {"caf\xc3\xa9", "\xe2\x82\xac"}},
        {"a\xff b", {"a\xef\xbf\xbd", "b"}},
        {"\xe2\x82 x", {"\xef\xbf\xbd\xef\xbf\xbd", "x"}},
        {"\xc0\xaf", {"\xef\xbf\xbd\xef\xbf\xbd"}},
        {"\xed\xa0\x80", {"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++)
        check_split(&cases[i]);
}

static void test_errors(void **state)
{
    static const char *const bad[] = {
        "",           "   ",      "\t\n",    "echo \"abc",  "echo 'abc", "echo abc\\", "echo `abc",
        "echo $(abc", "echo (x)", "echo x)", "echo $((x))", ";",         "2>x",        NULL,
    };
    for (size_t i = 0; bad[i] != NULL; i++) {
        char **v = NULL;
        struct lcow_error *err = NULL;
        int r = gcs_cmdline_split(bad[i], &v, &err);
        if (r != -EINVAL)
            fail_msg("split `%s`: got %d, want -EINVAL", bad[i], r);
        assert_null(v);
        assert_non_null(err);
        assert_int_equal(err->code, EINVAL);
        lcow_error_release(&err);
    }
    /* NULL is an empty line. */
    char **v = NULL;
    assert_int_equal(gcs_cmdline_split(NULL, &v, NULL), -EINVAL);
}

static void test_long_line(void **state)
{
    /* Many words and a long word grow the buffers several times. */
    size_t n = 5000;
    cleanup_free char *line = malloc(n * 4 + 1);
    assert_non_null(line);
    char *p = line;
    for (size_t i = 0; i < n; i++)
        p += snprintf(p, 5, "w%02zu ", i % 100);
    cleanup_strv char **v = NULL;
    assert_int_equal(gcs_cmdline_split(line, &v, NULL), (int)n);
    assert_string_equal(v[n - 1], "w99");
    cleanup_free char *word = malloc(100001);
    assert_non_null(word);
    memset(word, 'x', 100000);
    word[100000] = '\0';
    cleanup_strv char **w = NULL;
    assert_int_equal(gcs_cmdline_split(word, &w, NULL), 1);
    assert_int_equal(strlen(w[0]), 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quotes),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_no_expansion),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
