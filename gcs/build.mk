# gcs/: one block per owner (bridge, protocol, network, ...). Edit only your own block.

# protocol: bridge wire codecs and the CommandLine splitter (gcs/protocol*.c, gcs/cmdline.c),
# linked by gcs and host/ (link order: gcs_protocol common, plus $(LIBS_JSON)).
GCS_PROTOCOL_SRCS := gcs/protocol.c gcs/protocol_requests.c gcs/protocol_responses.c \
	gcs/protocol_modify.c gcs/protocol_oci.c gcs/cmdline.c
$(eval $(call add_lib,gcs_protocol,$(GCS_PROTOCOL_SRCS)))
$(eval $(call add_unit_test,test_protocol,tests/unit/test_protocol.c,gcs_protocol common,$(LIBS_JSON)))
$(eval $(call add_unit_test,test_protocol_modify,tests/unit/test_protocol_modify.c,gcs_protocol common,$(LIBS_JSON)))
$(eval $(call add_unit_test,test_cmdline,tests/unit/test_cmdline.c,gcs_protocol common,$(LIBS_JSON)))
# libFuzzer target for frames and every decoder (make fuzz / fuzz-long); make check runs a short
# fuzz through tests/fuzz/smoke.sh.
$(eval $(call add_fuzz,fuzz_bridge,tests/fuzz/fuzz_bridge.c,gcs_protocol common,$(LIBS_JSON)))
CHECK_SCRIPTS += tests/fuzz/smoke.sh
# The same harness replaying the seeds (and earlier crash artifacts) as a plain test.
$(eval $(call add_unit_test,test_protocol_fuzz_replay,tests/fuzz/fuzz_bridge.c tests/fuzz/replay.c,gcs_protocol common,$(LIBS_JSON)))
# make bench: codec cost per message next to plain json-c.
$(eval $(call add_test_prog,protocol_bench,tests/bench/protocol_bench.c,gcs_protocol common,$(LIBS_JSON)))
BENCH_SCRIPTS += $(BUILD)/tests/protocol_bench

# network: adapters, namespaces, netlink, DNS files (gcs/network*.c; see gcs/README.md)
GCS_NETWORK_SRCS := gcs/network.c gcs/network_adapter.c gcs/network_dhcp.c gcs/network_dns.c \
	gcs/network_netlink.c gcs/network_nic.c gcs/network_modify.c
$(eval $(call add_lib,gcs_network,$(GCS_NETWORK_SRCS)))
GCS_HANDLER_LIBS += gcs_network
GCS_HANDLER_LDFLAGS += $(LIBS_NL)
$(eval $(call add_unit_test,test_network,tests/unit/test_network.c,gcs_network gcs_protocol common,$(LIBS_NL) $(LIBS_JSON) -lpthread))
$(eval $(call add_test_prog,network_ctl,tests/integration/network_ctl.c,gcs_network common,$(LIBS_NL) $(LIBS_JSON) -lpthread))
CHECK_SCRIPTS += tests/integration/network_netns.sh tests/integration/network_bridge.sh
$(eval $(call add_test_prog,network_bench,tests/bench/network_bench.c,gcs_network common,$(LIBS_NL) $(LIBS_JSON) -lpthread))
BENCH_SCRIPTS += tests/bench/network_bench.sh
$(eval $(call add_fuzz,fuzz_network,tests/fuzz/fuzz_network.c,gcs_network common,$(LIBS_NL) $(LIBS_JSON) -lpthread))

# storage: MappedVirtualDisk, SCSIDevice, VPMemDevice, CombinedLayers handlers over mount/
# (gcs/storage*.c; link order: gcs_storage mount gcs_protocol common)
GCS_STORAGE_SRCS := gcs/storage.c gcs/storage_handlers.c
$(eval $(call add_lib,gcs_storage,$(GCS_STORAGE_SRCS)))
GCS_HANDLER_LIBS += gcs_storage mount

# containers: the container table, Create/Execute/Wait/Signal/Resize/Properties/Shutdown/Delete
# through the embedded executor, and the start-up of §5.9 (gcs/container*.c, gcs/startup.c).
# Repeats gcs_network/gcs_storage after itself: static libraries resolve forward only.
GCS_CONTAINER_SRCS := gcs/container.c gcs/container_spec.c gcs/container_exec.c \
	gcs/container_props.c gcs/startup.c
