// pool_set: one thread pool per job type; implements the router's delivery_sink; decides what
// happens after each attempt (completed, retry later, dead), and applies operators' cancels.
//
// DESIGN: each pool owns a BlockingConcurrentQueue of deliveries and its threads; submit()
// enqueues onto the pool of the subscriber's job type, so a slow job type only fills its own
// queue and never delays the others. Each thread takes a delivery, tells its group started(),
// runs the job_runner, then: success -> group.completed(); failure with retries left (see
// retry_policy.h and the subscriber's max_retries) -> group.retrying() (persists the delivery
// row with next_attempt_at) and the delivery waits in the retry_scheduler, which re-queues it on
// its pool when due; failure without retries left -> group.dead(). A job type without a runner
// fails its deliveries with a clear error instead of running anything.
//
// Resume (storage/delivery_store.h): before events from the table are routed, the delivery rows
// of those events are handed to add_resume(); submit() then skips deliveries whose row says
// completed (or dead), continues attempt numbering and retry budgets, and keeps a retry
// scheduled at its persisted next_attempt_at. Only events with from_table look at this table.
//
// Cancel (storage/event_actions.h): cancel(id) drops the event's scheduled retries and marks the
// id so that its deliveries still queued are skipped when a thread takes them; a handler already
// running is left to finish and its outcome is discarded. forget_cancel(id) undoes the mark (an
// operator retried the event). The marks are bounded (max_cancel_marks; beyond, marks older than
// an hour go, then arbitrary ones down to 3/4 of the bound): a lost mark only lets a queued
// delivery of a cancelled event run, whose outcome never overwrites the cancelled row.
//
// Back-pressure per job type (policy `refuse at the door`): each pool counts its deliveries
// queued or running (a delivery waiting in the retry_scheduler counts again once re-queued). The
// dispatch thread never blocks: submit() always enqueues, so no job type waits for another. When
// a pool's count reaches queue_limit its bit is set in full_job_types() (an atomic mask, read
// lock-free by the doors); it is cleared when the count falls below queue_limit - queue_limit/64
// (hysteresis, so the mask is not rewritten at every delivery around the limit). The bit is only
// touched when a count crosses a mark, under that pool's mutex, and re-checked against the count
// after each change (seq_cst on both sides), so it can never stay set on a drained pool. The
// router (router.h, delivery_pressure) refuses at the door only the events whose event_type could
// reach a full job type; events of other types are still accepted. The database door claims
// nothing while any bit is set (tools/pubsubd/db_door.h); events already admitted are never
// dropped. The bound may be overshot by what was admitted before it was reached (at most the
// router queue times the fan-out, plus one claim batch), never without limit.
//
// In-process runners (job_runner::runs_inline(), i.e. noop) skip the hop to a pool thread when
// they can: submit() runs the delivery on the calling (dispatch) thread if that pool is started
// and holds nothing queued or running (its in_flight count goes 0 -> 1 by compare-and-swap, and
// counts the inline run like any other). Nothing is overtaken (the pool was empty, and the
// router hands deliveries over in its priority order), and the pool never runs more deliveries
// at once than it has threads: while an inline run holds in_flight no new one can start, and a
// pool thread that takes a delivery re-queued meanwhile by the retry scheduler waits for the
// inline run to end (inline_active, a count, seq_cst on both sides, see run_inline()). A delivery
// that cannot run inline is queued as usual.
//
// Lifecycle (spdlog's thread pool): start() spawns; stop(deadline) drops scheduled retries (they
// are persisted and resumed at the next start), lets queued deliveries run until the deadline,
// then posts one terminate per thread and joins them. Deliveries still queued after that are
// left unfinished: their events stay open in the table and are resumed at the next start.
// Thread-safe; stop() idempotent and noexcept.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "handlers/job_runner.h"
#include "handlers/retry_policy.h"
#include "handlers/retry_scheduler.h"
#include "router/router.h"

