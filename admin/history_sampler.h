// history_sampler: the thread that fills a metric_history once a second from this node's
// counters (node_sample.h), turning the monotonic totals into per-second rates.
//
// DESIGN: one thread of its own, started by start() and joined by stop() (idempotent, noexcept;
// the destructor stops). It sleeps on a condition variable until the next whole interval or a
// stop, so stop() returns within one wake-up. Each tick calls `read` (which must be
// thread-safe: collect() only reads the components' thread-safe counters), so a stuck component
// delays only the charts. The first reading after start only sets the baseline; a tick that came
// late divides by the real elapsed time. The history is the caller's and outlives the sampler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "admin/metric_history.h"
#include "base/service.h"

namespace pubsub::admin {

// The totals one tick reads (counters only grow; queue_depth is a level).
struct history_reading {
    std::uint64_t received = 0, finished = 0, failed = 0;
    std::int64_t queue_depth = 0;
};

struct node_sample;
// This node's reading: doors' received, pools' finished and failed deliveries, and the router's
// queued events plus the pools' queued deliveries.
history_reading reading_of(const node_sample& s);

class history_sampler final : public service {
  public:
    using read_fn = std::function<history_reading()>;
    history_sampler(metric_history& history, read_fn read,
                    std::chrono::milliseconds interval = std::chrono::seconds(1));
    ~history_sampler() override;
    history_sampler(const history_sampler&) = delete;
    history_sampler& operator=(const history_sampler&) = delete;

    std::string_view name() const override { return "history sampler"; }
    status start() override;
    void stop(clock::time_point deadline) noexcept override;

  private:
    void run();

    metric_history& history_;
    read_fn read_;
    std::chrono::milliseconds interval_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;  // guarded by mu_
    std::thread thread_;     // owner thread only (start/stop)
};

}  // namespace pubsub::admin
