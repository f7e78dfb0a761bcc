// pause_state: which subscribers and job types are paused (SPEC 7.4), and the deliveries held
// for them until they are resumed. The pools ask hold() before a delivery starts; a delivery of
// a paused subscriber or job type is taken and kept here, never dropped, until set() lifts the
// pause, which hands the released deliveries back most urgent first (priority, then event id).
//
// Thread-safe: one mutex guards the set and the held deliveries, so a delivery checked against
// a pause cannot be added after that pause's release has taken the others (it would be stuck).
// The fast path while nothing is paused is one relaxed load (a stale "nothing paused" only lets
// a delivery that raced with a new pause start, like one already running when it arrived).
// Held deliveries hold their events in memory; they are not counted as queued (the pools'
// queue limit counts only deliveries that can run), but each is charged to the memory budget
// (when one is given) while it is held, so a long pause under traffic is bounded by
// --max-unpersisted-bytes: once it is spent the doors refuse new events, and nothing held is
// dropped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "router/delivery.h"
#include "router/memory_budget.h"
#include "router/subscriber.h"

namespace pubsub {

// What is paused: subscriber ids and a mask of job types (job_type_bit).
struct pause_set {
    std::vector<std::int64_t> subscribers;
    std::uint32_t job_types = 0;
};

class pause_state {
  public:
    explicit pause_state(memory_budget* budget = nullptr) : budget_(budget) {}
    pause_state(const pause_state&) = delete;
    pause_state& operator=(const pause_state&) = delete;

    // True while s, or its job type, is paused.
    bool paused(const subscriber& s) const;

    // Takes d when its subscriber or job type is paused, after calling on_hold(d) (under the
    // lock, so what it records comes before any release of d); false: d untouched, run it.
    bool hold(delivery& d, const std::function<void(const delivery&)>& on_hold);

    // Replaces the set; returns the held deliveries no longer paused, most urgent first.
    std::vector<delivery> set(pause_set p);
    pause_set current() const;

    // The held deliveries of one event (it was cancelled) / every held delivery (stopping).
    std::vector<delivery> take_event(event_id id);
    std::vector<delivery> take_all();

    std::size_t held() const;
    std::size_t held(job_type t) const;

  private:
    bool paused_locked(const subscriber& s) const;  // mu_ held
    void count(const delivery& d, int delta);       // mu_ held; also charges the budget

    memory_budget* const budget_;  // may be null (tests of the pools alone)
    mutable std::mutex mu_;
    pause_set set_;                                           // guarded by mu_; subscribers sorted
    std::vector<delivery> held_;                              // guarded by mu_
    std::array<std::size_t, job_type_count> held_by_type_{};  // guarded by mu_
    // Whether anything is paused: written under mu_, read without it (relaxed; see above).
    std::atomic<bool> any_{false};
};

}  // namespace pubsub
