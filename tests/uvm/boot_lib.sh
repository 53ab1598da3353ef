# The UVM tests' shared harness (sourced, not run, by bash scripts under set -euo pipefail):
# tests/uvm/{boot_host,boot_selftest,storage_uvm,plan9_uvm}.sh, tests/integration/
# test_containers_uvm.sh, tests/bench/{bridge_uvm,plan9_bench,boot_timeline}.sh.
#
#   uvm_init [MKTEMP-TEMPLATE]   sets top, build (absolute), qemu and d (a fresh directory), and
#                                traps EXIT with uvm_cleanup: every pid in UVM_PIDS is killed and
#                                d removed on every exit path; a status other than 0 first prints
#                                the evidence (uvm_show_logs) unless uvm_fail already did;
#                                SIGTERM/SIGINT exit through it with 143/130
#   uvm_show_logs                the tails of UVM_FAIL_LOGS and of every other *.log, *.out,
#                                *.err file in d (console.log as console.txt)
#   uvm_require FILE...          fails unless each FILE exists
#   uvm_spawn CMD...             starts CMD in the background and records its pid in UVM_PIDS
#   uvm_fail MSG                 "FAIL: MSG", then the tail of each file of UVM_FAIL_LOGS in d
#   uvm_wait_sockets SOCK...     waits up to 5 s for every SOCK to exist; 1 if one did not
#   uvm_start_host TIMEOUT       the host side of the production boot chain, under d:
#                                vhost-user-vsock (d/vu.sock, guest ports as d/h_PORT,
#                                log d/vhost.log) and boot-selftest serving entropy (port 1) and
#                                gcs's log (port 109, d/host.log) for TIMEOUT seconds
#   uvm_start_qemu [QEMU-ARG...] QEMU (TCG, 512 MiB memfd, vhost-user-vsock) booting
#                                build/vmlinux and a private copy of build/initrd.img with
#                                hcsshim's command line (gcs -loglevel $UVM_GCS_LOGLEVEL, default
#                                info), serial in d/console.log; sets qpid
#   uvm_wait_exit SECS           waits up to SECS for QEMU (qpid) to end; 1 if it is still up
#   uvm_console                  d/console.log without carriage returns, as d/console.txt
#   boot_make_initrd BUILD DIR   DIR/initrd.img = build/initrd.img + an archive holding the
#                                guest-side host boot-selftest; boot_append: its command line
#   uvm_initrd_with DIR PROG...  DIR/initrd.img = an archive of DIR/extra (PROGs installed in its
#                                bin, with their libraries when a sanitizer build made them
#                                dynamic) followed by build/initrd.img

uvm_init() {
  top=${LCOW_TOP:-$(pwd)}
  build=${BUILD:-build}
  case "$build" in /*) ;; *) build="$top/$build" ;; esac
  qemu=$(command -v qemu-system-x86_64 || true)
  [ -n "$qemu" ] || { echo "FAIL: qemu-system-x86_64 missing (Debian qemu-system-x86)"; exit 1; }
  d=$(mktemp -d ${1:+"$1"})
  UVM_PIDS=()
  UVM_FAIL_LOGS=${UVM_FAIL_LOGS:-console.txt host.log vhost.log out}
  qpid=
  UVM_LOGS_SHOWN=
  trap uvm_cleanup EXIT
  # Without these a signal (the runner's timeout) runs the EXIT trap with $? = 0.
  trap 'exit 143' TERM
  trap 'exit 130' INT
}

# A test with its own EXIT trap passes the status it ended with: uvm_cleanup "$rc".
uvm_cleanup() {
  local rc=${1:-$?} p live
  # Only pids not yet reaped: one a test already waited for may belong to someone else now.
  live=" $(jobs -p | tr '\n' ' ') "
  for p in "${UVM_PIDS[@]}"; do
    [[ "$live" == *" $p "* ]] && kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$rc" != 0 ] && [ -z "$UVM_LOGS_SHOWN" ]; then
    echo "--- evidence kept by uvm_cleanup (exit status $rc)"
    uvm_show_logs
  fi
  rm -rf "$d"
}

uvm_require() {
  local f
  for f in "$@"; do
    [ -e "$f" ] || { echo "FAIL: missing $f (make initrd)"; exit 1; }
  done
}

uvm_spawn() {
  "$@" &
  UVM_PIDS+=($!)
}

uvm_console() { tr -d '\r' < "$d/console.log" > "$d/console.txt" 2>/dev/null || true; }

uvm_show_logs() {
  local f seen=" "
  [ -f "$d/console.log" ] && uvm_console
  for f in $UVM_FAIL_LOGS; do
    seen+="$f "
    [ -f "$d/$f" ] && { echo "--- $f"; tail -n 40 "$d/$f"; }
  done
  for f in "$d"/*.log "$d"/*.out "$d"/*.err; do
    [ "${f##*/}" = console.log ] && f=$d/console.txt # without carriage returns
    [ -f "$f" ] && [[ "$seen" != *" ${f##*/} "* ]] || continue
    echo "--- ${f##*/}"
    tail -n 40 "$f" | tr -d '\r'
  done
  UVM_LOGS_SHOWN=1
}

