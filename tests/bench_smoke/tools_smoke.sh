#!/usr/bin/env bash
# The bench tools, each for a moment on the test cluster: every one runs and its output parses
# (pubsub-bench --json with both sql-queue variants and the COPY limit, filter_bench and
# process_bench JSON, sql_door_bench's latency and stage lines). Asserts no timing.
set -euo pipefail
bin=$PUBSUB_BIN_DIR
dsn=$("$bin/pubsub-pg" dsn --data-dir "$PUBSUB_TEST_PG_DIR" -q)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/pubsub-bench" --dsn "$dsn" --data-dir "$tmp/bench" -n 2000 -p 2 --ack durable \
  --baselines all --timeout 60 --json >"$tmp/bench.json"
"$bin/filter_bench" --benchmark_filter='compiled/.*/10$' --benchmark_min_time=0.01 \
  --benchmark_format=json >"$tmp/filter.json" 2>/dev/null
"$bin/process_bench" --benchmark_filter='BM_start_bin_true/real_time/threads:1$' --benchmark_min_time=0.01 \
  --benchmark_format=json >"$tmp/process.json" 2>/dev/null
"$bin/sql_door_bench" --pg-dir "$PUBSUB_TEST_PG_DIR" --bin-dir "$bin" --rate 100 --seconds 1 \
  --rate-seconds 1 >"$tmp/sql_door.txt" 2>"$tmp/sql_door.err" || { cat "$tmp/sql_door.err"; exit 1; }
python3 - "$tmp" <<'PY'
import json, re, sys
d = sys.argv[1]
b = json.load(open(d + "/bench.json"))
assert not b["errors"], b["errors"]
for k in ("sql_queue", "sql_queue_batched"):
    lat = b[k]["send_to_ack_us"]
    assert b[k]["end_to_end_per_s"] > 0 and lat["n"] == 2000, (k, b[k])
    assert "p99_9" not in lat, "p99.9 of fewer than 100,000 samples"
assert b["copy_limit"]["per_s"] > 0 and b["copy_limit_2"]["per_s"] > 0
assert b["intake_to_handler_start_us"]["n"] == 2000, "no daemon share"
assert "end_to_end_vs_sql_queue_batched" in b["ratios"], b["ratios"]
for f in ("filter", "process"):
    runs = json.load(open(d + "/" + f + ".json"))["benchmarks"]
    assert runs and all(r["items_per_second"] > 0 for r in runs), runs
text = open(d + "/sql_door.txt").read()
assert re.search(r"p50 +[0-9.]+ +p90 +[0-9.]+ +p99 +[0-9.]+ +p99\.9 +- ", text), text
# The stage split from pubsubd's "sql door claim" lines: every stage line is there and parses,
# and each of the 100 events either has its stages or is counted as without a logged claim.
m = re.search(r"^stages \((\d+) events without a logged claim, (\d+) claimed by a timed sweep\):$",
              text, re.M)
assert m, "no stage breakdown:\n" + text
missing = int(m.group(1))
stage = r"p50 +-?[0-9.]+ +p90 +-?[0-9.]+ +p99 +-?[0-9.]+ +p99\.9 +- +max +-?[0-9.]+ ms +\(n (\d+), min +-?[0-9.]+, \d+ negative\)$"
counts = {}
for label in ("1 send -> in statement", "2 in statement -> COMMIT returned",
              "3 in statement -> NOTIFY read", "(COMMIT returned -> NOTIFY read)",
              "4 NOTIFY read -> claim reply", "5 claim reply -> rows loaded",
              "6 rows loaded -> routed", "7 rows loaded -> handler start",
              "pubsubd: NOTIFY read -> start"):
    sm = re.search(r"^ +" + re.escape(label) + " +" + stage, text, re.M)
    assert sm, "stage line missing or unparsable: " + label + "\n" + text
    counts[label] = int(sm.group(1))
assert counts["7 rows loaded -> handler start"] + missing == 100, (counts, missing)
assert counts["7 rows loaded -> handler start"] > 0, counts
print("tools_smoke: 4 tools ran, their output parsed")
PY
