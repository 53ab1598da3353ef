# oci/: the embedded executor. Each owner keeps to their own block.

# --- oci-cg: linux.resources/linux.seccomp parsers, cgroups, seccomp ---
OCI_SPEC_RES_SRCS := oci/spec_resources.c oci/spec_seccomp.c
$(eval $(call add_lib,oci_spec_res,$(OCI_SPEC_RES_SRCS)))
OCI_CGROUP_SRCS := oci/cgroup.c oci/cgroup_ops.c oci/cgroup_v1.c oci/cgroup_v2.c \
	oci/cgroup_devices_bpf.c oci/cgroup_stats.c
$(eval $(call add_lib,oci_cgroup,$(OCI_CGROUP_SRCS)))
# libseccomp is needed only by whoever links liboci_seccomp: add $(LIBS_SECCOMP).
$(eval $(call add_lib,oci_seccomp,oci/seccomp.c))
$(eval $(call add_unit_test,test_oci_cgroup_spec,tests/unit/test_oci_cgroup_spec.c,oci_spec_res common,$(LIBS_JSON)))
# --- end oci-cg ---
