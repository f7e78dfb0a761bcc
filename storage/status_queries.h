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

// The whole summary as one JSON document: {"nodes":[...], "events_by_status":{...},
// "events_estimated":[statuses whose count is an estimate], "now":...}; each node with
// heartbeat_age_s and alive.
//
// Event counts never scan the table: pending and processing are exact (the partial index of
// open events); completed, failed and cancelled are exact below 100,000 events, above that
// estimates from PostgreSQL's statistics of the last ANALYZE (reltuples times the status's
// sampled frequency), listed in events_estimated. Autovacuum re-analyzes after about 10% of the
// table changed, so an estimate is within about 10% of the table's size, plus the sampling
// error, of the true count; a finished status absent from the sample is not listed.
result<std::string> status_summary_json(pg::connection& c, const std::string& schema);

// Rows: status, events, estimated (bool); ordered by status. Counted as above.
result<pg::query_result> events_by_status(pg::connection& c, const std::string& schema);

// Rows: node_id, host, pid, version, started_at, last_heartbeat, alive, info; by node_id.
result<pg::query_result> node_rows(pg::connection& c, const std::string& schema);

// Rows of text, one per node: node_id, then one line each for the node itself, its doors,
// queue depth, events, write-behind, pools and file watcher (what the admin page's Service
// Status tab shows).
result<pg::query_result> node_lines(pg::connection& c, const std::string& schema);

// Seconds since the oldest pending event was created (0 when none is pending), among the 1000
// lowest open ids, through the partial index of open events: bounded however long the backlog.
// Ids are handed out in blocks per node, so with several nodes an older event may hide behind
// 1000 younger ones with lower ids; the age then reads low, never high, and a backlog that
// stops moving still shows.
result<double> oldest_pending_age_s(pg::connection& c, const std::string& schema);

}  // namespace pubsub
