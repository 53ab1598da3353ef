/* Unit tests for runlcow's host pieces that need no VM: SHA-256, the content key of a rootfs
 * tree, the cached ext4 image (real mke2fs), sparse scratch files, the guest spec rewrite
 * (lcow-host.md §3.1 step 6), container ids, the control socket (fds across), state files,
 * and the QMP client against a fake QEMU in a child process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "host/layers.h"
#include "host/qmp.h"
#include "host/runlcow.h"
#include "host/sha256.h"

static char tmpdir[64];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_runlcow.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    const char *argv[] = {"rm", "-rf", tmpdir, NULL};
    pid_t p = fork();
    if (p == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    waitpid(p, NULL, 0);
    return 0;
}

static void hex_of(const char *s, size_t len, char out[65])
{
    struct host_sha256 h;
    uint8_t d[32];
    host_sha256_init(&h);
    host_sha256_update(&h, s, len);
    host_sha256_final(&h, d);
    host_sha256_hex(d, out);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char out[65];
    hex_of("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* One million 'a', fed in odd-sized pieces across block boundaries. */
    struct host_sha256 h;
    host_sha256_init(&h);
    char buf[997];
    memset(buf, 'a', sizeof(buf));
    size_t left = 1000000;
    while (left) {
        size_t k = left < sizeof(buf) ? left : sizeof(buf);
        host_sha256_update(&h, buf, k);
        left -= k;
    }
    uint8_t d[32];
    host_sha256_final(&h, d);
    host_sha256_hex(d, out);
    assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void make_tree(const char *root)
{
    char p[256];
    assert_int_equal(mkdir(root, 0755), 0);
    snprintf(p, sizeof(p), "%s/bin", root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/bin/hello", root);
    assert_int_equal(lcow_write_file(p, "hello\n", 6, O_WRONLY | O_CREAT | O_TRUNC, 0755, NULL), 0);
    snprintf(p, sizeof(p), "%s/bin/link", root);
    assert_int_equal(symlink("hello", p), 0);
}

static void test_tree_hash_and_image(void **state)
{
    (void)state;
    char root[128], cache[128], p[256];
    snprintf(root, sizeof(root), "%s/rootfs", tmpdir);
    snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
    make_tree(root);
    struct host_tree_info a, b;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_tree_hash(root, &a, &err), 0);
    assert_int_equal(host_tree_hash(root, &b, &err), 0);
    assert_string_equal(a.key, b.key);
    assert_int_equal(a.inodes, 4); /* root, bin, hello, link */
    /* Content, mode and link targets all change the key. */
    snprintf(p, sizeof(p), "%s/bin/hello", root);
    assert_int_equal(lcow_write_file(p, "hellO\n", 6, O_WRONLY | O_TRUNC, 0755, NULL), 0);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    assert_int_equal(host_tree_hash(root, &b, &err), 0);
    assert_string_not_equal(a.key, b.key);
    struct host_tree_info c;
    assert_int_equal(chmod(p, 0700), 0);
    assert_int_equal(host_tree_hash(root, &c, &err), 0);
    assert_string_not_equal(b.key, c.key);

    cleanup_free char *img = NULL, *img2 = NULL;
    assert_int_equal(host_layer_image(cache, root, &img, &err), 0);  /* built */
    assert_int_equal(host_layer_image(cache, root, &img2, &err), 1); /* cached */
    assert_string_equal(img, img2);
    /* An ext4 superblock: magic 0xEF53 at byte 1024 + 56. */
    cleanup_close int fd = open(img, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    uint8_t magic[2];
    assert_int_equal(pread(fd, magic, 2, 1080), 2);
    assert_int_equal(magic[0] | magic[1] << 8, 0xEF53);
    /* No temporary file is left in the cache. */
    cleanup_dir DIR *d = opendir(cache);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    assert_int_equal(n, 1);

    snprintf(p, sizeof(p), "%s/missing", tmpdir);
    free(img);
    img = NULL;
    lcow_error_release(&err);
    assert_int_equal(host_layer_image(cache, p, &img, &err), -ENOENT);
    assert_non_null(strstr(lcow_error_message(err), "missing"));
}

static void test_scratch_sparse(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof(p), "%s/scratch.img", tmpdir);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_scratch_create(p, 1ull << 30, &err), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 1ll << 30);
    assert_true(st.st_blocks < 64);
    assert_int_equal(host_scratch_create(p, 4096, &err), -EEXIST);
}

static struct json_object *parse(const char *s)
{
    struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(s, strlen(s), "test", &o, NULL), 0);
    return o;
}

