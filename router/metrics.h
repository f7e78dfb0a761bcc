// metrics: lock-free counters and fixed-bucket latency histograms for /metrics (Prometheus).
//
// A counter is one relaxed atomic: monotonic, exact, and only read for reporting. A latency
// histogram has fixed bucket bounds (microseconds, 100 us .. 60 s, then +Inf); observe() adds
// to one bucket, the sum and the count, each a relaxed atomic. Never allocates, never blocks,
// thread-safe. A snapshot() taken while other threads observe may be torn between fields (the
// count can differ from the bucket total by the observations in flight); Prometheus tolerates
// that and the next scrape is consistent again. No dependencies beyond the standard library.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace pubsub {

class counter {
  public:
    void add(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> v_{0};  // monotonic; relaxed: no other memory depends on it
};

// Upper bounds (inclusive, microseconds) of the finite buckets; one more bucket is +Inf.
inline constexpr std::array<std::int64_t, 18> latency_bounds_us = {
    100,     250,     500,     1'000,     2'500,     5'000,     10'000,     25'000,     50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000};
inline constexpr std::size_t latency_bucket_count = latency_bounds_us.size() + 1;

struct histogram_snapshot {
    std::array<std::uint64_t, latency_bucket_count> buckets{};  // per bucket, not cumulative
    std::uint64_t count = 0;
    std::int64_t sum_us = 0;
};

class latency_histogram {
  public:
    // Negative values (a clock step) count as 0. Never allocates; thread-safe; lock-free.
    void observe_us(std::int64_t us);
    histogram_snapshot snapshot() const;

  private:
    // Each field is monotonic and updated with relaxed order: they are independent totals.
    std::array<std::atomic<std::uint64_t>, latency_bucket_count> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::int64_t> sum_us_{0};
};

// The bucket index for a value (the first bound >= us, or the +Inf bucket).
std::size_t latency_bucket(std::int64_t us);

// The latencies pubsubd reports; one instance per daemon, shared by reference.
struct delivery_metrics {
    latency_histogram ingest_to_start;   // event created -> its handler starts
    latency_histogram handler_duration;  // one delivery's run (one attempt)
};

}  // namespace pubsub
