// router/metrics.h: bucket boundaries, snapshots, and a concurrent stress (run under TSan).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "router/metrics.h"

namespace pubsub {
namespace {

TEST(latency_histogram, BucketBoundsAreInclusive) {
    EXPECT_EQ(latency_bucket(0), 0u);
    EXPECT_EQ(latency_bucket(100), 0u);
    EXPECT_EQ(latency_bucket(101), 1u);
    EXPECT_EQ(latency_bucket(60'000'000), latency_bounds_us.size() - 1);
    EXPECT_EQ(latency_bucket(60'000'001), latency_bounds_us.size());  // +Inf
}

TEST(latency_histogram, SnapshotCountsSumsAndBuckets) {
    latency_histogram h;
    h.observe_us(50);
    h.observe_us(-7);  // a clock step counts as 0
    h.observe_us(1'000);
    h.observe_us(90'000'000);
    auto s = h.snapshot();
    EXPECT_EQ(s.count, 4u);
    EXPECT_EQ(s.sum_us, 50 + 0 + 1'000 + 90'000'000);
    EXPECT_EQ(s.buckets[0], 2u);
    EXPECT_EQ(s.buckets[latency_bucket(1'000)], 1u);
    EXPECT_EQ(s.buckets[latency_bounds_us.size()], 1u);
}

TEST(latency_histogram, ConcurrentObserversLoseNothing) {
    latency_histogram h;
    counter c;
    constexpr int threads = 4, per_thread = 20'000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                h.observe_us((i * 7919 + t) % 3'000'000);
                c.add();
            }
        });
    }
    std::thread reader([&] {
        for (int i = 0; i < 200; ++i) {
            auto s = h.snapshot();
            ASSERT_LE(s.count, std::uint64_t{threads * per_thread});
        }
    });
    for (auto& t : ts) t.join();
    reader.join();
    auto s = h.snapshot();
    std::uint64_t total = 0;
    for (auto b : s.buckets) total += b;
    EXPECT_EQ(s.count, std::uint64_t{threads * per_thread});
    EXPECT_EQ(total, s.count);
    EXPECT_EQ(c.value(), std::uint64_t{threads * per_thread});
}

}  // namespace
}  // namespace pubsub
