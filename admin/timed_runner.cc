#include "admin/timed_runner.h"

#include <chrono>

namespace pubsub::admin {

void timed_runner::started(const delivery& d) {
    metrics_.ingest_to_start.observe_us(now_us() - d.group->ev()->created_us);
}

run_outcome timed_runner::run(const delivery& d) {
    started(d);
    auto t0 = std::chrono::steady_clock::now();
    run_outcome out = inner_ ? inner_->run(d) : run_outcome{false, "no handler configured"};
    auto took = std::chrono::steady_clock::now() - t0;
    metrics_.handler_duration.observe_us(
        std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    return out;
}

void timed_runner::run_async(const delivery& d, run_done done) {
    started(d);
    auto t0 = std::chrono::steady_clock::now();
    // Not `this`: a reload may replace this runner while the delivery runs; the metrics stay.
    inner_->run_async(d, [m = &metrics_, t0, done = std::move(done)](run_outcome out) {
        auto took = std::chrono::steady_clock::now() - t0;
        m->handler_duration.observe_us(
            std::chrono::duration_cast<std::chrono::microseconds>(took).count());
        done(std::move(out));
    });
}

}  // namespace pubsub::admin