$(eval $(call add_lib,gcs_container,$(GCS_CONTAINER_SRCS)))
GCS_HANDLER_LIBS += gcs_container oci_exec oci oci_cgroup oci_seccomp oci_spec_res gcs_network gcs_storage mount
GCS_HANDLER_LDFLAGS += $(LIBS_SECCOMP)
# Containers through the bridge over unix: (root; busybox rootfs and cgroups made at run time).
$(eval $(call add_unit_test,test_containers,tests/integration/test_containers.c,gcs_harness host_bridge gcs_protocol vsock common,$(LIBS_JSON)))
# Pure helpers (traversal-checked joins, user resolution, cgroup paths). Static libraries
# resolve forward only, so the cycle gcs_container <-> gcs_bridge is listed twice.
GCS_CONTAINER_TEST_LIBS := gcs_container gcs_bridge gcs_container oci_exec oci oci_cgroup oci_seccomp \
	oci_spec_res gcs_network gcs_storage gcs_plan9 mount_plan9 mount gcs_bridge gcs_protocol vsock common
$(eval $(call add_unit_test,test_containers_unit,tests/integration/test_containers_unit.c,$(GCS_CONTAINER_TEST_LIBS),$(LIBS_SECCOMP) $(LIBS_NL) $(LIBS_JSON) -lpthread))
# A container inside the real UVM (QEMU TCG, initramfs root: --no-pivot, §5.9 start-up).
CHECK_SCRIPTS += tests/integration/test_containers_uvm.sh
# make bench: per-container bridge overhead vs ocirun run, exec, stdio vs raw sockets, RSS.
$(eval $(call add_test_prog,containers_bench,tests/bench/containers_bench.c,gcs_harness host_bridge gcs_protocol vsock common,$(LIBS_JSON) -lpthread))
BENCH_SCRIPTS += $(BUILD)/tests/containers_bench

# plan9: MappedDirectory Add/Remove (gcs/plan9.c over mount/plan9.c): dial the host's 9p
# server on Port with gcs's transport base, mount 9p trans=fd; unmount and remove.
$(eval $(call add_lib,gcs_plan9,gcs/plan9.c))
GCS_HANDLER_LIBS += gcs_plan9 mount_plan9 mount
$(eval $(call add_unit_test,test_p9_mapped_dir,tests/unit/test_p9_mapped_dir.c,gcs_plan9 mount_plan9 mount gcs_protocol vsock common,$(LIBS_JSON) -lpthread))

# bridge: the gcs program (bridge loop, dispatch, external processes, reaper, stdio, the
# ModifySettings table). KEEP THIS BLOCK LAST: the gcs link line below reads
# GCS_HANDLER_LIBS / GCS_HANDLER_LDFLAGS, to which a block above adds the libraries of the
# handlers it plugs into gcs/modify.c, e.g.
#     GCS_HANDLER_LIBS += gcs_storage mount
#     GCS_HANDLER_LDFLAGS += $(LIBS_MNL)
GCS_BRIDGE_SRCS := gcs/options.c gcs/reaper.c gcs/bridge.c gcs/worker.c gcs/dispatch.c \
	gcs/process.c gcs/stdio.c gcs/modify.c gcs/kmsg.c gcs/vpci.c
$(eval $(call add_lib,gcs_bridge,$(GCS_BRIDGE_SRCS)))
# gcs/idle.ld (from gcs/idle_ld_gen.py) only places the code and rodata gcs runs while idle
# together, so fault-around maps a few 64 KiB windows of the binary, not all of them (issue 2).
GCS_IDLE_LD := -Wl,-T,gcs/idle.ld
$(eval $(call add_prog,gcs,gcs/main.c,gcs_bridge $(GCS_HANDLER_LIBS) gcs_protocol vsock common,$(STATIC) $(GCS_IDLE_LD) $(GCS_HANDLER_LDFLAGS) $(LIBS_JSON) -lpthread))
$(BUILD)/bin/gcs: gcs/idle.ld
$(eval $(call add_unit_test,test_gcs_options,tests/unit/test_gcs_options.c,gcs_bridge vsock common,$(LIBS_JSON)))
