#include "admin/timed_runner.h"

#include <chrono>

namespace pubsub::admin {

run_outcome timed_runner::run(const delivery& d) {
    std::int64_t start = now_us();
    metrics_.ingest_to_start.observe_us(start - d.group->ev()->created_us);
    auto t0 = std::chrono::steady_clock::now();
    run_outcome out = inner_ ? inner_->run(d) : run_outcome{false, "no handler configured"};
    auto took = std::chrono::steady_clock::now() - t0;
    metrics_.handler_duration.observe_us(
        std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    return out;
}

}  // namespace pubsub::admin
