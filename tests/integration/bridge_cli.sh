#!/usr/bin/env bash
# lcow-bridge CLI against gcs over unix: stdout/stderr relay and exit code, stdin with
# half-close, and dump-stacks. Everything lives in a temp dir removed on exit; every gcs and
# lcow-bridge started here is killed on exit.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
bin="$top/${BUILD:-build}/bin"
dir=$(mktemp -d /tmp/lcow-bridge-cli-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# Runs `lcow-bridge --listen ADDR ARGS...` against a fresh gcs; stdin from $STDIN (default none).
run() {
  local addr="unix:$dir/b$1"; shift
  "$bin/lcow-bridge" --listen "$addr" --timeout 10 "$@" <"${STDIN:-/dev/null}" \
    >"$dir/out" 2>"$dir/err" &
  local cli=$!
  pids+=("$cli")
  # The CLI must be listening before gcs dials; gcs retries every 100 ms anyway.
  "$bin/gcs" -bridge "$addr" -log-format json -loglevel info -kmsgLogLevel 0 2>>"$dir/gcs.log" &
  local g=$!
  pids+=("$g")
  local rc=0
  wait "$cli" || rc=$?
  kill -9 "$g" 2>/dev/null || true
  wait "$g" 2>/dev/null || true
  return "$rc"
}

rc=0
run 1 exec -- /bin/sh -c 'echo out; echo err >&2; exit 3' || rc=$?
[ "$rc" = 3 ] || { echo "exit code $rc, want 3"; exit 1; }
[ "$(cat "$dir/out")" = out ] || { echo "stdout: $(cat "$dir/out")"; exit 1; }
[ "$(cat "$dir/err")" = err ] || { echo "stderr: $(cat "$dir/err")"; exit 1; }

printf 'line one\nline two\n' >"$dir/in"
STDIN="$dir/in" run 2 exec -i -- cat
[ "$(cat "$dir/out")" = "$(cat "$dir/in")" ] || { echo "cat: $(cat "$dir/out")"; exit 1; }

run 3 exec --env A=1 --cwd /tmp -- /bin/sh -c 'echo "$A $(pwd)"'
[ "$(cat "$dir/out")" = "1 /tmp" ] || { echo "env/cwd: $(cat "$dir/out")"; exit 1; }

run 4 dump-stacks
grep -q 'gcs pid' "$dir/out" || { echo "dump-stacks: $(cat "$dir/out")"; exit 1; }

# A failing exec is a clear one-line error and exit 125.
rc=0
run 5 exec -- /nonexistent/program || rc=$?
[ "$rc" = 125 ] && grep -q 'nonexistent' "$dir/err" || { echo "bad exec: rc $rc $(cat "$dir/err")"; exit 1; }

# -core-dump-location writes the kernel's core_pattern. Only inside a private mount namespace
# where a scratch file is bound over /proc/sys/kernel/core_pattern: this machine's own setting
# is never touched.
echo unchanged >"$dir/core_pattern"
unshare -m --propagation private sh -c '
  mount --bind "$1/core_pattern" /proc/sys/kernel/core_pattern || exit 77
  exec "$2" -bridge "unix:$1/nobody" -kmsgLogLevel 0 -core-dump-location "/tmp/core.%e.%p" \
    2>>"$1/core.log" & pid=$!
  for i in $(seq 50); do
    [ "$(cat "$1/core_pattern")" = "/tmp/core.%e.%p" ] && break
    sleep 0.05
  done
  kill -9 $pid' sh "$dir" "$bin/gcs" || { rc=$?; [ $rc = 77 ] && echo "skip core pattern: no bind over /proc"; }
[ "$(cat "$dir/core_pattern")" = "/tmp/core.%e.%p" ] || { echo "core_pattern: $(cat "$dir/core_pattern")"; exit 1; }

# gcs's stderr log is JSON lines only.
while IFS= read -r line; do
  case "$line" in '{"time":'*'"level":'*'"msg":'*) ;; *) echo "not a JSON log line: $line"; exit 1 ;; esac
done <"$dir/gcs.log"
echo "bridge_cli: ok"
