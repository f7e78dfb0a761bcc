#include "router/metrics.h"

#include <algorithm>

namespace pubsub {

std::size_t latency_bucket(std::int64_t us) {
    auto it = std::lower_bound(latency_bounds_us.begin(), latency_bounds_us.end(), us);
    return static_cast<std::size_t>(it - latency_bounds_us.begin());
}

void latency_histogram::observe_us(std::int64_t us) {
    if (us < 0) us = 0;
    buckets_[latency_bucket(us)].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

histogram_snapshot latency_histogram::snapshot() const {
    histogram_snapshot s;
    for (std::size_t i = 0; i < latency_bucket_count; ++i) {
        s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    }
    s.count = count_.load(std::memory_order_relaxed);
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace pubsub
