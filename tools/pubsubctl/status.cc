// pubsubctl status and migrate.
#include <iostream>
#include <string>

#include "commands.h"
#include "storage/migrations.h"

namespace pubsub::ctl {

namespace {

// One line per aspect of a node, from the heartbeat's info document
// (admin/heartbeat_info.cc): what the admin page's Service Status tab shows.
constexpr const char* node_lines_sql = R"(
SELECT node_id,
  format('host %s, pid %s, version %s, started %s, last heartbeat %s s ago%s', host, pid, version,
         to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'),
         round(extract(epoch FROM now() - last_heartbeat)::numeric, 1),
         CASE WHEN now() - last_heartbeat < interval '30 seconds' THEN '' ELSE ' (NOT ALIVE)' END),
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

}  // namespace

int show_status(const context& ctx) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto counts = c->query("SELECT status, count(*) AS events FROM " +
                           ctx.table(*c, "tpubsub_events") + " GROUP BY status ORDER BY status");
    if (!counts.ok()) return fail(counts.message());
    if (ctx.json) {
        auto nodes = c->query(
            "SELECT node_id, host, pid, version, started_at, last_heartbeat, "
            "now() - last_heartbeat < interval '30 seconds' AS alive, info FROM " +
            ctx.table(*c, "tpubsub_nodes") + " ORDER BY node_id");
        if (!nodes.ok()) return fail(nodes.message());
        std::cout << "{\"nodes\":";
        print_rows(*nodes, true);
        std::cout << ",\"events\":";
        print_rows(*counts, true);
        std::cout << "}\n";
        return 0;
    }
    std::string sql = node_lines_sql;
    sql.replace(sql.find("%TABLE%"), 7, ctx.table(*c, "tpubsub_nodes"));
    auto nodes = c->query(sql);
    if (!nodes.ok()) return fail(nodes.message());
    static constexpr const char* labels[] = {
        "", "doors", "queue depth", "events", "write-behind", "pools", "watcher"};
    if (nodes->rows() == 0) std::cout << "no pubsubd has attached to this schema\n";
    for (int i = 0; i < nodes->rows(); ++i) {
        std::cout << "node " << nodes->get(i, 0) << "\n  " << nodes->get(i, 1) << "\n";
        for (int col = 2; col < nodes->columns(); ++col) {
            std::cout << "  " << labels[col - 1] << ": " << nodes->get(i, col) << "\n";
        }
        std::cout << "\n";
    }
    std::cout << "events by status:\n";
    print_rows(*counts, false);
    return 0;
}

int migrate(const context& ctx) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto n = apply_migrations(*c, ctx.schema);
    if (!n.ok()) return fail(n.message());
    std::cout << "applied " << *n << " migration(s) to schema " << ctx.schema << "\n";
    return 0;
}

}  // namespace pubsub::ctl
