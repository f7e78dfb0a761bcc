#include "admin/prometheus.h"

#include <cstdio>
#include <string_view>

#include "base/build_info/build_info.h"

namespace pubsub::admin {

namespace {

class writer {
  public:
    void family(const char* name, const char* type, const char* help) {
        out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::string& labels, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + buf + "\n";
    }
    void sample(const std::string& name, const std::string& labels, std::uint64_t v) {
        out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
    }
    void histogram(const char* name, const char* help, const histogram_snapshot& h) {
        family(name, "histogram", help);
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < latency_bounds_us.size(); ++i) {
            cumulative += h.buckets[i];
            char le[32];
            std::snprintf(le, sizeof le, "%g", static_cast<double>(latency_bounds_us[i]) / 1e6);
            sample(std::string(name) + "_bucket", std::string("le=\"") + le + "\"", cumulative);
        }
        cumulative += h.buckets[latency_bounds_us.size()];
        // +Inf equals _count by construction, even when a concurrent observe() tore the read.
        sample(std::string(name) + "_bucket", "le=\"+Inf\"", cumulative);
        sample(std::string(name) + "_sum", "", static_cast<double>(h.sum_us) / 1e6);
        sample(std::string(name) + "_count", "", cumulative);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string label(const char* key, const std::string& value) {
    return std::string(key) + "=\"" + value + "\"";  // values here are fixed identifiers
}

// A label value in the exposition format's escapes (free text: subscriber names, the build).
std::string escaped_label(const char* key, std::string_view value) {
    std::string out = std::string(key) + "=\"";
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void workers(writer& w, const node_sample& s) {
    if (s.workers.empty()) return;  // no persistent subscriber has run here
    auto each = [&](const char* name, auto value) {
        for (const auto& sub : s.workers) {
            for (const auto& x : sub.workers) {
                w.sample(name,
                         escaped_label("subscriber", sub.subscriber) + "," +
                             label("worker", std::to_string(x.slot)),
                         value(x));
            }
        }
    };
    w.family("pubsub_worker_running", "gauge",
             "1 while a persistent worker has said hello and takes deliveries.");
    each("pubsub_worker_running", [](const worker_status& x) { return std::uint64_t{x.running}; });
    w.family("pubsub_worker_in_flight", "gauge", "Deliveries in flight on a persistent worker.");
    each("pubsub_worker_in_flight",
         [](const worker_status& x) { return static_cast<std::uint64_t>(x.in_flight); });
    w.family("pubsub_worker_restarts_total", "counter",
             "Restarts of a persistent worker (exit, malformed line, timeout).");
    each("pubsub_worker_restarts_total", [](const worker_status& x) { return x.restarts; });
}

void doors(writer& w, const node_sample& s) {
    w.family("pubsub_events_received_total", "counter",
             "Events received per door (socket: request lines, sql: rows claimed from the table, "
             "notify: pg_notify payloads accepted, file_watcher: files emitted).");
    for (const auto& d : s.doors) {
        w.sample("pubsub_events_received_total", label("door", d.door), d.received);
    }
    w.family("pubsub_door_errors_total", "counter", "Requests a door refused or could not parse.");
    for (const auto& d : s.doors) {
        w.sample("pubsub_door_errors_total", label("door", d.door), d.errors);
    }
    w.family("pubsub_connections_refused_total", "counter",
             "Connections refused at once: beyond --max-connections or --http-max-connections "
             "(reason max_connections), or a socket peer whose uid/gid is not allowed (peer).");
    w.sample("pubsub_connections_refused_total", "door=\"socket\",reason=\"max_connections\"",
             s.socket_refused_connections);
    w.sample("pubsub_connections_refused_total", "door=\"socket\",reason=\"peer\"",
             s.socket_refused_peers);
    w.sample("pubsub_connections_refused_total", "door=\"http\",reason=\"max_connections\"",
             s.http_refused_connections);
    if (s.watcher) {
        w.family("pubsub_file_watcher_skipped_names_total", "counter",
                 "Files skipped because PostgreSQL cannot store their path (not UTF-8).");
        w.sample("pubsub_file_watcher_skipped_names_total", "", s.watcher->skipped_names);
    }
}

void routing(writer& w, const node_sample& s) {
    w.family("pubsub_events_routed_total", "counter", "Events the router dispatched.");
    w.sample("pubsub_events_routed_total", "", s.routed.dispatched);
    w.family("pubsub_events_unmatched_total", "counter", "Events that matched no subscriber.");
    w.sample("pubsub_events_unmatched_total", "", s.routed.unmatched);
    w.family("pubsub_queue_depth", "gauge", "Events waiting in the router, per priority.");
    for (int p = max_priority; p >= min_priority; --p) {
        w.sample("pubsub_queue_depth", label("priority", std::to_string(p)),
                 static_cast<std::uint64_t>(s.queue_depth[static_cast<std::size_t>(p)]));
    }
    w.family("pubsub_scheduled_events", "gauge",
             "Events this node holds until their run_at (not counted as waiting).");
    w.sample("pubsub_scheduled_events", "", static_cast<std::uint64_t>(s.scheduled));
}

void pools(writer& w, const node_sample& s) {
    w.family("pubsub_deliveries_succeeded_total", "counter", "Deliveries whose handler succeeded.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_deliveries_succeeded_total", label("job_type", p.job_type), p.succeeded);
    }
    w.family("pubsub_deliveries_failed_total", "counter", "Deliveries whose handler failed.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_deliveries_failed_total", label("job_type", p.job_type), p.failed);
    }
    w.family("pubsub_deliveries_retried_total", "counter",
             "Failed delivery attempts scheduled to run again.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_deliveries_retried_total", label("job_type", p.job_type), p.retried);
    }
    w.family("pubsub_deliveries_dead_total", "counter",
             "Deliveries that failed with no retry left (dead): an operator must look.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_deliveries_dead_total", label("job_type", p.job_type),
                 p.failed > p.retried ? p.failed - p.retried : 0);
    }
    w.family("pubsub_pool_threads", "gauge", "Handler pool size per job type.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_pool_threads", label("job_type", p.job_type),
                 static_cast<std::uint64_t>(p.threads));
    }
    w.family("pubsub_pool_busy", "gauge", "Handler threads running a delivery, per job type.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_pool_busy", label("job_type", p.job_type),
                 static_cast<std::uint64_t>(p.busy < 0 ? 0 : p.busy));
    }
    w.family("pubsub_pool_queued", "gauge", "Deliveries waiting for a handler thread.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_pool_queued", label("job_type", p.job_type),
                 static_cast<std::uint64_t>(p.queued));
    }
    w.family("pubsub_deliveries_held", "gauge",
             "Deliveries held by a paused subscriber or pool (not counted as queued).");
    for (const auto& p : s.pools) {
        w.sample("pubsub_deliveries_held", label("job_type", p.job_type),
                 static_cast<std::uint64_t>(p.held));
    }
    w.family("pubsub_pool_paused", "gauge", "1 while the job type's pool is paused.");
    for (const auto& p : s.pools) {
        w.sample("pubsub_pool_paused", label("job_type", p.job_type),
                 static_cast<std::uint64_t>(p.paused ? 1 : 0));
    }
}

