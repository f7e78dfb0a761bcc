#!/bin/sh
# Builds the filter parser fuzzer and runs it for a bounded time (see ../run_fuzzer.sh).
# Usage: tests/fuzz/filter/run.sh [seconds=60] [work_dir]
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
exec "$root/tests/fuzz/run_fuzzer.sh" filter_parser_fuzz "${1:-60}" "${2:-$root/build-fuzz-filter}" \
  2048 "$root/filter" "$root"/filter/*.cc