static void test_guest_spec(void **state)
{
    (void)state;
    cleanup_json struct json_object *spec = parse(
        "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
        "\"hooks\":{\"prestart\":[{\"path\":\"/x\"}]},"
        "\"annotations\":{\"io.microsoft.virtualmachine.lcow.privileged\":\"true\"},"
        "\"windows\":{\"layerFolders\":[\"a\"],\"network\":{\"networkNamespace\":\"ns\","
        "\"endpointList\":[\"e\"]},\"devices\":[{\"id\":\"d\"}]},"
        "\"linux\":{\"cgroupsPath\":\"/x/y\",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"},"
        "\"resources\":{\"devices\":[{\"allow\":false}],\"pids\":{\"limit\":5},"
        "\"memory\":{\"limit\":1048576},\"cpu\":{\"period\":0,\"quota\":0,\"shares\":2}}}}");
    cleanup_json struct json_object *g = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(rl_guest_spec(spec, "/run/gcs/c/c1/rootfs", &g, &err), 0);
    const char *out =
        json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    assert_non_null(strstr(out, "\"root\":{\"path\":\"/run/gcs/c/c1/rootfs\"}"));
    assert_null(strstr(out, "hooks"));
    assert_null(strstr(out, "layerFolders"));
    assert_null(strstr(out, "endpointList"));
    assert_non_null(strstr(out, "\"networkNamespace\":\"ns\""));
    assert_non_null(strstr(out, "\"devices\":[{\"id\":\"d\"}]"));
    assert_non_null(strstr(out, "\"cgroupsPath\":\"\""));
    assert_null(strstr(out, "seccomp"));
    assert_null(strstr(out, "pids"));
    assert_null(strstr(out, "\"allow\""));
    assert_non_null(strstr(out, "\"memory\":{\"limit\":1048576}"));
    assert_non_null(strstr(out, "\"period\":100000"));
    assert_non_null(strstr(out, "\"quota\":-1"));
    assert_non_null(strstr(out, "\"shares\":2"));
    /* The bundle's own spec is untouched. */
    const char *orig = json_object_to_json_string(spec);
    assert_non_null(strstr(orig, "hooks"));
    assert_non_null(strstr(orig, "seccomp"));

    /* Not privileged: seccomp stays. */
    cleanup_json struct json_object *s2 =
        parse("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"}}}");
    cleanup_json struct json_object *g2 = NULL;
    assert_int_equal(rl_guest_spec(s2, "/r", &g2, &err), 0);
    assert_non_null(strstr(json_object_to_json_string(g2), "seccomp"));
}

static void test_ids(void **state)
{
    (void)state;
    const char *good[] = {"a", "c1", "A.b_c+d-e", "0123456789012345678901234567890123456789"};
    const char *bad[] = {"",
                         ".x",
                         "../x",
                         "a/b",
                         "a b",
                         "x\n",
                         "01234567890123456789012345678901234567890123456789012345678901234"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(good); i++)
        assert_int_equal(rl_check_id(good[i], NULL), 0);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        cleanup_error struct lcow_error *err = NULL;
        assert_int_equal(rl_check_id(bad[i], &err), -EINVAL);
        assert_non_null(strstr(lcow_error_message(err), "invalid container id"));
    }
}

static void test_state_roundtrip(void **state)
{
    (void)state;
    struct rl_globals g = {.root = tmpdir};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(rl_dir_create(&g, "s1", &err), 0);
    assert_int_equal(rl_dir_create(&g, "s1", &err), -EEXIST);
    assert_non_null(strstr(lcow_error_message(err), "already exists"));
    lcow_error_release(&err);
    struct rl_state s = {.id = "s1",
                         .bundle = "/b",
                         .rootfs = "/b/rootfs",
                         .created = "t",
                         .pid = getpid(),
                         .status = RL_RUNNING,
                         .exit_code = -1};
    assert_int_equal(rl_state_write(&g, &s, &err), 0);
    struct rl_state r = {0};
    assert_int_equal(rl_state_read(&g, "s1", &r, &err), 0);
    assert_int_equal(r.status, RL_RUNNING); /* we are alive */
    assert_string_equal(r.bundle, "/b");
    rl_state_done(&r);
    /* A supervisor that is gone reads as stopped. */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    s.pid = child;
    assert_int_equal(rl_state_write(&g, &s, &err), 0);
    assert_int_equal(rl_state_read(&g, "s1", &r, &err), 0);
    assert_int_equal(r.status, RL_STOPPED);
    cleanup_json struct json_object *j = rl_state_json(&r);
    assert_non_null(strstr(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), "\"pid\":0"));
    rl_state_done(&r);
    assert_int_equal(rl_dir_remove(&g, "s1", &err), 0);
    assert_int_equal(rl_state_read(&g, "s1", &r, &err), -ENOENT);
    assert_non_null(strstr(lcow_error_message(err), "does not exist"));
}

