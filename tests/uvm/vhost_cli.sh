#!/usr/bin/env bash
# vhost-user-vsock's command line and life cycle without a VM: --help, clear errors with exit
# status 2 (bad command line) or 1 (cannot start), a stale socket file replaced, SIGTERM ->
# exit 0 with its socket files removed, and a front end closing the socket -> exit 0.
set -u
cd "${LCOW_TOP:-.}"
BUILD=${BUILD:-build}
bin="$BUILD/bin/vhost-user-vsock"
work=$(mktemp -d /tmp/vhost-cli.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail=0
check() { # NAME WANT_RC GREP_PATTERN -- CMD...
  local name=$1 want=$2 pat=$3
  shift 4
  "$@" >"$work/out" 2>&1
  local rc=$?
  if [ "$rc" = "$want" ] && grep -q -- "$pat" "$work/out"; then
    echo "PASS $name"
  else
    echo "FAIL $name (rc=$rc, want $want and /$pat/):"
    sed 's/^/    /' "$work/out"
    fail=1
  fi
}

check help 0 "share=on" -- "$bin" --help
check missing-args 2 "are required" -- "$bin" --socket "$work/a.sock"
check bad-cid 2 "guest-cid" -- "$bin" --socket "$work/a.sock" --uds "$work/v" --guest-cid 2
check cid-any 2 "guest-cid" -- "$bin" --socket "$work/a.sock" --uds "$work/v" --guest-cid 4294967295
check bad-cid-text 2 "guest-cid" -- "$bin" --socket "$work/a.sock" --uds "$work/v" --guest-cid 3x
check unknown-option 2 "unknown" -- "$bin" --socket "$work/a.sock" --uds "$work/v" --bogus
check extra-arg 2 "unexpected argument" -- "$bin" --socket "$work/a.sock" --uds "$work/v" extra
long=$(printf 'x%.0s' $(seq 120))
check long-socket 2 "too long" -- "$bin" --socket "$work/$long" --uds "$work/v"
check long-uds 1 "too long" -- "$bin" --socket "$work/a.sock" --uds "$work/$long"
check no-dir 1 "bind" -- "$bin" --socket "$work/nodir/a.sock" --uds "$work/v"

# A stale socket file from a crashed run is replaced; SIGTERM ends the process with 0 and
# removes both socket files.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$work/a.sock"
"$bin" --socket "$work/a.sock" --uds "$work/v" 2>"$work/log" &
pid=$!
for _ in $(seq 50); do grep -q listening "$work/log" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
if [ "$rc" = 0 ] && [ ! -e "$work/a.sock" ] && [ ! -e "$work/v" ]; then
  echo "PASS sigterm"
else
  echo "FAIL sigterm (rc=$rc; left: $(ls "$work"))"
  cat "$work/log"
  fail=1
fi

# A front end that connects and leaves: exit 0; a second front end is not accepted meanwhile.
"$bin" --socket "$work/a.sock" --uds "$work/v" 2>"$work/log" &
pid=$!
for _ in $(seq 50); do grep -q listening "$work/log" && break; sleep 0.1; done
python3 - "$work/a.sock" <<'EOF'
import socket, sys, time
a = socket.socket(socket.AF_UNIX)
a.connect(sys.argv[1])
time.sleep(0.3)
b = socket.socket(socket.AF_UNIX)
try:
    b.connect(sys.argv[1])
    print("second front end accepted")
    sys.exit(1)
except OSError:
    pass
a.close()
EOF
py=$?
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
rc=$?
pid=
if [ "$py" = 0 ] && [ "$rc" = 0 ] && grep -q "closed the connection" "$work/log"; then
  echo "PASS frontend-eof"
else
  echo "FAIL frontend-eof (python=$py rc=$rc)"
  cat "$work/log"
  fail=1
fi
exit $fail
