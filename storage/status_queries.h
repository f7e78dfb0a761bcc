// status_queries: the status summary read by the HTTP admin API (/api/status) and
// `pubsubctl status`: the nodes (tpubsub_nodes, with each heartbeat's info document) and the
// count of events by status.
//
// Plain functions over a caller-owned connection (not thread-safe, like the connection); one
// query per call. Database errors come back as result errors.
#pragma once

#include <string>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

// The whole summary as one JSON document: {"nodes":[...], "events_by_status":{...}, "now":...};
// each node with heartbeat_age_s and alive.
result<std::string> status_summary_json(pg::connection& c, const std::string& schema);

// Rows: status, events; ordered by status.
result<pg::query_result> events_by_status(pg::connection& c, const std::string& schema);

// Rows: node_id, host, pid, version, started_at, last_heartbeat, alive, info; by node_id.
result<pg::query_result> node_rows(pg::connection& c, const std::string& schema);

// Rows of text, one per node: node_id, then one line each for the node itself, its doors,
// queue depth, events, write-behind, pools and file watcher (what the admin page's Service
// Status tab shows).
result<pg::query_result> node_lines(pg::connection& c, const std::string& schema);

}  // namespace pubsub
