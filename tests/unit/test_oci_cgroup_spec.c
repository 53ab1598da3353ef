/* Unit tests for the linux.resources and linux.seccomp parsers: every field family, and bad
 * values rejected with the JSON path of the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/json.h"
#include "oci/spec_resources.h"
#include "oci/spec_seccomp.h"

static struct json_object *parse(const char *doc)
{
    struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "test", &o, NULL), 0);
    return o;
}

static const char full_resources[] =
    "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"wr\"},"
    "{\"allow\":true,\"type\":\"b\",\"major\":8,\"access\":\"m\"}],"
    "\"memory\":{\"limit\":67108864,\"reservation\":33554432,\"swap\":134217728,"
    "\"kernel\":-1,\"kernelTCP\":1024,\"swappiness\":60,\"disableOOMKiller\":true,"
    "\"useHierarchy\":false,\"checkBeforeUpdate\":true},"
    "\"cpu\":{\"shares\":512,\"quota\":50000,\"burst\":1000,\"period\":100000,"
    "\"realtimeRuntime\":950,\"realtimePeriod\":1000,\"cpus\":\"0-1\",\"mems\":\"0\",\"idle\":1},"
    "\"pids\":{\"limit\":32},"
    "\"blockIO\":{\"weight\":500,\"leafWeight\":300,"
    "\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":600,\"leafWeight\":100}],"
    "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
    "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":16,\"rate\":2}],"
    "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":100}],"
    "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":200}]},"
    "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304},{\"pageSize\":\"1GB\",\"limit\":"
    "0}],"
    "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]},"
    "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}},"
    "\"unified\":{\"memory.high\":\"1000000\",\"io.weight\":\"default 100\"},"
    "\"unknownField\":{\"ignored\":true}}";

static void test_resources_every_field(void **state)
{
    cleanup_json struct json_object *o = parse(full_resources);
    struct oci_linux_resources r = {0};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_linux_resources_parse(o, "linux.resources", &r, &err), 0);

    assert_true(r.has_devices);
    assert_int_equal(r.n_devices, 3);
    assert_false(r.devices[0].allow);
    assert_int_equal(r.devices[0].type, 'a');
    assert_int_equal(r.devices[0].major, -1);
    assert_int_equal(r.devices[0].minor, -1);
    assert_true(r.devices[1].allow);
    assert_int_equal(r.devices[1].type, 'c');
    assert_int_equal(r.devices[1].major, 1);
    assert_int_equal(r.devices[1].minor, 3);
    assert_string_equal(r.devices[1].access, "rw"); /* normalised order */
    assert_int_equal(r.devices[2].type, 'b');
    assert_int_equal(r.devices[2].minor, -1);
    assert_string_equal(r.devices[2].access, "m");

    assert_true(r.memory.limit.set);
    assert_int_equal(r.memory.limit.v, 67108864);
    assert_int_equal(r.memory.reservation.v, 33554432);
    assert_int_equal(r.memory.swap.v, 134217728);
    assert_int_equal(r.memory.kernel.v, -1);
    assert_int_equal(r.memory.kernel_tcp.v, 1024);
    assert_int_equal(r.memory.swappiness.v, 60);
    assert_true(r.memory.disable_oom_killer.set && r.memory.disable_oom_killer.v);
    assert_true(r.memory.use_hierarchy.set && !r.memory.use_hierarchy.v);
    assert_true(r.memory.check_before_update.v);

    assert_int_equal(r.cpu.shares.v, 512);
    assert_int_equal(r.cpu.quota.v, 50000);
    assert_int_equal(r.cpu.burst.v, 1000);
    assert_int_equal(r.cpu.period.v, 100000);
    assert_int_equal(r.cpu.realtime_runtime.v, 950);
    assert_int_equal(r.cpu.realtime_period.v, 1000);
    assert_string_equal(r.cpu.cpus, "0-1");
    assert_string_equal(r.cpu.mems, "0");
    assert_int_equal(r.cpu.idle.v, 1);

    assert_true(r.pids.limit.set);
    assert_int_equal(r.pids.limit.v, 32);

    assert_int_equal(r.blkio.weight.v, 500);
    assert_int_equal(r.blkio.leaf_weight.v, 300);
    assert_int_equal(r.blkio.n_weight_device, 1);
    assert_int_equal(r.blkio.weight_device[0].major, 8);
    assert_int_equal(r.blkio.weight_device[0].weight.v, 600);
    assert_int_equal(r.blkio.weight_device[0].leaf_weight.v, 100);
    assert_int_equal(r.blkio.read_bps.n, 1);
    assert_int_equal(r.blkio.read_bps.v[0].rate, 1048576);
    assert_int_equal(r.blkio.write_bps.v[0].minor, 16);
    assert_int_equal(r.blkio.read_iops.v[0].rate, 100);
    assert_int_equal(r.blkio.write_iops.v[0].rate, 200);

    assert_int_equal(r.n_hugepage_limits, 2);
    assert_string_equal(r.hugepage_limits[0].page_size, "2MB");
    assert_int_equal(r.hugepage_limits[0].limit, 4194304);
    assert_string_equal(r.hugepage_limits[1].page_size, "1GB");

    assert_int_equal(r.network.class_id.v, 1048577);
    assert_int_equal(r.network.n_priorities, 1);
    assert_string_equal(r.network.priorities[0].name, "eth0");
    assert_int_equal(r.network.priorities[0].priority, 5);

    assert_int_equal(r.n_rdma, 1);
    assert_string_equal(r.rdma[0].device, "mlx5_1");
    assert_int_equal(r.rdma[0].hca_handles.v, 3);
    assert_int_equal(r.rdma[0].hca_objects.v, 10000);

    assert_int_equal(r.n_unified, 2);
    bool saw_high = false;
    for (size_t i = 0; i < r.n_unified; i++)
        if (strcmp(r.unified[i].key, "memory.high") == 0)
            saw_high = strcmp(r.unified[i].value, "1000000") == 0;
    assert_true(saw_high);
    oci_linux_resources_done(&r);
    assert_null(r.devices);
}

