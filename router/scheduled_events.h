// scheduled_events: events held until their run_at (SPEC 7.2), then handed back to the router.
//
// DESIGN: one binary min-heap of (due time, event) under one mutex, and one thread that sleeps
// on a condition variable until the earliest due time (at most 1 s, so a change of the wall
// clock is noticed), then releases every due event. So a million scheduled events cost one
// thread and no database poll; add() is O(log n) and wakes the thread only when the new event
// becomes the earliest. Due times are wall-clock microseconds (run_at is a wall-clock time),
// compared with now_us(). An entry costs 24 bytes in the heap besides the event itself; each
// event's approx_bytes is charged to the memory budget while it is held (when one is given).
// cancel() is a linear scan (operators' cancels are rare): the entry stays as a tombstone.
// Thread-safety: add(), cancel(), size() from any thread; start()/stop() from one owner.
// `release` runs on the timer thread, without the lock held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "router/event.h"
#include "router/memory_budget.h"

namespace pubsub {

class scheduled_events {
  public:
    using release_fn = std::function<void(event_ptr)>;
    explicit scheduled_events(release_fn release, memory_budget* budget = nullptr);
    ~scheduled_events();
    scheduled_events(const scheduled_events&) = delete;
    scheduled_events& operator=(const scheduled_events&) = delete;

    void start();
    // Idempotent; events still held stay held (their rows stay `pending` for the next start).
    void stop() noexcept;

    // Holds ev until ev->run_at_us. Never blocks on I/O; allocates (the heap may grow).
    void add(event_ptr ev);
    // Drops a held event; false if it is not held (already released, or never scheduled).
    bool cancel(event_id id);
    std::size_t size() const;  // held events, tombstones excluded

  private:
    struct entry {
        std::int64_t due_us;
        event_ptr ev;  // null: cancelled
    };
    static bool later(const entry& a, const entry& b) { return a.due_us > b.due_us; }
    void run();

    release_fn release_;
    memory_budget* budget_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<entry> heap_;  // guarded by mu_; a min-heap by due_us
    std::size_t live_ = 0;     // guarded by mu_
    bool stopping_ = false;    // guarded by mu_
    std::thread thread_;
};

}  // namespace pubsub
