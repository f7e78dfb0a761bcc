// router: priority queues in, matched deliveries out.
//
// DESIGN: enqueue() is lock-free and callable from any door thread. One dispatch thread pops
// events by the priority policy of priority_queues.h, matches each against the current
// subscriber snapshot and submits one delivery per matching subscriber to the delivery_sink
// (the handler pools). An event that matches nobody is recorded `completed` at once with
// error_message "no matching subscriber". The snapshot is swapped atomically by
// set_subscribers(); the dispatch thread picks it up on its next event.
// Dispatch on enqueue (on by default): while the dispatch thread waits for work, enqueue()
// try_lock()s dispatch_mu_ and dispatches that one event on the caller's thread, saving a thread
// hop per event for a steady trickle; priority order is unchanged (the fairness state is under
// the same mutex). Callers stop their doors before the router.
// Back-pressure: admit(type) refuses an event while a job type it could reach
// (job_type_reach, filters ignored) has a full pool (delivery_pressure); one relaxed load while
// no pool is full.
// Lifecycle: start() spawns the thread; stop(deadline) stops intake, dispatches what is queued
// until the deadline, then joins; idempotent and noexcept. Events left queued at the deadline
// stay `pending` in the table and are resumed on the next start.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/service.h"
#include "router/delivery.h"
#include "router/matcher.h"
#include "router/priority_queues.h"
#include "router/scheduled_events.h"
#include "router/transition_log.h"
#include "router/wakeup.h"

namespace pubsub {

class delivery_sink {
  public:
    virtual ~delivery_sink() = default;
    // Thread-safe. Takes ownership of the delivery; its group is told when it ends.
    virtual void submit(delivery d) = 0;
};

inline constexpr std::uint32_t job_type_bit(job_type t) {
    return std::uint32_t{1} << static_cast<unsigned>(t);
}

// Which handler pools are full; implemented by the pools (handlers/pool_set.h).
class delivery_pressure {
  public:
    virtual ~delivery_pressure() = default;
    // Thread-safe, lock-free: job_type_bit(t) is set while the pool of t is full.
    virtual std::uint32_t full_job_types() const = 0;
    // Thread-safe: why the pools in `mask` are full, e.g. "handler pool custom is full (...)".
    virtual std::string describe_full(std::uint32_t mask) const = 0;
};

// The job types an event of a given event_type could reach: those of the active subscribers of
// that event_type plus those of the '*' subscribers. Filters are ignored (conservative).
// Immutable once built; thread-safe to read.
class job_type_reach {
  public:
    job_type_reach() = default;
    explicit job_type_reach(const std::vector<subscriber>& subs);
    std::uint32_t of(std::string_view event_type) const;

  private:
    struct text_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::uint32_t, text_hash, std::equal_to<>> by_type_;
    std::uint32_t any_type_ = 0;  // job types of the '*' subscribers
};

struct router_options {
    int fairness_period = 16;
    delivery_log* deliveries = nullptr;  // where delivery rows go (router/delivery.h); optional
    const delivery_pressure* pressure = nullptr;  // full pools refuse at admit(); optional
    bool dispatch_on_enqueue = true;              // see Dispatch on enqueue
    memory_budget* budget = nullptr;  // charged for scheduled events while held; optional
    scheduled_options scheduled;      // its budget defaults to `budget`
};

struct router_counters {
    std::uint64_t enqueued = 0;
    std::uint64_t dispatched = 0;
    std::uint64_t deliveries = 0;
    std::uint64_t unmatched = 0;
};

class router final : public service {
  public:
    router(router_options opts, transition_log& log, delivery_sink& sink);
    ~router() override;
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    std::string_view name() const override { return "router"; }
    status start() override;  // never fails
    void stop(clock::time_point drain_deadline) noexcept override;

