// prometheus: renders a node_sample in the Prometheus text exposition format (version 0.0.4),
// the body of GET /metrics. Pure function; every family has # HELP and # TYPE, names are
// prefixed pubsub_ (but the standard process_* figures), latencies are in seconds.
#pragma once

#include <optional>
#include <string>

#include "admin/node_sample.h"
#include "admin/process_stats.h"

namespace pubsub::admin {

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// What /metrics adds to the node's counters: readiness (as /readyz), the database's view of the
// queue, and the process's own figures.
struct health_sample {
    bool ready = true;
    std::optional<double> oldest_pending_age_s;  // nullopt: the database did not answer
    process_sample process;
};

std::string render_prometheus(const node_sample& s, const health_sample& h = {});

}  // namespace pubsub::admin