void storage(writer& w, const node_sample& s) {
    w.family("pubsub_write_behind_batches_total", "counter",
             "Write-behind transactions committed.");
    w.sample("pubsub_write_behind_batches_total", "", s.wb.batches);
    w.family("pubsub_write_behind_rows_total", "counter",
             "Event rows written by the write-behind.");
    w.sample("pubsub_write_behind_rows_total", "", s.wb.rows);
    w.family("pubsub_write_behind_last_batch_rows", "gauge", "Rows in the last committed batch.");
    w.sample("pubsub_write_behind_last_batch_rows", "",
             static_cast<std::uint64_t>(s.wb.last_batch_rows));
    w.family("pubsub_write_behind_last_batch_seconds", "gauge", "Duration of the last batch.");
    w.sample("pubsub_write_behind_last_batch_seconds", "", s.wb.last_batch_ms / 1e3);
    w.family("pubsub_write_behind_unpersisted_events", "gauge",
             "Admitted events whose row is not committed yet.");
    w.sample("pubsub_write_behind_unpersisted_events", "",
             static_cast<std::uint64_t>(s.wb.unpersisted_events));
    w.family("pubsub_events_rejected_total", "counter",
             "Events whose row PostgreSQL refused for good (a data error); they failed alone.");
    w.sample("pubsub_events_rejected_total", "", s.wb.rejected);
    w.family("pubsub_memory_budget_bytes", "gauge",
             "Bytes charged to the memory budget (--max-unpersisted-bytes) by unwritten events.");
    w.sample("pubsub_memory_budget_bytes", "", static_cast<std::uint64_t>(s.wb.budget_bytes));
    w.family("pubsub_write_behind_lag_seconds", "gauge",
             "Seconds since the last commit while events wait to be written (0 when none wait).");
    w.sample("pubsub_write_behind_lag_seconds", "", s.write_behind_lag_s());
    w.family("pubsub_write_behind_healthy", "gauge",
             "1 while the write-behind's last batch "
             "committed, 0 after a database error.");
    w.sample("pubsub_write_behind_healthy", "", std::uint64_t{s.wb.healthy ? 1u : 0u});
    w.family("pubsub_db_errors_total", "counter", "Database errors per component.");
    w.sample("pubsub_db_errors_total", label("component", "write_behind"), s.wb.failures);
    w.sample("pubsub_db_errors_total", label("component", "http"), s.http_db_errors);
    w.family("pubsub_node_declared_dead_total", "counter",
             "Times this node, back from a gap past --node-dead-after, found it may have been "
             "declared dead by the other nodes.");
    w.sample("pubsub_node_declared_dead_total", "", s.declared_dead);
    w.family("pubsub_events_taken_over_total", "counter",
             "Events other nodes took from this node while it was not live; their deliveries "
             "were dropped here.");
    w.sample("pubsub_events_taken_over_total", "", s.taken_over);
}

