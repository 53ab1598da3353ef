/* Unit tests for common/: the error contract, JSON reading as Go does, log records, io. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <stdio.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/json.h"
#include "common/log.h"

static void test_error_make_and_wrap(void **state)
{
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(lcow_error_make(&err, ENOENT, "open `%s`", "/x"), -ENOENT);
    assert_int_equal(err->code, ENOENT);
    assert_string_equal(err->msg, "open `/x`");
    /* A second failure never overwrites the first (the root cause). */
    assert_int_equal(lcow_error_make(&err, EINVAL, "other"), -EINVAL);
    assert_string_equal(err->msg, "open `/x`");
    assert_int_equal(lcow_error_wrap(&err, "mount layer %d", 3), -ENOENT);
    assert_string_equal(err->msg, "mount layer 3: open `/x`");
    lcow_error_release(&err);
    assert_null(err);
    /* NULL err: only the code comes back. */
    assert_int_equal(lcow_error_make(NULL, EPERM, "x"), -EPERM);
    errno = EACCES;
    assert_int_equal(lcow_error_errno(&err, "chmod `%s`", "f"), -EACCES);
    assert_string_equal(err->msg, "chmod `f`: Permission denied");
}

static void test_json_strict_syntax(void **state)
{
    static const char *const bad[] = {
        "{'a':1}",
        "[NaN]",
        "{\"a\":1,}",
        "// c\n{}",
        "{\"a\":1} x",
        "{\"a\":01}",
        "{\"a\":99999999999999999999}",
        "{\"a\":-9223372036854775809}",
        "",
        "{\"a\":\"\\x\"}",
        "[1 2]",
        "{\"a\" 1}",
        "\"\x01\"",
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        cleanup_error struct lcow_error *err = NULL;
        struct json_object *o = NULL;
        assert_int_equal(lcow_json_parse(bad[i], strlen(bad[i]), "doc", &o, &err), -EINVAL);
        assert_null(o);
        assert_non_null(strstr(err->msg, "doc"));
    }
    static const char *const good[] = {"{\"a\":1}\n", " [1,2.5e3,-0,\"\\u00e9\"] ", "true",
                                       "{\"a\":18446744073709551615}"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(good); i++) {
        cleanup_json struct json_object *o = NULL;
        assert_int_equal(lcow_json_parse(good[i], strlen(good[i]), "doc", &o, NULL), 0);
        assert_non_null(o);
    }
}

static void test_json_deep_nesting_rejected(void **state)
{
    char buf[2 * (LCOW_JSON_MAX_DEPTH + 2)];
    size_t n = LCOW_JSON_MAX_DEPTH + 1;
    memset(buf, '[', n);
    memset(buf + n, ']', n);
    struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(buf, 2 * n, "doc", &o, NULL), -EINVAL);
}

static void test_json_fields_go_semantics(void **state)
{
    const char *doc = "{\"Name\":\"x\",\"count\":7,\"Neg\":-1,\"Nul\":null,\"Flag\":true,"
                      "\"Big\":4294967296,\"F\":1.5,\"Arr\":[\"a\",\"b\"],\"BadArr\":[1]}";
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "doc", &o, NULL), 0);
    const char *s = "default";
    assert_int_equal(lcow_json_get_string(o, "", "name", &s, NULL), 0);
    assert_string_equal(s, "x");
    s = "default";
    assert_int_equal(lcow_json_get_string(o, "", "nul", &s, NULL), 0);
    assert_string_equal(s, "default");
    assert_int_equal(lcow_json_get_string(o, "", "missing", &s, NULL), 0);
    assert_string_equal(s, "default");
    uint32_t u = 0;
    assert_int_equal(lcow_json_get_uint32(o, "", "COUNT", &u, NULL), 0);
    assert_int_equal(u, 7);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(lcow_json_get_uint32(o, "Settings", "Neg", &u, &err), -ERANGE);
    assert_non_null(strstr(err->msg, "Settings.Neg"));
    lcow_error_release(&err);
    assert_int_equal(lcow_json_get_uint32(o, "", "Big", &u, &err), -ERANGE);
    lcow_error_release(&err);
    int64_t i64 = 0;
    assert_int_equal(lcow_json_get_int64(o, "", "F", &i64, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(lcow_json_get_string(o, "Root", "count", &s, &err), -EINVAL);
    assert_string_equal(err->msg, "Root.count: expected string, got int");
    lcow_error_release(&err);
    bool b = false;
    assert_int_equal(lcow_json_get_bool(o, "", "flag", &b, NULL), 0);
    assert_true(b);
    cleanup_strv char **v = NULL;
    assert_int_equal(lcow_json_get_strv(o, "", "arr", &v, NULL), 0);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "b");
    assert_null(v[2]);
    char **bad = NULL;
    assert_int_equal(lcow_json_get_strv(o, "", "BadArr", &bad, &err), -EINVAL);
    assert_null(bad);
    assert_non_null(strstr(err->msg, "BadArr[0]"));
}

