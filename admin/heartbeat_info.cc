#include "admin/heartbeat_info.h"

#include <cstdio>

#include "base/json_text.h"

namespace pubsub::admin {

namespace {

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

std::string watcher_json(const std::optional<file_watcher_counters>& w) {
    if (!w) return "null";
    std::string j = "{\"watches\":" + std::to_string(w->watches) +
                    ",\"files_emitted\":" + std::to_string(w->files_emitted) +
                    ",\"dirs_missing\":" + std::to_string(w->dirs_missing) +
                    ",\"overflows\":" + std::to_string(w->overflows) +
                    ",\"unreadable_dirs\":" + std::to_string(w->unreadable_dirs) +
                    ",\"skipped_names\":" + std::to_string(w->skipped_names) +
                    ",\"watch_limit_reached\":" + (w->watch_limit_reached ? "true" : "false") +
                    ",\"last_error\":";
    append_json_string(j, w->last_error);
    return j + "}";
}

std::string pools_json(const node_sample& s) {
    std::string j = "{";
    for (const auto& p : s.pools) {
        if (j.size() > 1) j += ",";
        j += "\"" + p.job_type + "\":{\"threads\":" + std::to_string(p.threads) +
             ",\"busy\":" + std::to_string(p.busy) + ",\"queued\":" + std::to_string(p.queued) +
             ",\"succeeded\":" + std::to_string(p.succeeded) +
             ",\"failed\":" + std::to_string(p.failed) +
             ",\"retried\":" + std::to_string(p.retried) + ",\"held\":" + std::to_string(p.held) +
             ",\"paused\":" + (p.paused ? "true" : "false") + "}";
    }
    return j + "}";
}

// One object per worker: [{"subscriber":..,"slot":0,"pid":..,"running":..,...}].
std::string workers_json(const node_sample& s) {
    std::string j = "[";
    for (const auto& sub : s.workers) {
        for (const auto& w : sub.workers) {
            if (j.size() > 1) j += ",";
            j += "{\"subscriber\":";
            append_json_string(j, sub.subscriber);
            j += ",\"slot\":" + std::to_string(w.slot) + ",\"pid\":" + std::to_string(w.pid) +
                 ",\"running\":" + (w.running ? "true" : "false") +
                 ",\"in_flight\":" + std::to_string(w.in_flight) +
                 ",\"restarts\":" + std::to_string(w.restarts) +
                 ",\"completed\":" + std::to_string(w.completed) +
                 ",\"failed\":" + std::to_string(w.failed) + ",\"last_error\":";
            append_json_string(j, w.last_error);
            j += "}";
        }
    }
    return j + "]";
}

std::string doors_json(const node_sample& s, std::uint64_t& errors) {
    std::string j = "{";
    for (const auto& d : s.doors) {
        if (j.size() > 1) j += ",";
        j += "\"" + d.door + "\":{\"received\":" + std::to_string(d.received) +
             ",\"errors\":" + std::to_string(d.errors) + "}";
        errors += d.errors;
    }
    return j + "}";
}

}  // namespace

std::string heartbeat_info::json(const node_sample& s) {
    double in_rate = 0, out_rate = 0;
    if (prev_ && s.taken_us > prev_->taken_us) {
        double secs = static_cast<double>(s.taken_us - prev_->taken_us) / 1e6;
        in_rate = static_cast<double>(s.received_total() - prev_->received_total()) / secs;
        out_rate = static_cast<double>(s.finished_total() - prev_->finished_total()) / secs;
    }
    prev_ = s;
    std::string j = "{\"queue_depth\":{";
    for (int p = max_priority; p >= min_priority; --p) {
        j += "\"" + std::to_string(p) +
             "\":" + std::to_string(s.queue_depth[static_cast<std::size_t>(p)]);
        if (p > min_priority) j += ",";
    }
    std::uint64_t door_errors = 0;
    std::string doors = doors_json(s, door_errors);
    j += "},\"doors\":" + doors + ",\"events_per_s\":{\"in\":" + num(in_rate) +
         ",\"out\":" + num(out_rate) + "},\"routed\":" + std::to_string(s.routed.dispatched) +
         ",\"deliveries\":" + std::to_string(s.routed.deliveries) +
         ",\"unmatched\":" + std::to_string(s.routed.unmatched) +
         ",\"errors\":{\"doors\":" + std::to_string(door_errors) +
         ",\"write_behind\":" + std::to_string(s.wb.failures) +
         ",\"http_db\":" + std::to_string(s.http_db_errors) +
         "},\"write_behind\":{\"healthy\":" + (s.wb.healthy ? "true" : "false") +
         ",\"batches\":" + std::to_string(s.wb.batches) + ",\"rows\":" + std::to_string(s.wb.rows) +
         ",\"unpersisted\":" + std::to_string(s.wb.unpersisted_events) +
         ",\"failures\":" + std::to_string(s.wb.failures) +
         ",\"lag_s\":" + num(s.write_behind_lag_s()) +
         ",\"last_batch_rows\":" + std::to_string(s.wb.last_batch_rows) + ",\"last_error\":";
    append_json_string(j, s.wb.last_error);
    return j + "},\"pools\":" + pools_json(s) + ",\"file_watcher\":" + watcher_json(s.watcher) +
           ",\"workers\":" + workers_json(s) +
           ",\"fencing\":{\"declared_dead\":" + std::to_string(s.declared_dead) +
           ",\"taken_over\":" + std::to_string(s.taken_over) + "}}";
}

}  // namespace pubsub::admin
