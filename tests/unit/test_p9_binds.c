/* host/p9_binds.c: OCI bind mounts → Plan9 shares, the spec rewrite, the MappedDirectory
 * requests (encoded as lcow-host.md §3.2 shows them), and share add/undo on a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/protocol.h"
#include "host/p9_binds.h"
#include "host/p9_server.h"

static char dir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test-p9b.XXXXXX");
    assert_non_null(mkdtemp(dir));
    char p[128];
    snprintf(p, sizeof(p), "%s/data", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/file.txt", dir);
    assert_int_equal(lcow_write_file(p, "x", 1, O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL), 0);
    snprintf(p, sizeof(p), "%s/link", dir);
    assert_int_equal(symlink("data", p), 0);
    return 0;
}

static int teardown(void **state)
{
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static struct json_object *spec_with(const char *extra)
{
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"mounts\":["
             "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
             "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"%s/link\","
             "\"options\":[\"rbind\",\"rw\"]},"
             "{\"destination\":\"/etc/f\",\"source\":\"%s/file.txt\","
             "\"options\":[\"rbind\",\"ro\"]},"
             "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
             "{\"destination\":\"/s\",\"type\":\"bind\",\"source\":\"sandbox:///x\"}%s]}",
             dir, dir, extra);
    struct json_object *j = json_tokener_parse(buf);
    assert_non_null(j);
    return j;
}

static const char *source_of(struct json_object *spec, size_t i)
{
    struct json_object *mounts = NULL, *src = NULL;
    json_object_object_get_ex(spec, "mounts", &mounts);
    json_object_object_get_ex(json_object_array_get_idx(mounts, i), "source", &src);
    return json_object_get_string(src);
}

static void test_spec_binds(void **state)
{
    struct json_object *spec = spec_with("");
    struct host_p9_binds b = {0};
    uint32_t counter = 5;
    assert_int_equal(host_p9_spec_binds(spec, "c1", &counter, &b, NULL), 0);
    assert_int_equal(counter, 7);
    assert_int_equal(b.n, 2);
    char want[128];
    snprintf(want, sizeof(want), "%s/data", dir);
    assert_int_equal(b.v[0].index, 1);
    assert_string_equal(b.v[0].share_name, "5");
    assert_string_equal(b.v[0].host_dir, want); /* the symlink resolved */
    assert_null(b.v[0].host_file);
    assert_false(b.v[0].read_only);
    assert_string_equal(b.v[0].mount_path, "/run/gcs/c/c1/mounts/m1");
    assert_int_equal(b.v[1].index, 2);
    assert_string_equal(b.v[1].share_name, "6");
    assert_string_equal(b.v[1].host_dir, dir);
    assert_string_equal(b.v[1].host_file, "file.txt");
    assert_true(b.v[1].read_only);
    assert_string_equal(source_of(spec, 0), "proc");
    assert_string_equal(source_of(spec, 1), "/run/gcs/c/c1/mounts/m1");
    assert_string_equal(source_of(spec, 2), "/run/gcs/c/c1/mounts/m2/file.txt");
    assert_string_equal(source_of(spec, 4), "sandbox:///x");

    /* The request, encoded as the Windows host sends it. */
    struct gcs_modify_settings_request q = {
        .base = {.container_id = (char *)"00000000-0000-0000-0000-000000000000",
                 .activity_id = (char *)"00000000-0000-0000-0000-000000000000"}};
    host_p9_bind_request(&b.v[1], true, &q.request);
    cleanup_free char *json = NULL;
    assert_int_equal(gcs_encode_modify_settings_request(&q, &json, NULL), 0);
    assert_non_null(strstr(json, "\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":"
                                 "\"MappedDirectory\",\"Settings\":{\"MountPath\":\"/run/gcs/c/"
                                 "c1/mounts/m2\",\"Port\":564,\"ShareName\":\"6\","
                                 "\"ReadOnly\":true}}"));
    host_p9_bind_request(&b.v[0], false, &q.request);
    assert_int_equal(q.request.request_type, GCS_REQUEST_REMOVE);
    host_p9_binds_done(&b);
    json_object_put(spec);
}

static void test_bad_sources(void **state)
{
    const char *bad[] = {
        ",{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"relative/dir\"}",
        ",{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/nonexistent/p9\"}",
        ",{\"destination\":\"/x\",\"options\":[\"bind\"],\"source\":\"/dev/null\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct json_object *spec = spec_with(bad[i]);
        struct host_p9_binds b = {0};
        uint32_t counter = 1;
        cleanup_error struct lcow_error *err = NULL;
        assert_true(host_p9_spec_binds(spec, "c1", &counter, &b, &err) < 0);
        assert_non_null(strstr(lcow_error_message(err), "mounts[5]"));
        /* Nothing changed. */
        assert_int_equal(counter, 1);
        assert_int_equal(b.n, 0);
        assert_string_not_equal(source_of(spec, 1), "/run/gcs/c/c1/mounts/m1");
        json_object_put(spec);
    }
    struct json_object *spec = spec_with("");
    struct host_p9_binds b = {0};
    uint32_t counter = 1;
    assert_int_equal(host_p9_spec_binds(spec, "../x", &counter, &b, NULL), -EINVAL);
    json_object_put(spec);
}

static void test_share_and_undo(void **state)
{
    struct json_object *spec = spec_with("");
    struct host_p9_binds b = {0};
    uint32_t counter = 1;
    assert_int_equal(host_p9_spec_binds(spec, "c1", &counter, &b, NULL), 0);
    struct host_p9_server *s = NULL;
    assert_int_equal(host_p9_server_new(0, &s, NULL), 0);
    /* Share "2" is taken: the first share is undone. */
    assert_int_equal(host_p9_server_add_share(s, "2", dir, false, NULL), 0);
    assert_int_equal(host_p9_binds_share(s, &b, NULL), -EEXIST);
    assert_int_equal(host_p9_server_remove_share(s, "1", NULL), -ENOENT);
    assert_int_equal(host_p9_server_remove_share(s, "2", NULL), 0);
    assert_int_equal(host_p9_binds_share(s, &b, NULL), 0);
    host_p9_binds_unshare(s, &b);
    assert_int_equal(host_p9_server_remove_share(s, "1", NULL), -ENOENT);
    assert_int_equal(host_p9_server_remove_share(s, "2", NULL), -ENOENT);
    host_p9_server_free(s);
    host_p9_binds_done(&b);
    json_object_put(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_binds),
        cmocka_unit_test(test_bad_sources),
        cmocka_unit_test(test_share_and_undo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
