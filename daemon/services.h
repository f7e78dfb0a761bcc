// services: everything pubsubd runs on top of its database (database.h), built from the
// settings and handed to a service_list in start order, so that stopping the list in reverse
// is the shutdown order (STYLE 9) for a failed start and a signal alike:
//   1. the doors close: the socket stops accepting and reading (replies still flow), the watcher
//      stops emitting, the listener (SQL and notify doors) stops, intake refuses;
//   2. the router dispatches what it holds and the handler pools drain, until the deadline;
//   3. the write-behind flushes, for as long again;
//   4. the socket's and the watcher's last acks are out, they close; the id allocator and the
//      heartbeat stop;
//   5. last, the HTTP admin (first up): /livez, /readyz (503, "draining") and /metrics answer
//      through the whole drain, so a load balancer takes the node out and a supervisor leaves
//      it alone; the API refuses changes meanwhile (no operator action races the drain);
// then database.h's node row, connection and server.
// Main thread only (it also takes the signals), except sample(), which any thread may call.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "admin/admin_server.h"
#include "admin/heartbeat_info.h"
#include "admin/history_sampler.h"
#include "admin/node_sample.h"
#include "base/service.h"
#include "daemon/config.h"
#include "daemon/database.h"
#include "daemon/reload.h"
#include "handlers/persistent_workers.h"
#include "handlers/pool_set.h"
#include "handlers/process_registry.h"
#include "ingest/db_door.h"
#include "ingest/file_watcher.h"
#include "ingest/notify_door.h"
#include "ingest/socket_server.h"
#include "router/intake.h"
#include "router/memory_budget.h"
#include "router/metrics.h"
#include "router/router.h"
#include "storage/config_check.h"
#include "storage/delivery_store.h"
#include "storage/id_allocator.h"
#include "storage/listener.h"
#include "storage/node_heartbeat.h"
#include "storage/retention_pruner.h"
#include "storage/scheduled_loader.h"
#include "storage/watch_state_store.h"
#include "storage/write_behind.h"

namespace pubsub {

class node_services {
  public:
    // Builds every part (nothing starts); fails only when a handler runner cannot be made
    // from the settings (a malformed --job-command). db's services must be running.
    static result<std::unique_ptr<node_services>> build(const daemon_config& cfg, database& db);
    node_services(const daemon_config& cfg, database& db);
    node_services(const node_services&) = delete;
    node_services& operator=(const node_services&) = delete;

    // In start order; stop them in reverse.
    std::vector<service*> services();

    void log_started() const;
    // SIGHUP: the reloadable settings (reload.h), then the subscribers.
    void reload();
    admin::node_sample sample() const { return admin::collect(sources_); }
    // serving once every service is up, draining from the stop signal on: /readyz fails, and
    // the API refuses changes, in the other phases.
    void set_phase(admin::serving_phase p) { phase_.store(p, std::memory_order_relaxed); }
    // Logs the write-behind's totals once everything stopped; the exit code: 0, or 1 when
    // events were left unpersisted.
    int log_stopped() const;

  private:
    status configure_pools();
    void add_services();
    void load_delivery_rows(pg::connection& c, const std::vector<event_ptr>& evs);
    void set_delivery_hooks();
    // Reads the pauses (SPEC 7.4) and hands them to the pools: at start, before open events
    // are resumed, and after every subscriber reload (a pause or resume wakes it).
    void load_pauses_into_pools(pg::connection& c);
    void resume_open_events();
    void wait_for_listener();
    void raise_fd_limit() const;

    const daemon_config& cfg_;
    database& db_;
    memory_budget budget_;  // one budget; the write-behind and the socket share it
    write_behind wb_;
    id_allocator ids_;
    pool_set pools_;
    config_check configs_;
    delivery_metrics latencies_;  // /metrics histograms, fed by the runners
    std::shared_ptr<process_group_registry> handler_groups_;
    std::shared_ptr<persistent_workers> workers_;  // stopped after the pools drained into it
    make_runners_fn make_runners_;
    scheduled_loader scheduled_rows_;  // the router's scheduler reads due rows through it
    router rt_;
    intake in_;
    notify_door notify_;
    socket_server door_;
    std::optional<pg_watch_state_store> watch_store_;
    std::optional<file_watcher> watcher_;
    // A value read alone: relaxed.
    std::atomic<admin::serving_phase> phase_{admin::serving_phase::starting};
    admin::node_sources sources_;
    admin::heartbeat_info beat_;  // heartbeat thread only
    node_heartbeat heartbeat_;
    db_door dbd_;
    admin::metric_history history_;                  // the charts' last hour
    std::optional<admin::history_sampler> sampler_;  // fills history_; only with --http
    std::optional<admin::admin_server> http_;
    pg_listener listener_;
    retention_pruner pruner_;       // its own thread and connection (retention_pruner.h)
    daemon_config running_;         // the settings in effect; SIGHUP changes the reloadable ones
    std::deque<service_fn> steps_;  // the steps that are not a service of their own
    std::vector<service*> order_;   // in start order; built once, never grows after
};

}  // namespace pubsub