// The background pruner of --retention: an alert watches errors without a successful cycle.
void retention(writer& w, const node_sample& s) {
    if (!s.retention) return;
    const retention_pruner::totals& r = *s.retention;
    w.family("pubsub_retention_cycles_total", "counter",
             "Prune cycles this node ran to the end (a cycle another node ran is not counted).");
    w.sample("pubsub_retention_cycles_total", "", r.cycles);
    w.family("pubsub_retention_events_removed_total", "counter",
             "Finished events removed by --retention, with their deliveries.");
    w.sample("pubsub_retention_events_removed_total", "", r.removed);
    w.family("pubsub_retention_errors_total", "counter",
             "Prune cycles ended by a database error (no connection, a failed statement).");
    w.sample("pubsub_retention_errors_total", "", r.errors);
    w.family("pubsub_retention_last_success_timestamp_seconds", "gauge",
             "End of the last prune cycle that succeeded, seconds since the epoch (0: none yet).");
    w.sample("pubsub_retention_last_success_timestamp_seconds", "",
             static_cast<double>(r.last_success_us) / 1e6);
    w.family("pubsub_retention_last_duration_seconds", "gauge",
             "Duration of the last prune cycle that succeeded.");
    w.sample("pubsub_retention_last_duration_seconds", "",
             static_cast<double>(r.last_duration_us) / 1e6);
}

void health(writer& w, const health_sample& h) {
    w.family("pubsub_ready", "gauge",
             "1 while /readyz answers 200 (the database answers, the write-behind keeps up, no "
             "start or drain under way), else 0.");
    w.sample("pubsub_ready", "", std::uint64_t{h.ready ? 1u : 0u});
    w.family("pubsub_oldest_pending_age_seconds", "gauge",
             "Age of the oldest pending event in the table (0 when none; absent while the "
             "database does not answer).");
    if (h.oldest_pending_age_s) {
        w.sample("pubsub_oldest_pending_age_seconds", "", *h.oldest_pending_age_s);
    }
    w.family("pubsub_build_info", "gauge", "Always 1; the labels name the build.");
    w.sample("pubsub_build_info",
             escaped_label("version", build_version()) + "," +
                 escaped_label("revision", build_revision()),
             std::uint64_t{1});
}

void process(writer& w, const process_sample& p) {
    if (!p.ok) return;
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.sample("process_resident_memory_bytes", "", p.resident_bytes);
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", "", p.virtual_bytes);
    w.family("process_open_fds", "gauge", "Number of open file descriptors.");
    w.sample("process_open_fds", "", p.open_fds);
    w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    w.sample("process_max_fds", "", p.max_fds);
    w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
    w.sample("process_cpu_seconds_total", "", p.cpu_seconds);
    w.family("process_start_time_seconds", "gauge",
             "Start time of the process since the epoch, in seconds.");
    w.sample("process_start_time_seconds", "", p.start_time_seconds);
}

}  // namespace

std::string render_prometheus(const node_sample& s, const health_sample& h) {
    writer w;
    health(w, h);
    doors(w, s);
    routing(w, s);
    pools(w, s);
    workers(w, s);
    storage(w, s);
    retention(w, s);
    w.histogram("pubsub_ingest_to_handler_start_seconds",
                "From an event's creation to the start of one of its handlers.", s.ingest_to_start);
    w.histogram("pubsub_handler_duration_seconds", "Duration of one delivery's handler.",
                s.handler_duration);
    process(w, h.process);
    return w.take();
}

}  // namespace pubsub::admin
