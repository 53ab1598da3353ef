#!/usr/bin/env bash
# make bench: gcs Network Add vs iproute2 (tests/bench/network_bench.c), run inside a network
# namespace of its own so nothing touches this machine's; everything is deleted on exit.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
bench="$top/${BUILD:-build}/tests/network_bench"
p="lcow-bench-$$"
tmp=$(mktemp -d /tmp/lcow-bench-net-XXXXXX)
cleanup() {
    for ns in $(ip netns list 2>/dev/null | awk -v p="$p-" 'index($1, p) == 1 {print $1}'); do ip netns del "$ns" || true; done
    ip netns del "$p" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$p"
ip netns exec "$p" "$bench" "${NETWORK_BENCH_ROUNDS:-40}" "$p" "$tmp"
