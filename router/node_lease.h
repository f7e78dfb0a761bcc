// node_lease: whether this node may start handlers (SPEC 7.6). Other nodes take this node's
// open events once its heartbeat is older than the deadline; the lease is the steady-clock time
// the last successful heartbeat was sent (renewed by storage/node_heartbeat.h), so while it is
// younger than the deadline no other node can own what this node claimed. A port of the core:
// the pools read it before every handler start.
// Threading: renew() on the heartbeat thread; fresh() and renewed() lock-free on any thread (one
// relaxed atomic load).
#pragma once

#include <atomic>
#include <chrono>

namespace pubsub {

class node_lease {
  public:
    using clock = std::chrono::steady_clock;
    explicit node_lease(std::chrono::milliseconds deadline) : deadline_(deadline) {}

    void renew(clock::time_point sent) {
        renewed_.store(sent.time_since_epoch().count(), std::memory_order_relaxed);
    }
    clock::time_point renewed() const {
        return clock::time_point(clock::duration(renewed_.load(std::memory_order_relaxed)));
    }
    bool fresh(clock::time_point now = clock::now()) const { return now - renewed() < deadline_; }
    std::chrono::milliseconds deadline() const { return deadline_; }

  private:
    const std::chrono::milliseconds deadline_;
    std::atomic<clock::rep> renewed_{0};
};

}  // namespace pubsub
