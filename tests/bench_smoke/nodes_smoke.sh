#!/usr/bin/env bash
# Runs `pubsub-bench --nodes 2` briefly on the test cluster and checks its report: no error, an
# end-to-end rate for 1 and 2 nodes, and one kill -9 failover measured (its orphans restarted
# on the survivor). Asserts no timing.
set -euo pipefail
out=$("$PUBSUB_BIN_DIR/pubsub-bench" --nodes 2 -n 4000 --failover-runs 1 --timeout 60 \
  --data-dir "$PUBSUB_TEST_PG_DIR" --json) || { echo "$out"; exit 1; }
python3 - "$out" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
print("nodes:", {k: report[k] for k in ("events_per_s", "failover_us")})
assert not report["errors"], report["errors"]
assert report["events_per_s"]["1"] > 0 and report["events_per_s"]["2"] > 0, report
assert report["failover_us"]["n"] == 1 and report["failover_us"]["max"] > 0, report
print("nodes_smoke: 1 passed, 0 failed")
PY
