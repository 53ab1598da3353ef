# tests/build.mk: test-only targets that belong to no component (hardening: issue 12).

# fuzz targets filling issue 12's gaps: process.json, and the /etc files made from host input.
$(eval $(call add_fuzz,fuzz_oci_process,tests/fuzz/fuzz_oci_process.c,oci oci_spec_res common,$(LIBS_JSON)))
$(eval $(call add_fuzz,fuzz_etc_files,tests/fuzz/fuzz_etc_files.c,gcs_network common,$(LIBS_NL) $(LIBS_JSON) -lpthread))
# The same harnesses replaying their seeds (and earlier crash artifacts) as plain tests.
$(eval $(call add_unit_test,test_oci_process_fuzz_replay,tests/fuzz/fuzz_oci_process.c tests/fuzz/fuzz_oci_process_replay.c,oci oci_spec_res common,$(LIBS_JSON)))
$(eval $(call add_unit_test,test_etc_files_fuzz_replay,tests/fuzz/fuzz_etc_files.c tests/fuzz/fuzz_etc_files_replay.c,gcs_network common,$(LIBS_NL) $(LIBS_JSON) -lpthread))

# hardening (issue 12): limits, faults and security over the real bridge; shared fixture.
HARDENING_LIBS := gcs_harness host_bridge gcs_protocol vsock common
$(eval $(call add_unit_test,hardening_limits,tests/integration/hardening_limits.c tests/integration/hardening_lib.c,$(HARDENING_LIBS),$(LIBS_JSON)))
$(eval $(call add_unit_test,hardening_faults,tests/integration/hardening_faults.c tests/integration/hardening_lib.c,$(HARDENING_LIBS),$(LIBS_JSON)))
# stdio connection counting at the default limit (the bridge test lowers it: gcs/limits.h).
$(eval $(call add_unit_test,hardening_stdio_count,tests/integration/hardening_stdio_count.c,gcs_bridge vsock common,$(LIBS_JSON) -lpthread))
$(eval $(call add_unit_test,hardening_security,tests/integration/hardening_security.c tests/integration/hardening_lib.c,$(HARDENING_LIBS),$(LIBS_JSON)))
# wire-conformance replay of lcow-host.md §3.1-3.2 (standalone and pod) against gcs over unix:
$(eval $(call add_unit_test,wire_replay,tests/integration/wire_replay.c tests/integration/hardening_lib.c,$(HARDENING_LIBS),$(LIBS_JSON)))
# gcs under valgrind memcheck: a dynamically linked gcs (memcheck cannot see malloc in -static).
$(eval $(call add_test_prog,gcs_dynamic,gcs/main.c,gcs_bridge $(GCS_HANDLER_LIBS) gcs_protocol vsock common,$(GCS_HANDLER_LDFLAGS) $(LIBS_JSON) -lpthread))
CHECK_DEPS += $(BUILD)/tests/gcs_dynamic
$(eval $(call add_unit_test,hardening_valgrind,tests/integration/hardening_valgrind.c tests/integration/hardening_lib.c,$(HARDENING_LIBS),$(LIBS_JSON)))
CHECK_SCRIPTS += tests/integration/hardening_noshell.sh

# cleanup: the integration tests' gcs-over-unix harness (tests/lib/gcs_harness.h), no cmocka
# inside so benchmarks link it too.
$(eval $(call add_lib,gcs_harness,tests/lib/gcs_harness.c))
# wire conformance (gcs-protocol.md §2-§6 as a host written from the contract checks it): bridge
# level and container level, gcs over unix: (tests/lib/gcs_harness.h).
CONFORM_LIBS := gcs_harness host_bridge gcs_protocol vsock common
$(eval $(call add_unit_test,conform_bridge,tests/integration/conform_bridge.c tests/integration/conform_lib.c,$(CONFORM_LIBS),$(LIBS_JSON)))
$(eval $(call add_unit_test,conform_containers,tests/integration/conform_containers.c tests/integration/conform_lib.c,$(CONFORM_LIBS),$(LIBS_JSON)))
