// The charts' history without a daemon: metric_history keeps the newest points of a fixed ring,
// oldest first, however many are added; history_sampler turns counters into per-second rates on
// its own thread while other threads read (run under ThreadSanitizer too), and stops promptly.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "admin/history_sampler.h"
#include "admin/metric_history.h"

namespace pubsub::admin {
namespace {

using namespace std::chrono_literals;

history_point at(std::int64_t ms) {
    history_point p;
    p.at_ms = ms;
    p.queue_depth = ms;
    return p;
}

TEST(metric_history, KeepsTheNewestPointsOldestFirst) {
    metric_history h(4);
    EXPECT_TRUE(h.last(10).empty());
    h.add(at(1));
    h.add(at(2));
    auto two = h.last(10);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].at_ms, 1);
    EXPECT_EQ(two[1].at_ms, 2);
    for (int i = 3; i <= 11; ++i) h.add(at(i));
    auto all = h.last(10);
    ASSERT_EQ(all.size(), 4u) << "bounded by the capacity";
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(all[i].at_ms, 8 + static_cast<int>(i));
    auto newest = h.last(1);
    ASSERT_EQ(newest.size(), 1u);
    EXPECT_EQ(newest[0].at_ms, 11);
    EXPECT_EQ(h.capacity(), 4u);
}

TEST(metric_history, AnHourByDefault) { EXPECT_EQ(metric_history().capacity(), 3600u); }

TEST(history_sampler, RatesFromCountersWhileOthersRead) {
    metric_history h(50);
    std::atomic<std::uint64_t> received{0};  // written by this test, read by the sampler
    history_sampler s(
        h,
        [&] {
            history_reading r;
            r.received = received.load();
            r.finished = r.received / 2;
            r.failed = 0;
            r.queue_depth = 7;
            return r;
        },
        10ms);
    ASSERT_TRUE(s.start().ok());
    std::atomic<bool> done{false};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) {
        readers.emplace_back([&] {
            while (!done.load()) {
                auto pts = h.last(50);
                for (std::size_t k = 1; k < pts.size(); ++k) {
                    EXPECT_LE(pts[k - 1].at_ms, pts[k].at_ms);
                }
            }
        });
    }
    auto until = std::chrono::steady_clock::now() + 5s;
    while (h.last(60).size() < 20 && std::chrono::steady_clock::now() < until) {
        received += 10;
        std::this_thread::sleep_for(1ms);
    }
    done = true;
    for (auto& t : readers) t.join();
    auto stop_began = std::chrono::steady_clock::now();
    s.stop_now();
    EXPECT_LT(std::chrono::steady_clock::now() - stop_began, 1s);
    s.stop_now();  // idempotent
    auto pts = h.last(60);
    ASSERT_GE(pts.size(), 20u);
    EXPECT_LE(pts.size(), 50u);
    double in = 0, out = 0;
    for (const auto& p : pts) {
        EXPECT_GE(p.in_per_s, 0);
        EXPECT_EQ(p.failed_per_s, 0);
        EXPECT_EQ(p.queue_depth, 7);
        in += p.in_per_s;
        out += p.out_per_s;
    }
    EXPECT_GT(in, 0);
    EXPECT_NEAR(out, in / 2, in * 0.2 + 1);
    // No new points after the stop.
    auto n = h.last(60).size();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(h.last(60).size(), n);
}

TEST(history_sampler, StopWithoutStartIsHarmless) {
    metric_history h;
    history_sampler s(h, [] { return history_reading{}; });
    s.stop_now();
    EXPECT_TRUE(h.last(10).empty());
}

}  // namespace
}  // namespace pubsub::admin
