# libarchive for OCI layer tars (runlcow2's host_image, linked by runlcow and lcow-tar2ext4).
LIBS_ARCHIVE := $(shell pkg-config --libs libarchive 2>/dev/null)
# host/: the host side. bridge_client.c is the bridge client library (prefix host_) the tests
# and runlcow use; lcow-bridge is a tiny CLI on it.
HOST_BRIDGE_SRCS := host/bridge_client.c
$(eval $(call add_lib,host_bridge,$(HOST_BRIDGE_SRCS)))
$(eval $(call add_prog,lcow-bridge,host/lcow_bridge.c,host_bridge gcs_protocol vsock common,$(LIBS_JSON)))

# gcs over unix: against this client (negotiation, processes, waits, reconnects, bad input).
$(eval $(call add_unit_test,test_bridge,tests/integration/test_bridge.c,gcs_harness host_bridge gcs_protocol vsock common,$(LIBS_JSON)))

# make bench: gcs round trips vs a minimal echo server with the same framing, and idle RSS.
$(eval $(call add_test_prog,bridge_bench,tests/bench/bridge_bench.c,host_bridge gcs_protocol vsock common,$(LIBS_JSON)))
BENCH_SCRIPTS += $(BUILD)/tests/bridge_bench

# gcs's notification queue across reconnects, with the bridge running in-process.
$(eval $(call add_unit_test,test_gcs_notify,tests/unit/test_gcs_notify.c,host_bridge gcs_bridge $(GCS_HANDLER_LIBS) gcs_protocol vsock common,$(GCS_HANDLER_LDFLAGS) $(LIBS_JSON) -lpthread))
CHECK_SCRIPTS += tests/integration/bridge_cli.sh
$(eval $(call add_unit_test,test_gcs_reaper,tests/unit/test_gcs_reaper.c,gcs_bridge common,-lpthread))
# The same through a QEMU UVM (vhost-user-vsock), next to gcs on this machine.
BENCH_SCRIPTS += tests/bench/bridge_uvm.sh

# plan9: the 9P2000.L server for MappedDirectory shares (host/p9_*.c, prefix host_p9_) and the
# lcow-9p-server program runlcow starts (or links: build/lib/libhost_p9.a).
HOST_P9_SRCS := host/p9_proto.c host/p9_ops.c host/p9_server.c host/p9_binds.c
$(eval $(call add_lib,host_p9,$(HOST_P9_SRCS)))
$(eval $(call add_prog,lcow-9p-server,host/p9_main.c,host_p9 vsock common,-lpthread))
$(eval $(call add_unit_test,test_p9_server,tests/unit/test_p9_server.c,host_p9 vsock common,-lpthread))
$(eval $(call add_unit_test,test_p9_binds,tests/unit/test_p9_binds.c,host_p9 gcs_protocol vsock common,$(LIBS_JSON) -lpthread))
# UVM tier: shares through gcs MappedDirectory in QEMU (vhost-user-vsock, lcow-bridge).
CHECK_SCRIPTS += tests/uvm/plan9_uvm.sh
CHECK_DEPS += $(BUILD)/bin/lcow-9p-server

# runlcow (issue 10): the UVM (QEMU + QMP + vsock back end), layers, state, the CLI.
HOST_RUNLCOW_SRCS := host/uvm.c host/qmp.c host/layers.c host/sha256.c host/spawn.c \
	host/state.c host/ctl.c host/spec.c
$(eval $(call add_lib,host_runlcow,$(HOST_RUNLCOW_SRCS)))
$(eval $(call add_prog,runlcow,host/runlcow.c host/runlcow_create.c host/runlcow_ops.c host/runlcow_super.c host/runlcow_pod.c host/runlcow2_ops.c host/runlcow2_net.c host/runlcow2_console.c,host_image host_runlcow host_bridge host_p9 gcs_protocol vsock common,$(LIBS_ARCHIVE) $(LIBS_JSON) -lpthread))
# libFuzzer: frames through the decoder and handlers of one connection (make fuzz; make check's
# smoke run), and the same harness replaying tests/fuzz/corpus/fuzz_p9/ as a plain test.
$(eval $(call add_fuzz,fuzz_p9,tests/fuzz/fuzz_p9.c,host_p9 vsock common,-lpthread))
$(eval $(call add_unit_test,test_p9_fuzz_replay,tests/fuzz/fuzz_p9.c tests/fuzz/fuzz_p9_replay.c,host_p9 vsock common,-lpthread))
# make bench: read/write/stat through a share, ours vs QEMU's virtio-9p in the same UVM.
BENCH_SCRIPTS += tests/bench/plan9_bench.sh
$(eval $(call add_test_prog,plan9_server_bench,tests/bench/plan9_server_bench.c,host_p9 vsock common,-lpthread))
CHECK_DEPS += $(BUILD)/bin/runlcow $(BUILD)/bin/ocirun
# QEMU end to end: run/create/start/state/list/exec/kill/delete and faults (few UVMs).
CHECK_SCRIPTS += tests/uvm/runlcow_cli.sh
# A bundle's host bind mounts as Plan9 shares (rw, ro, one file) in a container (one UVM).
CHECK_SCRIPTS += tests/uvm/runlcow_binds.sh
# Boot faults: the vhost-user socket listen race, a back end dying mid-boot (fails at once), a
# stalled boot's evidence in the error, the test libraries' logs on failure (two short boots).
CHECK_SCRIPTS += tests/uvm/boot_faults_uvm.sh
# Pods: a sandbox + workloads (CRI annotations, --host) in one UVM, namespaces shared, the UVM
# kept while any container runs (one UVM).
CHECK_SCRIPTS += tests/uvm/runlcow_pod.sh

