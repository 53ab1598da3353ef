#!/usr/bin/env bash
# make check's short fuzz run: builds the libFuzzer targets (clang, into $BUILD/fuzz-tree) and runs
# each for FUZZ_SMOKE_SECONDS (default 10: nine targets stay under ~1.5 min of fuzzing) through
# tests/fuzz/run-fuzz. Long runs: make fuzz-long.
set -eu
top=${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v clang >/dev/null || { echo "clang is not installed (.ci/packages lists it)"; exit 1; }
# Not a sub-make of the caller: start from a clean make environment, at most two jobs.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
exec make -C "$top" -j2 --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SMOKE_SECONDS:-10}"
