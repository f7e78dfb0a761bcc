#!/bin/sh
# Builds the socket request parser fuzzer and runs it for a bounded time (see ../run_fuzzer.sh).
# Usage: tests/fuzz/request/run.sh [seconds=60] [work_dir]
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
exec "$root/tests/fuzz/run_fuzzer.sh" request_parser_fuzz "${1:-60}" "${2:-$root/build-fuzz-request}" \
  1024 "$root/ingest/request.h" "$root/ingest/request.cc" "$root/ingest/json_type_name.cc" \
  "$root/ingest/json_scan.cc" "$root/ingest/json_unescape.cc" \
  "$root/ingest/json_repeated_keys.cc" "$root/ingest/producer_fields.cc" \
  "$root/router/event.cc" "$root/base/json_text.cc"
