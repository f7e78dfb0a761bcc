// metric_history: the last hour of this node's per-second samples (events in and out per
// second, failures per second, queue depth), for the Service Status charts (GET /api/history).
//
// A ring of `capacity` points (3,600 by default) allocated once at construction: add() never
// allocates and overwrites the oldest point when full, so memory stays bounded however long
// the daemon runs. Thread-safe: one mutex, held only to copy a point in or the points out
// (add() from the sampler thread, last() from HTTP threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace pubsub::admin {

struct history_point {
    std::int64_t at_ms = 0;        // wall clock, milliseconds since the epoch
    double in_per_s = 0;           // events received by the doors
    double out_per_s = 0;          // deliveries finished (succeeded or failed)
    double failed_per_s = 0;       // deliveries failed
    std::int64_t queue_depth = 0;  // events queued in the router plus deliveries queued in pools
};

class metric_history {
  public:
    explicit metric_history(std::size_t capacity = 3600);

    // Appends a point, dropping the oldest when full. Never allocates. Thread-safe.
    void add(const history_point& p);
    // The newest `n` points at most, oldest first. Allocates the result. Thread-safe.
    std::vector<history_point> last(std::size_t n) const;
    std::size_t capacity() const { return ring_.size(); }

  private:
    mutable std::mutex mu_;
    std::vector<history_point> ring_;  // fixed size; guarded by mu_
    std::size_t next_ = 0;             // where the next point goes; guarded by mu_
    std::size_t size_ = 0;             // points held (<= capacity); guarded by mu_
};

}  // namespace pubsub::admin
