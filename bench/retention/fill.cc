#include "bench/retention/fill.h"

#include <algorithm>

#include "storage/event_chunks.h"

namespace pubsub::bench {

namespace {

// One chunk: rows k = first .. first + count - 1 of n. The status comes from a hash of k, so
// the statuses mix through the id range instead of forming runs; open statuses only among the
// newest 1% (a backlog is recent: the router works through it oldest first).
std::string chunk_sql(const pg::connection& c, const std::string& schema, const fill_mix& m) {
    const std::string s = c.quote_identifier(schema);
    const std::string status =
        "CASE WHEN h < " + std::to_string(m.failed) + " THEN 'failed' WHEN h < " +
        std::to_string(m.failed + m.cancelled) + " THEN 'cancelled' WHEN k <= $3::bigint * 0.99 " +
        "THEN 'completed' WHEN h < " + std::to_string(m.failed + m.cancelled + m.pending) +
        " THEN 'pending' WHEN h < " +
        std::to_string(m.failed + m.cancelled + m.pending + m.processing) +
        " THEN 'processing' ELSE 'completed' END";
    return "WITH src AS (SELECT k, abs(hashint8(k)) % 1000 AS h, abs(hashint8(k + 7)) % 50 AS t, "
           "abs(hashint8(k + 13)) % 200 AS src, abs(hashint8(k + 29)) % 5000 AS r, now() - "
           "make_interval(secs => $4::float8 + "
           "$5::float8 * (1 - k::float8 / $3::float8)) AS created FROM generate_series($1::bigint, "
           "$2::bigint) k), ins AS (INSERT INTO " +
           s +
           ".tpubsub_events (event_type, event_source, event_data, status, priority, "
           "created_at, processed_at, completed_at, error_message, retry_count) SELECT "
           "CASE WHEN r = 0 THEN 'import.bulk_' || (t % 5) WHEN t < 20 THEN 'import_' || "
           "lpad(t::text, 2, '0') WHEN t < 45 THEN 'report_' || lpad(t::text, 2, '0') ELSE "
           "'file_received' END, CASE WHEN r = 1 THEN 'batch' || (src % 5) || ':cron' ELSE "
           "'host' || lpad((src % 20)::text, 2, '0') || ':app' || (src / 20) END, "
           "jsonb_build_object('config_name', 'sales_' || t, 'rows', k % 1000, 'file', "
           "'/data/in/' || k || '.csv'), st, 1 + (h % 10), created, "
           "CASE WHEN st = 'pending' THEN NULL ELSE created END, "
           "CASE WHEN st IN ('pending', 'processing') THEN NULL ELSE created + "
           "make_interval(secs => h % 60) END, CASE WHEN st = 'failed' THEN 'exit status 1' END, "
           "CASE WHEN st = 'failed' THEN 3 ELSE 0 END FROM (SELECT *, " +
           status + " AS st FROM src) x ORDER BY k RETURNING event_id, status) INSERT INTO " + s +
           ".tpubsub_deliveries (event_id, subscriber_id, subscriber_name, status, attempts) "
           "SELECT event_id, sub, 'sub' || sub, CASE WHEN status = 'failed' THEN 'dead' ELSE "
           "'completed' END, 1 FROM ins, generate_series(1, 2) sub WHERE event_id % 10 = 0";
}

}  // namespace

status fill_events(pg::connection& c, const std::string& schema, std::int64_t n,
                   const fill_mix& mix, std::int64_t chunk) {
    const std::string sql = chunk_sql(c, schema, mix);
    const std::string newest =
        "SELECT coalesce(max(event_id), 0) FROM " + c.quote_identifier(schema) + ".tpubsub_events";
    auto top = c.query(newest);
    if (!top.ok()) return top.error();
    event_id summarised = top->get_int(0, 0);
    for (std::int64_t first = 1; first <= n; first += chunk) {
        const std::int64_t last = std::min(n, first + chunk - 1);
        auto r = c.query(sql, {std::to_string(first), std::to_string(last), std::to_string(n),
                               std::to_string(mix.end_age_s), std::to_string(mix.span_s)});
        if (!r.ok()) return r.error();
        if (!mix.chunks) continue;
        top = c.query(newest);
        if (!top.ok()) return top.error();
        if (status s = summarize_events(c, schema, summarised + 1, top->get_int(0, 0)); !s.ok()) {
            return s;
        }
        summarised = top->get_int(0, 0);
    }
    return {};
}

result<std::int64_t> total_bytes(pg::connection& c, const std::string& schema, const char* table) {
    auto r = c.query("SELECT pg_total_relation_size($1::regclass)",
                     {c.quote_identifier(schema) + "." + table});
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

}  // namespace pubsub::bench
