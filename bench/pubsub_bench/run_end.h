// run_end: the last steps a pubsub-bench mode with its own cluster shares: stop a cluster
// started here (unless kept), then print the report (table or --json, errors included) and
// return the exit code. Not thread-safe.
#pragma once

#include <optional>

#include "bench/pubsub_bench/bench_common.h"
#include "bench/pubsub_bench/daemon_control.h"
#include "bench/pubsub_bench/report.h"

namespace pubsub::bench {

// 0 when rep holds no error, else 1.
int end_run(const bench_options& opt, const std::optional<cluster_handle>& cluster,
            bench_report& rep, json_object& j);

}  // namespace pubsub::bench
