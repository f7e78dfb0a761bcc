// router: priority queues in, matched deliveries out.
//
// DESIGN: enqueue() is lock-free and callable from any door thread. One dispatch thread pops
// events by the priority policy of priority_queues.h, matches each against the current
// subscriber snapshot and submits one delivery per matching subscriber to the delivery_sink
// (the handler pools). An event that matches nobody is recorded `completed` at once with
// error_message "no matching subscriber". The snapshot is swapped atomically by
// set_subscribers(); the dispatch thread picks it up on its next event.
// Lifecycle: start() spawns the thread; stop(deadline) stops intake, dispatches what is queued
// until the deadline, then joins; idempotent and noexcept. Events left queued at the deadline
// stay `pending` in the table and are resumed on the next start.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "router/delivery.h"
#include "router/matcher.h"
#include "router/priority_queues.h"
#include "router/transition_log.h"
#include "router/wakeup.h"

namespace pubsub {

class delivery_sink {
  public:
    virtual ~delivery_sink() = default;
    // Thread-safe. Takes ownership of the delivery; its group is told when it ends.
    virtual void submit(delivery d) = 0;
};

struct router_options {
    int fairness_period = 16;
    delivery_log* deliveries = nullptr;  // where delivery rows go (router/delivery.h); optional
};

struct router_counters {
    std::uint64_t enqueued = 0;
    std::uint64_t dispatched = 0;
    std::uint64_t deliveries = 0;
    std::uint64_t unmatched = 0;
};

class router {
  public:
    router(router_options opts, transition_log& log, delivery_sink& sink);
    ~router();
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    void start();
    void stop(std::chrono::steady_clock::time_point drain_deadline) noexcept;

    // Thread-safe, lock-free, never blocks.
    void enqueue(event_ptr ev);
    void set_subscribers(subscriber_snapshot snap);
    subscriber_snapshot subscribers() const;

    std::size_t depth(int priority) const { return queues_.size_approx(priority); }
    std::size_t depth() const { return queues_.total_approx(); }
    router_counters counters() const;

  private:
    void run();
    void dispatch(const event_ptr& ev, const subscriber_set& set, const subscriber_snapshot& snap,
                  std::vector<std::uint32_t>& scratch);

    transition_log& log_;
    delivery_log* dlog_;
    delivery_sink& sink_;
    priority_queues queues_;
    wakeup wake_;
    // The snapshot is swapped under snapshot_mu_ and announced by bumping snapshot_version_
    // (release); the dispatch thread re-reads it under the mutex only when the version it
    // saw (acquire) changed, so routing takes no lock per event. (libstdc++ 12's
    // atomic<shared_ptr> releases its lock with a relaxed store, which TSan flags.)
    mutable std::mutex snapshot_mu_;
    subscriber_snapshot snapshot_;  // guarded by snapshot_mu_
    std::atomic<std::uint64_t> snapshot_version_{0};
    std::atomic<bool> stopping_{false};
    std::chrono::steady_clock::time_point deadline_{};
    std::thread thread_;
    // Counters: relaxed, monotonic, read only for reporting.
    std::atomic<std::uint64_t> enqueued_{0}, dispatched_{0}, deliveries_{0}, unmatched_{0};
};

}  // namespace pubsub