namespace pubsub {

struct pool_counters {
    std::uint64_t started = 0;
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;   // attempts that failed (retried or not)
    std::uint64_t retried = 0;  // failed attempts that were scheduled to run again
    std::size_t queued = 0;
    int busy = 0;
    int threads = 0;
};

struct pool_set_options {
    retry_policy retry;
    std::size_t queue_limit = 1'000'000;  // per pool; 0 = no limit
};

class pool_set final : public delivery_sink, public delivery_pressure {
  public:
    // Retries off (every failure is final) and no queue limit: for tests of the pools alone.
    pool_set();
    explicit pool_set(pool_set_options opts);
    ~pool_set() override;
    pool_set(const pool_set&) = delete;
    pool_set& operator=(const pool_set&) = delete;

    // Before start(): the runner and thread count for a job type.
    void configure(job_type type, std::shared_ptr<job_runner> runner, int threads);
    void start();
    void stop(std::chrono::steady_clock::time_point deadline) noexcept;

    // Thread-safe; never blocks (see Back-pressure).
    void submit(delivery d) override;
    // Thread-safe, lock-free: job_type_bit(t) set while the pool of t is full (see Back-pressure).
    std::uint32_t full_job_types() const override { return full_.load(std::memory_order_relaxed); }
    // Thread-safe: "handler pool custom is full (N deliveries queued or running, limit L,
    // --queue-limit)" for each pool of the mask, joined with " and ".
    std::string describe_full(std::uint32_t mask) const override;

    // Thread-safe. Rows of events about to be routed from the table (see Resume). Rows not used
    // within an hour are forgotten.
    void add_resume(std::vector<delivery_record> rows);
    // Thread-safe (see Cancel).
    void cancel(event_id id);
    void forget_cancel(event_id id);

    // Thread-safe (SIGHUP reload). set_runner: deliveries that start from now on use runner;
    // running ones finish on the old one. set_threads: grows a started pool at once; a shrink
    // queues one terminate message per thread too many, so it takes effect once the deliveries
    // queued before it are taken (retired threads are joined at stop()). Before start(), both
    // act like configure().
    void set_runner(job_type type, std::shared_ptr<job_runner> runner);
    void set_threads(job_type type, int threads);

    pool_counters counters(job_type type) const;
    std::size_t scheduled_retries() const { return scheduler_.size(); }

  private:
    struct pool;
    struct resume_entry {
        delivery_record row;
        std::chrono::steady_clock::time_point added;
    };
    using delivery_key = std::pair<event_id, std::int64_t>;

    pool& pool_of(const delivery& d) { return *pools_[static_cast<std::size_t>(d.sub->job)]; }
    void work(pool& p);
    void run_one(pool& p, delivery& d);
    void enqueue(delivery d);
    bool run_inline(delivery& d);  // false: not run (see In-process runners), d untouched
    void release(pool& p);         // a delivery left the pool's count
    void refresh_full(pool& p);
    bool apply_resume(delivery& d);  // false: the delivery was consumed (skipped or scheduled)
    bool is_cancelled(const delivery& d) const;
    void after_run(pool& p, delivery& d, run_outcome out);

    static constexpr std::size_t max_cancel_marks = 100'000;
    pool_set_options opts_;
    std::array<std::unique_ptr<pool>, job_type_count> pools_;
    retry_scheduler scheduler_;
    // Back-pressure marks (0 / 0 when queue_limit is 0: never full) and the mask of full pools.
    std::int64_t full_mark_ = 0, room_mark_ = 0;
    std::atomic<std::uint32_t> full_{0};

    mutable std::mutex tables_mu_;
    std::map<delivery_key, resume_entry> resume_;  // guarded by tables_mu_
    std::unordered_map<event_id, std::chrono::steady_clock::time_point>
        cancelled_;  // guarded by tables_mu_
    // Sizes of the two tables, so the hot path skips the lock while they are empty. Relaxed: a
    // stale zero only means a row added concurrently with its event's routing is missed, which
    // cannot happen (rows are added before the events are enqueued, on the same thread, and the
    // router's queue publishes them); a cancel racing with a delivery start is a race anyway.
    std::atomic<std::size_t> resume_count_{0}, cancelled_count_{0};
};

}  // namespace pubsub
