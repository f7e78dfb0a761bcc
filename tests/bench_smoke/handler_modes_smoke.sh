#!/usr/bin/env bash
# Runs `pubsub-bench --handler python-process,python-persistent` briefly on the test cluster and
# checks its report parses: no error, a rate for both modes, and the persistent mode's paced
# send->done percentiles. Asserts no timing.
set -euo pipefail
out=$("$PUBSUB_BIN_DIR/pubsub-bench" --handler python-process,python-persistent -n 300 \
  --process-events 10 --rate 200 --timeout 60 --data-dir "$PUBSUB_TEST_PG_DIR" --json) \
  || { echo "$out"; exit 1; }
python3 - "$out" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
modes = report["modes"]
print("handler modes:", {m: modes[m]["per_s"] for m in modes})
assert not report["errors"], report["errors"]
assert modes["python-process"]["per_s"] > 0, modes
assert modes["python-persistent"]["per_s"] > 0, modes
assert modes["python-persistent"]["paced"]["send_to_done_us"]["n"] == 300, modes
assert report["throughput_ratio"] > 0, report
print("handler_modes_smoke: 1 passed, 0 failed")
PY
