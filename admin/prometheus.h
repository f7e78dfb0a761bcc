// prometheus: renders a node_sample in the Prometheus text exposition format (version 0.0.4),
// the body of GET /metrics. Pure function; every family has # HELP and # TYPE, names are
// prefixed pubsub_, latencies are in seconds.
#pragma once

#include <string>

#include "admin/node_sample.h"

namespace pubsub::admin {

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const node_sample& s);

}  // namespace pubsub::admin
