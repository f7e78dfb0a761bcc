// retry_scheduler: holds deliveries waiting for their next attempt and hands each back when it
// is due.
//
// DESIGN: one thread sleeps on a condition variable until the earliest due time of a multimap
// ordered by (due time, insertion); due deliveries are passed to the `fire` callback (the pool
// set re-queues them) outside the lock. schedule() and take_event() may be called from any
// thread. The due time is also persisted (delivery row next_attempt_at) by the caller, so what
// is held here when the process stops is not lost: stop() drops it, and the next start resumes
// it from the table.
// Lifecycle: start() spawns, stop() wakes, joins and drops what is held; idempotent, noexcept.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "base/service.h"
#include "router/delivery.h"

namespace pubsub {

class retry_scheduler final : public service {
  public:
    using clock = std::chrono::steady_clock;
    using fire_fn = std::function<void(delivery)>;

    explicit retry_scheduler(fire_fn fire) : fire_(std::move(fire)) {}
    ~retry_scheduler() override { stop_now(); }
    retry_scheduler(const retry_scheduler&) = delete;
    retry_scheduler& operator=(const retry_scheduler&) = delete;

    std::string_view name() const override { return "retry scheduler"; }
    status start() override;  // never fails
    // Drops what is held at once: nothing waits for the deadline.
    void stop(clock::time_point deadline) noexcept override;

    // Thread-safe; allocates. A due time in the past fires at once.
    void schedule(delivery d, clock::time_point due);
    // Thread-safe. Removes and returns every held delivery of the event (operator cancel).
    std::vector<delivery> take_event(event_id id);
    std::size_t size() const;

  private:
    void run();

    fire_fn fire_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::multimap<clock::time_point, delivery> held_;  // guarded by mu_
    bool stopping_ = false;                            // guarded by mu_
    std::thread thread_;
};

}  // namespace pubsub
