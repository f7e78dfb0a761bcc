// pool_set: one thread pool per job type; implements the router's delivery_sink.
//
// DESIGN: each pool owns a BlockingConcurrentQueue of deliveries and its threads; submit()
// enqueues onto the pool of the subscriber's job type, so a slow job type only fills its own
// queue and never delays the others. Each thread takes a delivery, tells its group started(),
// runs the job_runner, and tells the group finished(). A job type without a runner fails its
// deliveries with a clear error instead of running anything.
// Lifecycle (spdlog's thread pool): start() spawns; stop(deadline) lets queued deliveries run
// until the deadline, then posts one terminate per thread and joins them. Deliveries still
// queued after that are left unfinished: their events stay `processing` in the table and are
// resumed at the next start. Thread-safe; stop() idempotent and noexcept.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "handlers/job_runner.h"
#include "router/router.h"

namespace pubsub {

struct pool_counters {
    std::uint64_t started = 0;
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
    std::size_t queued = 0;
    int busy = 0;
    int threads = 0;
};

class pool_set final : public delivery_sink {
  public:
    pool_set();
    ~pool_set() override;
    pool_set(const pool_set&) = delete;
    pool_set& operator=(const pool_set&) = delete;

    // Before start(): the runner and thread count for a job type.
    void configure(job_type type, std::shared_ptr<job_runner> runner, int threads);
    void start();
    void stop(std::chrono::steady_clock::time_point deadline) noexcept;

    void submit(delivery d) override;
    pool_counters counters(job_type type) const;

  private:
    struct pool;
    std::array<std::unique_ptr<pool>, job_type_count> pools_;
};

}  // namespace pubsub
