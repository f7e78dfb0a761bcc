// write_behind: persists every event transition to <schema>.tpubsub_events in batches.
//
// DESIGN: events are split by id over `connections` lanes (write_behind_lane.h), each with its
// own writer thread, PostgreSQL connection and transactions, so that several backends write at
// once. All transitions and delivery records of one event go to the same lane, which commits
// them in order: a later transition of an event is never committed before an earlier one.
// record() pushes onto the lane's lock-free queue (any thread, never blocks) and posts one wake
// to its io_context. The lane coalesces all transitions of one event into one row (row_batch.h)
// and cuts a batch at max_batch_rows or after `linger`; while a batch is written the next one
// accumulates (group commit). One batch = one idempotent transaction (COPY into staging, then
// merge), so a batch whose COMMIT outcome is unknown is written again. Durable acks are called
// after their batch commits. Delivery records travel on a second queue into the same
// transaction; a `cancelled` event's rows are never overwritten. Lanes fail and recover on
// their own; admission (admit) and the memory budget are shared.
// Failure policy (STYLE 7), by SQLSTATE (storage/pg_errors.h): a transient error keeps the batch
// in memory and reconnects with backoff; the error sticks in stats() until a batch commits, and
// admit() refuses new events once max_unpersisted_events rows or the memory budget are held.
// A data error is bisected (storage/bisect.h): only the refused events fail (acks get
// PostgreSQL's message, stats().rejected, on_rejected), every other row commits.
// Idempotency keys: each batch claims the keys of its new keyed events in its own transaction
// (storage/idempotency_keys.h); a duplicate's row is not written, and its event learns the first
// event's id (event::duplicate_of) before its acks run.
// Thread-safety: record(), admit(), stats() from any thread; start()/stop() from one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/service.h"
#include "router/delivery.h"
#include "router/memory_budget.h"
#include "router/transition_log.h"

namespace pubsub {

struct write_behind_options {
    std::string dsn;
    std::string schema = "dba";
    std::string node_id;  // new rows are inserted claimed by this node (see event_store.h)
    // Lanes: PostgreSQL connections writing at once, each with a writer thread (see above).
    std::size_t connections = 2;
    std::size_t max_batch_rows = 16384;  // per lane
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
    // Idempotency keys (SPEC 7.2) are unique for this long after their first event; older keys
    // are taken over by a new event and removed in the background. 0: no removal.
    std::chrono::seconds idempotency_window{24 * 3600};
    std::chrono::milliseconds key_sweep_interval{10'000};
    log_sink log;
    // Called on a lane's writer thread (lanes call it concurrently) when PostgreSQL refuses an
    // event's row for good (a data error): nothing more of it is written, so its deliveries should
    // stop.
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

class write_behind final : public transition_log, public delivery_log, public service {
  public:
    explicit write_behind(write_behind_options opts);
    ~write_behind() override;
    write_behind(const write_behind&) = delete;
    write_behind& operator=(const write_behind&) = delete;

    std::string_view name() const override { return "write-behind"; }
    status start() override;  // never fails: the connection is made on the writer thread
    // Flushes everything held, retrying until `deadline`; then stops the thread. Durable acks
    // still waiting at the deadline are failed. Idempotent, noexcept.
    void stop(clock::time_point deadline) noexcept override;

    void record(transition t) override;
    status admit() const override;
    void record_delivery(delivery_record r) override;
    write_behind_stats stats() const;

  private:
    struct lane;  // write_behind_lane.h
    lane& lane_of(event_id id) const;
    std::int64_t unpersisted() const;            // summed over the lanes
    std::unique_ptr<memory_budget> own_budget_;  // when opts.budget is not given
    std::vector<std::unique_ptr<lane>> lanes_;
};

}  // namespace pubsub
