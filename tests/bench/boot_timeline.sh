#!/usr/bin/env bash
# Boot timeline of the UVM under TCG (issue 8), from the guest's own clock (kernel log stamps
# of init's records, CLOCK_BOOTTIME of the in-guest host) and from this machine (QEMU start ->
# negotiated, seen on the serial log; QEMU start -> exit). Peer/floor: the same kernel booting a
# one-line busybox initramfs that powers off at once; the ratio is ours / floor.
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
  read -r _ floor_s < <(run_qemu "$d/floor.img" "console=ttyS0 quiet panic=-1" "$d/floor$i.log" "")
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
