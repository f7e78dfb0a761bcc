#include "storage/status_queries.h"

#include <cstdint>

namespace pubsub {

namespace {

// A node is alive while its heartbeat is younger than its own deadline (--node-dead-after, in
// its row; the heartbeat runs every third of it): the rule the nodes' claims follow.
constexpr const char* alive_sql =
    "now() - last_heartbeat < make_interval(secs => dead_after_s) AS alive";

std::string table(const pg::connection& c, const std::string& schema, const char* name) {
    return c.quote_identifier(schema) + "." + name;
}

// One line per aspect of a node, from the heartbeat's info document (admin/heartbeat_info.cc).
constexpr const char* node_lines_sql = R"(
SELECT node_id,
  format('host %s, pid %s, version %s, started %s, last heartbeat %s s ago%s%s', host, pid, version,
         to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'),
         round(extract(epoch FROM now() - last_heartbeat)::numeric, 1),
         CASE WHEN now() - last_heartbeat < make_interval(secs => dead_after_s) THEN ''
              ELSE ' (NOT ALIVE)' END,
         CASE WHEN coalesce((info->'fencing'->>'declared_dead')::bigint, 0) = 0 THEN ''
              ELSE format('; declared dead %s times, %s events taken over',
                          info->'fencing'->>'declared_dead', info->'fencing'->>'taken_over') END),
  coalesce((SELECT string_agg(format('%s %s received, %s errors', key, value->>'received',
                                     value->>'errors'), '; ' ORDER BY key)
            FROM jsonb_each(info->'doors')), '-'),
  coalesce((SELECT string_agg(format('p%s=%s', key, value), ' ' ORDER BY key::int DESC)
            FROM jsonb_each_text(info->'queue_depth')), '-'),
  format('in %s/s, out %s/s; routed %s, deliveries %s, unmatched %s',
         coalesce(info->'events_per_s'->>'in', '?'), coalesce(info->'events_per_s'->>'out', '?'),
         coalesce(info->>'routed', '?'), coalesce(info->>'deliveries', '?'),
         coalesce(info->>'unmatched', '?')),
  format('%s, lag %s s, %s unpersisted, %s batches / %s rows, %s failures%s',
         CASE WHEN (info->'write_behind'->>'healthy')::bool THEN 'healthy' ELSE 'UNHEALTHY' END,
         info->'write_behind'->>'lag_s', info->'write_behind'->>'unpersisted',
         info->'write_behind'->>'batches', info->'write_behind'->>'rows',
         info->'write_behind'->>'failures',
         CASE WHEN coalesce(info->'write_behind'->>'last_error', '') = '' THEN ''
              ELSE '; last error: ' || (info->'write_behind'->>'last_error') END),
  coalesce((SELECT string_agg(format('%s %s/%s busy, %s queued, %s ok, %s failed, %s retried', key,
                                     value->>'busy', value->>'threads', value->>'queued',
                                     value->>'succeeded', value->>'failed', value->>'retried'),
                              '; ' ORDER BY key)
            FROM jsonb_each(info->'pools')), '-'),
  CASE WHEN jsonb_typeof(info->'file_watcher') = 'object' THEN
    format('%s watches, %s files emitted, %s overflows, %s unreadable dirs%s%s',
           info->'file_watcher'->>'watches', info->'file_watcher'->>'files_emitted',
           info->'file_watcher'->>'overflows', info->'file_watcher'->>'unreadable_dirs',
           CASE WHEN (info->'file_watcher'->>'watch_limit_reached')::bool
                THEN ', WATCH LIMIT REACHED (polling)' ELSE '' END ||
           CASE WHEN coalesce((info->'file_watcher'->>'skipped_names')::bigint, 0) > 0
                THEN ', ' || (info->'file_watcher'->>'skipped_names') ||
                     ' names skipped (not UTF-8)' ELSE '' END,
           CASE WHEN coalesce(info->'file_watcher'->>'last_error', '') = '' THEN ''
                ELSE '; last error: ' || (info->'file_watcher'->>'last_error') END)
  ELSE 'off' END
FROM %TABLE% ORDER BY node_id)";

// Events per status without a scan of the table. pending and processing: counted exactly
// through tpubsub_events_open_idx (open rows only, small while the router keeps up). Finished
// statuses: counted exactly while the table holds fewer than estimate_from rows (the planner's
// reltuples), else estimated as reltuples times the status's frequency in pg_stats, both from
// the last ANALYZE (autovacuum reruns it after about 10% of the table changed). Which of the two
// is decided by a query of its own: a plan holding both branches would be costed (and JIT
// compiled) as the full scan even when a one-time filter skips it.
constexpr std::int64_t estimate_from = 100'000;

result<bool> big_table(pg::connection& c, const std::string& schema) {
    auto r = c.query("SELECT reltuples >= " + std::to_string(estimate_from) +
                     " FROM pg_class WHERE oid = " +
                     c.quote_literal(table(c, schema, "tpubsub_events")) + "::regclass");
    if (!r.ok()) return r.error();
    return r->rows() == 1 && r->get(0, 0) == "t";
}

// Rows: status, events, estimated (bool).
result<std::string> status_counts_sql(pg::connection& c, const std::string& schema) {
    auto big = big_table(c, schema);
    if (!big.ok()) return big.error();
    const std::string events = table(c, schema, "tpubsub_events");
    const std::string open = "SELECT status, count(*)::bigint AS events, false AS estimated FROM " +
                             events + " WHERE status IN ('pending', 'processing') GROUP BY status";
    if (!*big) {
        return "SELECT status, count(*)::bigint AS events, false AS estimated FROM " + events +
               " GROUP BY status";
    }
    return "SELECT * FROM (" + open +
           " UNION ALL SELECT m.v, round(c.reltuples * m.f)::bigint, true FROM pg_class c, "
           "pg_stats st, unnest(st.most_common_vals::text::text[], st.most_common_freqs) AS "
           "m(v, f) WHERE c.oid = " +
           c.quote_literal(events) + "::regclass AND st.schemaname = " + c.quote_literal(schema) +
           " AND st.tablename = 'tpubsub_events' AND st.attname = 'status' AND m.v IN "
           "('completed', 'failed', 'cancelled')) counts";
}

}  // namespace

