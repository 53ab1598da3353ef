# oci/: the embedded executor. Each owner keeps to their own block.

# --- oci-cg: linux.resources/linux.seccomp parsers, cgroups, seccomp ---
OCI_SPEC_RES_SRCS := oci/spec_resources.c oci/spec_seccomp.c
$(eval $(call add_lib,oci_spec_res,$(OCI_SPEC_RES_SRCS)))
OCI_CGROUP_SRCS := oci/cgroup.c oci/cgroup_ops.c oci/cgroup_v1.c oci/cgroup_v2.c \
	oci/cgroup_devices_bpf.c oci/cgroup_stats.c
$(eval $(call add_lib,oci_cgroup,$(OCI_CGROUP_SRCS)))
# libseccomp is needed only by whoever links liboci_seccomp: add $(LIBS_SECCOMP).
$(eval $(call add_lib,oci_seccomp,oci/seccomp.c oci/seccomp_cache.c))
$(eval $(call add_unit_test,test_oci_cgroup_spec,tests/unit/test_oci_cgroup_spec.c,oci_spec_res common,$(LIBS_JSON)))
$(eval $(call add_unit_test,test_oci_seccomp,tests/unit/test_oci_seccomp.c,oci_seccomp oci_spec_res common,$(LIBS_SECCOMP) $(LIBS_JSON)))
$(eval $(call add_unit_test,test_oci_cgroup,tests/unit/test_oci_cgroup.c,oci_cgroup oci_spec_res common,$(LIBS_JSON)))
$(eval $(call add_test_prog,cgroup_live,tests/integration/cgroup_live.c,oci_cgroup oci_spec_res common,$(LIBS_JSON) $(LIBS_CMOCKA)))
CHECK_SCRIPTS += tests/integration/cgroup_live.sh tests/integration/cgroup_diff.sh tests/integration/seccomp_diff.sh \
	tests/integration/cgroup_v2_qemu.sh
BENCH_SCRIPTS += tests/bench/cgroup_seccomp_run.sh
$(eval $(call add_fuzz,fuzz_oci_cgroup_seccomp,tests/fuzz/fuzz_oci_cgroup_seccomp.c,oci_cgroup oci_seccomp oci_spec_res common,$(LIBS_SECCOMP) $(LIBS_JSON)))
# --- end oci-cg ---

# --- ocirun2: exec (the setns path), the rest of runc's CLI, containerd as a client ---
$(eval $(call add_lib,oci_exec,oci/exec.c))
OCIRUN2_SRCS := oci/ocirun_cli.c oci/ocirun_exec.c oci/ocirun_ps.c oci/ocirun_update.c \
	oci/ocirun_events.c oci/ocirun_features.c
CHECK_SCRIPTS += tests/integration/containerd_ocirun.sh tests/integration/oci2_diff.sh
BENCH_SCRIPTS += tests/bench/containerd_run.sh
$(eval $(call add_test_prog,oci2_seccomp_agent,tests/integration/oci2_seccomp_agent.c,,))
# --- end ocirun2 ---

# --- oci-core: spec model, executor, state dir, ocirun ---
OCI_SRCS := oci/spec.c oci/names.c oci/mount_options.c oci/rootfs.c oci/prepare.c \
	oci/child.c oci/executor.c oci/state.c oci/hooks.c oci/spec_write.c oci/mount_ext.c \
	oci/seccomp_notify.c
$(eval $(call add_lib,oci,$(OCI_SRCS)))
OCI_LIBS := oci oci_cgroup oci_seccomp oci_spec_res common
# Static like init and crun's fast path: no dynamic loading per container start.
$(eval $(call add_prog,ocirun,oci/ocirun.c $(OCIRUN2_SRCS),oci_exec $(OCI_LIBS),$(STATIC) $(LIBS_SECCOMP) $(LIBS_JSON)))
$(eval $(call add_unit_test,test_oci_spec,tests/unit/test_oci_spec.c,$(OCI_LIBS),$(LIBS_SECCOMP) $(LIBS_JSON)))
$(eval $(call add_test_prog,oci_recvtty,tests/integration/oci_recvtty.c,,))
$(eval $(call add_test_prog,oci_api_test,tests/integration/oci_api_test.c,$(OCI_LIBS),$(LIBS_SECCOMP) $(LIBS_JSON) $(LIBS_CMOCKA) -lpthread))
$(eval $(call add_test_prog,oci_nosys,tests/integration/oci_nosys.c,,))
CHECK_SCRIPTS += tests/integration/oci_diff.sh tests/integration/oci_lifecycle.sh \
	tests/integration/oci_api.sh tests/integration/oci_fallback.sh
$(eval $(call add_test_prog,oci_bench,tests/bench/oci_bench.c,,))
$(eval $(call add_test_prog,oci_floor,tests/bench/oci_floor.c,,$(STATIC)))
# Built without the project's flags on purpose: no libc, so no sanitizer either (bench only).
BENCH_DEPS += $(BUILD)/tests/oci_true
$(BUILD)/tests/oci_true: tests/bench/oci_true.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -static -nostdlib -fno-stack-protector -o $@ $<
BENCH_SCRIPTS += tests/bench/oci_run.sh
$(eval $(call add_fuzz,fuzz_oci_spec,tests/fuzz/fuzz_oci_spec.c,oci oci_spec_res common,$(LIBS_JSON)))
# --- end oci-core ---