static void test_resources_absent_and_empty(void **state)
{
    struct oci_linux_resources r = {0};
    assert_int_equal(oci_linux_resources_parse(NULL, "linux.resources", &r, NULL), 0);
    assert_false(r.has_devices);
    assert_false(r.memory.limit.set);
    cleanup_json struct json_object *o =
        parse("{\"memory\":{\"limit\":0},\"devices\":[],\"pids\":null}");
    assert_int_equal(oci_linux_resources_parse(o, "linux.resources", &r, NULL), 0);
    /* 0 is a value, not "absent"; null is absent. */
    assert_true(r.memory.limit.set);
    assert_int_equal(r.memory.limit.v, 0);
    assert_true(r.has_devices);
    assert_int_equal(r.n_devices, 0);
    assert_false(r.has_pids);
    oci_linux_resources_done(&r);
}

struct bad_case {
    const char *doc;
    const char *path; /* must appear in the message */
};

static void check_bad_resources(const struct bad_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cleanup_json struct json_object *o = parse(c[i].doc);
        struct oci_linux_resources r = {0};
        cleanup_error struct lcow_error *err = NULL;
        int rc = oci_linux_resources_parse(o, "linux.resources", &r, &err);
        if (rc >= 0 || err == NULL || strstr(err->msg, c[i].path) == NULL)
            fail_msg("case %zu `%s`: rc=%d msg=`%s`, want path `%s`", i, c[i].doc, rc,
                     lcow_error_message(err), c[i].path);
        /* *ret untouched on failure */
        assert_null(r.devices);
    }
}