result<std::string> status_summary_json(pg::connection& c, const std::string& schema) {
    auto counts = status_counts_sql(c, schema);
    if (!counts.ok()) return counts.error();
    auto r = c.query(
        "WITH counts AS (" + *counts +
        ") SELECT json_build_object('nodes', (SELECT coalesce(json_agg(n ORDER BY n.node_id), "
        "'[]') FROM (SELECT node_id, host, pid, version, started_at, last_heartbeat, "
        "extract(epoch FROM now() - last_heartbeat)::float8 AS heartbeat_age_s, " +
        std::string(alive_sql) + ", info FROM " + table(c, schema, "tpubsub_nodes") +
        ") n), 'events_by_status', (SELECT coalesce(json_object_agg(status, events), '{}') "
        "FROM counts), 'events_estimated', (SELECT coalesce(json_agg(status ORDER BY status), "
        "'[]') FROM counts WHERE estimated), 'now', now())::text");
    if (!r.ok()) return r.error();
    return std::string(r->get(0, 0));
}

result<pg::query_result> events_by_status(pg::connection& c, const std::string& schema) {
    auto counts = status_counts_sql(c, schema);
    if (!counts.ok()) return counts.error();
    return c.query(*counts + " ORDER BY status");
}

result<pg::query_result> node_rows(pg::connection& c, const std::string& schema) {
    return c.query("SELECT node_id, host, pid, version, started_at, last_heartbeat, " +
                   std::string(alive_sql) + ", info FROM " + table(c, schema, "tpubsub_nodes") +
                   " ORDER BY node_id");
}

result<pg::query_result> node_lines(pg::connection& c, const std::string& schema) {
    std::string sql = node_lines_sql;
    sql.replace(sql.find("%TABLE%"), 7, table(c, schema, "tpubsub_nodes"));
    return c.query(sql);
}

result<double> oldest_pending_age_s(pg::connection& c, const std::string& schema) {
    auto r = c.query(
        "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(waits_from)), 0)::float8 FROM (SELECT "
        "greatest(created_at, run_at) AS waits_from FROM " +
        table(c, schema, "tpubsub_events") +
        " WHERE status IN ('pending', 'processing') AND status = 'pending' AND (run_at IS NULL "
        "OR run_at <= now()) ORDER BY event_id LIMIT 1000) oldest");
    if (!r.ok()) return r.error();
    double age = 0;
    try {
        age = std::stod(std::string(r->get(0, 0)));
    } catch (...) {
    }
    return age > 0 ? age : 0.0;
}

}  // namespace pubsub
