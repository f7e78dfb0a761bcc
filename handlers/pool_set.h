// pool_set: one thread pool per job type; implements the router's delivery_sink; decides what
// happens after each attempt (completed, retry later, dead), and applies operators' cancels.
//
// DESIGN: each pool owns a BlockingConcurrentQueue of deliveries and its threads, so a slow job
// type only fills its own queue. A thread tells the group started(), runs the job_runner, then
// completed(), retrying() (the delivery waits in the retry_scheduler, which re-queues it when
// due) or dead(). Resumed events (from_table) skip deliveries whose row says completed or dead
// (add_resume). cancel(id) drops the event's scheduled retries and skips its queued deliveries
// (marks bounded by max_cancel_marks). Back-pressure: submit() never blocks; a pool holding
// queue_limit deliveries sets its bit in full_job_types() (with hysteresis), and the doors refuse
// the events that could reach it. An in-process runner (noop) runs on the dispatch thread when
// its pool is idle (run_inline()). A runner that runs a delivery asynchronously (persistent
// workers, job_runner::runs_async) ends it from its own thread; the delivery counts as in
// flight, for the queue limit and the drain, until then, but holds no pool thread.
// Pauses (router/pause_state.h): a delivery of a paused subscriber or job type is held when it
// is submitted or taken from the queue (a running one finishes), recorded `held`, and queued
// again, most urgent first, by set_pauses(); held deliveries do not count against the limit.
// Lifecycle (spdlog's thread pool): start() spawns; stop(deadline) drops scheduled retries
// (resumed at the next start), lets queued deliveries run until the deadline, then posts one
// terminate per thread and joins; what is still queued stays open in the table.
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

#include "base/service.h"
#include "handlers/job_runner.h"
#include "handlers/retry_policy.h"
#include "handlers/retry_scheduler.h"
#include "router/memory_budget.h"
#include "router/node_lease.h"
#include "router/pause_state.h"
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
    std::size_t held = 0;  // deliveries held by a pause (not in queued)
    bool paused = false;   // the job type is paused
};

struct pool_set_options {
    retry_policy retry;
    std::size_t queue_limit = 1'000'000;  // per pool; 0 = no limit
    // Charged for each held delivery while a pause holds it (router/pause_state.h); optional.
    memory_budget* budget = nullptr;
};

class pool_set final : public delivery_sink, public delivery_pressure, public service {
  public:
    // Retries off (every failure is final) and no queue limit: for tests of the pools alone.
    pool_set();
    explicit pool_set(pool_set_options opts);
    ~pool_set() override;
    pool_set(const pool_set&) = delete;
    pool_set& operator=(const pool_set&) = delete;

    // Before start(): no handler starts while the lease is not fresh (SPEC 7.6: this node may
    // have lost its events); deliveries wait for its renewal, and an event lost meanwhile is
    // cancel()ed before the lease is renewed, so it never starts here. Null: no check.
    void set_lease(const node_lease* lease) { lease_ = lease; }
    // Before start(): the runner and thread count for a job type.
    void configure(job_type type, std::shared_ptr<job_runner> runner, int threads);
    std::string_view name() const override { return "handler pools"; }
    status start() override;  // never fails
    void stop(clock::time_point deadline) noexcept override;

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

    // Thread-safe: replaces what is paused (SPEC 7.4); what is no longer paused is queued again.
    void set_pauses(pause_set p);
    pause_set pauses() const { return pauses_.current(); }
    std::size_t held() const { return pauses_.held(); }

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
    bool run_one(pool& p, delivery& d);  // false: an async runner ends it later
    void end_run(pool& p, delivery& d, run_outcome out);
    // Waits while the lease is not fresh; false when the pool stopped meanwhile.
    bool hold_for_lease(pool& p) const;
    void enqueue(delivery d);
    bool run_inline(delivery& d);  // false: not run (see In-process runners), d untouched
    void release(pool& p);         // a delivery left the pool's count
    void refresh_full(pool& p);
    bool hold(delivery& d);          // true: held by a pause (see Pauses)
    bool apply_resume(delivery& d);  // false: the delivery was consumed (skipped or scheduled)
    bool is_cancelled(const delivery& d) const;
    void after_run(pool& p, delivery& d, run_outcome out);

    static constexpr std::size_t max_cancel_marks = 100'000;
    pool_set_options opts_;
    std::array<std::unique_ptr<pool>, job_type_count> pools_;
    retry_scheduler scheduler_;
    pause_state pauses_;
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
    const node_lease* lease_ = nullptr;  // set before start()
};

}  // namespace pubsub
