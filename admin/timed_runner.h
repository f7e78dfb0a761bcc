// timed_runner: a job_runner decorator that feeds delivery_metrics (router/metrics.h): the
// latency from an event's creation to its handler's start, and the handler's duration. Attached
// from outside the pools: pubsubd wraps each job type's runner with it before
// pool_set::configure(), so the pools need no hook. Thread-safe like the runner it wraps (run() is
// called concurrently from the pool threads); adds a few relaxed atomic increments per delivery,
// never allocates, never blocks.
#pragma once

#include <memory>

#include "handlers/job_runner.h"
#include "router/metrics.h"

namespace pubsub::admin {

class timed_runner final : public job_runner {
  public:
    // `metrics` must outlive this runner.
    timed_runner(std::shared_ptr<job_runner> inner, delivery_metrics& metrics)
        : inner_(std::move(inner)), metrics_(metrics) {}

    run_outcome run(const delivery& d) override;
    bool runs_inline() const override { return inner_ && inner_->runs_inline(); }
    bool runs_async(const delivery& d) const override { return inner_ && inner_->runs_async(d); }
    void run_async(const delivery& d, run_done done) override;
    void interrupt() override {
        if (inner_) inner_->interrupt();
    }

  private:
    void started(const delivery& d);

    std::shared_ptr<job_runner> inner_;
    delivery_metrics& metrics_;
};

}  // namespace pubsub::admin
