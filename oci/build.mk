# oci/: the embedded executor. Each owner keeps to their own block.

# --- oci-cg: linux.resources/linux.seccomp parsers, cgroups, seccomp ---
OCI_SPEC_RES_SRCS := oci/spec_resources.c oci/spec_seccomp.c
$(eval $(call add_lib,oci_spec_res,$(OCI_SPEC_RES_SRCS)))
# --- end oci-cg ---