    // Thread-safe, never blocks: it may dispatch one event on the calling thread (see Dispatch
    // on enqueue), otherwise it is lock-free. An event whose run_at is still ahead is held by
    // the scheduler (router/scheduled_events.h) and queued when it is due.
    // dispatch_here false: never dispatch on the calling thread (a thread that must not be held
    // up by routing, such as the write-behind's when it releases keyed events).
    void enqueue(event_ptr ev, bool dispatch_here = true);
    // Drops a scheduled event not yet due (cancelled, or taken by another node); thread-safe.
    bool cancel_scheduled(event_id id) { return scheduled_.cancel(id); }
    // The row of a new scheduled event is committed: the scheduler may drop its body.
    void scheduled_persisted(const event& ev) { scheduled_.persisted(ev.id, ev.run_at_us); }
    // Whether a new scheduled event may be taken (--max-scheduled-events); thread-safe.
    status admit_scheduled() const { return scheduled_.admit(); }
    std::size_t scheduled() const { return scheduled_.size(); }
    void set_subscribers(subscriber_snapshot snap);
    subscriber_snapshot subscribers() const;

    // Thread-safe, never blocks (see Back-pressure per job type): ok unless an event of this
    // type could reach a job type whose pool is full; the error names the pool(s) and the type.
    status admit(std::string_view event_type) const;
    // Thread-safe: the job types an event of this type could reach with the current snapshot.
    std::uint32_t job_types_reached(std::string_view event_type) const;

    std::size_t depth(int priority) const { return queues_.size_approx(priority); }
    std::size_t depth() const { return queues_.total_approx(); }
    router_counters counters() const;

  private:
    void run();
    void enqueue_now(event_ptr ev, bool dispatch_here);
    bool dispatch_one();  // dispatch_mu_ held: pops and dispatches one event; false when empty
    const job_type_reach& current_reach() const;
    void dispatch(const event_ptr& ev, const subscriber_set& set, const subscriber_snapshot& snap,
                  std::vector<std::uint32_t>& scratch);

    transition_log& log_;
    delivery_log* dlog_;
    delivery_sink& sink_;
    const delivery_pressure* pressure_;
    const std::uint64_t instance_;  // distinguishes routers in the per-thread reach cache
    priority_queues queues_;
    wakeup wake_;
    const bool dispatch_on_enqueue_;
    // Held by whoever pops and dispatches (see Dispatch on enqueue); guards queues_.pop()'s
    // consumer state and the dispatch state below.
    std::mutex dispatch_mu_;
    std::vector<std::uint32_t> scratch_;              // guarded by dispatch_mu_
    std::uint64_t seen_version_ = ~std::uint64_t{0};  // guarded by dispatch_mu_
    subscriber_snapshot dispatch_snap_;               // guarded by dispatch_mu_
    // True from start() until stop() begins: enqueue() may dispatch (release/acquire).
    std::atomic<bool> inline_open_{false};
    // True while the dispatch thread waits for work. Relaxed: only a hint for enqueue(); the
    // mutex and the wakeup carry the correctness.
    std::atomic<bool> dispatcher_idle_{false};
    // The snapshot is swapped under snapshot_mu_ and announced by bumping snapshot_version_
    // (release); the dispatch thread re-reads it under the mutex only when the version it
    // saw (acquire) changed, so routing takes no lock per event. (libstdc++ 12's
    // atomic<shared_ptr> releases its lock with a relaxed store, which TSan flags.)
    mutable std::mutex snapshot_mu_;
    subscriber_snapshot snapshot_;                 // guarded by snapshot_mu_
    std::shared_ptr<const job_type_reach> reach_;  // guarded by snapshot_mu_; same version
    std::atomic<std::uint64_t> snapshot_version_{0};
    std::atomic<bool> stopping_{false};
    std::chrono::steady_clock::time_point deadline_{};
    std::thread thread_;
    scheduled_events scheduled_;  // its thread starts and stops with the dispatch thread
    // Counters: relaxed, monotonic, read only for reporting.
    std::atomic<std::uint64_t> enqueued_{0}, dispatched_{0}, deliveries_{0}, unmatched_{0};
};

}  // namespace pubsub