static void test_resources_bad_values(void **state)
{
    static const struct bad_case cases[] = {
        {"[]", "linux.resources"},
        {"{\"devices\":{}}", "linux.resources.devices"},
        {"{\"devices\":[1]}", "linux.resources.devices[0]"},
        {"{\"devices\":[{\"allow\":\"yes\",\"access\":\"r\"}]}",
         "linux.resources.devices[0].allow"},
        {"{\"devices\":[{\"allow\":true,\"type\":\"x\",\"access\":\"r\"}]}",
         "linux.resources.devices[0].type"},
        {"{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}",
         "linux.resources.devices[0].access"},
        {"{\"devices\":[{\"allow\":true,\"access\":\"rr\"}]}", "linux.resources.devices[0].access"},
        {"{\"devices\":[{\"allow\":true}]}", "linux.resources.devices[0].access"},
        {"{\"devices\":[{\"allow\":true,\"access\":\"r\"},{\"allow\":true,\"major\":-5,"
         "\"access\":\"r\"}]}",
         "linux.resources.devices[1].major"},
        {"{\"memory\":{\"limit\":\"1G\"}}", "linux.resources.memory.limit"},
        {"{\"memory\":{\"swappiness\":101}}", "linux.resources.memory.swappiness"},
        {"{\"memory\":{\"swappiness\":-1}}", "linux.resources.memory.swappiness"},
        {"{\"memory\":{\"disableOOMKiller\":1}}", "linux.resources.memory.disableOOMKiller"},
        {"{\"memory\":[]}", "linux.resources.memory"},
        {"{\"cpu\":{\"shares\":-2}}", "linux.resources.cpu.shares"},
        {"{\"cpu\":{\"quota\":1.5}}", "linux.resources.cpu.quota"},
        {"{\"cpu\":{\"cpus\":3}}", "linux.resources.cpu.cpus"},
        {"{\"pids\":{\"limit\":true}}", "linux.resources.pids.limit"},
        {"{\"blockIO\":{\"weight\":70000}}", "linux.resources.blockIO.weight"},
        {"{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":-1}]}}",
         "linux.resources.blockIO.weightDevice[0].weight"},
        {"{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":-1}]}}",
         "linux.resources.blockIO.throttleReadBpsDevice[0].rate"},
        {"{\"blockIO\":{\"throttleWriteIOPSDevice\":[5]}}",
         "linux.resources.blockIO.throttleWriteIOPSDevice[0]"},
        {"{\"hugepageLimits\":[{\"pageSize\":\"2M\",\"limit\":1}]}",
         "linux.resources.hugepageLimits[0].pageSize"},
        {"{\"hugepageLimits\":[{\"limit\":1}]}", "linux.resources.hugepageLimits[0].pageSize"},
        {"{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":-1}]}",
         "linux.resources.hugepageLimits[0].limit"},
        {"{\"network\":{\"classID\":4294967296}}", "linux.resources.network.classID"},
        {"{\"network\":{\"priorities\":[{\"name\":\"\",\"priority\":1}]}}",
         "linux.resources.network.priorities[0].name"},
        {"{\"network\":{\"priorities\":[{\"name\":\"eth0\",\"priority\":-1}]}}",
         "linux.resources.network.priorities[0].priority"},
        {"{\"rdma\":{\"mlx\":{\"hcaHandles\":-1}}}", "linux.resources.rdma.mlx.hcaHandles"},
        {"{\"rdma\":{\"mlx\":5}}", "linux.resources.rdma.mlx"},
        {"{\"unified\":{\"memory.max\":5}}", "linux.resources.unified.memory.max"},
        {"{\"unified\":{\"../escape\":\"1\"}}", "linux.resources.unified"},
        {"{\"unified\":{\"..\":\"1\"}}", "linux.resources.unified"},
    };
    check_bad_resources(cases, LCOW_ARRAY_SIZE(cases));
}

static void test_device_rule_parse(void **state)
{
    cleanup_json struct json_object *o = parse("{\"allow\":true,\"type\":\"\",\"access\":\"mwr\"}");
    struct oci_device_rule d;
    assert_int_equal(oci_device_rule_parse(o, "x", &d, NULL), 0);
    assert_int_equal(d.type, 'a');
    assert_string_equal(d.access, "rwm");
}

/* ---------------------------------------------------------------- seccomp */

