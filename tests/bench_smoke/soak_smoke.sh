#!/usr/bin/env bash
# Runs `pubsub-bench --soak` for a few seconds on the test cluster and checks its report: no
# error (pubsubd exited 0, every steady line acknowledged), and the daemon's peak RSS stays
# under a bound while a client pushes 64 MiB of lines it never reads replies to, others churn
# connections and send malformed and poison lines. Memory is read by the tool from /proc.
set -euo pipefail
seconds=${PUBSUB_SOAK_SECONDS:-4}
bound_kb=${PUBSUB_SOAK_RSS_BOUND_KB:-262144}  # 256 MiB: the unbounded daemon passed 1 GiB in 5 s
out=$("$PUBSUB_BIN_DIR/pubsub-bench" --soak "$seconds" --rate 300 --timeout 60 \
  --data-dir "$PUBSUB_TEST_PG_DIR" --json) || { echo "$out"; exit 1; }
python3 - "$out" "$bound_kb" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
bound = int(sys.argv[2])
soak = report["soak"]
print("soak:", {k: v for k, v in soak.items() if k != "samples"})
assert not report["errors"], report["errors"]
assert soak["ok"] > 0 and soak["errors"] == 0, soak
assert len(soak["samples"]) >= 3, "fewer than 3 samples"
assert soak["rss_peak_kb"] < bound, f"peak RSS {soak['rss_peak_kb']} KiB over {bound} KiB"
print("soak_smoke: 1 passed, 0 failed")
PY