static void test_json_exact_case_wins(void **state)
{
    const char *doc = "{\"id\":\"lower\",\"ID\":\"upper\"}";
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "doc", &o, NULL), 0);
    const char *s = NULL;
    assert_int_equal(lcow_json_get_string(o, "", "ID", &s, NULL), 0);
    assert_string_equal(s, "upper");
    assert_int_equal(lcow_json_get_string(o, "", "Id", &s, NULL), 0);
    assert_non_null(s);
}

/* A present string replaces (and frees) the old copy; absent leaves it; a wrong type names
 * the field and leaves it too. */
static void test_json_get_strdup(void **state)
{
    (void)state;
    const char *doc = "{\"name\":\"box\",\"num\":3}";
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "doc", &o, NULL), 0);
    cleanup_free char *v = strdup("old");
    assert_int_equal(lcow_json_get_strdup(o, "spec", "Name", &v, NULL), 0);
    assert_string_equal(v, "box");
    assert_int_equal(lcow_json_get_strdup(o, "spec", "missing", &v, NULL), 0);
    assert_string_equal(v, "box");
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(lcow_json_get_strdup(o, "spec", "num", &v, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "spec.num"));
    assert_string_equal(v, "box");
}

static void test_log_json_record(void **state)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    lcow_log_setup(p[1], LCOW_LOG_DEBUG, true);
    struct lcow_log_field f[] = {{"cid", "c\"1"}};
    lcow_log_fields(LCOW_LOG_WARNING, f, 1, "hello %s", "world\n");
    lcow_log(LCOW_LOG_TRACE, "filtered out");
    close(p[1]);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_fd_all(p[0], 65536, &out, &len), 0);
    close(p[0]);
    assert_int_equal(out[len - 1], '\n');
    assert_null(strchr(out, '\n') + 1 < out + len ? strchr(strchr(out, '\n') + 1, '\n') : NULL);
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(out, len, "log", &o, NULL), 0);
    const char *lvl = NULL, *msg = NULL, *cid = NULL, *t = NULL;
    lcow_json_get_string(o, "", "level", &lvl, NULL);
    lcow_json_get_string(o, "", "msg", &msg, NULL);
    lcow_json_get_string(o, "", "cid", &cid, NULL);
    lcow_json_get_string(o, "", "time", &t, NULL);
    assert_string_equal(lvl, "warning");
    assert_string_equal(msg, "hello world\n");
    assert_string_equal(cid, "c\"1");
    assert_int_equal(strlen(t), strlen("2026-01-01T00:00:00.000000000Z"));
    free(out);
    lcow_log_setup(2, LCOW_LOG_INFO, false);
}

static void test_log_levels(void **state)
{
    enum lcow_log_level l;
    assert_int_equal(lcow_log_parse_level("warn", &l), 0);
    assert_int_equal(l, LCOW_LOG_WARNING);
    assert_int_equal(lcow_log_parse_level("TRACE", &l), 0);
    assert_int_equal(l, LCOW_LOG_TRACE);
    assert_int_equal(lcow_log_parse_level("loud", &l), -EINVAL);
}

static void test_io_files_and_mkdir(void **state)
{
    char dir[] = "/tmp/lcow-test-common-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256];
    snprintf(path, sizeof(path), "%s/f", dir);
    snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
    assert_int_equal(lcow_write_file_atomic(path, "abc", 3, 0600, NULL), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file(path, 1024, &data, &len, NULL), 0);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    free(data);
    assert_int_equal(lcow_read_file(path, 2, &data, &len, NULL), -EFBIG);
    assert_int_equal(lcow_mkdir_p(sub, 0755, NULL), 0);
    assert_int_equal(lcow_mkdir_p(sub, 0755, NULL), 0);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(lcow_mkdir_p(path, 0755, &err), -ENOTDIR);
    assert_int_equal(lcow_read_file("/nonexistent/x", 10, &data, &len, &err), -ENOENT);
    unlink(path);
    rmdir(sub);
    snprintf(sub, sizeof(sub), "%s/a/b", dir);
    rmdir(sub);
    snprintf(sub, sizeof(sub), "%s/a", dir);
    rmdir(sub);
    assert_int_equal(rmdir(dir), 0);
}

static void test_close_fds_from(void **state)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 200);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        lcow_close_fds_from(100);
        _exit(fcntl(high, F_GETFD) == -1 && errno == EBADF ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(fcntl(high, F_GETFD) >= 0);
    close(high);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_make_and_wrap),
        cmocka_unit_test(test_json_strict_syntax),
        cmocka_unit_test(test_json_deep_nesting_rejected),
        cmocka_unit_test(test_json_fields_go_semantics),
        cmocka_unit_test(test_json_exact_case_wins),
        cmocka_unit_test(test_json_get_strdup),
        cmocka_unit_test(test_log_json_record),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_io_files_and_mkdir),
        cmocka_unit_test(test_close_fds_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