uvm_fail() {
  echo "FAIL: $*"
  uvm_show_logs
  exit 1
}

uvm_wait_sockets() {
  local s ok
  for _ in $(seq 100); do
    ok=1
    for s in "$@"; do [ -S "$s" ] || ok=0; done
    [ "$ok" = 1 ] && return 0
    sleep 0.05
  done
  return 1
}

uvm_start_host() {
  uvm_spawn "$build/bin/vhost-user-vsock" --socket "$d/vu.sock" --uds "$d/h" --guest-cid 3 \
    > "$d/vhost.log" 2>&1
  uvm_spawn "$build/tests/boot-selftest" --listen "listen:unix:$d/h" --entropy 1 --log 109 \
    --out "$d/host.log" --timeout "$1"
}

uvm_start_qemu() {
  # A private copy: teammates rebuild the shared image while tests run.
  cp "$build/initrd.img" "$d/initrd.img"
  "$qemu" -accel tcg -M pc,memory-backend=mem -m 512 \
    -object memory-backend-memfd,id=mem,size=512M,share=on \
    -chardev socket,id=vu,path="$d/vu.sock" -device vhost-user-vsock-pci,chardev=vu "$@" \
    -display none -nodefaults -no-reboot -serial "file:$d/console.log" \
    -kernel "$build/vmlinux" -initrd "$d/initrd.img" \
    -append "console=ttyS0 quiet panic=-1 no_timer_check -- -e 1 /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json -loglevel ${UVM_GCS_LOGLEVEL:-info}" &
  qpid=$!
  UVM_PIDS+=($qpid)
}

uvm_wait_exit() {
  for _ in $(seq $(($1 * 10))); do kill -0 "$qpid" 2>/dev/null || return 0; sleep 0.1; done
  ! kill -0 "$qpid" 2>/dev/null
}

uvm_initrd_with() {
  local dir=$1 x="$1/extra" prog
  shift
  mkdir -p "$x/bin"
  for prog in "$@"; do
    install -m 0755 "$prog" "$x/bin/$(basename "$prog")"
    { ldd "$prog" 2>/dev/null || true; } |
      awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
        install -D -m 0755 "$(readlink -f "$lib")" "$x$lib"
      done
  done
  (cd "$x" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
    gzip -1 > "$dir/extra.cpio.gz"
  # The extra archive goes first: with it after the zstd image, a large one (a sanitizer
  # build's libraries) failed with "Initramfs unpacking failed: invalid magic at start of
  # compressed archive" on 6.1; gzip followed by zstd unpacks every time.
  cat "$dir/extra.cpio.gz" "$build/initrd.img" > "$dir/initrd.img"
}

boot_make_initrd() {
  local build=$1
  mkdir -p "$2/extra/bin"
  cat > "$2/extra/bin/boot-selftest-start" <<'SH'
#!/bin/sh
exec /bin/boot-selftest --listen listen:vsock:0 --entropy 1 --log 109 --bridge 0x40000000 \
  --daemon --shutdown --kmsg --timeout 90
SH
  chmod 0755 "$2/extra/bin/boot-selftest-start"
  uvm_initrd_with "$2" "$build/tests/boot-selftest"
}

boot_append() {
  printf '%s' "console=ttyS0 quiet panic=-1 no_timer_check -- -t vsock:1 -e 1 -x /bin/boot-selftest-start" \
    " /bin/vsockexec -t vsock:1 -e 109 /bin/gcs -v4 -log-format json -loglevel info" \
    " -bridge vsock:1:1073741824"
}
