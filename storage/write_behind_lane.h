// write_behind_lane: one lane of the write-behind (write_behind.h): the events whose id falls to
// it, its writer thread and connection, and the steps of that thread, shared by the files that
// implement them: write_behind_lane.cc (queues, batching, commit, retry, stop),
// write_behind_write.cc (one batch as one transaction) and write_behind_isolate.cc (data
// errors: bisection and rejection). Internal to storage/.
// Thread-safety: the atomics, the queues and `st` (under stats_mu) are shared with producers and
// stats(); everything else belongs to the lane's writer thread.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "router/memory_budget.h"
#include "storage/idempotency_keys.h"
#include "storage/pg.h"
#include "storage/pg_errors.h"
#include "storage/row_batch.h"
#include "storage/write_behind.h"

namespace pubsub {

struct write_behind::lane {
    // o.budget must be set (write_behind shares one budget between its lanes).
    lane(write_behind_options o, bool sweeper)
        : opts(std::move(o)),
          sweeps_keys(sweeper),
          budget(*opts.budget),
          timer(io),
          retry_timer(io),
          key_sweep_timer(io) {}

    write_behind_options opts;
    const bool sweeps_keys;  // this lane removes expired idempotency keys (one lane does)
    memory_budget& budget;   // charged with approx_bytes of every admitted, unwritten event
    boost::asio::io_context io;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
    boost::asio::steady_timer timer;            // linger cut
    boost::asio::steady_timer retry_timer;      // reconnect backoff
    boost::asio::steady_timer key_sweep_timer;  // expired idempotency keys
    std::thread thread;

    moodycamel::ConcurrentQueue<transition> queue;
    moodycamel::ConcurrentQueue<delivery_record> delivery_queue;
    // true while a wake is posted and not yet run: at most one wake in flight (acq_rel).
    std::atomic<bool> wake_posted{false};
    // Admitted events whose row is not committed (incremented by producers, decremented by
    // the writer after commit). Relaxed: only a bound for admission, never a synchronisation.
    std::atomic<std::int64_t> unpersisted{0};
    std::atomic<bool> healthy{true};

    // Writer-thread state.
    row_batch batch;
    std::optional<pg::connection> conn;
    std::string quoted_schema;
    std::string merge;
    std::string delivery_merge;
    key_claim_statements key_claim;
    std::string events_copy;
    std::string copy_buf;
    std::string stage_buf;
    std::string delivery_buf;
    std::string chunk_sql;   // encode_chunks
    bool safe_mode = false;  // the last write failed: use the idempotent path
    pg_error_kind last_kind = pg_error_kind::transient;  // of the last failed write
    bool last_answered = false;  // the server sent that error and the connection still stands
    // Failed writes in a row whose "transient" error came from a server that kept answering:
    // a row that always draws such an error (a trigger raising 40001, say) must not hold up
    // the others forever, so after a few the batch is probed by bisection.
    int answered_repeats = 0;
    bool timer_armed = false;
    bool waiting_retry = false;
    std::chrono::milliseconds backoff{0};
    bool stopping = false;
    std::chrono::steady_clock::time_point deadline{};

    mutable std::mutex stats_mu;
    write_behind_stats st;  // guarded by stats_mu

    void log(log_level level, const std::string& msg) const {
        if (opts.log) opts.log(level, msg);
    }

    void post_wake() {
        if (!wake_posted.exchange(true, std::memory_order_acq_rel)) {
            boost::asio::post(io, [this] { on_wake(); });
        }
    }

    // Queues, batching, commit and retry, stop (write_behind.cc).
    void drain();
    // A later transition of an event whose row PostgreSQL refused: not written (it would fail
    // again, or update a row that does not exist); its ack learns why.
    void drop_rejected(transition&& t);
    void release_pending(const event& ev);
    void on_wake();
    void maybe_flush();
    // Writes batches until the buffer is empty or a write fails.
    void flush_all();
    void on_committed(std::span<pending_row> rows);
    void on_failure(const status& s);
    void begin_stop(std::chrono::steady_clock::time_point d);
    void finish_stop();

    // One batch as one transaction (write_behind_write.cc).
    status connect();
    // One transaction; on failure last_kind says what the error means and the message is
    // PostgreSQL's own.
    status write(std::span<pending_row> rows, const std::vector<delivery_record>& deliveries);
    // Fast path: new rows are COPYed straight into tpubsub_events (each row written once);
    // only rows that already exist go through the staging table and the UPDATE.
    status write_direct(std::span<pending_row> rows,
                        const std::vector<delivery_record>& deliveries);
    // Idempotent path (after any failure): every row through the staging table and
    // INSERT ... ON CONFLICT, so rows a lost COMMIT did write are updated, not duplicated.
    status write_merged(std::span<pending_row> rows,
                        const std::vector<delivery_record>& deliveries);
    // Chunk rows (write_behind_chunks.cc). encode_chunks: the INSERT of the chunks summarising
    // the rows of this batch that this node writes for the first time (after the key claim:
    // duplicates are not written), into chunk_sql; commit_with_chunks: that INSERT and then
    // `tail` (statements ending with COMMIT) as one exec, so the chunks cost no round trip.
    void encode_chunks(std::span<const pending_row> rows);
    status commit_with_chunks(const std::string& tail);
    // Inside the batch's transaction; idempotent (the highest version wins).
    status write_deliveries(const std::vector<delivery_record>& deliveries);
    // Best effort: a row that exists but refuses its next state ends `failed` with the reason,
    // so it is not resumed (and refused again) after a restart.
    void mark_failed(event_id id, const std::string& msg);
    // Every key_sweep_interval, deletes keys older than the window in bounded batches, between
    // two batch writes (the writer's own thread and connection).
    void arm_key_sweep();
    void sweep_keys();

    // Data errors: probe, bisect, reject (write_behind_isolate.cc).

    // A batch failed. A transient error keeps the retry-all policy (hold everything, reconnect,
    // retry with backoff). A suspect one is retried once on a fresh connection; a data error,
    // or a suspect one that recurs, is bisected: the bad rows fail alone, the others commit.
    // Returns false when rows are held for a retry (on_failure was called).
    bool settle_failed(std::vector<pending_row>& rows, std::vector<delivery_record>& deliveries,
                       status s);
    // Bisects a batch that failed with a data error (storage/bisect.h). A unit is one event row
    // with its delivery rows, or the delivery rows of one event not in the batch. Returns the
    // transient error that stopped it, if any; the unsettled units are then back in the batch.
    // probe: the batch failed with a recurring "transient" error; such errors count as data
    // errors here, but a unit is rejected only if some other unit committed (proof that the
    // database takes writes), and the search gives up while nothing commits.
    status isolate(std::vector<pending_row>& rows, std::vector<delivery_record>& deliveries,
                   const std::string& error, bool probe);
    // PostgreSQL refuses this unit for good: its acks fail with PostgreSQL's message, its later
    // transitions are not written (row_rejected), an existing row is marked failed when
    // possible, and the owner hears of it (on_rejected: the daemon cancels its deliveries).
    void reject(pending_row* row, const std::vector<delivery_record>& ds, const std::string& why);
};

}  // namespace pubsub