static void test_ctl_fds(void **state)
{
    (void)state;
    cleanup_error struct lcow_error *err = NULL;
    cleanup_close int l = rl_ctl_listen(tmpdir, &err);
    assert_true(l >= 0);
    cleanup_close int c = rl_ctl_dial(tmpdir, &err);
    assert_true(c >= 0);
    cleanup_close int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(s >= 0);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    cleanup_json struct json_object *msg = parse("{\"op\":\"exec\",\"n\":1}");
    const int fds[3] = {p[0], p[1], p[1]};
    assert_int_equal(rl_ctl_send(c, msg, fds, 3, &err), 0);
    close(p[0]);
    close(p[1]);
    cleanup_json struct json_object *got = NULL;
    int rfds[3] = {-1, -1, -1};
    size_t n = 3;
    assert_int_equal(rl_ctl_recv(s, 1000, &got, rfds, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(json_object_get_string(json_object_object_get(got, "op")), "exec");
    /* The fds work: what goes into the passed write end comes out of the read end. */
    assert_int_equal(write(rfds[1], "x", 1), 1);
    char ch = 0;
    assert_int_equal(read(rfds[0], &ch, 1), 1);
    assert_int_equal(ch, 'x');
    for (int i = 0; i < 3; i++)
        close(rfds[i]);
    /* A closed peer is -ECONNRESET; silence is -ETIMEDOUT. */
    cleanup_json struct json_object *none = NULL;
    assert_int_equal(rl_ctl_recv(s, 50, &none, NULL, NULL, &err), -ETIMEDOUT);
    lcow_error_release(&err);
    close(c);
    c = -1;
    assert_int_equal(rl_ctl_recv(s, 1000, &none, NULL, NULL, &err), -ECONNRESET);
}

/* A fake QEMU: greeting, capabilities, one blockdev-add answered after an unrelated event,
 * an error for device_add, device_del followed by its DEVICE_DELETED event, then EOF. */
static void fake_qmp(int l)
{
    int c = accept(l, NULL, NULL);
    FILE *in = fdopen(fcntl(c, F_DUPFD_CLOEXEC, 3), "r");
    const char *greet = "{\"QMP\":{\"version\":{},\"capabilities\":[]}}\r\n";
    (void)!write(c, greet, strlen(greet));
    char line[4096];
    while (fgets(line, sizeof(line), in)) {
        const char *r = "{\"return\":{}}\r\n";
        if (strstr(line, "blockdev-add"))
            r = "{\"event\":\"X\",\"data\":{}}\r\n{\"return\":{}}\r\n";
        else if (strstr(line, "device_add"))
            r = "{\"error\":{\"class\":\"GenericError\",\"desc\":\"Duplicate ID\"}}\r\n";
        else if (strstr(line, "device_del"))
            r = "{\"return\":{}}\r\n{\"event\":\"DEVICE_DELETED\",\"data\":{\"path\":\"/x\"}}\r\n"
                "{\"event\":\"DEVICE_DELETED\",\"data\":{\"device\":\"l0\",\"path\":\"/y\"}}\r\n";
        else if (strstr(line, "\"quit\""))
            break;
        (void)!write(c, r, strlen(r));
    }
    _exit(0);
}

static void test_qmp_fake(void **state)
{
    (void)state;
    char path[96];
    snprintf(path, sizeof(path), "%s/qmp.sock", tmpdir);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l, 1), 0);
    pid_t child = fork();
    if (child == 0)
        fake_qmp(l);
    close(l);
    cleanup_error struct lcow_error *err = NULL;
    struct host_qmp *q = NULL;
    assert_int_equal(host_qmp_connect(path, 2000, &q, &err), 0);
    assert_int_equal(host_qmp_blockdev_add(q, "l0", "/img", true, 2000, &err), 0);
    assert_int_equal(host_qmp_scsi_add(q, "l0", "l0", "scsi0.0", 3, 2000, &err), -EREMOTEIO);
    assert_non_null(strstr(lcow_error_message(err), "Duplicate ID"));
    lcow_error_release(&err);
    assert_int_equal(host_qmp_device_del(q, "l0", 2000, &err), 0);
    assert_int_equal(host_qmp_call(q, "quit", NULL, 2000, NULL, &err), -ECONNRESET);
    host_qmp_free(q);
    int st = 0;
    waitpid(child, &st, 0);
    assert_int_equal(st, 0);
    /* Nobody there: a bounded, clear failure. */
    lcow_error_release(&err);
    assert_true(host_qmp_connect(path, 100, &q, &err) < 0);
    assert_non_null(strstr(lcow_error_message(err), "QMP"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test_setup_teardown(test_tree_hash_and_image, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_scratch_sparse, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_guest_spec),
        cmocka_unit_test(test_ids),
        cmocka_unit_test_setup_teardown(test_state_roundtrip, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_ctl_fds, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_qmp_fake, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
