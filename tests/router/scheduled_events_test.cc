// scheduled_events: due order, cancel, the memory budget, and adds from many threads while
// the timer thread releases (also under ThreadSanitizer).
#include "router/scheduled_events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace pubsub {
namespace {

using namespace std::chrono_literals;

event_ptr at(event_id id, std::int64_t due_us) {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->run_at_us = due_us;
    return ev;
}

struct collector {
    std::mutex mu;
    std::vector<std::pair<event_id, std::int64_t>> got;  // id, lateness us
    void operator()(event_ptr ev) {
        std::lock_guard lock(mu);
        got.emplace_back(ev->id, now_us() - ev->run_at_us);
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return got.size();
    }
};

bool wait_for(const std::function<bool()>& f, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!f()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(scheduled_events, releases_in_due_order_never_early) {
    collector c;
    scheduled_events s([&](event_ptr ev) { c(std::move(ev)); });
    s.start();
    const std::int64_t now = now_us();
    s.add(at(3, now + 60'000));
    s.add(at(1, now + 20'000));
    s.add(at(2, now + 40'000));
    s.add(at(0, now - 1'000'000));  // in the past: at once
    EXPECT_TRUE(wait_for([&] { return c.size() == 4; }, 2000ms));
    s.stop();
    ASSERT_EQ(c.got.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(c.got[i].first, static_cast<event_id>(i));
        if (i > 0) {
            EXPECT_GE(c.got[i].second, 0) << "released before its time";
        }
    }
    EXPECT_EQ(s.size(), 0u);
}

TEST(scheduled_events, cancel_drops_and_releases_the_budget) {
    memory_budget budget(1 << 20);
    collector c;
    scheduled_events s([&](event_ptr ev) { c(std::move(ev)); }, &budget);
    s.start();
    const std::int64_t now = now_us();
    s.add(at(1, now + 30'000));
    s.add(at(2, now + 3'600'000'000));
    EXPECT_GT(budget.used(), 0u);
    EXPECT_TRUE(s.cancel(1));
    EXPECT_FALSE(s.cancel(1));
    EXPECT_EQ(s.size(), 1u);
    std::this_thread::sleep_for(80ms);
    EXPECT_EQ(c.size(), 0u);
    s.stop();
    EXPECT_EQ(s.size(), 1u);  // held, not released, at stop
}

TEST(scheduled_events, adds_from_threads_while_releasing) {
    collector c;
    memory_budget budget(std::size_t{1} << 30);
    scheduled_events s([&](event_ptr ev) { c(std::move(ev)); }, &budget);
    s.start();
    constexpr int threads = 4, each = 5000;
    std::vector<std::thread> ts;
    const std::int64_t base = now_us();
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                s.add(at(t * each + i, base + (i % 200) * 1000));
                if (i % 1000 == 0) (void)s.cancel(-1);
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_TRUE(wait_for([&] { return c.size() == threads * each; }, 5000ms)) << c.size();
    s.stop();
    EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace pubsub