# make demo: build everything, make a busybox bundle, boot the UVM and `runlcow run` it.
.PHONY: demo
demo: programs $(BUILD)/initrd.img $(BUILD)/vmlinux $(BUILD)/bin/runlcow $(BUILD)/bin/ocirun
	BUILD=$(BUILD) LCOW_TOP=$(CURDIR) tests/uvm/demo.sh
# runlcow pieces without a VM: SHA-256, layer images (mke2fs), spec rewrite, state, control
# socket, QMP against a fake QEMU.
$(eval $(call add_unit_test,test_runlcow,tests/unit/test_runlcow.c,host_runlcow host_bridge gcs_protocol vsock common,$(LIBS_JSON)))
# make bench: runlcow run end to end (QEMU start -> ... -> exit) and host memory per UVM.
BENCH_SCRIPTS += tests/bench/runlcow_bench.sh
# make bench: a pod's second container (--host into a running UVM) vs the first (own UVM), runc.
BENCH_SCRIPTS += tests/bench/runlcow_pod_bench.sh
BENCH_DEPS += $(BUILD)/bin/runlcow $(BUILD)/bin/ocirun $(BUILD)/bin/vhost-user-vsock

# runlcow2 (issue 11): OCI image layouts / layer tars → read-only ext4 per layer (libarchive
# unpack with whiteout conversion, then mke2fs -d), cached by blob digest; lcow-tar2ext4 CLI.
HOST_IMAGE_SRCS := host/tar2ext4.c host/oci_image.c
$(eval $(call add_lib,host_image,$(HOST_IMAGE_SRCS)))
$(eval $(call add_prog,lcow-tar2ext4,host/tar2ext4_main.c,host_image host_runlcow common,$(LIBS_ARCHIVE) $(LIBS_JSON)))
$(eval $(call add_unit_test,test_tar2ext4,tests/unit/test_tar2ext4.c,host_image host_runlcow common,$(LIBS_ARCHIVE) $(LIBS_JSON)))
# libFuzzer: tar entry names and whole tar streams through the unpacker (nothing may escape its
# directory); the same harness replays tests/fuzz/corpus/fuzz_tar2ext4/ in make check.
$(eval $(call add_fuzz,fuzz_tar2ext4,tests/fuzz/fuzz_tar2ext4.c,host_image host_runlcow common,$(LIBS_ARCHIVE) $(LIBS_JSON)))
$(eval $(call add_unit_test,test_tar2ext4_fuzz_replay,tests/fuzz/fuzz_tar2ext4.c tests/fuzz/fuzz_tar2ext4_replay.c,host_image host_runlcow common,$(LIBS_ARCHIVE) $(LIBS_JSON)))
# UVM tier: a two-layer OCI image (whiteout, opaque dir, hard link) run by runlcow; cache reuse.
CHECK_SCRIPTS += tests/uvm/oci_image_uvm.sh
# UVM tier: ps, update, events --stats, pause/resume, features, spec; user networking with
# guestfwd to a loopback HTTP server (two UVMs).
CHECK_SCRIPTS += tests/uvm/runlcow2_verbs.sh
# make bench: layer conversion MB/s vs plain mke2fs -d of the unpacked tree (and tar -x + mke2fs).
BENCH_SCRIPTS += tests/bench/tar2ext4_bench.sh
BENCH_DEPS += $(BUILD)/bin/lcow-tar2ext4
# --console-socket receiver for the UVM test (runc's recvtty, reduced).
$(eval $(call add_test_prog,rl2_recvtty,tests/uvm/rl2_recvtty.c,,))
# containerd (private instance) running tasks with `ctr run --runc-binary build/bin/runlcow`:
# echo, exit code, exec, kill, delete (three UVMs).
CHECK_SCRIPTS += tests/uvm/containerd_runlcow.sh
# make bench: layer attach VPMem vs SCSI on the same tree, and a cold vs warm layer cache.
BENCH_SCRIPTS += tests/bench/runlcow2_bench.sh