static const char full_seccomp[] =
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
    "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
    "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_TSYNC\","
    "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],"
    "\"listenerPath\":\"/run/agent.sock\",\"listenerMetadata\":\"meta\","
    "\"syscalls\":["
    "{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
    "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},"
    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
    "{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
    "{\"index\":1,\"value\":255,\"valueTwo\":8,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
    "{\"names\":[\"a\"],\"action\":\"SCMP_ACT_KILL\"},"
    "{\"names\":[\"b\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
    "{\"names\":[\"c\"],\"action\":\"SCMP_ACT_KILL_THREAD\"},"
    "{\"names\":[\"d\"],\"action\":\"SCMP_ACT_TRAP\"},"
    "{\"names\":[\"e\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":1},"
    "{\"names\":[\"f\"],\"action\":\"SCMP_ACT_LOG\"},"
    "{\"names\":[\"g\"],\"action\":\"SCMP_ACT_NOTIFY\",\"args\":["
    "{\"index\":5,\"value\":1,\"op\":\"SCMP_CMP_NE\"},{\"index\":2,\"value\":1,\"op\":\"SCMP_CMP_"
    "LT\"},"
    "{\"index\":3,\"value\":1,\"op\":\"SCMP_CMP_LE\"},{\"index\":4,\"value\":1,\"op\":\"SCMP_CMP_"
    "GE\"},"
    "{\"index\":4,\"value\":9,\"op\":\"SCMP_CMP_GT\"}]}],"
    "\"comment\":\"unknown fields are ignored\"}";

static void test_seccomp_every_field(void **state)
{
    cleanup_json struct json_object *o = parse(full_seccomp);
    struct oci_seccomp s = {0};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_seccomp_parse(o, "linux.seccomp", &s, &err), 0);
    assert_false(s.disabled);
    assert_int_equal(s.default_action, OCI_SECCOMP_ACT_ERRNO);
    assert_true(s.has_default_errno_ret);
    assert_int_equal(s.default_errno_ret, 38);
    assert_int_equal(s.n_architectures, 3);
    assert_int_equal(s.architectures[1], OCI_SECCOMP_ARCH_X86);
    assert_true(s.has_flags);
    assert_int_equal(s.flags, OCI_SECCOMP_FLAG_LOG | OCI_SECCOMP_FLAG_TSYNC |
                                  OCI_SECCOMP_FLAG_SPEC_ALLOW |
                                  OCI_SECCOMP_FLAG_WAIT_KILLABLE_RECV);
    assert_string_equal(s.listener_path, "/run/agent.sock");
    assert_string_equal(s.listener_metadata, "meta");
    assert_int_equal(s.n_syscalls, 10);
    assert_string_equal(s.syscalls[0].names[1], "write");
    assert_null(s.syscalls[0].names[2]);
    assert_true(s.syscalls[1].has_errno_ret);
    assert_int_equal(s.syscalls[1].errno_ret, 13);
    assert_int_equal(s.syscalls[2].n_args, 2);
    assert_int_equal(s.syscalls[2].args[1].op, OCI_SECCOMP_OP_MASKED_EQ);
    assert_int_equal(s.syscalls[2].args[1].value, 255);
    assert_int_equal(s.syscalls[2].args[1].value_two, 8);
    static const enum oci_seccomp_action acts[] = {
        OCI_SECCOMP_ACT_KILL,   OCI_SECCOMP_ACT_KILL_PROCESS, OCI_SECCOMP_ACT_KILL_THREAD,
        OCI_SECCOMP_ACT_TRAP,   OCI_SECCOMP_ACT_TRACE,        OCI_SECCOMP_ACT_LOG,
        OCI_SECCOMP_ACT_NOTIFY,
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(acts); i++)
        assert_int_equal(s.syscalls[3 + i].action, acts[i]);
    static const enum oci_seccomp_op want_ops[] = {OCI_SECCOMP_OP_NE, OCI_SECCOMP_OP_LT,
                                                   OCI_SECCOMP_OP_LE, OCI_SECCOMP_OP_GE,
                                                   OCI_SECCOMP_OP_GT};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(want_ops); i++)
        assert_int_equal(s.syscalls[9].args[i].op, want_ops[i]);
    assert_int_equal(s.syscalls[9].args[0].index, 5);
    oci_seccomp_done(&s);
    assert_null(s.syscalls);
}

