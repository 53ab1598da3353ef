#!/usr/bin/env bash
# Boot timeline of the UVM under TCG (issue 8), from the guest's own clock (kernel log stamps
# of init's records, CLOCK_BOOTTIME of the in-guest host) and from this machine (QEMU start ->
# negotiated, seen on the serial log; QEMU start -> exit). Peer/floor: the same kernel booting a
# one-line busybox initramfs that powers off at once; the ratio is ours / floor. Then, when
# vhost-user-vsock and lcow-bridge are built, the production path from this machine (QEMU start
# -> NegotiateProtocol answered to lcow-bridge over virtio-vsock), and the initrd compressed
# with gzip and xz instead of zstd (size, kernel start -> init).
#   BOOT_RUNS=N (default 3)
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
runs=${BOOT_RUNS:-3}
qemu=$(command -v qemu-system-x86_64)
d=$(mktemp -d)
qpid=
cleanup() { [ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
. "$top/tests/uvm/boot_lib.sh"
boot_make_initrd "$build" "$d"

# The floor: busybox as /init, powering off immediately.
f="$d/floor"
mkdir -p "$f/bin" "$f/dev" "$f/proc"
cp /bin/busybox "$f/bin/busybox"
ln -s busybox "$f/bin/sh"
printf '#!/bin/sh\n/bin/busybox poweroff -f\n' > "$f/init"
chmod 0755 "$f/init"
mknod -m 600 "$f/dev/console" c 5 1
(cd "$f" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$d/floor.img"

now() { date +%s.%N; }
# run_qemu INITRD APPEND LOG MARKER: prints "to_marker to_exit" in seconds (host clock).
run_qemu() {
  local t0 tm=0 te
  t0=$(now)
  "$qemu" -accel tcg -M pc -m 512 -display none -nodefaults -no-reboot -serial "file:$3" \
    -kernel "$build/vmlinux" -initrd "$1" -append "$2" &
  qpid=$!
  for _ in $(seq 6000); do
    if [ "$tm" = 0 ] && [ -n "$4" ] && grep -q "$4" "$3" 2>/dev/null; then tm=$(now); fi
    kill -0 "$qpid" 2>/dev/null || break
    sleep 0.01
  done
  kill -9 "$qpid" 2>/dev/null || true
  wait "$qpid" 2>/dev/null || true
  qpid=
  te=$(now)
  [ "$tm" != 0 ] || tm=$te
  echo "$(echo "$tm - $t0" | bc) $(echo "$te - $t0" | bc)"
}
# stamp LOG TEXT: the guest time of the first TIMELINE line containing TEXT.
stamp() { awk -v t="$2" '/^TIMELINE/ && index($0, t) { print $2; exit }' "$1"; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "nan" }'; }

: > "$d/rows"
for i in $(seq "$runs"); do
  read -r neg exit_s < <(run_qemu "$d/initrd.img" "$(boot_append)" "$d/run$i.log" "selftest: negotiated")
  read -r _ floor_s < <(run_qemu "$d/floor.img" "console=ttyS0 quiet panic=-1 no_timer_check" "$d/floor$i.log" "")
  l="$d/run$i.txt"
  tr -d '\r' < "$d/run$i.log" > "$l"   # the serial console ends lines with CR LF
  grep -q 'BOOT-SELFTEST PASS' "$l" || { cat "$l"; echo "run $i did not negotiate"; exit 1; }
  init=$(stamp "$l" "init: starting")
  early=$(stamp "$l" "init: early modules")
  child=$(stamp "$l" "init: started")
  late=$(stamp "$l" "init: late modules")
  logc=$(awk '/SELFTEST: log connection at/ { print $NF; exit }' "$l")
  bridge=$(stamp "$l" "selftest: bridge connected")
  negg=$(stamp "$l" "selftest: negotiated")
  echo "$init $early $child $logc $bridge $negg $late $neg $exit_s $floor_s" >> "$d/rows"
  printf 'run %d: kernel->init %.3f  init->early-mods %.3f  init->child %.3f  init->gcs-started %.3f  init->bridge %.3f  init->negotiated %.3f  init->late-mods %.3f | host: qemu->negotiated %.2f  qemu->exit %.2f  floor qemu->exit %.2f\n' \
    "$i" "$init" "$(echo "$early - $init" | bc)" "$(echo "$child - $init" | bc)" \
    "$(echo "$logc - $init" | bc)" "$(echo "$bridge - $init" | bc)" "$(echo "$negg - $init" | bc)" \
    "$(echo "$late - $init" | bc)" "$neg" "$exit_s" "$floor_s"
done
# Production path from this machine, through the vhost-user-vsock backend.
host_rows=
if [ -x "$build/bin/vhost-user-vsock" ] && [ -x "$build/bin/lcow-bridge" ]; then
  host_rows="$d/hostrows"
  : > "$host_rows"
  for i in $(seq "$runs"); do
    h="$d/hp$i"
    mkdir -p "$h"
    "$build/bin/vhost-user-vsock" --socket "$h/vu.sock" --uds "$h/h" > "$h/vhost.log" 2>&1 &
    vpid=$!
    "$build/tests/boot-selftest" --listen "listen:unix:$h/h" --entropy 1 --log 109 --out "$h/host.log" &
    spid=$!
    for _ in $(seq 100); do [ -S "$h/vu.sock" ] && [ -S "$h/h_109" ] && break; sleep 0.05; done
    t0=$(now)
    "$qemu" -accel tcg -M pc,memory-backend=mem -m 512 \
      -object memory-backend-memfd,id=mem,size=512M,share=on \
      -chardev socket,id=vu,path="$h/vu.sock" -device vhost-user-vsock-pci,chardev=vu \
      -display none -nodefaults -no-reboot -serial "file:$h/console.log" \
      -kernel "$build/vmlinux" -initrd "$build/initrd.img" \
      -append 'console=ttyS0 quiet panic=-1 no_timer_check -- -e 1 /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json -loglevel info' &
    qpid=$!
    timeout 120 "$build/bin/lcow-bridge" --listen "unix:$h/h" --timeout 110 negotiate > /dev/null
    tn=$(now)
    timeout 60 "$build/bin/lcow-bridge" --listen "unix:$h/h" --timeout 50 shutdown --forced > /dev/null || true
    for _ in $(seq 600); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.01; done
    te=$(now)
    kill -9 "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; qpid=
    kill "$vpid" "$spid" 2>/dev/null || true; wait "$vpid" "$spid" 2>/dev/null || true
    echo "$(echo "$tn - $t0" | bc) $(echo "$te - $t0" | bc)" >> "$host_rows"
    printf 'host path run %d: QEMU start -> negotiated %.2f  -> power-off %.2f\n' "$i" $(tail -n 1 "$host_rows")
  done
fi

# The same initrd with other compressors: size and kernel start -> init (decompression is in
# that span). Module names come back from the image's own list.
variants=
if [ -n "${BOOT_COMPRESS_VARIANTS-gzip xz}" ]; then
  mkdir -p "$d/cur"
  (cd "$d/cur" && zstd -dcq "$build/initrd.img" | cpio -idm --quiet 'lib/modules/*/modules.lcow' 2>/dev/null)
  ml=$(echo "$d"/cur/lib/modules/*/modules.lcow)
  names() { awk -v s="$1" '$1 == s { n = $2; sub(".*/", "", n); sub("[.]ko.*", "", n); printf "%s ", n }' "$ml"; }
  bin="$build/bin"
  for c in ${BOOT_COMPRESS_VARIANTS-gzip xz}; do
    v="$d/var-$c"
    mkdir -p "$v"
    ln -s "$build/kernel" "$v/kernel"
    cp -al "$build/vmlinux" "$v/vmlinux"
    "$top/initrd/mkinitrd.sh" --build "$v" --init "$bin/init" --vsockexec "$bin/vsockexec" \
      --modlist "$bin/initrd-modlist" --gcs "$bin/gcs" --early "$(names early)" \
      --late "$(names late)" --compress "$c" 2> /dev/null
    # Same test archive in front, this image behind it.
    cat "$d/extra.cpio.gz" "$v/initrd.img" > "$v/test.img"
    : > "$v/inits"
    for i in $(seq "$runs"); do
      run_qemu "$v/test.img" "$(boot_append)" "$v/run$i.log" "selftest: negotiated" > /dev/null
      tr -d '\r' < "$v/run$i.log" | awk '/^TIMELINE/ && /init: starting/ { print $2; exit }' >> "$v/inits"
    done
    variants+="$c $(stat -c %s "$v/initrd.img") $(median < "$v/inits")"$'\n'
  done
fi

col() { awk -v c="$1" '{ print $c }' "$d/rows" | median; }
diffcol() { awk -v a="$1" -v b="$2" '{ printf "%.3f\n", $a - $b }' "$d/rows" | median; }
echo "--- medians over $runs runs (seconds; guest clock unless 'host')"
printf 'kernel start -> init            %s\n' "$(col 1)"
printf 'init -> early modules loaded    %s\n' "$(diffcol 2 1)"
printf 'init -> child (vsockexec) start %s\n' "$(diffcol 3 1)"
printf 'init -> gcs started (log conn)  %s\n' "$(diffcol 4 1)"
printf 'init -> bridge connected        %s   (target <= 1.0)\n' "$(diffcol 5 1)"
printf 'init -> negotiated              %s\n' "$(diffcol 6 1)"
printf 'init -> all modules loaded      %s\n' "$(diffcol 7 1)"
printf 'host: QEMU start -> negotiated  %s\n' "$(col 8)"
printf 'host: QEMU start -> power-off   %s\n' "$(col 9)"
printf 'host: floor (busybox poweroff)  %s\n' "$(col 10)"
printf 'ratio power-off / floor         %s\n' "$(echo "scale=2; $(col 9) / $(col 10)" | bc)"
printf 'initrd.img                      %s bytes (target <= 8388608)\n' "$(stat -c %s "$build/initrd.img")"
if [ -n "$host_rows" ]; then
  printf 'host path (vhost-user-vsock): QEMU start -> negotiated %s, -> power-off %s\n' \
    "$(awk '{ print $1 }' "$host_rows" | median)" "$(awk '{ print $2 }' "$host_rows" | median)"
fi
printf 'compression: zstd %s bytes, kernel->init %s (ours)\n' "$(stat -c %s "$build/initrd.img")" "$(col 1)"
[ -z "$variants" ] || printf '%s' "$variants" | while read -r c sz t; do
  printf 'compression: %s %s bytes, kernel->init %s\n' "$c" "$sz" "$t"
done
