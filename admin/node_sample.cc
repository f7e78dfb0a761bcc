#include "admin/node_sample.h"

#include "handlers/pool_set.h"
#include "ingest/notify_door.h"
#include "ingest/socket_server.h"
#include "storage/node_heartbeat.h"

namespace pubsub::admin {

std::uint64_t node_sample::received_total() const {
    std::uint64_t n = 0;
    for (const auto& d : doors) n += d.received;
    return n;
}

std::uint64_t node_sample::finished_total() const {
    std::uint64_t n = 0;
    for (const auto& p : pools) n += p.succeeded + p.failed;
    return n;
}

double node_sample::write_behind_lag_s() const {
    if (wb.unpersisted_events == 0 && wb.held_rows == 0) return 0;
    if (wb.last_commit_us == 0) return 0;  // nothing committed yet: no reference point
    auto lag = static_cast<double>(taken_us - wb.last_commit_us) / 1e6;
    return lag > 0 ? lag : 0;
}

node_sample collect(const node_sources& src) {
    node_sample s;
    s.taken_us = now_us();
    if (src.socket) {
        auto c = src.socket->counters();
        s.doors.push_back({"socket", c.lines, c.errors});
        s.socket_refused_connections = c.refused_connections;
        s.socket_refused_peers = c.refused_peers;
    }
    if (src.sql_claimed) s.doors.push_back({"sql", src.sql_claimed(), 0});
    if (src.notify) s.doors.push_back({"notify", src.notify->accepted(), src.notify->malformed()});
    if (src.watcher) {
        s.watcher = src.watcher->counters();
        // The watcher's refusals: file names PostgreSQL cannot store (not UTF-8), skipped.
        s.doors.push_back({"file_watcher", s.watcher->files_emitted, s.watcher->skipped_names});
    }
    if (src.rt) {
        s.routed = src.rt->counters();
        for (int p = min_priority; p <= max_priority; ++p) {
            s.queue_depth[static_cast<std::size_t>(p)] = src.rt->depth(p);
        }
        s.scheduled = src.rt->scheduled();
    }
    if (src.pools) {
        for (int t = 0; t < job_type_count; ++t) {
            auto c = src.pools->counters(static_cast<job_type>(t));
            s.pools.push_back({std::string(to_string(static_cast<job_type>(t))), c.threads, c.busy,
                               c.queued, c.succeeded, c.failed, c.retried, c.held, c.paused});
        }
    }
    if (src.wb) {
        s.wb = src.wb->stats();
        s.wb_admits = src.wb->admit().ok();
    }
    if (src.metrics) {
        s.ingest_to_start = src.metrics->ingest_to_start.snapshot();
        s.handler_duration = src.metrics->handler_duration.snapshot();
    }
    if (src.http_db_errors) s.http_db_errors = src.http_db_errors();
    if (src.http_refused_connections) s.http_refused_connections = src.http_refused_connections();
    if (src.workers) s.workers = src.workers->snapshot();
    if (src.heartbeat) {
        s.declared_dead = src.heartbeat->declared_dead();
        s.taken_over = src.heartbeat->taken_over();
    }
    if (src.pruner) s.retention = src.pruner->counts();
    return s;
}

}  // namespace pubsub::admin
