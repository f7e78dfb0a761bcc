// write_behind: persists every event transition to <schema>.tpubsub_events in batches.
//
// DESIGN: record() pushes onto a lock-free queue (any thread, never blocks) and posts one wake
// to the writer's io_context. The writer thread drains the queue into a map keyed by event id,
// coalescing all transitions of one event (the highest seq wins, timestamps are merged), so an
// event that goes pending -> processing -> completed inside one batch costs one row write.
// A batch is cut when it reaches max_batch_rows or when its oldest transition has waited
// `linger`; while a batch is being written the next one accumulates (group commit).
// One batch = one transaction: COPY into a temp staging table, then one INSERT ... ON CONFLICT
// for new rows and one UPDATE for existing ones, then COMMIT. The statements are idempotent, so
// a batch whose COMMIT outcome is unknown (connection lost) is simply written again.
// Durable acks ride on transitions and are called after their batch commits.
// Delivery records (router/delivery.h; rare: failures, retries) travel the same way on a second
// queue and are upserted into tpubsub_deliveries in the same transaction as the event rows (COPY
// into a temp stage, then one INSERT ... ON CONFLICT that keeps the highest version). Neither
// the event rows nor the delivery rows of a `cancelled` event are overwritten (an operator's
// cancel wins over a handler that was still running).
//
// Failure policy (STYLE 7), by SQLSTATE (storage/pg_errors.h): on a transient error (the
// connection, a failover, a missing schema) the batch stays in memory, the writer reconnects
// with exponential backoff, and the error sticks in stats() until a batch commits. New events
// keep being admitted until max_unpersisted_events rows, or the memory budget's bytes, are held
// unwritten; past that admit() refuses them with a clear error. Nothing admitted is dropped for
// a transient error. A data error (the rows are wrong: classes 22, 23, 54, or an error that
// recurs on a fresh connection) is bisected (storage/bisect.h): only the refused events fail,
// their durable acks get PostgreSQL's message, they are logged and counted (stats().rejected),
// their later transitions are dropped and on_rejected tells the owner; every other row
// commits. No single event can hold back the others.
// Thread-safety: record(), admit(), stats() from any thread; start()/stop() from one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/logger.h"
#include "router/delivery.h"
#include "router/memory_budget.h"
#include "router/transition_log.h"

namespace pubsub {

struct write_behind_options {
    std::string dsn;
    std::string schema = "dba";
    std::string node_id;  // new rows are inserted claimed by this node (see event_store.h)
    std::size_t max_batch_rows = 16384;
    std::chrono::microseconds linger{200};
    std::size_t max_unpersisted_events = 1'000'000;
    // Bytes (router/memory_budget.h approx_bytes) admitted events may hold while unwritten:
    // charged to `budget` when given (shared with other holders), else to a budget of
    // max_unpersisted_bytes owned by the write-behind. admit() refuses once it is full; as an
    // event's size is charged by record(), the last events admitted may pass the limit by
    // their own size (one per concurrent producer, each at most a request line).
    memory_budget* budget = nullptr;
    std::size_t max_unpersisted_bytes = std::size_t{256} << 20;
    std::chrono::milliseconds reconnect_min{50};
    std::chrono::milliseconds reconnect_max{5000};
    log_sink log;
    // Called on the writer thread when PostgreSQL refuses an event's row for good (a data
    // error): nothing more of it is written, so its deliveries should stop.
    std::function<void(event_id)> on_rejected;
};

struct write_behind_stats {
    std::uint64_t batches = 0;
    std::uint64_t rows = 0;
    std::uint64_t transitions = 0;
    std::uint64_t failures = 0;
    std::uint64_t rejected = 0;  // units PostgreSQL refused for good (data errors), see above
    std::size_t unpersisted_events = 0;  // admitted events whose row is not committed yet
    std::size_t held_rows = 0;           // coalesced rows waiting for a batch
    std::size_t budget_bytes = 0;        // charged to the memory budget (by every holder)
    bool healthy = true;
    std::string last_error;
    std::int64_t last_commit_us = 0;
    double last_batch_ms = 0;
    std::size_t last_batch_rows = 0;
};

class write_behind final : public transition_log, public delivery_log {
  public:
    explicit write_behind(write_behind_options opts);
    ~write_behind() override;
    write_behind(const write_behind&) = delete;
    write_behind& operator=(const write_behind&) = delete;

    void start();
    // Flushes everything held, retrying until `deadline`; then stops the thread. Durable acks
    // still waiting at the deadline are failed. Idempotent, noexcept.
    void stop(std::chrono::steady_clock::time_point deadline) noexcept;

    void record(transition t) override;
    status admit() const override;
    void record_delivery(delivery_record r) override;
    write_behind_stats stats() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace pubsub
