/* libFuzzer target for what oci-cg builds from untrusted profiles: a JSON document
 * {"seccomp": <linux.seccomp>, "resources": <linux.resources>} is parsed; an accepted seccomp
 * profile is compiled to classic BPF (libseccomp + the ENOSYS stub) and an accepted device rule
 * list to the cgroup v2 eBPF program. Both programs are then checked the way the kernel's
 * verifiers would reject them: every jump lands inside the program and the last instruction
 * returns. Nothing is loaded into the kernel. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <linux/bpf.h>
#include <linux/filter.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/json.h"
#include "oci/cgroup.h"
#include "oci/seccomp.h"
#include "oci/spec_resources.h"
#include "oci/spec_seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_classic(const struct oci_seccomp_program *p)
{
    if (p->len == 0)
        return;
    for (size_t i = 0; i < p->len; i++) {
        const struct sock_filter *f = &p->filter[i];
        if (BPF_CLASS(f->code) != BPF_JMP)
            continue;
        size_t last =
            BPF_OP(f->code) == BPF_JA ? i + 1 + f->k : i + 1 + (f->jt > f->jf ? f->jt : f->jf);
        if (last >= p->len)
            __builtin_trap();
    }
    if (BPF_CLASS(p->filter[p->len - 1].code) != BPF_RET)
        __builtin_trap();
}

static void check_ebpf(const struct bpf_insn *v, size_t n)
{
    if (n == 0 || v[n - 1].code != (BPF_JMP | BPF_EXIT))
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if (BPF_CLASS(v[i].code) == BPF_JMP && BPF_OP(v[i].code) != BPF_EXIT &&
            (v[i].off < 0 || i + 1 + (size_t)v[i].off >= n))
            __builtin_trap();
}

static void fuzz_seccomp(const struct json_object *o)
{
    struct oci_seccomp s = {0};
    struct lcow_error *err = NULL;
    if (oci_seccomp_parse(o, "linux.seccomp", &s, &err) < 0) {
        if (err == NULL)
            __builtin_trap();
        lcow_error_release(&err);
        return;
    }
    struct oci_seccomp_program p = {0};
    if (oci_seccomp_compile(&s, 0, &p, &err) == 0)
        check_classic(&p);
    else if (err == NULL)
        __builtin_trap();
    lcow_error_release(&err);
    oci_seccomp_program_done(&p);
    oci_seccomp_done(&s);
}

static void fuzz_resources(const struct json_object *o)
{
    struct oci_linux_resources r = {0};
    struct lcow_error *err = NULL;
    if (oci_linux_resources_parse(o, "linux.resources", &r, &err) < 0) {
        if (err == NULL)
            __builtin_trap();
        lcow_error_release(&err);
        return;
    }
    struct bpf_insn *prog = NULL;
    size_t n = 0;
    if (oci_cgroup_devices_bpf_build(r.devices, r.n_devices, &prog, &n, &err) == 0)
        check_ebpf(prog, n);
    lcow_error_release(&err);
    free(prog);
    oci_linux_resources_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cleanup_json struct json_object *doc = NULL;
    if (lcow_json_parse((const char *)data, size, "input", &doc, NULL) < 0)
        return 0;
    struct json_object *sc = lcow_json_field(doc, "seccomp");
    struct json_object *res = lcow_json_field(doc, "resources");
    if (sc != NULL)
        fuzz_seccomp(sc);
    if (res != NULL)
        fuzz_resources(res);
    return 0;
}
