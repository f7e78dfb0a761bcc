// node_sample: one consistent-enough reading of this pubsubd's counters (doors, router, pools,
// write-behind, latency histograms), for /metrics, /readyz, /api/status and the heartbeat.
//
// node_sources names the daemon's objects (references; they must outlive every collect());
// collect() only calls their thread-safe counters()/stats(), so it may run on any thread.
// Fields read from different components at slightly different moments; counters are monotonic.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "handlers/persistent_workers.h"
#include "ingest/file_watcher.h"
#include "router/event.h"
#include "router/metrics.h"
#include "router/router.h"
#include "storage/retention_pruner.h"
#include "storage/write_behind.h"

namespace pubsub {
class pool_set;
class socket_server;
class notify_door;
class node_heartbeat;
}  // namespace pubsub

namespace pubsub::admin {

// Where the daemon is in its life. The HTTP admin is the first service up and the last down,
// so it answers in every phase: /readyz fails, and the API refuses changes, unless serving.
enum class serving_phase { starting, serving, draining };

struct node_sources {
    const router* rt = nullptr;
    const write_behind* wb = nullptr;
    const pool_set* pools = nullptr;
    const socket_server* socket = nullptr;
    const notify_door* notify = nullptr;
    const file_watcher* watcher = nullptr;          // null without --watch
    std::function<std::uint64_t()> sql_claimed;     // events claimed from the table (SQL door)
    const delivery_metrics* metrics = nullptr;      // latency histograms
    std::function<std::uint64_t()> http_db_errors;  // failed HTTP database connections
    std::function<std::uint64_t()> http_refused_connections;  // beyond --http-max-connections
    // The daemon's phase; empty: always serving.
    std::function<serving_phase()> phase;
    const persistent_workers* workers = nullptr;  // persistent handlers' workers
    const node_heartbeat* heartbeat = nullptr;    // null in tools and tests
    const retention_pruner* pruner = nullptr;     // null in tools and tests
};

struct door_sample {
    std::string door;  // socket, sql, notify, file_watcher
    std::uint64_t received = 0;
    std::uint64_t errors = 0;
};

struct pool_sample {
    std::string job_type;
    int threads = 0, busy = 0;
    std::size_t queued = 0;
    std::uint64_t succeeded = 0, failed = 0, retried = 0;
    std::size_t held = 0;  // deliveries held by a pause (SPEC 7.4)
    bool paused = false;   // the job type's pool is paused
};

struct node_sample {
    std::int64_t taken_us = 0;
    std::vector<door_sample> doors;
    router_counters routed;
    std::array<std::size_t, max_priority + 1> queue_depth{};  // index = priority (0 unused)
    std::size_t scheduled = 0;  // held until their run_at (not waiting yet)
    std::vector<pool_sample> pools;
    write_behind_stats wb;
    bool wb_admits = true;  // write_behind::admit(): false when new events are refused
    std::optional<file_watcher_counters> watcher;
    histogram_snapshot ingest_to_start, handler_duration;
    std::uint64_t http_db_errors = 0;
    // Connections a door refused: socket beyond --max-connections, socket peers whose uid/gid
    // is not allowed, HTTP beyond --http-max-connections.
    std::uint64_t socket_refused_connections = 0, socket_refused_peers = 0;
    std::uint64_t http_refused_connections = 0;
    std::vector<subscriber_workers> workers;  // per persistent subscriber, per worker
    // Times this node found it may have been declared dead (back from a stall past
    // --node-dead-after), and the events other nodes took from it then, dropped here.
    std::uint64_t declared_dead = 0, taken_over = 0;
    std::optional<retention_pruner::totals> retention;  // the pruner's; absent without one

    std::uint64_t received_total() const;
    std::uint64_t finished_total() const;  // deliveries that succeeded or failed
    // Seconds since the write-behind last committed while events wait unpersisted; 0 when
    // nothing waits.
    double write_behind_lag_s() const;
};

node_sample collect(const node_sources& src);

}  // namespace pubsub::admin