static void test_seccomp_defaults_and_disabled(void **state)
{
    struct oci_seccomp s = {0};
    cleanup_json struct json_object *o = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
    assert_int_equal(oci_seccomp_parse(o, "linux.seccomp", &s, NULL), 0);
    assert_false(s.has_flags);
    assert_false(s.disabled);
    assert_int_equal(s.default_action, OCI_SECCOMP_ACT_ALLOW);
    oci_seccomp_done(&s);
    /* runc: no default action and no rules = no seccomp at all. */
    cleanup_json struct json_object *e = parse("{\"syscalls\":[],\"flags\":[]}");
    assert_int_equal(oci_seccomp_parse(e, "linux.seccomp", &s, NULL), 0);
    assert_true(s.disabled);
    assert_true(s.has_flags);
    assert_int_equal(s.flags, 0);
    oci_seccomp_done(&s);
    /* errnoRet on an action without a return value is ignored, as runc does. */
    cleanup_json struct json_object *k =
        parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],"
              "\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":5}]}");
    assert_int_equal(oci_seccomp_parse(k, "linux.seccomp", &s, NULL), 0);
    oci_seccomp_done(&s);
}

static void test_seccomp_bad_values(void **state)
{
    static const struct bad_case cases[] = {
        {"[]", "linux.seccomp"},
        {"{\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
         "linux.seccomp.defaultAction"},
        {"{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "linux.seccomp.defaultAction"},
        {"{\"defaultAction\":1}", "linux.seccomp.defaultAction"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
         "linux.seccomp.defaultErrnoRet"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":5000}",
         "linux.seccomp.defaultErrnoRet"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
         "linux.seccomp.architectures[0]"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[1]}",
         "linux.seccomp.architectures[0]"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_BOGUS\"]}",
         "linux.seccomp.flags[0]"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":7}", "linux.seccomp.listenerPath"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "linux.seccomp.syscalls"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
         "\"action\":\"SCMP_ACT_ALLOW\"},{\"action\":\"SCMP_ACT_ERRNO\"}]}",
         "linux.seccomp.syscalls[1].names"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],"
         "\"action\":\"SCMP_ACT_ERRNO\"}]}",
         "linux.seccomp.syscalls[0].names"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"\"],"
         "\"action\":\"SCMP_ACT_ERRNO\"}]}",
         "linux.seccomp.syscalls[0].names[0]"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"]}]}",
         "linux.seccomp.syscalls[0].action"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"EPERM\"}]}",
         "linux.seccomp.syscalls[0].errnoRet"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":"
         "\"SCMP_CMP_EQ\"}]}]}",
         "linux.seccomp.syscalls[0].args[0].index"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":"
         "\"SCMP_CMP_APPROX\"}]}]}",
         "linux.seccomp.syscalls[0].args[0].op"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
         "linux.seccomp.syscalls[0].args[0].index"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":-1,\"op\":"
         "\"SCMP_CMP_EQ\"}]}]}",
         "linux.seccomp.syscalls[0].args[0].value"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        cleanup_json struct json_object *o = parse(cases[i].doc);
        struct oci_seccomp s = {0};
        cleanup_error struct lcow_error *err = NULL;
        int rc = oci_seccomp_parse(o, "linux.seccomp", &s, &err);
        if (rc >= 0 || err == NULL || strstr(err->msg, cases[i].path) == NULL)
            fail_msg("case %zu `%s`: rc=%d msg=`%s`, want path `%s`", i, cases[i].doc, rc,
                     lcow_error_message(err), cases[i].path);
        assert_null(s.syscalls);
    }
}

static void test_seccomp_name_tables(void **state)
{
    assert_string_equal(oci_seccomp_action_name(OCI_SECCOMP_ACT_NOTIFY), "SCMP_ACT_NOTIFY");
    assert_null(oci_seccomp_action_name(OCI_SECCOMP_ACT_MAX));
    assert_string_equal(oci_seccomp_op_name(OCI_SECCOMP_OP_MASKED_EQ), "SCMP_CMP_MASKED_EQ");
    assert_string_equal(oci_seccomp_arch_name(OCI_SECCOMP_ARCH_RISCV64), "SCMP_ARCH_RISCV64");
    assert_int_equal(oci_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_LOG"), OCI_SECCOMP_FLAG_LOG);
    assert_int_equal(oci_seccomp_flag_from_name("nope"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resources_every_field),
        cmocka_unit_test(test_resources_absent_and_empty),
        cmocka_unit_test(test_resources_bad_values),
        cmocka_unit_test(test_device_rule_parse),
        cmocka_unit_test(test_seccomp_every_field),
        cmocka_unit_test(test_seccomp_defaults_and_disabled),
        cmocka_unit_test(test_seccomp_bad_values),
        cmocka_unit_test(test_seccomp_name_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
