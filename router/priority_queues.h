// priority_queues: one lock-free queue per priority (1..10, 10 the most urgent).
//
// DESIGN: each priority is a moodycamel::ConcurrentQueue<event_ptr>; producers (the doors, any
// thread) push without locks; one consumer at a time pops (the router serialises its pops with
// its dispatch mutex, see router.h).
// Order is FIFO per producer within a priority, not across producers (ConcurrentQueue's rule).
//
// Starvation policy ("urgent first, nobody starves"): pop() serves the most urgent non-empty
// priority, except that every `fairness_period`-th pop (default 16) serves the LEAST urgent
// non-empty priority at or above a rotating floor. So under a flood of priority-10 events every
// other non-empty priority still gets at least one pop in every 16 * 10 = 160, and priority 10
// keeps at least 15 of every 16 pops.
// Thread-safety: push() and size_approx() from any thread; pop() from one consumer at a time
// (calls ordered by a mutex or a single thread: pop() keeps unsynchronised fairness state).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>

#include "router/event.h"

namespace pubsub {

class priority_queues {
  public:
    explicit priority_queues(int fairness_period = 16);
    ~priority_queues();
    priority_queues(const priority_queues&) = delete;
    priority_queues& operator=(const priority_queues&) = delete;

    // Thread-safe. May allocate (the queue grows in blocks). priority must be 1..10.
    void push(event_ptr ev);
    // Consumer only. Returns null when every queue is empty.
    event_ptr pop();

    std::size_t size_approx(int priority) const;
    std::size_t total_approx() const;
    bool empty_approx() const { return total_approx() == 0; }

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace pubsub
