# Shared by tests/uvm/boot_selftest.sh and tests/bench/boot_timeline.sh (sourced, not run).
# boot_make_initrd BUILD DIR: writes DIR/initrd.img = build/initrd.img + an archive holding the
# guest-side host boot-selftest (with its libraries when a sanitizer build made it dynamic).
# boot_append: the kernel command line of the self-test boot.
boot_make_initrd() {
  local build=$1 d=$2 x="$2/extra"
  mkdir -p "$x/bin"
  install -m 0755 "$build/tests/boot-selftest" "$x/bin/boot-selftest"
  { ldd "$build/tests/boot-selftest" 2>/dev/null || true; } |
    awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
      install -D -m 0755 "$(readlink -f "$lib")" "$x$lib"
    done
  cat > "$x/bin/boot-selftest-start" <<'SH'
#!/bin/sh
exec /bin/boot-selftest --listen listen:vsock:0 --entropy 1 --log 109 --bridge 0x40000000 \
  --daemon --shutdown --kmsg --timeout 90
SH
  chmod 0755 "$x/bin/boot-selftest-start"
  (cd "$x" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
    gzip -1 > "$d/extra.cpio.gz"
  # The extra archive goes first: with it after the zstd image, a large one (a sanitizer
  # build's libraries) failed with "Initramfs unpacking failed: invalid magic at start of
  # compressed archive" on 6.1; gzip followed by zstd unpacks every time.
  cat "$d/extra.cpio.gz" "$build/initrd.img" > "$d/initrd.img"
}

boot_append() {
  printf '%s' "console=ttyS0 quiet panic=-1 -- -t vsock:1 -e 1 -x /bin/boot-selftest-start" \
    " /bin/vsockexec -t vsock:1 -e 109 /bin/gcs -v4 -log-format json -loglevel info" \
    " -bridge vsock:1:1073741824"
}
